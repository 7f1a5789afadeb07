"""The archive pages (documents waiting for 归档, the archived 件, one 件 with its components and
checksums, verification, the 归档文件目录 export) and the settings page (全宗号 and 保管期限 for
archivists; the 发文机关 for clerks). Thin: ``archive`` and ``organs`` read and write."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xietong.core import access, classification
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.documents import archive, organs
from xietong.documents.models import (
    ArchiveItem,
    DocType,
    IncomingDocument,
    IssuingOrgan,
    OutgoingDocument,
    Retention,
)
from xietong.documents.permissions import ARCHIVE, CLERK
from xietong.documents.views import crumbs
from xietong.files import services as files
from xietong.identity.types import AuthedRequest

PAGE = 30
WAITING = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def _archive_or_clerk(request: AuthedRequest) -> bool:
    """Archivists work here; clerks may look at the 件 of their units."""
    archivist = access.can(request.user, ARCHIVE)
    if not archivist and not access.can(request.user, CLERK):
        raise PermissionDenied
    return archivist


# --------------------------------------------------------------------------- the archive


@login_required
def archive_list(request: AuthedRequest) -> HttpResponse:
    archivist = _archive_or_clerk(request)
    user = request.user
    items = archive.visible_items(user).select_related("archived_by")
    year = _int(request.GET.get("year"))
    retention = request.GET.get("retention") or ""
    org_code = (request.GET.get("org") or "").strip().upper()[:3]
    search = (request.GET.get("q") or "").strip()[:100]
    verified = request.GET.get("verified") or ""
    if year:
        items = items.filter(year=year)
    if retention in Retention.values:
        items = items.filter(retention=retention)
    else:
        retention = ""
    if org_code:
        items = items.filter(org_code=org_code)
    if search:
        items = items.filter(
            Q(title__icontains=search) | Q(archival_code__icontains=search) | Q(doc_no__icontains=search)
        )
    if verified == "failed":
        items = items.filter(verified_ok=False)
    elif verified == "never":
        items = items.filter(verified_at__isnull=True)
    page = Paginator(items.order_by("-year", "retention", "org_code", "-item_no"), PAGE).get_page(
        request.GET.get("page")
    )
    for item in page.object_list:
        item.level_label = classification.label(item.classification)  # type: ignore[attr-defined]
        item.classified = classification.is_classified(item.classification)  # type: ignore[attr-defined]
    waiting_outgoing = list(archive.waiting_outgoing(user)[:WAITING]) if archivist else []
    waiting_incoming = list(archive.waiting_incoming(user)[:WAITING]) if archivist else []
    keep = request.GET.copy()
    keep.pop("page", None)
    years = list(archive.visible_items(user).order_by("-year").values_list("year", flat=True).distinct())
    return render(
        request,
        "documents/archive_list.html",
        {
            "archivist": archivist,
            "waiting_outgoing": waiting_outgoing,
            "waiting_incoming": waiting_incoming,
            "waiting_count": len(waiting_outgoing) + len(waiting_incoming),
            "page": page,
            "years": years,
            "retentions": Retention.choices,
            "filters": {
                "year": year,
                "retention": retention,
                "org": org_code,
                "q": search,
                "verified": verified,
            },
            "filter_query": keep.urlencode(),
            "request_id": uuid.uuid4().hex,
            "breadcrumbs": crumbs((_("档案"), None)),
        },
    )


def _item(request: AuthedRequest, pk: int) -> ArchiveItem:
    try:
        return archive.item_get(request.user, pk)
    except NotFoundError:
        raise Http404 from None


@login_required
def archive_item(request: AuthedRequest, pk: int) -> HttpResponse:
    _archive_or_clerk(request)
    item = _item(request, pk)
    components = list(item.components.all())
    return render(
        request,
        "documents/archive_item.html",
        {
            "item": item,
            "components": components,
            "manage": archive.may_manage_item(request.user, item),
            "level": classification.label(item.classification),
            "metadata_rows": [
                (key, value)
                for key, value in item.metadata.items()
                if key not in ("组件", "业务", "request_id") and not isinstance(value, dict | list)
            ],
            "events": item.metadata.get("业务", []),
            "breadcrumbs": crumbs((_("档案"), reverse("documents:archive_list")), (item.archival_code, None)),
        },
    )


@login_required
def archive_component(request: AuthedRequest, pk: int, seq: int) -> HttpResponseBase:
    _archive_or_clerk(request)
    item = _item(request, pk)
    try:
        stored = archive.component_download(actor=request.user, item=item, seq=seq, request=request)
        return files.file_response(stored)
    except PermissionDeniedError:
        raise PermissionDenied from None
    except NotFoundError:
        raise Http404 from None


@login_required
@require_POST
def archive_verify(request: AuthedRequest, pk: int) -> HttpResponse:
    _archive_or_clerk(request)
    item = _item(request, pk)
    try:
        problems = archive.verify(item, actor=request.user, request=request)
    except PermissionDeniedError:
        raise PermissionDenied from None
    if problems:
        messages.error(request, _("校验未通过：%(problems)s") % {"problems": "；".join(problems)})
    else:
        messages.success(request, _("校验通过：全部组件的 SHA-256 与包校验值一致。"))
    return redirect("documents:archive_item", pk=item.pk)


def _archive_action(request: AuthedRequest, kind: str, pk: int) -> HttpResponse:
    if not access.can(request.user, ARCHIVE):
        raise PermissionDenied
    org_code = request.POST.get("org_code", "")
    request_id = (request.POST.get("request_id") or "")[:64]
    try:
        if kind == "outgoing":
            outgoing = OutgoingDocument.objects.filter(pk=pk).first()
            if outgoing is None:
                raise Http404
            item = archive.archive_outgoing(
                actor=request.user,
                document=outgoing,
                org_code=org_code,
                request_id=request_id,
                request=request,
            )
        else:
            incoming = IncomingDocument.objects.filter(pk=pk).first()
            if incoming is None:
                raise Http404
            item = archive.archive_incoming(
                actor=request.user,
                document=incoming,
                org_code=org_code,
                request_id=request_id,
                request=request,
            )
    except PermissionDeniedError:
        raise PermissionDenied from None
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("documents:archive_list")
    messages.success(request, _("已归档，档号 %(code)s。") % {"code": item.archival_code})
    return redirect("documents:archive_item", pk=item.pk)


@login_required
@require_POST
def archive_outgoing(request: AuthedRequest, pk: int) -> HttpResponse:
    return _archive_action(request, "outgoing", pk)


@login_required
@require_POST
def archive_incoming(request: AuthedRequest, pk: int) -> HttpResponse:
    return _archive_action(request, "incoming", pk)


@login_required
def archive_catalogue_export(request: AuthedRequest) -> HttpResponse:
    retention = request.GET.get("retention") or ""
    try:
        result = archive.catalogue_export(
            actor=request.user,
            year=_int(request.GET.get("year")),
            retention=retention if retention in Retention.values else "",
            org_code=(request.GET.get("org") or "").strip().upper()[:3],
            request=request,
        )
    except PermissionDeniedError:
        raise PermissionDenied from None
    response = HttpResponse(result.content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{result.name}"'
    return response


# --------------------------------------------------------------------------- settings


def _settings_context(request: AuthedRequest, **extra: Any) -> dict[str, Any]:
    user = request.user
    archivist = access.can(user, ARCHIVE)
    clerk = access.can(user, CLERK)
    config = archive.get_config()
    table = archive.retention_table(config)
    return {
        "archivist": archivist,
        "clerk": clerk,
        "config": config,
        "fonds_no": config.fonds_no,
        "fonds_name": config.fonds_name,
        "retention_rows": [(value, label, table.get(value, "")) for value, label in DocType.choices],
        "retentions": Retention.choices,
        "organs": list(organs.organs_for(user)) if clerk else [],
        "errors": {},
        "breadcrumbs": crumbs((_("设置"), None)),
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: AuthedRequest) -> HttpResponse:
    user = request.user
    if not (access.can(user, ARCHIVE) or access.can(user, CLERK)):
        raise PermissionDenied
    if request.method == "POST":
        table = {value: request.POST.get(f"retention_{value}", "") for value in DocType.values}
        fonds_no, fonds_name = request.POST.get("fonds_no", ""), request.POST.get("fonds_name", "")
        try:
            archive.config_update(
                actor=user,
                fonds_no=fonds_no,
                fonds_name=fonds_name,
                retention_by_type={key: value for key, value in table.items() if value},
                request=request,
            )
        except PermissionDeniedError:
            raise PermissionDenied from None
        except DomainError as error:
            errors = {detail["field"]: detail["message"] for detail in error.details or []}
            context = _settings_context(request, errors=errors, fonds_no=fonds_no, fonds_name=fonds_name)
            context["retention_rows"] = [
                (value, label, table.get(value) or archive.retention_for(value))
                for value, label in DocType.choices
            ]
            return render(request, "documents/settings.html", context, status=422)
        messages.success(request, _("档案设置已保存。"))
        return redirect("documents:settings")
    return render(request, "documents/settings.html", _settings_context(request))


def _organ_values(request: AuthedRequest) -> dict[str, Any]:
    return {
        "code": request.POST.get("code", ""),
        "name": request.POST.get("name", ""),
        "mark": request.POST.get("mark", ""),
        "print_org": request.POST.get("print_org", ""),
        "is_active": request.POST.get("is_active") == "on",
    }


def _organ_form(
    request: AuthedRequest,
    organ: IssuingOrgan | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> HttpResponse:
    units = organs.units_for(request.user).order_by("path")
    title = _("新建发文机关") if organ is None else _("修改发文机关")
    return render(
        request,
        "documents/settings_organ.html",
        {
            "organ": organ,
            "values": values,
            "errors": errors,
            "units": units,
            "title": title,
            "breadcrumbs": crumbs((_("设置"), reverse("documents:settings")), (title, None)),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def settings_organ_new(request: AuthedRequest) -> HttpResponse:
    if not access.can(request.user, CLERK):
        raise PermissionDenied
    if request.method == "GET":
        return _organ_form(request, None, {"is_active": True}, {})
    values = _organ_values(request)
    values["unit"] = request.POST.get("unit", "")
    unit = organs.units_for(request.user).filter(pk=_int(values["unit"]) or 0).first()
    if unit is None:
        return _organ_form(request, None, values, {"unit": _("请选择您管理的单位。")}, status=422)
    try:
        organs.organ_create(actor=request.user, unit=unit, values=values, request=request)
    except PermissionDeniedError:
        raise PermissionDenied from None
    except DomainError as error:
        errors = {detail["field"]: detail["message"] for detail in error.details or []} or {
            "code": error.message
        }
        return _organ_form(request, None, values, errors, status=422)
    messages.success(request, _("发文机关已创建。"))
    return redirect("documents:settings")


@login_required
@require_http_methods(["GET", "POST"])
def settings_organ_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    if not access.can(request.user, CLERK):
        raise PermissionDenied
    try:
        organ = organs.organ_get(request.user, pk)
    except NotFoundError:
        raise Http404 from None
    if request.method == "GET":
        values = {key: getattr(organ, key) for key in (*organs.FIELDS, "is_active")}
        return _organ_form(request, organ, values, {})
    values = _organ_values(request)
    try:
        organs.organ_update(actor=request.user, organ=organ, values=values, request=request)
    except PermissionDeniedError:
        raise PermissionDenied from None
    except DomainError as error:
        errors = {detail["field"]: detail["message"] for detail in error.details or []} or {
            "code": error.message
        }
        return _organ_form(request, organ, values, errors, status=422)
    messages.success(request, _("发文机关已保存。"))
    return redirect("documents:settings")
