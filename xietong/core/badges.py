"""Counts shown in the page shell (the bell's unread badge, the counts beside modules in the left
navigation), supplied by the apps that own them.

Core imports no other app, so ``xietong.notify`` registers its counter at start-up
(``NotifyConfig.ready``) and the shell's context processor asks through here. Without a
registered counter the bell shows nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

#: ``(user) -> number of unread notifications``; called once per rendered page, so it must
#: be one cheap query.
UnreadCounter = Callable[[Any], int]

_unread_counter: UnreadCounter | None = None


def register_unread_counter(counter: UnreadCounter | None) -> None:
    global _unread_counter
    _unread_counter = counter


def unread_count(user: Any) -> int:
    counter = _unread_counter
    if counter is None or user is None or not user.is_authenticated:
        return 0
    return counter(user)


#: ``(user) -> number`` shown beside a module in the left navigation (e.g. pending approvals);
#: one cheap query, asked only when the shell is drawn.
ModuleCounter = Callable[[Any], int]

_module_counters: dict[str, ModuleCounter] = {}


def register_module_counter(slug: str, counter: ModuleCounter) -> None:
    _module_counters[slug] = counter


def module_counts(user: Any, slugs: Iterable[str]) -> dict[str, int]:
    """The counts of the given modules that have a counter, for ``user``."""
    if user is None or not user.is_authenticated:
        return {}
    return {slug: _module_counters[slug](user) for slug in slugs if slug in _module_counters}
