"""收文办理时效统计 (R-76 for 收文): per 承办 unit over a period of 批办 — how many handlings,
how many done on time, done late, still open and overdue now, and how long they took.

What counts: the handlings (``Handling``) of the 收文 批办 within the period (by the document's
``instructed_at``), optionally only the 主办 ones. *Done on time*: done by the deadline, or
without one; *done late*: done after it; *open*: not done yet; *overdue now*: open and past the
deadline while the document is being handled (what the morning reminder and the list's 仅看超时
call overdue). So on time + late + open = handlings, and overdue now is part of open. The
handling time runs from 批办 to the unit's ``done_at``, in calendar hours; the median (the
mean of the two middle values for an even count, as ``percentile_cont``) and the average are
over the done handlings. The total row counts each handling once.

Who sees what: a 公文管理员 (``documents.clerk``) sees the 承办 units in their data scope, never
counting a document above their clearance; nobody else sees anything. The database does the
counting — counts and sums grouped per unit, the middle values picked by window functions — so
the report costs the same few queries whatever the number of units and handlings.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

from xietong.audit.actions import register as register_action
from xietong.audit.services import Target, record
from xietong.core import access, clock
from xietong.core.errors import NotFoundError, PermissionDeniedError
from xietong.documents.incoming import IncomingInvalidError
from xietong.documents.models import Handling, IncomingState
from xietong.documents.permissions import CLERK
from xietong.documents.registers import Export, text_cell
from xietong.identity.models import User
from xietong.org.models import OrgUnit
from xietong.workflow import reports

STATISTICS_EXPORTED = "documents.statistics.exported"
register_action(STATISTICS_EXPORTED, gettext_lazy("导出收文办理时效统计"))

#: The periods of the approvals' report: 本月, 上月, 本季度, 本年 and 自定义 (at most two years).
PERIODS = reports.PERIODS
DEFAULT_PERIOD = "this_month"


def may_view(user: Any) -> bool:
    return access.can(user, CLERK)


def _invalid(field: str, message: str) -> IncomingInvalidError:
    return IncomingInvalidError(message, details=[{"field": field, "message": message}])


@dataclass(frozen=True)
class Filters:
    period: str = DEFAULT_PERIOD
    #: The first and last day of a custom period (both included).
    first: dt.date | None = None
    last: dt.date | None = None
    #: A 承办 unit in the viewer's scope; the units below it are included.
    unit: int | None = None
    lead_only: bool = False


@dataclass(frozen=True)
class Figures:
    handlings: int = 0
    on_time: int = 0
    late: int = 0
    open: int = 0
    overdue_now: int = 0
    median_hours: float | None = None
    average_hours: float | None = None


@dataclass(frozen=True)
class UnitRow:
    unit_id: int
    name: str
    figures: Figures


@dataclass(frozen=True)
class Report:
    since: dt.datetime
    until: dt.datetime
    rows: list[UnitRow]
    total: Figures
    unit: OrgUnit | None = None
    lead_only: bool = False

    @property
    def first_day(self) -> dt.date:
        return timezone.localtime(self.since).date()

    @property
    def last_day(self) -> dt.date:
        return timezone.localtime(self.until).date() - dt.timedelta(days=1)


def bounds(filters: Filters) -> tuple[dt.datetime, dt.datetime]:
    """The moments the period of ``filters`` starts and ends; ``IncomingInvalidError`` (422)
    for a period that does not exist, is upside down or is longer than two years."""
    if filters.period not in PERIODS:
        raise _invalid("period", _("统计时段无效。"))
    if filters.period == "custom":
        if filters.first is None:
            raise _invalid("from", _("请填写自定义时段的起始日期。"))
        if filters.last is None:
            raise _invalid("to", _("请填写自定义时段的截止日期。"))
        if filters.last < filters.first:
            raise _invalid("to", _("截止日期不能早于起始日期。"))
        if (filters.last - filters.first).days > reports.MAX_PERIOD_DAYS:
            raise _invalid("to", _("自定义时段不能超过两年。"))
    return reports.period_bounds(filters.period, first=filters.first, last=filters.last)


def units_for(viewer: User) -> QuerySet[OrgUnit]:
    """The units ``viewer`` may narrow the report to (those of their 公文管理员 scope)."""
    return access.restrict(viewer, CLERK, OrgUnit.objects.all(), unit_field="pk")


def _unit(viewer: User, unit_id: int | None) -> OrgUnit | None:
    if unit_id is None:
        return None
    unit = units_for(viewer).filter(pk=unit_id).first()
    if unit is None:
        # A unit outside the scope is answered like one that does not exist.
        raise NotFoundError(_("承办部门不存在或无权查看。"))
    return unit


def _handlings(
    viewer: User, *, since: dt.datetime, until: dt.datetime, unit: OrgUnit | None, lead_only: bool
) -> QuerySet[Handling]:
    rows = Handling.objects.filter(
        document__instructed_at__gte=since, document__instructed_at__lt=until
    ).order_by()
    rows = access.restrict(
        viewer, CLERK, rows, unit_field="unit", classification_field="document__classification"
    )
    if unit is not None:
        rows = rows.filter(unit__path__startswith=unit.path)
    if lead_only:
        rows = rows.filter(is_lead=True)
    return rows


_TIME = ExpressionWrapper(F("done_at") - F("document__instructed_at"), output_field=DurationField())
_DONE = Q(done_at__isnull=False)


#: The counts of ``Figures``, summed over the units for the total.
COUNTS = ("handlings", "on_time", "late", "open", "overdue_now")


def _counts(rows: QuerySet[Handling], now: dt.datetime) -> list[Mapping[str, Any]]:
    """One row per unit: the counts and the sum of the handling times (one query)."""
    return list(
        rows.values("unit_id", "unit__name", "unit__path")
        .annotate(
            handlings=Count("pk"),
            on_time=Count("pk", filter=_DONE & (Q(deadline__isnull=True) | Q(done_at__lte=F("deadline")))),
            late=Count("pk", filter=_DONE & Q(deadline__isnull=False, done_at__gt=F("deadline"))),
            open=Count("pk", filter=Q(done_at__isnull=True)),
            overdue_now=Count(
                "pk",
                filter=Q(done_at__isnull=True, deadline__lt=now, document__state=IncomingState.HANDLING),
            ),
            time_sum=Sum(_TIME, filter=_DONE),
        )
        .order_by("unit__path")
    )


def _middles(rows: QuerySet[Handling], *, per_unit: bool) -> dict[int | None, list[dt.timedelta]]:
    """The one or two middle handling times of each unit (or of all, under ``None``): the rows
    ranked by time and kept where 2 × rank lies within [count, count + 2] (one query)."""
    partition = [F("unit_id")] if per_unit else None
    ranked = (
        rows.filter(_DONE)
        .annotate(
            time=_TIME,
            rank=Window(RowNumber(), partition_by=partition, order_by=[_TIME.asc(), F("pk").asc()]),
            size=Window(Count("pk"), partition_by=partition),
        )
        .filter(rank__gte=F("size") / 2.0, rank__lte=F("size") / 2.0 + 1)
    )
    found: dict[int | None, list[dt.timedelta]] = defaultdict(list)
    for unit_id, time in ranked.values_list("unit_id", "time"):
        found[unit_id if per_unit else None].append(time)
    return found


def _figures(counts: Mapping[str, Any], middle: list[dt.timedelta]) -> Figures:
    done = counts["on_time"] + counts["late"]
    time_sum: dt.timedelta | None = counts["time_sum"]
    return Figures(
        handlings=counts["handlings"],
        on_time=counts["on_time"],
        late=counts["late"],
        open=counts["open"],
        overdue_now=counts["overdue_now"],
        median_hours=sum(value.total_seconds() for value in middle) / len(middle) / 3600 if middle else None,
        average_hours=time_sum.total_seconds() / done / 3600 if done and time_sum is not None else None,
    )


def handling_report(viewer: User, filters: Filters | None = None) -> Report:
    """The figures per 承办 unit (in tree order) and in total, as ``viewer`` may see them.
    ``PermissionDeniedError`` for anyone but a 公文管理员; ``NotFoundError`` for a unit
    outside their scope; ``IncomingInvalidError`` for a bad period."""
    if not may_view(viewer):
        raise PermissionDeniedError(_("您没有查看收文办理时效统计的权限。"))
    filters = filters or Filters()
    since, until = bounds(filters)
    unit = _unit(viewer, filters.unit)
    rows = _handlings(viewer, since=since, until=until, unit=unit, lead_only=filters.lead_only)
    counted = _counts(rows, clock.now())
    middles = _middles(rows, per_unit=True)
    total: dict[str, Any] = {key: sum(entry[key] for entry in counted) for key in COUNTS}
    total["time_sum"] = sum((entry["time_sum"] for entry in counted if entry["time_sum"]), dt.timedelta())
    return Report(
        since=since,
        until=until,
        rows=[
            UnitRow(entry["unit_id"], entry["unit__name"], _figures(entry, middles.get(entry["unit_id"], [])))
            for entry in counted
        ],
        total=_figures(total, _middles(rows, per_unit=False).get(None, [])),
        unit=unit,
        lead_only=filters.lead_only,
    )


# --------------------------------------------------------------------------- Excel


def _hours_cell(sheet: Any, value: float | None) -> Any:
    cell = WriteOnlyCell(sheet, value=None if value is None else round(value, 2))
    cell.number_format = "0.0"
    return cell


def headers() -> list[str]:
    return [
        _("承办部门"),
        _("承办件数"),
        _("按时办结"),
        _("超时办结"),
        _("未办结"),
        _("当前超时"),
        _("办理时长中位数（小时）"),
        _("平均办理时长（小时）"),
    ]


def heading(report: Report) -> str:
    text = _("收文办理时效统计 %(first)s 至 %(last)s") % {
        "first": report.first_day,
        "last": report.last_day,
    }
    if report.unit is not None:
        text += " · " + report.unit.name
    if report.lead_only:
        text += " · " + _("仅主办")
    return text


def workbook(report: Report) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("办理时效"))
    sheet.column_dimensions["A"].width = 24
    sheet.append([text_cell(sheet, heading(report), bold=True)])
    sheet.append([text_cell(sheet, text, bold=True) for text in headers()])

    def figures(values: Figures) -> list[Any]:
        return [
            values.handlings,
            values.on_time,
            values.late,
            values.open,
            values.overdue_now,
            _hours_cell(sheet, values.median_hours),
            _hours_cell(sheet, values.average_hours),
        ]

    for row in report.rows:
        sheet.append([text_cell(sheet, row.name), *figures(row.figures)])
    sheet.append([text_cell(sheet, _("合计"), bold=True), *figures(report.total)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export(*, actor: User, filters: Filters, request: HttpRequest | None = None) -> Export:
    """The report as ``actor`` sees it, as an Excel workbook; audited like the registers'
    export (it names units and how fast they handled the documents)."""
    report = handling_report(actor, filters)
    title = heading(report)
    content = workbook(report)
    with transaction.atomic():
        record(
            actor=actor,
            action=STATISTICS_EXPORTED,
            target=Target("documents.statistics", "handling", title),
            request=request,
            details={
                "since": report.since.isoformat(),
                "until": report.until.isoformat(),
                "unit": report.unit.pk if report.unit else None,
                "lead_only": report.lead_only,
                "rows": len(report.rows),
            },
        )
    stamp = timezone.localtime(clock.now()).strftime("%Y%m%d-%H%M")
    return Export(content, f"documents-handling-statistics-{stamp}.xlsx", len(report.rows))
