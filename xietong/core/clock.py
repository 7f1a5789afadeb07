"""The one clock: every deadline, expiry and SLA reads the time here so tests can move it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    """The current time, aware, in UTC."""
    return _frozen if _frozen is not None else timezone.now()


def localdate() -> dt.date:
    return timezone.localtime(now()).date()


@contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    """Fix the clock at ``moment`` for the duration of a test block."""
    global _frozen
    if timezone.is_naive(moment):
        raise ValueError("frozen_at needs an aware datetime")
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous
