"""Receipts: reading (R-63), confirming, replying 参加 / 不参加 (R-64), the publisher's
numbers per department, reminders with their rate limit, and on-site sign-in (R-64)."""

from __future__ import annotations

import datetime as dt

import pytest

from xietong.audit.models import Event
from xietong.core import clock, events
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.notices import selectors, services
from xietong.notices.models import Notice, NoticeRecipient, ReceiptMode, Reply
from xietong.notices.tests.conftest import People, at, publish
from xietong.notify import services as notify_services
from xietong.notify.models import Dispatch, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str, dict[str, object]]]:
    sent: list[tuple[int, str, dict[str, object]]] = []
    monkeypatch.setattr(
        events, "push_to_user", lambda user_id, kind, data: sent.append((user_id, kind, data))
    )
    monkeypatch.setattr(events, "push_to_users", sent.extend)
    return sent


def copy_of(people: People, key: str, notice: Notice) -> NoticeRecipient:
    return NoticeRecipient.objects.get(notice=notice, user=people.users[key])


def meeting(people: People, **changes: object) -> Notice:
    settings: dict[str, object] = {"receipt_mode": ReceiptMode.ATTEND, "receipt_due": at(hours=20), **changes}
    return publish(people["office"], [people.unit("production"), people.unit("finance")], **settings)


# --------------------------------------------------------------------------- reading


def test_r63_opening_a_notice_is_its_read_receipt_and_reads_its_notifications(
    people: People, pushed: list[tuple[int, str, dict[str, object]]]
) -> None:
    notice = publish(people["office"], [people.ref("li"), people.ref("zhao")])
    notify_services.notify(recipients=[people.ref("li")], kind="system", title="与本通知无关的消息")
    li = people["li"]
    assert Notification.objects.filter(user=li, read_at__isnull=True).count() == 2

    with clock.frozen_at(at(minutes=5)):
        copy = services.notice_opened(user=li, notice=notice)
    assert copy is not None
    assert copy.read_at == at(minutes=5)
    # The notice's notification is read; the other one is not.
    unread = Notification.objects.filter(user=li, read_at__isnull=True)
    assert list(unread.values_list("dispatch__title", flat=True)) == ["与本通知无关的消息"]
    assert (
        people.users["office"].pk,
        services.EVENT_RECEIPT,
        {"notice": notice.pk, "user": li.pk, "what": "read"},
    ) in pushed
    assert (li.pk, "notify.count", {"count": 1}) in pushed

    # Opening again keeps the first time and tells nobody.
    pushed.clear()
    with clock.frozen_at(at(hours=1)):
        again = services.notice_opened(user=li, notice=notice)
    assert again is not None
    assert again.read_at == at(minutes=5)
    assert pushed == []


def test_the_publisher_opening_his_notice_leaves_no_receipt(people: People) -> None:
    notice = publish(people["office"], [people.ref("li")])
    assert services.notice_opened(user=people["office"], notice=notice) is None
    assert selectors.receipt_totals(notice).read == 0


def test_a_reminder_is_read_with_the_notice(people: People) -> None:
    notice = publish(people["office"], [people.ref("li")], receipt_mode=ReceiptMode.READ)
    services.receipts_remind(actor=people["office"], notice=notice)
    assert Notification.objects.filter(user=people.users["li"], read_at__isnull=True).count() == 2
    assert notify_services.notifications_mark_read_for_source(user=people["li"], source=notice) == 2
    assert notify_services.notifications_mark_read_for_source(user=people["li"], source=notice) == 0


# --------------------------------------------------------------------------- confirming and replying


def test_r63_confirm_read(people: People, pushed: list[tuple[int, str, dict[str, object]]]) -> None:
    notice = publish(people["office"], [people.ref("li"), people.ref("zhao")], receipt_mode=ReceiptMode.READ)
    assert copy_of(people, "li", notice).awaiting
    with clock.frozen_at(at(minutes=3)):
        copy = services.receipt_confirm(user=people["li"], notice=notice)
    assert (copy.read_at, copy.confirmed_at, copy.awaiting) == (at(minutes=3), at(minutes=3), False)
    # The publisher's receipt page and the recipient's own tabs (their to-dos) hear of it.
    receipt = (services.EVENT_RECEIPT, {"notice": notice.pk, "user": copy.user_id, "what": "confirm"})
    assert pushed[-2:] == [(notice.publisher_id, *receipt), (copy.user_id, *receipt)]
    # Twice is once.
    with clock.frozen_at(at(minutes=9)):
        assert services.receipt_confirm(user=people["li"], notice=notice).confirmed_at == at(minutes=3)
    totals = selectors.receipt_totals(notice)
    assert (totals.recipients, totals.read, totals.confirmed, totals.unanswered) == (2, 1, 1, 1)


def test_a_late_confirmation_is_accepted(people: People) -> None:
    notice = publish(
        people["office"], [people.ref("li")], receipt_mode=ReceiptMode.READ, receipt_due=at(hours=2)
    )
    with clock.frozen_at(at(hours=5)):
        copy = services.receipt_confirm(user=people["li"], notice=notice)
    assert copy.confirmed_at == at(hours=5)


def test_r64_reply_attend_or_decline_with_a_note_until_the_deadline(people: People) -> None:
    notice = meeting(people)
    li = people["li"]
    copy = services.receipt_reply(user=li, notice=notice, reply=Reply.ATTEND, note="")
    assert (copy.reply, copy.awaiting, copy.read_at is not None) == (Reply.ATTEND, False, True)
    with clock.frozen_at(at(hours=1)):
        copy = services.receipt_reply(
            user=li, notice=notice, reply=Reply.DECLINE, note="出差在外，由钱进代为参加"
        )
    assert (copy.reply, copy.note, copy.replied_at) == (
        Reply.DECLINE,
        "出差在外，由钱进代为参加",
        at(hours=1),
    )
    with clock.frozen_at(at(hours=21)), pytest.raises(DomainError, match="回执已于"):
        services.receipt_reply(user=li, notice=notice, reply=Reply.ATTEND)
    assert copy_of(people, "li", notice).reply == Reply.DECLINE


def test_r64_the_reply_closes_at_the_start_without_a_deadline(people: People) -> None:
    notice = meeting(people, receipt_due=None)
    with clock.frozen_at(at(days=1, minutes=1)), pytest.raises(DomainError, match="截止"):
        services.receipt_reply(user=people["li"], notice=notice, reply=Reply.ATTEND)


@pytest.mark.parametrize(
    ("reply", "note", "field", "message"),
    [
        ("maybe", "", "reply", "请选择参加或不参加"),
        (Reply.DECLINE, "", "note", "不参加请填写原因"),
        (Reply.ATTEND, "备" * 201, "note", "不能超过"),
    ],
)
def test_a_bad_reply_is_refused(people: People, reply: str, note: str, field: str, message: str) -> None:
    notice = meeting(people)
    with pytest.raises(DomainError, match=message) as caught:
        services.receipt_reply(user=people["li"], notice=notice, reply=reply, note=note)
    assert caught.value.details[0]["field"] == field
    assert copy_of(people, "li", notice).reply == ""


def test_the_receipt_must_fit_the_notice(people: People) -> None:
    plain = publish(people["office"], [people.ref("li")])
    with pytest.raises(DomainError, match="不需要阅读确认"):
        services.receipt_confirm(user=people["li"], notice=plain)
    with pytest.raises(DomainError, match="不需要回复"):
        services.receipt_reply(user=people["li"], notice=plain, reply=Reply.ATTEND)


def test_only_recipients_give_receipts(people: People) -> None:
    notice = meeting(people)
    with pytest.raises(NotFoundError):
        services.receipt_reply(user=people["sun"], notice=notice, reply=Reply.ATTEND)
    with pytest.raises(DomainError, match="不是该通知的相关人员"):
        services.receipt_reply(user=people["office"], notice=notice, reply=Reply.ATTEND)


def test_no_receipt_for_a_withdrawn_notice(people: People) -> None:
    notice = meeting(people)
    services.notice_withdraw(actor=people["office"], notice=notice)
    with pytest.raises(NotFoundError):
        services.receipt_reply(user=people["li"], notice=notice, reply=Reply.ATTEND)
    assert not NoticeRecipient.objects.filter(notice=notice, awaiting=True).exists()


# --------------------------------------------------------------------------- the publisher's numbers


def test_totals_and_departments(people: People) -> None:
    notice = meeting(people, signin_enabled=True)
    services.receipt_reply(user=people["li"], notice=notice, reply=Reply.ATTEND)
    services.receipt_reply(user=people["zhou"], notice=notice, reply=Reply.DECLINE, note="值班")
    services.notice_opened(user=people["zhao"], notice=notice)
    totals = selectors.receipt_totals(notice)
    assert (totals.recipients, totals.read, totals.attend, totals.decline, totals.unanswered) == (
        5,
        3,
        1,
        1,
        3,
    )
    units = {row.name: row.totals for row in selectors.receipt_units(notice)}
    paths = {unit.name: unit.path for unit in people.units.values()}
    assert sorted(units) == ["检修班", "生产技术部", "财务部"]
    assert list(units) == sorted(units, key=paths.__getitem__)  # tree order
    assert (units["生产技术部"].recipients, units["生产技术部"].attend) == (2, 1)
    assert (units["检修班"].decline, units["财务部"].read, units["财务部"].unanswered) == (1, 1, 2)
    declined = selectors.receipt_people(notice, status="decline")
    assert [(copy.user.name, copy.note) for copy in declined] == [("周杰", "值班")]
    waiting = selectors.receipt_people(notice, status="unanswered", unit_id=people.units["finance"].pk)
    assert sorted(copy.user.name for copy in waiting) == ["赵敏", "钱进"]
    assert [copy.user.name for copy in selectors.receipt_people(notice, query="赵")] == ["赵敏"]


def test_the_department_is_the_one_at_publishing(people: People) -> None:
    notice = meeting(people)
    from xietong.org.models import Membership

    Membership.objects.filter(user=people.users["zhao"]).update(unit=people.units["office"])
    assert "财务部" in [row.name for row in selectors.receipt_units(notice)]


# --------------------------------------------------------------------------- reminders


def test_r63_remind_reaches_those_without_a_receipt_once_per_half_hour(
    people: People, django_capture_on_commit_callbacks
) -> None:
    notice = meeting(people)
    services.receipt_reply(user=people["li"], notice=notice, reply=Reply.ATTEND)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.receipts_remind(actor=people["office"], notice=notice) == 4
    reminder = Dispatch.objects.get(kind=services.KIND_REMINDER)
    assert reminder.title == f"请尽快回执：{notice.title}"
    assert reminder.link == f"/notices/{notice.pk}/"
    reminded = set(Notification.objects.filter(dispatch=reminder).values_list("user__username", flat=True))
    assert reminded == {"wangjl", "zhoujie", "zhaomin", "qianjin"}
    assert copy_of(people, "zhao", notice).reminded_at == at()
    assert copy_of(people, "li", notice).reminded_at is None
    assert Event.objects.get(action="notices.receipts.reminded").details == {"count": 4}

    notice.refresh_from_db()
    assert selectors.next_remind_at(notice) == at(minutes=30)
    with clock.frozen_at(at(minutes=29)), pytest.raises(DomainError, match="每 30 分钟只能提醒一次"):
        services.receipts_remind(actor=people["office"], notice=notice)
    assert Dispatch.objects.filter(kind=services.KIND_REMINDER).count() == 1
    with clock.frozen_at(at(minutes=30)):
        assert services.receipts_remind(actor=people["office"], notice=notice) == 4


def test_without_a_receipt_the_unread_are_reminded(people: People) -> None:
    notice = publish(people["office"], [people.ref("li"), people.ref("zhao")])
    services.notice_opened(user=people["li"], notice=notice)
    assert services.receipts_remind(actor=people["office"], notice=notice) == 1
    assert Dispatch.objects.get(kind=services.KIND_REMINDER).title == f"请及时阅读：{notice.title}"


def test_nobody_left_to_remind(people: People) -> None:
    notice = publish(people["office"], [people.ref("li")], receipt_mode=ReceiptMode.READ)
    services.receipt_confirm(user=people["li"], notice=notice)
    assert services.receipts_remind(actor=people["office"], notice=notice) == 0
    notice.refresh_from_db()
    assert notice.last_reminded_at is None  # no reminder, no wait


def test_only_the_publisher_or_a_manager_reminds(people: People) -> None:
    notice = meeting(people)
    with pytest.raises(PermissionDeniedError):
        services.receipts_remind(actor=people["li"], notice=notice)
    withdrawn = services.notice_withdraw(actor=people["office"], notice=meeting(people))
    with pytest.raises(DomainError, match="已发布"):
        services.receipts_remind(actor=people["office"], notice=withdrawn)


def test_reminders_of_many_go_in_batches(people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "ROW_BATCH", 2)
    notice = meeting(people)
    assert services.receipts_remind(actor=people["office"], notice=notice) == 5
    assert Dispatch.objects.filter(kind=services.KIND_REMINDER).count() == 3
    assert Notification.objects.filter(dispatch__kind=services.KIND_REMINDER).count() == 5


# --------------------------------------------------------------------------- sign-in


def test_r64_signing_in_on_site_makes_the_attendance_list(people: People) -> None:
    notice = meeting(people, signin_enabled=True)
    token = notice.signin_token
    with clock.frozen_at(at(days=1, minutes=-70)), pytest.raises(DomainError, match="不在签到时间内"):
        services.signin(user=people["li"], notice=notice, token=token)
    with clock.frozen_at(at(days=1, minutes=-5)):
        copy = services.signin(user=people["li"], notice=notice, token=token)
    assert copy.signed_in_at == at(days=1, minutes=-5)
    assert copy.reply == Reply.ATTEND  # being there answers the question
    with clock.frozen_at(at(days=1, minutes=10)):
        services.signin(user=people["zhao"], notice=notice, token=token)
        again = services.signin(user=people["li"], notice=notice, token=token)
    assert again.signed_in_at == at(days=1, minutes=-5)
    attendance = selectors.receipt_people(notice, status="signed_in")
    assert sorted(copy.user.name for copy in attendance) == ["李强", "赵敏"]
    assert selectors.receipt_totals(notice).signed_in == 2
    with clock.frozen_at(at(days=1, hours=3)), pytest.raises(DomainError, match="不在签到时间内"):
        services.signin(user=people["qian"], notice=notice, token=token)


def test_sign_in_needs_the_code_and_a_place_in_the_audience(people: People) -> None:
    notice = meeting(people, signin_enabled=True)
    plain = meeting(people)
    with clock.frozen_at(at(days=1)):
        with pytest.raises(NotFoundError):
            services.signin(user=people["li"], notice=notice, token="guessed")
        with pytest.raises(NotFoundError):
            services.signin(user=people["sun"], notice=notice, token=notice.signin_token)
        with pytest.raises(NotFoundError):
            services.signin(user=people["li"], notice=plain, token="")


def test_the_signin_window_without_an_end_closes_at_midnight(people: People) -> None:
    notice = meeting(people, signin_enabled=True, ends_at=None)
    window = notice.signin_window()
    assert window is not None
    assert window[0] == at(days=1) - dt.timedelta(hours=1)
    assert window[1].astimezone(at().tzinfo).strftime("%m-%d %H:%M") == "10-13 23:59"
