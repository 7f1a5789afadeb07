"""Test data of the 收文 tests: an outgoing document distributed over the platform, a paper scan,
and the departments that handle a 收文 in the group (财务部 with 刘主任 as head, 综合办公室)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from xietong.core import clock
from xietong.documents import incoming
from xietong.documents.models import (
    Distribution,
    IncomingDocument,
    IssuingOrgan,
    OutgoingDocument,
    OutgoingState,
)
from xietong.identity.models import User
from xietong.org.models import OrgUnit

_SEQ = itertools.count(100)


def sent(
    organ: IssuingOrgan,
    drafter: User,
    unit: OrgUnit,
    *,
    title: str = "关于做好年度安全生产工作的通知",
    seq: int | None = None,
    urgency: str = "",
    level: int = 0,
) -> OutgoingDocument:
    """A distributed outgoing document (its 发文 steps are not what these tests are about)."""
    seq = seq if seq is not None else next(_SEQ)
    return OutgoingDocument.objects.create(
        organ=organ,
        title=title,
        doc_type="tongzhi",
        classification=level,
        urgency=urgency,
        drafter=drafter,
        drafting_unit=unit,
        doc_no_year=2026,
        doc_no_seq=seq,
        doc_no=f"{organ.code}〔2026〕{seq}号",
        date_written=dt.date(2026, 3, 2),
        state=OutgoingState.DISTRIBUTED,
    )


def delivered(
    organ: IssuingOrgan, drafter: User, to: OrgUnit, sender: User, **kwargs: Any
) -> IncomingDocument:
    document = sent(organ, drafter, drafter.memberships.get().unit, **kwargs)
    distribution = Distribution.objects.create(document=document, unit=to, sent_by=sender, copy_no="000001")
    return incoming.deliver(distribution=distribution, actor=sender)


def scan(name: str = "来文扫描.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", content_type="application/pdf"
    )


def later(days: int = 3) -> str:
    return (clock.now() + dt.timedelta(days=days)).isoformat()
