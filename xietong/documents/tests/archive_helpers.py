"""Test data of the register and archive tests: finished documents written directly with the ORM
(the 发文 and 收文 steps are other tests' business) and an archivist.

Uses the fixtures of ``conftest.py`` (``docs_org``, ``docs_people``, ``organ``)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from typing import Any

from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

from tests.fixtures import grant_role, make_user, place
from xietong.core import classification, clock
from xietong.documents.models import (
    Distribution,
    DocumentEvent,
    Handling,
    IncomingDocument,
    IncomingState,
    IssuingOrgan,
    OutgoingAttachment,
    OutgoingDocument,
    OutgoingState,
    VoidedNumber,
)
from xietong.files import services as files
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import DataScope, OrgUnit

_numbers = itertools.count(1)


def pdf_bytes(pages: int = 2, text: str = "正本") -> bytes:
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer)
    for page in range(pages):
        sheet.drawString(72, 720, f"{text} {page + 1}")
        sheet.showPage()
    sheet.save()
    return buffer.getvalue()


def stored(content: bytes, name: str, content_type: str = "application/pdf", level: int = 0) -> StoredFile:
    return files.store_generated(
        content=content, name=name, content_type=content_type, context="documents.test", classification=level
    )


def finished_outgoing(
    organ: IssuingOrgan,
    drafter: User,
    unit: OrgUnit,
    *,
    title: str = "关于做好年度安全生产工作的通知",
    doc_type: str = "tongzhi",
    seq: int | None = None,
    level: int = 0,
    state: str = OutgoingState.DISTRIBUTED,
    attachments: int = 1,
    docx: bool = False,
    to: list[OrgUnit] | None = None,
    sender: User | None = None,
    year: int = 2026,
) -> OutgoingDocument:
    """A 已分发 发文 with its 正本 PDF, attachments and a process record."""
    number = seq if seq is not None else next(_numbers)
    document = OutgoingDocument.objects.create(
        organ=organ,
        title=title,
        doc_type=doc_type,
        classification=level,
        secret_term="5年" if classification.is_classified(level) else "",
        drafter=drafter,
        drafting_unit=unit,
        main_recipients="各部门",
        cc_recipients="集团领导",
        doc_no_year=year,
        doc_no_seq=number,
        doc_no=f"{organ.code}〔{year}〕{number}号",
        date_written=dt.date(year, 3, 2),
        signers=[
            {"id": drafter.pk, "name": "赵董事长", "opinion": "同意", "at": "2026-03-02T09:30:00+08:00"}
        ],
        copies=5,
        print_date=dt.date(year, 3, 3),
        state=state,
        pdf=stored(pdf_bytes(2), "正本.pdf", level=level),
        body_docx=stored(
            b"PK\x03\x04docx",
            "正文.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            level,
        )
        if docx
        else None,
        signed_at=clock.now(),
        distributed_at=clock.now(),
    )
    for index in range(attachments):
        OutgoingAttachment.objects.create(
            document=document,
            seq=index + 1,
            title=f"附件{index + 1}",
            file=stored(pdf_bytes(1, "附件"), f"附件{index + 1}.pdf", level=level),
        )
    for action in ("起草", "签发", "登记", "用印", "分发"):
        DocumentEvent.objects.create(outgoing=document, action=action, actor=drafter, actor_name=drafter.name)
    for index, target in enumerate(to or []):
        Distribution.objects.create(
            document=document, unit=target, sent_by=sender or drafter, copy_no=f"{index + 1:06d}"
        )
    return document


def voided(
    organ: IssuingOrgan, by: User, *, seq: int, year: int = 2026, reason: str = "登记错误"
) -> VoidedNumber:
    return VoidedNumber.objects.create(
        organ=organ, year=year, seq=seq, doc_no=f"{organ.code}〔{year}〕{seq}号", reason=reason, voided_by=by
    )


def finished_incoming(
    unit: OrgUnit,
    clerk: User,
    *,
    title: str = "关于报送年度统计数据的函",
    seq: int | None = None,
    level: int = 0,
    state: str = IncomingState.CONCLUDED,
    handlers: list[OrgUnit] | None = None,
) -> IncomingDocument:
    """An 已办结 收文 with a scan and a process record."""
    number = seq if seq is not None else next(_numbers)
    document = IncomingDocument.objects.create(
        receiving_unit=unit,
        recv_year=2026,
        recv_seq=number,
        recv_no=f"收〔2026〕{number}号",
        channel="post",
        sender_org="江苏省能源局",
        sender_doc_no=f"苏能函〔2026〕{number}号",
        title=title,
        doc_type="han",
        classification=level,
        date_written=dt.date(2026, 2, 20),
        copies=1,
        scan=stored(pdf_bytes(1, "来文"), "来文扫描.pdf", level=level),
        state=state,
        received_at=clock.now(),
        received_by=clerk,
        result="已按要求报送",
        closed_at=clock.now(),
        closed_by=clerk,
    )
    for index, handler in enumerate(handlers or []):
        Handling.objects.create(document=document, unit=handler, is_lead=index == 0, result="已办")
    for action in ("签收", "登记", "承办", "办结"):
        DocumentEvent.objects.create(incoming=document, action=action, actor=clerk, actor_name=clerk.name)
    return document


def make_archivist(unit: OrgUnit, username: str = "dangan", **fields: Any) -> User:
    fields.setdefault("clearance", classification.COMMERCIAL_SECRET)
    user = make_user(username, name=fields.pop("name", "钱档案"), **fields)
    place(user, unit)
    grant_role(user, builtin.ARCHIVIST, scope=DataScope.GROUP)
    return user
