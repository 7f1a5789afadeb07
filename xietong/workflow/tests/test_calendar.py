"""The holiday calendar in working-hour deadlines (R-76), the flow setting ``time_basis``, and
the import of the State Council's yearly notice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures import grant_role, make_user
from xietong.audit.models import Event
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.org import builtin
from xietong.workflow import definition, services, sla
from xietong.workflow.models import CalendarDay
from xietong.workflow.tests.conftest import People, approval, item_of, publish, start

SHANGHAI = sla.WORKING_TIME_ZONE
pytestmark = pytest.mark.django_db


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def national_day_2025() -> None:
    """国庆、中秋 2025: 1–8 October off, Sunday 28 September and Saturday 11 October worked."""
    for day in range(1, 9):
        CalendarDay.objects.create(date=dt.date(2025, 10, day), kind="holiday", name="国庆节、中秋节")
    CalendarDay.objects.create(date=dt.date(2025, 9, 28), kind="workday", name="国庆节调休")
    CalendarDay.objects.create(date=dt.date(2025, 10, 11), kind="workday", name="国庆节调休")


def test_r76_a_24_hour_working_limit_across_national_day_lands_on_the_swapped_saturday(
    django_assert_num_queries: Any,
) -> None:
    national_day_2025()
    # Tuesday 30 September 09:00: 7 h that day, nothing 1–8 October, 7 h on Thursday 9 and
    # Friday 10 October, and the last 3 h on the 调休 Saturday 11 October.
    with django_assert_num_queries(1):
        due = sla.add_hours(local(2025, 9, 30), 24, sla.WORKING)
    assert due == local(2025, 10, 11, 12, 0)
    assert due.utcoffset() == dt.timedelta(0)


def test_r76_a_swapped_sunday_is_worked_and_a_weekday_holiday_is_not() -> None:
    national_day_2025()
    # Friday 26 September 16:30 + 2 h: 1 h on Friday, the next hour on the 调休 Sunday 28.
    assert sla.working_deadline(local(2025, 9, 26, 16, 30), 2) == local(2025, 9, 28, 10, 0)
    # Tuesday 30 September 17:00 + 1 h: half an hour left, then Thursday 9 October 09:30.
    assert sla.working_deadline(local(2025, 9, 30, 17, 0), 1) == local(2025, 10, 9, 9, 30)


def test_without_the_calendar_the_plain_week_still_applies() -> None:
    assert sla.working_deadline(local(2025, 9, 30), 24) == local(2025, 10, 3, 12, 0)


def test_a_long_run_of_holidays_reads_further() -> None:
    # Sixty weekdays off in a row: beyond the window read first, so a second read.
    day = dt.date(2026, 3, 2)
    while day < dt.date(2026, 6, 1):
        if day.weekday() < 5:
            CalendarDay.objects.create(date=day, kind="holiday")
        day += dt.timedelta(days=1)
    assert sla.working_deadline(local(2026, 3, 2), 7) == local(2026, 6, 1, 17, 30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # Hypothesis takes naive bounds; the test puts the local zone on each value.
    start=st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2026, 12, 31)),  # noqa: DTZ001
    hours=st.floats(min_value=0.25, max_value=120),
    holidays=st.sets(st.integers(min_value=0, max_value=760), max_size=60),
    workdays=st.sets(st.integers(min_value=0, max_value=760), max_size=10),
)
def test_r76_working_hour_deadlines_never_fall_on_a_holiday(
    start: dt.datetime, hours: float, holidays: set[int], workdays: set[int]
) -> None:
    base = dt.date(2025, 1, 1)
    exceptions = {base + dt.timedelta(days=offset): "holiday" for offset in holidays}
    for offset in workdays - holidays:
        day = base + dt.timedelta(days=offset)
        if day.weekday() >= 5:
            exceptions[day] = "workday"
    due = sla.add_working_hours(start.replace(tzinfo=SHANGHAI), hours, exceptions).astimezone(SHANGHAI)
    assert exceptions.get(due.date()) != "holiday"
    assert due.weekday() < 5 or exceptions.get(due.date()) == "workday"
    assert dt.time(9, 0) < due.time() <= dt.time(12, 0) or dt.time(13, 30) < due.time() <= dt.time(17, 30)


# --------------------------------------------------------------------------- time basis


def test_time_basis_is_a_flow_setting_with_two_values() -> None:
    assert definition.SETTING_CHOICES["time_basis"] == ("calendar", "working")
    assert definition.DEFAULTS["time_basis"] in ("calendar", "working")
    route = {"settings": {"time_basis": "weekly"}, "nodes": [approval("n1", [1])]}
    problems = definition.validate_definition(route)
    assert any("time_basis" in problem for problem in problems)


def test_r76_a_working_hours_flow_counts_its_deadlines_over_the_calendar(people: People) -> None:
    national_day_2025()
    flow = publish({"settings": {"time_basis": "working"}, "nodes": [approval("n1", [people.head.pk])]})
    from xietong.core import clock

    with clock.frozen_at(local(2025, 9, 30)):
        instance = start(people.initiator, flow)
    assert item_of(instance, people.head).due_at == local(2025, 10, 11, 12, 0)


def test_the_deployment_chooses_for_flows_that_do_not_say(people: People) -> None:
    national_day_2025()
    from xietong.core import clock

    plain = publish({"nodes": [approval("n1", [people.head.pk])]})
    calendar = publish({"settings": {"time_basis": "calendar"}, "nodes": [approval("n1", [people.head.pk])]})
    with override_settings(XIETONG_WORKFLOW_TIME_BASIS="working"), clock.frozen_at(local(2025, 9, 30)):
        working_item = item_of(start(people.initiator, plain), people.head)
        calendar_item = item_of(start(people.initiator, calendar), people.head)
    assert working_item.due_at == local(2025, 10, 11, 12, 0)
    assert calendar_item.due_at == local(2025, 10, 1)
    with clock.frozen_at(local(2025, 9, 30)):
        assert item_of(start(people.initiator, plain), people.head).due_at == local(2025, 10, 1)


# --------------------------------------------------------------------------- import and upkeep


NOTICE_2027 = """
# 国务院办公厅关于2027年部分节假日安排的通知
2027-01-01 元旦 放假
2027-02-05~2027-02-11 春节 放假
2027-02-20 调休上班
2027-10-01 至 2027-10-07 国庆节 放假
"""


@pytest.fixture
def flow_admin(db: Any) -> Any:
    admin = make_user("calendaradmin", name="日历管理员")
    grant_role(admin, builtin.FLOW_ADMIN)
    return admin


def test_import_reads_single_days_and_ranges(flow_admin: Any) -> None:
    entries = services.calendar_import(actor=flow_admin, text=NOTICE_2027)
    assert len(entries) == 1 + 7 + 1 + 7
    assert CalendarDay.objects.get(date=dt.date(2027, 2, 20)).kind == "workday"
    assert CalendarDay.objects.get(date=dt.date(2027, 10, 3)).name == "国庆节"
    assert Event.objects.filter(action="workflow.calendar.changed").count() == 1


def test_import_with_one_bad_line_saves_nothing_and_names_every_bad_line(flow_admin: Any) -> None:
    text = "2027-01-01 元旦 放假\n2027-13-01 放假\n2027-02-08 调休上班\n2027-03-01 植树\n2027-01-01 元旦 放假"
    with pytest.raises(DomainError) as caught:
        services.calendar_import(actor=flow_admin, text=text)
    assert [problem["line"] for problem in caught.value.details] == [2, 3, 4, 5]
    messages = [problem["message"] for problem in caught.value.details]
    assert "2027-02-08 本是工作日，无需登记调休上班。" in messages
    assert "2027-01-01 与第 1 行重复。" in messages
    assert not CalendarDay.objects.exists()


def test_import_replaces_what_a_date_said_before(flow_admin: Any) -> None:
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind="holiday", name="旧")
    services.calendar_import(actor=flow_admin, text="2027-01-01 元旦 放假")
    assert CalendarDay.objects.get(date=dt.date(2027, 1, 1)).name == "元旦"


def test_only_flow_administrators_keep_the_calendar(people: People, flow_admin: Any) -> None:
    with pytest.raises(PermissionDeniedError):
        services.calendar_import(actor=people.initiator, text="2027-01-01 元旦 放假")
    with pytest.raises(PermissionDeniedError):
        services.calendar_set(actor=people.initiator, date=dt.date(2027, 1, 1), kind="holiday")
    services.calendar_set(actor=flow_admin, date=dt.date(2027, 1, 1), kind="holiday", name="元旦")
    with pytest.raises(PermissionDeniedError):
        services.calendar_delete(actor=people.initiator, date=dt.date(2027, 1, 1))
    services.calendar_delete(actor=flow_admin, date=dt.date(2027, 1, 1))
    assert not CalendarDay.objects.exists()
