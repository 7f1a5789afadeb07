"""The registers page (发文登记簿 / 收文登记簿 tabs) and its Excel export. Thin: ``registers``
reads and scopes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from xietong.core import clock
from xietong.core.errors import PermissionDeniedError
from xietong.documents import registers
from xietong.documents.models import DocType, IncomingState, OutgoingState
from xietong.documents.views import crumbs
from xietong.identity.types import AuthedRequest

PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def _query(request: AuthedRequest) -> tuple[str, registers.Filters]:
    kind = request.GET.get("kind") or registers.OUTGOING
    if kind not in (registers.OUTGOING, registers.INCOMING):
        kind = registers.OUTGOING
    year = _int(request.GET.get("year"))
    states = _state_choices(kind)
    state = request.GET.get("state") or ""
    doc_type = request.GET.get("doc_type") or ""
    return kind, registers.Filters(
        year=year if year and 1900 <= year <= 2999 else None,
        organ=_int(request.GET.get("organ")) if kind == registers.OUTGOING else None,
        unit=_int(request.GET.get("unit")) if kind == registers.INCOMING else None,
        doc_type=doc_type if doc_type in DocType.values else "",
        state=state if state in dict(states) else "",
        search=(request.GET.get("q") or "").strip()[:100],
    )


def _state_choices(kind: str) -> list[tuple[str, str]]:
    if kind == registers.OUTGOING:
        return [
            *((value, str(label)) for value, label in OutgoingState.choices),
            (registers.VOIDED, _("作废")),
        ]
    return [(value, str(label)) for value, label in IncomingState.choices]


@login_required
def registers_page(request: AuthedRequest) -> HttpResponse:
    if not registers.may_view(request.user):
        raise PermissionDenied
    kind, filters = _query(request)
    try:
        rows: list[Any] = (
            registers.outgoing_register(request.user, filters)
            if kind == registers.OUTGOING
            else registers.incoming_register(request.user, filters)
        )
    except PermissionDeniedError:
        raise PermissionDenied from None
    page = Paginator(rows, PAGE).get_page(request.GET.get("page"))
    keep = request.GET.copy()
    keep.pop("page", None)
    year = clock.localdate().year
    return render(
        request,
        "documents/registers.html",
        {
            "kind": kind,
            "filters": filters,
            "page": page,
            "total": len(rows),
            "organs": registers.organs_for(request.user) if kind == registers.OUTGOING else [],
            "units": registers.units_for(request.user).order_by("path") if kind == registers.INCOMING else [],
            "doc_types": DocType.choices,
            "states": _state_choices(kind),
            "years": list(range(year, year - 10, -1)),
            "filter_query": keep.urlencode(),
            "breadcrumbs": crumbs((_("登记簿"), None)),
        },
    )


@login_required
def registers_export(request: AuthedRequest) -> HttpResponse:
    kind, filters = _query(request)
    try:
        result = registers.export(actor=request.user, kind=kind, filters=filters, request=request)
    except PermissionDeniedError:
        raise PermissionDenied from None
    response = HttpResponse(result.content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{result.name}"'
    return response
