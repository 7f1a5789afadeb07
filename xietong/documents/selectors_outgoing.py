"""What a user may see of outgoing documents: their own drafts; documents they held an approval
item on; the documents of organs within their 公文管理员 scope (past the draft); documents
distributed to units within that scope. Always capped by the user's clearance (密级)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import IntegerField, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from xietong.core import access, classification
from xietong.core.errors import NotFoundError
from xietong.documents import flows
from xietong.documents.models import Distribution, DocumentEvent, OutgoingDocument, OutgoingState, TextVersion
from xietong.documents.permissions import CLERK, USE
from xietong.workflow.models import WorkItem

#: Steps the clerks of the issuing organ do, in order.
CLERK_STATES = (OutgoingState.SIGNED, OutgoingState.CHECKED, OutgoingState.REGISTERED, OutgoingState.SEALED)
_PRIVATE_STATES = (OutgoingState.DRAFT, OutgoingState.CANCELLED)


def _involved_ids(user: Any) -> QuerySet[Any]:
    """Documents whose approval requests gave ``user`` an item (the form names the document)."""
    return (
        WorkItem.objects.filter(assignee=user, instance__definition__code__in=flows.FLOW_CODES)
        .annotate(document_id=Cast(KeyTextTransform("document", "instance__data"), IntegerField()))
        .values("document_id")
    )


def visible(user: Any) -> QuerySet[OutgoingDocument]:
    """Every outgoing document ``user`` may read (a fixed number of sub-queries)."""
    documents = OutgoingDocument.objects.all()
    if not access.can(user, USE) and not access.can(user, CLERK):
        return documents.none()
    condition = Q(drafter=user) | Q(pk__in=_involved_ids(user))
    if access.can(user, CLERK):
        own_organs = access.restrict(user, CLERK, OutgoingDocument.objects.all(), unit_field="organ__unit")
        condition |= Q(pk__in=own_organs.exclude(state__in=_PRIVATE_STATES).values("pk"))
        received = access.restrict(user, CLERK, Distribution.objects.all(), unit_field="unit")
        condition |= Q(pk__in=received.values("document_id"))
    return documents.filter(condition, classification__lte=classification.clearance_of(user))


def get(user: Any, pk: Any) -> OutgoingDocument:
    try:
        return visible(user).select_related("organ", "drafter", "drafting_unit", "instance").get(pk=pk)
    except (OutgoingDocument.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("公文不存在或无权访问。")) from None


@dataclass(frozen=True)
class Filters:
    state: str = ""
    doc_type: str = ""
    organ: int | None = None
    year: int | None = None
    q: str = ""
    #: ``mine`` (drafted by me), ``todo`` (waiting for my office step) or empty.
    box: str = ""


def search(user: Any, filters: Filters) -> QuerySet[OutgoingDocument]:
    rows = visible(user).select_related("organ", "drafter")
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.doc_type:
        rows = rows.filter(doc_type=filters.doc_type)
    if filters.organ:
        rows = rows.filter(organ_id=filters.organ)
    if filters.year:
        rows = rows.filter(
            Q(doc_no_year=filters.year) | Q(doc_no_year__isnull=True, created_at__year=filters.year)
        )
    if filters.q:
        text = filters.q.strip()[:100]
        rows = rows.filter(Q(title__icontains=text) | Q(doc_no__icontains=text))
    if filters.box == "mine":
        rows = rows.filter(drafter=user)
    elif filters.box == "todo":
        rows = clerk_todo(user).select_related("organ", "drafter")
    return rows.order_by("-id")


def clerk_todo(user: Any) -> QuerySet[OutgoingDocument]:
    """Documents of organs within the user's clerk scope waiting for 复核, 登记, 用印 or 分发."""
    if not access.can(user, CLERK):
        return OutgoingDocument.objects.none()
    rows = access.restrict(
        user, CLERK, OutgoingDocument.objects.filter(state__in=CLERK_STATES), unit_field="organ__unit"
    )
    return rows.filter(classification__lte=classification.clearance_of(user)).order_by("-id")


def returned_drafts(user: Any) -> QuerySet[OutgoingDocument]:
    """The user's drafts that came back from approval (a 退回 event on a draft)."""
    returned = DocumentEvent.objects.filter(outgoing__drafter=user, action="退回拟稿人").values("outgoing_id")
    return OutgoingDocument.objects.filter(drafter=user, state=OutgoingState.DRAFT, pk__in=returned).order_by(
        "-updated_at"
    )


def drafts(user: Any) -> QuerySet[OutgoingDocument]:
    return OutgoingDocument.objects.filter(drafter=user, state=OutgoingState.DRAFT).order_by("-updated_at")


def versions(document: OutgoingDocument) -> list[TextVersion]:
    return list(document.versions.order_by("number"))


def events(document: OutgoingDocument) -> list[DocumentEvent]:
    return list(document.events.order_by("at", "pk"))
