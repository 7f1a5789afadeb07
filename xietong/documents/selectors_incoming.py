"""Reads of 收文, scoped to the viewer.

A 收文 is visible to the clerks whose 公文管理员 scope covers the receiving unit, to the leader
asked to 批办 it, to the members of its 承办 units (their head and clerks act, the others read)
and to its 传阅 readers — and to none of them above their clearance (密级). Every list, count,
to-do and detail goes through ``visible``; each answers in a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from xietong.core import access, classification, clock
from xietong.core.errors import NotFoundError
from xietong.documents import incoming
from xietong.documents.models import (
    Circulation,
    DocumentEvent,
    Handling,
    IncomingDocument,
    IncomingState,
)
from xietong.documents.permissions import CLERK
from xietong.files.models import StoredFile
from xietong.org.models import Membership

BOXES = ("pending", "todo", "doing", "done", "reading", "all")
OPEN_STATES = (
    IncomingState.REGISTERED,
    IncomingState.PROPOSED,
    IncomingState.HANDLING,
    IncomingState.CIRCULATING,
)
DONE_STATES = (IncomingState.CONCLUDED, IncomingState.ARCHIVED, IncomingState.RETURNED)


def _active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _clerk_docs(user: Any) -> Q:
    """Documents of a receiving unit inside the viewer's 公文管理员 scope (sub-queries only)."""
    if user.is_superuser:
        return Q(pk__isnull=False)
    if not access.can(user, CLERK):
        return Q(pk__in=[])
    scoped = access.restrict(user, CLERK, IncomingDocument.objects.order_by(), unit_field="receiving_unit")
    return Q(pk__in=scoped.values("pk"))


def _acting_handlings(user: Any) -> QuerySet[Handling]:
    """Handlings whose unit the viewer acts for: as its head, or as a clerk whose scope covers it."""
    heads = Membership.objects.filter(user_id=user.pk, is_head=True).values("unit_id")
    rows = Handling.objects.order_by()
    acting = Q(unit_id__in=heads)
    if user.is_superuser:
        return rows
    if access.can(user, CLERK):
        acting |= Q(
            pk__in=access.restrict(user, CLERK, Handling.objects.order_by(), unit_field="unit").values("pk")
        )
    return rows.filter(acting)


def visible(user: Any) -> QuerySet[IncomingDocument]:
    """Every 收文 the viewer may see."""
    if not _active(user):
        return IncomingDocument.objects.none()
    rows = IncomingDocument.objects.all()
    if user.is_superuser:
        return rows
    my_units = Membership.objects.filter(user_id=user.pk).values("unit_id")
    involved = (
        Q(leader_id=user.pk)
        | Q(pk__in=Handling.objects.filter(unit_id__in=my_units).values("document_id"))
        | Q(pk__in=Circulation.objects.filter(reader_id=user.pk).values("document_id"))
        | _clerk_docs(user)
    )
    return rows.filter(involved, classification__lte=classification.clearance_of(user))


def _box_conditions(user: Any) -> dict[str, Q]:
    clerk = _clerk_docs(user)
    acting_open = Q(
        pk__in=_acting_handlings(user).filter(done_at__isnull=True).values("document_id"),
        state=IncomingState.HANDLING,
    )
    unread = Q(
        pk__in=Circulation.objects.filter(reader_id=user.pk, read_at__isnull=True).values("document_id")
    )
    open_handling = Handling.objects.filter(document_id=OuterRef("pk"), done_at__isnull=True)
    ready_to_close = clerk & (
        Q(state=IncomingState.HANDLING) & ~Q(Exists(open_handling)) | Q(state=IncomingState.CIRCULATING)
    )
    todo = (
        (clerk & Q(state=IncomingState.REGISTERED))
        | Q(state=IncomingState.PROPOSED, leader_id=user.pk)
        | acting_open
        | ready_to_close
        | unread
    )
    return {
        "pending": clerk & Q(state=IncomingState.PENDING),
        "todo": todo,
        "doing": Q(state__in=OPEN_STATES),
        "done": Q(state__in=DONE_STATES),
        "reading": Q(pk__in=Circulation.objects.filter(reader_id=user.pk).values("document_id")),
        "all": Q(pk__isnull=False),
    }


def overdue_condition(now: dt.datetime | None = None) -> Q:
    """Past a deadline with the handling still open (``overdue`` is derived, never stored)."""
    now = now or clock.now()
    late = Handling.objects.filter(document_id=OuterRef("pk"), done_at__isnull=True, deadline__lt=now)
    return Q(state=IncomingState.HANDLING) & Q(Exists(late))


@dataclass
class Filters:
    box: str = "all"
    state: str = ""
    doc_type: str = ""
    urgency: str | None = None
    overdue: bool = False
    year: int | None = None
    q: str = ""


def incoming_list(user: Any, filters: Filters | None = None) -> QuerySet[IncomingDocument]:
    """The viewer's 收文 in one box, filtered, newest first, each marked ``is_overdue``."""
    filters = filters or Filters()
    rows = visible(user)
    conditions = _box_conditions(user)
    rows = rows.filter(conditions.get(filters.box, conditions["all"]))
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.doc_type:
        rows = rows.filter(doc_type=filters.doc_type)
    if filters.urgency is not None:
        rows = rows.filter(urgency=filters.urgency)
    if filters.overdue:
        rows = rows.filter(overdue_condition())
    if filters.year:
        rows = rows.filter(
            Q(recv_year=filters.year) | Q(recv_year__isnull=True, created_at__year=filters.year)
        )
    text = (filters.q or "").strip()
    if text:
        rows = rows.filter(
            Q(title__icontains=text) | Q(sender_doc_no__icontains=text) | Q(recv_no__icontains=text)
        )
    now = clock.now()
    late = Handling.objects.filter(document_id=OuterRef("pk"), done_at__isnull=True, deadline__lt=now)
    return (
        rows.select_related("receiving_unit")
        .annotate(is_overdue=Exists(late.filter(document__state=IncomingState.HANDLING)))
        .order_by("-id")
    )


def counts(user: Any) -> dict[str, int]:
    """How many 收文 in each box (one query)."""
    conditions = _box_conditions(user)
    aggregates = {box: Count("pk", filter=condition) for box, condition in conditions.items()}
    aggregates["overdue"] = Count("pk", filter=overdue_condition())
    result = visible(user).aggregate(**aggregates)
    return {key: int(value or 0) for key, value in result.items()}


# --------------------------------------------------------------------------- to-dos


@dataclass(frozen=True)
class Todo:
    document: IncomingDocument
    kind: str
    label: str
    at: dt.datetime | None
    due: dt.datetime | None = None


TODO_CAP = 200


def _clerk_todos(user: Any, base: QuerySet[IncomingDocument]) -> list[Todo]:
    """A 公文管理员's part: sign-ins, 拟办 and 办结 of the units in their scope (two queries)."""
    clerk = _clerk_docs(user)
    entries: list[Todo] = []
    for document in base.filter(clerk, state__in=[IncomingState.PENDING, IncomingState.REGISTERED])[
        :TODO_CAP
    ]:
        if document.state == IncomingState.PENDING:
            entries.append(Todo(document, "sign", _("待签收"), document.created_at))
        else:
            entries.append(Todo(document, "propose", _("待拟办"), document.received_at))
    open_handling = Handling.objects.filter(document_id=OuterRef("pk"), done_at__isnull=True)
    for document in base.filter(clerk).filter(
        Q(state=IncomingState.HANDLING) & ~Q(Exists(open_handling)) | Q(state=IncomingState.CIRCULATING)
    )[:TODO_CAP]:
        entries.append(
            Todo(document, "conclude", _("待办结"), document.instructed_at or document.received_at)
        )
    return entries


def todos_for(user: Any) -> list[Todo]:
    """The viewer's 收文 to-dos, urgent and overdue first: pending sign-ins, 拟办, 批办, 承办,
    办结 and 传阅. Three queries whatever the number of rows, two more for a 公文管理员."""
    if not _active(user):
        return []
    level = classification.clearance_of(user) if not user.is_superuser else classification.highest()
    base = IncomingDocument.objects.filter(classification__lte=level).order_by("-id")
    entries: list[Todo] = []
    if user.is_superuser or access.can(user, CLERK):
        entries += _clerk_todos(user, base)
    for document in base.filter(state=IncomingState.PROPOSED, leader_id=user.pk)[:TODO_CAP]:
        entries.append(Todo(document, "instruct", _("待批办"), document.created_at))
    handlings = (
        _acting_handlings(user)
        .filter(
            done_at__isnull=True, document__state=IncomingState.HANDLING, document__classification__lte=level
        )
        .select_related("document")
        .order_by("-id")[:TODO_CAP]
    )
    for handling in handlings:
        entries.append(
            Todo(handling.document, "handle", _("待承办"), handling.document.instructed_at, handling.deadline)
        )
    readings = (
        Circulation.objects.filter(
            reader_id=user.pk, read_at__isnull=True, document__classification__lte=level
        )
        .select_related("document")
        .order_by("-id")[:TODO_CAP]
    )
    for row in readings:
        entries.append(Todo(row.document, "read", _("待阅"), row.sent_at))
    now = clock.now()
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    entries.sort(key=lambda e: e.at or now, reverse=True)
    entries.sort(
        key=lambda e: (
            e.document.urgency != "teji",
            not (e.due is not None and e.due < now),
            e.due or far,
        )
    )
    return entries


# --------------------------------------------------------------------------- detail


@dataclass
class Abilities:
    """What the viewer may do on one 收文 now (the services check again)."""

    sign: bool = False
    return_: bool = False
    propose: bool = False
    instruct: bool = False
    circulate: bool = False
    read: bool = False
    urge: bool = False
    conclude: bool = False
    handle: list[int] = field(default_factory=list)
    urgeable: list[int] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return any(
            (self.sign, self.return_, self.propose, self.instruct, self.circulate, self.read, self.conclude)
        ) or bool(self.handle or self.urgeable)


def document_file(document: IncomingDocument) -> StoredFile | None:
    """What the receivers read: the scan of a paper document, or the 正本 PDF of one that came
    over the platform."""
    if document.scan is not None:
        return document.scan
    return document.source.pdf if document.source is not None else None


def incoming_get(user: Any, pk: Any) -> IncomingDocument:
    """One 收文 with its 承办, 传阅 ledger and process record; ``NotFoundError`` for a missing
    one and a hidden one alike."""
    rows = visible(user).select_related(
        "receiving_unit", "received_by", "leader", "closed_by", "scan", "source__pdf"
    )
    rows = rows.prefetch_related(
        Prefetch(
            "handlings",
            queryset=Handling.objects.select_related("unit", "done_by").order_by("-is_lead", "pk"),
        ),
        Prefetch(
            "circulations", queryset=Circulation.objects.select_related("reader", "sent_by").order_by("pk")
        ),
        Prefetch("events", queryset=DocumentEvent.objects.order_by("at", "pk")),
    )
    try:
        return rows.get(pk=pk)
    except (IncomingDocument.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("收文不存在或无权访问。")) from None


def abilities(user: Any, document: IncomingDocument) -> Abilities:
    clerk = incoming.is_clerk(user, document.receiving_unit_id)
    state = document.state
    handlings = list(document.handlings.all())
    result = Abilities()
    result.sign = clerk and state == IncomingState.PENDING
    result.return_ = clerk and state in (IncomingState.PENDING, IncomingState.REGISTERED)
    result.propose = clerk and state == IncomingState.REGISTERED
    result.instruct = state == IncomingState.PROPOSED and document.leader_id == user.pk
    result.circulate = (clerk or document.leader_id == user.pk) and state in (
        IncomingState.REGISTERED,
        IncomingState.PROPOSED,
        IncomingState.HANDLING,
        IncomingState.CIRCULATING,
        IncomingState.CONCLUDED,
    )
    result.read = any(c.reader_id == user.pk and c.read_at is None for c in document.circulations.all())
    if state == IncomingState.HANDLING:
        heads = set(
            Membership.objects.filter(user_id=user.pk, is_head=True).values_list("unit_id", flat=True)
        )
        for handling in handlings:
            if handling.done_at is None and (
                handling.unit_id in heads or incoming.is_clerk(user, handling.unit_id)
            ):
                result.handle.append(handling.pk)
        if clerk or document.leader_id == user.pk:
            result.urgeable = [h.pk for h in handlings if h.done_at is None]
    result.urge = bool(result.urgeable)
    result.conclude = clerk and (
        (state == IncomingState.HANDLING and all(h.done_at is not None for h in handlings))
        or state == IncomingState.CIRCULATING
    )
    return result


def leader_choices(user: Any, document: IncomingDocument) -> QuerySet[Any]:
    """People a clerk may ask to 批办: heads of the receiving unit and the units above it."""
    from xietong.identity.models import User
    from xietong.org.access import ancestor_paths

    unit = document.receiving_unit
    return (
        User.objects.filter(
            is_active=True,
            memberships__is_head=True,
            memberships__unit__path__in=ancestor_paths(unit.path),
            clearance__gte=document.classification,
        )
        .distinct()
        .order_by("name")
    )
