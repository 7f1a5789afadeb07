"""Response deadlines of work items (R-76: reply within 24 hours; R-65: 急办 at once).

A node's time limit (``time_limit_hours``, 24 by default, at most the urgent limit — 4 hours
by default — for 急办 requests) is counted from the moment the item reaches its holder, either
in calendar hours or in working hours.

Working hours are Monday to Friday, 09:00–12:00 and 13:30–17:30 in ``WORKING_TIME_ZONE``
(``WORKING_PERIODS``). Public holidays and the weekend days worked in exchange for them
(调休) are not modelled yet: a holiday on a weekday counts as a working day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from xietong.workflow import engine

CALENDAR = "calendar"
WORKING = "working"
#: How time limits are counted for every flow, until flows can choose.
BASIS = CALENDAR

WORKING_TIME_ZONE = ZoneInfo("Asia/Shanghai")
#: Monday = 0 … Friday = 4.
WORKING_DAYS = frozenset({0, 1, 2, 3, 4})
WORKING_PERIODS: tuple[tuple[dt.time, dt.time], ...] = (
    (dt.time(9, 0), dt.time(12, 0)),
    (dt.time(13, 30), dt.time(17, 30)),
)
#: A reminder goes out this long before the deadline (at most a quarter of the limit).
REMIND_BEFORE = dt.timedelta(hours=2)
#: No deadline so far away that counting working days to it would take long.
MAX_DAYS = 3 * 366


def add_working_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """The moment ``hours`` working hours after ``start`` (an aware datetime), in UTC."""
    if start.tzinfo is None:
        raise ValueError("add_working_hours needs an aware datetime")
    remaining = dt.timedelta(hours=hours)
    cursor = start.astimezone(WORKING_TIME_ZONE)
    day = cursor.date()
    for _day in range(MAX_DAYS):
        if day.weekday() in WORKING_DAYS:
            for opens, closes in WORKING_PERIODS:
                begin = dt.datetime.combine(day, opens, tzinfo=WORKING_TIME_ZONE)
                end = dt.datetime.combine(day, closes, tzinfo=WORKING_TIME_ZONE)
                begin = max(begin, cursor)
                if begin >= end:
                    continue
                if remaining <= end - begin:
                    return (begin + remaining).astimezone(dt.UTC)
                remaining -= end - begin
        day += dt.timedelta(days=1)
    raise ValueError("time limit too long")


def add_hours(start: dt.datetime, hours: float, basis: str = BASIS) -> dt.datetime:
    if basis == WORKING:
        return add_working_hours(start, hours)
    return start + dt.timedelta(hours=hours)


def due_at(
    start: dt.datetime, flow: Mapping[str, Any], node: Mapping[str, Any], *, urgent: bool, basis: str = BASIS
) -> dt.datetime:
    """When an item of ``node`` that reaches its holder at ``start`` is due."""
    settings = engine.settings_for(flow, node)
    return add_hours(start, engine.time_limit_hours(settings, urgent=urgent), basis)


def remind_at(created_at: dt.datetime, due: dt.datetime) -> dt.datetime:
    """When to remind the holder that the deadline nears: two hours before it, or a quarter of
    the time limit before it when the limit is shorter than eight hours."""
    return due - min(REMIND_BEFORE, (due - created_at) / 4)
