"""The flow administrators' pages: the list of flows, their properties, the designer (form and
route of the draft version, saved as JSON and checked on every save) and the version history.

Thin: ``selectors`` read, ``services`` write; the designer itself runs in the browser
(``frontend/src/flow-designer.js``) and posts the whole form and route at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xietong.core.access import TRIAD
from xietong.core.errors import DomainError, NotFoundError
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.org import selectors as org_selectors
from xietong.org.models import OrgUnit, Position, Role
from xietong.workflow import definition, formspec, resolve, selectors, services
from xietong.workflow.models import Category, FlowDefinition, FlowVersion

PAGE_SIZE = 20
SEARCH_RESULTS = 10
ICON = re.compile(r"[a-z0-9-]{1,64}")

#: The field types of the palette, in the order shown (every type ``formspec`` accepts).
FIELD_TYPE_LABELS: tuple[tuple[str, Any, str], ...] = (
    ("text", gettext_lazy("单行文本"), "input-cursor-text"),
    ("textarea", gettext_lazy("多行文本"), "textarea-t"),
    ("number", gettext_lazy("数字"), "123"),
    ("money", gettext_lazy("金额"), "currency-yen"),
    ("date", gettext_lazy("日期"), "calendar-event"),
    ("daterange", gettext_lazy("日期区间"), "calendar-range"),
    ("select", gettext_lazy("单选"), "ui-radios"),
    ("multiselect", gettext_lazy("多选"), "ui-checks"),
    ("user", gettext_lazy("成员"), "person"),
    ("unit", gettext_lazy("部门"), "diagram-3"),
    ("attachments", gettext_lazy("附件"), "paperclip"),
    ("table", gettext_lazy("明细表"), "table"),
    ("computed", gettext_lazy("计算公式"), "calculator"),
    ("description", gettext_lazy("说明文字"), "info-square"),
)

STARTER_FLOW: dict[str, Any] = {
    "initiators": [{"kind": "everyone"}],
    "settings": {},
    "nodes": [
        {
            "id": "n1",
            "type": "approval",
            "name": "直属主管审批",
            "approvers": {"kind": "head", "level": 1},
            "mode": "sequential",
        }
    ],
}
STARTER_FORM: dict[str, Any] = {
    "fields": [{"key": "reason", "type": "textarea", "label": "申请事由", "required": True}]
}


def _crumbs(*extra: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("审批"), None), (_("流程管理"), reverse("workflow:flows")), *extra]


def _require_designer(request: AuthedRequest) -> None:
    if not selectors.can_design(request.user):
        raise PermissionDenied


def _flow(request: AuthedRequest, pk: int) -> FlowDefinition:
    _require_designer(request)
    try:
        return selectors.managed_flow(request.user, pk)
    except NotFoundError:
        raise Http404 from None


# --------------------------------------------------------------------------- properties


class FlowForm(forms.Form):
    """A flow's properties; the code is fixed once the flow exists."""

    code = forms.CharField(
        label=gettext_lazy("编码"),
        max_length=64,
        help_text=gettext_lazy("小写字母开头，只含小写字母、数字、下划线和连字符，创建后不能修改"),
    )
    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    category = forms.ChoiceField(label=gettext_lazy("分类"), choices=Category.choices)
    owner_unit = forms.ModelChoiceField(
        label=gettext_lazy("归口部门"), queryset=OrgUnit.objects.none(), required=False
    )
    icon = forms.CharField(
        label=gettext_lazy("图标"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("Bootstrap Icons 图标名，如 file-earmark-text"),
    )
    description = forms.CharField(
        label=gettext_lazy("说明"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(
        label=gettext_lazy("启用（停用后不能发起新的申请，进行中的申请不受影响）"), required=False
    )

    def __init__(self, *args: Any, user: User, flow: FlowDefinition | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flow = flow
        units = selectors.design_owner_units(user)
        owner = self.fields["owner_unit"]
        assert isinstance(owner, forms.ModelChoiceField)  # noqa: S101  (declared above)
        owner.queryset = units
        if flow is None:
            del self.fields["is_active"]
        else:
            del self.fields["code"]
            # The owner unit decides who manages the flow: it stays as created.
            del self.fields["owner_unit"]
        for name, field in self.fields.items():
            css = "form-check-input" if isinstance(field, forms.BooleanField) else "form-control"
            if isinstance(field, forms.ChoiceField):
                css = "form-select"
            field.widget.attrs.setdefault("class", css)
            field.widget.attrs.setdefault("id", f"id_{name}")

    def clean_icon(self) -> str:
        icon = str(self.cleaned_data.get("icon") or "").strip().removeprefix("bi-")
        if icon and not ICON.fullmatch(icon):
            raise forms.ValidationError(_("图标名称只能包含小写字母、数字和连字符。"))
        return icon


def _place_error(form: FlowForm, exc: DomainError) -> None:
    message = exc.message
    if "编码" in message and "code" in form.fields:
        form.add_error("code", message)
    elif "名称" in message:
        form.add_error("name", message)
    elif "图标" in message:
        form.add_error("icon", message)
    else:
        form.add_error(None, message)


@login_required
@require_GET
def flows(request: AuthedRequest) -> HttpResponse:
    """流程管理: every flow the administrator may design, with its state and drafts."""
    _require_designer(request)
    query = request.GET.get("q", "").strip()[:50]
    category = request.GET.get("category", "")
    rows = selectors.managed_flows(request.user)
    if query:
        rows = rows.filter(Q(name__icontains=query) | Q(code__icontains=query))
    if category in Category.values:
        rows = rows.filter(category=category)
    else:
        category = ""
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(
        request,
        "workflow/designer_flows.html",
        {
            "page": page,
            "query": query,
            "category": category,
            "categories": Category.choices,
            "filter_query": keep.urlencode(),
            "breadcrumbs": _crumbs(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def flow_create(request: AuthedRequest) -> HttpResponse:
    _require_designer(request)
    form = FlowForm(request.POST or None, user=request.user, initial={"category": Category.OTHER})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            flow = services.definition_create(
                actor=request.user,
                code=data["code"],
                name=data["name"],
                category=data["category"],
                description=data["description"],
                icon=data["icon"],
                owner_unit=data["owner_unit"],
            )
        except DomainError as exc:
            _place_error(form, exc)
        else:
            messages.success(request, _("流程已创建，请设计表单和审批流程。"))
            return redirect("workflow:flow_design", pk=flow.pk)
    return render(
        request,
        "workflow/designer_form.html",
        {"form": form, "flow": None, "breadcrumbs": _crumbs((_("新建流程"), None))},
    )


@login_required
@require_http_methods(["GET", "POST"])
def flow_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    flow = _flow(request, pk)
    initial = {
        "name": flow.name,
        "category": flow.category,
        "icon": flow.icon,
        "description": flow.description,
        "is_active": flow.is_active,
    }
    form = FlowForm(request.POST or None, user=request.user, flow=flow, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.definition_update(
                actor=request.user,
                flow=flow,
                name=data["name"],
                category=data["category"],
                description=data["description"],
                icon=data["icon"],
                is_active=data["is_active"],
            )
        except DomainError as exc:
            _place_error(form, exc)
        else:
            messages.success(request, _("流程属性已保存。"))
            return redirect("workflow:flows")
    return render(
        request,
        "workflow/designer_form.html",
        {"form": form, "flow": flow, "breadcrumbs": _crumbs((flow.name, None), (_("流程属性"), None))},
    )


@login_required
@require_POST
def flow_toggle(request: AuthedRequest, pk: int) -> HttpResponse:
    """启用 / 停用 from the list."""
    flow = _flow(request, pk)
    active = request.POST.get("active") == "1"
    try:
        services.definition_update(actor=request.user, flow=flow, is_active=active)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            (_("“%(name)s”已启用。") if active else _("“%(name)s”已停用，进行中的申请不受影响。"))
            % {"name": flow.name},
        )
    back = request.POST.get("next", "")
    if not back.startswith(reverse("workflow:flows")) or "//" in back:
        back = reverse("workflow:flows")
    return redirect(back)


# --------------------------------------------------------------------------- the designer


def _walk(nodes: Any) -> Iterator[Mapping[str, Any]]:
    for node in nodes if isinstance(nodes, list) else ():
        if isinstance(node, Mapping):
            yield node
            for branch in node.get("branches") or () if isinstance(node.get("branches"), list) else ():
                if isinstance(branch, Mapping):
                    yield {"__branch__": True, **branch}
                    yield from _walk(branch.get("nodes"))


def _short(value: str) -> str:
    return value if len(value) <= 40 else value[:40] + "…"


def _flow_labels(route: Mapping[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    """How the validator names each node and branch (``节点「名称」`` or ``节点 n1``)."""
    labels: list[tuple[re.Pattern[str], str]] = []
    for item in _walk(route.get("nodes") if isinstance(route, Mapping) else None):
        ident = item.get("id")
        if not isinstance(ident, str):
            continue
        what = _("分支") if item.get("__branch__") else _("节点")
        name = item.get("name")
        if isinstance(name, str) and name.strip():
            label = f"{what}「{_short(name.strip())}」"
            labels.append((re.compile(re.escape(label)), ident))
        labels.append((re.compile(re.escape(f"{what} {_short(ident)}") + r"(?![A-Za-z0-9_-])"), ident))
    return labels


def _form_labels(form: Mapping[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    """How ``parse_form`` and the validator name each field."""
    labels: list[tuple[re.Pattern[str], str]] = []
    fields = form.get("fields") if isinstance(form, Mapping) else None
    for position, raw in enumerate(fields if isinstance(fields, list) else (), start=1):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("key"), str):
            continue
        key = raw["key"]
        labels.append((re.compile(re.escape(_("第 %(n)d 个字段") % {"n": position}) + r"(?!\d)"), key))
        labels.append((re.compile(f"（{re.escape(key)}[）.]"), key))
        labels.append((re.compile(f"“{re.escape(key)}[”.]"), key))
        if isinstance(raw.get("label"), str):
            labels.append((re.compile(f"“{re.escape(raw['label'])}”的第"), key))
    return labels


def _locate(message: str, labels: list[tuple[re.Pattern[str], str]]) -> str | None:
    """The node, branch or field a message is about: the one named first in it."""
    best: tuple[int, str] | None = None
    for pattern, target in labels:
        found = pattern.search(message)
        if found and (best is None or found.start() < best[0]):
            best = (found.start(), target)
    return best[1] if best else None


def check_design(
    form: Mapping[str, Any], route: Mapping[str, Any], *, references: bool
) -> list[dict[str, Any]]:
    """Every problem of a form and route as the designer shows them: ``scope`` ("form" or
    "flow") and ``target`` (a field key, a node or branch id, or None for the whole)."""
    problems: list[dict[str, Any]] = []
    spec: formspec.FormSpec | None = None
    field_labels = _form_labels(form)
    try:
        spec = formspec.parse_form(form)
    except formspec.FormSpecError as exc:
        problems.extend(
            {"scope": "form", "target": _locate(message, field_labels), "message": message}
            for message in exc.problems
        )
    flow_messages = definition.validate_definition(route, spec)
    if not flow_messages and references and spec is not None:
        flow_messages = resolve.reference_problems(route)
    node_labels = _flow_labels(route)
    for message in flow_messages:
        target = _locate(message, node_labels)
        if target is None and message.startswith(("发起人", "流程设置", "审批管理员")):
            target = "__start__"
        problems.append({"scope": "flow", "target": target, "message": message})
    return problems


def _ids_in(route: Mapping[str, Any]) -> tuple[set[int], set[int]]:
    """The user and unit ids a route names, to show their names in the designer."""
    users: set[int] = set()
    units: set[int] = set()
    settings = route.get("settings")
    if isinstance(settings, Mapping) and isinstance(settings.get("admin_user_ids"), list):
        users.update(i for i in settings["admin_user_ids"] if isinstance(i, int))
    for rule in route.get("initiators") or () if isinstance(route.get("initiators"), list) else ():
        if isinstance(rule, Mapping) and isinstance(rule.get("id"), int):
            (units if rule.get("kind") == "unit" else users if rule.get("kind") == "user" else set()).add(
                rule["id"]
            )
    for node in _walk(route.get("nodes")):
        for key in ("approvers", "recipients"):
            spec = node.get(key)
            while isinstance(spec, Mapping):
                if spec.get("kind") == "users" and isinstance(spec.get("ids"), list):
                    users.update(i for i in spec["ids"] if isinstance(i, int))
                if spec.get("kind") == "unit_head" and isinstance(spec.get("unit_id"), int):
                    units.add(spec["unit_id"])
                spec = spec.get("among")
        leaves = [node.get("condition")]
        while leaves:
            leaf = leaves.pop()
            if not isinstance(leaf, Mapping):
                continue
            for group in ("all", "any"):
                if isinstance(leaf.get(group), list):
                    leaves.extend(leaf[group])
            if isinstance(leaf.get("not"), Mapping):
                leaves.append(leaf["not"])
            if leaf.get("subject") == "initiator_unit" and isinstance(leaf.get("value"), list):
                units.update(i for i in leaf["value"] if isinstance(i, int))
    return users, units


def _names(route: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    users, units = _ids_in(route)
    return {
        "users": {str(pk): name for pk, name in User.objects.filter(pk__in=users).values_list("pk", "name")}
        if users
        else {},
        "units": {
            str(pk): name for pk, name in OrgUnit.objects.filter(pk__in=units).values_list("pk", "name")
        }
        if units
        else {},
    }


def _catalogue() -> dict[str, Any]:
    """What the designer's pickers offer: roles (not the 三员 ones), positions, field types and
    the vocabulary of the route."""
    return {
        "roles": [
            {"code": code, "name": name}
            for code, name in Role.objects.exclude(admin_tier__in=TRIAD)
            .order_by("name")
            .values_list("code", "name")
        ],
        "positions": [
            {"id": pk, "name": name}
            for pk, name in Position.objects.order_by("name").values_list("pk", "name")
        ],
        "fieldTypes": [
            {"type": kind, "label": str(label), "icon": icon} for kind, label, icon in FIELD_TYPE_LABELS
        ],
        "approverKinds": list(definition.APPROVER_KINDS),
        "initiatorKinds": list(definition.INITIATOR_KINDS),
        "settingChoices": {key: list(values) for key, values in definition.SETTING_CHOICES.items()},
        "defaults": dict(definition.DEFAULTS),
        "opinionActions": {key: list(values) for key, values in definition.OPINION_ACTIONS.items()},
        "fieldPermissions": list(definition.FIELD_PERMISSIONS),
        "maxHeadLevel": definition.MAX_HEAD_LEVEL,
    }


def _design_page(
    request: AuthedRequest,
    flow: FlowDefinition,
    *,
    version: FlowVersion | None,
    form: Mapping[str, Any],
    route: Mapping[str, Any],
    readonly: bool,
    title: str,
) -> HttpResponse:
    draft = version if version is not None and version.status == FlowVersion.Status.DRAFT else None
    data = {
        "form": form,
        "flow": route,
        "readonly": readonly,
        "names": _names(route),
        "catalogue": _catalogue(),
        "problems": check_design(form, route, references=True) if draft is not None else [],
        "urls": {
            "save": reverse("workflow:flow_save", args=[flow.pk]),
            "publish": reverse("workflow:flow_publish", args=[flow.pk]),
            "pick": reverse("workflow:flow_pick"),
            "versions": reverse("workflow:flow_versions", args=[flow.pk]),
        },
    }
    return render(
        request,
        "workflow/designer_design.html",
        {
            "flow": flow,
            "version": version,
            "draft": draft,
            "readonly": readonly,
            "designer": data,
            "breadcrumbs": _crumbs(
                (flow.name, reverse("workflow:flow_versions", args=[flow.pk])), (title, None)
            ),
        },
    )


@login_required
@require_GET
def flow_design(request: AuthedRequest, pk: int) -> HttpResponse:
    """The designer on the flow's draft; without one, on a copy of the published version (the
    first save makes it the new draft), or on a starter flow for a new one."""
    flow = _flow(request, pk)
    draft = selectors.flow_draft(flow)
    base = draft or flow.current_version
    form = base.form if base is not None else STARTER_FORM
    route = base.flow if base is not None else STARTER_FLOW
    return _design_page(
        request, flow, version=base, form=form, route=route, readonly=False, title=_("设计流程")
    )


def _json_body(request: AuthedRequest) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise DomainError(_("提交的内容不是有效的 JSON。")) from None
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("form"), dict)
        or not isinstance(body.get("flow"), dict)
    ):
        raise DomainError(_("表单和流程必须是对象。"))
    return body["form"], body["flow"]


def _refused(message: str, status: int = 400, problems: list[dict[str, Any]] | None = None) -> JsonResponse:
    return JsonResponse(
        {"ok": False, "message": message, "problems": problems or []},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


@login_required
@require_POST
def flow_save(request: AuthedRequest, pk: int) -> JsonResponse:
    """保存草稿: keep the work as the draft version, whatever its state, and say what is still
    wrong with it (publishing refuses until nothing is)."""
    flow = _flow(request, pk)
    try:
        form, route = _json_body(request)
        draft = services.version_save(actor=request.user, flow=flow, form=form, route=route)
    except DomainError as exc:
        return _refused(exc.message)
    problems = check_design(draft.form, draft.flow, references=True)
    return JsonResponse(
        {"ok": True, "number": draft.number, "problems": problems},
        json_dumps_params={"ensure_ascii": False},
    )


@login_required
@require_POST
def flow_publish(request: AuthedRequest, pk: int) -> JsonResponse:
    """发布: save what is posted as the draft, then publish it; every problem comes back to be
    shown where it belongs, and nothing is published while there is one."""
    flow = _flow(request, pk)
    try:
        if request.content_type == "application/json":
            form, route = _json_body(request)
            services.version_save(actor=request.user, flow=flow, form=form, route=route)
    except DomainError as exc:
        return _refused(exc.message)
    draft = selectors.flow_draft(flow)
    if draft is None:
        return _refused(_("没有可发布的草稿。"))
    problems = check_design(draft.form, draft.flow, references=True)
    if problems:
        return _refused(
            _("还有 %(count)d 个问题需要修改，修改后才能发布。") % {"count": len(problems)}, problems=problems
        )
    try:
        published = services.version_publish(actor=request.user, version=draft)
    except (formspec.FormSpecError, definition.DefinitionError) as exc:
        listed = [{"scope": "flow", "target": None, "message": text} for text in exc.problems]
        return _refused(exc.message, problems=listed)
    except DomainError as exc:
        return _refused(exc.message)
    messages.success(
        request,
        _("“%(name)s”第 %(number)d 版已发布，新的申请将按此版本办理；进行中的申请仍按原版本办理。")
        % {"name": flow.name, "number": published.number},
    )
    return JsonResponse(
        {
            "ok": True,
            "number": published.number,
            "redirect": reverse("workflow:flow_versions", args=[flow.pk]),
        },
        json_dumps_params={"ensure_ascii": False},
    )


@login_required
@require_GET
def flow_pick(request: AuthedRequest) -> JsonResponse:
    """The pickers' suggestions: people (``kind=user``) or departments (``kind=unit``)
    matching ``q`` by name, pinyin or code, within what the administrator may see."""
    _require_designer(request)
    query = request.GET.get("q", "").strip()[:50]
    kind = request.GET.get("kind", "user")
    results: list[dict[str, Any]] = []
    if query and kind == "unit":
        units = org_selectors.visible_units(viewer=request.user).filter(org_selectors.unit_search(query))
        results = [
            {"id": pk, "label": name, "detail": ""}
            for pk, name in units.order_by("path").values_list("pk", "name")[:SEARCH_RESULTS]
        ]
    elif query:
        posts = org_selectors.directory(viewer=request.user).filter(
            org_selectors.person_search(query, prefix="user__"), is_primary=True
        )
        results = [
            {"id": post.user_id, "label": post.user.name, "detail": post.unit.name}
            for post in posts.order_by("user__name", "user_id")[:SEARCH_RESULTS]
        ]
    return JsonResponse({"results": results}, json_dumps_params={"ensure_ascii": False})


# --------------------------------------------------------------------------- versions


@login_required
@require_GET
def flow_versions(request: AuthedRequest, pk: int) -> HttpResponse:
    """版本历史: every version with its state and who published it."""
    flow = _flow(request, pk)
    versions = list(selectors.flow_versions(flow))
    return render(
        request,
        "workflow/designer_versions.html",
        {
            "flow": flow,
            "versions": versions,
            "has_draft": any(version.status == FlowVersion.Status.DRAFT for version in versions),
            "breadcrumbs": _crumbs((flow.name, None), (_("版本历史"), None)),
        },
    )


def _version(flow: FlowDefinition, number: int) -> FlowVersion:
    version = flow.versions.filter(number=number).first()
    if version is None:
        raise Http404
    return version


@login_required
@require_GET
def flow_version(request: AuthedRequest, pk: int, number: int) -> HttpResponse:
    """One version, read-only, in the designer's view."""
    flow = _flow(request, pk)
    version = _version(flow, number)
    title = _("第 %(number)d 版（只读）") % {"number": version.number}
    return _design_page(
        request, flow, version=version, form=version.form, route=version.flow, readonly=True, title=title
    )


@login_required
@require_POST
def flow_version_copy(request: AuthedRequest, pk: int, number: int) -> HttpResponse:
    """复制为新草稿: an old version's form and route become the draft (replacing the draft)."""
    flow = _flow(request, pk)
    version = _version(flow, number)
    try:
        draft = services.version_save(actor=request.user, flow=flow, form=version.form, route=version.flow)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("workflow:flow_versions", pk=flow.pk)
    messages.success(
        request,
        _("已将第 %(old)d 版复制为草稿（第 %(new)d 版），修改后发布即可生效。")
        % {"old": version.number, "new": draft.number},
    )
    return redirect("workflow:flow_design", pk=flow.pk)
