"""The organisation and people pages: the tree, a unit with its members, the org chart, the
通讯录 and profile cards for everyone (``org.view_directory``); account, unit, position,
import/export and review pages for administrators. Thin: parse, call one selector or
service, render. A row outside the viewer's scope is a 404, like a missing one (R-11).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xietong.core import access
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.core.permissions import permission_required
from xietong.identity import audit_actions as identity_audit_actions
from xietong.identity import services as identity_services
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.org import exchange, forms, guards, selectors, unit_services, user_services
from xietong.org.models import Membership, OrgUnit, PersonnelChange, Position, StaffProfile

MEMBERS_PER_PAGE = 30
PEOPLE_PER_PAGE = 30
USERS_PER_PAGE = 30
REVIEWS_PER_PAGE = 30
CHART_LEVELS = (1, 2, 3, 4)

View = Callable[..., HttpResponse]
VIEW_DIRECTORY = "org.view_directory"


def _found(view: View) -> View:
    """A ``NotFoundError`` from a selector or service is the 404 page, a
    ``PermissionDeniedError`` the 403 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFoundError:
            raise Http404 from None
        except PermissionDeniedError:
            raise PermissionDenied from None

    return wrapper


def _refused(form: Any, error: DomainError) -> None:
    """A refusal to show on the form; one that is about access is the 403 or 404 page."""
    if isinstance(error, NotFoundError | PermissionDeniedError):
        raise error
    forms.show_error(form, error)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _page(items: Any, request: HttpRequest, size: int) -> Page[Any]:
    return Paginator(items, size).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _is_org_admin(user: Any) -> bool:
    return access.can_any(user, (guards.MANAGE_UNITS, guards.MANAGE_USERS))


def _context(request: AuthedRequest, *, admin: bool, **extra: Any) -> dict[str, Any]:
    """What every page of this app shows: the tabs the viewer may use, and which entry of
    the left navigation is theirs (the 通讯录 for everyone, 组织机构 for administrators)."""
    user = request.user
    return {
        "nav_active": "org" if admin else "directory",
        "can_manage_units": access.can(user, guards.MANAGE_UNITS),
        "can_manage_users": access.can(user, guards.MANAGE_USERS),
        "can_review": access.can(user, guards.REVIEW_CHANGES),
        **extra,
    }


# --------------------------------------------------------------------------- for everyone


@require_GET
@permission_required(VIEW_DIRECTORY)
def tree(request: AuthedRequest) -> HttpResponse:
    """The whole group as a collapsible tree: one query, rendered on the server."""
    query = request.GET.get("q", "").strip()[:50]
    admin = _is_org_admin(request.user)
    show_inactive = admin and request.GET.get("inactive") == "1"
    result = selectors.unit_tree(viewer=request.user, query=query, include_inactive=show_inactive)
    return render(
        request,
        "org/tree.html",
        _context(
            request,
            admin=admin,
            tab="tree",
            tree=result,
            query=query,
            show_inactive=show_inactive,
            # Reversed once for the whole tree, not once per unit (1,000 units).
            unit_prefix=reverse("org:unit", args=[1])[: -len("1/")],
            breadcrumbs=[(_("组织架构"), None)],
        ),
    )


@require_GET
@permission_required(VIEW_DIRECTORY)
@_found
def unit_detail(request: AuthedRequest, unit_id: int) -> HttpResponse:
    unit = selectors.unit_get(viewer=request.user, unit_id=unit_id)
    subtree = request.GET.get("subtree") == "1"
    members = _page(
        selectors.unit_members(viewer=request.user, unit=unit, subtree=subtree), request, MEMBERS_PER_PAGE
    )
    ancestors = selectors.unit_ancestors(unit)
    user = request.user
    return render(
        request,
        "org/unit_detail.html",
        _context(
            request,
            admin=False,
            tab="tree",
            unit=unit,
            ancestors=ancestors,
            children=selectors.unit_children(viewer=user, unit=unit),
            heads=selectors.heads_by_unit([unit.pk]).get(unit.pk, []),
            contact_unit=selectors.contact_for(unit),
            members=members,
            subtree=subtree,
            filter_query=_query_without_page(request),
            can_set_contact=unit_services.can_set_contact(user, unit),
            can_add_people=access.can(user, guards.MANAGE_USERS) and guards.unit_in_scope(user, unit),
            breadcrumbs=[
                (_("组织架构"), reverse("org:tree")),
                *[(a.name, reverse("org:unit", args=[a.pk])) for a in ancestors],
                (unit.name, None),
            ],
        ),
    )


@require_GET
@permission_required(VIEW_DIRECTORY)
@_found
def chart(request: AuthedRequest) -> HttpResponse:
    """An org chart drawn with CSS from one unit down a few levels, heads named in each box."""
    root_id = _int(request.GET.get("root"))
    if root_id is None:
        top = selectors.visible_units(viewer=request.user).order_by("path").first()
        if top is None:
            raise Http404
        root = top
    else:
        root = selectors.unit_get(viewer=request.user, unit_id=root_id)
    levels = _int(request.GET.get("levels")) or 2
    levels = levels if levels in CHART_LEVELS else 2
    return render(
        request,
        "org/chart.html",
        _context(
            request,
            admin=False,
            tab="chart",
            root=root,
            ancestors=selectors.unit_ancestors(root),
            nodes=selectors.org_chart(viewer=request.user, root=root, levels=levels),
            levels=levels,
            level_choices=CHART_LEVELS,
            breadcrumbs=[(_("组织架构"), reverse("org:tree")), (_("组织结构图"), None)],
        ),
    )


@require_GET
@permission_required(VIEW_DIRECTORY)
def directory(request: AuthedRequest) -> HttpResponse:
    """The 通讯录: search people by name, pinyin, initials, login name or 工号, within a unit
    and everything below it."""
    query = request.GET.get("q", "").strip()[:50]
    unit: OrgUnit | None = None
    unit_id = _int(request.GET.get("unit"))
    if unit_id is not None:
        try:
            unit = selectors.unit_get(viewer=request.user, unit_id=unit_id)
        except NotFoundError:
            unit = None
    people = _page(
        selectors.people_search(viewer=request.user, query=query, unit=unit), request, PEOPLE_PER_PAGE
    )
    own = selectors.primary_membership(request.user)
    return render(
        request,
        "org/directory.html",
        _context(
            request,
            admin=False,
            tab="directory",
            query=query,
            unit=unit,
            units=selectors.unit_options(units=selectors.visible_units(viewer=request.user)),
            people=people,
            filter_query=_query_without_page(request),
            contact_unit=selectors.contact_for(own.unit) if own is not None else None,
            breadcrumbs=[(_("通讯录"), None)],
        ),
    )


@require_GET
@permission_required(VIEW_DIRECTORY)
@_found
def person(request: AuthedRequest, user_id: int) -> HttpResponse:
    card = selectors.person_card(viewer=request.user, user_id=user_id)
    can_admin = access.can(request.user, guards.MANAGE_USERS) and (
        selectors.manageable_users(actor=request.user).filter(pk=card.user.pk).exists()
    )
    return render(
        request,
        "org/person.html",
        _context(
            request,
            admin=False,
            tab="directory",
            card=card,
            can_admin=can_admin,
            breadcrumbs=[(_("通讯录"), reverse("org:directory")), (card.user.name, None)],
        ),
    )


# --------------------------------------------------------------------------- accounts


def _manage_users_crumbs(*extra: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("组织机构"), reverse("org:tree")), (_("人员管理"), reverse("org:user_list")), *extra]


def _unit_options(actor: User) -> list[tuple[int, str]]:
    return selectors.unit_options(units=selectors.manageable_units(actor=actor))


def _account(request: AuthedRequest, user_id: int, action: str) -> User:
    """The account the page is about. A submission outside the actor's scope is audited as
    refused (it is an attempt to change someone); merely opening the page is not."""
    if request.method == "POST":
        return guards.manageable_account(request.user, user_id, action, request)
    return selectors.manageable_user_get(actor=request.user, user_id=user_id)


@require_GET
@permission_required(guards.MANAGE_USERS)
@_found
def user_list(request: AuthedRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:50]
    status = request.GET.get("status", "")
    status = status if status in selectors.ACCOUNT_STATUSES else ""
    unit: OrgUnit | None = None
    unit_id = _int(request.GET.get("unit"))
    if unit_id is not None:
        unit = selectors.manageable_units(actor=request.user).filter(pk=unit_id).first()
    users = _page(
        selectors.admin_users(actor=request.user, query=query, unit=unit, status=status),
        request,
        USERS_PER_PAGE,
    )
    rows = [
        (user, user.primary_posts[0] if user.primary_posts else None, selectors.account_status(user))
        for user in users
    ]
    return render(
        request,
        "org/user_list.html",
        _context(
            request,
            admin=True,
            tab="users",
            users=users,
            rows=rows,
            query=query,
            status=status,
            unit=unit,
            units=_unit_options(request.user),
            statuses=_status_labels(),
            filter_query=_query_without_page(request),
            breadcrumbs=_manage_users_crumbs(),
        ),
    )


def _status_labels() -> dict[str, str]:
    return {
        "active": _("在职"),
        "suspended": str(StaffProfile.Status.SUSPENDED.label),
        "departed": str(StaffProfile.Status.DEPARTED.label),
        "disabled": _("已停用"),
    }


def _created_page(
    request: AuthedRequest, accounts: list[user_services.CreatedAccount], **extra: Any
) -> HttpResponse:
    """The one time the initial passwords are shown: rendered in the response to the POST
    (no redirect, nothing kept), with the same list as a file built into the page."""
    content = exchange.passwords_workbook(accounts)
    return render(
        request,
        "org/accounts_created.html",
        _context(
            request,
            admin=True,
            tab="users",
            accounts=accounts,
            passwords_file=base64.b64encode(content).decode("ascii"),
            xlsx=exchange.XLSX,
            breadcrumbs=_manage_users_crumbs((_("初始密码"), None)),
            **extra,
        ),
    )


@never_cache
@require_http_methods(["GET", "POST"])
@permission_required(guards.MANAGE_USERS)
@_found
def user_create(request: AuthedRequest) -> HttpResponse:
    units = _unit_options(request.user)
    initial = {"unit": _int(request.GET.get("unit"))}
    form = forms.UserCreateForm(request.POST or None, units=units, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        unit = OrgUnit.objects.filter(pk=data["unit"]).first()
        if unit is None:
            form.add_error("unit", _("请选择单位。"))
        else:
            try:
                created = user_services.user_create(
                    actor=request.user,
                    username=data["username"],
                    name=data["name"],
                    unit=unit,
                    position=data["position"],
                    employee_no=data["employee_no"],
                    email=data["email"],
                    mobile=data["mobile"],
                    request=request,
                )
            except DomainError as exc:
                _refused(form, exc)
            else:
                return _created_page(request, [created], single=True)
    return render(
        request,
        "org/user_form.html",
        _context(
            request,
            admin=True,
            tab="users",
            form=form,
            title=_("新建账号"),
            breadcrumbs=_manage_users_crumbs((_("新建账号"), None)),
        ),
    )


@require_http_methods(["GET", "POST"])
@permission_required(guards.MANAGE_USERS)
@_found
def user_detail(request: AuthedRequest, user_id: int) -> HttpResponse:
    """An account's details (editable), its posts, its history and its actions."""
    account = _account(request, user_id, guards.USER_UPDATED)
    form = forms.UserEditForm(
        request.POST or None,
        initial={
            "name": account.name,
            "employee_no": account.employee_no or "",
            "email": account.email,
            "mobile": account.mobile,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            user_services.user_update(actor=request.user, user=account, request=request, **form.cleaned_data)
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("已保存“%(name)s”的信息。") % {"name": form.cleaned_data["name"]})
            return redirect("org:user_detail", user_id=account.pk)
    posts = (
        Membership.objects.filter(user=account)
        .select_related("unit", "position")
        .order_by("-is_primary", "unit__path")
    )
    return render(
        request,
        "org/user_detail.html",
        _context(
            request,
            admin=True,
            tab="users",
            account=account,
            status=selectors.account_status(account),
            statuses=_status_labels(),
            posts=posts,
            changes=selectors.personnel_changes(user=account)[:50],
            form=form,
            is_self=account.pk == request.user.pk,
            breadcrumbs=_manage_users_crumbs((account.name, None)),
        ),
    )


def _action_page(
    request: AuthedRequest,
    account: User,
    *,
    form: Any,
    title: str,
    action: str,
    danger: bool = False,
    **extra: Any,
) -> HttpResponse:
    return render(
        request,
        "org/user_action.html",
        _context(
            request,
            admin=True,
            tab="users",
            account=account,
            form=form,
            title=title,
            action=action,
            danger=danger,
            breadcrumbs=_manage_users_crumbs(
                (account.name, reverse("org:user_detail", args=[account.pk])), (title, None)
            ),
            **extra,
        ),
    )


@require_http_methods(["GET", "POST"])
@permission_required(guards.MANAGE_USERS)
@_found
def user_transfer(request: AuthedRequest, user_id: int) -> HttpResponse:
    account = _account(request, user_id, guards.USER_TRANSFERRED)
    form = forms.TransferForm(request.POST or None, units=_unit_options(request.user))
    if request.method == "POST" and form.is_valid():
        unit = OrgUnit.objects.filter(pk=form.cleaned_data["unit"]).first()
        try:
            if unit is None:
                raise DomainError(
                    _("请选择单位。"), details=[{"field": "unit", "message": _("请选择单位。")}]
                )
            user_services.user_transfer(
                actor=request.user,
                user=account,
                unit=unit,
                position=form.cleaned_data["position"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(
                request,
                _("已将“%(name)s”调入%(unit)s，并提交安全管理员复核权限。")
                % {"name": account.name, "unit": unit.name},
            )
            return redirect("org:user_detail", user_id=account.pk)
    return _action_page(
        request,
        account,
        form=form,
        title=_("人员调动"),
        action=_("确认调动"),
        note=_(
            "调动后，原岗位的角色权限立即失效，新岗位的角色权限立即生效；个人授予的角色由安全管理员复核。"
        ),
    )


@require_http_methods(["GET", "POST"])
@permission_required(guards.MANAGE_USERS)
@_found
def user_suspend(request: AuthedRequest, user_id: int) -> HttpResponse:
    account = _account(request, user_id, guards.USER_SUSPENDED)
    form = forms.SuspendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_services.user_suspend(
                actor=request.user, user=account, reason=form.cleaned_data["reason"], request=request
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(
                request, _("已暂停“%(name)s”的账号使用，其登录会话已全部结束。") % {"name": account.name}
            )
            return redirect("org:user_detail", user_id=account.pk)
    return _action_page(
        request,
        account,
        form=form,
        title=_("暂停使用"),
        action=_("确认暂停"),
        danger=True,
        note=_("暂停后该账号立即不能登录，已登录的会话和接口令牌立即失效；可随时恢复。"),
    )


@require_http_methods(["GET", "POST"])
@permission_required(guards.MANAGE_USERS)
@_found
def user_resume(request: AuthedRequest, user_id: int) -> HttpResponse:
    account = _account(request, user_id, guards.USER_RESUMED)
    form = forms.ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_services.user_resume(
                actor=request.user, user=account, reason=form.cleaned_data["reason"], request=request
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("已恢复“%(name)s”的账号使用。") % {"name": account.name})
            return redirect("org:user_detail", user_id=account.pk)
    return _action_page(request, account, form=form, title=_("恢复使用"), action=_("确认恢复"))


@require_http_methods(["GET", "POST"])
@permission_required(guards.MANAGE_USERS)
@_found
def user_depart(request: AuthedRequest, user_id: int) -> HttpResponse:
    account = _account(request, user_id, guards.USER_DEPARTED)
    candidates = selectors.manageable_users(actor=request.user).filter(is_active=True).exclude(pk=account.pk)
    form = forms.DepartForm(request.POST or None, accounts=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            departure = user_services.user_depart(
                actor=request.user,
                user=account,
                successor=form.cleaned_data["successor"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            moved = sum(outcome.moved for outcome in departure.handed_over)
            messages.success(
                request,
                _("已办理“%(name)s”离职：账号已停用，%(sessions)d 个会话已结束，%(moved)d 项工作已转交。")
                % {"name": account.name, "sessions": departure.sessions_ended, "moved": moved},
            )
            return redirect("org:user_detail", user_id=account.pk)
    primary = selectors.primary_membership(account)
    colleagues = (
        candidates.filter(memberships__unit=primary.unit).order_by("name")[:50]
        if primary is not None
        else User.objects.none()
    )
    return _action_page(
        request,
        account,
        form=form,
        title=_("办理离职"),
        action=_("确认离职"),
        danger=True,
        colleagues=colleagues,
        note=_("离职后账号立即停用，所有会话和接口令牌立即失效，未办结的工作转交给交接人。离职不可撤销。"),
    )


@never_cache
@require_POST
@permission_required(guards.MANAGE_USERS)
@_found
def user_reset_password(request: AuthedRequest, user_id: int) -> HttpResponse:
    """A new one-time password from identity's service, shown once like a new account's."""
    account = guards.manageable_account(request.user, user_id, identity_audit_actions.PASSWORD_RESET, request)
    try:
        password = identity_services.user_reset_password(actor=request.user, user=account, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("org:user_detail", user_id=account.pk)
    return _created_page(request, [user_services.CreatedAccount(account, password)], single=True, reset=True)


# --------------------------------------------------------------------------- units


def _units_crumbs(unit: OrgUnit | None, *extra: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    crumbs: list[tuple[str, str | None]] = [(_("组织机构"), reverse("org:tree"))]
    if unit is not None:
        crumbs.append((unit.name, reverse("org:unit", args=[unit.pk])))
    return [*crumbs, *extra]


def _unit_for_admin(unit_id: int) -> OrgUnit:
    unit: OrgUnit | None = OrgUnit.objects.select_related("contact").filter(pk=unit_id).first()
    if unit is None:
        raise Http404
    return unit


def _unit_form_page(
    request: AuthedRequest, form: Any, title: str, unit: OrgUnit | None, **extra: Any
) -> HttpResponse:
    return render(
        request,
        "org/unit_form.html",
        _context(
            request,
            admin=True,
            tab="tree",
            form=form,
            title=title,
            unit=unit,
            breadcrumbs=_units_crumbs(unit, (title, None)),
            **extra,
        ),
    )


@require_http_methods(["GET", "POST"])
@permission_required(guards.MANAGE_UNITS)
@_found
def unit_create(request: AuthedRequest) -> HttpResponse:
    options = selectors.unit_options(units=OrgUnit.objects.filter(is_active=True))
    form = forms.UnitCreateForm(
        request.POST or None, units=options, initial={"parent": _int(request.GET.get("parent"))}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        parent = OrgUnit.objects.filter(pk=data["parent"]).first() if data["parent"] else None
        try:
            unit = unit_services.unit_create(
                actor=request.user,
                parent=parent,
                code=data["code"],
                name=data["name"],
                kind=data["kind"],
                short_name=data["short_name"],
                request=request,
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("已新建“%(name)s”。") % {"name": unit.name})
            return redirect("org:unit", unit_id=unit.pk)
    return _unit_form_page(request, form, _("新建单位"), None)


@require_http_methods(["GET", "POST"])
@permission_required(guards.MANAGE_UNITS)
@_found
def unit_edit(request: AuthedRequest, unit_id: int) -> HttpResponse:
    unit = _unit_for_admin(unit_id)
    form = forms.UnitEditForm(
        request.POST or None, initial={"name": unit.name, "short_name": unit.short_name, "kind": unit.kind}
    )
    if request.method == "POST" and form.is_valid():
        try:
            unit_services.unit_update(actor=request.user, unit=unit, request=request, **form.cleaned_data)
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("org:unit", unit_id=unit.pk)
    return _unit_form_page(request, form, _("修改单位"), unit)


@require_http_methods(["GET", "POST"])
@permission_required(guards.MANAGE_UNITS)
@_found
def unit_move(request: AuthedRequest, unit_id: int) -> HttpResponse:
    unit = _unit_for_admin(unit_id)
    # Not the unit itself nor anything below it.
    targets = OrgUnit.objects.filter(is_active=True).exclude(path__startswith=unit.path)
    form = forms.UnitMoveForm(request.POST or None, units=selectors.unit_options(units=targets))
    if request.method == "POST" and form.is_valid():
        parent = targets.filter(pk=form.cleaned_data["parent"]).first()
        try:
            if parent is None:
                raise DomainError(
                    _("请选择上级单位。"), details=[{"field": "parent", "message": _("请选择上级单位。")}]
                )
            unit_services.unit_move(actor=request.user, unit=unit, parent=parent, request=request)
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(
                request,
                _("已将“%(name)s”移到“%(parent)s”之下。") % {"name": unit.name, "parent": parent.name},
            )
            return redirect("org:unit", unit_id=unit.pk)
    return _unit_form_page(request, form, _("调整上级单位"), unit)


@require_POST
@permission_required(guards.MANAGE_UNITS)
@_found
def unit_status(request: AuthedRequest, unit_id: int) -> HttpResponse:
    unit = _unit_for_admin(unit_id)
    try:
        if request.POST.get("active") == "1":
            unit_services.unit_reactivate(actor=request.user, unit=unit, request=request)
            messages.success(request, _("已恢复“%(name)s”。") % {"name": unit.name})
        else:
            unit_services.unit_deactivate(actor=request.user, unit=unit, request=request)
            messages.success(request, _("已撤销“%(name)s”。") % {"name": unit.name})
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("org:unit", unit_id=unit.pk)


@require_http_methods(["GET", "POST"])
@permission_required(guards.MANAGE_UNITS)
@_found
def unit_heads(request: AuthedRequest, unit_id: int) -> HttpResponse:
    unit = _unit_for_admin(unit_id)
    posts = list(
        Membership.objects.filter(unit=unit, user__is_active=True)
        .select_related("user", "position")
        .order_by("-position__rank", "user__name")
    )
    members = [
        (post.user_id, f"{post.user.name}（{post.position.name if post.position else _('无岗位')}）")
        for post in posts
    ]
    form = forms.UnitHeadsForm(
        request.POST or None,
        members=members,
        initial={"heads": [post.user_id for post in posts if post.is_head]},
    )
    if request.method == "POST" and form.is_valid():
        try:
            unit_services.unit_set_heads(
                actor=request.user, unit=unit, user_ids=form.cleaned_data["heads"], request=request
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("已更新“%(name)s”的负责人。") % {"name": unit.name})
            return redirect("org:unit", unit_id=unit.pk)
    return _unit_form_page(request, form, _("设置负责人"), unit, empty=not members)


@require_http_methods(["GET", "POST"])
@permission_required(VIEW_DIRECTORY)
@_found
def unit_contact(request: AuthedRequest, unit_id: int) -> HttpResponse:
    """The 系统管理员 or the unit's head designates its platform contact (R-123, R-126)."""
    unit = _unit_for_admin(unit_id)
    if not unit_services.can_set_contact(request.user, unit):
        raise PermissionDenied
    accounts = User.objects.filter(is_active=True, memberships__unit__path__startswith=unit.path).distinct()
    initial = {"contact": unit.contact.username if unit.contact is not None else ""}
    form = forms.UnitContactForm(request.POST or None, accounts=accounts, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            unit_services.unit_set_contact(
                actor=request.user, unit=unit, contact=form.cleaned_data["contact"], request=request
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("已更新“%(name)s”的平台联系人。") % {"name": unit.name})
            return redirect("org:unit", unit_id=unit.pk)
    colleagues = User.objects.filter(is_active=True, memberships__unit=unit).order_by("name")[:50]
    return render(
        request,
        "org/unit_form.html",
        _context(
            request,
            admin=False,
            tab="tree",
            form=form,
            title=_("指定平台联系人"),
            unit=unit,
            colleagues=colleagues,
            datalist_id="contact-options",
            breadcrumbs=_units_crumbs(unit, (_("指定平台联系人"), None)),
        ),
    )


# --------------------------------------------------------------------------- positions


@require_http_methods(["GET", "POST"])
@permission_required(guards.MANAGE_UNITS)
@_found
def positions(request: AuthedRequest) -> HttpResponse:
    form = forms.PositionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            position = unit_services.position_create(actor=request.user, request=request, **form.cleaned_data)
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("已新建岗位“%(name)s”。") % {"name": position.name})
            return redirect("org:positions")
    return render(
        request,
        "org/positions.html",
        _context(
            request,
            admin=True,
            tab="positions",
            positions=selectors.positions(),
            form=form,
            breadcrumbs=[(_("组织机构"), reverse("org:tree")), (_("岗位"), None)],
        ),
    )


@require_http_methods(["GET", "POST"])
@permission_required(guards.MANAGE_UNITS)
@_found
def position_edit(request: AuthedRequest, position_id: int) -> HttpResponse:
    position = Position.objects.filter(pk=position_id).first()
    if position is None:
        raise Http404
    form = forms.PositionForm(request.POST or None, initial={"name": position.name, "rank": position.rank})
    if request.method == "POST" and form.is_valid():
        try:
            unit_services.position_update(
                actor=request.user, position=position, request=request, **form.cleaned_data
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("已保存岗位“%(name)s”。") % {"name": form.cleaned_data["name"]})
            return redirect("org:positions")
    return render(
        request,
        "org/unit_form.html",
        _context(
            request,
            admin=True,
            tab="positions",
            form=form,
            title=_("修改岗位"),
            unit=None,
            cancel_url=reverse("org:positions"),
            breadcrumbs=[
                (_("组织机构"), reverse("org:tree")),
                (_("岗位"), reverse("org:positions")),
                (position.name, None),
            ],
        ),
    )


# --------------------------------------------------------------------------- import, export


@never_cache
@require_http_methods(["GET", "POST"])
@permission_required(guards.MANAGE_UNITS, guards.MANAGE_USERS)
@_found
def exchange_page(request: AuthedRequest) -> HttpResponse:
    """Import with a report per row; nothing is imported unless every row is right."""
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    report: exchange.ImportReport | None = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = exchange.import_workbook(
                actor=request.user,
                upload=upload,
                size=upload.size,
                dry_run=form.cleaned_data["dry_run"],
                request=request,
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            if report.imported and report.accounts:
                return _created_page(request, report.accounts, report=report)
    return render(
        request,
        "org/exchange.html",
        _context(
            request,
            admin=True,
            tab="exchange",
            form=form,
            report=report,
            max_rows=exchange.MAX_ROWS,
            breadcrumbs=[(_("组织机构"), reverse("org:tree")), (_("导入导出"), None)],
        ),
    )


@require_GET
@permission_required(guards.MANAGE_UNITS, guards.MANAGE_USERS)
@_found
def import_template(request: AuthedRequest) -> HttpResponse:
    response = HttpResponse(exchange.template(), content_type=exchange.XLSX)
    response["Content-Disposition"] = 'attachment; filename="org-import-template.xlsx"'
    return response


@require_POST  # it writes an audit record: no cross-site GET may trigger it
@permission_required(guards.MANAGE_UNITS, guards.MANAGE_USERS)
@_found
def export(request: AuthedRequest) -> HttpResponse:
    exported = exchange.export(actor=request.user, request=request)
    response = HttpResponse(exported.content, content_type=exchange.XLSX)
    response["Content-Disposition"] = f'attachment; filename="{exported.name}"'
    return response


# --------------------------------------------------------------------------- reviews


@require_http_methods(["GET", "POST"])
@permission_required(guards.REVIEW_CHANGES)
@_found
def reviews(request: AuthedRequest) -> HttpResponse:
    """Hires and transfers waiting for the security administrator's permission review."""
    if request.method == "POST":
        form = forms.ReviewForm(request.POST)
        change_id = _int(request.POST.get("change"))
        if form.is_valid() and change_id is not None:
            try:
                change = selectors.review_get(actor=request.user, change_id=change_id)
                user_services.change_review(
                    actor=request.user, change=change, note=form.cleaned_data["note"], request=request
                )
            except NotFoundError:
                raise Http404 from None
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("已复核“%(name)s”的权限。") % {"name": change.user.name})
        return redirect(f"{reverse('org:reviews')}?{_query_without_page(request)}")
    show_done = request.GET.get("done") == "1"
    changes = _page(
        selectors.review_queue(actor=request.user, pending=not show_done), request, REVIEWS_PER_PAGE
    )
    return render(
        request,
        "org/reviews.html",
        _context(
            request,
            admin=False,
            tab="reviews",
            changes=changes,
            show_done=show_done,
            Review=PersonnelChange.Review,
            filter_query=_query_without_page(request),
            breadcrumbs=[(_("权限复核"), None)],
        ),
    )
