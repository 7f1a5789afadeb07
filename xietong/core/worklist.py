"""What the workbench shows, offered by the modules that own it (R-75, R-88).

The workbench (an aggregator) imports no business app: each module registers, in its
``AppConfig.ready``, the providers of what it has for one user —

* a **to-do provider**: the items waiting for the user (approvals, notices awaiting a receipt,
  documents to handle …) with their total count;
* a **schedule provider**: the user's entries of one day (meetings, notice events …);
* a **feed provider**: short lists of links (unread notices, latest articles per channel).

A provider takes the acting user and returns only what that user may see; it must answer with
a fixed number of indexed queries whatever the amount of data (the workbench's budget is
50 ms in all). A provider that fails is logged and left out: one broken module must not take
the home page down.

The page refreshes a card live when an event of the provider's module reaches it: a pushed
event whose type, or a notification whose kind, starts with the first part of the provider's
key (``portal.`` for ``portal.latest``). The same events outdate the provider's answer
that the workbench keeps for the user (``workbench.cache``): a module that changes what its
provider answers must therefore push an event of its own to every user concerned
(``events.push_to_user(uid, "portal.published", …)``) or notify them with a kind of its own —
otherwise the change reaches their workbench only when the kept answer has aged (a minute).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise


@dataclass(frozen=True)
class WorkItem:
    """One thing to do."""

    title: str
    link: str
    #: When it reached the user (sorts the list: newest first after urgent and overdue ones).
    at: dt.datetime | None = None
    due: dt.datetime | None = None
    #: 急办: listed first, marked red (R-65).
    urgent: bool = False
    #: A short second line: who sent it, from which flow …
    detail: str = ""

    def overdue(self, now: dt.datetime) -> bool:
        return self.due is not None and self.due < now


@dataclass(frozen=True)
class WorkList:
    """The first items of a list and the size of the whole list."""

    count: int = 0
    items: list[WorkItem] = field(default_factory=list)
    #: The provider's own page listing all of them ("查看全部"); empty when it has none.
    more: str = ""


@dataclass(frozen=True)
class ScheduleEntry:
    title: str
    link: str
    start: dt.datetime
    end: dt.datetime | None = None
    place: str = ""
    all_day: bool = False


@dataclass(frozen=True)
class FeedLink:
    title: str
    link: str
    at: dt.datetime | None = None
    #: A badge before the title: 置顶, 急办, a channel name …
    tag: str = ""
    urgent: bool = False


@dataclass(frozen=True)
class FeedSection:
    """One block of a feed: a heading, its links and a "more" link."""

    key: str
    title: str
    links: list[FeedLink]
    more: str = ""
    count: int | None = None


#: Where a feed's sections appear on the workbench: the 通知 card (notices and the like) or
#: the 最新资讯 card (articles per channel).
FEED_NOTICES = "notices"
FEED_NEWS = "news"

TodoFunction = Callable[[Any, int], WorkList]
ScheduleFunction = Callable[[Any, dt.date], list[ScheduleEntry]]
FeedFunction = Callable[[Any, int], list[FeedSection]]


@dataclass(frozen=True)
class Provider:
    key: str
    label: str | Promise
    icon: str
    function: Callable[..., Any]
    #: Lower comes first on the page.
    order: int = 100
    #: Feeds only: the card the sections go to (``FEED_NEWS`` or ``FEED_NOTICES``).
    card: str = FEED_NEWS


_todos: dict[str, Provider] = {}
_schedules: dict[str, Provider] = {}
_feeds: dict[str, Provider] = {}


def _register(registry: dict[str, Provider], provider: Provider) -> Provider:
    # Registering a key again replaces the provider (apps are set up again in tests).
    registry[provider.key] = provider
    return provider


def register_todos(
    key: str, label: str | Promise, function: TodoFunction, *, icon: str = "check2-square", order: int = 100
) -> Provider:
    """``function(user, limit)`` → the user's ``WorkList`` of this kind (at most ``limit`` items)."""
    return _register(_todos, Provider(key, label, icon, function, order))


def register_schedule(
    key: str,
    label: str | Promise,
    function: ScheduleFunction,
    *,
    icon: str = "calendar-event",
    order: int = 100,
) -> Provider:
    """``function(user, day)`` → the user's entries on ``day`` (local date), any order."""
    return _register(_schedules, Provider(key, label, icon, function, order))


def register_feed(
    key: str,
    label: str | Promise,
    function: FeedFunction,
    *,
    icon: str = "newspaper",
    order: int = 100,
    card: str = FEED_NEWS,
) -> Provider:
    """``function(user, limit)`` → sections of at most ``limit`` links each, shown in the
    最新资讯 card, or with ``card=FEED_NOTICES`` in the 通知 card beside the unread
    notifications."""
    if card not in (FEED_NEWS, FEED_NOTICES):
        raise ValueError(f"feed card {card!r} must be {FEED_NEWS!r} or {FEED_NOTICES!r}")
    return _register(_feeds, Provider(key, label, icon, function, order, card))


def unregister(key: str) -> None:
    """Remove the provider ``key`` of any kind (tests, a module switched off)."""
    for registry in (_todos, _schedules, _feeds):
        registry.pop(key, None)


@contextmanager
def isolated(*, keep: Iterable[str] | None = None) -> Iterator[None]:
    """For tests: what is registered inside the block is gone after it. With ``keep``, only
    the providers of those keys stay registered meanwhile (the others are back afterwards)."""
    saved = [(registry, dict(registry)) for registry in (_todos, _schedules, _feeds)]
    if keep is not None:
        kept = set(keep)
        for registry, _before in saved:
            for key in [key for key in registry if key not in kept]:
                del registry[key]
    try:
        yield
    finally:
        for registry, before in saved:
            registry.clear()
            registry.update(before)


def _sorted(registry: dict[str, Provider]) -> list[Provider]:
    return sorted(registry.values(), key=lambda provider: (provider.order, provider.key))


def todo_providers() -> list[Provider]:
    return _sorted(_todos)


def schedule_providers() -> list[Provider]:
    return _sorted(_schedules)


def feed_providers() -> list[Provider]:
    return _sorted(_feeds)
