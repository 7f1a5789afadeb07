"""收文 over the REST API under ``/api/v1/documents/incoming/``: the same rules as the pages —
reads from ``selectors_incoming`` scoped to the caller, changes from ``incoming``.

- ``GET /`` (``box``, ``state``, ``doc_type``, ``urgency``, ``overdue``, ``year``, ``q``),
  ``GET /counts``, ``GET /{id}``;
- ``GET /statistics`` (``period``, ``from``, ``to``, ``unit``, ``lead_only``): 办理时效 per
  承办 unit, for 公文管理员;
- ``POST /`` registers a paper document (multipart, with the scan);
- ``POST /{id}/sign|return|propose|instruct|handling-done|circulate|read|urge|conclude``.

Every change takes an idempotency key (``request_id`` or the ``Idempotency-Key`` header): sent
again, it is applied once and answers the document as it is. ``lock_version`` guards against
changes made since the caller read the document (409).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from xietong.audit.services import record
from xietong.core import access, classification, clock
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.documents import audit_actions, incoming, selectors_incoming, statistics
from xietong.documents.models import Channel, IncomingDocument
from xietong.documents.permissions import USE
from xietong.documents.schemas_incoming import (
    CirculateIn,
    ConcludeIn,
    CountsOut,
    HandlingDoneIn,
    IncomingDetailOut,
    IncomingPageOut,
    InstructIn,
    ProposeIn,
    ReadIn,
    ReasonIn,
    SignIn,
    StatisticsOut,
    UrgeIn,
)
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest

router = Router(tags=["公文"])


def _user(request: AuthedRequest) -> User:
    if not access.can(request.user, USE):
        raise PermissionDeniedError(_("您没有使用公文的权限。"))
    return request.user


def _request_id(request: AuthedRequest, given: str | None) -> str:
    header = (request.headers.get("Idempotency-Key") or "").strip()
    body = (given or "").strip()
    if header and body and header != body:
        raise DomainError(_("请求体中的 request_id 与请求头 Idempotency-Key 不一致。"))
    return body or header or f"api-{uuid.uuid4().hex}"


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.name or user.username}


def _row(document: IncomingDocument, overdue: bool) -> dict[str, Any]:
    return {
        "id": document.pk,
        "recv_no": document.recv_no,
        "title": document.title,
        "sender_org": document.sender_org,
        "sender_doc_no": document.sender_doc_no,
        "doc_type": document.doc_type,
        "classification": document.classification,
        "urgency": document.urgency,
        "state": document.state,
        "state_label": str(document.get_state_display()),
        "channel": document.channel,
        "received_at": document.received_at,
        "deadline": document.deadline,
        "overdue": overdue,
        "created_at": document.created_at,
    }


def _detail(user: User, pk: int) -> dict[str, Any]:
    document = selectors_incoming.incoming_get(user, pk)
    can = selectors_incoming.abilities(user, document)
    now = clock.now()
    handlings = list(document.handlings.all())
    overdue = document.state == "handling" and any(
        h.done_at is None and h.deadline is not None and h.deadline < now for h in handlings
    )
    return {
        **_row(document, overdue),
        "receiving_unit_id": document.receiving_unit_id,
        "receiving_unit_name": document.receiving_unit.name,
        "date_written": document.date_written,
        "copies": document.copies,
        "copy_no": document.copy_no,
        "has_scan": document.scan_id is not None,
        "for_reading": document.for_reading,
        "proposal": document.proposal,
        "leader": _person(document.leader),
        "instruction": document.instruction,
        "instructed_at": document.instructed_at,
        "result": document.result,
        "closed_at": document.closed_at,
        "lock_version": document.lock_version,
        "handlings": [
            {
                "id": h.pk,
                "unit_id": h.unit_id,
                "unit_name": h.unit.name,
                "is_lead": h.is_lead,
                "deadline": h.deadline,
                "overdue": h.done_at is None and h.deadline is not None and h.deadline < now,
                "result": h.result,
                "done_at": h.done_at,
                "done_by": _person(h.done_by),
            }
            for h in handlings
        ],
        "circulations": [
            {"reader": _person(c.reader), "sent_at": c.sent_at, "read_at": c.read_at, "comment": c.comment}
            for c in document.circulations.all()
        ],
        "events": [
            {
                "action": e.action,
                "actor_name": e.actor_name,
                "actor_unit": e.actor_unit,
                "at": e.at,
                "opinion": e.opinion,
            }
            for e in document.events.all()
        ],
        "can": {
            "sign": can.sign,
            "return_to_sender": can.return_,
            "propose": can.propose,
            "instruct": can.instruct,
            "circulate": can.circulate,
            "read": can.read,
            "conclude": can.conclude,
            "handle": can.handle,
            "urge": can.urgeable,
        },
    }


class ListQuery(Schema):
    box: str = "all"
    state: str = ""
    doc_type: str = ""
    urgency: str | None = None
    overdue: bool = False
    year: int | None = None
    q: str = ""
    offset: int = 0
    limit: int = 20


@router.get("/", response=IncomingPageOut, summary="收文列表（box：pending/todo/doing/done/reading/all）")
def list_incoming(request: AuthedRequest, query: Query[ListQuery]) -> dict[str, Any]:
    user = _user(request)
    if query.box not in selectors_incoming.BOXES:
        raise DomainError(_("box 无效。"))
    filters = selectors_incoming.Filters(
        box=query.box,
        state=query.state,
        doc_type=query.doc_type,
        urgency=query.urgency,
        overdue=query.overdue,
        year=query.year,
        q=query.q[:100],
    )
    rows = selectors_incoming.incoming_list(user, filters)
    limit = max(1, min(query.limit, 100))
    offset = max(0, query.offset)
    return {
        "count": rows.count(),
        "items": [_row(d, bool(getattr(d, "is_overdue", False))) for d in rows[offset : offset + limit]],
    }


@router.get("/counts", response=CountsOut, summary="各收文箱数量")
def counts(request: AuthedRequest) -> dict[str, int]:
    return selectors_incoming.counts(_user(request))


class StatisticsQuery(Schema):
    period: str = Field(
        statistics.DEFAULT_PERIOD, description="this_month、last_month、this_quarter、this_year 或 custom"
    )
    first: dt.date | None = Field(None, alias="from", description="自定义时段的起始日期")
    last: dt.date | None = Field(None, alias="to", description="自定义时段的截止日期（含）")
    unit: int | None = Field(None, description="承办部门（含下级）")
    lead_only: bool = Field(False, description="仅统计主办")


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _figures(figures: statistics.Figures) -> dict[str, Any]:
    return {
        "handlings": figures.handlings,
        "on_time": figures.on_time,
        "late": figures.late,
        "open": figures.open,
        "overdue_now": figures.overdue_now,
        "median_hours": _hours(figures.median_hours),
        "average_hours": _hours(figures.average_hours),
    }


@router.get("/statistics", response=StatisticsOut, summary="收文办理时效统计（按承办部门，公文管理员）")
def handling_statistics(request: AuthedRequest, query: Query[StatisticsQuery]) -> dict[str, Any]:
    filters = statistics.Filters(
        period=query.period, first=query.first, last=query.last, unit=query.unit, lead_only=query.lead_only
    )
    report = statistics.handling_report(_user(request), filters)
    return {
        "first_day": report.first_day,
        "last_day": report.last_day,
        "unit_id": report.unit.pk if report.unit else None,
        "lead_only": report.lead_only,
        "rows": [
            {"unit_id": row.unit_id, "unit_name": row.name, **_figures(row.figures)} for row in report.rows
        ],
        "total": _figures(report.total),
    }


@router.get("/{document_id}", response=IncomingDetailOut, summary="收文处理单")
def get_incoming(request: AuthedRequest, document_id: int) -> dict[str, Any]:
    user = _user(request)
    answer = _detail(user, document_id)
    if classification.is_classified(answer["classification"]):
        record(
            actor=user,
            action=audit_actions.INCOMING_VIEWED,
            target=IncomingDocument(pk=document_id),
            request=request,
            details={"how": "api", "classification": answer["classification"]},
        )
    return answer


@router.post("/", response={201: IncomingDetailOut}, summary="登记纸质来文（multipart，含扫描件）")
def register_paper(
    request: AuthedRequest,
    unit_id: Form[int],
    sender_org: Form[str],
    title: Form[str],
    scan: File[UploadedFile | None] = None,
    sender_doc_no: Form[str] = "",
    doc_type: Form[str] = "",
    classification_level: Form[int] = 0,
    urgency: Form[str] = "",
    date_written: Form[dt.date | None] = None,
    channel: Form[str] = Channel.CONFIDENTIAL,
    copies: Form[int] = 1,
    copy_no: Form[str] = "",
    request_id: Form[str] = "",
) -> Status[dict[str, Any]]:
    user = _user(request)
    rid = _request_id(request, request_id)
    document = incoming.register_paper(
        actor=user,
        unit=unit_id,
        sender_org=sender_org,
        title=title,
        sender_doc_no=sender_doc_no,
        doc_type=doc_type,
        classification_level=classification_level,
        urgency=urgency,
        date_written=date_written,
        channel=channel,
        copies=copies,
        copy_no=copy_no,
        scan=scan,
        request_id=rid,
    )
    return Status(201, _detail(user, document.pk))


def _act(
    request: AuthedRequest, document_id: int, body: Any, call: Callable[[User, str], object]
) -> dict[str, Any]:
    user = _user(request)
    rid = _request_id(request, body.request_id)
    selectors_incoming.incoming_get(user, document_id)  # 404 for what the caller may not see
    if not incoming.seen(user, document_id, rid):
        with incoming.request(rid):
            call(user, rid)
    return _detail(user, document_id)


@router.post("/{document_id}/sign", response=IncomingDetailOut, summary="签收（电子来文签收即登记编号）")
def sign_for(request: AuthedRequest, document_id: int, body: SignIn) -> dict[str, Any]:
    return _act(
        request,
        document_id,
        body,
        lambda user, rid: incoming.sign_for(
            actor=user, document_id=document_id, lock_version=body.lock_version
        ),
    )


@router.post("/{document_id}/return", response=IncomingDetailOut, summary="初审不通过，退回来文单位")
def return_to_sender(request: AuthedRequest, document_id: int, body: ReasonIn) -> dict[str, Any]:
    return _act(
        request,
        document_id,
        body,
        lambda user, rid: incoming.return_to_sender(
            actor=user, document_id=document_id, reason=body.reason, lock_version=body.lock_version
        ),
    )


@router.post(
    "/{document_id}/propose", response=IncomingDetailOut, summary="拟办（送领导批办，或阅知性直接传阅）"
)
def propose(request: AuthedRequest, document_id: int, body: ProposeIn) -> dict[str, Any]:
    return _act(
        request,
        document_id,
        body,
        lambda user, rid: incoming.propose(
            actor=user,
            document_id=document_id,
            proposal=body.proposal,
            for_reading=body.for_reading,
            leader_id=body.leader_id,
            reader_ids=body.reader_ids,
            lock_version=body.lock_version,
        ),
    )


@router.post(
    "/{document_id}/instruct", response=IncomingDetailOut, summary="批办：批示、承办部门（主办）与时限"
)
def instruct(request: AuthedRequest, document_id: int, body: InstructIn) -> dict[str, Any]:
    return _act(
        request,
        document_id,
        body,
        lambda user, rid: incoming.instruct(
            actor=user,
            document_id=document_id,
            instruction=body.instruction,
            handlings=[h.dict() for h in body.handlings],
            reader_ids=body.reader_ids,
            lock_version=body.lock_version,
        ),
    )


@router.post("/{document_id}/handling-done", response=IncomingDetailOut, summary="承办部门登记办理情况")
def handling_done(request: AuthedRequest, document_id: int, body: HandlingDoneIn) -> dict[str, Any]:
    return _act(
        request,
        document_id,
        body,
        lambda user, rid: incoming.handling_done(
            actor=user,
            document_id=document_id,
            handling_id=body.handling_id,
            result=body.result,
            lock_version=body.lock_version,
        ),
    )


@router.post("/{document_id}/circulate", response=IncomingDetailOut, summary="传阅")
def circulate(request: AuthedRequest, document_id: int, body: CirculateIn) -> dict[str, Any]:
    return _act(
        request,
        document_id,
        body,
        lambda user, rid: incoming.circulate(
            actor=user, document_id=document_id, reader_ids=body.reader_ids, lock_version=body.lock_version
        ),
    )


@router.post("/{document_id}/read", response=IncomingDetailOut, summary="阅毕（可附阅批意见）")
def read(request: AuthedRequest, document_id: int, body: ReadIn) -> dict[str, Any]:
    return _act(
        request,
        document_id,
        body,
        lambda user, rid: incoming.mark_read(actor=user, document_id=document_id, comment=body.comment),
    )


@router.post("/{document_id}/urge", response=IncomingDetailOut, summary="催办承办部门（每小时最多一次）")
def urge(request: AuthedRequest, document_id: int, body: UrgeIn) -> dict[str, Any]:
    return _act(
        request,
        document_id,
        body,
        lambda user, rid: incoming.urge(actor=user, document_id=document_id, handling_id=body.handling_id),
    )


@router.post("/{document_id}/conclude", response=IncomingDetailOut, summary="办结")
def conclude(request: AuthedRequest, document_id: int, body: ConcludeIn) -> dict[str, Any]:
    return _act(
        request,
        document_id,
        body,
        lambda user, rid: incoming.conclude(
            actor=user, document_id=document_id, result=body.result, lock_version=body.lock_version
        ),
    )
