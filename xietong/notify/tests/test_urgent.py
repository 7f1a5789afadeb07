"""急办 (R-65, R-66): every channel at once, then again to those who have not opened it,
every ``XIETONG_URGENT_RESEND_MINUTES``, at most three times; and the sender's read receipts
and reminders (R-63)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from tests.fixtures import client_for, make_user
from xietong.core import clock, events
from xietong.identity.models import User
from xietong.notify import services, tasks
from xietong.notify.models import DeliveryLog, Dispatch, Notification, NotifySettings, Preference, Webhook
from xietong.notify.tests.conftest import Mailbox, Receiver

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 7, 20, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # inside quiet hours


@pytest.fixture
def crew() -> list[User]:
    people = [
        make_user(f"duty{index}", name=f"值班员{index}", email=f"duty{index}@example.com")
        for index in range(3)
    ]
    for person in people:
        NotifySettings.objects.create(user=person, quiet_start=dt.time(22), quiet_end=dt.time(7), digest=True)
        Preference.objects.create(user=person, kind="system", channel="email", enabled=False)
        Preference.objects.create(user=person, kind="system", channel="in_app", enabled=False)
    return people


def minutes(n: int) -> dt.datetime:
    return START + dt.timedelta(minutes=n)


def run_minute_job(at: dt.datetime) -> int:
    with clock.frozen_at(at):
        return int(tasks.resend_urgent.call_local())


def mails_to(mailbox: Mailbox, person: User) -> list[str]:
    return [str(m["Subject"]).strip() for m in mailbox.to(person.email)]


def test_r65_unread_recipients_are_reminded_three_times_then_no_more(
    crew: list[User], smtp_server: Mailbox, receiver: Receiver, django_capture_on_commit_callbacks
) -> None:
    """R-65, R-66: at once by e-mail and webhook despite quiet hours, digest and opt-outs;
    then to those who have not opened it at +30, +60, +90 minutes, and never again."""
    Webhook.objects.create(name="值班群", format="generic", url=receiver.url())
    first, second, third = crew
    with clock.frozen_at(START), django_capture_on_commit_callbacks(execute=True):
        dispatch = services.notify(
            recipients=[f"user:{p.pk}" for p in crew],
            kind="system",
            title="台风红色预警，立即到岗",
            urgency="urgent",
        )
    assert [mails_to(smtp_server, p) for p in crew] == [["【协同办公】【急办】台风红色预警，立即到岗"]] * 3
    assert [r.json["urgency"] for r in receiver.requests] == ["urgent"]
    assert Dispatch.objects.get(pk=dispatch.pk).next_resend_at == minutes(30)

    with clock.frozen_at(minutes(10)):
        services.notification_open(user=first, notification_id=Notification.objects.get(user=first).pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert run_minute_job(minutes(29)) == 0
        assert run_minute_job(minutes(30)) == 2  # second and third, not the one who opened it
        assert run_minute_job(minutes(30)) == 0  # the same minute again: nothing (idempotent)
    assert mails_to(smtp_server, first) == ["【协同办公】【急办】台风红色预警，立即到岗"]
    assert mails_to(smtp_server, second)[-1] == "【协同办公】【急办·第 1 次提醒】台风红色预警，立即到岗"

    with clock.frozen_at(minutes(45)):
        services.notifications_mark_all_read(user=second)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_minute_job(minutes(60)) == 1
        assert run_minute_job(minutes(90)) == 1
        assert run_minute_job(minutes(120)) == 0
        assert run_minute_job(minutes(600)) == 0
    assert len(mails_to(smtp_server, second)) == 2
    assert mails_to(smtp_server, third)[1:] == [
        "【协同办公】【急办·第 1 次提醒】台风红色预警，立即到岗",
        "【协同办公】【急办·第 2 次提醒】台风红色预警，立即到岗",
        "【协同办公】【急办·第 3 次提醒】台风红色预警，立即到岗",
    ]
    sent = Dispatch.objects.get(pk=dispatch.pk)
    assert (sent.resend_count, sent.next_resend_at) == (3, None)
    # Reminders go to people; the group was told once.
    assert len(receiver.requests) == 1
    rounds = sorted(DeliveryLog.objects.filter(user=third).values_list("round", flat=True))
    assert rounds == [0, 1, 2, 3]


def test_reminders_stop_when_everyone_has_read(crew: list[User], django_capture_on_commit_callbacks) -> None:
    with clock.frozen_at(START), django_capture_on_commit_callbacks(execute=True):
        dispatch = services.notify(
            recipients=[f"user:{p.pk}" for p in crew], kind="system", title="x", urgency="urgent"
        )
    for person in crew:
        services.notifications_mark_all_read(user=person)
    assert run_minute_job(minutes(30)) == 0
    sent = Dispatch.objects.get(pk=dispatch.pk)
    assert (sent.resend_count, sent.next_resend_at) == (0, None)


@override_settings(XIETONG_URGENT_RESEND_MINUTES=5)
def test_the_interval_is_configurable(crew: list[User], django_capture_on_commit_callbacks) -> None:
    with clock.frozen_at(START), django_capture_on_commit_callbacks(execute=True):
        services.notify(recipients=[f"user:{crew[0].pk}"], kind="system", title="x", urgency="urgent")
    assert run_minute_job(minutes(4)) == 0
    assert run_minute_job(minutes(5)) == 1
    assert run_minute_job(minutes(10)) == 1


def test_normal_items_are_not_reminded(crew: list[User]) -> None:
    with clock.frozen_at(START):
        dispatch = services.notify(recipients=[f"user:{crew[0].pk}"], kind="system", title="x")
    assert dispatch.next_resend_at is None
    assert run_minute_job(minutes(31)) == 0


def test_r63_sender_sees_who_has_not_read_and_reminds_them(django_capture_on_commit_callbacks) -> None:
    """R-63: a read receipt per recipient; the sender sees the non-readers and reminds them."""
    sender = make_user("office", name="综合办")
    readers = [make_user(f"staff{index}", name=f"员工{index}") for index in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        dispatch = services.notify(
            recipients=[f"user:{p.pk}" for p in readers],
            kind="system",
            title="请阅：年度工作要点",
            actor=sender,
        )
    services.notifications_mark_all_read(user=readers[0])
    page = client_for(sender).get(f"/notifications/sent/{dispatch.pk}/").content.decode()
    assert 'id="read-count">1<' in page
    assert 'id="unread-count">2<' in page
    assert "员工1" in page
    assert "员工2" in page
    assert "员工0" not in page[page.index('id="unread-users"') :]
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(sender).post(f"/notifications/sent/{dispatch.pk}/")
    assert response.status_code == 302
    # The receipts are the sender's alone.
    assert client_for(readers[1]).get(f"/notifications/sent/{dispatch.pk}/").status_code == 404
    assert client_for(readers[1]).post(f"/notifications/sent/{dispatch.pk}/").status_code == 404


def test_r63_reminder_reaches_unread_tabs(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:
    sender = make_user("office", name="综合办")
    readers = [make_user(f"staff{index}", name=f"员工{index}") for index in range(2)]
    dispatch = services.notify(
        recipients=[f"user:{p.pk}" for p in readers], kind="system", title="请阅", actor=sender
    )
    services.notifications_mark_all_read(user=readers[0])
    pushed: list[tuple[int, str, int]] = []
    monkeypatch.setattr(
        events,
        "push_to_users",
        lambda batch: pushed.extend((uid, kind, data["round"]) for uid, kind, data in batch),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.dispatch_remind(actor=sender, dispatch_id=dispatch.pk) == 1
    assert pushed == [(readers[1].pk, "notify.new", 0)]
