"""The 收文办理时效统计 page and its Excel export. Thin: ``statistics`` reads, scopes and audits."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from xietong.core.errors import NotFoundError, PermissionDeniedError
from xietong.documents import statistics
from xietong.documents.incoming import IncomingInvalidError
from xietong.documents.views import crumbs
from xietong.identity.types import AuthedRequest
from xietong.org import selectors as org_selectors

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        return None


def _filters(request: AuthedRequest) -> tuple[statistics.Filters, str]:
    """The filters the query string asks for, and why they were set back to this month when
    its period does not hold (the page then says so; the export follows the page)."""
    get = request.GET
    filters = statistics.Filters(
        period=get.get("period") or statistics.DEFAULT_PERIOD,
        first=_date(get.get("from")),
        last=_date(get.get("to")),
        unit=_int(get.get("unit")),
        lead_only=get.get("lead") == "1",
    )
    try:
        statistics.bounds(filters)
    except IncomingInvalidError as error:
        default = dataclasses.replace(filters, period=statistics.DEFAULT_PERIOD, first=None, last=None)
        return default, _("%(problem)s已改为本月。") % {"problem": error.message}
    return filters, ""


@login_required
def statistics_page(request: AuthedRequest) -> HttpResponse:
    if not statistics.may_view(request.user):
        raise PermissionDenied
    filters, problem = _filters(request)
    try:
        report = statistics.handling_report(request.user, filters)
    except NotFoundError:
        raise Http404 from None
    units = statistics.units_for(request.user).filter(is_active=True)
    return render(
        request,
        "documents/statistics.html",
        {
            "report": report,
            "period": filters.period,
            "problem": problem,
            "periods": [
                ("this_month", _("本月")),
                ("last_month", _("上月")),
                ("this_quarter", _("本季度")),
                ("this_year", _("本年")),
                ("custom", _("自定义")),
            ],
            "unit_options": org_selectors.unit_options(units=units),
            "filter_query": request.GET.urlencode(),
            "breadcrumbs": crumbs((_("时效统计"), None)),
        },
    )


@login_required
def statistics_export(request: AuthedRequest) -> HttpResponse:
    filters, _problem = _filters(request)
    try:
        result = statistics.export(actor=request.user, filters=filters, request=request)
    except PermissionDeniedError:
        raise PermissionDenied from None
    except NotFoundError:
        raise Http404 from None
    response = HttpResponse(result.content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{result.name}"'
    return response
