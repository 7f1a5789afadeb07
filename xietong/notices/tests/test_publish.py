"""Publishing: the required elements (R-62), who may send to whom (R-31), classified notices
(R-33), urgent ones (R-65, R-66), held content, drafts, and a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.fixtures import make_user, place
from xietong.audit.models import Event
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.moderation.models import ReviewItem
from xietong.moderation.services import ContentBlockedError, review_approve, review_reject
from xietong.moderation.tests.conftest import add_word
from xietong.notices import services
from xietong.notices.models import Notice, NoticeRecipient, ReceiptMode, Status, Urgency
from xietong.notices.tests.conftest import BASE, People, at, publish
from xietong.notify.models import Dispatch, Notification

pytestmark = pytest.mark.django_db


def recipients_of(notice: Notice) -> set[str]:
    return set(NoticeRecipient.objects.filter(notice=notice).values_list("user__username", flat=True))


def test_r61_publishing_to_a_department_reaches_its_tree_and_notifies_the_same_people(people: People) -> None:
    notice = publish(people["office"], [people.unit("production")])
    assert notice.status == Status.PUBLISHED
    assert recipients_of(notice) == {"wangjl", "liqiang", "zhoujie"}
    assert notice.recipient_count == 3
    assert notice.audience_summary == "生产技术部"
    dispatch = Dispatch.objects.get(kind=services.KIND_PUBLISHED)
    assert dispatch.link == f"/notices/{notice.pk}/"
    assert dispatch.actor_id == people.users["office"].pk
    assert set(Notification.objects.filter(dispatch=dispatch).values_list("user__username", flat=True)) == {
        "wangjl",
        "liqiang",
        "zhoujie",
    }
    assert "时间：2026-10-13 09:00 — 2026-10-13 11:00" in dispatch.body
    assert "地点：总部三楼第一会议室" in dispatch.body
    # Each recipient's department at publishing time, for the per-department table.
    units = dict(NoticeRecipient.objects.filter(notice=notice).values_list("user__username", "unit__name"))
    assert units == {"wangjl": "生产技术部", "liqiang": "生产技术部", "zhoujie": "检修班"}
    event = Event.objects.get(action="notices.notice.published")
    assert event.details["recipients"] == 3


def test_named_people_and_units_together_reach_each_person_once(people: People) -> None:
    notice = publish(people["office"], [people.unit("production"), people.ref("li"), people.ref("zhao")])
    assert recipients_of(notice) == {"wangjl", "liqiang", "zhoujie", "zhaomin"}
    assert notice.audience_summary == "生产技术部、李强、赵敏"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"place": "  "}, "place", "请填写地点"),
        ({"starts_at": None}, "starts_at", "请填写时间"),
        ({"title": ""}, "title", "请填写通知事项"),
        ({"body": "<p> </p>"}, "body", "请填写通知正文"),
        ({"audience": []}, "audience", "请选择相关人员"),
        ({"ends_at": at(hours=-1)}, "ends_at", "结束时间不能早于开始时间"),
        ({"starts_at": at(days=-3), "ends_at": None}, "starts_at", "时间已过"),
        ({"title": "通" * 201}, "title", "不能超过 200 个字"),
        ({"audience": ["user:999999"]}, "audience", "不存在或已停用"),
        ({"audience": ["role:employee"]}, "audience", "不存在或已停用"),
        ({"receipt_mode": "sometimes"}, "receipt_mode", "请选择回执方式"),
        ({"urgency": "high"}, "urgency", "请选择紧急程度"),
        ({"classification": 9}, "classification", "请选择密级"),
        (
            {"receipt_mode": ReceiptMode.ATTEND, "receipt_due": at(days=2)},
            "receipt_due",
            "不能晚于开始时间",
        ),
        ({"receipt_mode": ReceiptMode.READ, "receipt_due": at(hours=-1)}, "receipt_due", "回执截止时间已过"),
    ],
)
def test_r62_notice_without_its_elements_is_refused_and_nothing_is_stored(
    people: People, change: dict[str, Any], field: str, message: str
) -> None:
    data = replace(BASE, **{"audience": [people.ref("li")], **change})
    with pytest.raises(DomainError) as caught:
        services.notice_publish(actor=people["office"], data=data)
    assert message in caught.value.message
    assert any(detail["field"] == field for detail in caught.value.details)
    assert not Notice.objects.exists()
    assert not Dispatch.objects.exists()


def test_r62_every_missing_element_is_named_at_once(people: People) -> None:
    data = services.NoticeInput(title="会议通知")
    with pytest.raises(DomainError) as caught:
        services.notice_publish(actor=people["office"], data=data)
    assert {detail["field"] for detail in caught.value.details} == {"body", "place", "starts_at", "audience"}


def test_a_deactivated_unit_cannot_be_chosen(people: People) -> None:
    finance = people.units["finance"]
    finance.is_active = False
    finance.save()
    with pytest.raises(DomainError, match="不存在或已停用"):
        publish(people["office"], [people.unit("finance")])


def test_r31_an_employee_may_notify_named_colleagues_but_not_a_department(people: People) -> None:
    employee = people["zhao"]
    notice = publish(employee, [people.ref("li"), people.ref("qian")])
    assert recipients_of(notice) == {"liqiang", "qianjin"}
    with pytest.raises(PermissionDeniedError, match="向部门或全员发送通知"):
        publish(employee, [people.unit("finance")])
    with pytest.raises(PermissionDeniedError):
        publish(employee, ["everyone"])
    assert Notice.objects.count() == 1
    denied = Event.objects.filter(action="notices.notice.published", result="denied")
    assert list(denied.values_list("actor_username", flat=True)) == ["zhaomin", "zhaomin"]


def test_r31_a_department_head_sends_within_his_tree_only(people: People) -> None:
    head = people["prod_head"]
    notice = publish(head, [people.unit("repair")])
    assert recipients_of(notice) == {"zhoujie"}
    with pytest.raises(PermissionDeniedError):
        publish(head, [people.unit("finance")])
    with pytest.raises(PermissionDeniedError):
        publish(head, ["everyone"])


def test_r61_everyone_reaches_all_staff_but_not_the_administrators(people: People) -> None:
    """The 三员 accounts read no business content (AC-05): they are never recipients."""
    notice = publish(people["office"], ["everyone"])
    assert recipients_of(notice) == {
        "zhangwei",
        "wangjl",
        "liqiang",
        "zhoujie",
        "zhaomin",
        "sunli",
        "qianjin",
    }
    assert notice.audience_summary == "全体员工"


def test_a_notice_needs_at_least_one_recipient(people: People) -> None:
    make_user("nobody", name="无人")  # a user nobody picks
    with pytest.raises(DomainError, match="没有可接收"):
        publish(people["office"], [people.ref("sysadmin")])
    assert not Notice.objects.exists()


def test_needs_the_publish_permission(people: People) -> None:
    with pytest.raises(PermissionDeniedError):
        publish(people["sysadmin"], [people.ref("li")])


# --------------------------------------------------------------------------- classification


def test_r33_uncleared_people_are_not_recipients_of_a_classified_notice(people: People) -> None:
    cleared_publisher = people.users["office"]
    cleared_publisher.clearance = 2
    cleared_publisher.save()
    notice = publish(people["office"], [people.unit("finance")], classification=2)
    assert recipients_of(notice) == {"qianjin"}
    assert notice.withheld_count == 1  # 赵敏, 内部 only
    notified = Notification.objects.filter(dispatch__kind=services.KIND_PUBLISHED)
    assert set(notified.values_list("user__username", flat=True)) == {"qianjin"}


def test_r33_a_classified_notice_never_goes_to_everyone(people: People) -> None:
    office = people.users["office"]
    office.clearance = 3
    office.save()
    with pytest.raises(DomainError, match="不能发给全体员工") as caught:
        publish(people["office"], ["everyone"], classification=2)
    assert caught.value.details[0]["field"] == "audience"
    assert not Notice.objects.exists()


def test_r33_nobody_publishes_above_their_own_clearance(people: People) -> None:
    with pytest.raises(DomainError, match="不能高于您本人"):
        publish(people["office"], [people.ref("qian")], classification=2)


@pytest.mark.parametrize("text", ["【机密】关于调整价格的通知", "秘密★1年 年度预算安排"])
def test_r33_a_text_marked_classified_must_carry_that_level(people: People, text: str) -> None:
    with pytest.raises(DomainError, match="密级标识") as caught:
        publish(people["office"], [people.ref("li")], title=text)
    assert caught.value.details[0]["field"] == "classification"


def test_r33_the_word_secret_alone_is_no_mark(people: People) -> None:
    notice = publish(people["office"], [people.ref("li")], title="关于加强保密工作、严防泄露公司机密的通知")
    assert notice.status == Status.PUBLISHED


# --------------------------------------------------------------------------- urgent


def test_r65_r66_an_urgent_notice_is_sent_as_urgent_on_every_channel(
    people: People, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        notice = publish(people["office"], [people.ref("li")], urgency=Urgency.URGENT)
    dispatch = Dispatch.objects.get(kind=services.KIND_PUBLISHED)
    assert notice.is_urgent
    assert dispatch.urgency == "urgent"
    assert dispatch.next_resend_at is not None  # sent again to whoever has not opened it
    assert Notification.objects.get(dispatch=dispatch).urgent
    assert [message.to for message in mailoutbox] == [["liqiang@example.com"]]
    assert "【急办】" in mailoutbox[0].subject


# --------------------------------------------------------------------------- moderation


def test_blocked_words_refuse_the_notice(people: People, secadmin_user) -> None:
    add_word(secadmin_user, "违禁测试词")
    with pytest.raises(ContentBlockedError):
        publish(people["office"], [people.ref("li")], place="违禁测试词会议室")
    assert not Notice.objects.exists()


def test_held_words_wait_for_a_moderator_then_go_out(people: People, secadmin_user) -> None:
    add_word(secadmin_user, "送审测试词", category_name="广告", action="hold")
    notice = publish(people["office"], [people.ref("li")], body="<p>送审测试词</p>")
    assert notice.status == Status.PENDING
    assert not NoticeRecipient.objects.exists()
    item = ReviewItem.objects.get(object_id=str(notice.pk))
    review_approve(actor=secadmin_user, item=item)
    notice.refresh_from_db()
    assert notice.status == Status.PUBLISHED
    assert recipients_of(notice) == {"liqiang"}
    assert Dispatch.objects.get(kind=services.KIND_PUBLISHED).actor_id == people.users["office"].pk


def test_rejected_notice_returns_to_its_publisher_as_draft(people: People, secadmin_user) -> None:
    add_word(secadmin_user, "送审测试词", category_name="广告", action="hold")
    notice = publish(people["office"], [people.ref("li")], body="<p>送审测试词</p>")
    item = ReviewItem.objects.get(object_id=str(notice.pk))
    review_reject(actor=secadmin_user, item=item, note="请删除广告内容")
    notice.refresh_from_db()
    assert notice.status == Status.DRAFT
    told = Dispatch.objects.get(kind=services.KIND_REJECTED)
    assert told.body == "请删除广告内容"
    assert told.recipients == [f"user:{people.users['office'].pk}"]


# --------------------------------------------------------------------------- drafts


def test_a_draft_needs_only_a_title_and_is_published_later(people: People) -> None:
    draft = services.notice_save_draft(
        actor=people["office"], data=services.NoticeInput(title="草拟中的通知")
    )
    assert draft.status == Status.DRAFT
    assert not Dispatch.objects.exists()
    with pytest.raises(DomainError, match="请填写通知事项"):
        services.notice_save_draft(actor=people["office"], data=services.NoticeInput())
    notice = services.notice_publish(
        actor=people["office"], data=replace(BASE, audience=[people.ref("li")]), notice=draft
    )
    assert notice.pk == draft.pk
    assert notice.status == Status.PUBLISHED


def test_only_the_author_touches_a_draft(people: People) -> None:
    draft = services.notice_save_draft(actor=people["office"], data=services.NoticeInput(title="草稿"))
    from xietong.core.errors import NotFoundError

    with pytest.raises(NotFoundError):
        services.notice_publish(
            actor=people["prod_head"], data=replace(BASE, audience=[people.ref("li")]), notice=draft
        )
    with pytest.raises(NotFoundError):
        services.notice_delete_draft(actor=people["prod_head"], notice=draft)
    services.notice_delete_draft(actor=people["office"], notice=draft)
    assert not Notice.objects.exists()


def test_a_published_notice_is_not_a_draft_any_more(people: People) -> None:
    notice = publish(people["office"], [people.ref("li")])
    with pytest.raises(DomainError, match="只有草稿"):
        services.notice_publish(
            actor=people["office"], data=replace(BASE, audience=[people.ref("li")]), notice=notice
        )


# --------------------------------------------------------------------------- scale


def test_publishing_takes_the_same_queries_for_20_and_200_recipients(
    people: People, django_capture_on_commit_callbacks
) -> None:
    def staff(count: int, unit_key: str) -> None:
        for index in range(count):
            place(make_user(f"{unit_key}{index}", name=f"员工{index}"), people.units[unit_key])

    staff(20, "finance")
    staff(200, "suzhou_works")
    office = people["office"]
    publish(office, [people.ref("li")])  # grants and content types resolved once

    bulk = ('INSERT INTO "notices_noticerecipient"', 'INSERT INTO "notify_notification"')

    def measure(unit_key: str) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            publish(office, [people.unit(unit_key)])
        statements = [query["sql"] for query in queries.captured_queries]
        rows = [sql for sql in statements if sql.startswith(bulk)]
        return len(statements) - len(rows), len(rows)

    (few, few_batches), (many, many_batches) = measure("finance"), measure("suzhou_works")
    # The same statements whatever the audience, and rows written many per INSERT (SQLite
    # caps a statement at 999 parameters: 83 recipients' rows; PostgreSQL takes 2,000).
    assert few == many
    assert few_batches == 2
    assert many_batches <= 6
    assert NoticeRecipient.objects.filter(notice__audience=[people.unit("suzhou_works")]).count() == 201


def test_publish_time_rows_are_written_in_batches(people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "ROW_BATCH", 2)
    notice = publish(people["office"], ["everyone"])
    assert NoticeRecipient.objects.filter(notice=notice).count() == 7


def test_the_signin_token_is_made_at_publishing(people: People) -> None:
    notice = publish(people["office"], [people.ref("li")], signin_enabled=True)
    assert len(notice.signin_token) >= 20
    other = publish(people["office"], [people.ref("li")], signin_enabled=True)
    assert other.signin_token != notice.signin_token
    plain = publish(people["office"], [people.ref("li")])
    assert plain.signin_token == ""


def test_times_are_kept_as_given(people: People) -> None:
    start = at(days=2)
    notice = publish(
        people["office"], [people.ref("li")], starts_at=start, ends_at=start + dt.timedelta(hours=1)
    )
    notice.refresh_from_db()
    assert notice.starts_at == start
