"""The response-time report (R-76): exact figures on a hand-made set of items, who sees which
rows, and a bounded number of queries. Runs on SQLite (figures counted in Python) and on
PostgreSQL (``percentile_cont`` in the database) alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.fixtures import grant_role, make_user, place
from xietong.core import clock
from xietong.core.errors import PermissionDeniedError
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import DataScope, OrgUnit
from xietong.workflow import reports
from xietong.workflow.models import Instance, WorkItem
from xietong.workflow.tests.conftest import People, approval, publish, start

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
T = dt.datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)
NOW = T + dt.timedelta(hours=48)
H = dt.timedelta(hours=1)
SINCE, UNTIL = reports.period_bounds("this_month", today=dt.date(2026, 3, 20))


def item(
    instance: Instance,
    user: User,
    state: str,
    *,
    acted: float | None = None,
    due: float | None = 24,
    created: dt.datetime = T,
    overdue: bool = False,
) -> WorkItem:
    return WorkItem.objects.create(
        instance=instance,
        assignee=user,
        kind=WorkItem.Kind.APPROVE,
        state=state,
        created_at=created,
        acted_at=None if acted is None else created + acted * H,
        due_at=None if due is None else created + due * H,
        overdue_at=created + due * H if overdue and due is not None else None,
    )


@pytest.fixture(autouse=True)
def _roles(db: Any) -> None:
    """The built-in roles (the default one gives everyone ``workflow.use``)."""
    builtin.ensure_builtin_roles()


@pytest.fixture
def made(people: People) -> Instance:
    """王经理 (生产技术部): 1 h, 2 h, 30 h (late, marked overdue), 4 h (no limit, 退回), one
    pending past its deadline, one cancelled, and an old one still pending; 钱财务 (财务部):
    10 h against an 8 h limit; 吴员工 (检修班, under 生产技术部): one pending, not yet due."""
    with clock.frozen_at(T - 40 * 24 * H):
        instance = start(people.initiator, publish({"nodes": [approval("n1", [people.legal.pk])]}))
    WorkItem.objects.filter(instance=instance).delete()
    approved, pending = WorkItem.State.APPROVED, WorkItem.State.PENDING
    item(instance, people.head, approved, acted=1)
    item(instance, people.head, approved, acted=2)
    item(instance, people.head, approved, acted=30, overdue=True)
    item(instance, people.head, WorkItem.State.RETURNED, acted=4, due=None)
    item(instance, people.head, pending)
    item(instance, people.head, WorkItem.State.CANCELLED, acted=3)
    item(instance, people.head, pending, created=T - 40 * 24 * H)
    item(instance, people.finance1, approved, acted=10, due=8)
    item(instance, people.other, pending, due=100)
    return instance


@pytest.fixture
def supervisor(org_tree: dict[str, OrgUnit]) -> User:
    boss = make_user("supervisor", name="督办员")
    place(boss, org_tree["office"])
    grant_role(boss, builtin.FLOW_ADMIN)
    return boss


def report(viewer: User, **kwargs: Any) -> reports.Report:
    with clock.frozen_at(NOW):
        return reports.response_report(viewer, since=SINCE, until=UNTIL, **kwargs)


def rows(found: reports.Report) -> dict[str, reports.Figures]:
    return {row.name: row.figures for row in found.people}


def test_r76_exact_figures_per_person(made: Instance, people: People, supervisor: User) -> None:
    found = rows(report(supervisor))
    head = found["王经理"]
    # Handled: 1, 2, 4, 30 hours. Median between 2 and 4; p90 at 2.7 of 0…3: 4 + 0.7 × 26.
    assert head.handled == 4
    assert head.median_hours == pytest.approx(3.0)
    assert head.p90_hours == pytest.approx(22.2)
    assert head.within_limit == pytest.approx(0.75)
    # The 30-hour one and the pending one past its deadline; the old pending one is only "now".
    assert head.overdue == 2
    assert head.overdue_now == 2
    finance = found["钱财务"]
    assert finance.handled == 1
    assert finance.median_hours == pytest.approx(10)
    assert finance.p90_hours == pytest.approx(10)
    assert (finance.within_limit, finance.overdue, finance.overdue_now) == (0, 1, 0)
    other = found["吴员工"]
    assert (other.handled, other.median_hours, other.within_limit, other.overdue) == (0, None, None, 0)


def test_r76_exact_figures_per_department_and_in_total(made: Instance, supervisor: User) -> None:
    found = report(supervisor)
    units = {row.name: row for row in found.units}
    assert set(units) == {"生产技术部", "检修班", "财务部"}
    assert units["财务部"].figures.handled == 1
    assert units["生产技术部"].figures.median_hours == pytest.approx(3.0)
    total = found.total
    # 1, 2, 4, 10, 30: median 4; p90 at 3.6: 10 + 0.6 × 20.
    assert total.handled == 5
    assert total.median_hours == pytest.approx(4.0)
    assert total.p90_hours == pytest.approx(22.0)
    assert total.within_limit == pytest.approx(0.6)
    assert (total.overdue, total.overdue_now) == (3, 2)


def test_a_department_filter_takes_the_departments_below(
    made: Instance, supervisor: User, org_tree: dict[str, OrgUnit]
) -> None:
    found = report(supervisor, unit=org_tree["production"])
    assert {row.name for row in found.people} == {"王经理", "吴员工"}
    assert found.total.handled == 4


def test_a_flow_filter(made: Instance, supervisor: User, people: People) -> None:
    other_flow = publish({"nodes": [approval("n1", [people.legal.pk])]})
    assert report(supervisor, flow=other_flow).total.handled == 0
    assert report(supervisor, flow=made.definition).total.handled == 5


def test_a_department_head_sees_the_departments_they_head(
    made: Instance, people: People, org_tree: dict[str, OrgUnit]
) -> None:
    found = report(people.head)
    assert {row.name for row in found.people} == {"王经理", "吴员工"}
    with pytest.raises(PermissionDeniedError):
        report(people.head, unit=org_tree["finance"])


def test_anyone_else_sees_their_own_row_only(
    made: Instance, people: People, org_tree: dict[str, OrgUnit]
) -> None:
    found = report(people.finance1)
    assert [row.name for row in found.people] == ["钱财务"]
    assert found.total.handled == 1
    with pytest.raises(PermissionDeniedError):
        report(people.finance1, unit=org_tree["finance"])


def test_a_supervisor_sees_only_their_data_scope(made: Instance, org_tree: dict[str, OrgUnit]) -> None:
    east = make_user("eastsupervisor", name="华东督办")
    place(east, org_tree["east"])
    grant_role(east, builtin.FLOW_ADMIN, scope=DataScope.DEPARTMENT_TREE)
    found = report(east)
    assert {row.name for row in found.people} == {"王经理", "吴员工"}
    with pytest.raises(PermissionDeniedError):
        report(east, unit=org_tree["finance"])


def test_nobody_without_the_permission(made: Instance, people: People) -> None:
    from xietong.core import access

    with access.provider_override(None), pytest.raises(PermissionDeniedError):
        report(people.finance1)


def test_the_number_of_queries_does_not_grow(
    made: Instance, supervisor: User, org_tree: dict[str, OrgUnit], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(12) as first:
        report(supervisor)
    for number in range(15):
        person = make_user(f"extra{number}", name=f"员工{number}")
        place(person, org_tree["finance"] if number % 2 else org_tree["repair"])
        item(made, person, WorkItem.State.APPROVED, acted=number + 1)
    with django_assert_max_num_queries(len(first.captured_queries)):
        found = report(supervisor)
    assert found.total.handled == 20


def test_periods() -> None:
    today = dt.date(2026, 5, 20)
    bounds = {name: reports.period_bounds(name, today=today) for name in reports.PERIODS[:-1]}
    assert [b.date().isoformat() for b in bounds["this_month"]] == ["2026-05-01", "2026-06-01"]
    assert [b.date().isoformat() for b in bounds["last_month"]] == ["2026-04-01", "2026-05-01"]
    assert [b.date().isoformat() for b in bounds["this_quarter"]] == ["2026-04-01", "2026-07-01"]
    assert [b.date().isoformat() for b in bounds["this_year"]] == ["2026-01-01", "2027-01-01"]
    custom = reports.period_bounds("custom", first=dt.date(2026, 1, 5), last=dt.date(2026, 1, 5))
    assert custom[1] - custom[0] == dt.timedelta(days=1)


def test_the_workbook_has_a_sheet_per_department_and_per_person(made: Instance, supervisor: User) -> None:
    import io

    from openpyxl import load_workbook  # type: ignore[import-untyped]

    book = load_workbook(io.BytesIO(reports.workbook(report(supervisor))))
    assert book.sheetnames == ["按部门", "按人员"]
    people_rows = list(book["按人员"].iter_rows(min_row=4, values_only=True))
    head = next(row for row in people_rows if row[1] == "王经理")
    assert head[3:] == (4, 3.0, 22.2, 0.75, 2, 2)
