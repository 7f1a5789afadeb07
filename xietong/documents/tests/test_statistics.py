"""收文办理时效统计 (R-76: response-time statistics): exact figures per 承办 unit on a hand-made
set of handlings, who sees which units, the clearance cap, the page with its tab and audited
export, the REST API, and a number of queries that does not grow with the rows."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook  # type: ignore[import-untyped]

from tests.fixtures import client_for, grant_role, make_user, place
from xietong.audit.models import Event
from xietong.core import classification, clock
from xietong.core.errors import NotFoundError, PermissionDeniedError
from xietong.documents import incoming, statistics
from xietong.documents.incoming import IncomingInvalidError
from xietong.documents.models import Handling, IncomingDocument, IncomingState
from xietong.documents.tests.conftest import DocsPeople
from xietong.documents.tests.incoming_helpers import delivered
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import DataScope, OrgUnit

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
H = dt.timedelta(hours=1)
#: 批办 of the month's documents; the report is read ten days later, still in March.
T = dt.datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)
NOW = T + 240 * H
API = "/api/v1/documents/incoming/statistics"

#: One handling: (unit, 主办, deadline in hours after 批办 or None, done after hours or None).
Spec = tuple[OrgUnit, bool, float | None, float | None]


def instructed(
    receiving: OrgUnit,
    handlings: Sequence[Spec],
    *,
    at: dt.datetime = T,
    level: int = 0,
    state: str = IncomingState.HANDLING,
) -> IncomingDocument:
    """A 收文 批办 at ``at`` with its handlings (the steps before are other tests' business)."""
    document = IncomingDocument.objects.create(
        receiving_unit=receiving,
        sender_org="江苏省能源局",
        title="关于报送年度统计数据的函",
        classification=level,
        state=state,
        received_at=at - 2 * H,
        instructed_at=at,
    )
    for unit, lead, deadline, done in handlings:
        Handling.objects.create(
            document=document,
            unit=unit,
            is_lead=lead,
            deadline=None if deadline is None else at + deadline * H,
            done_at=None if done is None else at + done * H,
            result="已办" if done is not None else "",
        )
    return document


@pytest.fixture
def made(docs_org: dict[str, OrgUnit]) -> dict[str, OrgUnit]:
    """财务部: 10 h (on time), 4 h (no deadline), one open past its deadline; 综合办公室: 30 h
    against 24 h (late), one open without a deadline; 生产技术部 (华东分公司): 20 h on time.
    Not counted: a February 批办, and one above everyone's clearance."""
    office, finance = docs_org["office"], docs_org["finance"]
    instructed(office, [(finance, True, 48, 10), (office, False, 24, 30)])
    instructed(office, [(finance, True, 48, None), (office, False, None, None)], at=T + 24 * H)
    instructed(office, [(finance, True, None, 4)], state=IncomingState.CONCLUDED)
    instructed(office, [(finance, True, 48, 1)], at=T - 30 * 24 * H, state=IncomingState.CONCLUDED)
    instructed(office, [(finance, True, 1, 100)], level=classification.CORE_COMMERCIAL_SECRET)
    instructed(docs_org["sub"], [(docs_org["sub_dept"], True, 24, 20)])
    return docs_org


def report(viewer: User, **filters: Any) -> statistics.Report:
    with clock.frozen_at(NOW):
        return statistics.handling_report(viewer, statistics.Filters(**filters))


def by_unit(found: statistics.Report) -> dict[str, statistics.Figures]:
    return {row.name: row.figures for row in found.rows}


def test_r76_incoming_handling_statistics_per_unit(made: dict[str, OrgUnit], docs_people: DocsPeople) -> None:
    found = report(docs_people.clerk)
    # The group's clerk (本公司) sees the group's units, in tree order; not 华东分公司's.
    assert [row.name for row in found.rows] == [
        unit.name for unit in sorted([made["office"], made["finance"]], key=lambda unit: unit.path)
    ]
    finance = by_unit(found)["财务部"]
    assert (finance.handlings, finance.on_time, finance.late, finance.open, finance.overdue_now) == (
        3,
        2,
        0,
        1,
        1,
    )
    assert finance.median_hours == pytest.approx(7.0)  # between 4 and 10
    assert finance.average_hours == pytest.approx(7.0)
    office = by_unit(found)["综合办公室"]
    # The open one has no deadline: open, never overdue.
    assert (office.handlings, office.on_time, office.late, office.open, office.overdue_now) == (2, 0, 1, 1, 0)
    assert office.median_hours == pytest.approx(30.0)
    assert office.average_hours == pytest.approx(30.0)
    total = found.total
    assert (total.handlings, total.on_time, total.late, total.open, total.overdue_now) == (5, 2, 1, 2, 1)
    assert total.median_hours == pytest.approx(10.0)  # 4, 10, 30
    assert total.average_hours == pytest.approx(44 / 3)
    assert [found.first_day.isoformat(), found.last_day.isoformat()] == ["2026-03-01", "2026-03-31"]


def test_overdue_now_depends_on_the_moment(made: dict[str, OrgUnit], docs_people: DocsPeople) -> None:
    # Before the deadline of the open 财务部 handling (批办 T + 24 h, 48 h to go) it is open only.
    with clock.frozen_at(T + 30 * H):
        early = statistics.handling_report(docs_people.clerk)
    assert (early.total.open, early.total.overdue_now) == (2, 0)


def test_an_even_count_takes_the_mean_of_the_middle_two(
    docs_org: dict[str, OrgUnit], docs_people: DocsPeople
) -> None:
    office, finance = docs_org["office"], docs_org["finance"]
    for hours in (1, 2, 6, 50):
        instructed(office, [(finance, True, 24, hours)])
    figures = report(docs_people.clerk).total
    assert figures.median_hours == pytest.approx(4.0)
    assert figures.average_hours == pytest.approx(14.75)
    assert (figures.on_time, figures.late) == (3, 1)


def test_filters_unit_lead_only_and_period(made: dict[str, OrgUnit], docs_people: DocsPeople) -> None:
    clerk = docs_people.clerk
    assert list(by_unit(report(clerk, unit=made["finance"].pk))) == ["财务部"]
    # The unit filter takes the units below it.
    assert set(by_unit(report(clerk, unit=made["group"].pk))) == {"财务部", "综合办公室"}
    lead = report(clerk, lead_only=True)
    assert list(by_unit(lead)) == ["财务部"]
    assert lead.total.handlings == 3
    february = report(clerk, period="custom", first=dt.date(2026, 2, 1), last=dt.date(2026, 2, 28))
    assert by_unit(february)["财务部"].handlings == 1
    assert by_unit(february)["财务部"].median_hours == pytest.approx(1.0)
    assert report(clerk, period="last_month").total.handlings == 1
    assert report(clerk, period="this_year").total.handlings == 6


def test_bad_periods_are_refused_with_the_field(docs_people: DocsPeople) -> None:
    for filters, field in (
        ({"period": "forever"}, "period"),
        ({"period": "custom", "last": dt.date(2026, 3, 1)}, "from"),
        ({"period": "custom", "first": dt.date(2026, 3, 2), "last": dt.date(2026, 3, 1)}, "to"),
        ({"period": "custom", "first": dt.date(2020, 1, 1), "last": dt.date(2026, 3, 1)}, "to"),
    ):
        with pytest.raises(IncomingInvalidError) as refused:
            report(docs_people.clerk, **filters)
        assert refused.value.details[0]["field"] == field
        assert refused.value.status == 422


def test_a_subsidiary_clerk_sees_only_their_units(made: dict[str, OrgUnit], docs_people: DocsPeople) -> None:
    found = report(docs_people.sub_clerk)
    assert list(by_unit(found)) == ["生产技术部"]
    production = by_unit(found)["生产技术部"]
    assert (production.handlings, production.on_time, production.median_hours) == (1, 1, 20.0)
    assert found.total.handlings == 1
    # A unit outside the scope is answered like a missing one.
    with pytest.raises(NotFoundError):
        report(docs_people.sub_clerk, unit=made["finance"].pk)
    with pytest.raises(NotFoundError):
        report(docs_people.sub_clerk, unit=999999)
    # And the group's clerk may not narrow to 华东分公司.
    with pytest.raises(NotFoundError):
        report(docs_people.clerk, unit=made["sub_dept"].pk)


def test_nobody_but_a_clerk_sees_anything(made: dict[str, OrgUnit], docs_people: DocsPeople) -> None:
    # Not the head of a 承办 unit, nor the leader who 批办'd, nor an outsider.
    for person in (docs_people.head, docs_people.leader, docs_people.drafter, docs_people.outsider):
        with pytest.raises(PermissionDeniedError):
            report(person)


def test_documents_above_the_clearance_are_not_counted(
    docs_org: dict[str, OrgUnit], docs_people: DocsPeople
) -> None:
    office, finance = docs_org["office"], docs_org["finance"]
    instructed(office, [(finance, True, 24, 2)])
    instructed(office, [(finance, True, 24, 30)], level=classification.COMMERCIAL_SECRET)
    low = make_user("dimiwenmi", name="低密文秘", clearance=classification.PUBLIC)
    place(low, office)
    grant_role(low, builtin.DOCUMENT_CLERK, scope=DataScope.COMPANY)
    cleared = by_unit(report(docs_people.clerk))["财务部"]
    assert (cleared.handlings, cleared.late, cleared.median_hours) == (2, 1, 16.0)
    public = by_unit(report(low))["财务部"]
    assert (public.handlings, public.late, public.median_hours) == (1, 0, 2.0)


def test_handlings_done_through_the_services_are_counted(
    docs_org: dict[str, OrgUnit], docs_people: DocsPeople, organ: Any
) -> None:
    p = docs_people
    with clock.frozen_at(T):
        document = delivered(organ, p.drafter, docs_org["office"], p.sub_clerk)
        incoming.sign_for(actor=p.clerk, document_id=document.pk)
        incoming.propose(actor=p.clerk, document_id=document.pk, proposal="请批示", leader_id=p.leader.pk)
        incoming.instruct(
            actor=p.leader,
            document_id=document.pk,
            instruction="请财务部办理",
            handlings=[{"unit_id": docs_org["finance"].pk, "deadline": (T + 8 * H).isoformat()}],
        )
    handling = Handling.objects.get(document=document)
    with clock.frozen_at(T + 5 * H):
        incoming.handling_done(actor=p.head, document_id=document.pk, handling_id=handling.pk, result="已办")
    finance = by_unit(report(p.clerk))["财务部"]
    assert (finance.handlings, finance.on_time, finance.median_hours) == (1, 1, 5.0)


def test_the_number_of_queries_does_not_grow_with_rows(
    made: dict[str, OrgUnit], docs_people: DocsPeople
) -> None:
    def count() -> int:
        report(docs_people.clerk)
        with CaptureQueriesContext(connection) as queries:
            found = report(docs_people.clerk)
        assert found.total.handlings
        return len(queries)

    few = count()
    assert few <= 4  # the counts per unit, the middle values per unit and in total
    office = made["office"]
    units = [made["finance"], office, made["group"]]
    for index in range(12):
        instructed(
            office,
            [(unit, position == 0, 24, index + position) for position, unit in enumerate(units)],
            at=T + index * H,
        )
    assert count() == few
    assert report(docs_people.clerk).total.handlings == 5 + 36


def test_the_page_shows_the_tab_the_table_and_exports_audited(
    made: dict[str, OrgUnit], docs_people: DocsPeople
) -> None:
    client = client_for(docs_people.clerk)
    with clock.frozen_at(NOW):
        page = client.get(reverse("documents:statistics"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-tab="statistics"' in html
    assert 'aria-current="page" data-tab="statistics"' in html
    assert 'aria-current="page" data-tab="registers"' not in html
    assert 'data-unit="财务部"' in html
    assert 'class="text-end text-danger fw-semibold" data-figure="overdue-now">1<' in html
    assert "生产技术部" not in html
    assert "table-responsive" in html
    # The other 公文 pages show the tab to clerks, not active.
    registers = client.get(reverse("documents:registers")).content.decode()
    assert 'data-tab="statistics"' in registers
    assert 'aria-current="page" data-tab="statistics"' not in registers

    with clock.frozen_at(NOW):
        export = client.get(reverse("documents:statistics_export"), {"lead": "1"})
    assert export.status_code == 200
    assert export["Content-Disposition"].endswith('.xlsx"')
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "收文办理时效统计 2026-03-01 至 2026-03-31 · 仅主办"
    assert rows[1][:3] == ("承办部门", "承办件数", "按时办结")
    assert rows[2] == ("财务部", 3, 2, 0, 1, 1, 7.0, 7.0)
    assert rows[3][:2] == ("合计", 3)
    event = Event.objects.get(action=statistics.STATISTICS_EXPORTED)
    assert event.details["lead_only"] is True
    assert event.details["rows"] == 1


def test_the_page_falls_back_to_this_month_on_a_bad_period(
    made: dict[str, OrgUnit], docs_people: DocsPeople
) -> None:
    client = client_for(docs_people.clerk)
    with clock.frozen_at(NOW):
        page = client.get(
            reverse("documents:statistics"), {"period": "custom", "from": "2026-03-05", "to": "2026-03-01"}
        )
    html = page.content.decode()
    assert page.status_code == 200
    assert "截止日期不能早于起始日期。已改为本月。" in html
    assert 'data-unit="财务部"' in html


def test_the_page_and_export_refuse_others(made: dict[str, OrgUnit], docs_people: DocsPeople) -> None:
    for person in (docs_people.outsider, docs_people.head):
        client = client_for(person)
        assert client.get(reverse("documents:statistics")).status_code == 403
        assert client.get(reverse("documents:statistics_export")).status_code == 403
        # Nor do they see the tab.
        assert 'data-tab="statistics"' not in client.get(reverse("documents:home")).content.decode()
    sub = client_for(docs_people.sub_clerk)
    assert sub.get(reverse("documents:statistics"), {"unit": made["finance"].pk}).status_code == 404
    assert sub.get(reverse("documents:statistics_export"), {"unit": made["finance"].pk}).status_code == 404
    assert not Event.objects.filter(action=statistics.STATISTICS_EXPORTED).exists()


def test_the_api_answers_rows_and_total(made: dict[str, OrgUnit], docs_people: DocsPeople) -> None:
    client = client_for(docs_people.clerk)
    with clock.frozen_at(NOW):
        response = client.get(API)
        lead = client.get(API, {"lead_only": "true", "unit": made["finance"].pk})
    assert response.status_code == 200, response.content.decode()
    body = response.json()
    assert (body["first_day"], body["last_day"], body["unit_id"], body["lead_only"]) == (
        "2026-03-01",
        "2026-03-31",
        None,
        False,
    )
    finance = next(row for row in body["rows"] if row["unit_name"] == "财务部")
    assert finance == {
        "unit_id": made["finance"].pk,
        "unit_name": "财务部",
        "handlings": 3,
        "on_time": 2,
        "late": 0,
        "open": 1,
        "overdue_now": 1,
        "median_hours": 7.0,
        "average_hours": 7.0,
    }
    assert body["total"]["handlings"] == 5
    assert body["total"]["average_hours"] == 14.67
    assert [row["unit_name"] for row in lead.json()["rows"]] == ["财务部"]
    assert lead.json()["unit_id"] == made["finance"].pk


def test_the_api_refuses_others_and_bad_input(made: dict[str, OrgUnit], docs_people: DocsPeople) -> None:
    outsider = client_for(docs_people.outsider).get(API)
    assert outsider.status_code == 403
    assert outsider.json()["error"]["code"] == "forbidden"
    sub = client_for(docs_people.sub_clerk)
    hidden = sub.get(API, {"unit": made["finance"].pk})
    assert hidden.status_code == 404
    assert hidden.json()["error"]["message"] == "承办部门不存在或无权查看。"
    clerk = client_for(docs_people.clerk)
    upside_down = clerk.get(API, {"period": "custom", "from": "2026-03-05", "to": "2026-03-01"})
    assert upside_down.status_code == 422
    assert upside_down.json()["error"]["details"] == [
        {"field": "to", "message": "截止日期不能早于起始日期。"}
    ]
    assert clerk.get(API, {"period": "forever"}).status_code == 422
    assert clerk.get(API, {"period": "custom", "from": "2026-13-01", "to": "2026-03-01"}).status_code == 422
