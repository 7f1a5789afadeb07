"""Response-time reports of the approval engine (R-76): per person and per department over a
period — items handled, median and 90th-percentile response time, the share handled within
the time limit, the items that went overdue, and those overdue right now.

What counts: approval and handling items (审批, 办理) that reached their holder within the
period. *Handled* are those the holder closed by their own hand (同意, 拒绝, 退回, 转交); the
response time is from arrival to that moment, in calendar hours. An item is *overdue* when it
was handled after its deadline, was marked overdue by the deadline sweep, or is still pending
past its deadline. *Overdue now* counts every pending item past its deadline, whenever it
arrived. A person is placed in their current primary department.

Who sees what (``reach``): a holder of ``workflow.supervise`` sees everyone whose department
lies in their data scope; a department head sees the people of the departments they head and
the departments below; anyone else with ``workflow.use`` sees their own row.

On PostgreSQL the figures are computed by the database (``percentile_cont`` per group); on
other databases one query reads the period's items of the people in reach and Python counts.
Either way the number of queries does not grow with the number of people or items.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Case,
    Count,
    DurationField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from xietong.audit.services import Target, record
from xietong.core import access, clock
from xietong.core.errors import PermissionDeniedError
from xietong.identity.models import User
from xietong.org.models import Membership, OrgUnit
from xietong.workflow import audit_actions
from xietong.workflow.models import FlowDefinition, WorkItem
from xietong.workflow.permissions import SUPERVISE, USE

TASK_KINDS = (WorkItem.Kind.APPROVE, WorkItem.Kind.HANDLE)
DONE_STATES = (
    WorkItem.State.APPROVED,
    WorkItem.State.REJECTED,
    WorkItem.State.RETURNED,
    WorkItem.State.TRANSFERRED,
)
PERIODS = ("this_month", "last_month", "this_quarter", "this_year", "custom")
#: The longest custom period (a report over more than two years is an export job, not a page).
MAX_PERIOD_DAYS = 2 * 366


# --------------------------------------------------------------------------- who sees what


@dataclass(frozen=True)
class Reach:
    """The people a viewer may see figures of: ``kind`` is "supervise", "head" or "own";
    ``people`` a sub-query of user ids; ``units`` the departments they may narrow to."""

    kind: str
    people: QuerySet[Any]
    units: QuerySet[OrgUnit]


def _primary_posts() -> QuerySet[Membership]:
    return Membership.objects.filter(is_primary=True)


def headed_units(viewer: User) -> QuerySet[OrgUnit]:
    """The departments ``viewer`` heads, and every department below them."""
    paths = list(
        OrgUnit.objects.filter(
            memberships__user=viewer, memberships__is_head=True, is_active=True
        ).values_list("path", flat=True)
    )
    units: QuerySet[OrgUnit] = OrgUnit.objects.all()
    if not paths:
        return units.none()
    condition = Q()
    for path in paths:
        condition |= Q(path__startswith=path)
    return units.filter(condition)


def reach(viewer: User) -> Reach:
    """Whom ``viewer`` may see in the reports; ``PermissionDeniedError`` for nobody."""
    if access.scope_of(viewer, SUPERVISE) is not None:
        units = access.restrict(viewer, SUPERVISE, OrgUnit.objects.all(), unit_field="pk")
        posts = access.restrict(viewer, SUPERVISE, _primary_posts(), unit_field="unit")
        return Reach("supervise", posts.values("user_id"), units)
    headed = headed_units(viewer)
    if headed.exists():
        posts = _primary_posts().filter(unit__in=headed.values("pk"))
        return Reach("head", posts.values("user_id"), headed)
    if access.can(viewer, USE):
        return Reach("own", User.objects.filter(pk=viewer.pk).values("pk"), OrgUnit.objects.none())
    raise PermissionDeniedError(_("您没有查看审批时效报表的权限。"))


# --------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class Figures:
    handled: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    #: Handled within the time limit, as a share of ``handled`` (0…1).
    within_limit: float | None = None
    overdue: int = 0
    overdue_now: int = 0


@dataclass(frozen=True)
class PersonRow:
    user_id: int
    name: str
    username: str
    unit_id: int | None
    unit_name: str
    figures: Figures


@dataclass(frozen=True)
class UnitRow:
    unit_id: int | None
    name: str
    people: int
    figures: Figures


@dataclass(frozen=True)
class Report:
    since: dt.datetime
    until: dt.datetime
    people: list[PersonRow]
    units: list[UnitRow]
    total: Figures
    unit: OrgUnit | None = None
    flow: FlowDefinition | None = None


def _percentile(values: Sequence[float], share: float) -> float | None:
    """The linear-interpolation percentile (PostgreSQL's ``percentile_cont``)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class _PercentileCont(Aggregate):
    """``percentile_cont(share) WITHIN GROUP (ORDER BY expression)`` (PostgreSQL)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(share)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, share: float) -> None:
        super().__init__(expression, share=repr(float(share)), output_field=DurationField())


_DONE = Q(state__in=DONE_STATES, acted_at__isnull=False)
_WITHIN = _DONE & (Q(due_at__isnull=True) | Q(acted_at__lte=F("due_at")))


def _overdue_condition(now: dt.datetime) -> Q:
    return (
        Q(overdue_at__isnull=False)
        | Q(acted_at__isnull=False, due_at__isnull=False, acted_at__gt=F("due_at"))
        | Q(state=WorkItem.State.PENDING, due_at__lt=now)
    )


def _items(
    people: QuerySet[Any], *, since: dt.datetime, until: dt.datetime, flow: FlowDefinition | None
) -> QuerySet[WorkItem]:
    unit = Subquery(_primary_posts().filter(user=OuterRef("assignee_id")).values("unit_id")[:1])
    items = WorkItem.objects.filter(
        kind__in=TASK_KINDS, created_at__gte=since, created_at__lt=until, assignee_id__in=people
    )
    if flow is not None:
        items = items.filter(instance__definition=flow)
    return items.annotate(unit_id=unit).order_by()


def _hours(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 3600


def _sql_figures(items: QuerySet[WorkItem], now: dt.datetime, group: str | None) -> Any:
    response = Case(When(_DONE, then=F("acted_at") - F("created_at")), output_field=DurationField())
    aggregates: dict[str, Any] = {
        "handled": Count("pk", filter=_DONE),
        "within": Count("pk", filter=_WITHIN),
        "overdue": Count("pk", filter=_overdue_condition(now)),
        "median": _PercentileCont(response, 0.5),
        "p90": _PercentileCont(response, 0.9),
    }
    if group is None:
        return items.aggregate(**aggregates)
    return items.values(group).annotate(**aggregates)


def _figures_of(row: Mapping[str, Any], overdue_now: int) -> Figures:
    handled = int(row["handled"] or 0)
    return Figures(
        handled=handled,
        median_hours=_hours(row["median"]),
        p90_hours=_hours(row["p90"]),
        within_limit=(row["within"] / handled) if handled else None,
        overdue=int(row["overdue"] or 0),
        overdue_now=overdue_now,
    )


@dataclass
class _Tally:
    hours: list[float] = field(default_factory=list)
    within: int = 0
    overdue: int = 0

    def row(self) -> dict[str, Any]:
        return {
            "handled": len(self.hours),
            "within": self.within,
            "overdue": self.overdue,
            "median": None if not self.hours else dt.timedelta(hours=_percentile(self.hours, 0.5) or 0),
            "p90": None if not self.hours else dt.timedelta(hours=_percentile(self.hours, 0.9) or 0),
        }


def _python_figures(
    items: QuerySet[WorkItem], now: dt.datetime
) -> tuple[dict[int, dict[str, Any]], dict[int | None, dict[str, Any]], dict[str, Any]]:
    people: dict[int, _Tally] = defaultdict(_Tally)
    units: dict[int | None, _Tally] = defaultdict(_Tally)
    total = _Tally()
    # ``unit_id`` is the annotation of ``_items`` (the holder's primary department).
    rows = items.values_list(  # type: ignore[misc]
        "assignee_id", "unit_id", "state", "created_at", "acted_at", "due_at", "overdue_at"
    )
    for assignee, unit, state, created, acted, due, overdue_at in rows.iterator(chunk_size=5000):
        tallies = (people[assignee], units[unit], total)
        late = (
            overdue_at is not None
            or (acted is not None and due is not None and acted > due)
            or (state == WorkItem.State.PENDING and due is not None and due < now)
        )
        for tally in tallies:
            tally.overdue += int(late)
        if state not in DONE_STATES or acted is None:
            continue
        hours = (acted - created).total_seconds() / 3600
        within = due is None or acted <= due
        for tally in tallies:
            tally.hours.append(hours)
            tally.within += int(within)
    return (
        {key: tally.row() for key, tally in people.items()},
        {key: tally.row() for key, tally in units.items()},
        total.row(),
    )


def _overdue_now(people: QuerySet[Any], flow: FlowDefinition | None, now: dt.datetime) -> dict[int, int]:
    items = WorkItem.objects.filter(
        kind__in=TASK_KINDS, state=WorkItem.State.PENDING, due_at__lt=now, assignee_id__in=people
    )
    if flow is not None:
        items = items.filter(instance__definition=flow)
    rows = items.order_by().values("assignee_id").annotate(count=Count("pk"))
    return {row["assignee_id"]: row["count"] for row in rows}


def response_report(
    viewer: User,
    *,
    since: dt.datetime,
    until: dt.datetime,
    unit: OrgUnit | None = None,
    flow: FlowDefinition | None = None,
) -> Report:
    """The figures per person, per department and in total for the people ``viewer`` may see
    (``reach``), narrowed to ``unit`` and the departments below it and to ``flow``. A unit
    outside the viewer's reach is refused (``PermissionDeniedError``)."""
    scope = reach(viewer)
    people = scope.people
    if unit is not None:
        if not scope.units.filter(pk=unit.pk).exists():
            raise PermissionDeniedError(_("您无权查看该部门的审批时效。"))
        subtree = OrgUnit.objects.filter(path__startswith=unit.path).values("pk")
        people = _primary_posts().filter(user_id__in=people, unit__in=subtree).values("user_id")
    now = clock.now()
    items = _items(people, since=since, until=until, flow=flow)
    current = _overdue_now(people, flow, now)
    if connection.vendor == "postgresql":
        by_person = {row["assignee_id"]: row for row in _sql_figures(items, now, "assignee_id")}
        by_unit: dict[int | None, dict[str, Any]] = {
            row["unit_id"]: row for row in _sql_figures(items, now, "unit_id")
        }
        total_row = _sql_figures(items, now, None)
    else:
        by_person, by_unit, total_row = _python_figures(items, now)
    user_ids = set(by_person) | set(current)
    if scope.kind == "own":
        # Their own row, even when nothing reached them in the period.
        user_ids.add(viewer.pk)
    posts = {
        post.user_id: post
        for post in _primary_posts().filter(user_id__in=user_ids).select_related("user", "unit")
    }
    missing = user_ids - set(posts)
    users = {user.pk: user for user in User.objects.filter(pk__in=missing)} if missing else {}
    empty = _Tally().row()
    person_rows: list[PersonRow] = []
    unit_people: dict[int | None, int] = defaultdict(int)
    unit_overdue_now: dict[int | None, int] = defaultdict(int)
    unit_names: dict[int | None, tuple[str, str]] = {None: ("\uffff", _("未分配部门"))}
    for user_id in user_ids:
        post = posts.get(user_id)
        person = post.user if post is not None else users[user_id]
        unit_id = post.unit_id if post is not None else None
        if post is not None:
            unit_names[unit_id] = (post.unit.path, post.unit.name)
        unit_people[unit_id] += 1
        unit_overdue_now[unit_id] += current.get(user_id, 0)
        person_rows.append(
            PersonRow(
                user_id=user_id,
                name=person.name or person.username,
                username=person.username,
                unit_id=unit_id,
                unit_name=unit_names[unit_id][1],
                figures=_figures_of(by_person.get(user_id, empty), current.get(user_id, 0)),
            )
        )
    person_rows.sort(key=lambda row: (unit_names[row.unit_id][0], row.name, row.user_id))
    unit_rows = [
        UnitRow(
            unit_id=unit_id,
            name=unit_names[unit_id][1],
            people=unit_people[unit_id],
            figures=_figures_of(by_unit.get(unit_id, empty), unit_overdue_now[unit_id]),
        )
        for unit_id in sorted(unit_people, key=lambda key: unit_names[key][0])
    ]
    return Report(
        since=since,
        until=until,
        people=person_rows,
        units=unit_rows,
        total=_figures_of(total_row, sum(current.values())),
        unit=unit,
        flow=flow,
    )


# --------------------------------------------------------------------------- periods


def period_bounds(
    period: str, *, today: dt.date | None = None, first: dt.date | None = None, last: dt.date | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """The moments a named period starts and ends (local days; ``last`` included)."""
    today = today or clock.localdate()
    if period == "last_month":
        end = today.replace(day=1)
        start = (end - dt.timedelta(days=1)).replace(day=1)
    elif period == "this_quarter":
        start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        end = _add_months(start, 3)
    elif period == "this_year":
        start = today.replace(month=1, day=1)
        end = start.replace(year=start.year + 1)
    elif period == "custom" and first is not None and last is not None:
        start, end = first, last + dt.timedelta(days=1)
    else:
        start = today.replace(day=1)
        end = _add_months(start, 1)
    zone = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end, dt.time.min, tzinfo=zone),
    )


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 + months
    return day.replace(year=day.year + index // 12, month=index % 12 + 1)


# --------------------------------------------------------------------------- the Excel export


def _cell(sheet: Any, value: str, *, bold: bool = False) -> Any:
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    # A name starting with "=" stays text, never runs as a formula.
    cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)
    return cell


def _number(sheet: Any, value: float | None, pattern: str) -> Any:
    cell = WriteOnlyCell(sheet, value=None if value is None else round(value, 4))
    cell.number_format = pattern
    return cell


def _figure_cells(sheet: Any, figures: Figures) -> list[Any]:
    return [
        figures.handled,
        _number(sheet, figures.median_hours, "0.0"),
        _number(sheet, figures.p90_hours, "0.0"),
        _number(sheet, figures.within_limit, "0.0%"),
        figures.overdue,
        figures.overdue_now,
    ]


def _figure_headers() -> list[str]:
    return [
        _("已处理"),
        _("响应时长中位数（小时）"),
        _("90% 响应时长（小时）"),
        _("按时处理率"),
        _("超时件数"),
        _("当前超时"),
    ]


def workbook(report: Report) -> bytes:
    """The report as an Excel workbook: a sheet per department and one per person."""
    book = Workbook(write_only=True)
    since = timezone.localtime(report.since).date()
    last = timezone.localtime(report.until).date() - dt.timedelta(days=1)
    heading = _("审批时效报表 %(since)s 至 %(last)s") % {"since": since, "last": last}
    if report.unit is not None:
        heading += " · " + report.unit.name
    if report.flow is not None:
        heading += " · " + report.flow.name

    units = book.create_sheet(_("按部门"))
    units.column_dimensions["A"].width = 24
    units.append([_cell(units, heading, bold=True)])
    units.append([])
    units.append([_cell(units, text, bold=True) for text in [_("部门"), _("人数"), *_figure_headers()]])
    for row in report.units:
        units.append([_cell(units, row.name), row.people, *_figure_cells(units, row.figures)])
    units.append(
        [_cell(units, _("合计"), bold=True), len(report.people), *_figure_cells(units, report.total)]
    )

    people = book.create_sheet(_("按人员"))
    for column, width in zip("ABC", (20, 14, 16), strict=True):
        people.column_dimensions[column].width = width
    people.append([_cell(people, heading, bold=True)])
    people.append([])
    people.append(
        [_cell(people, text, bold=True) for text in [_("部门"), _("姓名"), _("用户名"), *_figure_headers()]]
    )
    for person in report.people:
        people.append(
            [
                _cell(people, person.unit_name),
                _cell(people, person.name),
                _cell(people, person.username),
                *_figure_cells(people, person.figures),
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Export:
    content: bytes
    name: str
    rows: int


def export(*, actor: User, report: Report, request: HttpRequest | None = None) -> Export:
    """The workbook of ``report`` (already scoped to ``actor``), audited: it names people and
    how fast they answered."""
    content = workbook(report)
    with transaction.atomic():
        record(
            actor=actor,
            action=audit_actions.REPORT_EXPORTED,
            target=Target("workflow.report", "response", _("审批时效报表")),
            request=request,
            details={
                "since": report.since.isoformat(),
                "until": report.until.isoformat(),
                "unit": report.unit.pk if report.unit else None,
                "flow": report.flow.pk if report.flow else None,
                "rows": len(report.people),
            },
        )
    stamp = timezone.localtime(clock.now()).strftime("%Y%m%d-%H%M")
    return Export(content, f"workflow-response-{stamp}.xlsx", len(report.people))


def flows_for_filter() -> Iterable[FlowDefinition]:
    return FlowDefinition.objects.order_by("category", "name").only("pk", "name", "category")
