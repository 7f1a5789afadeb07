"""发文 over the REST API under ``/api/v1/documents/outgoing``: the same rules as the pages —
reads from ``selectors_outgoing`` (404 for what the caller may not see), changes from
``outgoing``; 422 with one detail per field. Changes take a ``request_id`` (or the
``Idempotency-Key`` header): sent twice, applied once."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from xietong.core import access
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.documents import outgoing, rules, selectors_outgoing
from xietong.documents.models import DocumentEvent, OutgoingDocument, OutgoingState
from xietong.documents.permissions import USE
from xietong.documents.schemas_outgoing import (
    AbolishIn,
    DistributeIn,
    DraftBody,
    OutgoingDetailOut,
    OutgoingPageOut,
    OutgoingQuery,
    ReasonIn,
    RecheckIn,
    RegisterIn,
    SubmitIn,
)
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest

router = Router(tags=["公文"])


def _require_use(request: AuthedRequest) -> User:
    if not access.can(request.user, USE):
        raise PermissionDeniedError(_("您没有使用公文的权限。"))
    return request.user


def _rid(request: AuthedRequest, given: str | None) -> str:
    header = (request.headers.get("Idempotency-Key") or "").strip()
    body = (given or "").strip()
    if header and body and header != body:
        raise DomainError(_("请求体中的 request_id 与请求头 Idempotency-Key 不一致。"))
    return (body or header or f"api-{uuid.uuid4().hex}")[:64]


def _out(document: OutgoingDocument) -> dict[str, Any]:
    return {
        "id": document.pk,
        "organ_id": document.organ_id,
        "organ": document.organ.name,
        "doc_type": document.doc_type,
        "direction": document.direction,
        "layout_kind": document.layout_kind,
        "title": document.title,
        "classification": document.classification,
        "secret_term": document.secret_term,
        "urgency": document.urgency,
        "main_recipients": document.main_recipients,
        "main_units": [unit.pk for unit in document.main_units.all()],
        "cc_recipients": document.cc_recipients,
        "cc_units": [unit.pk for unit in document.cc_units.all()],
        "note": document.note,
        "doc_no": document.doc_no,
        "state": document.state,
        "state_label": str(OutgoingState(document.state).label),
        "drafter_id": document.drafter_id,
        "drafter": document.drafter.name or document.drafter.username,
        "date_written": document.date_written,
        "signers": document.signers,
        "copies": document.copies,
        "version": document.version,
        "lock_version": document.lock_version,
        "instance_id": document.instance_id,
        "created_at": document.created_at,
        "updated_at": document.updated_at,
    }


def _detail(user: User, pk: int) -> dict[str, Any]:
    document = selectors_outgoing.get(user, pk)
    data = _out(document)
    data["body"] = document.body
    data["attachments"] = [
        {"id": a.pk, "seq": a.seq, "title": a.title, "file_key": str(a.file.key)}
        for a in document.attachments.select_related("file").order_by("seq")
    ]
    data["events"] = selectors_outgoing.events(document)
    return data


def _draft(body: DraftBody) -> outgoing.DraftIn:
    values = body.dict(exclude={"request_id", "attachments", "reason"})
    attachments = (
        [outgoing.AttachmentIn(title=item.title, id=item.id) for item in body.attachments]
        if body.attachments is not None
        else None
    )
    return outgoing.DraftIn(**values, attachments=attachments)


@router.get(
    "", response=OutgoingPageOut, summary="我可见的发文（可按状态、文种、机关、年度、标题或文号筛选）"
)
def list_outgoing(request: AuthedRequest, query: Query[OutgoingQuery]) -> dict[str, Any]:
    user = _require_use(request)
    rows = selectors_outgoing.search(
        user,
        selectors_outgoing.Filters(
            state=query.state,
            doc_type=query.doc_type,
            organ=query.organ,
            year=query.year,
            q=query.q,
            box=query.box,
        ),
    ).prefetch_related("main_units", "cc_units")
    limit = max(1, min(query.limit, 100))
    offset = max(0, query.offset)
    return {"count": rows.count(), "items": [_out(row) for row in rows[offset : offset + limit]]}


@router.get("/{pk}", response=OutgoingDetailOut, summary="发文详情")
def get_outgoing(request: AuthedRequest, pk: int) -> dict[str, Any]:
    user = _require_use(request)
    document = selectors_outgoing.get(user, pk)
    outgoing.viewed(actor=user, document=document, request=request)
    return _detail(user, pk)


@router.post("", response={201: OutgoingDetailOut}, summary="起草发文")
def create_outgoing(request: AuthedRequest, body: DraftBody) -> Status[dict[str, Any]]:
    user = _require_use(request)
    rid = _rid(request, body.request_id)
    document = outgoing.draft_create(actor=user, data=_draft(body), request_id=rid)
    return Status(201, _detail(user, document.pk))


@router.patch("/{pk}", response=OutgoingDetailOut, summary="修改草稿")
def update_outgoing(request: AuthedRequest, pk: int, body: DraftBody) -> dict[str, Any]:
    user = _require_use(request)
    document = selectors_outgoing.get(user, pk)
    outgoing.draft_update(
        actor=user, document=document, data=_draft(body), request_id=_rid(request, body.request_id)
    )
    return _detail(user, pk)


@router.post("/{pk}/submit", response=OutgoingDetailOut, summary="送审（核稿、会签、审核、签发）")
def submit_outgoing(request: AuthedRequest, pk: int, body: SubmitIn) -> dict[str, Any]:
    user = _require_use(request)
    document = selectors_outgoing.get(user, pk)
    outgoing.submit(
        actor=user,
        document=document,
        signer=body.signer_id,
        countersigners=body.countersigner_ids,
        request_id=_rid(request, body.request_id),
    )
    return _detail(user, pk)


@router.post("/{pk}/recheck", response=OutgoingDetailOut, summary="复核（可修改；实质性修改送原签发人复审）")
def recheck_outgoing(request: AuthedRequest, pk: int, body: RecheckIn) -> dict[str, Any]:
    user = _require_use(request)
    document = selectors_outgoing.get(user, pk)
    changes = _draft(body)
    has_changes = any(
        value is not None
        for key, value in body.dict(exclude={"request_id", "reason", "lock_version"}).items()
    )
    outgoing.recheck(
        actor=user,
        document=document,
        data=changes if has_changes else None,
        reason=body.reason,
        request_id=_rid(request, body.request_id),
    )
    return _detail(user, pk)


@router.post("/{pk}/register", response=OutgoingDetailOut, summary="登记编号")
def register_outgoing(request: AuthedRequest, pk: int, body: RegisterIn) -> dict[str, Any]:
    user = _require_use(request)
    document = selectors_outgoing.get(user, pk)
    outgoing.register(
        actor=user,
        document=document,
        copies=body.copies,
        print_date=body.print_date,
        request_id=_rid(request, body.request_id),
    )
    return _detail(user, pk)


@router.post("/{pk}/seal", response=OutgoingDetailOut, summary="用印")
def seal_outgoing(request: AuthedRequest, pk: int, body: ReasonIn) -> dict[str, Any]:
    user = _require_use(request)
    document = selectors_outgoing.get(user, pk)
    outgoing.seal(actor=user, document=document, request_id=_rid(request, body.request_id))
    return _detail(user, pk)


@router.post("/{pk}/distribute", response=OutgoingDetailOut, summary="分发")
def distribute_outgoing(request: AuthedRequest, pk: int, body: DistributeIn) -> dict[str, Any]:
    user = _require_use(request)
    document = selectors_outgoing.get(user, pk)
    outgoing.distribute(
        actor=user,
        document=document,
        main_unit_ids=body.main_unit_ids,
        cc_unit_ids=body.cc_unit_ids,
        request_id=_rid(request, body.request_id),
    )
    return _detail(user, pk)


@router.post("/{pk}/void-number", response=OutgoingDetailOut, summary="作废发文字号（分发前）")
def void_number_outgoing(request: AuthedRequest, pk: int, body: ReasonIn) -> dict[str, Any]:
    user = _require_use(request)
    document = selectors_outgoing.get(user, pk)
    outgoing.void_number(
        actor=user, document=document, reason=body.reason, request_id=_rid(request, body.request_id)
    )
    return _detail(user, pk)


@router.post("/{pk}/cancel", response=OutgoingDetailOut, summary="拟稿人作废草稿")
def cancel_outgoing(request: AuthedRequest, pk: int, body: ReasonIn) -> dict[str, Any]:
    user = _require_use(request)
    document = selectors_outgoing.get(user, pk)
    outgoing.cancel(
        actor=user, document=document, reason=body.reason, request_id=_rid(request, body.request_id)
    )
    return _detail(user, pk)


@router.post("/{pk}/revoke", response=OutgoingDetailOut, summary="撤销（自始无效；分发后，公文管理员）")
def revoke_outgoing(request: AuthedRequest, pk: int, body: ReasonIn) -> dict[str, Any]:
    user = _require_use(request)
    document = selectors_outgoing.get(user, pk)
    outgoing.revoke(
        actor=user, document=document, reason=body.reason, request_id=_rid(request, body.request_id)
    )
    return _detail(user, pk)


@router.post(
    "/{pk}/abolish", response=OutgoingDetailOut, summary="废止（自废止日期起失效；分发后，公文管理员）"
)
def abolish_outgoing(request: AuthedRequest, pk: int, body: AbolishIn) -> dict[str, Any]:
    user = _require_use(request)
    document = selectors_outgoing.get(user, pk)
    outgoing.abolish(
        actor=user,
        document=document,
        reason=body.reason,
        on=body.on,
        request_id=_rid(request, body.request_id),
    )
    return _detail(user, pk)


@router.post(
    "/{pk}/attachments",
    response={201: OutgoingDetailOut},
    summary="追加附件（multipart；拟稿人修改草稿，或公文管理员复核时追加——属实质性修改，送原签发人复审）",
)
def add_attachment(
    request: AuthedRequest,
    pk: int,
    file: File[UploadedFile],
    title: Form[str] = "",
    reason: Form[str] = "",
    lock_version: Form[int | None] = None,
    request_id: Form[str] = "",
) -> Status[dict[str, Any]]:
    user = _require_use(request)
    document = selectors_outgoing.get(user, pk)
    rid = _rid(request, request_id)
    drafter = document.drafter_id == user.pk
    clerk = outgoing.is_clerk_of(user, document)
    if not drafter and not clerk:
        raise PermissionDeniedError(_("只有草稿的拟稿人或复核中的公文管理员可以追加附件。"))
    name = title.strip() or (file.name or "").rsplit(".", 1)[0]
    with transaction.atomic():
        # The row lock makes a retry wait for the first try and then see its record.
        OutgoingDocument.objects.select_for_update().filter(pk=document.pk).first()
        if DocumentEvent.objects.filter(outgoing_id=document.pk, detail__request_id=rid).exists():
            return Status(201, _detail(user, pk))
        document.refresh_from_db()
        items = [
            outgoing.AttachmentIn(title=attachment.title, id=attachment.pk)
            for attachment in document.attachments.order_by("seq")
        ]
        items.append(outgoing.AttachmentIn(title=name, upload=file))
        data = outgoing.DraftIn(attachments=items, lock_version=lock_version)
        try:
            if document.state == OutgoingState.DRAFT and drafter:
                outgoing.draft_update(actor=user, document=document, data=data, request_id=rid)
            elif document.state == OutgoingState.SIGNED and clerk:
                if not reason.strip():
                    raise rules.FieldErrors({"reason": [_("追加附件属实质性修改，请填写修改说明。")]})
                outgoing.recheck(
                    actor=user, document=document, data=data, reason=reason.strip(), request_id=rid
                )
            else:
                raise DomainError(
                    _("公文当前状态为“%(state)s”，不能追加附件。")
                    % {"state": OutgoingState(document.state).label}
                )
        except rules.FieldErrors as error:
            # The title is this call's field; the service names it after the list.
            raise rules.FieldErrors(
                {
                    ("title" if key == "attachments" else key): messages
                    for key, messages in error.errors.items()
                }
            ) from None
    return Status(201, _detail(user, pk))


@router.get("/{pk}/pdf", summary="版式文件（PDF）；涉密公文的下载记入审计")
def pdf_outgoing(request: AuthedRequest, pk: int) -> HttpResponseBase:
    from xietong.documents.views.outgoing import pdf_response

    user = _require_use(request)
    document = selectors_outgoing.get(user, pk)
    return pdf_response(request, user, document, inline=False)
