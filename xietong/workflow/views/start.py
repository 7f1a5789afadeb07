"""Starting a request (发起审批): the flows a person may start, the form of one flow with its
route preview, drafts, and the small JSON endpoints the form uses (people and department
search, attachment upload). Thin: selectors read, services write."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xietong.core import access, classification
from xietong.core.errors import DomainError, NotFoundError
from xietong.files import services as files
from xietong.identity.types import AuthedRequest
from xietong.org import selectors as org_selectors
from xietong.workflow import builtin, definition, formspec, formwidgets, resolve, selectors, services
from xietong.workflow.models import Category, FlowDefinition, Instance
from xietong.workflow.permissions import USE

SEARCH_RESULTS = 8
ATTACHMENT_CONTEXT = "workflow.attachment"
CHOSEN_PREFIX = "chosen."
#: The icon of a flow that names none, by category.
CATEGORY_ICONS = {
    Category.REQUEST: "file-earmark-text",
    Category.LIAISON: "envelope-paper",
    Category.CONTRACT: "file-earmark-check",
    Category.SEAL: "award",
    Category.PERSONNEL: "person-badge",
    Category.FINANCE: "cash-coin",
    Category.ADMINISTRATION: "building",
    Category.OTHER: "ui-checks-grid",
}


def _crumbs(*extra: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("审批"), reverse("workflow:start_list")), *extra]


def _require_use(request: AuthedRequest) -> None:
    if not access.can(request.user, USE):
        raise PermissionDenied


def _flow(request: AuthedRequest, flow_id: int) -> FlowDefinition:
    """A flow the user may start now; 404 for one that is unknown, not published or not theirs."""
    _require_use(request)
    flow = (
        FlowDefinition.objects.select_related("current_version")
        .filter(pk=flow_id, is_active=True, current_version__status="published")
        .first()
    )
    if (
        flow is None
        or flow.current_version is None
        or not resolve.can_start(flow.current_version.flow, request.user)
    ):
        raise Http404
    return flow


def _draft(request: AuthedRequest, instance_id: int) -> Instance:
    _require_use(request)
    draft = selectors.drafts(request.user).filter(pk=instance_id).first()
    if draft is None:
        raise Http404
    return draft


# --------------------------------------------------------------------------- the list


@dataclass
class _Group:
    key: str
    label: str
    #: (flow, icon, where its card leads)
    flows: list[tuple[FlowDefinition, str, str]] = field(default_factory=list)

    @property
    def search_text(self) -> str:
        """Everything the list's search box matches in this group, lower case."""
        return " ".join(f"{flow.name} {flow.description}".lower() for flow, _icon, _href in self.flows)


@login_required
@require_GET
def start_list(request: AuthedRequest) -> HttpResponse:
    """发起审批: the flows the user may start, by category, and their drafts."""
    _require_use(request)
    groups = {key: _Group(str(key), str(label)) for key, label in Category.choices}
    flows = selectors.startable_flows_shared(request.user)
    for flow in flows:
        icon = flow.icon or CATEGORY_ICONS.get(Category(flow.category), "ui-checks-grid")
        elsewhere = builtin.STARTED_ELSEWHERE.get(flow.code)
        href = reverse(elsewhere) if elsewhere else reverse("workflow:start", args=[flow.pk])
        groups.setdefault(flow.category, _Group(flow.category, flow.category)).flows.append(
            (flow, icon, href)
        )
    return render(
        request,
        "workflow/start_list.html",
        {
            "groups": [group for group in groups.values() if group.flows],
            "flow_count": len(flows),
            "search_all": json.dumps(
                [f"{f.name} {f.description}".lower() for f in flows], ensure_ascii=False
            ),
            "drafts": list(selectors.drafts(request.user)[:50]),
            "breadcrumbs": _crumbs((_("发起审批"), None)),
            "nav_active": "workflow",
        },
    )


# --------------------------------------------------------------------------- the form


@dataclass
class _Meta:
    """What the page asks besides the form: 标题, 急办, 密级, chosen approvers."""

    title: str = ""
    urgent: bool = False
    level: int = classification.INTERNAL
    chosen: dict[str, list[str]] = field(default_factory=dict)


def _read_meta(post: QueryDict) -> _Meta:
    raw = post.get("level", "")
    try:
        level = int(raw)
    except ValueError:
        level = -1  # the service answers 密级无效
    chosen = {
        name[len(CHOSEN_PREFIX) :]: [value for value in post.getlist(name) if value.strip()]
        for name in post
        if name.startswith(CHOSEN_PREFIX)
    }
    return _Meta(title=post.get("title", ""), urgent=post.get("urgent") == "on", level=level, chosen=chosen)


def _lock_version(post: QueryDict) -> int | None:
    raw = post.get("lock_version", "")
    return int(raw) if raw.isdigit() else None


def _chosen_ints(chosen: Mapping[str, Sequence[str]]) -> dict[str, list[int]]:
    """Picks as ids; a value that is not one is sent as is for the service to refuse."""
    return {node: [int(v) if v.isdigit() else -1 for v in values] for node, values in chosen.items()}


def _levels(request: AuthedRequest) -> list[tuple[int, str]]:
    """The 密级 the user may give a request: up to their own clearance."""
    top = classification.clearance_of(request.user)
    return [(level, label) for level, label in classification.choices() if level <= top]


def _route(
    request: AuthedRequest, flow: FlowDefinition, data: Mapping[str, Any], meta: _Meta
) -> dict[str, Any]:
    try:
        steps = services.predict_route(
            actor=request.user, flow=flow, data=data, chosen=_chosen_ints(meta.chosen)
        )
    except DomainError as exc:
        return {"route_error": exc.message, "steps": []}
    return {"steps": steps, "route_error": ""}


def _render_form(
    request: AuthedRequest,
    flow: FlowDefinition,
    *,
    values: Mapping[str, Any],
    meta: _Meta,
    draft: Instance | None = None,
    errors: Mapping[str, Sequence[str]] | None = None,
    problem: str = "",
) -> HttpResponse:
    version = flow.current_version
    assert version is not None  # noqa: S101  (_flow checks it)
    spec = formspec.parse_form(version.form)
    title = draft.title if draft is not None else flow.name
    return render(
        request,
        "workflow/start_form.html",
        {
            "flow": flow,
            "draft": draft,
            "fields": formwidgets.fields_for(spec, values, errors=errors),
            "has_title_field": "title" in spec.keys,
            "meta": meta,
            "levels": _levels(request),
            "request_id": uuid.uuid4().hex,
            "problem": problem,
            "error_count": len(errors or {}),
            "preview_url": reverse("workflow:start_preview", args=[flow.pk]),
            **_route(request, flow, values, meta),
            "page_title": title,
            "breadcrumbs": _crumbs((_("发起审批"), reverse("workflow:start_list")), (title, None)),
            "nav_active": "workflow",
        },
    )


def _handle_post(request: AuthedRequest, flow: FlowDefinition, draft: Instance | None) -> HttpResponse:
    version = flow.current_version
    assert version is not None  # noqa: S101
    spec = formspec.parse_form(version.form)
    data = formwidgets.read_posted(spec, request.POST)
    meta = _read_meta(request.POST)
    request_id = request.POST.get("request_id", "")
    target: dict[str, Any] = {"instance": draft} if draft is not None else {"flow": flow}
    try:
        if request.POST.get("action") == "draft":
            saved = services.draft_save(
                actor=request.user,
                request_id=request_id,
                data=data,
                title=meta.title,
                urgent=meta.urgent,
                level=meta.level,
                chosen=_chosen_ints(meta.chosen),
                lock_version=_lock_version(request.POST),
                **target,
            )
            messages.success(request, _("草稿已保存，可在“发起审批”页面的“我的草稿”中继续填写。"))
            return redirect("workflow:draft", instance_id=saved.pk)
        started = services.instance_start(
            actor=request.user,
            request_id=request_id,
            data=data,
            title=meta.title,
            urgent=meta.urgent,
            level=meta.level,
            chosen=_chosen_ints(meta.chosen),
            lock_version=_lock_version(request.POST),
            **target,
        )
    except formspec.FormDataError as exc:
        return _render_form(
            request,
            flow,
            values=data,
            meta=meta,
            draft=draft,
            errors=formwidgets.error_map(exc.errors),
            problem=_("表单填写有误，请按提示修改后再提交。"),
        )
    except DomainError as exc:
        return _render_form(request, flow, values=data, meta=meta, draft=draft, problem=exc.message)
    messages.success(request, _("审批已提交，编号 %(serial)s。") % {"serial": started.serial or ""})
    return redirect(services.link(started))


@login_required
@require_http_methods(["GET", "POST"])
def start(request: AuthedRequest, flow_id: int) -> HttpResponse:
    """The form of a flow: fill in, see the route, save as draft or submit."""
    flow = _flow(request, flow_id)
    elsewhere = builtin.STARTED_ELSEWHERE.get(flow.code)
    if elsewhere:
        messages.info(request, _("“%(flow)s”请在此页面提交，提交后自动进入审批。") % {"flow": flow.name})
        return redirect(elsewhere)
    if request.method == "POST":
        return _handle_post(request, flow, None)
    return _render_form(request, flow, values={}, meta=_Meta())


@login_required
@require_http_methods(["GET", "POST"])
def draft(request: AuthedRequest, instance_id: int) -> HttpResponse:
    """A saved draft, to go on filling in and submit."""
    saved = _draft(request, instance_id)
    flow = saved.definition
    version = flow.current_version
    if not flow.is_active or version is None or not resolve.can_start(version.flow, request.user):
        messages.error(request, _("该审批流程已停用或您已不在发起人范围内，草稿无法继续提交，可以删除。"))
        return redirect("workflow:start_list")
    if request.method == "POST":
        return _handle_post(request, flow, saved)
    meta = _Meta(
        title=saved.title,
        urgent=saved.urgent,
        level=saved.classification,
        chosen={node: [str(pk) for pk in picks] for node, picks in (saved.chosen or {}).items()},
    )
    return _render_form(request, flow, values=saved.data, meta=meta, draft=saved)


@login_required
@require_POST
def draft_delete(request: AuthedRequest, instance_id: int) -> HttpResponse:
    saved = _draft(request, instance_id)
    try:
        services.draft_delete(actor=request.user, instance=saved)
    except (DomainError, NotFoundError) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("草稿已删除。"))
    return redirect("workflow:start_list")


@login_required
@require_POST
def start_preview(request: AuthedRequest, flow_id: int) -> HttpResponse:
    """流程预览: the steps and approvers of the form as filled in so far (an htmx fragment)."""
    flow = _flow(request, flow_id)
    version = flow.current_version
    assert version is not None  # noqa: S101
    spec = formspec.parse_form(version.form)
    data = formwidgets.read_posted(spec, request.POST)
    meta = _read_meta(request.POST)
    return render(
        request,
        "workflow/start_route.html",
        {"flow": flow, "meta": meta, **_route(request, flow, data, meta)},
    )


# --------------------------------------------------------------------------- the form's helpers


@login_required
@require_GET
def pick_people(request: AuthedRequest) -> JsonResponse:
    """People matching ``q`` (name, pinyin, 工号) in the address book; with ``flow`` and
    ``node``, only those the initiator may choose on that step."""
    _require_use(request)
    query = request.GET.get("q", "").strip()[:50]
    results: list[dict[str, str]] = []
    if query:
        posts = org_selectors.directory(viewer=request.user).filter(
            org_selectors.person_search(query, prefix="user__"), is_primary=True, user__is_active=True
        )
        flow_id, node_id = request.GET.get("flow", ""), request.GET.get("node", "")
        if flow_id.isdigit() and node_id:
            flow = _flow(request, int(flow_id))
            try:
                allowed = services.choosable_approvers(actor=request.user, flow=flow, node_id=node_id)
            except (DomainError, NotFoundError, definition.DefinitionError):
                raise Http404 from None
            if allowed is not None:
                posts = posts.filter(user_id__in=allowed)
        for post in posts.select_related("user", "unit").order_by("user__name", "user_id")[:SEARCH_RESULTS]:
            results.append({"id": str(post.user_id), "label": post.user.name, "detail": post.unit.name})
    return JsonResponse({"results": results}, json_dumps_params={"ensure_ascii": False})


@login_required
@require_GET
def pick_units(request: AuthedRequest) -> JsonResponse:
    """Departments matching ``q`` (name, short name, code, pinyin) the user may see."""
    _require_use(request)
    query = request.GET.get("q", "").strip()[:50]
    results: list[dict[str, str]] = []
    if query:
        units = org_selectors.visible_units(viewer=request.user).filter(org_selectors.unit_search(query))
        for unit_id, name, code in units.order_by("path").values_list("pk", "name", "code")[:SEARCH_RESULTS]:
            results.append({"id": str(unit_id), "label": name, "detail": code})
    return JsonResponse({"results": results}, json_dumps_params={"ensure_ascii": False})


@login_required
@require_POST
def upload(request: AuthedRequest) -> JsonResponse:
    """An attachment of a form: checked, scanned and stored; the form posts its key."""
    if not access.can(request.user, USE):
        return JsonResponse({"error": _("您没有使用审批的权限。")}, status=403)
    uploaded = request.FILES.get("file")
    if uploaded is None:
        return JsonResponse({"error": _("请选择文件。")}, status=400)
    raw = request.POST.get("level", "")
    level = int(raw) if raw.isdigit() else classification.INTERNAL
    if level not in classification.levels() or not classification.allows(request.user, level):
        return JsonResponse({"error": _("密级无效。")}, status=400)
    try:
        stored = files.store_upload(
            actor=request.user, upload=uploaded, context=ATTACHMENT_CONTEXT, classification=level
        )
    except DomainError as exc:
        return JsonResponse({"error": exc.message}, status=400)
    return JsonResponse(
        {"key": str(stored.key), "name": stored.name, "size": formwidgets.size_text(stored.size)}, status=201
    )
