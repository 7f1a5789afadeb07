"""Who sees a notice (R-61, R-33): no list, count, search, page, API answer, export or
notification reveals a notice to someone outside its audience or below its 密级 — the
matrix: recipient, non-recipient, uncleared, manager in scope, manager out of scope, 三员."""

from __future__ import annotations

import pytest

from tests.fixtures import client_for, grant_role
from xietong.core.errors import NotFoundError
from xietong.identity.models import User
from xietong.notices import providers, selectors, services
from xietong.notices.models import Notice, NoticeRecipient
from xietong.notices.tests.conftest import People, at, publish
from xietong.notify.models import Notification
from xietong.org import builtin
from xietong.org.models import DataScope

pytestmark = pytest.mark.django_db

TITLE = "关于生产技术部设备检修的通知"


@pytest.fixture
def notice(people: People) -> Notice:
    """生产技术部 (and 检修班 below it) from the 综合办公室."""
    return publish(people["office"], [people.unit("production")], title=TITLE, place="二号机组检修现场")


def sees(user: User, notice: Notice) -> bool:
    """Every way of looking, answered alike (or the test says which one leaked)."""

    def in_a_list(query: str = "") -> bool:
        return (
            selectors.received(user, query=query).filter(notice=notice).exists()
            or selectors.published_by(user, query=query).filter(pk=notice.pk).exists()
            or selectors.unit_notices(user, query=query).filter(pk=notice.pk).exists()
        )

    ways = {
        "selector": selectors.visible_notices(user).filter(pk=notice.pk).exists(),
        "lists": in_a_list(),
        "search": in_a_list(notice.title[2:8]),
        "page": client_for(user).get(f"/notices/{notice.pk}/").status_code == 200,
        "api": client_for(user).get(f"/api/v1/notices/{notice.pk}").status_code == 200,
    }
    values = set(ways.values())
    assert len(values) == 1, ways
    return values.pop()


def listed(user: User) -> str:
    return client_for(user).get("/notices/").content.decode() + str(
        client_for(user).get("/api/v1/notices/").json()
    )


def test_r61_recipient_sees_the_notice_and_non_recipient_does_not(people: People, notice: Notice) -> None:
    for key in ("li", "zhou", "prod_head"):
        assert sees(people[key], notice), key
        assert TITLE in listed(people[key])
    for key in ("zhao", "sun", "qian"):
        assert not sees(people[key], notice), key
        assert TITLE not in listed(people[key])
        assert selectors.unread_count(people[key]) == 0
        assert not Notification.objects.filter(user=people.users[key]).exists()
        assert providers.feed(people[key], 5)[0].count == 0


def test_a_non_recipient_gets_the_same_404_as_for_a_missing_notice(people: People, notice: Notice) -> None:
    client = client_for(people["zhao"])
    for path in (f"/notices/{notice.pk}/", "/notices/999999/"):
        assert client.get(path).status_code == 404
    assert client.get(f"/api/v1/notices/{notice.pk}").json()["error"]["code"] == "not_found"
    for path in ("receipts/", "receipts/export/", "receipts/live/", "edit/"):
        assert client.get(f"/notices/{notice.pk}/{path}").status_code == 404, path
    assert client.post(f"/notices/{notice.pk}/receipt/").status_code == 404
    assert client.post(f"/notices/{notice.pk}/withdraw/").status_code == 404


def test_recipients_do_not_see_the_publishers_receipts(people: People, notice: Notice) -> None:
    client = client_for(people["li"])
    assert client.get(f"/notices/{notice.pk}/receipts/").status_code == 404
    assert client.get(f"/notices/{notice.pk}/receipts/export/").status_code == 404
    assert client.get(f"/api/v1/notices/{notice.pk}/receipts").status_code == 404
    assert client.post(f"/api/v1/notices/{notice.pk}/remind").status_code == 404
    with pytest.raises(NotFoundError):
        selectors.managed_notice(people["li"], notice.pk)


def test_r33_uncleared_people_see_nothing_of_a_classified_notice(people: People) -> None:
    office = people.users["office"]
    office.clearance = 2
    office.save()
    secret = publish(
        people["office"], [people.unit("finance")], classification=2, title="关于2027年度预算编制的通知"
    )
    assert sees(people["qian"], secret)
    assert not sees(people["zhao"], secret)  # in the audience, but 内部 only
    assert not NoticeRecipient.objects.filter(notice=secret, user=people.users["zhao"]).exists()
    assert "2027年度预算" not in listed(people["zhao"])
    assert not Notification.objects.filter(user=people.users["zhao"]).exists()


def test_a_lowered_clearance_hides_what_was_received_before(people: People) -> None:
    office = people.users["office"]
    office.clearance = 2
    office.save()
    secret = publish(people["office"], [people.ref("qian")], classification=2)
    qian = people.users["qian"]
    qian.clearance = 1
    qian.save()
    assert not sees(people["qian"], secret)
    assert selectors.unread_count(people["qian"]) == 0
    assert providers.todos(people["qian"], 5).count == 0


def test_the_publisher_sees_his_notice_without_being_a_recipient(people: People, notice: Notice) -> None:
    assert sees(people["office"], notice)
    assert selectors.received(people["office"]).count() == 0
    assert selectors.published_by(people["office"]).get() == notice


def test_a_manager_in_scope_follows_the_notices_of_his_units(people: People) -> None:
    """王经理 manages notices in 生产技术部's tree: those of 李强 (his department) — not the
    综合办公室's; the group-wide 张伟 sees all."""
    by_li = publish(people["li"], [people.ref("zhao")], title="李强发给赵敏的通知")
    head = people["prod_head"]
    assert sees(head, by_li)
    assert selectors.unit_notices(head).get() == by_li
    assert selectors.managed_notice(head, by_li.pk) == by_li
    assert sees(people["office"], by_li)
    assert selectors.can_manage(people["office"], by_li)


def test_a_manager_out_of_scope_does_not(people: People) -> None:
    by_sun = publish(people["sun"], [people.ref("zhao")], title="苏州工程部的通知")
    assert not sees(people["prod_head"], by_sun)
    assert not selectors.can_manage(people["prod_head"], by_sun)
    assert selectors.unit_notices(people["prod_head"]).count() == 0


def test_a_manager_does_not_see_others_drafts(people: People) -> None:
    draft = services.notice_save_draft(actor=people["li"], data=services.NoticeInput(title="李强的草稿"))
    assert not sees(people["prod_head"], draft)
    assert sees(people["li"], draft)


def test_a_manager_without_clearance_does_not_see_a_classified_notice(people: People) -> None:
    qian = people.users["qian"]
    grant_role(qian, builtin.NOTICE_PUBLISHER, scope=DataScope.GROUP)
    for key in ("li", "zhou"):
        cleared = people.users[key]
        cleared.clearance = 2
        cleared.save()
    secret = publish(people["li"], [people.ref("zhou")], classification=2)
    assert sees(people["qian"], secret)  # group-wide manager, cleared for 2
    assert not sees(people["office"], secret)  # group-wide manager, 内部 only
    assert not selectors.can_manage(people["office"], secret)


def test_the_administrators_see_no_notice_at_all(people: People, notice: Notice) -> None:
    everyone = publish(people["office"], ["everyone"], title="全体员工通知")
    admin = people["sysadmin"]
    assert not sees(admin, notice)
    assert not sees(admin, everyone)
    assert client_for(admin).get("/notices/").status_code == 403
    assert client_for(admin).get("/api/v1/notices/").status_code == 403
    assert selectors.unread_count(admin) == 0
    assert providers.todos(admin, 5).count == 0
    assert providers.feed(admin, 5) == []
    assert providers.schedule(admin, at().date()) == []
    # Nor does any notification about one reach them, though the audience is everyone (AC-05).
    assert not Notification.objects.filter(user=admin).exists()
    assert Notification.objects.filter(dispatch__source_id=str(everyone.pk)).count() == 7


def test_withdrawn_notices_leave_the_recipients_lists(people: People, notice: Notice) -> None:
    services.notice_withdraw(actor=people["office"], notice=notice)
    assert not sees(people["li"], notice)
    assert sees(people["office"], notice)
    assert sees(people["prod_head"], notice) is False  # his scope covers 李强's notices, not the office's
