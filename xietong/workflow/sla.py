"""Response deadlines of work items (R-76: reply within 24 hours; R-65: 急办 at once).

A node's time limit (``time_limit_hours``, 24 by default, at most the urgent limit — 4 hours
by default — for 急办 requests) is counted from the moment the item reaches its holder, either
in calendar hours or in working hours: the flow setting ``time_basis`` (``calendar`` or
``working``) chooses, and a flow that does not say follows the deployment's
``XIETONG_WORKFLOW_TIME_BASIS``.

Working hours are Monday to Friday, 09:00–12:00 and 13:30–17:30 in ``WORKING_TIME_ZONE``
(``WORKING_PERIODS``), corrected by the holiday calendar (``CalendarDay``): a public holiday
on a weekday is not worked (放假), a weekend day worked in exchange for one is (调休上班).

``add_working_hours`` counts over the exceptions it is given, without reading anything;
``working_deadline`` (and so ``add_hours`` and ``due_at``) reads the exceptions of the days
the count can reach in one query per call — a second one only when a long run of holidays
pushes the count past that window. Nothing is cached between calls, so a change of the
calendar applies to the very next deadline computed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings as django_settings

from xietong.workflow import engine

CALENDAR = "calendar"
WORKING = "working"
BASES = (CALENDAR, WORKING)
#: The basis of a flow whose settings do not name one, when the deployment does not either.
BASIS = CALENDAR

WORKING_TIME_ZONE = ZoneInfo("Asia/Shanghai")
#: Monday = 0 … Friday = 4.
WORKING_DAYS = frozenset({0, 1, 2, 3, 4})
WORKING_PERIODS: tuple[tuple[dt.time, dt.time], ...] = (
    (dt.time(9, 0), dt.time(12, 0)),
    (dt.time(13, 30), dt.time(17, 30)),
)
HOLIDAY = "holiday"
WORKDAY = "workday"
#: A reminder goes out this long before the deadline (at most a quarter of the limit).
REMIND_BEFORE = dt.timedelta(hours=2)
#: No deadline so far away that counting working days to it would take long.
MAX_DAYS = 3 * 366
#: Calendar days read ahead per working day a limit may need, and the margin for a long
#: holiday (春节 and 国庆 close eight days in a row).
_SPAN_PER_WORKING_DAY = 2
_SPAN_MARGIN = 30


class _BeyondWindow(Exception):
    """The count reached a day past the exceptions read so far."""


def default_basis() -> str:
    """The deployment's basis (``XIETONG_WORKFLOW_TIME_BASIS``), read at each call."""
    value = getattr(django_settings, "XIETONG_WORKFLOW_TIME_BASIS", BASIS)
    return value if value in BASES else BASIS


def basis_for(flow: Mapping[str, Any]) -> str:
    """The flow's own ``time_basis`` setting, else the deployment's."""
    flow_settings = flow.get("settings")
    if isinstance(flow_settings, Mapping):
        value = flow_settings.get("time_basis")
        if value in BASES:
            return str(value)
    return default_basis()


def is_working_day(day: dt.date, exceptions: Mapping[dt.date, str]) -> bool:
    kind = exceptions.get(day)
    if kind == HOLIDAY:
        return False
    if kind == WORKDAY:
        return True
    return day.weekday() in WORKING_DAYS


def add_working_hours(
    start: dt.datetime,
    hours: float,
    exceptions: Mapping[dt.date, str] | None = None,
    *,
    known_until: dt.date | None = None,
) -> dt.datetime:
    """The moment ``hours`` working hours after ``start`` (an aware datetime), in UTC, over
    the working week corrected by ``exceptions`` (date → ``holiday`` / ``workday``). With
    ``known_until``, the exceptions are known only up to that day: reaching a later one
    raises ``_BeyondWindow`` (``working_deadline`` then reads further)."""
    if start.tzinfo is None:
        raise ValueError("add_working_hours needs an aware datetime")
    exceptions = exceptions or {}
    remaining = dt.timedelta(hours=hours)
    cursor = start.astimezone(WORKING_TIME_ZONE)
    day = cursor.date()
    for _day in range(MAX_DAYS):
        if known_until is not None and day > known_until:
            raise _BeyondWindow
        if is_working_day(day, exceptions):
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


def load_exceptions(first: dt.date, last: dt.date) -> dict[dt.date, str]:
    """The calendar's exceptions from ``first`` to ``last`` (inclusive): one query."""
    from xietong.workflow.models import CalendarDay

    return dict(CalendarDay.objects.filter(date__gte=first, date__lte=last).values_list("date", "kind"))


def working_deadline(start: dt.datetime, hours: float) -> dt.datetime:
    """``add_working_hours`` over the holiday calendar as it stands now."""
    if start.tzinfo is None:
        raise ValueError("add_working_hours needs an aware datetime")
    first = start.astimezone(WORKING_TIME_ZONE).date()
    working_days = int(hours // 7) + 1
    last = first + dt.timedelta(days=min(MAX_DAYS, working_days * _SPAN_PER_WORKING_DAY + _SPAN_MARGIN))
    try:
        return add_working_hours(start, hours, load_exceptions(first, last), known_until=last)
    except _BeyondWindow:
        return add_working_hours(start, hours, load_exceptions(first, first + dt.timedelta(days=MAX_DAYS)))


def add_hours(start: dt.datetime, hours: float, basis: str | None = None) -> dt.datetime:
    """``hours`` after ``start`` on ``basis`` (the deployment's when not given)."""
    if (basis or default_basis()) == WORKING:
        return working_deadline(start, hours)
    return start + dt.timedelta(hours=hours)


def due_at(
    start: dt.datetime,
    flow: Mapping[str, Any],
    node: Mapping[str, Any],
    *,
    urgent: bool,
    basis: str | None = None,
) -> dt.datetime:
    """When an item of ``node`` that reaches its holder at ``start`` is due, counted on
    ``basis`` or else on the flow's ``time_basis`` (``basis_for``)."""
    settings = engine.settings_for(flow, node)
    return add_hours(start, engine.time_limit_hours(settings, urgent=urgent), basis or basis_for(flow))


def remind_at(created_at: dt.datetime, due: dt.datetime) -> dt.datetime:
    """When to remind the holder that the deadline nears: two hours before it, or a quarter of
    the time limit before it when the limit is shorter than eight hours."""
    return due - min(REMIND_BEFORE, (due - created_at) / 4)
