"""Deadlines in calendar and working hours (R-76)."""

from __future__ import annotations

import datetime as dt

import pytest

from xietong.workflow import sla

SHANGHAI = sla.WORKING_TIME_ZONE


def local(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def test_calendar_hours() -> None:
    start = local(2026, 11, 27, 16, 0)
    assert sla.add_hours(start, 24, sla.CALENDAR) == start + dt.timedelta(hours=24)


def test_working_hours_within_a_morning() -> None:
    assert sla.add_working_hours(local(2026, 11, 30, 9, 0), 2) == local(2026, 11, 30, 11, 0)


def test_working_hours_skip_the_lunch_break() -> None:
    assert sla.add_working_hours(local(2026, 11, 30, 11, 0), 2) == local(2026, 11, 30, 14, 30)


def test_working_hours_skip_the_night_and_the_weekend() -> None:
    # Friday 16:00 + 4 working hours: 1.5 h on Friday, then Monday 09:00–11:30.
    assert sla.add_working_hours(local(2026, 11, 27, 16, 0), 4) == local(2026, 11, 30, 11, 30)


def test_working_hours_from_a_saturday_start_on_monday() -> None:
    assert sla.add_working_hours(local(2026, 11, 28, 10, 0), 1) == local(2026, 11, 30, 10, 0)


def test_r76_a_day_of_working_hours_is_seven_hours() -> None:
    # 24 working hours from Monday 09:00: three full days (21 h) and three hours of Thursday.
    assert sla.add_working_hours(local(2026, 11, 30, 9, 0), 24) == local(2026, 12, 3, 12, 0)


def test_the_result_is_utc_and_naive_times_are_refused() -> None:
    due = sla.add_working_hours(local(2026, 11, 30, 9, 0), 1)
    assert due.utcoffset() == dt.timedelta(0)
    with pytest.raises(ValueError, match="aware"):
        sla.add_working_hours(dt.datetime(2026, 11, 30, 9, 0), 1)  # noqa: DTZ001


def test_due_at_reads_the_node_limit_and_the_urgent_limit() -> None:
    start = local(2026, 11, 30, 9, 0)
    flow = {"settings": {"urgent_time_limit_hours": 2}}
    node = {"id": "n1", "type": "approval", "time_limit_hours": 48}
    assert sla.due_at(start, flow, node, urgent=False) == start + dt.timedelta(hours=48)
    assert sla.due_at(start, flow, node, urgent=True) == start + dt.timedelta(hours=2)
    assert sla.due_at(start, {}, {"id": "n1"}, urgent=False) == start + dt.timedelta(hours=24)


def test_reminder_two_hours_before_or_a_quarter_of_a_short_limit() -> None:
    start = local(2026, 11, 30, 9, 0)
    assert sla.remind_at(start, start + dt.timedelta(hours=24)) == start + dt.timedelta(hours=22)
    assert sla.remind_at(start, start + dt.timedelta(hours=4)) == start + dt.timedelta(hours=3)
