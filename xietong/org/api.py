"""The organisation API under ``/api/v1/org/``: the tree, units and their members, the
directory and profile cards for everyone with ``org.view_directory``; account
administration and Excel import for administrators.

Each route parses, calls one selector or service, and shapes the answer. A row outside the
caller's scope answers 404 like a missing one (``access.get_visible``); an operation the
caller may not perform at all answers 403 (``PermissionDeniedError``).
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from xietong.core import access
from xietong.core.errors import DomainError
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.org import exchange, guards, selectors, user_services
from xietong.org.models import Membership, OrgUnit, PersonnelChange, Position
from xietong.org.schemas import (
    AccountCreatedOut,
    AccountCreateIn,
    AccountOut,
    AccountPageOut,
    AccountUpdateIn,
    ChangeOut,
    DepartIn,
    DepartureOut,
    ImportReportOut,
    MemberPageOut,
    PersonCardOut,
    ReasonIn,
    TransferIn,
    UnitOut,
    UnitTreeOut,
)

router = Router(tags=["org"])

VIEW_DIRECTORY = "org.view_directory"
MAX_PAGE_SIZE = 200


class PageQuery(Schema):
    page: int = 1
    page_size: int = 50


class MembersQuery(PageQuery):
    subtree: bool = False


class PeopleQuery(PageQuery):
    q: str = ""
    unit: int | None = None


class AccountsQuery(PageQuery):
    q: str = ""
    unit: int | None = None
    status: str = ""


def _paged(items: QuerySet[Any], query: PageQuery) -> tuple[list[Any], dict[str, int]]:
    size = min(max(query.page_size, 1), MAX_PAGE_SIZE)
    page = Paginator(items, size).get_page(query.page)
    return list(page.object_list), {
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
    }


def _unit_ref(unit: OrgUnit | None) -> dict[str, Any] | None:
    return None if unit is None else {"id": unit.pk, "code": unit.code, "name": unit.name}


def _person_ref(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "username": user.username, "name": user.name}


def _member(post: Membership) -> dict[str, Any]:
    user = post.user
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.name,
        "employee_no": user.employee_no,
        "email": user.email,
        "mobile": user.mobile,
        "unit": _unit_ref(post.unit),
        "position": post.position.name if post.position else None,
        "is_head": post.is_head,
        "is_primary": post.is_primary,
    }


def _account(user: User, post: Membership | None = None, *, load: bool = True) -> dict[str, Any]:
    if post is None and load:
        post = selectors.primary_membership(user)
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.name,
        "employee_no": user.employee_no,
        "email": user.email,
        "mobile": user.mobile,
        "is_active": user.is_active,
        "status": selectors.account_status(user),
        "unit": _unit_ref(post.unit) if post else None,
        "position": post.position.name if post and post.position else None,
        "is_head": bool(post and post.is_head),
    }


def _change(change: PersonnelChange) -> dict[str, Any]:
    return {
        "id": change.pk,
        "kind": change.kind,
        "created_at": change.created_at,
        "from_unit": _unit_ref(change.from_unit),
        "to_unit": _unit_ref(change.to_unit),
        "reason": change.reason,
        "review_status": change.review_status,
        "details": change.details,
    }


# --------------------------------------------------------------------------- for everyone


@router.get("/units", response=UnitTreeOut, summary="组织架构树（按路径排序的扁平列表；q 标记匹配的单位）")
def units_tree(request: AuthedRequest, q: str = "") -> dict[str, Any]:
    access.require(request.user, VIEW_DIRECTORY)
    tree = selectors.unit_tree(viewer=request.user, query=q[:50])
    return {"items": tree.nodes, "hits": tree.hits}


@router.get("/units/{unit_id}", response=UnitOut, summary="一个单位：上级、下级、负责人、平台联系人")
def unit_get(request: AuthedRequest, unit_id: int) -> dict[str, Any]:
    access.require(request.user, VIEW_DIRECTORY)
    unit = selectors.unit_get(viewer=request.user, unit_id=unit_id)
    contact = selectors.contact_for(unit)
    return {
        "id": unit.pk,
        "code": unit.code,
        "name": unit.name,
        "short_name": unit.short_name,
        "kind": unit.kind,
        "is_active": unit.is_active,
        "ancestors": [_unit_ref(a) for a in selectors.unit_ancestors(unit)],
        "children": [_unit_ref(c) for c in selectors.unit_children(viewer=request.user, unit=unit)],
        "heads": [_person_ref(post.user) for post in selectors.heads_by_unit([unit.pk]).get(unit.pk, [])],
        "contact": _person_ref(contact.contact) if contact is not None else None,
    }


@router.get("/units/{unit_id}/members", response=MemberPageOut, summary="单位成员（负责人在前，分页）")
def unit_members(request: AuthedRequest, unit_id: int, query: Query[MembersQuery]) -> dict[str, Any]:
    access.require(request.user, VIEW_DIRECTORY)
    unit = selectors.unit_get(viewer=request.user, unit_id=unit_id)
    posts, page = _paged(selectors.unit_members(viewer=request.user, unit=unit, subtree=query.subtree), query)
    return {"items": [_member(post) for post in posts], **page}


@router.get("/people", response=MemberPageOut, summary="通讯录搜索：姓名、拼音、拼音首字母、用户名或工号")
def people(request: AuthedRequest, query: Query[PeopleQuery]) -> dict[str, Any]:
    access.require(request.user, VIEW_DIRECTORY)
    unit = selectors.unit_get(viewer=request.user, unit_id=query.unit) if query.unit is not None else None
    posts, page = _paged(selectors.people_search(viewer=request.user, query=query.q[:50], unit=unit), query)
    return {"items": [_member(post) for post in posts], **page}


@router.get("/people/{user_id}", response=PersonCardOut, summary="人员名片")
def person(request: AuthedRequest, user_id: int) -> dict[str, Any]:
    access.require(request.user, VIEW_DIRECTORY)
    card = selectors.person_card(viewer=request.user, user_id=user_id)
    user = card.user
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.name,
        "employee_no": user.employee_no,
        "email": user.email,
        "mobile": user.mobile,
        "posts": [
            {
                "unit": _unit_ref(post.unit),
                "position": post.position.name if post.position else None,
                "is_primary": post.is_primary,
                "is_head": post.is_head,
            }
            for post in card.posts
        ],
        "unit_path": [_unit_ref(unit) for unit in card.unit_path],
        "heads": [_person_ref(post.user) for post in card.heads],
        "contact": _person_ref(card.contact.contact) if card.contact is not None else None,
    }


# --------------------------------------------------------------------------- administration


def _manageable(request: AuthedRequest, user_id: int, action: str | None = None) -> User:
    """The account to read, or — with ``action`` — to change; a refused change is audited."""
    if action is not None:
        return guards.manageable_account(request.user, user_id, action, request)
    access.require(request.user, guards.MANAGE_USERS)
    return selectors.manageable_user_get(actor=request.user, user_id=user_id)


def _unit_for_placing(request: AuthedRequest, unit_id: int) -> OrgUnit:
    # Outside the caller's scope or missing: the same 404.
    unit: OrgUnit = access.get_visible(
        request.user, guards.MANAGE_USERS, OrgUnit.objects.all(), unit_id, unit_field="pk"
    )
    return unit


def _position(position_id: int | None) -> Position | None:
    if position_id is None:
        return None
    position = Position.objects.filter(pk=position_id).first()
    if position is None:
        raise DomainError("岗位不存在。", details=[{"field": "position_id", "message": "岗位不存在。"}])
    return position


@router.get(
    "/admin/users", response=AccountPageOut, summary="可管理的账号（系统管理员：全部；部门管理员：本部门）"
)
def admin_users(request: AuthedRequest, query: Query[AccountsQuery]) -> dict[str, Any]:
    access.require(request.user, guards.MANAGE_USERS)
    unit = _unit_for_placing(request, query.unit) if query.unit is not None else None
    users, page = _paged(
        selectors.admin_users(actor=request.user, query=query.q[:50], unit=unit, status=query.status), query
    )
    items = [
        _account(user, user.primary_posts[0] if user.primary_posts else None, load=False) for user in users
    ]
    return {"items": items, **page}


@router.post("/admin/users", response={201: AccountCreatedOut}, summary="新建账号（返回一次性初始密码）")
def admin_user_create(request: AuthedRequest, payload: AccountCreateIn) -> Status[dict[str, Any]]:
    access.require(request.user, guards.MANAGE_USERS)
    created = user_services.user_create(
        actor=request.user,
        username=payload.username,
        name=payload.name,
        unit=_unit_for_placing(request, payload.unit_id),
        position=_position(payload.position_id),
        employee_no=payload.employee_no,
        email=payload.email,
        mobile=payload.mobile,
        request=request,
    )
    return Status(201, {"account": _account(created.user), "initial_password": created.password})


@router.get("/admin/users/{user_id}", response=AccountOut, summary="一个可管理的账号")
def admin_user_get(request: AuthedRequest, user_id: int) -> dict[str, Any]:
    return _account(_manageable(request, user_id))


@router.patch(
    "/admin/users/{user_id}", response=AccountOut, summary="修改姓名、工号、邮箱、手机（未提供的字段不变）"
)
def admin_user_update(request: AuthedRequest, user_id: int, payload: AccountUpdateIn) -> dict[str, Any]:
    user = _manageable(request, user_id, guards.USER_UPDATED)
    sent = payload.dict(exclude_none=True)
    user = user_services.user_update(
        actor=request.user,
        user=user,
        name=sent.get("name", user.name),
        employee_no=sent.get("employee_no", user.employee_no or ""),
        email=sent.get("email", user.email),
        mobile=sent.get("mobile", user.mobile),
        request=request,
    )
    return _account(user)


@router.post(
    "/admin/users/{user_id}/transfer", response=ChangeOut, summary="调动（开启安全管理员的权限复核）"
)
def admin_user_transfer(request: AuthedRequest, user_id: int, payload: TransferIn) -> dict[str, Any]:
    user = _manageable(request, user_id, guards.USER_TRANSFERRED)
    change = user_services.user_transfer(
        actor=request.user,
        user=user,
        unit=_unit_for_placing(request, payload.unit_id),
        position=_position(payload.position_id),
        reason=payload.reason,
        request=request,
    )
    return _change(change)


@router.post(
    "/admin/users/{user_id}/suspend", response=AccountOut, summary="暂停使用（纪律处分；立即结束会话）"
)
def admin_user_suspend(request: AuthedRequest, user_id: int, payload: ReasonIn) -> dict[str, Any]:
    user = _manageable(request, user_id, guards.USER_SUSPENDED)
    return _account(
        user_services.user_suspend(actor=request.user, user=user, reason=payload.reason, request=request)
    )


@router.post("/admin/users/{user_id}/resume", response=AccountOut, summary="恢复使用")
def admin_user_resume(request: AuthedRequest, user_id: int, payload: ReasonIn) -> dict[str, Any]:
    user = _manageable(request, user_id, guards.USER_RESUMED)
    return _account(
        user_services.user_resume(actor=request.user, user=user, reason=payload.reason, request=request)
    )


@router.post(
    "/admin/users/{user_id}/depart", response=DepartureOut, summary="办理离职（停用账号、结束会话、转交工作）"
)
def admin_user_depart(request: AuthedRequest, user_id: int, payload: DepartIn) -> dict[str, Any]:
    user = _manageable(request, user_id, guards.USER_DEPARTED)
    successor = User.objects.filter(pk=payload.successor_id).first()
    departure = user_services.user_depart(
        actor=request.user, user=user, successor=successor, reason=payload.reason, request=request
    )
    user.refresh_from_db()
    return {
        "account": _account(user),
        "change": _change(departure.change),
        "sessions_ended": departure.sessions_ended,
        "tokens_revoked": departure.tokens_revoked,
        "handover": [
            {"name": o.name, "label": o.label, "moved": o.moved, "failed": o.failed}
            for o in departure.handed_over
        ],
    }


@router.post(
    "/admin/import",
    response=ImportReportOut,
    summary="导入组织机构与人员（Excel；任一行有误则全部不导入，返回逐行报告）",
)
def admin_import(
    request: AuthedRequest, file: File[UploadedFile], dry_run: Form[bool] = False
) -> dict[str, Any]:
    report = exchange.import_workbook(
        actor=request.user, upload=file, size=file.size, dry_run=dry_run, request=request
    )
    return report.as_json()
