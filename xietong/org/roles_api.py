"""REST API of security administration, under ``/api/v1/roles/``: roles, grants, clearances,
permission requests and the caller's own permissions.

The same services as the pages, so the same rules and the same Chinese refusals, in the one
error body of ``xietong.api``. Changes to roles, grants and clearances, and approvals, need a
password check from the last five minutes (403 ``reauth_required``, SES-07); the permission
is checked first, so that a caller without it learns nothing more than 403 ``forbidden``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from xietong.core import access, classification
from xietong.core.errors import DomainError, NotFoundError
from xietong.identity import reauth
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.org import requests as permission_requests
from xietong.org import roles_selectors as reads
from xietong.org import selectors, services
from xietong.org.models import OrgUnit, PermissionRequest, Position, Role, RoleGrant

router = Router(tags=["roles"])

MANAGE_ROLES = "identity.manage_roles"
MANAGE_CLEARANCES = "identity.manage_clearances"
LIST_LIMIT = 200

ScopeName = Literal["self", "department", "department_tree", "company", "group", "listed"]
DefaultScopeName = Literal["self", "department", "department_tree", "company", "group"]


# --------------------------------------------------------------------------- schemas


class PermissionOut(Schema):
    codename: str
    label: str
    module: str
    reserved_for: str | None = Field(None, description="仅限该类三员角色持有（system/security/audit）")
    admin: bool


class RoleOut(Schema):
    id: int
    code: str
    name: str
    description: str
    builtin: bool
    admin_tier: str
    is_default: bool
    default_scope: str
    default_module_scopes: dict[str, str]
    permissions: list[str]
    grant_count: int | None = Field(None, description="授权数（列表中提供）")


class RoleCreateIn(Schema):
    code: str = Field(..., min_length=1, max_length=64, pattern=r"^[-a-zA-Z0-9_]+$")
    name: str = Field(..., min_length=1, max_length=64)
    description: str = Field("", max_length=1000)
    permissions: list[str] = Field(default_factory=list)
    default_scope: DefaultScopeName = "department"
    default_module_scopes: dict[str, str] | None = None


class RoleUpdateIn(Schema):
    """Only the fields sent are changed."""

    name: str | None = Field(None, min_length=1, max_length=64)
    description: str | None = Field(None, max_length=1000)
    permissions: list[str] | None = None
    default_scope: DefaultScopeName | None = None
    default_module_scopes: dict[str, str] | None = None


class UnitOut(Schema):
    id: int
    code: str
    name: str


class HolderOut(Schema):
    id: int
    username: str
    name: str


class PositionOut(Schema):
    id: int
    name: str


class GrantOut(Schema):
    id: int
    role_id: int
    role_code: str
    role_name: str
    user: HolderOut | None
    position: PositionOut | None
    scope: str
    units: list[UnitOut]
    module_scopes: dict[str, str]
    reason: str
    granted_by: str | None = Field(None, description="授权人的用户名；系统初始化时为空")
    granted_at: dt.datetime
    expires_at: dt.datetime | None


class GrantIn(Schema):
    role_id: int
    user_id: int | None = Field(None, description="授予账号（与 position_id 二选一）")
    position_id: int | None = Field(None, description="授予岗位（与 user_id 二选一）")
    scope: ScopeName
    unit_ids: list[int] = Field(default_factory=list, description="数据范围为 listed 时的部门")
    module_scopes: dict[str, str] | None = None
    expires_at: dt.datetime | None = None
    reason: str = Field("", max_length=200)


class GrantQuery(Schema):
    user_id: int | None = None
    position_id: int | None = None
    role_id: int | None = None


class ClearanceUserOut(Schema):
    id: int
    username: str
    name: str
    employee_no: str | None
    unit: str | None = Field(None, description="主岗所在单位")
    clearance: int
    clearance_label: str


class ClearanceQuery(Schema):
    q: str | None = Field(None, max_length=64, description="姓名、用户名或工号")
    unit_id: int | None = Field(None, description="部门（含下级）")
    clearance: int | None = None
    limit: int = Field(50, ge=1, le=LIST_LIMIT)
    offset: int = Field(0, ge=0)


class ClearancePageOut(Schema):
    count: int
    items: list[ClearanceUserOut]


class ClearanceIn(Schema):
    clearance: int = Field(..., ge=0, description="密级序号：0 公开，1 内部……")


class RequestOut(Schema):
    id: int
    requester: HolderOut | None
    subject: HolderOut
    role_id: int | None
    role_name: str
    scope: str
    units: list[UnitOut]
    reason: str
    status: Literal["pending", "approved", "rejected", "cancelled"]
    decided_by: HolderOut | None
    decided_at: dt.datetime | None
    decision_note: str
    grant_id: int | None
    created_at: dt.datetime


class RequestIn(Schema):
    subject_id: int | None = Field(None, description="为谁申请；省略为本人")
    role_id: int
    scope: ScopeName
    unit_ids: list[int] = Field(default_factory=list)
    reason: str = Field("", max_length=permission_requests.REASON_MAX, description="必填：申请理由")


class RequestQuery(Schema):
    status: Literal["pending", "approved", "rejected", "cancelled", "all"] = "pending"
    limit: int = Field(50, ge=1, le=LIST_LIMIT)
    offset: int = Field(0, ge=0)


class RequestPageOut(Schema):
    count: int
    items: list[RequestOut]


class DecisionIn(Schema):
    note: str = Field("", max_length=permission_requests.NOTE_MAX)


class HeldRoleOut(Schema):
    role_id: int
    role_code: str
    role_name: str
    source: Literal["user", "position", "default"]
    position: PositionOut | None
    scope: str
    units: list[UnitOut]
    expires_at: dt.datetime | None


class MyPermissionsOut(Schema):
    user: HolderOut
    clearance: int
    clearance_label: str
    roles: list[HeldRoleOut]
    permissions: list[str] = Field(..., description="当前持有的功能权限代码")
    requests: list[RequestOut]
    can_request_for_others: bool = Field(..., description="是否为部门负责人，可为本部门人员申请")


# --------------------------------------------------------------------------- helpers


def _holder(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": user.name}


def _units(rows: Any) -> list[dict[str, Any]]:
    return [{"id": unit.pk, "code": unit.code, "name": unit.name} for unit in rows.all()]


def _role_out(role: Role) -> dict[str, Any]:
    return {
        "id": role.pk,
        "code": role.code,
        "name": role.name,
        "description": role.description,
        "builtin": role.builtin,
        "admin_tier": role.admin_tier,
        "is_default": role.is_default,
        "default_scope": role.default_scope,
        "default_module_scopes": role.default_module_scopes or {},
        "permissions": list(role.permissions),
        "grant_count": getattr(role, "grant_count", None),
    }


def _grant_out(grant: RoleGrant) -> dict[str, Any]:
    return {
        "id": grant.pk,
        "role_id": grant.role_id,
        "role_code": grant.role.code,
        "role_name": grant.role.name,
        "user": _holder(grant.user),
        "position": {"id": grant.position.pk, "name": grant.position.name} if grant.position else None,
        "scope": grant.scope,
        "units": _units(grant.units),
        "module_scopes": grant.module_scopes or {},
        "reason": grant.reason,
        "granted_by": grant.granted_by.username if grant.granted_by else None,
        "granted_at": grant.granted_at,
        "expires_at": grant.expires_at,
    }


def _request_out(row: PermissionRequest) -> dict[str, Any]:
    return {
        "id": row.pk,
        "requester": _holder(row.requester),
        "subject": _holder(row.subject),
        "role_id": row.role_id,
        "role_name": row.role_name,
        "scope": row.scope,
        "units": _units(row.units),
        "reason": row.reason,
        "status": row.status,
        "decided_by": _holder(row.decided_by),
        "decided_at": row.decided_at,
        "decision_note": row.decision_note,
        "grant_id": row.grant_id,
        "created_at": row.created_at,
    }


def _get(queryset: Any, pk: int) -> Any:
    """A row of a scoped queryset, or 404 alike for missing and forbidden (R-11)."""
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise NotFoundError(_("对象不存在或无权访问。"))
    return row


def _units_by_id(ids: list[int]) -> list[OrgUnit]:
    units = list(OrgUnit.objects.filter(pk__in=ids, is_active=True))
    if len(units) != len(set(ids)):
        raise DomainError(_("所选部门不存在或已停用。"))
    return units


def _no_content() -> Status[None]:
    return Status(204, None)


# --------------------------------------------------------------------------- roles


@router.get("/", response=list[RoleOut], summary="角色列表（安全管理员）")
def list_roles(request: AuthedRequest) -> list[dict[str, Any]]:
    access.require(request.user, MANAGE_ROLES)
    return [_role_out(role) for role in reads.roles_with_counts(actor=request.user)]


@router.post("/", response={201: RoleOut}, summary="新建角色（需在 5 分钟内验证过密码）")
def create_role(request: AuthedRequest, payload: RoleCreateIn) -> Status[dict[str, Any]]:
    access.require(request.user, MANAGE_ROLES)
    reauth.ensure_recent(request)
    role = services.role_create(
        actor=request.user,
        code=payload.code,
        name=payload.name,
        description=payload.description,
        permissions=payload.permissions,
        default_scope=payload.default_scope,
        default_module_scopes=payload.default_module_scopes,
    )
    return Status(201, _role_out(role))


@router.get("/permissions", response=list[PermissionOut], summary="可分配的功能权限目录")
def list_permissions(request: AuthedRequest) -> list[dict[str, Any]]:
    access.require(request.user, MANAGE_ROLES)
    return [
        {
            "codename": p.codename,
            "label": str(p.label),
            "module": p.module,
            "reserved_for": p.reserved_for,
            "admin": p.admin,
        }
        for p in access.all_permissions()
    ]


# Grants, clearances, requests and "me" come before "/{role_id}" only for readability: the
# int converter of role_id never matches their words.


@router.get("/grants", response=list[GrantOut], summary="授权列表（可按账号、岗位、角色筛选）")
def list_grants(request: AuthedRequest, query: Query[GrantQuery]) -> list[dict[str, Any]]:
    access.require(request.user, MANAGE_ROLES)
    grants = selectors.role_grants(actor=request.user)
    if query.user_id is not None:
        grants = grants.filter(user_id=query.user_id)
    if query.position_id is not None:
        grants = grants.filter(position_id=query.position_id)
    if query.role_id is not None:
        grants = grants.filter(role_id=query.role_id)
    return [_grant_out(grant) for grant in reads.grant_rows(grants)[:LIST_LIMIT]]


@router.post("/grants", response={201: GrantOut}, summary="授予角色（需在 5 分钟内验证过密码）")
def create_grant(request: AuthedRequest, payload: GrantIn) -> Status[dict[str, Any]]:
    access.require(request.user, MANAGE_ROLES)
    reauth.ensure_recent(request)
    role = _get(selectors.roles(actor=request.user), payload.role_id)
    user = _get(reads.role_accounts(actor=request.user), payload.user_id) if payload.user_id else None
    position = _get(Position.objects.all(), payload.position_id) if payload.position_id else None
    grant = services.role_grant(
        actor=request.user,
        role=role,
        user=user,
        position=position,
        scope=payload.scope,
        units=_units_by_id(payload.unit_ids),
        module_scopes=payload.module_scopes,
        expires_at=payload.expires_at,
        reason=payload.reason,
    )
    return Status(201, _grant_out(reads.grant_rows(RoleGrant.objects.filter(pk=grant.pk)).get()))


@router.delete("/grants/{grant_id}", response={204: None}, summary="撤销授权（需在 5 分钟内验证过密码）")
def delete_grant(request: AuthedRequest, grant_id: int) -> Status[None]:
    access.require(request.user, MANAGE_ROLES)
    reauth.ensure_recent(request)
    grant = _get(selectors.role_grants(actor=request.user), grant_id)
    services.role_revoke(actor=request.user, grant=grant)
    return _no_content()


@router.get("/clearances", response=ClearancePageOut, summary="人员密级列表")
def list_clearances(request: AuthedRequest, query: Query[ClearanceQuery]) -> dict[str, Any]:
    access.require(request.user, MANAGE_CLEARANCES)
    users = reads.search(reads.clearance_accounts(actor=request.user).filter(is_active=True), query.q or "")
    if query.unit_id is not None:
        users = reads.in_unit_tree(users, _get(OrgUnit.objects.all(), query.unit_id))
    if query.clearance is not None:
        users = users.filter(clearance=query.clearance)
    users = users.order_by("-clearance", "name", "username")
    items = [
        {
            "id": user.pk,
            "username": user.username,
            "name": user.name,
            "employee_no": user.employee_no,
            "unit": getattr(user, "primary_unit_name", None),
            "clearance": user.clearance,
            "clearance_label": classification.label(user.clearance),
        }
        for user in users[query.offset : query.offset + query.limit]
    ]
    return {"count": users.count(), "items": items}


@router.put(
    "/clearances/{user_id}", response=ClearanceUserOut, summary="调整人员密级（需在 5 分钟内验证过密码）"
)
def set_clearance(request: AuthedRequest, user_id: int, payload: ClearanceIn) -> dict[str, Any]:
    access.require(request.user, MANAGE_CLEARANCES)
    reauth.ensure_recent(request)
    person = _get(reads.clearance_accounts(actor=request.user), user_id)
    unit = getattr(person, "primary_unit_name", None)
    person = services.user_set_clearance(actor=request.user, user=person, clearance=payload.clearance)
    return {
        "id": person.pk,
        "username": person.username,
        "name": person.name,
        "employee_no": person.employee_no,
        "unit": unit,
        "clearance": person.clearance,
        "clearance_label": classification.label(person.clearance),
    }


@router.get("/requests", response=RequestPageOut, summary="待审批及历史权限申请（安全管理员）")
def list_requests(request: AuthedRequest, query: Query[RequestQuery]) -> dict[str, Any]:
    access.require(request.user, MANAGE_ROLES)
    rows = permission_requests.requests_for_review(
        actor=request.user, status=None if query.status == "all" else query.status
    )
    return {
        "count": rows.count(),
        "items": [_request_out(row) for row in rows[query.offset : query.offset + query.limit]],
    }


@router.post(
    "/requests", response={201: RequestOut}, summary="提交权限申请（本人，或部门负责人为本部门人员）"
)
def create_request(request: AuthedRequest, payload: RequestIn) -> Status[dict[str, Any]]:
    actor = request.user
    subject = actor
    if payload.subject_id is not None and payload.subject_id != actor.pk:
        # Anyone else must be a member of a department the actor heads: the service decides
        # and audits the refusal, so the account is looked up without a scope here.
        subject = _get(User.objects.filter(is_active=True), payload.subject_id)
    role = _get(permission_requests.requestable_roles(), payload.role_id)
    row = permission_requests.permission_request_create(
        actor=actor,
        subject=subject,
        role=role,
        scope=payload.scope,
        units=_units_by_id(payload.unit_ids),
        reason=payload.reason,
        request=request,
    )
    return Status(201, _request_out(permission_requests.requests_of(actor).get(pk=row.pk)))


@router.get("/requests/{request_id}", response=RequestOut, summary="一份权限申请（申请人、授权对象或审批人）")
def get_request(request: AuthedRequest, request_id: int) -> dict[str, Any]:
    return _request_out(permission_requests.request_visible_to(user=request.user, pk=request_id))


@router.post(
    "/requests/{request_id}/approve",
    response=RequestOut,
    summary="批准并授权（需在 5 分钟内验证过密码）；授权被拒绝时申请保持待审批",
)
def approve_request(request: AuthedRequest, request_id: int, payload: DecisionIn) -> dict[str, Any]:
    access.require(request.user, MANAGE_ROLES)
    reauth.ensure_recent(request)
    row = permission_requests.request_for_review(actor=request.user, pk=request_id)
    permission_requests.permission_request_approve(
        actor=request.user, permission_request=row, note=payload.note, request=request
    )
    return _request_out(permission_requests.request_for_review(actor=request.user, pk=request_id))


@router.post("/requests/{request_id}/reject", response=RequestOut, summary="驳回（须填写理由）")
def reject_request(request: AuthedRequest, request_id: int, payload: DecisionIn) -> dict[str, Any]:
    access.require(request.user, MANAGE_ROLES)
    row = permission_requests.request_for_review(actor=request.user, pk=request_id)
    permission_requests.permission_request_reject(
        actor=request.user, permission_request=row, note=payload.note, request=request
    )
    return _request_out(permission_requests.request_for_review(actor=request.user, pk=request_id))


@router.post("/requests/{request_id}/cancel", response=RequestOut, summary="撤回自己提交的申请")
def cancel_request(request: AuthedRequest, request_id: int) -> dict[str, Any]:
    row = _get(permission_requests.requests_of(request.user), request_id)
    permission_requests.permission_request_cancel(actor=request.user, permission_request=row, request=request)
    return _request_out(permission_requests.requests_of(request.user).get(pk=request_id))


@router.get("/me/permissions", response=MyPermissionsOut, summary="我的权限：角色、数据范围、密级与申请")
def my_permissions(request: AuthedRequest) -> dict[str, Any]:
    user = request.user
    roles = []
    for item in reads.held_roles(user):
        grant = item.grant
        roles.append(
            {
                "role_id": item.role.pk,
                "role_code": item.role.code,
                "role_name": item.role.name,
                "source": "default" if grant is None else ("position" if item.via_position else "user"),
                "position": {"id": item.via_position.pk, "name": item.via_position.name}
                if item.via_position
                else None,
                "scope": grant.scope if grant is not None else item.role.default_scope,
                "units": _units(grant.units) if grant is not None else [],
                "expires_at": grant.expires_at if grant is not None else None,
            }
        )
    return {
        "user": _holder(user),
        "clearance": user.clearance,
        "clearance_label": classification.label(user.clearance),
        "roles": roles,
        "permissions": sorted(access.grants_of(user).codenames),
        "requests": [_request_out(row) for row in permission_requests.requests_of(user)[:LIST_LIMIT]],
        "can_request_for_others": bool(permission_requests.department_rules(user)),
    }


# --------------------------------------------------------------------------- one role


@router.get("/{role_id}", response=RoleOut, summary="一个角色")
def get_role(request: AuthedRequest, role_id: int) -> dict[str, Any]:
    access.require(request.user, MANAGE_ROLES)
    return _role_out(_get(reads.roles_with_counts(actor=request.user), role_id))


@router.patch("/{role_id}", response=RoleOut, summary="修改角色（需在 5 分钟内验证过密码）")
def update_role(request: AuthedRequest, role_id: int, payload: RoleUpdateIn) -> dict[str, Any]:
    access.require(request.user, MANAGE_ROLES)
    reauth.ensure_recent(request)
    role = _get(selectors.roles(actor=request.user), role_id)
    services.role_update(
        actor=request.user,
        role=role,
        name=payload.name,
        description=payload.description,
        permissions=payload.permissions,
        default_scope=payload.default_scope,
        default_module_scopes=payload.default_module_scopes,
    )
    return _role_out(_get(reads.roles_with_counts(actor=request.user), role_id))


@router.delete("/{role_id}", response={204: None}, summary="删除角色（内置角色不可删除；需验证密码）")
def delete_role(request: AuthedRequest, role_id: int) -> Status[None]:
    access.require(request.user, MANAGE_ROLES)
    reauth.ensure_recent(request)
    services.role_delete(actor=request.user, role=_get(selectors.roles(actor=request.user), role_id))
    return _no_content()


@router.get("/{role_id}/grants", response=list[GrantOut], summary="持有该角色的人员与岗位")
def role_holders(request: AuthedRequest, role_id: int) -> list[dict[str, Any]]:
    access.require(request.user, MANAGE_ROLES)
    role = _get(selectors.roles(actor=request.user), role_id)
    return [_grant_out(grant) for grant in reads.grants_of_role(actor=request.user, role=role)[:LIST_LIMIT]]
