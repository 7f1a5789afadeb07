"""Editing after publishing (R-32) and withdrawing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.fixtures import client_for
from xietong.audit.models import Event
from xietong.core import clock
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.moderation.services import ContentBlockedError
from xietong.moderation.tests.conftest import add_word
from xietong.notices import selectors, services
from xietong.notices.models import Notice, NoticeRevision, ReceiptMode, Reply, Status
from xietong.notices.tests.conftest import BASE, People, at, publish
from xietong.notify.models import Dispatch, Notification

pytestmark = pytest.mark.django_db


def edited(notice: Notice, **changes: object) -> services.NoticeInput:
    data = services.NoticeInput(
        title=notice.title,
        body=notice.body,
        starts_at=notice.starts_at,
        ends_at=notice.ends_at,
        place=notice.place,
        receipt_due=notice.receipt_due,
    )
    return replace(data, **changes)  # type: ignore[arg-type]


@pytest.fixture
def notice(people: People) -> Notice:
    return publish(
        people["office"],
        [people.unit("production")],
        receipt_mode=ReceiptMode.ATTEND,
        receipt_due=at(hours=20),
    )


def test_r32_editing_a_published_notice_keeps_the_old_revision_marked_edited(
    people: People, notice: Notice
) -> None:
    services.receipt_reply(user=people["li"], notice=notice, reply=Reply.ATTEND)
    with clock.frozen_at(at(hours=2)):
        updated = services.notice_update(
            actor=people["office"], notice=notice, data=edited(notice, place="总部五楼大会议室")
        )
    assert (updated.revision, updated.edited_at, updated.edited) == (2, at(hours=2), True)
    assert updated.place == "总部五楼大会议室"
    old = NoticeRevision.objects.get(notice=notice)
    assert (old.number, old.place, old.title) == (1, BASE.place, notice.title)
    assert (old.written_at, old.replaced_at, old.replaced_by_id) == (
        at(),
        at(hours=2),
        people.users["office"].pk,
    )
    # Receipts stay; the recipients are told.
    assert selectors.receipt_totals(updated).attend == 1
    told = Dispatch.objects.get(kind=services.KIND_UPDATED)
    assert told.title == f"通知已更新：{notice.title}"
    assert "地点：总部五楼大会议室" in told.body
    assert Notification.objects.filter(dispatch=told).count() == 3
    assert Event.objects.get(action="notices.notice.updated").details == {"revision": 2, "changed": ["place"]}
    # Recipients see the mark and the history.
    page = client_for(people["li"]).get(f"/notices/{notice.pk}/").content.decode()
    assert 'id="edited-mark"' in page
    assert 'id="revisions"' in page
    assert BASE.place in page

    with clock.frozen_at(at(hours=3)):
        services.notice_update(
            actor=people["office"], notice=updated, data=edited(updated, title="会议地点调整")
        )
    second = NoticeRevision.objects.get(notice=notice, number=2)
    assert (second.place, second.written_at) == ("总部五楼大会议室", at(hours=2))


def test_the_audience_receipt_mode_and_level_stay_as_published(people: People, notice: Notice) -> None:
    data = replace(
        edited(notice, title="新标题"),
        audience=["everyone"],
        receipt_mode=ReceiptMode.NONE,
        classification=0,
        urgency="urgent",
    )
    updated = services.notice_update(actor=people["office"], notice=notice, data=data)
    assert (updated.audience, updated.receipt_mode, updated.classification, updated.urgency) == (
        [people.unit("production")],
        ReceiptMode.ATTEND,
        1,
        "normal",
    )


def test_nothing_changed_is_no_revision(people: People, notice: Notice) -> None:
    with pytest.raises(DomainError, match="没有变化"):
        services.notice_update(actor=people["office"], notice=notice, data=edited(notice))
    assert not NoticeRevision.objects.exists()


def test_an_edit_follows_the_same_rules(people: People, notice: Notice) -> None:
    with pytest.raises(DomainError, match="请填写地点"):
        services.notice_update(actor=people["office"], notice=notice, data=edited(notice, place=""))
    with pytest.raises(DomainError, match="不能晚于开始时间"):
        services.notice_update(
            actor=people["office"], notice=notice, data=edited(notice, receipt_due=at(days=3))
        )
    assert Notice.objects.get(pk=notice.pk).revision == 1


def test_a_passed_deadline_may_stay(people: People, notice: Notice) -> None:
    with clock.frozen_at(at(hours=22)):
        updated = services.notice_update(
            actor=people["office"], notice=notice, data=edited(notice, title="改标题")
        )
        assert updated.receipt_due == at(hours=20)
        with pytest.raises(DomainError, match="回执截止时间已过"):
            services.notice_update(
                actor=people["office"], notice=updated, data=edited(updated, receipt_due=at(hours=21))
            )


def test_only_the_publisher_edits(people: People, notice: Notice) -> None:
    with pytest.raises(PermissionDeniedError):
        services.notice_update(actor=people["prod_head"], notice=notice, data=edited(notice, title="x"))
    assert client_for(people["li"]).get(f"/notices/{notice.pk}/edit/").status_code == 404


def test_content_rules_apply_to_edits(people: People, notice: Notice, secadmin_user) -> None:
    add_word(secadmin_user, "违禁测试词")
    add_word(secadmin_user, "送审测试词", category_name="广告", action="hold")
    with pytest.raises(ContentBlockedError):
        services.notice_update(actor=people["office"], notice=notice, data=edited(notice, title="违禁测试词"))
    with pytest.raises(DomainError, match="需审核"):
        services.notice_update(actor=people["office"], notice=notice, data=edited(notice, title="送审测试词"))
    assert Notice.objects.get(pk=notice.pk).revision == 1


def test_a_stale_edit_is_refused(people: People, notice: Notice) -> None:
    stale = Notice.objects.get(pk=notice.pk)
    services.notice_update(actor=people["office"], notice=notice, data=edited(notice, title="第一次修改"))
    with pytest.raises(DomainError, match="已被修改"):
        services.notice_update(actor=people["office"], notice=stale, data=edited(stale, title="第二次修改"))


# --------------------------------------------------------------------------- withdrawing


def test_withdrawing_hides_the_notice_from_recipients_and_tells_them(people: People, notice: Notice) -> None:
    with clock.frozen_at(at(hours=1)):
        withdrawn = services.notice_withdraw(actor=people["office"], notice=notice, reason="会议取消")
    assert (withdrawn.status, withdrawn.withdrawn_at) == (Status.WITHDRAWN, at(hours=1))
    told = Dispatch.objects.get(kind=services.KIND_WITHDRAWN)
    assert (told.title, told.body, told.link) == (f"通知已撤回：{notice.title}", "会议取消", "")
    assert selectors.received(people["li"]).count() == 0
    assert Event.objects.get(action="notices.notice.withdrawn").details == {"reason": "会议取消"}
    with pytest.raises(DomainError, match="只有已发布"):
        services.notice_withdraw(actor=people["office"], notice=withdrawn)


def test_a_manager_in_scope_may_withdraw_a_recipient_may_not(people: People) -> None:
    by_li = publish(people["li"], [people.ref("zhao")])
    with pytest.raises(PermissionDeniedError):
        services.notice_withdraw(actor=people["zhao"], notice=by_li)
    services.notice_withdraw(actor=people["prod_head"], notice=by_li)
    assert Notice.objects.get(pk=by_li.pk).status == Status.WITHDRAWN


def test_a_withdrawal_reason_is_checked(people: People, notice: Notice) -> None:
    with pytest.raises(DomainError, match="不能超过"):
        services.notice_withdraw(actor=people["office"], notice=notice, reason="因" * 201)
    assert Notice.objects.get(pk=notice.pk).status == Status.PUBLISHED
