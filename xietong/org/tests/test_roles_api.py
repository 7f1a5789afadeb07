"""The REST API of security administration (/api/v1/roles/): the same rules as the pages, the
one error body, a fresh password check before changes, and who may call what (R-08, R-11)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from tests.fixtures import client_for, make_user, place
from xietong.audit.models import Event
from xietong.core import classification, clock
from xietong.identity.models import User
from xietong.org import builtin, services
from xietong.org import requests as permission_requests
from xietong.org.models import DataScope, OrgUnit, PermissionRequest, Position, Role, RoleGrant

pytestmark = pytest.mark.django_db

BASE = "/api/v1/roles"


def role(code: str) -> Role:
    return Role.objects.get(code=code)


def call(client: Client, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One API call; JSON in and out."""
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(client, method)(f"{BASE}{path}", **kwargs)


@pytest.fixture
def target(org_tree: dict[str, OrgUnit]) -> User:
    person = make_user("zhangwei", name="张伟", employee_no="1001")
    place(person, org_tree["production"])
    return person


@pytest.fixture
def custom_role() -> Role:
    return Role.objects.create(code="reporter", name="报表查看员", permissions=["org.view_directory"])


def snapshot() -> tuple[Any, ...]:
    return (
        sorted(Role.objects.values_list("code", "name", "permissions")),
        sorted(RoleGrant.objects.values_list("role_id", "user_id", "position_id", "scope")),
        sorted(User.objects.values_list("username", "clearance")),
        sorted(PermissionRequest.objects.values_list("pk", "status")),
    )


# --------------------------------------------------------------------------- roles


def test_roles_crud(secadmin_client: Client, secadmin_user: User) -> None:
    listed = call(secadmin_client, "get", "/")
    assert listed.status_code == 200
    by_code = {r["code"]: r for r in listed.json()}
    assert by_code[builtin.SECURITY_ADMIN]["builtin"] is True
    assert by_code[builtin.SECURITY_ADMIN]["grant_count"] == 1

    catalogue = {p["codename"]: p for p in call(secadmin_client, "get", "/permissions").json()}
    assert catalogue["identity.manage_roles"]["reserved_for"] == "security"

    created = call(
        secadmin_client,
        "post",
        "/",
        {
            "code": "filing_clerk",
            "name": "档案员",
            "permissions": ["org.view_directory"],
            "default_scope": "company",
        },
    )
    assert created.status_code == 201, created.content
    role_id = created.json()["id"]
    assert created.json()["default_scope"] == "company"

    updated = call(secadmin_client, "patch", f"/{role_id}", {"name": "档案整理员"})
    assert updated.status_code == 200
    assert (updated.json()["name"], updated.json()["permissions"]) == ("档案整理员", ["org.view_directory"])

    refused = call(secadmin_client, "patch", f"/{role_id}", {"permissions": ["audit.read"]})
    assert refused.status_code == 400
    assert refused.json() == {
        "error": {"code": "invalid", "message": "权限“查看审计日志”只能属于安全审计员角色（三员分立）。"}
    }

    builtin_delete = call(secadmin_client, "delete", f"/{role(builtin.EMPLOYEE).pk}")
    assert builtin_delete.status_code == 400
    assert builtin_delete.json()["error"]["message"] == "内置角色不能删除。"

    assert call(secadmin_client, "delete", f"/{role_id}").status_code == 204
    assert not Role.objects.filter(pk=role_id).exists()
    assert call(secadmin_client, "get", f"/{role_id}").status_code == 404
    assert Event.objects.filter(action="org.role.deleted", actor_id=secadmin_user.pk).count() == 1


# --------------------------------------------------------------------------- grants


def test_grants_create_list_and_delete(
    secadmin_client: Client, target: User, custom_role: Role, org_tree: dict[str, OrgUnit]
) -> None:
    expires = (clock.now() + dt.timedelta(days=30)).isoformat()
    created = call(
        secadmin_client,
        "post",
        "/grants",
        {
            "role_id": custom_role.pk,
            "user_id": target.pk,
            "scope": "listed",
            "unit_ids": [org_tree["office"].pk],
            "expires_at": expires,
            "reason": "年度报表",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["user"]["username"], body["scope"], [u["code"] for u in body["units"]]) == (
        "zhangwei",
        "listed",
        ["G-ZH"],
    )
    assert body["granted_by"] == "secadmin"

    position = Position.objects.create(name="部门经理", rank=6)
    by_position = call(
        secadmin_client,
        "post",
        "/grants",
        {"role_id": custom_role.pk, "position_id": position.pk, "scope": "department"},
    )
    assert by_position.status_code == 201
    triad = call(
        secadmin_client,
        "post",
        "/grants",
        {"role_id": role(builtin.AUDIT_ADMIN).pk, "position_id": position.pk, "scope": "group"},
    )
    assert triad.status_code == 400
    assert triad.json()["error"]["message"] == "三员角色只能授予具体账号，不能授予岗位。"

    holders = call(secadmin_client, "get", f"/{custom_role.pk}/grants").json()
    assert {(h["user"] or {}).get("username") or h["position"]["name"] for h in holders} == {
        "zhangwei",
        "部门经理",
    }
    of_user = call(secadmin_client, "get", f"/grants?user_id={target.pk}").json()
    assert [g["role_code"] for g in of_user] == ["reporter"]

    assert call(secadmin_client, "delete", f"/grants/{body['id']}").status_code == 204
    assert not RoleGrant.objects.filter(pk=body["id"]).exists()
    assert call(secadmin_client, "delete", f"/grants/{body['id']}").status_code == 404


def test_grant_to_an_unknown_or_out_of_scope_account_is_404(
    secadmin_client: Client, custom_role: Role
) -> None:
    response = call(
        secadmin_client, "post", "/grants", {"role_id": custom_role.pk, "user_id": 99999, "scope": "self"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_changes_need_a_recent_password_check(secadmin_user: User, target: User, custom_role: Role) -> None:
    client = client_for(secadmin_user)
    grant = services.role_grant(actor=secadmin_user, role=custom_role, user=target, scope=DataScope.SELF)
    before = snapshot()
    with clock.frozen_at(clock.now() + dt.timedelta(minutes=6)):
        for method, path, body in [
            ("post", "/", {"code": "x", "name": "新角色"}),
            ("patch", f"/{custom_role.pk}", {"name": "改名"}),
            ("delete", f"/{custom_role.pk}", None),
            ("post", "/grants", {"role_id": custom_role.pk, "user_id": target.pk, "scope": "self"}),
            ("delete", f"/grants/{grant.pk}", None),
            ("put", f"/clearances/{target.pk}", {"clearance": 2}),
        ]:
            response = call(client, method, path, body)
            assert response.status_code == 403, (method, path)
            assert response.json()["error"]["code"] == "reauth_required", (method, path)
        # Reading needs no fresh check.
        assert call(client, "get", "/grants").status_code == 200
    assert snapshot() == before


# --------------------------------------------------------------------------- clearances


def test_clearance_list_and_set(
    secadmin_client: Client, target: User, secadmin_user: User, org_tree: dict[str, OrgUnit]
) -> None:
    page = call(secadmin_client, "get", f"/clearances?unit_id={org_tree['production'].pk}").json()
    assert [u["username"] for u in page["items"]] == ["zhangwei"]
    assert page["items"][0]["unit"] == "生产技术部"
    changed = call(
        secadmin_client, "put", f"/clearances/{target.pk}", {"clearance": classification.COMMERCIAL_SECRET}
    )
    assert changed.status_code == 200
    assert changed.json()["clearance_label"] == "普通商密"
    target.refresh_from_db()
    assert target.clearance == classification.COMMERCIAL_SECRET
    invalid = call(secadmin_client, "put", f"/clearances/{target.pk}", {"clearance": 9})
    assert (invalid.status_code, invalid.json()["error"]["message"]) == (400, "密级无效。")
    own = call(secadmin_client, "put", f"/clearances/{secadmin_user.pk}", {"clearance": 3})
    assert own.status_code == 403
    assert own.json()["error"]["message"] == "不能调整自己的密级。"
    filtered = call(
        secadmin_client, "get", f"/clearances?clearance={classification.COMMERCIAL_SECRET}"
    ).json()
    assert (filtered["count"], filtered["items"][0]["username"]) == (1, "zhangwei")


# --------------------------------------------------------------------------- requests


def test_request_lifecycle(
    secadmin_client: Client, secadmin_user: User, target: User, custom_role: Role
) -> None:
    client = client_for(target)
    created = call(
        client, "post", "/requests", {"role_id": custom_role.pk, "scope": "self", "reason": "统计报表"}
    )
    assert created.status_code == 201, created.content
    request_id = created.json()["id"]
    assert created.json()["status"] == "pending"

    pending = call(secadmin_client, "get", "/requests").json()
    assert [r["id"] for r in pending["items"]] == [request_id]
    assert call(client, "get", f"/requests/{request_id}").status_code == 200
    assert call(client, "get", "/requests").status_code == 403  # the review list is the manager's
    assert call(client, "post", f"/requests/{request_id}/approve", {}).status_code == 403

    approved = call(secadmin_client, "post", f"/requests/{request_id}/approve", {"note": "同意"})
    assert approved.status_code == 200, approved.content
    assert (approved.json()["status"], approved.json()["decision_note"]) == ("approved", "同意")
    assert RoleGrant.objects.filter(user=target, role=custom_role, pk=approved.json()["grant_id"]).exists()

    mine = call(client, "get", "/me/permissions").json()
    assert {r["role_code"] for r in mine["roles"]} == {"reporter", builtin.EMPLOYEE}
    assert mine["requests"][0]["status"] == "approved"
    assert (mine["clearance_label"], mine["can_request_for_others"]) == ("内部", False)

    second = call(
        client,
        "post",
        "/requests",
        {"role_id": role(builtin.DEPARTMENT_ADMIN).pk, "scope": "self", "reason": "维护"},
    )
    second_id = second.json()["id"]
    no_note = call(secadmin_client, "post", f"/requests/{second_id}/reject", {"note": ""})
    assert (no_note.status_code, no_note.json()["error"]["message"]) == (400, "请填写驳回理由。")
    rejected = call(secadmin_client, "post", f"/requests/{second_id}/reject", {"note": "由部门统一申请"})
    assert rejected.json()["status"] == "rejected"

    third = call(
        client,
        "post",
        "/requests",
        {"role_id": role(builtin.DEPARTMENT_ADMIN).pk, "scope": "self", "reason": "再次申请"},
    )
    assert call(secadmin_client, "post", f"/requests/{third.json()['id']}/cancel").status_code == 404
    cancelled = call(client, "post", f"/requests/{third.json()['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert Event.objects.filter(action__startswith="org.permission_request.").count() == 6


def test_requests_refused_in_chinese(target: User, custom_role: Role, org_tree: dict[str, OrgUnit]) -> None:
    client = client_for(target)
    outsider = make_user("kuaiji", name="会计")
    place(outsider, org_tree["finance"])
    for body, status, message in [
        ({"role_id": custom_role.pk, "scope": "self", "reason": ""}, 400, "请填写申请理由。"),
        (
            {"role_id": custom_role.pk, "scope": "self", "reason": "x", "subject_id": outsider.pk},
            403,
            "只能为本部门的人员申请权限。",
        ),
        (
            {"role_id": role(builtin.AUDIT_ADMIN).pk, "scope": "self", "reason": "x"},
            404,
            "对象不存在或无权访问。",
        ),
        (
            {"role_id": custom_role.pk, "scope": "everywhere", "reason": "x"},
            422,
            "提交的数据有误，请检查后重试。",
        ),
    ]:
        response = call(client, "post", "/requests", body)
        assert response.status_code == status, body
        assert response.json()["error"]["message"] == message, body
    assert not PermissionRequest.objects.exists()


def test_a_refused_approval_keeps_the_request_pending(secadmin_client: Client, sysadmin_user: User) -> None:
    row = permission_requests.permission_request_create(
        actor=sysadmin_user,
        subject=sysadmin_user,
        role=role(builtin.DEPARTMENT_ADMIN),
        scope=DataScope.GROUP,
        reason="兼管账号",
    )
    response = call(secadmin_client, "post", f"/requests/{row.pk}/approve", {})
    assert response.status_code == 400
    assert "一种管理员" in response.json()["error"]["message"]
    row.refresh_from_db()
    assert row.status == PermissionRequest.Status.PENDING


# --------------------------------------------------------------------------- matrix


def test_r08_each_tier_sees_only_its_own_admin_functions(
    user: User,
    sysadmin_user: User,
    secadmin_user: User,
    auditadmin_user: User,
    deptadmin_user: User,
    target: User,
    custom_role: Role,
) -> None:
    """Every endpoint × every tier: the 安全管理员 may, nobody else may (401 anonymous, 403
    signed in), and a refused call changes nothing. Everyone may read and file their own."""
    grant = services.role_grant(actor=secadmin_user, role=custom_role, user=target, scope=DataScope.SELF)
    row = permission_requests.permission_request_create(
        actor=target, subject=target, role=role(builtin.DEPARTMENT_ADMIN), scope=DataScope.SELF, reason="维护"
    )
    admin_only: list[tuple[str, str, dict[str, Any] | None]] = [
        ("get", "/", None),
        ("get", "/permissions", None),
        ("get", f"/{custom_role.pk}", None),
        ("get", f"/{custom_role.pk}/grants", None),
        ("get", "/grants", None),
        ("get", "/clearances", None),
        ("get", "/requests", None),
        ("get", f"/requests/{row.pk}", None),
        ("post", "/", {"code": "x", "name": "新角色"}),
        ("patch", f"/{custom_role.pk}", {"name": "改名"}),
        ("delete", f"/{custom_role.pk}", None),
        ("post", "/grants", {"role_id": custom_role.pk, "user_id": target.pk, "scope": "group"}),
        ("delete", f"/grants/{grant.pk}", None),
        ("put", f"/clearances/{target.pk}", {"clearance": 3}),
        ("post", f"/requests/{row.pk}/approve", {}),
        ("post", f"/requests/{row.pk}/reject", {"note": "不同意"}),
    ]
    others = {
        "employee": user,
        "sysadmin": sysadmin_user,
        "auditadmin": auditadmin_user,
        "deptadmin": deptadmin_user,
    }
    before = snapshot()
    for who, actor in [("anonymous", None), *others.items()]:
        client = client_for(actor) if actor is not None else Client()
        for method, path, body in admin_only:
            response = call(client, method, path, body)
            expected = 401 if actor is None else (404 if path == f"/requests/{row.pk}" else 403)
            assert response.status_code == expected, (who, method, path, response.content)
            assert set(response.json()["error"]) >= {"code", "message"}
        assert snapshot() == before, who
        if actor is not None:
            assert call(client, "get", "/me/permissions").status_code == 200
    # The 安全管理员 gets through on each read.
    for method, path, _body in admin_only[:8]:
        assert call(client_for(secadmin_user), method, path).status_code == 200, path
