"""发文字号: one gap-free sequence per 发文机关 and year (9704 §7.2.4), never reused.

``allocate`` runs inside the caller's transaction (the 登记): the counter row stays locked
until it commits, so two clerks registering at the same moment get consecutive numbers, and
a registration that fails rolls its number back with it — no gap.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from xietong.core.errors import DomainError
from xietong.documents import rules
from xietong.documents.models import IssuingOrgan, NumberCounter, OutgoingDocument, VoidedNumber
from xietong.identity.models import User


def allocate(organ: IssuingOrgan, year: int) -> int:
    """The next 序号 of ``organ`` in ``year``, under ``SELECT … FOR UPDATE`` on its counter."""
    with transaction.atomic():
        # The row is created race-free: a concurrent creator makes get_or_create read the
        # committed row instead (unique on organ and year), then everyone queues on the lock.
        NumberCounter.objects.get_or_create(organ=organ, year=year)
        counter = NumberCounter.objects.select_for_update().get(organ=organ, year=year)
        counter.last += 1
        counter.save(update_fields=["last"])
        return counter.last


def void(*, document: OutgoingDocument, reason: str, actor: User) -> VoidedNumber:
    """Record the document's number as 作废 in the 发文登记簿; the counter never goes back, so
    the number is never given again."""
    if document.doc_no_seq is None or document.doc_no_year is None:
        raise DomainError(_("该公文尚未编号。"))
    text = (reason or "").strip()
    if not text:
        raise DomainError(_("请填写作废原因。"))
    if len(text) > 200:
        raise DomainError(_("作废原因不能超过 200 个字。"))
    return VoidedNumber.objects.create(
        organ_id=document.organ_id,
        year=document.doc_no_year,
        seq=document.doc_no_seq,
        doc_no=document.doc_no
        or rules.format_doc_no(document.organ.code, document.doc_no_year, document.doc_no_seq),
        document=document,
        reason=text,
        voided_by=actor,
    )
