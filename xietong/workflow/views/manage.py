"""The administrators' pages of the approvals app: the response-time report (R-76) and its
Excel export, the holiday calendar, monitoring running requests (终止, 改派), 批量移交 of a
person's pending items, and 补录 of a matter decided offline (R-81).
Thin: ``reports`` and selectors read, services write."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import FileResponse, Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xietong.core import access, classification, clock
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.files import services as files
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.org import selectors as org_selectors
from xietong.org.models import OrgUnit
from xietong.workflow import formspec, formwidgets, reports, selectors, services
from xietong.workflow.models import (
    CalendarDay,
    DayKind,
    FlowDefinition,
    FlowVersion,
    Instance,
    InstanceState,
    WorkItem,
)
from xietong.workflow.permissions import MANAGE, SUPERVISE

PEOPLE_PAGE = 50
MONITOR_PAGE = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _crumbs(*extra: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("审批"), reverse("workflow:inbox")), *extra]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        return None


def _intervener(request: AuthedRequest) -> None:
    """The monitoring pages: holders of ``workflow.supervise`` or ``workflow.manage``, and
    the administrators named on a flow."""
    user = request.user
    if access.can_any(user, (SUPERVISE, MANAGE)):
        return
    if selectors.administered_flows(user).exists():
        return
    raise PermissionDenied


def nav(request: AuthedRequest, active: str) -> list[dict[str, Any]]:
    """The tabs of the administrators' pages the user may open."""
    user = request.user
    manage = access.can(user, MANAGE)
    intervene = manage or access.can(user, SUPERVISE) or selectors.administered_flows(user).exists()
    tabs = [
        ("reports", _("审批时效"), "speedometer2", True),
        ("monitor", _("流程监控"), "activity", intervene),
        ("handover", _("批量移交"), "people", intervene),
        ("backfill", _("补录"), "journal-plus", intervene),
        ("calendar", _("节假日安排"), "calendar3", manage),
    ]
    return [
        {
            "name": name,
            "label": label,
            "icon": icon,
            "url": reverse(f"workflow:{name}"),
            "active": name == active,
        }
        for name, label, icon, allowed in tabs
        if allowed
    ]


# --------------------------------------------------------------------------- reports


def _report_query(request: AuthedRequest) -> tuple[reports.Report, dict[str, Any]]:
    """The report the query string asks for; ``PermissionDenied`` outside the viewer's reach."""
    get = request.GET
    period = get.get("period", "this_month")
    if period not in reports.PERIODS:
        period = "this_month"
    first, last = _date(get.get("from")), _date(get.get("to"))
    problem = ""
    if period == "custom":
        if first is None or last is None or last < first:
            problem = _("自定义时段的起止日期无效，已改为本月。")
            period = "this_month"
        elif (last - first).days > reports.MAX_PERIOD_DAYS:
            problem = _("自定义时段不能超过两年，已改为本月。")
            period = "this_month"
    since, until = reports.period_bounds(period, first=first, last=last)
    try:
        scope = reports.reach(request.user)
    except PermissionDeniedError:
        raise PermissionDenied from None
    unit = None
    unit_id = _int(get.get("unit"))
    if unit_id is not None:
        unit = scope.units.filter(pk=unit_id).first()
        if unit is None:
            raise PermissionDenied
    flow_id = _int(get.get("flow"))
    flow = FlowDefinition.objects.filter(pk=flow_id).first() if flow_id else None
    try:
        report = reports.response_report(request.user, since=since, until=until, unit=unit, flow=flow)
    except PermissionDeniedError:
        raise PermissionDenied from None
    return report, {
        "period": period,
        "first": timezone.localtime(since).date(),
        "last": timezone.localtime(until).date() - dt.timedelta(days=1),
        "scope": scope,
        "problem": problem,
    }


@login_required
def reports_page(request: AuthedRequest) -> HttpResponse:
    """审批时效: the figures per department and per person, filtered by period, department
    (with the departments below) and flow."""
    report, extra = _report_query(request)
    scope: reports.Reach = extra["scope"]
    page = Paginator(report.people, PEOPLE_PAGE).get_page(request.GET.get("page"))
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(
        request,
        "workflow/manage_reports.html",
        {
            "report": report,
            "page": page,
            "scope_kind": scope.kind,
            "unit_options": org_selectors.unit_options(units=scope.units) if scope.kind != "own" else [],
            "flows": reports.flows_for_filter(),
            "periods": [
                ("this_month", _("本月")),
                ("last_month", _("上月")),
                ("this_quarter", _("本季度")),
                ("this_year", _("本年")),
                ("custom", _("自定义")),
            ],
            "filter_query": keep.urlencode(),
            "breadcrumbs": _crumbs((_("审批时效"), None)),
            "nav": nav(request, "reports"),
            **extra,
        },
    )


@login_required
def reports_export(request: AuthedRequest) -> HttpResponse:
    report, _extra = _report_query(request)
    result = reports.export(actor=request.user, report=report, request=request)
    response = HttpResponse(result.content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{result.name}"'
    return response


# --------------------------------------------------------------------------- the holiday calendar


def _calendar_admin(request: AuthedRequest) -> None:
    if not access.can(request.user, MANAGE):
        raise PermissionDenied


def _calendar_context(request: AuthedRequest, year: int, **extra: Any) -> dict[str, Any]:
    days = list(CalendarDay.objects.filter(date__year=year).order_by("date"))
    months: dict[int, list[CalendarDay]] = {}
    for day in days:
        months.setdefault(day.date.month, []).append(day)
    return {
        "year": year,
        "years": list(range(year - 2, year + 3)),
        "months": sorted(months.items()),
        "holidays": sum(1 for day in days if day.kind == DayKind.HOLIDAY),
        "workdays": sum(1 for day in days if day.kind == DayKind.WORKDAY),
        "kinds": DayKind.choices,
        "import_text": "",
        "import_problems": [],
        "breadcrumbs": _crumbs((_("节假日安排"), None)),
        "nav": nav(request, "calendar"),
        **extra,
    }


def _year(request: AuthedRequest) -> int:
    raw = _int(request.GET.get("year") or request.POST.get("year"))
    return raw if raw is not None and 2000 <= raw <= 2100 else clock.localdate().year


@login_required
def calendar(request: AuthedRequest) -> HttpResponse:
    """节假日安排: a year's exceptions to the working week, with add, delete and import."""
    _calendar_admin(request)
    return render(request, "workflow/manage_calendar.html", _calendar_context(request, _year(request)))


def _to_calendar(year: int) -> HttpResponse:
    return redirect(reverse("workflow:calendar") + f"?year={year}")


@login_required
@require_POST
def calendar_add(request: AuthedRequest) -> HttpResponse:
    _calendar_admin(request)
    day = _date(request.POST.get("date"))
    if day is None:
        messages.error(request, _("请填写有效的日期。"))
        return _to_calendar(_year(request))
    try:
        services.calendar_set(
            actor=request.user,
            date=day,
            kind=request.POST.get("kind", ""),
            name=request.POST.get("name", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已保存 %(day)s。") % {"day": day.isoformat()})
    return _to_calendar(day.year)


@login_required
@require_POST
def calendar_delete(request: AuthedRequest, day: str) -> HttpResponse:
    _calendar_admin(request)
    found = _date(day)
    if found is None:
        raise Http404
    try:
        services.calendar_delete(actor=request.user, date=found)
    except NotFoundError:
        raise Http404 from None
    messages.success(request, _("已删除 %(day)s。") % {"day": found.isoformat()})
    return _to_calendar(found.year)


@login_required
@require_POST
def calendar_import(request: AuthedRequest) -> HttpResponse:
    """Import the lines of the State Council's notice: all of them or, if one is bad, none."""
    _calendar_admin(request)
    text = request.POST.get("lines", "")[:20000]
    try:
        entries = services.calendar_import(actor=request.user, text=text)
    except DomainError as exc:
        context = _calendar_context(
            request,
            _year(request),
            import_text=text,
            import_error=exc.message,
            import_problems=exc.details or [],
        )
        return render(request, "workflow/manage_calendar.html", context, status=400)
    messages.success(request, _("已导入 %(count)d 天的安排。") % {"count": len(entries)})
    return _to_calendar(entries[0].date.year)


# --------------------------------------------------------------------------- monitoring


def _monitored(user: User) -> QuerySet[Instance]:
    """The open requests ``user`` may intervene in: within their ``workflow.supervise`` scope
    (by the initiator's department), or of flows they administer; never above their 密级."""
    condition = selectors.administered(user)
    if access.scope_of(user, SUPERVISE) is not None:
        supervised = access.restrict(user, SUPERVISE, Instance.objects.all(), unit_field="initiator_unit")
        condition |= Q(pk__in=supervised.values("pk"))
    if access.scope_of(user, MANAGE) is not None:
        managed = access.restrict(user, MANAGE, FlowDefinition.objects.all(), unit_field="owner_unit")
        condition |= Q(definition_id__in=managed.values("pk"))
    ids = Instance.objects.filter(condition).values("pk")
    return Instance.objects.filter(
        pk__in=ids,
        state__in=(InstanceState.RUNNING, InstanceState.RETURNED),
        classification__lte=classification.clearance_of(user),
    )


@login_required
def monitor(request: AuthedRequest) -> HttpResponse:
    """流程监控: every open request within reach, filtered by flow, state, the initiator's
    department (with those below), overdue, and no change for N days."""
    _intervener(request)
    user = request.user
    now = clock.now()
    get = request.GET
    instances = _monitored(user)
    flow_id = _int(get.get("flow"))
    if flow_id:
        instances = instances.filter(definition_id=flow_id)
    state = get.get("state", "")
    if state in (InstanceState.RUNNING, InstanceState.RETURNED):
        instances = instances.filter(state=state)
    else:
        state = ""
    unit_id = _int(get.get("unit"))
    unit = OrgUnit.objects.filter(pk=unit_id).first() if unit_id else None
    if unit is not None:
        instances = instances.filter(initiator_unit__path__startswith=unit.path)
    late = WorkItem.objects.filter(
        instance=OuterRef("pk"),
        state=WorkItem.State.PENDING,
        kind__in=services.TASK_KINDS,
        due_at__lt=now,
    )
    instances = instances.annotate(overdue=Exists(late))
    overdue = get.get("overdue") == "1"
    if overdue:
        instances = instances.filter(overdue=True)
    stuck = _int(get.get("stuck"))
    if stuck is not None:
        stuck = min(stuck, 3650)
        instances = instances.filter(updated_at__lt=now - dt.timedelta(days=stuck))
    pending = (
        WorkItem.objects.filter(state=WorkItem.State.PENDING, kind__in=services.TASK_KINDS)
        .select_related("assignee")
        .order_by("pk")
    )
    instances = (
        instances.select_related("definition", "initiator", "initiator_unit")
        .prefetch_related(Prefetch("items", queryset=pending, to_attr="pending_items"))
        .order_by("-overdue", "updated_at", "pk")
    )
    page = Paginator(instances, MONITOR_PAGE).get_page(get.get("page"))
    keep = get.copy()
    keep.pop("page", None)
    return render(
        request,
        "workflow/manage_monitor.html",
        {
            "page": page,
            "now": now,
            "flows": FlowDefinition.objects.order_by("category", "name").only("pk", "name"),
            "unit_options": org_selectors.unit_options(units=org_selectors.visible_units(viewer=user)),
            "flow_id": flow_id,
            "state": state,
            "unit_id": unit.pk if unit else None,
            "overdue": overdue,
            "stuck": stuck,
            "filter_query": keep.urlencode(),
            "breadcrumbs": _crumbs((_("流程监控"), None)),
            "nav": nav(request, "monitor"),
        },
    )


def _monitored_instance(request: AuthedRequest, pk: int) -> Instance:
    _intervener(request)
    found = _monitored(request.user).select_related("version", "definition").filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


@login_required
@require_POST
def monitor_terminate(request: AuthedRequest, pk: int) -> HttpResponse:
    """终止 a request from the monitoring page (flow administrators only, as the service says)."""
    instance = _monitored_instance(request, pk)
    try:
        services.terminate(
            actor=request.user,
            instance=instance,
            request_id=request.POST.get("request_id") or f"terminate-{uuid.uuid4().hex}",
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已终止：%(title)s") % {"title": instance.title})
    back = request.POST.get("next", "")
    return redirect(reverse("workflow:monitor") + (f"?{back}" if back else ""))


# --------------------------------------------------------------------------- picking people

#: The person fields of the intervention forms, drawn by the form widgets of the approvals app.
_PEOPLE_FORM = formspec.parse_form(
    {
        "fields": [
            {"key": "from_user", "type": "user", "label": "移交人"},
            {"key": "to_user", "type": "user", "label": "接收人"},
        ]
    }
)


def _people_widgets(values: Mapping[str, Any], keys: tuple[str, ...], errors: Any = None) -> dict[str, Any]:
    widgets = formwidgets.fields_for(_PEOPLE_FORM, values, errors=errors)
    return {widget.key: [widget] for widget in widgets if widget.key in keys}


def _picked(post: QueryDict, key: str) -> User | None:
    value = formwidgets.read_posted(_PEOPLE_FORM, post).get(key)
    person_id = _int(str(value)) if value is not None and not isinstance(value, list) else None
    return User.objects.filter(pk=person_id, is_active=True).first() if person_id else None


# --------------------------------------------------------------------------- 改派


def _item(request: AuthedRequest, pk: int) -> WorkItem:
    _intervener(request)
    found = (
        WorkItem.objects.select_related("instance", "instance__definition", "assignee", "activation")
        .filter(pk=pk, instance__in=_monitored(request.user))
        .first()
    )
    if found is None:
        raise Http404
    return found


@login_required
@require_http_methods(["GET", "POST"])
def reassign(request: AuthedRequest, pk: int) -> HttpResponse:
    """改派 one pending item to another person, with a reason."""
    item = _item(request, pk)
    error = ""
    reason = ""
    values: dict[str, Any] = {}
    if request.method == "POST":
        reason = request.POST.get("reason", "")[:2000]
        to = _picked(request.POST, "to_user")
        values = {"to_user": to.pk if to else None}
        if to is None:
            error = _("请选择接收人。")
        else:
            try:
                services.reassign(
                    actor=request.user,
                    item=item,
                    to=to,
                    reason=reason,
                    request_id=request.POST.get("request_id") or f"reassign-{uuid.uuid4().hex}",
                )
            except DomainError as exc:
                error = exc.message
            else:
                messages.success(
                    request,
                    _("已将“%(title)s”的待办改派给 %(name)s。")
                    % {"title": item.instance.title, "name": to.name},
                )
                return redirect("workflow:monitor")
    return render(
        request,
        "workflow/manage_reassign.html",
        {
            "item": item,
            "error": error,
            "reason": reason,
            "widgets": _people_widgets(values, ("to_user",)),
            "request_id": uuid.uuid4().hex,
            "breadcrumbs": _crumbs((_("流程监控"), reverse("workflow:monitor")), (_("改派"), None)),
        },
        status=400 if error else 200,
    )


# --------------------------------------------------------------------------- 批量移交


@login_required
@require_http_methods(["GET", "POST"])
def handover(request: AuthedRequest) -> HttpResponse:
    """批量移交: all pending items of one person (a leaver, a long absence) to a successor.
    Choosing the person first lists what would move."""
    _intervener(request)
    source = request.POST if request.method == "POST" else request.GET
    from_user = _picked(source, "from_user")
    to_user = _picked(source, "to_user")
    reason = source.get("reason", "")[:2000]
    error = ""
    result: services.HandoverResult | None = None
    if request.method == "POST":
        if from_user is None or to_user is None:
            error = _("请选择移交人和接收人。")
        else:
            try:
                result = services.handover(
                    actor=request.user,
                    from_user=from_user,
                    to_user=to_user,
                    reason=reason,
                    request_id=request.POST.get("request_id") or f"handover-{uuid.uuid4().hex}",
                )
            except DomainError as exc:
                error = exc.message
    items = services.handover_items(request.user, from_user) if from_user is not None else []
    failed_titles: list[tuple[str, str]] = []
    if result is not None and result.failed:
        titles = dict(
            WorkItem.objects.filter(pk__in=[pk for pk, _m in result.failed]).values_list(
                "pk", "instance__title"
            )
        )
        failed_titles = [(titles.get(pk, ""), message) for pk, message in result.failed]
    return render(
        request,
        "workflow/manage_handover.html",
        {
            "from_user": from_user,
            "to_user": to_user,
            "reason": reason,
            "items": items,
            "result": result,
            "failed": failed_titles,
            "error": error,
            "widgets": _people_widgets(
                {
                    "from_user": from_user.pk if from_user else None,
                    "to_user": to_user.pk if to_user else None,
                },
                ("from_user", "to_user"),
            ),
            "request_id": uuid.uuid4().hex,
            "breadcrumbs": _crumbs((_("流程监控"), reverse("workflow:monitor")), (_("批量移交"), None)),
            "nav": nav(request, "handover"),
        },
        status=400 if error else 200,
    )


# --------------------------------------------------------------------------- 补录

#: The 补录 form's own fields, beside the flow's: who decided, who asked, and the scans.
_BACKFILL_FORM = formspec.parse_form(
    {
        "fields": [
            {"key": "bf_decider", "type": "user", "label": "线下审批人", "required": True},
            {"key": "bf_initiator", "type": "user", "label": "发起人"},
            {
                "key": "bf_scans",
                "type": "attachments",
                "label": "线下审批单扫描件",
                "required": True,
                "max_count": services.MAX_BACKFILL_FILES,
            },
        ]
    }
)


def _backfill_flows(user: User) -> QuerySet[FlowDefinition]:
    """The published flows ``user`` administers (named on the flow, or ``workflow.manage``
    where its owner unit lies)."""
    condition = Q(pk__in=selectors.administered_flows(user).values("pk"))
    if access.scope_of(user, MANAGE) is not None:
        managed = access.restrict(user, MANAGE, FlowDefinition.objects.all(), unit_field="owner_unit")
        condition |= Q(pk__in=managed.values("pk"))
    ids = FlowDefinition.objects.filter(condition).values("pk")
    return (
        FlowDefinition.objects.filter(pk__in=ids, current_version__status=FlowVersion.Status.PUBLISHED)
        .select_related("current_version")
        .order_by("category", "name")
    )


def _backfill_page(
    request: AuthedRequest,
    flow: FlowDefinition,
    *,
    values: Mapping[str, Any],
    meta: Mapping[str, Any],
    errors: Mapping[str, Any] | None = None,
    problem: str = "",
) -> HttpResponse:
    version = flow.current_version
    if version is None:
        raise Http404
    spec = formspec.parse_form(version.form)
    return render(
        request,
        "workflow/manage_backfill.html",
        {
            "flow": flow,
            "fields": formwidgets.fields_for(spec, values, errors=errors),
            "meta_fields": formwidgets.fields_for(_BACKFILL_FORM, meta, errors=errors),
            "has_title_field": any(field.key == "title" for field in spec.fields),
            "post": request.POST if request.method == "POST" else {},
            "levels": [
                (level, classification.label(level))
                for level in classification.levels()
                if classification.allows(request.user, level)
            ],
            "problem": problem,
            "request_id": request.POST.get("request_id") or uuid.uuid4().hex,
            "now_local": timezone.localtime(clock.now()).strftime("%Y-%m-%dT%H:%M"),
            "breadcrumbs": _crumbs((_("补录"), reverse("workflow:backfill")), (flow.name, None)),
            "nav": nav(request, "backfill"),
        },
        status=400 if problem else 200,
    )


def _moment(value: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@login_required
@require_http_methods(["GET", "POST"])
def backfill(request: AuthedRequest) -> HttpResponse:
    """补录: choose a flow, then fill its form with who decided offline, when, why it was not
    done online, and the scans of the signed paper."""
    flows = _backfill_flows(request.user)
    if not flows.exists() and not access.can(request.user, MANAGE):
        raise PermissionDenied
    flow_id = _int(request.GET.get("flow"))
    if flow_id is None:
        recent = (
            Instance.objects.filter(backfilled=True, definition__in=flows)
            .select_related("definition", "initiator")
            .order_by("-created_at")[:20]
        )
        return render(
            request,
            "workflow/manage_backfill_list.html",
            {
                "flows": flows,
                "recent": recent,
                "breadcrumbs": _crumbs((_("补录"), None)),
                "nav": nav(request, "backfill"),
            },
        )
    flow = flows.filter(pk=flow_id).first()
    if flow is None or flow.current_version is None:
        raise Http404
    spec = formspec.parse_form(flow.current_version.form)
    if request.method != "POST":
        return _backfill_page(request, flow, values={}, meta={})
    values = formwidgets.read_posted(spec, request.POST)
    meta_posted = formwidgets.read_posted(_BACKFILL_FORM, request.POST)
    try:
        meta = _BACKFILL_FORM.clean(dict(meta_posted))
    except formspec.FormDataError as exc:
        return _backfill_page(
            request,
            flow,
            values=values,
            meta=meta_posted,
            errors=formwidgets.error_map(exc.errors),
            problem=_("请按提示补全线下审批信息。"),
        )
    decided_at = _moment(request.POST.get("decided_at", ""))
    if decided_at is None:
        return _backfill_page(request, flow, values=values, meta=meta, problem=_("请填写线下审批的时间。"))
    people = {
        user.pk: user for user in User.objects.filter(pk__in=[meta["bf_decider"], meta.get("bf_initiator")])
    }
    scans = list(StoredFile.objects.filter(key__in=[str(key) for key in meta["bf_scans"]]))
    level = _int(request.POST.get("level")) or 0
    try:
        instance = services.backfill(
            actor=request.user,
            flow=flow,
            request_id=request.POST.get("request_id", ""),
            data=values,
            title=request.POST.get("title", ""),
            decided_by=people[int(meta["bf_decider"])],
            decided_at=decided_at,
            outcome=request.POST.get("outcome", InstanceState.APPROVED),
            opinion=request.POST.get("opinion", ""),
            reason=request.POST.get("reason", ""),
            attachments=scans,
            initiator=people.get(int(meta["bf_initiator"])) if meta.get("bf_initiator") else None,
            level=level,
        )
    except formspec.FormDataError as exc:
        return _backfill_page(
            request,
            flow,
            values=values,
            meta=meta,
            errors=formwidgets.error_map(exc.errors),
            problem=_("表单填写有误，请按提示修改后再提交。"),
        )
    except DomainError as exc:
        return _backfill_page(request, flow, values=values, meta=meta, problem=exc.message)
    messages.success(request, _("已补录，编号 %(serial)s。") % {"serial": instance.serial or ""})
    return redirect("workflow:instance", pk=instance.pk)


@login_required
def backfill_file(request: AuthedRequest, pk: int, key: uuid.UUID) -> FileResponse:
    """A scan registered with a 补录 request, for whoever may read the request."""
    try:
        instance = selectors.instance_visible(request.user, pk)
    except NotFoundError:
        raise Http404 from None
    found = next((stored for stored in services.backfill_files(instance) if stored.key == key), None)
    if found is None:
        raise Http404
    try:
        return files.file_response(found)
    except NotFoundError:
        raise Http404 from None
