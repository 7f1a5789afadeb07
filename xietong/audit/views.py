"""The audit administrator's pages: list with filters, detail, Excel export."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from xietong.audit import actions, selectors, services
from xietong.audit.forms import EventFilterForm
from xietong.audit.models import Event
from xietong.audit.permissions import can_read_audit
from xietong.core.errors import NotFoundError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CURSORS = ("before", "after")

View = Callable[..., HttpResponse]


def audit_reader_required(view: View) -> View:
    """Sign-in first (anonymous visitors go to the login page), then the audit permission (403)."""

    @login_required
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_read_audit(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return never_cache(guarded)


def _cursor(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _filter_query(request: HttpRequest) -> str:
    """The filters of this request as a query string, without the page cursor."""
    query = request.GET.copy()
    for name in _CURSORS:
        query.pop(name, None)
    return query.urlencode()


def _form(request: HttpRequest) -> EventFilterForm:
    return EventFilterForm(request.GET, departments=selectors.department_options(user=request.user))


def _breadcrumbs(*extra: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("审计日志"), reverse("audit:event_list")), *extra]


@require_GET
@audit_reader_required
def event_list(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    page = None
    if form.is_valid():
        page = selectors.event_page(
            user=request.user,
            filters=form.filters(),
            before=_cursor(request, "before"),
            after=_cursor(request, "after"),
        )
    return render(
        request,
        "audit/event_list.html",
        {
            "form": form,
            "page": page,
            "rows": [(event, actions.label_for(event.action)) for event in page.items] if page else [],
            "filter_query": _filter_query(request),
            "filtered": any(v for k, v in request.GET.items() if k not in _CURSORS),
            "breadcrumbs": _breadcrumbs(),
        },
    )


@require_GET
@audit_reader_required
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    try:
        event = selectors.event_get(user=request.user, event_id=event_id)
    except NotFoundError:
        raise Http404 from None
    return render(
        request,
        "audit/event_detail.html",
        {
            "event": event,
            "action_label": actions.label_for(event.action),
            "details_json": json.dumps(event.details, ensure_ascii=False, indent=2, sort_keys=True),
            "Result": Event.Result,
            "breadcrumbs": _breadcrumbs((_("记录 #%(id)s") % {"id": event.pk}, None)),
        },
    )


@require_POST  # it writes an audit record, so no cross-site GET may trigger it
@audit_reader_required
def event_export(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    if not form.is_valid():
        messages.error(request, _("筛选条件有误，请修正后再导出。"))
        return redirect(f"{reverse('audit:event_list')}?{_filter_query(request)}")
    export = services.events_export(actor=request.user, filters=form.filters(), request=request)
    response = HttpResponse(export.content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{export.name}"'
    return response
