"""The security-administration pages: landing, roles, grants, clearances — who may open what
(R-08, 三员分立), the password asked again before changes (SES-07), and that the pages
change things only through ``org.services``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.fixtures import client_for, make_user, place
from xietong.audit.models import Event
from xietong.core import access, classification, clock, navigation
from xietong.identity.models import User
from xietong.org import builtin, roles_selectors, services
from xietong.org import requests as permission_requests
from xietong.org.models import DataScope, OrgUnit, PermissionRequest, Position, Role, RoleGrant

pytestmark = pytest.mark.django_db

ACTORS = ["employee", "sysadmin", "secadmin", "auditadmin", "deptadmin"]


def role(code: str) -> Role:
    return Role.objects.get(code=code)


@pytest.fixture
def target(org_tree: dict[str, OrgUnit]) -> User:
    """The person the administrators work on: an employee of 生产技术部."""
    person = make_user("zhangwei", name="张伟", employee_no="1001")
    place(person, org_tree["production"])
    return person


@pytest.fixture
def custom_role() -> Role:
    return Role.objects.create(code="reporter", name="报表查看员", permissions=["org.view_directory"])


@pytest.fixture
def actors(
    target: User, sysadmin_user: User, secadmin_user: User, auditadmin_user: User, deptadmin_user: User
) -> dict[str, User]:
    employee = make_user("putong", name="普通员工")
    return {
        "employee": employee,
        "sysadmin": sysadmin_user,
        "secadmin": secadmin_user,
        "auditadmin": auditadmin_user,
        "deptadmin": deptadmin_user,
    }


def state() -> tuple[Any, ...]:
    """Everything an administration page could change."""
    return (
        sorted(Role.objects.values_list("code", "name", "permissions", "default_scope")),
        sorted(RoleGrant.objects.values_list("role_id", "user_id", "position_id", "scope")),
        sorted(User.objects.values_list("username", "clearance")),
        sorted(PermissionRequest.objects.values_list("pk", "status")),
    )


# --------------------------------------------------------------------------- R-08 matrix


def test_r08_each_tier_sees_only_its_own_admin_functions(
    actors: dict[str, User], target: User, custom_role: Role, org_tree: dict[str, OrgUnit]
) -> None:
    """Every page of 安全管理 for each tier: only the 安全管理员 opens the role, grant, clearance
    and request pages; the 审计管理员 opens the landing page, which shows only the login log;
    the others get 403, and a refused submission changes nothing."""
    position = Position.objects.create(name="专员", rank=2)
    grant = services.role_grant(
        actor=actors["secadmin"], role=custom_role, user=target, scope=DataScope.DEPARTMENT
    )
    request_row = permission_requests.permission_request_create(
        actor=target,
        subject=target,
        role=role(builtin.DEPARTMENT_ADMIN),
        scope=DataScope.DEPARTMENT,
        reason="维护账号",
    )
    pages = [
        reverse("roles:role_list"),
        reverse("roles:role_create"),
        reverse("roles:role_detail", args=[custom_role.pk]),
        reverse("roles:role_edit", args=[custom_role.pk]),
        reverse("roles:role_delete", args=[custom_role.pk]),
        reverse("roles:grants") + "?q=张",
        reverse("roles:user_grants", args=[target.pk]),
        reverse("roles:user_grant_new", args=[target.pk]),
        reverse("roles:position_grants", args=[position.pk]),
        reverse("roles:position_grant_new", args=[position.pk]),
        reverse("roles:grant_revoke", args=[grant.pk]),
        reverse("roles:requests"),
        reverse("roles:request_detail", args=[request_row.pk]),
    ]
    clearance_pages = [reverse("roles:clearances"), reverse("roles:clearance_edit", args=[target.pk])]
    submissions = [
        (reverse("roles:role_create"), {"code": "x", "name": "新角色", "default_scope": "self"}),
        (reverse("roles:role_edit", args=[custom_role.pk]), {"name": "改名", "default_scope": "group"}),
        (reverse("roles:role_delete", args=[custom_role.pk]), {}),
        (
            reverse("roles:user_grant_new", args=[target.pk]),
            {"role": role(builtin.DEPARTMENT_ADMIN).pk, "scope": "department"},
        ),
        (reverse("roles:position_grant_new", args=[position.pk]), {"role": custom_role.pk, "scope": "self"}),
        (reverse("roles:grant_revoke", args=[grant.pk]), {}),
        (reverse("roles:clearance_edit", args=[target.pk]), {"clearance": classification.highest()}),
        (reverse("roles:request_approve", args=[request_row.pk]), {}),
        (reverse("roles:request_detail", args=[request_row.pk]), {"reject-note": "不同意"}),
    ]
    expected_cards = {
        "secadmin": {
            "roles:role_list",
            "roles:grants",
            "roles:clearances",
            "roles:requests",
            "identity:password_policy",
            "identity:login_log",
        },
        "auditadmin": {"identity:login_log"},
    }
    for who, actor in actors.items():
        client = client_for(actor)
        home = client.get(reverse("roles:home"))
        if who in expected_cards:
            assert home.status_code == 200, who
            assert {card.url_name for card, _count in home.context["cards"]} == expected_cards[who], who
            # Each card opens: the landing page never offers what the view then refuses.
            for card, _count in home.context["cards"]:
                assert client.get(reverse(card.url_name)).status_code == 200, (who, card.url_name)
        else:
            assert home.status_code == 403, who
        for url in pages:
            assert client.get(url).status_code == (200 if who == "secadmin" else 403), (who, url)
        for url in clearance_pages:
            assert client.get(url).status_code == (200 if who == "secadmin" else 403), (who, url)
        if who == "secadmin":
            continue
        before = state()
        for url, data in submissions:
            assert client.post(url, data).status_code == 403, (who, url)
        assert state() == before, who
        # The navigation entry follows the same rule.
        modules = {m.slug for _title, entries in navigation.modules_for(actor) for m in entries}
        assert ("identity" in modules) == (who in expected_cards), who
    entry = navigation.get("identity")
    assert entry is not None
    assert entry.url == reverse("roles:home")


def test_anonymous_visitors_are_sent_to_sign_in(custom_role: Role) -> None:
    client = Client()
    for url in (
        reverse("roles:home"),
        reverse("roles:role_list"),
        reverse("roles:mine"),
        reverse("roles:grants"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("identity:login"))


# ---------------------------------------------------------------------------


def test_r12_new_account_holds_only_the_default_role(org_tree: dict[str, OrgUnit]) -> None:
    person = make_user("xinren", name="新人")
    place(person, org_tree["finance"])
    held = roles_selectors.held_roles(person)
    assert [(item.role.code, item.grant) for item in held] == [(builtin.EMPLOYEE, None)]
    assert access.grants_of(person).codenames == set(role(builtin.EMPLOYEE).permissions)
    assert not RoleGrant.objects.filter(user=person).exists()
    assert person.clearance == classification.DEFAULT_CLEARANCE
    api = client_for(person).get("/api/v1/roles/me/permissions").json()
    assert [r["role_code"] for r in api["roles"]] == [builtin.EMPLOYEE]
    assert api["permissions"] == sorted(role(builtin.EMPLOYEE).permissions)


# --------------------------------------------------------------------------- roles


def test_role_list_marks_builtin_roles_and_counts_grants(
    secadmin_client: Client, custom_role: Role, target: User, secadmin_user: User
) -> None:
    services.role_grant(actor=secadmin_user, role=custom_role, user=target, scope=DataScope.SELF)
    response = secadmin_client.get(reverse("roles:role_list"))
    rows = {r.code: r for r in response.context["roles"]}
    assert rows["reporter"].grant_count == 1
    assert rows[builtin.SECURITY_ADMIN].grant_count == 1
    html = response.content.decode()
    assert html.count("data-builtin") == len(builtin.BUILTIN_ROLES)
    assert "安全保密管理员" in html  # the tier


def test_role_list_query_count_is_constant(secadmin_client: Client) -> None:
    url = reverse("roles:role_list")
    secadmin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        before = len(secadmin_client.get(url).context["roles"])
    for index in range(10):
        custom = Role.objects.create(
            code=f"r{index}", name=f"角色{index}", permissions=["org.view_directory"]
        )
        Position.objects.create(name=f"岗位{index}")
        RoleGrant.objects.create(
            role=custom, position=Position.objects.get(name=f"岗位{index}"), scope="self"
        )
    with CaptureQueriesContext(connection) as many:
        response = secadmin_client.get(url)
    assert len(response.context["roles"]) == before + 10
    assert len(many) == len(few)


def test_role_create_edit_and_delete_through_the_services(
    secadmin_client: Client, secadmin_user: User
) -> None:
    form = secadmin_client.get(reverse("roles:role_create"))
    html = form.content.decode()
    # The checklist is grouped by module; permissions of the 三员 tiers are greyed out.
    assert 'data-module="identity"' in html
    assert 'data-module="org"' in html
    assert "仅限安全保密管理员" in html

    refused = secadmin_client.post(
        reverse("roles:role_create"),
        {"code": "bad", "name": "越权", "default_scope": "self", "permissions": ["identity.manage_roles"]},
    )
    assert refused.status_code == 200
    assert "只能属于安全保密管理员角色" in refused.content.decode()
    assert not Role.objects.filter(code="bad").exists()

    created = secadmin_client.post(
        reverse("roles:role_create"),
        {
            "code": "filing_clerk",
            "name": "档案员",
            "description": "查阅通讯录",
            "default_scope": "department_tree",
            "permissions": ["org.view_directory"],
        },
    )
    custom = Role.objects.get(code="filing_clerk")
    assert created["Location"] == reverse("roles:role_detail", args=[custom.pk])
    assert (custom.permissions, custom.default_scope, custom.builtin) == (
        ["org.view_directory"],
        "department_tree",
        False,
    )
    duplicate = secadmin_client.post(
        reverse("roles:role_create"), {"code": "filing_clerk", "name": "另一个", "default_scope": "self"}
    )
    assert "已存在" in duplicate.content.decode()

    secadmin_client.post(
        reverse("roles:role_edit", args=[custom.pk]),
        {"name": "档案整理员", "default_scope": "self", "permissions": []},
    )
    custom.refresh_from_db()
    assert (custom.name, custom.permissions, custom.default_scope) == ("档案整理员", [], "self")
    assert Event.objects.filter(action="org.role.updated", actor_id=secadmin_user.pk).exists()

    builtin_role = role(builtin.EMPLOYEE)
    page = secadmin_client.get(reverse("roles:role_delete", args=[builtin_role.pk]))
    assert "内置角色不能删除" in page.content.decode()
    response = secadmin_client.post(reverse("roles:role_delete", args=[builtin_role.pk]), follow=True)
    assert "内置角色不能删除" in response.content.decode()
    assert Role.objects.filter(pk=builtin_role.pk).exists()

    secadmin_client.post(reverse("roles:role_delete", args=[custom.pk]))
    assert not Role.objects.filter(pk=custom.pk).exists()
    assert Event.objects.filter(action="org.role.deleted").count() == 1


def test_role_detail_lists_who_holds_it(
    secadmin_client: Client, secadmin_user: User, custom_role: Role, target: User
) -> None:
    position = Position.objects.create(name="部门经理", rank=6)
    services.role_grant(actor=secadmin_user, role=custom_role, user=target, scope=DataScope.DEPARTMENT)
    services.role_grant(
        actor=secadmin_user, role=custom_role, position=position, scope=DataScope.DEPARTMENT_TREE
    )
    html = secadmin_client.get(reverse("roles:role_detail", args=[custom_role.pk])).content.decode()
    assert "张伟" in html
    assert "部门经理" in html
    assert "本部门及下级" in html


# --------------------------------------------------------------------------- grants


def test_grant_to_a_user_with_listed_units_and_expiry_then_revoke(
    secadmin_client: Client,
    secadmin_user: User,
    target: User,
    custom_role: Role,
    org_tree: dict[str, OrgUnit],
) -> None:
    found = secadmin_client.get(reverse("roles:grants"), {"q": "张伟"})
    assert [p.username for p in found.context["people"]] == ["zhangwei"]

    form = secadmin_client.get(reverse("roles:user_grant_new", args=[target.pk]))
    assert form.status_code == 200
    # The units read as the org chart: tree order, indented by depth.
    field = form.context["form"].fields["units"]
    assert list(field.queryset) == list(OrgUnit.objects.order_by("path"))
    assert (
        field.label_from_instance(org_tree["repair"]) == "\u3000" * 3 + "检修班"
    )  # 集团 › 华东分公司 › 生产技术部 › 检修班

    missing_units = secadmin_client.post(
        reverse("roles:user_grant_new", args=[target.pk]), {"role": custom_role.pk, "scope": "listed"}
    )
    assert "请至少选择一个部门" in missing_units.content.decode()

    day = clock.localdate() + dt.timedelta(days=30)
    response = secadmin_client.post(
        reverse("roles:user_grant_new", args=[target.pk]),
        {
            "role": custom_role.pk,
            "scope": "listed",
            "units": [org_tree["office"].pk, org_tree["finance"].pk],
            "expires_on": day.isoformat(),
            "reason": "年度报表",
        },
    )
    assert response.status_code == 302
    grant = RoleGrant.objects.get(user=target, role=custom_role)
    assert {u.code for u in grant.units.all()} == {"G-ZH", "G-CW"}
    assert grant.expires_at is not None
    assert grant.expires_at.astimezone().date() == day + dt.timedelta(days=1)
    assert (grant.reason, grant.granted_by) == ("年度报表", secadmin_user)

    holder = secadmin_client.get(reverse("roles:user_grants", args=[target.pk])).content.decode()
    assert "报表查看员" in holder
    assert "综合办公室" in holder
    assert "普通用户" in holder

    assert secadmin_client.get(reverse("roles:grant_revoke", args=[grant.pk])).status_code == 200
    secadmin_client.post(reverse("roles:grant_revoke", args=[grant.pk]))
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    assert Event.objects.filter(action="org.role.revoked", actor_id=secadmin_user.pk).exists()


def test_grant_refusals_are_shown_in_chinese(
    secadmin_client: Client, secadmin_user: User, sysadmin_user: User, target: User
) -> None:
    # 三员分立: the 系统管理员 cannot also become 审计管理员.
    response = secadmin_client.post(
        reverse("roles:user_grant_new", args=[sysadmin_user.pk]),
        {"role": role(builtin.AUDIT_ADMIN).pk, "scope": "group"},
    )
    assert "一个账号只能担任一种管理员" in response.content.decode()
    # Nobody grants themself.
    response = secadmin_client.post(
        reverse("roles:user_grant_new", args=[secadmin_user.pk]),
        {"role": role(builtin.DEPARTMENT_ADMIN).pk, "scope": "group"},
    )
    assert "不能给自己授予" in response.content.decode()
    # An expiry in the past.
    response = secadmin_client.post(
        reverse("roles:user_grant_new", args=[target.pk]),
        {"role": role(builtin.DEPARTMENT_ADMIN).pk, "scope": "group", "expires_on": "2020-01-01"},
    )
    assert "有效期不能早于今天" in response.content.decode()
    assert not RoleGrant.objects.filter(
        user__in=[target, secadmin_user], role__code=builtin.DEPARTMENT_ADMIN
    ).exists()


def test_grant_to_a_position_follows_its_holders(
    secadmin_client: Client, target: User, custom_role: Role
) -> None:
    manager = Position.objects.create(name="部门经理", rank=6)
    page = secadmin_client.get(reverse("roles:position_grant_new", args=[manager.pk]))
    offered = {r.code for r in page.context["form"].fields["role"].queryset}
    assert builtin.SECURITY_ADMIN not in offered
    assert builtin.DEPARTMENT_ADMIN in offered
    secadmin_client.post(
        reverse("roles:position_grant_new", args=[manager.pk]),
        {"role": role(builtin.DEPARTMENT_ADMIN).pk, "scope": "department_tree"},
    )
    assert RoleGrant.objects.filter(position=manager).count() == 1
    assert not access.can(User.objects.get(pk=target.pk), "org.manage_users")
    post = target.memberships.get()
    post.position = manager
    post.save()
    assert access.can(User.objects.get(pk=target.pk), "org.manage_users")
    html = secadmin_client.get(reverse("roles:user_grants", args=[target.pk])).content.decode()
    assert "岗位“部门经理”" in html


# --------------------------------------------------------------------------- re-authentication


@pytest.mark.parametrize("page", ["grant", "revoke", "role_edit", "clearance", "approve"])
def test_changes_ask_for_the_password_again_after_five_minutes(
    secadmin_user: User, target: User, custom_role: Role, page: str
) -> None:
    """SES-07: signed in more than five minutes ago → the change sends to /account/confirm/
    and nothing happens; after confirming, it goes through."""
    grant = services.role_grant(actor=secadmin_user, role=custom_role, user=target, scope=DataScope.SELF)
    row = permission_requests.permission_request_create(
        actor=target,
        subject=target,
        role=role(builtin.DEPARTMENT_ADMIN),
        scope=DataScope.SELF,
        reason="维护账号",
    )
    url, data = {
        "grant": (
            reverse("roles:user_grant_new", args=[target.pk]),
            {"role": role(builtin.DEPARTMENT_ADMIN).pk, "scope": "department"},
        ),
        "revoke": (reverse("roles:grant_revoke", args=[grant.pk]), {}),
        "role_edit": (
            reverse("roles:role_edit", args=[custom_role.pk]),
            {"name": "新名称", "default_scope": "self"},
        ),
        "clearance": (reverse("roles:clearance_edit", args=[target.pk]), {"clearance": 2}),
        "approve": (reverse("roles:request_approve", args=[row.pk]), {}),
    }[page]
    signed_in = clock.now()
    client = client_for(secadmin_user)
    before = state()
    with clock.frozen_at(signed_in + dt.timedelta(minutes=6)):
        for method in (client.get, client.post):
            response = method(url, data) if method is client.post else method(url)
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("identity:confirm"))
        assert state() == before
        client.post(reverse("identity:confirm"), {"password": "Xietong#2026strong", "next": url})
        assert client.post(url, data).status_code == 302
        assert state() != before


# --------------------------------------------------------------------------- clearances


def test_clearances_are_filtered_and_changed_through_the_service(
    secadmin_client: Client, secadmin_user: User, target: User, org_tree: dict[str, OrgUnit]
) -> None:
    accountant = make_user("kuaiji", name="会计")
    place(accountant, org_tree["finance"])
    url = reverse("roles:clearances")
    names = {u.username for u in secadmin_client.get(url, {"unit": org_tree["east"].pk}).context["page"]}
    assert names == {"zhangwei"}
    response = secadmin_client.post(
        reverse("roles:clearance_edit", args=[accountant.pk]), {"clearance": classification.COMMERCIAL_SECRET}
    )
    assert response.status_code == 302
    accountant.refresh_from_db()
    assert accountant.clearance == classification.COMMERCIAL_SECRET
    event = Event.objects.get(action="org.user.clearance_changed")
    assert (event.details["before"], event.details["after"]) == (
        classification.INTERNAL,
        classification.COMMERCIAL_SECRET,
    )
    filtered = secadmin_client.get(url, {"clearance": classification.COMMERCIAL_SECRET}).context["page"]
    assert [u.username for u in filtered] == ["kuaiji"]
    # Nobody raises their own clearance.
    own = secadmin_client.post(reverse("roles:clearance_edit", args=[secadmin_user.pk]), {"clearance": 3})
    assert "不能调整自己的密级" in own.content.decode()
    secadmin_user.refresh_from_db()
    assert secadmin_user.clearance == classification.DEFAULT_CLEARANCE
