"""Roles, grants and 三员分立: the built-in roles, the role services, the rules that keep the
administrator tiers apart, and who may do which administration action."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tests.fixtures import client_for, make_user, place
from xietong.audit.models import Event
from xietong.core import access, classification, clock, navigation
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.identity.models import User
from xietong.org import builtin, selectors, services
from xietong.org.models import DataScope, Membership, OrgUnit, Position, Role, RoleGrant

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
TRIAD_ROLES = (builtin.SYSTEM_ADMIN, builtin.SECURITY_ADMIN, builtin.AUDIT_ADMIN)


def role(code: str) -> Role:
    return Role.objects.get(code=code)


def admin_modules(user: User) -> set[str]:
    return {module.slug for _title, modules in navigation.modules_for(user) for module in modules} & {
        "org",
        "identity",
        "audit",
        "moderation",
        "ops",
    }


@pytest.fixture
def employee(org_tree: dict[str, OrgUnit]) -> User:
    """An ordinary employee of 生产技术部."""
    person = make_user("zhangwei", name="张伟", employee_no="1001")
    place(person, org_tree["production"])
    return person


@pytest.fixture
def outsider(org_tree: dict[str, OrgUnit]) -> User:
    """An employee of 财务部, outside the department administrator's subtree."""
    person = make_user("kuaiji", name="会计")
    place(person, org_tree["finance"])
    return person


# --------------------------------------------------------------------------- built-in roles


def test_the_migration_created_the_builtin_roles() -> None:
    for spec in builtin.BUILTIN_ROLES:
        row = role(spec.code)
        assert (row.name, row.admin_tier, sorted(row.permissions), row.is_default, row.builtin) == (
            spec.name,
            spec.admin_tier,
            sorted(spec.permissions),
            spec.is_default,
            True,
        )
    assert set(Role.objects.values_list("name", flat=True)) >= {
        "系统管理员",
        "安全管理员",
        "审计管理员",
        "部门管理员",
        "普通用户",
    }


def test_r08_each_tier_sees_only_its_own_admin_functions(
    user: User, sysadmin_user: User, secadmin_user: User, auditadmin_user: User, deptadmin_user: User
) -> None:
    assert admin_modules(user) == set()
    assert admin_modules(sysadmin_user) == {"org", "ops"}
    # 内容审核 (the lexicon, the review queue, violations) is a security duty.
    assert admin_modules(secadmin_user) == {"identity", "moderation"}
    # 账号与安全 holds the login log, which is the audit administrator's to read.
    assert admin_modules(auditadmin_user) == {"audit", "identity"}
    assert admin_modules(deptadmin_user) == {"org"}
    assert "系统管理" not in client_for(user).get("/").content.decode()
    assert "系统管理" in client_for(auditadmin_user).get("/").content.decode()


def test_r12_fresh_account_holds_only_baseline(employee: User) -> None:
    baseline = set(role(builtin.EMPLOYEE).permissions)
    # The directory, reading the portal and one's own notices, notifying named colleagues:
    # no administration and nothing beyond what every colleague may do.
    assert access.grants_of(employee).codenames == baseline
    assert baseline == {
        "org.view_directory",
        "portal.read",
        "notices.read",
        "notices.publish",
        "workflow.use",
        "documents.use",
    }
    assert not access.is_administrator(employee)
    assert employee.clearance == classification.INTERNAL


def test_r09_changing_post_changes_permissions(
    employee: User, secadmin_user: User, org_tree: dict[str, OrgUnit]
) -> None:
    manager = Position.objects.create(name="部门经理", rank=6)
    clerk = Position.objects.create(name="专员", rank=2)
    services.role_grant(
        actor=secadmin_user,
        role=role(builtin.DEPARTMENT_ADMIN),
        position=manager,
        scope=DataScope.DEPARTMENT_TREE,
    )
    post = Membership.objects.get(user=employee)
    post.position = manager
    post.save()
    assert access.can(User.objects.get(pk=employee.pk), "org.manage_users")
    post.position = clerk
    post.save()
    assert not access.can(User.objects.get(pk=employee.pk), "org.manage_users")


def test_r10_dept_a_user_cannot_see_dept_b_records(
    employee: User, outsider: User, secadmin_user: User, org_tree: dict[str, OrgUnit]
) -> None:
    directory_role = services.role_create(
        actor=secadmin_user, code="dept_directory", name="本部门通讯录", permissions=["org.view_directory"]
    )
    Role.objects.filter(code=builtin.EMPLOYEE).update(default_scope=DataScope.SELF)  # narrow the baseline
    services.role_grant(actor=secadmin_user, role=directory_role, user=employee, scope=DataScope.DEPARTMENT)
    seen = set(
        selectors.directory(viewer=User.objects.get(pk=employee.pk)).values_list("user__username", flat=True)
    )
    assert seen == {"zhangwei"}
    assert "kuaiji" not in seen
    colleague = make_user("tongshi", name="同事")
    place(colleague, org_tree["production"])
    again = selectors.directory(viewer=User.objects.get(pk=employee.pk))
    assert set(again.values_list("user__username", flat=True)) == {"zhangwei", "tongshi"}


def test_r16_dept_admin_cannot_edit_other_department_user(
    deptadmin_user: User, employee: User, outsider: User, org_tree: dict[str, OrgUnit]
) -> None:
    repairman = make_user("jianxiu", name="检修工")
    place(repairman, org_tree["repair"])
    manageable = set(selectors.manageable_users(actor=deptadmin_user).values_list("username", flat=True))
    assert manageable == {"deptadmin", "zhangwei", "jianxiu"}
    assert selectors.manageable_user_get(actor=deptadmin_user, user_id=repairman.pk) == repairman
    with pytest.raises(NotFoundError):
        selectors.manageable_user_get(actor=deptadmin_user, user_id=outsider.pk)
    with pytest.raises(NotFoundError):
        selectors.manageable_user_get(actor=deptadmin_user, user_id=987_654)


def test_r16_a_concurrent_post_does_not_make_an_account_manageable(
    deptadmin_user: User, outsider: User, org_tree: dict[str, OrgUnit]
) -> None:
    place(outsider, org_tree["production"], primary=False)  # 兼职 in the admin's department
    with pytest.raises(NotFoundError):
        selectors.manageable_user_get(actor=deptadmin_user, user_id=outsider.pk)


def test_system_admin_manages_every_account(sysadmin_user: User, employee: User, outsider: User) -> None:
    assert selectors.manageable_users(actor=sysadmin_user).count() == User.objects.count()


# --------------------------------------------------------------------------- R-17 delegation


@pytest.fixture
def viewer_role(secadmin_user: User) -> Role:
    return services.role_create(
        actor=secadmin_user, code="manage_accounts", name="账号维护", permissions=["org.manage_users"]
    )


def test_r17_delegating_a_permission_one_lacks_is_refused(
    deptadmin_user: User, employee: User, secadmin_user: User
) -> None:
    audit_reader = services.role_create(
        actor=secadmin_user,
        code="dept_units",
        name="组织查看",
        permissions=["org.view_directory", "org.delegate_roles"],
    )
    services.role_update(actor=secadmin_user, role=audit_reader, permissions=["org.view_directory"])
    lacking = services.role_create(
        actor=secadmin_user, code="moderators", name="审核员", permissions=["moderation.manage"]
    )
    with pytest.raises(PermissionDeniedError, match="自己没有的权限"):
        services.role_grant(actor=deptadmin_user, role=lacking, user=employee, scope=DataScope.DEPARTMENT)
    assert not RoleGrant.objects.filter(user=employee).exists()
    denied = Event.objects.get(action="org.role.granted", result="denied")
    assert denied.actor_id == deptadmin_user.pk


def test_r17_delegation_inside_the_own_subtree_is_allowed_and_audited(
    deptadmin_user: User, employee: User, viewer_role: Role
) -> None:
    grant = services.role_grant(
        actor=deptadmin_user, role=viewer_role, user=employee, scope=DataScope.DEPARTMENT
    )
    assert access.can(employee, "org.manage_users")
    event = Event.objects.get(action="org.role.granted", result="success", target_id=str(employee.pk))
    assert event.details["role"] == "manage_accounts"
    assert event.actor_id == deptadmin_user.pk
    services.role_revoke(actor=deptadmin_user, grant=grant)
    assert not access.can(User.objects.get(pk=employee.pk), "org.manage_users")
    assert Event.objects.filter(action="org.role.revoked", result="success").count() == 1


def test_r17_delegation_beyond_the_own_scope_is_refused(
    deptadmin_user: User, employee: User, outsider: User, viewer_role: Role, org_tree: dict[str, OrgUnit]
) -> None:
    attempts: list[dict[str, Any]] = [
        {"user": outsider, "scope": DataScope.DEPARTMENT},  # another department's employee
        {"user": employee, "scope": DataScope.COMPANY},  # wider than the department
        {"user": employee, "scope": DataScope.LISTED, "units": [org_tree["finance"]]},
        {"user": employee, "scope": DataScope.DEPARTMENT, "module_scopes": {"org": "group"}},
    ]
    for kwargs in attempts:
        with pytest.raises(PermissionDeniedError):
            services.role_grant(actor=deptadmin_user, role=viewer_role, **kwargs)
    with pytest.raises(PermissionDeniedError, match="管理员角色"):
        services.role_grant(
            actor=deptadmin_user,
            role=role(builtin.DEPARTMENT_ADMIN),
            user=employee,
            scope=DataScope.DEPARTMENT,
        )
    assert not RoleGrant.objects.filter(user__in=[employee, outsider]).exists()


# --------------------------------------------------------------------------- AC-05 三员分立


def test_ac05_builtin_triad_permission_sets_are_disjoint() -> None:
    sets = {code: set(role(code).permissions) for code in TRIAD_ROLES}
    for first in TRIAD_ROLES:
        for second in TRIAD_ROLES:
            if first != second:
                assert sets[first].isdisjoint(sets[second]), (first, second)


def test_ac05_admin_roles_hold_no_business_permission() -> None:
    for spec in builtin.BUILTIN_ROLES:
        if spec.admin_tier != Role.AdminTier.NONE:
            assert not [c for c in spec.permissions if access.is_business(c)], spec.code


def test_ac05_no_permission_alters_the_audit_trail() -> None:
    audit_codenames = {p.codename for p in access.all_permissions("audit")}
    assert audit_codenames == {"audit.read", "audit.export"}
    every = {p.codename for p in access.all_permissions()}
    assert not [
        c
        for c in every
        if c.startswith("audit.") and any(w in c for w in ("delete", "edit", "purge", "change"))
    ]


def test_ac05_role_edit_refuses_to_make_the_tiers_overlap(secadmin_user: User) -> None:
    with pytest.raises(DomainError, match=r"重叠|只能属于"):
        services.role_update(
            actor=secadmin_user, role=role(builtin.AUDIT_ADMIN), permissions=["audit.read", "ops.view_status"]
        )
    with pytest.raises(DomainError, match="重叠"):
        services.role_update(
            actor=secadmin_user,
            role=role(builtin.SECURITY_ADMIN),
            permissions=["identity.manage_roles", "org.manage_users"],
        )
    assert sorted(role(builtin.AUDIT_ADMIN).permissions) == [
        "audit.export",
        "audit.read",
        "identity.read_login_log",
    ]


def test_ac05_reserved_and_business_permissions_stay_out_of_other_roles(secadmin_user: User) -> None:
    with pytest.raises(DomainError, match="只能属于"):
        services.role_create(actor=secadmin_user, code="peek", name="偷看", permissions=["audit.read"])
    with pytest.raises(DomainError, match="业务权限"):
        services.role_create(
            actor=secadmin_user,
            code="sys2",
            name="系统管理员二",
            permissions=["testdocs.view"],
            admin_tier=Role.AdminTier.SYSTEM,
        )
    with pytest.raises(DomainError, match="不存在"):
        services.role_create(actor=secadmin_user, code="typo", name="错字", permissions=["audit.raed"])
    assert not Role.objects.filter(code__in=["peek", "sys2", "typo"]).exists()


def test_ac05_no_account_holds_two_admin_tiers(
    secadmin_user: User, sysadmin_user: User, employee: User
) -> None:
    with pytest.raises(DomainError, match="一种管理员"):
        services.role_grant(
            actor=secadmin_user, role=role(builtin.AUDIT_ADMIN), user=sysadmin_user, scope=DataScope.GROUP
        )
    services.role_grant(
        actor=secadmin_user, role=role(builtin.DEPARTMENT_ADMIN), user=employee, scope=DataScope.DEPARTMENT
    )
    with pytest.raises(DomainError, match="一种管理员"):
        services.role_grant(
            actor=secadmin_user, role=role(builtin.SYSTEM_ADMIN), user=employee, scope=DataScope.GROUP
        )


def test_ac05_triad_roles_go_to_named_accounts_only(secadmin_user: User) -> None:
    position = Position.objects.create(name="信息中心主任", rank=6)
    with pytest.raises(DomainError, match="具体账号"):
        services.role_grant(
            actor=secadmin_user, role=role(builtin.SYSTEM_ADMIN), position=position, scope=DataScope.GROUP
        )


def test_ac05_nobody_changes_their_own_roles(secadmin_user: User, sysadmin_user: User) -> None:
    with pytest.raises(PermissionDeniedError, match="自己"):
        services.role_grant(
            actor=secadmin_user, role=role(builtin.AUDIT_ADMIN), user=secadmin_user, scope=DataScope.GROUP
        )
    own = RoleGrant.objects.get(user=secadmin_user)
    with pytest.raises(PermissionDeniedError, match="自己"):
        services.role_revoke(actor=secadmin_user, grant=own)
    with pytest.raises(PermissionDeniedError, match="自己"):
        services.user_set_clearance(actor=secadmin_user, user=secadmin_user, clearance=3)
    assert RoleGrant.objects.filter(pk=own.pk).exists()


def test_ac05_conflicting_rows_fail_closed(sysadmin_user: User) -> None:
    # Two tiers that reached the database behind the services' back: neither applies.
    RoleGrant.objects.create(role=role(builtin.AUDIT_ADMIN), user=sysadmin_user, scope=DataScope.GROUP)
    fresh = User.objects.get(pk=sysadmin_user.pk)
    assert not access.can(fresh, "ops.broadcast")
    assert not access.can(fresh, "audit.read")
    assert access.can(fresh, "org.view_directory")


def test_ac05_triad_accounts_never_hold_business_permissions(auditadmin_user: User, user: User) -> None:
    # Even when the baseline every account holds would offer one.
    Role.objects.filter(code=builtin.EMPLOYEE).update(permissions=["org.view_directory", "testdocs.view"])
    assert access.can(User.objects.get(pk=user.pk), "testdocs.view")
    auditor = User.objects.get(pk=auditadmin_user.pk)
    assert not access.can(auditor, "testdocs.view")
    assert access.can(auditor, "org.view_directory")


# --------------------------------------------------------------------------- services


def test_ac07_a_grant_expires_with_the_clock(secadmin_user: User, employee: User) -> None:
    with clock.frozen_at(NOW):
        services.role_grant(
            actor=secadmin_user,
            role=role(builtin.DEPARTMENT_ADMIN),
            user=employee,
            scope=DataScope.DEPARTMENT,
            expires_at=NOW + dt.timedelta(days=30),
        )
        assert access.can(employee, "org.manage_users")
    with clock.frozen_at(NOW + dt.timedelta(days=30, seconds=1)):
        assert not access.can(employee, "org.manage_users")
        with pytest.raises(DomainError, match="到期时间"):
            services.role_grant(
                actor=secadmin_user,
                role=role(builtin.SYSTEM_ADMIN),
                user=make_user("later"),
                scope=DataScope.GROUP,
                expires_at=NOW,
            )


def test_role_services_are_audited_with_the_change(secadmin_user: User) -> None:
    custom = services.role_create(
        actor=secadmin_user,
        code="clerks",
        name="文书",
        permissions=["org.view_directory"],
        description="收发文书",
    )
    services.role_update(
        actor=secadmin_user, role=custom, permissions=["org.view_directory", "moderation.manage"]
    )
    updated = Event.objects.get(action="org.role.updated")
    assert updated.details["added"] == ["moderation.manage"]
    assert updated.details["before"]["permissions"] == ["org.view_directory"]
    services.role_delete(actor=secadmin_user, role=custom)
    assert not Role.objects.filter(code="clerks").exists()
    changes = Event.objects.filter(action__in=["org.role.created", "org.role.updated", "org.role.deleted"])
    assert list(changes.values_list("action", flat=True).order_by("id")) == [
        "org.role.created",
        "org.role.updated",
        "org.role.deleted",
    ]


def test_builtin_and_held_roles_cannot_be_deleted(secadmin_user: User, employee: User) -> None:
    with pytest.raises(DomainError, match="内置"):
        services.role_delete(actor=secadmin_user, role=role(builtin.SYSTEM_ADMIN))
    custom = services.role_create(actor=secadmin_user, code="x", name="某角色", permissions=[])
    services.role_grant(actor=secadmin_user, role=custom, user=employee, scope=DataScope.SELF)
    with pytest.raises(DomainError, match="撤销"):
        services.role_delete(actor=secadmin_user, role=custom)


def test_grant_input_is_checked(secadmin_user: User, employee: User, org_tree: dict[str, OrgUnit]) -> None:
    admin_role = role(builtin.DEPARTMENT_ADMIN)
    position = Position.objects.create(name="主管", rank=4)
    for kwargs, message in (
        ({"scope": DataScope.DEPARTMENT}, "二选一"),
        ({"user": employee, "position": position, "scope": DataScope.DEPARTMENT}, "二选一"),
        ({"user": employee, "scope": "everywhere"}, "数据范围无效"),
        ({"user": employee, "scope": DataScope.LISTED}, "至少选择一个部门"),
        ({"user": employee, "scope": DataScope.DEPARTMENT, "units": [org_tree["finance"]]}, "指定部门"),
        ({"user": employee, "scope": DataScope.DEPARTMENT, "module_scopes": {"nosuch": "group"}}, "不存在"),
    ):
        with pytest.raises(DomainError, match=message):
            services.role_grant(actor=secadmin_user, role=admin_role, **kwargs)
    services.role_grant(actor=secadmin_user, role=admin_role, user=employee, scope=DataScope.DEPARTMENT)
    with pytest.raises(DomainError, match="已授予"):
        services.role_grant(
            actor=secadmin_user, role=admin_role, user=employee, scope=DataScope.DEPARTMENT_TREE
        )


def test_clearance_is_set_by_the_security_admin_only(
    secadmin_user: User, sysadmin_user: User, employee: User
) -> None:
    with pytest.raises(PermissionDeniedError):
        services.user_set_clearance(actor=sysadmin_user, user=employee, clearance=3)
    services.user_set_clearance(
        actor=secadmin_user, user=employee, clearance=classification.COMMERCIAL_SECRET
    )
    employee.refresh_from_db()
    assert employee.clearance == classification.COMMERCIAL_SECRET
    changed = Event.objects.get(action="org.user.clearance_changed", result="success")
    assert (changed.details["before_label"], changed.details["after_label"]) == ("内部", "普通商密")
    assert Event.objects.filter(action="org.user.clearance_changed", result="denied").count() == 1
    with pytest.raises(DomainError, match="密级无效"):
        services.user_set_clearance(actor=secadmin_user, user=employee, clearance=7)


def test_assign_role_command_bootstraps_the_administrators(employee: User) -> None:
    call_command("assign_role", "zhangwei", builtin.SECURITY_ADMIN)
    assert access.can(User.objects.get(pk=employee.pk), "identity.manage_roles")
    event = Event.objects.get(action="org.role.granted")
    assert event.actor_id is None
    with pytest.raises(CommandError, match="一种管理员"):
        call_command("assign_role", "zhangwei", builtin.AUDIT_ADMIN)
    with pytest.raises(CommandError, match="不存在"):
        call_command("assign_role", "nobody", builtin.AUDIT_ADMIN)


def test_role_lists_are_for_role_managers(secadmin_user: User, sysadmin_user: User) -> None:
    assert selectors.roles(actor=secadmin_user).count() == Role.objects.count()
    assert not selectors.roles(actor=sysadmin_user).exists()
    assert selectors.role_grants(actor=secadmin_user).count() == 2
    assert not selectors.role_grants(actor=sysadmin_user).exists()


# --------------------------------------------------------------------------- the matrix


ACTORS = ["anonymous", "employee", "sysadmin", "secadmin", "auditadmin", "deptadmin"]


@pytest.fixture
def actors(
    user: User, sysadmin_user: User, secadmin_user: User, auditadmin_user: User, deptadmin_user: User
) -> dict[str, User | None]:
    return {
        "anonymous": None,
        "employee": user,
        "sysadmin": sysadmin_user,
        "secadmin": secadmin_user,
        "auditadmin": auditadmin_user,
        "deptadmin": deptadmin_user,
    }


def signed_in(actor: User | None) -> Client:
    return client_for(actor) if actor is not None else Client()


@pytest.mark.parametrize("who", ACTORS)
def test_matrix_ops_status_page(actors: dict[str, User | None], who: str) -> None:
    response = signed_in(actors[who]).get(reverse("ops:status"))
    expected = {"anonymous": 302, "sysadmin": 200}.get(who, 403)
    assert response.status_code == expected
    if expected != 200:
        assert "channel_layer" not in response.content.decode()


@pytest.mark.parametrize("who", ACTORS)
def test_matrix_broadcast_api(
    actors: dict[str, User | None], who: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[Any] = []
    monkeypatch.setattr("xietong.core.events.push_to_everyone", lambda *args: sent.append(args))
    response = signed_in(actors[who]).post(
        "/api/v1/ops/broadcast", {"message": "今晚 22:00 系统维护"}, content_type="application/json"
    )
    expected = {"anonymous": 401, "sysadmin": 200}.get(who, 403)
    assert response.status_code == expected
    assert len(sent) == (1 if expected == 200 else 0)


@pytest.mark.parametrize("who", ACTORS[1:])
def test_matrix_role_grant_service(
    actors: dict[str, User | None], who: str, org_tree: dict[str, OrgUnit]
) -> None:
    target = make_user("xinren", name="新人")
    place(target, org_tree["production"])  # inside the department administrator's subtree
    actor = actors[who]
    assert actor is not None
    if who == "secadmin":
        services.role_grant(actor=actor, role=role(builtin.SYSTEM_ADMIN), user=target, scope=DataScope.GROUP)
        assert access.can(target, "ops.broadcast")
        return
    with pytest.raises(PermissionDeniedError):
        services.role_grant(actor=actor, role=role(builtin.SYSTEM_ADMIN), user=target, scope=DataScope.GROUP)
    assert not RoleGrant.objects.filter(user=target).exists()
    assert Event.objects.filter(action="org.role.granted", result="denied", actor_id=actor.pk).exists()


def test_view_decorators_ask_the_roles(
    rf: Any, user: User, sysadmin_user: User, auditadmin_user: User
) -> None:
    from django.core.exceptions import PermissionDenied
    from django.http import HttpRequest, HttpResponse

    from xietong.core.permissions import admin_required, permission_required

    def page(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    def call(view: Any, who: User) -> int:
        request = rf.get("/")
        request.user = who
        try:
            return int(view(request).status_code)
        except PermissionDenied:
            return 403

    audit_page = permission_required("audit.read")(page)
    assert [call(audit_page, who) for who in (user, sysadmin_user, auditadmin_user)] == [403, 403, 200]
    any_admin = admin_required(page)
    assert [call(any_admin, who) for who in (user, sysadmin_user, auditadmin_user)] == [403, 200, 200]
    with pytest.raises(access.UnknownPermissionError):
        permission_required("audit.raed")
