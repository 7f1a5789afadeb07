"""收文 pages under ``/documents/incoming/``: the boxes (待签收 / 待办 / 在办 / 已办结 / 传阅给我),
the registration of a paper document, the 收文处理单 with the actions the viewer may take, its
print view and the scan.

Thin: ``selectors_incoming`` reads (only what the viewer may see), ``incoming`` writes; each
action posts its own form and redirects back with a message, or shows the page again with
the refusal next to the field. Views, prints and downloads of classified documents are audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xietong.audit.services import record
from xietong.core import access, classification, clock
from xietong.core.errors import DomainError, NotFoundError
from xietong.documents import audit_actions, incoming, selectors_incoming
from xietong.documents.models import Channel, DocType, IncomingDocument, IncomingState, Urgency
from xietong.documents.permissions import CLERK, USE
from xietong.documents.views import crumbs
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.org.models import OrgUnit

PAGE_SIZE = 20
PICK_LIMIT = 300


def _require_use(request: AuthedRequest) -> None:
    if not access.can(request.user, USE):
        raise PermissionDenied


def _errors(error: DomainError) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for detail in error.details or []:
        if isinstance(detail, Mapping) and detail.get("field"):
            found.setdefault(str(detail["field"]), []).append(str(detail.get("message", "")))
    return found


def _audit_view(request: AuthedRequest, document: IncomingDocument, how: str) -> None:
    if classification.is_classified(document.classification):
        record(
            actor=request.user,
            action=audit_actions.INCOMING_VIEWED,
            target=document,
            request=request,
            details={"how": how, "classification": document.classification},
        )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- list


@login_required
@require_GET
def incoming_list(request: AuthedRequest) -> HttpResponse:
    _require_use(request)
    params = request.GET
    box = params.get("box") or "todo"
    if box not in selectors_incoming.BOXES:
        box = "todo"
    urgency = params.get("urgency")
    filters = selectors_incoming.Filters(
        box=box,
        state=params.get("state", "") if params.get("state", "") in IncomingState.values else "",
        doc_type=params.get("doc_type", "") if params.get("doc_type", "") in DocType.values else "",
        urgency=urgency if urgency in Urgency.values and urgency else None,
        overdue=params.get("overdue") == "1",
        year=_int(params.get("year")),
        q=(params.get("q") or "")[:100],
    )
    rows = selectors_incoming.incoming_list(request.user, filters)
    page = Paginator(rows, PAGE_SIZE).get_page(params.get("page"))
    counts = selectors_incoming.counts(request.user)
    kept = params.copy()
    kept.pop("page", None)
    clerk = access.can(request.user, CLERK)
    box_labels = {
        "pending": _("待签收"),
        "todo": _("待办"),
        "doing": _("在办"),
        "done": _("已办结"),
        "reading": _("传阅给我"),
        "all": _("全部"),
    }
    boxes = [
        {"key": key, "label": box_labels[key], "count": counts.get(key, 0), "active": key == box}
        for key in selectors_incoming.BOXES
        if key != "pending" or clerk
    ]
    return render(
        request,
        "documents/incoming_list.html",
        {
            "breadcrumbs": crumbs((_("收文"), None)),
            "page": page,
            "box": box,
            "boxes": boxes,
            "filters": filters,
            "filtered": bool(
                filters.state
                or filters.doc_type
                or filters.urgency
                or filters.overdue
                or filters.year
                or filters.q
            ),
            "query": kept.urlencode(),
            "states": IncomingState.choices,
            "doc_types": DocType.choices,
            "urgencies": [c for c in Urgency.choices if c[0]],
            "can_register": clerk,
            "now": clock.now(),
        },
    )


# --------------------------------------------------------------------------- paper registration


def _clerk_units(user: User) -> list[OrgUnit]:
    units = OrgUnit.objects.filter(is_active=True).order_by("path")
    if not user.is_superuser:
        units = access.restrict(user, CLERK, units, unit_field="pk")
    return list(units[:PICK_LIMIT])


@login_required
@require_http_methods(["GET", "POST"])
def incoming_new(request: AuthedRequest) -> HttpResponse:
    """登记 a paper or external document (签收 and 登记 at once, with its scan)."""
    _require_use(request)
    if not access.can(request.user, CLERK):
        raise PermissionDenied
    units = _clerk_units(request.user)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {"channel": Channel.CONFIDENTIAL, "copies": 1, "classification": 0}
    if request.method == "POST":
        post = request.POST
        values = {key: post.get(key, "") for key in post}
        date_written = None
        if post.get("date_written"):
            try:
                date_written = dt.date.fromisoformat(post["date_written"])
            except ValueError:
                errors["date_written"] = [_("成文日期格式不正确。")]
        copies = _int(post.get("copies"))
        unit_id = _int(post.get("unit"))
        if unit_id is None or unit_id not in {u.pk for u in units}:
            errors["unit"] = [_("请选择收文单位。")]
        if copies is None:
            errors["copies"] = [_("份数应为 1 至 9999。")]
        if not errors:
            try:
                document = incoming.register_paper(
                    actor=request.user,
                    unit=unit_id or 0,
                    sender_org=post.get("sender_org", ""),
                    sender_doc_no=post.get("sender_doc_no", ""),
                    title=post.get("title", ""),
                    doc_type=post.get("doc_type", ""),
                    classification_level=_int(post.get("classification")) or 0,
                    urgency=post.get("urgency", ""),
                    date_written=date_written,
                    channel=post.get("channel", ""),
                    copies=copies or 0,
                    copy_no=post.get("copy_no", ""),
                    scan=request.FILES.get("scan"),
                    request_id=post.get("request_id") or None,
                )
            except DomainError as error:
                errors = _errors(error) or {"form": [error.message]}
            else:
                messages.success(request, _("已登记收文 %(no)s。") % {"no": document.recv_no})
                return redirect("documents:incoming_detail", pk=document.pk)
    return render(
        request,
        "documents/incoming_new.html",
        {
            "breadcrumbs": crumbs((_("收文"), reverse("documents:incoming_list")), (_("登记收文"), None)),
            "units": units,
            "errors": errors,
            "values": values,
            "doc_types": DocType.choices,
            "urgencies": Urgency.choices,
            "channels": [c for c in Channel.choices if c[0] != Channel.ELECTRONIC],
            "levels": [
                (level, classification.label(level))
                for level in classification.levels()
                if classification.allows(request.user, level)
            ],
            "request_id": values.get("request_id") or uuid.uuid4().hex,
        },
        status=400 if errors else 200,
    )


# --------------------------------------------------------------------------- detail


def _visible(request: AuthedRequest, pk: int) -> IncomingDocument:
    try:
        return selectors_incoming.incoming_get(request.user, pk)
    except NotFoundError:
        raise Http404 from None


def _company_path(document: IncomingDocument) -> str:
    """The tree path of the receiving unit's own company (or group): the pickers offer its
    people and departments, not the whole group's."""
    from xietong.org.access import ancestor_paths

    unit = document.receiving_unit
    paths = [*ancestor_paths(unit.path), unit.path]
    companies: set[str] = set(
        OrgUnit.objects.filter(
            path__in=paths, kind__in=(OrgUnit.Kind.COMPANY, OrgUnit.Kind.GROUP)
        ).values_list("path", flat=True)
    )
    return max(companies, key=len, default=paths[0])


def _people(document: IncomingDocument, root: str) -> list[User]:
    """Readers offered: active people of the receiving unit's company, cleared for the 密级."""
    return list(
        User.objects.filter(
            is_active=True,
            clearance__gte=document.classification,
            memberships__unit__path__startswith=root,
        )
        .distinct()
        .order_by("name")[:PICK_LIMIT]
    )


def _units(root: str) -> list[OrgUnit]:
    return list(OrgUnit.objects.filter(is_active=True, path__startswith=root).order_by("path")[:PICK_LIMIT])


def _detail_context(request: AuthedRequest, document: IncomingDocument) -> dict[str, Any]:
    can = selectors_incoming.abilities(request.user, document)
    context: dict[str, Any] = {
        "breadcrumbs": crumbs((_("收文"), reverse("documents:incoming_list")), (document.title, None)),
        "document": document,
        "can": can,
        "handlings": list(document.handlings.all()),
        "circulations": list(document.circulations.all()),
        "events": list(document.events.all()),
        "now": clock.now(),
        "level_label": classification.label(document.classification),
        "errors": {},
        "open_form": "",
    }
    if can.propose or can.instruct:
        context["leaders"] = list(selectors_incoming.leader_choices(request.user, document)[:PICK_LIMIT])
    root = _company_path(document) if can.propose or can.instruct or can.circulate else ""
    if can.propose or can.instruct or can.circulate:
        context["people"] = _people(document, root)
    if can.instruct:
        context["units"] = _units(root)
        context["deadline_required"] = document.urgency in (Urgency.URGENT, Urgency.VERY_URGENT)
    return context


@login_required
@require_GET
def incoming_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    _require_use(request)
    document = _visible(request, pk)
    _audit_view(request, document, "page")
    return render(request, "documents/incoming_detail.html", _detail_context(request, document))


@login_required
@require_GET
def incoming_print(request: AuthedRequest, pk: int) -> HttpResponse:
    """The 收文处理单 on one A4 sheet."""
    _require_use(request)
    document = _visible(request, pk)
    _audit_view(request, document, "print")
    return render(
        request,
        "documents/incoming_print.html",
        {
            "document": document,
            "handlings": list(document.handlings.all()),
            "circulations": list(document.circulations.all()),
            "events": list(document.events.all()),
            "level_label": classification.label(document.classification),
            "printed_at": timezone.localtime(clock.now()),
        },
    )


@login_required
@require_GET
def incoming_scan(request: AuthedRequest, pk: int) -> FileResponse:
    from xietong.files.services import file_response

    _require_use(request)
    document = _visible(request, pk)
    stored = selectors_incoming.document_file(document)
    if stored is None:
        raise Http404
    try:
        response = file_response(stored)
    except NotFoundError:
        raise Http404 from None
    if classification.is_classified(document.classification):
        record(
            actor=request.user,
            action=audit_actions.INCOMING_DOWNLOADED,
            target=document,
            request=request,
            details={"file": stored.pk, "classification": document.classification},
        )
    return response


# --------------------------------------------------------------------------- actions


def _picked(post: QueryDict, name: str) -> list[int]:
    return [pk for pk in (_int(v) for v in post.getlist(name)) if pk is not None]


def _deadline(value: str) -> str | None:
    return value or None


def _lock_version(post: QueryDict) -> int | None:
    return _int(post.get("lock_version"))


def _do_sign(request: AuthedRequest, pk: int) -> str:
    document = incoming.sign_for(actor=request.user, document_id=pk, lock_version=_lock_version(request.POST))
    return _("已签收并登记，收文号 %(no)s。") % {"no": document.recv_no}


def _do_return(request: AuthedRequest, pk: int) -> str:
    incoming.return_to_sender(
        actor=request.user,
        document_id=pk,
        reason=request.POST.get("reason", ""),
        lock_version=_lock_version(request.POST),
    )
    return _("已退回来文单位。")


def _do_propose(request: AuthedRequest, pk: int) -> str:
    post = request.POST
    incoming.propose(
        actor=request.user,
        document_id=pk,
        proposal=post.get("proposal", ""),
        for_reading=post.get("for_reading") == "1",
        leader_id=_int(post.get("leader")),
        reader_ids=_picked(post, "readers"),
        lock_version=_lock_version(post),
    )
    return _("已提交拟办意见。")


def _do_instruct(request: AuthedRequest, pk: int) -> str:
    post = request.POST
    lead_row = _int(post.get("lead_row"))
    units = post.getlist("unit")
    deadlines = post.getlist("deadline")
    handlings = []
    for index, value in enumerate(units):
        unit = _int(value)
        if unit is None:
            continue
        handlings.append(
            {
                "unit_id": unit,
                "is_lead": index == lead_row,
                "deadline": _deadline(deadlines[index] if index < len(deadlines) else ""),
            }
        )
    incoming.instruct(
        actor=request.user,
        document_id=pk,
        instruction=post.get("instruction", ""),
        handlings=handlings,
        reader_ids=_picked(post, "readers"),
        lock_version=_lock_version(post),
    )
    return _("已批办。")


def _do_handle(request: AuthedRequest, pk: int) -> str:
    incoming.handling_done(
        actor=request.user,
        document_id=pk,
        handling_id=_int(request.POST.get("handling")),
        result=request.POST.get("result", ""),
    )
    return _("已登记办理情况。")


def _do_circulate(request: AuthedRequest, pk: int) -> str:
    rows = incoming.circulate(actor=request.user, document_id=pk, reader_ids=_picked(request.POST, "readers"))
    return _("已送 %(n)s 人传阅。") % {"n": len(rows)}


def _do_read(request: AuthedRequest, pk: int) -> str:
    incoming.mark_read(actor=request.user, document_id=pk, comment=request.POST.get("comment", ""))
    return _("已阅。")


def _do_urge(request: AuthedRequest, pk: int) -> str:
    incoming.urge(actor=request.user, document_id=pk, handling_id=_int(request.POST.get("handling")))
    return _("已催办。")


def _do_conclude(request: AuthedRequest, pk: int) -> str:
    incoming.conclude(
        actor=request.user,
        document_id=pk,
        result=request.POST.get("result", ""),
        lock_version=_lock_version(request.POST),
    )
    return _("已办结。")


ACTIONS: dict[str, Callable[[AuthedRequest, int], str]] = {
    "sign": _do_sign,
    "return": _do_return,
    "propose": _do_propose,
    "instruct": _do_instruct,
    "handle": _do_handle,
    "circulate": _do_circulate,
    "read": _do_read,
    "urge": _do_urge,
    "conclude": _do_conclude,
}


@login_required
@require_POST
def incoming_act(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    _require_use(request)
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404
    document = _visible(request, pk)
    try:
        message = handler(request, document.pk)
    except NotFoundError:
        raise Http404 from None
    except DomainError as error:
        document = _visible(request, pk)
        context = _detail_context(request, document)
        context["errors"] = {**_errors(error), "form": [error.message]}
        context["open_form"] = action
        context["posted"] = request.POST
        return render(
            request,
            "documents/incoming_detail.html",
            context,
            status=error.status if error.status != 404 else 400,
        )
    messages.success(request, message)
    return redirect(reverse("documents:incoming_detail", args=[pk]))
