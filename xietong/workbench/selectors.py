"""Reads of the workbench: what each card shows for the acting user.

The cards gather what modules offer through ``xietong.core.worklist`` (the workbench imports
no business app) and the workbench's own rows (shortcuts, pushed to-dos). Every read is
scoped to the acting user and costs a fixed number of queries whatever the amount of data:
the providers promise that for themselves, and the rest is one or two indexed queries each.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.paginator import Page, Paginator
from django.db import connection, transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils.translation import gettext as _

from xietong.core import access, clock, worklist
from xietong.core.errors import NotFoundError
from xietong.core.worklist import FeedSection, Provider, ScheduleEntry, WorkItem, WorkList
from xietong.workbench.models import OPEN, ExternalTodo, Shortcut

logger = logging.getLogger(__name__)

MANAGE_SHORTCUTS = "workbench.manage_shortcuts"
PUSH_TODOS = "workbench.push_todos"

#: Items asked of each to-do provider, and shown at most in the merged list.
TODOS_SHOWN = 8
#: Links asked of each feed section.
FEED_LINKS = 6
TODO_PAGE_SIZE = 20

T = TypeVar("T")


# --------------------------------------------------------------------------- providers


@contextmanager
def _guard() -> Iterator[None]:
    # Inside a transaction (tests, a caller's atomic block) a failed query would poison the
    # rest of it on PostgreSQL: a savepoint lets the page go on. Outside one, every query
    # commits on its own and needs nothing.
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        yield


def call_provider(provider: Provider, function: Callable[..., T], *args: Any) -> T | None:
    """``function(*args)`` of one provider, or ``None`` when it fails: logged and left out,
    so that one broken module does not take the home page down."""
    try:
        with _guard():
            return function(*args)
    except Exception:
        logger.exception("workbench.provider_failed", extra={"provider": provider.key})
        return None


def _answer(provider: Provider, answers: Any, kind: type, *args: Any) -> Any:
    """The provider's answer kept in ``answers`` (``workbench.cache.Answers``) if any, else
    asked and kept when it is of the expected ``kind``."""
    answer = answers.get(provider.key) if answers is not None else None
    if answer is None:
        answer = call_provider(provider, provider.function, *args)
        if answers is not None and isinstance(answer, kind):
            answers.put(provider.key, answer)
    return answer


# --------------------------------------------------------------------------- to-dos


@dataclass(frozen=True)
class TodoSource:
    """One provider's share of the user's to-dos."""

    provider: Provider
    count: int
    more: str
    items: list[WorkItem]


@dataclass(frozen=True)
class SourcedItem:
    item: WorkItem
    provider: Provider
    overdue: bool
    #: Among the first ``TODOS_SHOWN`` of the merged list (the "全部" tab).
    top: bool
    #: Due within the next 24 hours (and not yet overdue).
    due_soon: bool


@dataclass(frozen=True)
class TodoBoard:
    total: int
    urgent: int
    overdue: int
    sources: list[TodoSource]
    items: list[SourcedItem]
    failed: list[Provider] = field(default_factory=list)

    @property
    def top_items(self) -> list[SourcedItem]:
        return [entry for entry in self.items if entry.top]


def _todo_order(entry: SourcedItem) -> tuple[bool, bool, float]:
    # Urgent first, then overdue, then newest; items without a time last.
    at = entry.item.at
    return (not entry.item.urgent, not entry.overdue, -at.timestamp() if at else math.inf)


def todo_board(user: Any, *, limit: int = TODOS_SHOWN, answers: Any = None) -> TodoBoard:
    """The user's to-dos of every provider, merged (R-75): urgent first, then overdue, then
    newest, with each provider's count and link. ``answers`` (``workbench.cache.Answers``):
    the providers' kept answers, used first and filled with the new ones."""
    now = clock.now()
    sources: list[TodoSource] = []
    failed: list[Provider] = []
    entries: list[SourcedItem] = []
    for provider in worklist.todo_providers():
        answer = _answer(provider, answers, WorkList, user, limit)
        if not isinstance(answer, WorkList):
            if answer is not None:
                logger.error("workbench.provider_bad_answer", extra={"provider": provider.key})
            failed.append(provider)
            continue
        items = list(answer.items)[:limit]
        sources.append(TodoSource(provider, max(answer.count, len(items)), answer.more, items))
        for item in items:
            overdue = item.overdue(now)
            soon = not overdue and item.due is not None and item.due - now <= dt.timedelta(hours=24)
            entries.append(SourcedItem(item, provider, overdue, False, soon))
    entries.sort(key=_todo_order)
    entries = [
        SourcedItem(e.item, e.provider, e.overdue, index < limit, e.due_soon)
        for index, e in enumerate(entries)
    ]
    return TodoBoard(
        total=sum(source.count for source in sources),
        urgent=sum(1 for e in entries if e.item.urgent),
        overdue=sum(1 for e in entries if e.overdue),
        sources=sources,
        items=entries,
        failed=failed,
    )


# --------------------------------------------------------------------------- schedule


@dataclass(frozen=True)
class Appointment:
    entry: ScheduleEntry
    provider: Provider
    #: "past", "now" or "later", as of the moment the card was drawn.
    state: str


@dataclass(frozen=True)
class ScheduleBoard:
    day: dt.date
    appointments: list[Appointment]
    failed: list[Provider] = field(default_factory=list)

    @property
    def next(self) -> Appointment | None:
        """What comes next (or is on now): the summary strip names its time."""
        timed = [a for a in self.appointments if not a.entry.all_day and a.state != "past"]
        return timed[0] if timed else None


def schedule_board(user: Any, *, day: dt.date | None = None, answers: Any = None) -> ScheduleBoard:
    """The user's entries of ``day`` (today) from every schedule provider: all-day ones
    first, then by start (``answers``: see ``todo_board``)."""
    day = day or clock.localdate()
    now = clock.now()
    appointments: list[Appointment] = []
    failed: list[Provider] = []
    for provider in worklist.schedule_providers():
        answer = _answer(provider, answers, list, user, day)
        if not isinstance(answer, list):
            failed.append(provider)
            continue
        for entry in answer:
            if not isinstance(entry, ScheduleEntry):
                continue
            end = entry.end or entry.start
            if entry.all_day:
                state = "now"
            elif end < now and entry.start < now:
                state = "past"
            elif entry.start <= now <= end:
                state = "now"
            else:
                state = "later"
            appointments.append(Appointment(entry, provider, state))
    appointments.sort(key=lambda a: (not a.entry.all_day, a.entry.start, str(a.entry.title)))
    return ScheduleBoard(day, appointments, failed)


# --------------------------------------------------------------------------- feeds


@dataclass(frozen=True)
class FeedBlock:
    provider: Provider
    section: FeedSection

    @property
    def key(self) -> str:
        # Unique on the page: two providers may both name a section "latest".
        return f"{self.provider.key}-{self.section.key}".replace(".", "-")


@dataclass(frozen=True)
class FeedBoard:
    blocks: list[FeedBlock]
    failed: list[Provider] = field(default_factory=list)


def feed_board(user: Any, *, card: str, limit: int = FEED_LINKS, answers: Any = None) -> FeedBoard:
    """The sections of the feed providers of one card (``worklist.FEED_NEWS`` or
    ``worklist.FEED_NOTICES``; ``answers``: see ``todo_board``)."""
    blocks: list[FeedBlock] = []
    failed: list[Provider] = []
    for provider in worklist.feed_providers():
        if provider.card != card:
            continue
        answer = _answer(provider, answers, list, user, limit)
        if not isinstance(answer, list):
            failed.append(provider)
            continue
        for section in answer:
            if isinstance(section, FeedSection):
                blocks.append(FeedBlock(provider, dataclasses.replace(section, links=section.links[:limit])))
    return FeedBoard(blocks, failed)


# --------------------------------------------------------------------------- shortcuts


def shortcuts_for(user: Any) -> list[Shortcut]:
    """The active shortcuts whose audience includes the user, in the administrator's order:
    one query, whatever the number of units and roles they name (the user's units with their
    ancestors, and roles, are sub-queries or short lists resolved with the user's grants)."""
    if not getattr(user, "is_authenticated", False):
        return []
    principals = access.grants_of(user).principals
    # Sub-queries rather than joins: a shortcut shown to two of the user's units appears once.
    by_unit = Shortcut.objects.filter(units__in=principals.unit_and_ancestor_ids).values("pk")
    by_role = Shortcut.objects.filter(roles__in=principals.role_ids).values("pk")
    rows = Shortcut.objects.filter(is_active=True).filter(
        Q(audience=Shortcut.Audience.EVERYONE)
        | Q(audience=Shortcut.Audience.CHOSEN, pk__in=by_unit)
        | Q(audience=Shortcut.Audience.CHOSEN, pk__in=by_role)
    )
    return list(rows.order_by("order", "pk"))


def can_manage_shortcuts(user: Any) -> bool:
    return access.can(user, MANAGE_SHORTCUTS)


def shortcuts_all(*, actor: Any) -> QuerySet[Shortcut]:
    """Every shortcut with its audience, for the administrator's list."""
    if not can_manage_shortcuts(actor):
        return Shortcut.objects.none()
    return Shortcut.objects.prefetch_related("units", "roles").order_by("order", "pk")


def shortcut_get(*, actor: Any, shortcut_id: int) -> Shortcut:
    try:
        return shortcuts_all(actor=actor).get(pk=shortcut_id)
    except Shortcut.DoesNotExist:
        raise NotFoundError(_("快捷入口不存在。")) from None


# --------------------------------------------------------------------------- pushed to-dos


def _open_todos(user: Any) -> QuerySet[ExternalTodo]:
    """The user's own open pushed to-dos, urgent first, then overdue, then newest."""
    now = clock.now()
    overdue = Case(When(due_at__lt=now, then=Value(1)), default=Value(0), output_field=IntegerField())
    return (
        ExternalTodo.objects.filter(user_id=user.pk)
        .filter(OPEN)
        .annotate(is_overdue=overdue)
        .order_by("-urgent", "-is_overdue", "-created_at", "-pk")
    )


def external_todo_item(row: ExternalTodo) -> WorkItem:
    detail = row.detail
    return WorkItem(
        title=row.title,
        # Opened through the platform: the user's own row is checked before leaving for the
        # other system's page.
        link=reverse("workbench:todo_open", args=[row.pk]),
        at=row.created_at,
        due=row.due_at,
        urgent=row.urgent,
        detail=f"{row.source_label} · {detail}" if detail else row.source_label,
    )


def external_todos(user: Any, limit: int) -> WorkList:
    """The provider of pushed to-dos ("业务系统待办"): a count and the first ``limit`` rows,
    two queries on the (user, done_at, urgent, created_at) index."""
    if not getattr(user, "is_authenticated", False):
        return WorkList()
    rows = _open_todos(user)
    count = ExternalTodo.objects.filter(user_id=user.pk).filter(OPEN).count()
    items = [external_todo_item(row) for row in rows[:limit]] if count else []
    return WorkList(count=count, items=items, more=reverse("workbench:todos"))


def external_todo_page(user: Any, page: Any) -> Page[ExternalTodo]:
    return Paginator(_open_todos(user), TODO_PAGE_SIZE).get_page(page)


def external_todo_get(user: Any, todo_id: int) -> ExternalTodo:
    """One of the user's own open to-dos; anyone else's (or a done one) is "not found"."""
    row = _open_todos(user).filter(pk=todo_id).first()
    if row is None:
        raise NotFoundError(_("待办不存在或已办结。"))
    return row
