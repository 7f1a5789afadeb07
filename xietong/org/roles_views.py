"""Security administration pages (安全管理): roles, grants, clearances, permission requests,
and every user's own 我的权限 page.

The pages are thin: they check the function permission the page needs (403 for anyone else),
ask for the password again before a change to roles or clearances (SES-07), and leave every
rule to ``org.services`` and ``org.requests``, whose refusals are shown as they are worded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from xietong.core import access, classification
from xietong.core.errors import DomainError, NotFoundError
from xietong.core.permissions import permission_required
from xietong.identity import reauth
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.org import requests as permission_requests
from xietong.org import roles_selectors as reads
from xietong.org import selectors, services
from xietong.org.models import DataScope, Membership, PermissionRequest, Position, RoleGrant
from xietong.org.roles_forms import (
    ClearanceFilterForm,
    ClearanceForm,
    DecisionForm,
    GrantForm,
    HolderSearchForm,
    PermissionRequestForm,
    RoleForm,
)

MANAGE_ROLES = "identity.manage_roles"
MANAGE_CLEARANCES = "identity.manage_clearances"
PAGE_SIZE = 50

#: Who may open the landing page: whoever may open at least one of its cards, plus the
#: holders of the remaining security permissions (unlocking is done on the login-log page).
SECURITY_AUDIENCE = (
    MANAGE_ROLES,
    MANAGE_CLEARANCES,
    "identity.manage_policy",
    "identity.review_logins",
    "identity.unlock",
    "identity.read_login_log",
)

# The shell highlights the navigation entry named like the URL namespace; these pages sit
# under the "identity" entry although their namespace is "roles".
NAV = "identity"


@dataclass(frozen=True)
class Card:
    label: Any
    description: Any
    icon: str
    url_name: str
    #: Any one of these opens the page behind the card (the same codenames as its view).
    codenames: tuple[str, ...]


CARDS = (
    Card(
        gettext_lazy("角色管理"),
        gettext_lazy("定义角色包含的功能权限与默认数据范围"),
        "person-badge",
        "roles:role_list",
        (MANAGE_ROLES,),
    ),
    Card(
        gettext_lazy("授权管理"),
        gettext_lazy("为人员或岗位授予、撤销角色，设定数据范围和有效期"),
        "key",
        "roles:grants",
        (MANAGE_ROLES,),
    ),
    Card(
        gettext_lazy("人员密级"),
        gettext_lazy("设定每个账号可查看、下载、打印的最高密级"),
        "shield-check",
        "roles:clearances",
        (MANAGE_CLEARANCES,),
    ),
    Card(
        gettext_lazy("权限申请审批"),
        gettext_lazy("审批员工及部门负责人提交的权限变更申请，批准后自动授权"),
        "clipboard-check",
        "roles:requests",
        (MANAGE_ROLES,),
    ),
    Card(
        gettext_lazy("密码策略"),
        gettext_lazy("密码长度、复杂度、有效期与历史密码规则"),
        "asterisk",
        "identity:password_policy",
        ("identity.manage_policy",),
    ),
    Card(
        gettext_lazy("登录日志"),
        gettext_lazy("审查登录记录与异常，解除账号锁定"),
        "door-open",
        "identity:login_log",
        ("identity.read_login_log", "identity.review_logins"),
    ),
)


def _home_crumb() -> tuple[str, str]:
    return (_("安全管理"), reverse("roles:home"))


def _page(request: AuthedRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, {"nav_active": NAV, **context})


def _visible_or_404(queryset: QuerySet[Any], pk: Any) -> Any:
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _show_error(form: Any, exc: DomainError) -> None:
    """A refusal from a service on the form: on the fields it names, else above them."""
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for name, errors in details.items():
        if name in form.fields:
            for error in errors if isinstance(errors, list) else [errors]:
                form.add_error(name, str(error))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


# --------------------------------------------------------------------------- landing


@permission_required(*SECURITY_AUDIENCE)
def home(request: AuthedRequest) -> HttpResponse:
    """安全管理: one card per function the user may open (R-08: nothing of other tiers)."""
    user = request.user
    cards = [card for card in CARDS if access.can_any(user, card.codenames)]
    counts: dict[str, int] = {}
    if access.can(user, MANAGE_ROLES):
        counts["roles:requests"] = permission_requests.pending_count(actor=user)
        counts["roles:role_list"] = selectors.roles(actor=user).count()
    return _page(
        request,
        "roles/home.html",
        {
            "cards": [(card, counts.get(card.url_name)) for card in cards],
            "breadcrumbs": [(_("安全管理"), None)],
        },
    )


# --------------------------------------------------------------------------- roles


@permission_required(MANAGE_ROLES)
def role_list(request: AuthedRequest) -> HttpResponse:
    return _page(
        request,
        "roles/role_list.html",
        {
            "roles": reads.roles_with_counts(actor=request.user),
            "breadcrumbs": [_home_crumb(), (_("角色管理"), None)],
        },
    )


@permission_required(MANAGE_ROLES)
def role_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    role = _visible_or_404(selectors.roles(actor=request.user), pk)
    form = RoleForm(role=role, initial={"permissions": role.permissions})
    return _page(
        request,
        "roles/role_detail.html",
        {
            "role": role,
            "groups": [
                (label, [option for option, ticked in options if ticked])
                for _module, label, options in form.groups()
                if any(ticked for _option, ticked in options)
            ],
            "grants": reads.grants_of_role(actor=request.user, role=role),
            "breadcrumbs": [_home_crumb(), (_("角色管理"), reverse("roles:role_list")), (role.name, None)],
        },
    )


@permission_required(MANAGE_ROLES)
@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def role_create(request: AuthedRequest) -> HttpResponse:
    form = RoleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            role = services.role_create(
                actor=request.user,
                code=data["code"],
                name=data["name"],
                description=data["description"],
                permissions=data["permissions"],
                default_scope=data["default_scope"],
            )
        except DomainError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("角色“%(name)s”已创建。") % {"name": role.name})
            return redirect("roles:role_detail", pk=role.pk)
    return _page(
        request,
        "roles/role_form.html",
        {
            "form": form,
            "role": None,
            "breadcrumbs": [
                _home_crumb(),
                (_("角色管理"), reverse("roles:role_list")),
                (_("新建角色"), None),
            ],
        },
    )


@permission_required(MANAGE_ROLES)
@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def role_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    role = _visible_or_404(selectors.roles(actor=request.user), pk)
    initial = {
        "name": role.name,
        "description": role.description,
        "permissions": role.permissions,
        "default_scope": role.default_scope,
    }
    form = RoleForm(request.POST or None, role=role, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            role = services.role_update(
                actor=request.user,
                role=role,
                name=data["name"],
                description=data["description"],
                permissions=data["permissions"],
                default_scope=data["default_scope"],
            )
        except DomainError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("角色“%(name)s”已保存。") % {"name": role.name})
            return redirect("roles:role_detail", pk=role.pk)
    return _page(
        request,
        "roles/role_form.html",
        {
            "form": form,
            "role": role,
            "breadcrumbs": [
                _home_crumb(),
                (_("角色管理"), reverse("roles:role_list")),
                (role.name, reverse("roles:role_detail", args=[role.pk])),
                (_("编辑"), None),
            ],
        },
    )


@permission_required(MANAGE_ROLES)
@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def role_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    role = _visible_or_404(reads.roles_with_counts(actor=request.user), pk)
    if request.method == "POST":
        try:
            services.role_delete(actor=request.user, role=role)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("roles:role_detail", pk=role.pk)
        messages.success(request, _("角色“%(name)s”已删除。") % {"name": role.name})
        return redirect("roles:role_list")
    return _page(
        request,
        "roles/role_delete.html",
        {
            "role": role,
            "breadcrumbs": [
                _home_crumb(),
                (_("角色管理"), reverse("roles:role_list")),
                (role.name, reverse("roles:role_detail", args=[role.pk])),
                (_("删除"), None),
            ],
        },
    )


# --------------------------------------------------------------------------- grants


@permission_required(MANAGE_ROLES)
def grants(request: AuthedRequest) -> HttpResponse:
    """授权管理: find a person (within the manager's scope) or pick a position."""
    form = HolderSearchForm(request.GET or None)
    text = form.cleaned_data["q"] if form.is_valid() else ""
    people: QuerySet[User] | None = None
    if text:
        people = (
            reads.search(reads.role_accounts(actor=request.user), text)
            .annotate(grant_count=Count("role_grants"))
            .order_by("name", "username")[:PAGE_SIZE]
        )
    return _page(
        request,
        "roles/grants.html",
        {
            "form": form,
            "query": text,
            "people": people,
            "positions": reads.positions_with_counts(actor=request.user),
            "recent": reads.grant_rows(selectors.role_grants(actor=request.user))[:10],
            "breadcrumbs": [_home_crumb(), (_("授权管理"), None)],
        },
    )


def _grants_crumbs(label: str, url: str | None = None) -> list[tuple[str, str | None]]:
    return [_home_crumb(), (_("授权管理"), reverse("roles:grants")), (label, url)]


@permission_required(MANAGE_ROLES)
def user_grants(request: AuthedRequest, pk: int) -> HttpResponse:
    """One person's roles: direct grants (revocable here), those of their posts, defaults."""
    person = _visible_or_404(reads.role_accounts(actor=request.user), pk)
    held = reads.held_roles(person)
    direct = reads.grant_rows(selectors.role_grants(actor=request.user, user=person))
    return _page(
        request,
        "roles/holder.html",
        {
            "person": person,
            "position": None,
            "grants": direct,
            "inherited": [item for item in held if item.grant is None or item.via_position is not None],
            "posts": Membership.objects.filter(user=person).select_related("unit", "position"),
            "pending": permission_requests.requests_for_review(
                actor=request.user, status=PermissionRequest.Status.PENDING
            ).filter(subject=person),
            "clearance": classification.label(person.clearance),
            "breadcrumbs": _grants_crumbs(person.name or person.username),
        },
    )


@permission_required(MANAGE_ROLES)
def position_grants(request: AuthedRequest, pk: int) -> HttpResponse:
    position = get_object_or_404(Position, pk=pk)
    holders = (
        Membership.objects.filter(position=position).select_related("user", "unit").order_by("unit__path")
    )
    return _page(
        request,
        "roles/holder.html",
        {
            "person": None,
            "position": position,
            "grants": reads.grants_of_position(actor=request.user, position=position),
            "holders": holders,
            "breadcrumbs": _grants_crumbs(_("岗位：%(name)s") % {"name": position.name}),
        },
    )


def _grant_form(
    request: AuthedRequest, *, person: User | None, position: Position | None, back: str, crumbs: list[Any]
) -> HttpResponse:
    form = GrantForm(request.POST or None, position=position)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.role_grant(
                actor=request.user,
                role=data["role"],
                user=person,
                position=position,
                scope=data["scope"],
                units=data["units"],
                expires_at=form.expires_at(),
                reason=data["reason"],
            )
        except DomainError as exc:
            _show_error(form, exc)
        else:
            holder = person.name if person is not None else position.name  # type: ignore[union-attr]
            messages.success(
                request, _("已将“%(role)s”授予 %(holder)s。") % {"role": data["role"].name, "holder": holder}
            )
            return redirect(back)
    return _page(
        request,
        "roles/grant_form.html",
        {
            "form": form,
            "person": person,
            "position": position,
            "back": back,
            "listed": DataScope.LISTED.value,
            "roles_default_scope": {str(role.pk): role.default_scope for role in form.roles},
            "breadcrumbs": crumbs,
        },
    )


@permission_required(MANAGE_ROLES)
@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def user_grant_new(request: AuthedRequest, pk: int) -> HttpResponse:
    person = _visible_or_404(reads.role_accounts(actor=request.user), pk)
    back = reverse("roles:user_grants", args=[person.pk])
    return _grant_form(
        request,
        person=person,
        position=None,
        back=back,
        crumbs=[*_grants_crumbs(person.name or person.username, back), (_("授予角色"), None)],
    )


@permission_required(MANAGE_ROLES)
@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def position_grant_new(request: AuthedRequest, pk: int) -> HttpResponse:
    position = get_object_or_404(Position, pk=pk)
    back = reverse("roles:position_grants", args=[position.pk])
    label = _("岗位：%(name)s") % {"name": position.name}
    return _grant_form(
        request,
        person=None,
        position=position,
        back=back,
        crumbs=[*_grants_crumbs(label, back), (_("授予角色"), None)],
    )


@permission_required(MANAGE_ROLES)
@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def grant_revoke(request: AuthedRequest, pk: int) -> HttpResponse:
    grant: RoleGrant = _visible_or_404(reads.grant_rows(selectors.role_grants(actor=request.user)), pk)
    if grant.user_id is not None:
        back = reverse("roles:user_grants", args=[grant.user_id])
        holder = grant.user.name or grant.user.username  # type: ignore[union-attr]
    else:
        back = reverse("roles:position_grants", args=[grant.position_id])
        holder = _("岗位：%(name)s") % {"name": grant.position.name}  # type: ignore[union-attr]
    if request.method == "POST":
        try:
            services.role_revoke(actor=request.user, grant=grant)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("已撤销 %(holder)s 的“%(role)s”。") % {"holder": holder, "role": grant.role.name}
            )
        return redirect(back)
    return _page(
        request,
        "roles/grant_revoke.html",
        {
            "grant": grant,
            "holder": holder,
            "back": back,
            "breadcrumbs": [*_grants_crumbs(holder, back), (_("撤销授权"), None)],
        },
    )


# --------------------------------------------------------------------------- clearances


@permission_required(MANAGE_CLEARANCES)
def clearances(request: AuthedRequest) -> HttpResponse:
    form = ClearanceFilterForm(request.GET or None)
    users = reads.clearance_accounts(actor=request.user).filter(is_active=True)
    if form.is_valid():
        data = form.cleaned_data
        users = reads.search(users, data.get("q") or "")
        if data.get("unit") is not None:
            users = reads.in_unit_tree(users, data["unit"])
        if data.get("clearance") is not None:
            users = users.filter(clearance=data["clearance"])
    paginator = Paginator(users.order_by("-clearance", "name", "username"), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return _page(
        request,
        "roles/clearances.html",
        {
            "form": form,
            "page": page,
            "filter_query": query.urlencode(),
            "filtered": any(v for k, v in request.GET.items() if k != "page"),
            "classified_from": classification.CLASSIFIED_FROM,
            "breadcrumbs": [_home_crumb(), (_("人员密级"), None)],
        },
    )


@permission_required(MANAGE_CLEARANCES)
@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def clearance_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    person = _visible_or_404(reads.clearance_accounts(actor=request.user), pk)
    form = ClearanceForm(request.POST or None, initial={"clearance": person.clearance})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_clearance(
                actor=request.user, user=person, clearance=form.cleaned_data["clearance"]
            )
        except DomainError as exc:
            _show_error(form, exc)
        else:
            messages.success(
                request,
                _("%(user)s 的密级已设为“%(label)s”。")
                % {
                    "user": person.name or person.username,
                    "label": classification.label(form.cleaned_data["clearance"]),
                },
            )
            return redirect("roles:clearances")
    return _page(
        request,
        "roles/clearance_form.html",
        {
            "form": form,
            "person": person,
            "current": classification.label(person.clearance),
            "breadcrumbs": [
                _home_crumb(),
                (_("人员密级"), reverse("roles:clearances")),
                (person.name or person.username, None),
            ],
        },
    )


# --------------------------------------------------------------------------- requests (review)

STATUS_TABS = [
    ("pending", gettext_lazy("待审批")),
    ("approved", gettext_lazy("已批准")),
    ("rejected", gettext_lazy("已驳回")),
    ("cancelled", gettext_lazy("已撤回")),
    ("all", gettext_lazy("全部")),
]


@permission_required(MANAGE_ROLES)
def request_list(request: AuthedRequest) -> HttpResponse:
    status = request.GET.get("status", "pending")
    if status not in dict(STATUS_TABS):
        status = "pending"
    rows = permission_requests.requests_for_review(
        actor=request.user, status=None if status == "all" else status
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(
        request,
        "roles/request_list.html",
        {
            "page": page,
            "status": status,
            "tabs": STATUS_TABS,
            "pending_count": permission_requests.pending_count(actor=request.user),
            "breadcrumbs": [_home_crumb(), (_("权限申请审批"), None)],
        },
    )


@permission_required(MANAGE_ROLES)
@require_http_methods(["GET", "POST"])
def request_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """One request, with the approve form (which re-asks the password) and the reject form."""
    try:
        row = permission_requests.request_for_review(actor=request.user, pk=pk)
    except NotFoundError:
        raise Http404 from None
    reject_form = DecisionForm(request.POST or None, prefix="reject")
    if request.method == "POST" and reject_form.is_valid():
        try:
            permission_requests.permission_request_reject(
                actor=request.user,
                permission_request=row,
                note=reject_form.cleaned_data["note"],
                request=request,
            )
        except DomainError as exc:
            _show_error(reject_form, exc)
        else:
            messages.success(request, _("已驳回该申请。"))
            return redirect("roles:request_detail", pk=row.pk)
    return _page(
        request,
        "roles/request_detail.html",
        {
            "row": row,
            "approve_form": DecisionForm(prefix="approve"),
            "reject_form": reject_form,
            "held": reads.held_roles(row.subject),
            "own": request.user.pk in (row.requester_id, row.subject_id),
            "breadcrumbs": [
                _home_crumb(),
                (_("权限申请审批"), reverse("roles:requests")),
                (_("申请 #%(id)s") % {"id": row.pk}, None),
            ],
        },
    )


@permission_required(MANAGE_ROLES)
@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def request_approve(request: AuthedRequest, pk: int) -> HttpResponse:
    """Approving grants a role, so it needs a fresh password check like any grant. A GET
    (the way back from the password page) returns to the request to be approved again."""
    try:
        row = permission_requests.request_for_review(actor=request.user, pk=pk)
    except NotFoundError:
        raise Http404 from None
    if request.method == "POST":
        form = DecisionForm(request.POST, prefix="approve")
        note = form.cleaned_data["note"] if form.is_valid() else ""
        try:
            permission_requests.permission_request_approve(
                actor=request.user, permission_request=row, note=note, request=request
            )
        except DomainError as exc:
            messages.error(request, _("未能批准：%(reason)s") % {"reason": exc.message})
        else:
            messages.success(
                request,
                _("已批准，角色已授予 %(user)s。") % {"user": row.subject.name or row.subject.username},
            )
    return redirect("roles:request_detail", pk=row.pk)


# --------------------------------------------------------------------------- 我的权限


@login_required
def mine(request: AuthedRequest) -> HttpResponse:
    """我的权限: every signed-in user's roles, scopes, clearance and requests."""
    user = request.user
    return render(
        request,
        "roles/mine.html",
        {
            "held": reads.held_roles(user),
            "permission_groups": reads.permission_labels(user),
            "clearance": classification.label(user.clearance),
            "requests": permission_requests.requests_of(user)[:PAGE_SIZE],
            "can_file_for_others": bool(permission_requests.department_rules(user)),
            "breadcrumbs": [(_("我的权限"), None)],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request: AuthedRequest) -> HttpResponse:
    form = PermissionRequestForm(request.POST or None, requester=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            permission_requests.permission_request_create(
                actor=request.user,
                subject=data["subject"],
                role=data["role"],
                scope=data["scope"],
                units=data["units"],
                reason=data["reason"],
                request=request,
            )
        except DomainError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("申请已提交，请等待安全管理员审批。"))
            return redirect("roles:mine")
    return render(
        request,
        "roles/request_form.html",
        {
            "form": form,
            "single_subject": form.fields["subject"].queryset.count() == 1,  # type: ignore[attr-defined]
            "listed": DataScope.LISTED.value,
            "roles": form.fields["role"].queryset,  # type: ignore[attr-defined]
            "breadcrumbs": [(_("我的权限"), reverse("roles:mine")), (_("申请权限"), None)],
        },
    )


@login_required
@require_POST
def request_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(
        PermissionRequest.objects.filter(Q(requester=request.user) | Q(subject=request.user)), pk=pk
    )
    try:
        permission_requests.permission_request_cancel(
            actor=request.user, permission_request=row, request=request
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("申请已撤回。"))
    return redirect("roles:mine")
