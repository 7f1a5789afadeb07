"""发文登记簿 and 收文登记簿 (条例 第二十四条、第二十五条(二); fields of the domain notes §2.5).

The 发文登记簿 lists every 发文字号 given, in number order per organ and year, including the
numbers declared void (作废, with the reason): a number is never reused, and the register shows
where each one went. The 收文登记簿 lists what the receiving units signed for.

Both are scoped to the units where the viewer is a 文秘 (``documents.clerk``) and to their
clearance; each is read in a fixed number of queries whatever its length, and exported to
Excel (audited: the registers name classified documents).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from xietong.audit.actions import register as register_action
from xietong.audit.services import Target, record
from xietong.core import access, classification, clock
from xietong.core.errors import PermissionDeniedError
from xietong.documents.models import (
    Channel,
    Distribution,
    DocType,
    Handling,
    IncomingDocument,
    IncomingState,
    IssuingOrgan,
    OutgoingDocument,
    OutgoingState,
    Urgency,
    VoidedNumber,
)
from xietong.documents.permissions import CLERK
from xietong.identity.models import User
from xietong.org.models import OrgUnit

REGISTER_EXPORTED = "documents.register.exported"
register_action(REGISTER_EXPORTED, gettext_lazy("导出公文登记簿"))

OUTGOING = "outgoing"
INCOMING = "incoming"
#: The state filter value that shows only voided numbers of the 发文登记簿.
VOIDED = "voided"


def may_view(user: Any) -> bool:
    return access.can(user, CLERK)


def _require(user: User) -> None:
    if not may_view(user):
        raise PermissionDeniedError(_("您没有查看公文登记簿的权限。"))


@dataclass(frozen=True)
class Filters:
    year: int | None = None
    #: The issuing organ (发文) or the receiving unit (收文).
    organ: int | None = None
    unit: int | None = None
    doc_type: str = ""
    state: str = ""
    search: str = ""


def _date(value: dt.datetime | None) -> dt.date | None:
    return timezone.localtime(value).date() if value is not None else None


def _moment(value: dt.datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value is not None else ""


# --------------------------------------------------------------------------- 发文登记簿


@dataclass(frozen=True)
class OutgoingRow:
    organ_code: str
    year: int
    seq: int
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
    distribution: list[tuple[str, str]] = field(default_factory=list)
    print_date: dt.date | None = None
    archived: str = ""
    state: str = ""
    document_id: int | None = None
    voided: bool = False
    void_reason: str = ""

    @property
    def distribution_text(self) -> str:
        return "、".join(f"{unit}（{copy}）" if copy else unit for unit, copy in self.distribution)


def organs_for(viewer: User) -> QuerySet[IssuingOrgan]:
    return access.restrict(viewer, CLERK, IssuingOrgan.objects.all(), unit_field="unit").order_by("code")


def units_for(viewer: User) -> QuerySet[OrgUnit]:
    return access.restrict(viewer, CLERK, OrgUnit.objects.filter(is_active=True), unit_field="pk")


def _outgoing_documents(viewer: User, filters: Filters) -> QuerySet[OutgoingDocument]:
    documents = OutgoingDocument.objects.filter(doc_no_seq__isnull=False)
    documents = access.restrict(
        viewer, CLERK, documents, unit_field="organ__unit", classification_field="classification"
    )
    if filters.year:
        documents = documents.filter(doc_no_year=filters.year)
    if filters.organ:
        documents = documents.filter(organ_id=filters.organ)
    if filters.doc_type:
        documents = documents.filter(doc_type=filters.doc_type)
    if filters.state:
        documents = documents.filter(state=filters.state)
    if filters.search:
        documents = documents.filter(Q(title__icontains=filters.search) | Q(doc_no__icontains=filters.search))
    return documents.select_related("organ", "drafter", "drafting_unit", "archive_item").prefetch_related(
        Prefetch(
            "distributions", queryset=Distribution.objects.select_related("unit").order_by("copy_no", "pk")
        )
    )


def _voided(viewer: User, filters: Filters) -> QuerySet[VoidedNumber]:
    numbers = access.restrict(viewer, CLERK, VoidedNumber.objects.all(), unit_field="organ__unit")
    if filters.year:
        numbers = numbers.filter(year=filters.year)
    if filters.organ:
        numbers = numbers.filter(organ_id=filters.organ)
    if filters.doc_type:
        numbers = numbers.filter(document__doc_type=filters.doc_type)
    if filters.search:
        numbers = numbers.filter(
            Q(doc_no__icontains=filters.search) | Q(document__title__icontains=filters.search)
        )
    return numbers.select_related("organ", "document")


def _signers(document: OutgoingDocument) -> str:
    names = [str(entry.get("name", "")) for entry in document.signers or [] if isinstance(entry, dict)]
    return "、".join(name for name in names if name)


def _signed_on(document: OutgoingDocument) -> dt.date | None:
    # 签发日期: the signers' full dates (条例 第二十二条); the 成文日期 is the last of them.
    return document.date_written or _date(document.signed_at)


def outgoing_register(viewer: User, filters: Filters | None = None) -> list[OutgoingRow]:
    """The 发文登记簿 in number order (organ, year, 序号), voided numbers in their place."""
    _require(viewer)
    filters = filters or Filters()
    rows: dict[tuple[str, int, int], OutgoingRow] = {}
    if filters.state != VOIDED:
        for document in _outgoing_documents(viewer, filters):
            key = (document.organ.code, document.doc_no_year or 0, document.doc_no_seq or 0)
            archive_item = getattr(document, "archive_item", None)
            rows[key] = OutgoingRow(
                organ_code=document.organ.code,
                year=key[1],
                seq=key[2],
                doc_no=document.doc_no,
                title=document.title,
                doc_type=str(DocType(document.doc_type).label),
                classification=classification.label(document.classification),
                urgency=str(Urgency(document.urgency).label) if document.urgency else "",
                drafting_unit=document.drafting_unit.name if document.drafting_unit else "",
                drafter=document.drafter.name or document.drafter.username,
                signers=_signers(document),
                signed_on=_signed_on(document),
                main_recipients=document.main_recipients,
                cc_recipients=document.cc_recipients,
                copies=document.copies,
                distribution=[(item.unit.name, item.copy_no) for item in document.distributions.all()],
                print_date=document.print_date,
                archived=archive_item.archival_code if archive_item is not None else "",
                state=str(OutgoingState(document.state).label),
                document_id=document.pk,
            )
    if not filters.state or filters.state == VOIDED:
        for number in _voided(viewer, filters):
            key = (number.organ.code, number.year, number.seq)
            voided_document = number.document
            # The title of a voided number's document only for those cleared to read it.
            title = (
                voided_document.title
                if voided_document is not None
                and classification.allows(viewer, voided_document.classification)
                else ""
            )
            rows[key] = OutgoingRow(
                organ_code=number.organ.code,
                year=number.year,
                seq=number.seq,
                doc_no=number.doc_no,
                title=title,
                doc_type=str(DocType(voided_document.doc_type).label) if voided_document is not None else "",
                classification="",
                urgency="",
                drafting_unit="",
                drafter="",
                signers="",
                signed_on=None,
                main_recipients="",
                cc_recipients="",
                copies=None,
                state=_("作废"),
                document_id=voided_document.pk if voided_document is not None and title else None,
                voided=True,
                void_reason=number.reason,
            )
    return [rows[key] for key in sorted(rows)]


# --------------------------------------------------------------------------- 收文登记簿


@dataclass(frozen=True)
class IncomingRow:
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
    overdue: bool = False


def _incoming_documents(viewer: User, filters: Filters) -> QuerySet[IncomingDocument]:
    documents = IncomingDocument.objects.filter(Q(recv_seq__isnull=False) | Q(received_at__isnull=False))
    documents = access.restrict(
        viewer, CLERK, documents, unit_field="receiving_unit", classification_field="classification"
    )
    if filters.year:
        documents = documents.filter(
            Q(recv_year=filters.year) | Q(recv_year__isnull=True, received_at__year=filters.year)
        )
    if filters.unit:
        documents = documents.filter(receiving_unit_id=filters.unit)
    if filters.doc_type:
        documents = documents.filter(doc_type=filters.doc_type)
    if filters.state:
        documents = documents.filter(state=filters.state)
    if filters.search:
        documents = documents.filter(
            Q(title__icontains=filters.search)
            | Q(recv_no__icontains=filters.search)
            | Q(sender_org__icontains=filters.search)
            | Q(sender_doc_no__icontains=filters.search)
        )
    return (
        documents.select_related("receiving_unit")
        .prefetch_related(
            Prefetch("handlings", queryset=Handling.objects.select_related("unit").order_by("-is_lead", "pk"))
        )
        .order_by("receiving_unit__path", "recv_year", "recv_seq", "received_at", "pk")
    )


def incoming_register(viewer: User, filters: Filters | None = None) -> list[IncomingRow]:
    """The 收文登记簿 per receiving unit in 收文号 order."""
    _require(viewer)
    filters = filters or Filters()
    now = clock.now()
    rows: list[IncomingRow] = []
    for document in _incoming_documents(viewer, filters):
        handlings = list(document.handlings.all())
        lead = [handling.unit.name for handling in handlings if handling.is_lead]
        others = [handling.unit.name for handling in handlings if not handling.is_lead]
        open_states = (IncomingState.CONCLUDED, IncomingState.ARCHIVED, IncomingState.RETURNED)
        rows.append(
            IncomingRow(
                recv_no=document.recv_no,
                received_at=_moment(document.received_at),
                sender_org=document.sender_org,
                sender_doc_no=document.sender_doc_no,
                title=document.title,
                doc_type=str(DocType(document.doc_type).label) if document.doc_type else "",
                classification=classification.label(document.classification),
                copy_no=document.copy_no,
                urgency=str(Urgency(document.urgency).label) if document.urgency else "",
                date_written=document.date_written,
                copies=document.copies,
                channel=str(Channel(document.channel).label),
                state=str(IncomingState(document.state).label),
                deadline=_moment(document.deadline),
                lead_unit="、".join(lead),
                co_units="、".join(others),
                result=document.result,
                closed_at=_moment(document.closed_at),
                receiving_unit=document.receiving_unit.name,
                document_id=document.pk,
                overdue=document.deadline is not None
                and document.deadline < now
                and document.state not in open_states,
            )
        )
    return rows


# --------------------------------------------------------------------------- Excel


def text_cell(sheet: Any, value: Any, *, bold: bool = False) -> Any:
    """A cell of a write-only sheet: numbers as numbers, anything else as text (never a formula)."""
    if value is None:
        value = ""
    if isinstance(value, dt.date):
        value = value.isoformat()
    if isinstance(value, int):
        return value
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", str(value)))
    cell.data_type = "s"  # text stays text, never a formula
    if bold:
        cell.font = Font(bold=True)
    return cell


def outgoing_headers() -> list[str]:
    return [
        _("发文字号"),
        _("标题"),
        _("文种"),
        _("密级"),
        _("紧急程度"),
        _("拟稿部门"),
        _("拟稿人"),
        _("签发人"),
        _("签发日期"),
        _("主送"),
        _("抄送"),
        _("印制份数"),
        _("分发（单位与份号）"),
        _("印发日期"),
        _("归档"),
        _("状态"),
        _("作废原因"),
    ]


def _outgoing_values(row: OutgoingRow) -> list[Any]:
    return [
        row.doc_no,
        row.title,
        row.doc_type,
        row.classification,
        row.urgency,
        row.drafting_unit,
        row.drafter,
        row.signers,
        row.signed_on,
        row.main_recipients,
        row.cc_recipients,
        row.copies,
        row.distribution_text,
        row.print_date,
        row.archived,
        row.state,
        row.void_reason,
    ]


def incoming_headers() -> list[str]:
    return [
        _("收文号"),
        _("签收时间"),
        _("来文单位"),
        _("来文字号"),
        _("标题"),
        _("文种"),
        _("密级"),
        _("份号"),
        _("紧急程度"),
        _("成文日期"),
        _("份数"),
        _("来文方式"),
        _("办理状态"),
        _("时限"),
        _("主办部门"),
        _("协办部门"),
        _("办理结果"),
        _("办结时间"),
        _("收文单位"),
    ]


def _incoming_values(row: IncomingRow) -> list[Any]:
    return [
        row.recv_no,
        row.received_at,
        row.sender_org,
        row.sender_doc_no,
        row.title,
        row.doc_type,
        row.classification,
        row.copy_no,
        row.urgency,
        row.date_written,
        row.copies,
        row.channel,
        row.state,
        row.deadline,
        row.lead_unit,
        row.co_units,
        row.result,
        row.closed_at,
        row.receiving_unit,
    ]


def workbook(kind: str, rows: Iterable[Any], *, heading: str) -> bytes:
    book = Workbook(write_only=True)
    values: Callable[[Any], list[Any]]
    if kind == OUTGOING:
        sheet = book.create_sheet(_("发文登记簿"))
        headers, values = outgoing_headers(), _outgoing_values
    else:
        sheet = book.create_sheet(_("收文登记簿"))
        headers, values = incoming_headers(), _incoming_values
    sheet.append([text_cell(sheet, heading, bold=True)])
    sheet.append([text_cell(sheet, text, bold=True) for text in headers])
    for row in rows:
        sheet.append([text_cell(sheet, value) for value in values(row)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Export:
    content: bytes
    name: str
    rows: int


def export(*, actor: User, kind: str, filters: Filters, request: HttpRequest | None = None) -> Export:
    """The register of ``kind`` as the viewer sees it, as an Excel workbook; audited."""
    if kind == OUTGOING:
        rows: list[Any] = outgoing_register(actor, filters)
        heading = _("发文登记簿")
    else:
        rows = incoming_register(actor, filters)
        heading = _("收文登记簿")
    if filters.year:
        heading += f" · {filters.year}"
    content = workbook(kind, rows, heading=heading)
    with transaction.atomic():
        record(
            actor=actor,
            action=REGISTER_EXPORTED,
            target=Target("documents.register", kind, heading),
            request=request,
            details={
                "kind": kind,
                "year": filters.year,
                "organ": filters.organ,
                "unit": filters.unit,
                "doc_type": filters.doc_type,
                "state": filters.state,
                "search": filters.search,
                "rows": len(rows),
            },
        )
    stamp = timezone.localtime(clock.now()).strftime("%Y%m%d-%H%M")
    return Export(content, f"documents-{kind}-register-{stamp}.xlsx", len(rows))
