"""E-mail through a real SMTP server (aiosmtpd on loopback): per-kind choices, quiet hours,
the daily digest, urgent items (R-65, R-66) and classified sources (R-33)."""

from __future__ import annotations

import datetime as dt
import smtplib
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from tests.fixtures import make_user
from xietong.core import clock
from xietong.identity.models import User
from xietong.notify import delivery, services, tasks
from xietong.notify.models import DeliveryLog, Notification, NotifySettings, Preference
from xietong.notify.tests.conftest import Mailbox, free_port

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0, day: int = 2) -> dt.datetime:
    """A moment in Beijing time on 2026-03-``day``."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def alice() -> User:
    return make_user("alice", name="爱丽丝", email="alice@example.com")


@pytest.fixture
def bob() -> User:
    return make_user("bob", name="鲍勃", email="bob@example.com")


def subject(message: EmailMessage) -> str:
    # A long encoded subject is folded onto a continuation line; the parser keeps the fold's space.
    return str(message["Subject"]).strip()


def send(*users: User, **fields: object) -> None:
    arguments: dict[str, object] = {
        "kind": "system",
        "title": "关于调整办公时间的通知",
        "body": "自下周一起 8:30 上班。",
    }
    arguments.update(fields)
    services.notify(recipients=[f"user:{user.pk}" for user in users], **arguments)  # type: ignore[arg-type]


def test_notification_arrives_by_smtp(
    smtp_server: Mailbox, alice: User, bob: User, django_capture_on_commit_callbacks
) -> None:
    no_address = make_user("carol", name="卡罗尔", email="")
    with (
        override_settings(XIETONG_SITE_URL="https://oa.example.com"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        send(alice, bob, no_address, link="/portal/notices/8/")
    assert sorted(str(m["To"]) for m in smtp_server.messages) == ["alice@example.com", "bob@example.com"]
    message = smtp_server.to("alice@example.com")[0]
    assert subject(message) == "【协同办公】关于调整办公时间的通知"
    text = smtp_server.text(message)
    assert "自下周一起 8:30 上班。" in text
    assert "https://oa.example.com/portal/notices/8/" in text
    logs = DeliveryLog.objects.filter(channel="email")
    assert sorted(logs.values_list("target", "status")) == [
        ("alice@example.com", "sent"),
        ("bob@example.com", "sent"),
    ]
    assert all(n.channels & Notification.EMAILED for n in Notification.objects.filter(user__in=[alice, bob]))


def test_email_turned_off_for_a_kind_is_not_sent(
    smtp_server: Mailbox, alice: User, bob: User, django_capture_on_commit_callbacks
) -> None:
    Preference.objects.create(user=alice, kind="system", channel="email", enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        send(alice, bob)
    assert [str(m["To"]) for m in smtp_server.messages] == ["bob@example.com"]
    assert Notification.objects.filter(user=alice).exists()  # still in the centre


def test_quiet_hours_defer_email_to_their_end(
    smtp_server: Mailbox, alice: User, bob: User, django_capture_on_commit_callbacks
) -> None:
    NotifySettings.objects.create(user=alice, quiet_start=dt.time(22), quiet_end=dt.time(7))
    with clock.frozen_at(at(23, 30)), django_capture_on_commit_callbacks(execute=True):
        send(alice, bob)
    assert [str(m["To"]) for m in smtp_server.messages] == ["bob@example.com"]
    deferred = DeliveryLog.objects.get(target="alice@example.com")
    assert deferred.status == "deferred"
    assert deferred.due_at == at(7, 0, day=3)
    with clock.frozen_at(at(6, 59, day=3)):
        assert tasks.deliver_deferred.call_local() == 0
    with clock.frozen_at(at(7, 0, day=3)):
        assert tasks.deliver_deferred.call_local() == 1
        assert tasks.deliver_deferred.call_local() == 0  # a second run finds nothing left
    assert sorted(str(m["To"]) for m in smtp_server.messages) == ["alice@example.com", "bob@example.com"]
    assert DeliveryLog.objects.get(pk=deferred.pk).status == "sent"


@pytest.mark.parametrize(
    ("now", "start", "end", "until"),
    [
        (at(23), dt.time(22), dt.time(7), at(7, day=3)),
        (at(6, 59), dt.time(22), dt.time(7), at(7)),
        (at(7), dt.time(22), dt.time(7), None),
        (at(21, 59), dt.time(22), dt.time(7), None),
        (at(12, 30), dt.time(12), dt.time(13, 30), at(13, 30)),
        (at(14), dt.time(12), dt.time(13, 30), None),
        (at(3), None, None, None),
    ],
)
def test_quiet_hours_rule(
    now: dt.datetime, start: dt.time | None, end: dt.time | None, until: dt.datetime | None
) -> None:
    assert delivery.quiet_until(now, start, end) == until


def test_r66_urgent_ignores_quiet_hours_and_preferences(
    smtp_server: Mailbox, alice: User, django_capture_on_commit_callbacks
) -> None:
    """R-66: an urgent item also goes by e-mail at once, whatever the recipient chose."""
    NotifySettings.objects.create(user=alice, quiet_start=dt.time(22), quiet_end=dt.time(7), digest=True)
    Preference.objects.create(user=alice, kind="system", channel="email", enabled=False)
    with clock.frozen_at(at(2)), django_capture_on_commit_callbacks(execute=True):
        send(alice, title="防汛紧急通知：今晚全员待命", urgency="urgent")
    assert len(smtp_server.messages) == 1
    assert subject(smtp_server.messages[0]) == "【协同办公】【急办】防汛紧急通知：今晚全员待命"


def test_daily_digest_instead_of_one_mail_each(
    smtp_server: Mailbox, alice: User, bob: User, django_capture_on_commit_callbacks
) -> None:
    NotifySettings.objects.create(user=alice, digest=True, digest_hour=8, last_digest_at=at(8, day=1))
    with clock.frozen_at(at(10, day=1)), django_capture_on_commit_callbacks(execute=True):
        send(alice, bob, title="上午的通知")
        send(alice, title="已读的通知")
    services.notification_mark_read(
        user=alice,
        ids=list(
            Notification.objects.filter(user=alice, dispatch__title="已读的通知").values_list("pk", flat=True)
        ),
    )
    with clock.frozen_at(at(16, day=1)), django_capture_on_commit_callbacks(execute=True):
        send(alice, title="下午的通知")
    assert [str(m["To"]) for m in smtp_server.messages] == ["bob@example.com"]  # none for alice yet
    with clock.frozen_at(at(7, 50)):
        assert tasks.send_digests.call_local() == 0  # before her hour
    with clock.frozen_at(at(8, 0)):
        assert tasks.send_digests.call_local() == 1
        assert tasks.send_digests.call_local() == 0  # once a day
    digest = smtp_server.to("alice@example.com")
    assert len(digest) == 1
    assert subject(digest[0]) == "【协同办公】每日通知汇总（2026-03-02，2 条未读）"
    text = smtp_server.text(digest[0])
    assert "下午的通知" in text
    assert "上午的通知" in text
    assert "已读的通知" not in text
    assert NotifySettings.objects.get(user=alice).last_digest_at == at(8)


def test_r33_classified_source_withholds_and_keeps_content_off_email(
    smtp_server: Mailbox, alice: User, bob: User, django_capture_on_commit_callbacks
) -> None:
    """R-33: a notification about a 普通商密 document reaches only cleared people, and its
    e-mail says nothing of the content."""
    alice.clearance = 2
    alice.save(update_fields=["clearance"])

    # No module with classified documents exists yet: any row with a ``classification`` will do.
    source = User.objects.get(pk=alice.pk)
    source.classification = 2  # type: ignore[attr-defined]
    with django_capture_on_commit_callbacks(execute=True):
        dispatch = services.notify(
            recipients=[f"user:{alice.pk}", f"user:{bob.pk}"],
            kind="system",
            title="并购方案（普通商密）请审阅",
            body="报价 3.2 亿元",
            source=source,
        )
    assert (dispatch.recipient_count, dispatch.withheld_count) == (1, 1)
    assert not Notification.objects.filter(user=bob).exists()
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert "并购方案" not in subject(message)
    assert "3.2 亿" not in smtp_server.text(message)
    assert "涉密通知" in subject(message)


def test_unreachable_smtp_server_is_retried_then_recorded(
    alice: User, django_capture_on_commit_callbacks
) -> None:
    closed = free_port()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=closed,
        EMAIL_TIMEOUT=2,
    ):
        with django_capture_on_commit_callbacks(execute=True):
            send(alice)
        log = DeliveryLog.objects.get(target="alice@example.com")
        # The first try failed; the job waits 30 s for the next (immediate mode keeps the
        # retry scheduled rather than running it).
        assert (log.status, log.attempts) == ("queued", 1)
        assert "ConnectionRefusedError" in log.error
        with pytest.raises(delivery.TransientDeliveryError):
            delivery.send_emails([log.pk], last_attempt=False)
        assert delivery.send_emails([log.pk], last_attempt=True) == 0
    log.refresh_from_db()
    assert (log.status, log.attempts) == ("failed", 3)


def test_a_refused_address_fails_alone(
    smtp_server: Mailbox, alice: User, bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    send(alice, bob)  # rows only: no commit callbacks run here
    dispatch = Notification.objects.get(user=alice).dispatch
    ids = delivery.plan_email(dispatch)
    original = smtplib.SMTP.sendmail

    def refuse_alice(
        self: smtplib.SMTP, from_addr: str, to_addrs: list[str], msg: bytes, *args: object, **kwargs: object
    ) -> object:
        if "alice@example.com" in to_addrs:
            raise smtplib.SMTPRecipientsRefused({"alice@example.com": (550, b"mailbox unavailable")})
        return original(self, from_addr, to_addrs, msg, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(smtplib.SMTP, "sendmail", refuse_alice)
    assert delivery.send_emails(ids) == 1
    statuses = dict(DeliveryLog.objects.values_list("target", "status"))
    assert statuses == {"alice@example.com": "failed", "bob@example.com": "sent"}
