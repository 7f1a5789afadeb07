"""Reads shared within one page view.

The workbench asks every module for its part, and modules ask for the same figure more than
once on one page: the 审批 badge of the navigation and the 待审批 to-do list count the same
rows; the bell and the 通知 card count the same unread notifications. Inside ``shared()`` the
first answer of ``once(key, …)`` serves the others; outside it, ``once`` simply computes.

Only read-only views open the scope (a GET that writes nothing), so nothing a request changes
can make a kept answer stale; the scope ends with the view.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_answers: ContextVar[dict[Hashable, object] | None] = ContextVar("xietong_shared_reads", default=None)


@contextmanager
def shared() -> Iterator[None]:
    """Within the block, ``once`` answers each key once."""
    token = _answers.set({})
    try:
        yield
    finally:
        _answers.reset(token)


def shared_view(view: Callable[P, T]) -> Callable[P, T]:
    """Run a read-only view inside ``shared()``."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with shared():
            return view(*args, **kwargs)

    return wrapper


def once(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or inside ``shared()`` its first answer for ``key``."""
    answers = _answers.get()
    if answers is None:
        return compute()
    if key not in answers:
        answers[key] = compute()
    return answers[key]  # type: ignore[return-value]  # stored by this function for this key
