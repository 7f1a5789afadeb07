"""Transfers, suspensions and departures (R-13, R-15): what ends at once, what is handed
over, what waits for the security administrator's review."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from tests.fixtures import STRONG_PASSWORD, client_for
from xietong.audit.models import Event
from xietong.core import access
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.identity import services as identity_services
from xietong.identity.models import User
from xietong.org import builtin, guards, handover, user_services
from xietong.org.models import (
    DataScope,
    Membership,
    OrgUnit,
    PersonnelChange,
    Position,
    RoleGrant,
    StaffProfile,
)

pytestmark = pytest.mark.django_db


def signed_in(user: User) -> Client:
    """A browser session made through the real login form."""
    client = Client()
    assert client.login(username=user.username, password=STRONG_PASSWORD)
    return client


def sessions_of(user: User) -> int:
    return sum(1 for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk))


@pytest.fixture
def work_registry() -> Iterator[dict[str, list[tuple[str, str]]]]:
    """Two modules holding open work, and one whose handler is broken."""
    moved: dict[str, list[tuple[str, str]]] = {"todos": [], "tasks": []}

    def move_todos(leaver: User, successor: User) -> int:
        moved["todos"].append((leaver.username, successor.username))
        return 3

    def move_tasks(leaver: User, successor: User) -> int:
        moved["tasks"].append((leaver.username, successor.username))
        return 1

    def broken(leaver: User, successor: User) -> int:
        raise RuntimeError("module bug")

    handover.register("test.todos", "待办", move_todos)
    handover.register("test.tasks", "任务", move_tasks)
    handover.register("test.broken", "出错的模块", broken)
    yield moved
    for name in ("test.todos", "test.tasks", "test.broken"):
        handover.unregister(name)


# --------------------------------------------------------------------------- departure


def test_r15_departure_disables_account_and_ends_sessions(
    sysadmin_user: User, people: dict[str, User], work_registry: dict[str, list[tuple[str, str]]]
) -> None:
    leaver, successor = people["zhangwei"], people["wangqiang"]
    browser = signed_in(leaver)
    second = signed_in(leaver)
    assert browser.get(reverse("org:directory")).status_code == 200
    assert sessions_of(leaver) == 2

    response = client_for(sysadmin_user).post(
        reverse("org:user_depart", args=[leaver.pk]), {"successor": "1002", "reason": "合同到期"}
    )
    assert response.status_code == 302

    # The leaver's open sessions are refused on their next request.
    for client in (browser, second):
        page = client.get(reverse("org:directory"))
        assert page.status_code == 302
        assert page["Location"].startswith(reverse("identity:login"))
        assert client.get("/api/v1/org/units").status_code == 401
    assert sessions_of(leaver) == 0
    leaver.refresh_from_db()
    assert not leaver.is_active
    assert leaver.staff.status == StaffProfile.Status.DEPARTED
    assert not Client().login(username=leaver.username, password=STRONG_PASSWORD)
    # Open work went to the successor; a broken module did not stop the departure.
    assert work_registry == {"todos": [("zhangwei", "wangqiang")], "tasks": [("zhangwei", "wangqiang")]}
    event = Event.objects.get(action=guards.USER_DEPARTED)
    assert event.details["handover"] == {"test.todos": 3, "test.tasks": 1}
    assert event.details["handover_failed"] == ["test.broken"]
    assert event.details["sessions_ended"] == 2
    assert event.details["successor"] == successor.username
    change = PersonnelChange.objects.get(user=leaver, kind=PersonnelChange.Kind.DEPART)
    assert (change.successor, change.reason) == (successor, "合同到期")


def test_a_departure_ends_headships_and_contact_designations(
    sysadmin_user: User, people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    head = people["wangqiang"]
    OrgUnit.objects.filter(pk=org_tree["production"].pk).update(contact=head)
    user_services.user_depart(actor=sysadmin_user, user=head, successor=people["zhangwei"])
    assert not Membership.objects.filter(user=head, is_head=True).exists()
    assert OrgUnit.objects.get(pk=org_tree["production"].pk).contact is None
    assert Membership.objects.filter(user=head).exists()  # the post stays on record
    details = Event.objects.get(action=guards.USER_DEPARTED).details
    assert (details["heads_ended"], details["contact_cleared"]) == (["EC-SC"], ["EC-SC"])


def test_a_departure_needs_a_successor_the_administrator_answers_for(
    deptadmin_user: User, people: dict[str, User]
) -> None:
    leaver = people["zhangwei"]
    with pytest.raises(DomainError, match="交接人"):
        user_services.user_depart(actor=deptadmin_user, user=leaver, successor=None)
    with pytest.raises(DomainError, match="管理范围"):
        user_services.user_depart(actor=deptadmin_user, user=leaver, successor=people["zhaomin"])
    with pytest.raises(DomainError, match="本人"):
        user_services.user_depart(actor=deptadmin_user, user=leaver, successor=leaver)
    assert User.objects.get(pk=leaver.pk).is_active
    user_services.user_depart(actor=deptadmin_user, user=leaver, successor=people["lina"])
    assert not User.objects.get(pk=leaver.pk).is_active


def test_a_departure_is_final(sysadmin_user: User, people: dict[str, User]) -> None:
    leaver = people["zhangwei"]
    user_services.user_depart(actor=sysadmin_user, user=leaver, successor=people["wangqiang"])
    with pytest.raises(DomainError, match="已离职"):
        user_services.user_resume(actor=sysadmin_user, user=leaver)
    with pytest.raises(DomainError, match="已办理离职"):
        user_services.user_depart(actor=sysadmin_user, user=leaver, successor=people["wangqiang"])
    assert not User.objects.get(pk=leaver.pk).is_active


def test_r15_departure_revokes_api_tokens(sysadmin_user: User, people: dict[str, User]) -> None:
    leaver = people["zhangwei"]
    _row, secret = identity_services.api_token_create(user=leaver, name="脚本", scope="read", days=30)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/org/units").status_code == 200
    departure = user_services.user_depart(actor=sysadmin_user, user=leaver, successor=people["wangqiang"])
    assert departure.tokens_revoked == 1
    assert client.get("/api/v1/org/units").status_code == 401
    assert Event.objects.get(action=guards.USER_DEPARTED).details["tokens_revoked"] == 1


# --------------------------------------------------------------------------- suspension


def test_r15_suspension_is_reversible(sysadmin_user: User, people: dict[str, User]) -> None:
    member = people["zhangwei"]
    browser = signed_in(member)
    admin = client_for(sysadmin_user)

    admin.post(reverse("org:user_suspend", args=[member.pk]), {"reason": "违反保密纪律，处分决定〔2026〕3号"})
    member.refresh_from_db()
    assert not member.is_active
    assert member.staff.status == StaffProfile.Status.SUSPENDED
    assert browser.get(reverse("org:directory")).status_code == 302  # the open session is gone
    assert not Client().login(username="zhangwei", password=STRONG_PASSWORD)
    page = admin.get(reverse("org:user_detail", args=[member.pk])).content.decode()
    assert "暂停使用" in page
    assert reverse("org:user_resume", args=[member.pk]) in page

    admin.post(reverse("org:user_resume", args=[member.pk]), {"reason": "处分期满"})
    member = User.objects.get(pk=member.pk)
    assert member.is_active
    assert member.staff.status == StaffProfile.Status.ACTIVE
    assert Client().login(username="zhangwei", password=STRONG_PASSWORD)  # the same password works again
    kinds = list(
        PersonnelChange.objects.filter(user=member)
        .order_by("created_at", "id")
        .values_list("kind", flat=True)
    )
    assert kinds == [PersonnelChange.Kind.SUSPEND, PersonnelChange.Kind.RESUME]
    actions = set(Event.objects.filter(target_id=str(member.pk)).values_list("action", flat=True))
    assert {guards.USER_SUSPENDED, guards.USER_RESUMED} <= actions


def test_a_suspension_needs_a_reason(sysadmin_user: User, people: dict[str, User]) -> None:
    with pytest.raises(DomainError, match="原因"):
        user_services.user_suspend(actor=sysadmin_user, user=people["zhangwei"], reason="  ")
    assert User.objects.get(pk=people["zhangwei"].pk).is_active


def test_an_account_disabled_for_dormancy_can_be_resumed(
    sysadmin_user: User, people: dict[str, User]
) -> None:
    User.objects.filter(pk=people["zhangwei"].pk).update(is_active=False)
    user_services.user_resume(actor=sysadmin_user, user=people["zhangwei"], reason="本人回岗")
    assert User.objects.get(pk=people["zhangwei"].pk).is_active
    with pytest.raises(DomainError, match="无需恢复"):
        user_services.user_resume(actor=sysadmin_user, user=people["zhangwei"])


# --------------------------------------------------------------------------- transfer


def test_r13_transfer_opens_review(
    sysadmin_user: User,
    secadmin_user: User,
    people: dict[str, User],
    org_tree: dict[str, OrgUnit],
    positions: dict[str, Position],
) -> None:
    member = people["zhangwei"]
    response = client_for(sysadmin_user).post(
        reverse("org:user_transfer", args=[member.pk]),
        {"unit": org_tree["finance"].pk, "position": positions["manager"].pk, "reason": "岗位轮换"},
    )
    assert response.status_code == 302
    post = Membership.objects.get(user=member)
    assert (post.unit, post.position, post.is_primary) == (org_tree["finance"], positions["manager"], True)
    change = PersonnelChange.objects.get(user=member, kind=PersonnelChange.Kind.TRANSFER)
    assert (change.from_unit, change.to_unit, change.review_status) == (
        org_tree["production"],
        org_tree["finance"],
        PersonnelChange.Review.PENDING,
    )
    event = Event.objects.get(action=guards.USER_TRANSFERRED)
    assert (event.details["from"]["unit"], event.details["to"]["unit"]) == ("EC-SC", "G-CW")

    # The security administrator sees it and confirms the review; the system administrator cannot.
    security = client_for(secadmin_user)
    queue = security.get(reverse("org:reviews")).content.decode()
    assert f'data-change-id="{change.pk}"' in queue
    assert client_for(sysadmin_user).get(reverse("org:reviews")).status_code == 403
    security.post(reverse("org:reviews"), {"change": change.pk, "note": "个人授权已核对"})
    change.refresh_from_db()
    assert (change.review_status, change.reviewed_by, change.review_note) == (
        PersonnelChange.Review.DONE,
        secadmin_user,
        "个人授权已核对",
    )
    assert f'data-change-id="{change.pk}"' not in security.get(reverse("org:reviews")).content.decode()
    assert Event.objects.filter(action=guards.CHANGE_REVIEWED, actor_id=secadmin_user.pk).exists()


def test_r13_a_new_account_opens_a_review_too(sysadmin_user: User, org_tree: dict[str, OrgUnit]) -> None:
    created = user_services.user_create(
        actor=sysadmin_user, username="xinren", name="新人", unit=org_tree["office"]
    )
    change = PersonnelChange.objects.get(user=created.user)
    assert (change.kind, change.review_status) == (PersonnelChange.Kind.HIRE, PersonnelChange.Review.PENDING)


def test_r15_transfer_removes_the_old_posts_permissions(
    sysadmin_user: User, people: dict[str, User], org_tree: dict[str, OrgUnit], positions: dict[str, Position]
) -> None:
    """A role granted to the 部门经理 position: 王强 holds it while he holds that post."""
    roles = builtin.ensure_builtin_roles()
    RoleGrant.objects.create(
        role=roles[builtin.DEPARTMENT_ADMIN], position=positions["manager"], scope=DataScope.DEPARTMENT_TREE
    )
    head = User.objects.get(pk=people["wangqiang"].pk)
    assert access.can(head, "org.manage_users")
    user_services.user_transfer(
        actor=sysadmin_user, user=head, unit=org_tree["finance"], position=positions["clerk"], reason="调岗"
    )
    head = User.objects.get(pk=head.pk)
    assert not access.can(head, "org.manage_users")
    assert not Membership.objects.get(user=head).is_head  # the headship stayed in the old unit


def test_a_transfer_into_a_concurrent_posts_unit_makes_that_post_primary(
    sysadmin_user: User, people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    member = people["zhangwei"]
    Membership.objects.create(user=member, unit=org_tree["office"], is_primary=False)
    user_services.user_transfer(actor=sysadmin_user, user=member, unit=org_tree["office"], position=None)
    posts = list(Membership.objects.filter(user=member).values_list("unit__code", "is_primary"))
    assert posts == [("G-ZH", True)]


def test_a_transfer_to_the_same_post_is_refused(
    sysadmin_user: User, people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    member = people["zhangwei"]
    post = Membership.objects.get(user=member)
    with pytest.raises(DomainError, match="相同"):
        user_services.user_transfer(
            actor=sysadmin_user, user=member, unit=org_tree["production"], position=post.position
        )


def test_r16_a_dept_admin_transfers_only_within_the_subtree(
    deptadmin_user: User, people: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    member = people["zhangwei"]
    with pytest.raises(PermissionDeniedError):
        user_services.user_transfer(
            actor=deptadmin_user, user=member, unit=org_tree["finance"], position=None
        )
    with pytest.raises(NotFoundError):
        user_services.user_transfer(
            actor=deptadmin_user, user=people["zhaomin"], unit=org_tree["repair"], position=None
        )
    assert Membership.objects.get(user=member).unit == org_tree["production"]
    user_services.user_transfer(actor=deptadmin_user, user=member, unit=org_tree["repair"], position=None)
    assert Membership.objects.get(user=member).unit == org_tree["repair"]


# --------------------------------------------------------------------------- one-time passwords


def test_a_password_reset_from_the_account_page_is_shown_once(
    sysadmin_user: User, people: dict[str, User]
) -> None:
    response = client_for(sysadmin_user).post(
        reverse("org:user_reset_password", args=[people["zhangwei"].pk])
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "密码已重置" in page
    assert 'class="xt-secret"' in page
    assert User.objects.get(pk=people["zhangwei"].pk).must_change_password


def test_handover_registry_lists_handlers_in_order() -> None:
    def noop(leaver: Any, successor: Any) -> int:
        return 0

    handover.register("zz.last", "最后", noop)
    handover.register("aa.first", "最先", noop)
    try:
        names = [entry.name for entry in handover.entries()]
        assert names.index("aa.first") < names.index("zz.last")
    finally:
        handover.unregister("zz.last")
        handover.unregister("aa.first")
