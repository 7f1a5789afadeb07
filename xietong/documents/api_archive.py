"""The registers, the archive, the issuing organs and the archive settings over the REST API
under ``/api/v1/documents/archive/``; the same rules as the pages (selectors scoped to the
caller, services for every change).

- ``GET /registers/outgoing``, ``GET /registers/incoming``: the 发文/收文登记簿 (clerks);
- ``GET /items``, ``GET /items/{id}``: archived 件 with components and checksums;
- ``POST /items``: archive a finished document (``request_id`` or ``Idempotency-Key``: sent
  again, the same 件 is answered); ``POST /items/{id}/verify``: recompute the checksums;
- ``GET|POST /organs``, ``PUT /organs/{id}``: 发文机关 (clerks of the organ's unit);
- ``GET|PUT /settings``: 全宗号, 全宗名称 and 保管期限 per 文种 (archivists).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status

from xietong.core import access, classification
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.documents import archive, organs, registers
from xietong.documents.models import (
    ArchiveItem,
    DocType,
    IncomingDocument,
    IssuingOrgan,
    OutgoingDocument,
    Retention,
)
from xietong.documents.permissions import ARCHIVE, CLERK
from xietong.identity.types import AuthedRequest
from xietong.org.models import OrgUnit

router = Router(tags=["公文"])

MAX_PAGE = 200


def _request_id(request: AuthedRequest, given: str | None) -> str:
    header = (request.headers.get("Idempotency-Key") or "").strip()
    body = (given or "").strip()
    if header and body and header != body:
        raise DomainError(_("请求体中的 request_id 与请求头 Idempotency-Key 不一致。"))
    return (body or header or f"api-{uuid.uuid4().hex}")[:64]


# --------------------------------------------------------------------------- registers


class RegisterQuery(Schema):
    year: int | None = None
    organ: int | None = None
    unit: int | None = None
    doc_type: str = ""
    state: str = ""
    q: str = ""


class DistributionOut(Schema):
    unit: str
    copy_no: str


class OutgoingRowOut(Schema):
    doc_no: str
    title: str
    doc_type: str
    classification: str
    urgency: str
    drafting_unit: str
    drafter: str
    signers: str
    signed_on: dt.date | None
    main_recipients: str
    cc_recipients: str
    copies: int | None
    distribution: list[DistributionOut]
    print_date: dt.date | None
    archived: str
    state: str
    voided: bool
    void_reason: str
    document_id: int | None


class IncomingRowOut(Schema):
    recv_no: str
    received_at: str
    sender_org: str
    sender_doc_no: str
    title: str
    doc_type: str
    classification: str
    copy_no: str
    urgency: str
    date_written: dt.date | None
    copies: int
    channel: str
    state: str
    deadline: str
    lead_unit: str
    co_units: str
    result: str
    closed_at: str
    receiving_unit: str
    document_id: int
    overdue: bool


def _filters(query: RegisterQuery) -> registers.Filters:
    return registers.Filters(
        year=query.year,
        organ=query.organ,
        unit=query.unit,
        doc_type=query.doc_type if query.doc_type in DocType.values else "",
        state=query.state[:16],
        search=query.q.strip()[:100],
    )


@router.get("/registers/outgoing", response=list[OutgoingRowOut], summary="发文登记簿（含作废文号）")
def outgoing_register(request: AuthedRequest, query: Query[RegisterQuery]) -> list[dict[str, Any]]:
    rows = registers.outgoing_register(request.user, _filters(query))
    return [
        {
            **{key: getattr(row, key) for key in OutgoingRowOut.model_fields if key != "distribution"},
            "distribution": [{"unit": unit, "copy_no": copy} for unit, copy in row.distribution],
        }
        for row in rows
    ]


@router.get("/registers/incoming", response=list[IncomingRowOut], summary="收文登记簿")
def incoming_register(request: AuthedRequest, query: Query[RegisterQuery]) -> list[registers.IncomingRow]:
    return registers.incoming_register(request.user, _filters(query))


# --------------------------------------------------------------------------- archive items


class ComponentOut(Schema):
    seq: int
    role: str
    name: str
    format: str
    size: int
    sha256: str


class ItemOut(Schema):
    id: int
    archival_code: str
    fonds_no: str
    year: int
    retention: str
    org_code: str
    item_no: int
    title: str
    doc_no: str
    responsible: str
    date: dt.date
    classification: int
    classification_label: str
    pages: int
    outgoing_id: int | None
    incoming_id: int | None
    package_sha256: str
    archived_at: dt.datetime
    verified_at: dt.datetime | None
    verified_ok: bool | None


class ItemDetailOut(ItemOut):
    components: list[ComponentOut]
    metadata: dict[str, Any]


class ItemQuery(Schema):
    year: int | None = None
    retention: str = ""
    org: str = ""
    q: str = ""
    limit: int = 50
    offset: int = 0


class ArchiveIn(Schema):
    kind: Literal["outgoing", "incoming"]
    document_id: int
    org_code: str = ""
    request_id: str | None = None


class VerifyOut(Schema):
    archival_code: str
    ok: bool
    problems: list[str]


def _item_out(item: ArchiveItem) -> dict[str, Any]:
    return {
        **{
            key: getattr(item, key)
            for key in ItemOut.model_fields
            if key not in ("id", "classification_label")
        },
        "id": item.pk,
        "classification_label": classification.label(item.classification),
    }


def _require_archive_view(request: AuthedRequest) -> None:
    if not (access.can(request.user, ARCHIVE) or access.can(request.user, CLERK)):
        raise PermissionDeniedError(_("您没有查看文书档案的权限。"))


@router.get("/items", response=list[ItemOut], summary="已归档的件")
def item_list(request: AuthedRequest, query: Query[ItemQuery]) -> list[dict[str, Any]]:
    _require_archive_view(request)
    items = archive.visible_items(request.user)
    if query.year:
        items = items.filter(year=query.year)
    if query.retention in Retention.values:
        items = items.filter(retention=query.retention)
    if query.org:
        items = items.filter(org_code=query.org.strip().upper())
    if query.q:
        items = items.filter(title__icontains=query.q.strip())
    limit = max(1, min(query.limit, MAX_PAGE))
    offset = max(0, query.offset)
    return [
        _item_out(item)
        for item in items.order_by("-year", "retention", "org_code", "item_no")[offset : offset + limit]
    ]


def _detail(item: ArchiveItem) -> dict[str, Any]:
    return {
        **_item_out(item),
        "components": [
            {key: getattr(component, key) for key in ComponentOut.model_fields}
            for component in item.components.all()
        ],
        "metadata": item.metadata,
    }


@router.get("/items/{item_id}", response=ItemDetailOut, summary="一件档案：组件、校验值和元数据")
def item_get(request: AuthedRequest, item_id: int) -> dict[str, Any]:
    _require_archive_view(request)
    return _detail(archive.item_get(request.user, item_id))


@router.post("/items", response={201: ItemDetailOut}, summary="归档已分发的发文或已办结的收文")
def item_create(request: AuthedRequest, body: ArchiveIn) -> Status[dict[str, Any]]:
    if not access.can(request.user, ARCHIVE):
        raise PermissionDeniedError(_("您没有管理文书档案的权限。"))
    rid = _request_id(request, body.request_id)
    if body.kind == "outgoing":
        outgoing = OutgoingDocument.objects.filter(pk=body.document_id).first()
        if outgoing is None:
            raise NotFoundError(_("公文不存在。"))
        item = archive.archive_outgoing(
            actor=request.user, document=outgoing, org_code=body.org_code, request_id=rid, request=request
        )
    else:
        incoming = IncomingDocument.objects.filter(pk=body.document_id).first()
        if incoming is None:
            raise NotFoundError(_("公文不存在。"))
        item = archive.archive_incoming(
            actor=request.user, document=incoming, org_code=body.org_code, request_id=rid, request=request
        )
    return Status(201, _detail(archive.item_get(request.user, item.pk)))


@router.post("/items/{item_id}/verify", response=VerifyOut, summary="重新计算并校验各组件与包的 SHA-256")
def item_verify(request: AuthedRequest, item_id: int) -> dict[str, Any]:
    _require_archive_view(request)
    item = archive.item_get(request.user, item_id)
    problems = archive.verify(item, actor=request.user, request=request)
    return {"archival_code": item.archival_code, "ok": not problems, "problems": problems}


# --------------------------------------------------------------------------- organs


class OrganOut(Schema):
    id: int
    unit_id: int
    unit_name: str
    code: str
    name: str
    mark: str
    print_org: str
    is_active: bool


class OrganIn(Schema):
    code: str
    name: str
    mark: str
    print_org: str
    is_active: bool = True


class OrganCreateIn(OrganIn):
    unit_id: int


def _organ_out(organ: IssuingOrgan) -> dict[str, Any]:
    return {
        "id": organ.pk,
        "unit_id": organ.unit_id,
        "unit_name": organ.unit.name,
        "code": organ.code,
        "name": organ.name,
        "mark": organ.mark,
        "print_org": organ.print_org,
        "is_active": organ.is_active,
    }


@router.get("/organs", response=list[OrganOut], summary="发文机关（本人管理的单位）")
def organ_list(request: AuthedRequest) -> list[dict[str, Any]]:
    if not access.can(request.user, CLERK):
        raise PermissionDeniedError(_("您没有管理发文机关的权限。"))
    return [_organ_out(organ) for organ in organs.organs_for(request.user)]


@router.post("/organs", response={201: OrganOut}, summary="新建发文机关")
def organ_create(request: AuthedRequest, body: OrganCreateIn) -> Status[dict[str, Any]]:
    unit = OrgUnit.objects.filter(pk=body.unit_id, is_active=True).first()
    if unit is None:
        message = _("单位不存在。")
        raise organs.OrganInvalidError(message, details=[{"field": "unit_id", "message": message}])
    organ = organs.organ_create(actor=request.user, unit=unit, values=body.dict(), request=request)
    return Status(201, _organ_out(organ))


@router.put("/organs/{organ_id}", response=OrganOut, summary="修改发文机关")
def organ_update(request: AuthedRequest, organ_id: int, body: OrganIn) -> dict[str, Any]:
    if not access.can(request.user, CLERK):
        raise PermissionDeniedError(_("您没有管理发文机关的权限。"))
    organ = organs.organ_get(request.user, organ_id)
    return _organ_out(
        organs.organ_update(actor=request.user, organ=organ, values=body.dict(), request=request)
    )


# --------------------------------------------------------------------------- settings


class SettingsOut(Schema):
    fonds_no: str
    fonds_name: str
    retention_by_type: dict[str, str]


class SettingsIn(Schema):
    fonds_no: str
    fonds_name: str = ""
    retention_by_type: dict[str, str] = {}


def _settings_out() -> dict[str, Any]:
    config = archive.get_config()
    return {
        "fonds_no": config.fonds_no,
        "fonds_name": config.fonds_name,
        "retention_by_type": archive.retention_table(config),
    }


@router.get("/settings", response=SettingsOut, summary="档案设置：全宗号与各文种保管期限")
def settings_get(request: AuthedRequest) -> dict[str, Any]:
    if not archive.may_archive(request.user):
        raise PermissionDeniedError(_("您没有管理文书档案的权限。"))
    return _settings_out()


@router.put("/settings", response=SettingsOut, summary="修改档案设置")
def settings_update(request: AuthedRequest, body: SettingsIn) -> dict[str, Any]:
    archive.config_update(
        actor=request.user,
        fonds_no=body.fonds_no,
        fonds_name=body.fonds_name,
        retention_by_type=body.retention_by_type,
        request=request,
    )
    return _settings_out()
