"""The administrators' approval pages in the browser: the response-time report (a plain table,
filters, the Excel download) and the holiday calendar import — at desktop and phone width,
with screenshots."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page, screenshot
from tests.fixtures import grant_role, place
from xietong.core import clock
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import Membership, OrgUnit
from xietong.workflow import services
from xietong.workflow.models import CalendarDay, FlowDefinition, FlowVersion, WorkItem

pytestmark = pytest.mark.browser
H = dt.timedelta(hours=1)


def shoot(page: Page, name: str) -> None:
    screenshot(page, f"workflow-manage-{name}")


@pytest.fixture
def company(transactional_db: Any) -> dict[str, Any]:
    """A group with two departments, a flow administrator, and a month of answered items."""
    builtin.ensure_builtin_roles()
    units = OrgUnit.objects
    group = units.add_root(create_kwargs={"name": "华电集团总部", "code": "HQ", "kind": OrgUnit.Kind.GROUP})
    office = units.add_child(units.get(pk=group.pk), create_kwargs={"name": "综合办公室", "code": "HQ-ZH"})
    works = units.add_child(units.get(pk=group.pk), create_kwargs={"name": "生产技术部", "code": "HQ-SC"})
    finance = units.add_child(units.get(pk=group.pk), create_kwargs={"name": "财务部", "code": "HQ-CW"})

    def person(login: str, name: str, unit: OrgUnit, head: bool = False) -> User:
        user = User.objects.create_user(login, STRONG_PASSWORD, name=name, must_change_password=False)
        if head:
            Membership.objects.create(user=user, unit=unit, is_head=True, is_primary=True)
        else:
            place(user, unit)
        return user

    admin = person("flowadmin", "刘管理", office)
    grant_role(admin, builtin.FLOW_ADMIN)
    starter = person("zhangwei", "张伟", works)
    approvers = [
        person("wangjl", "王经理", works, head=True),
        person("lijs", "李技术", works),
        person("qiancw", "钱财务", finance, head=True),
        person("suncw", "孙会计", finance),
    ]
    flow = FlowDefinition.objects.create(code="qingshi", name="请示", category="request")
    version = FlowVersion.objects.create(
        definition=flow,
        number=1,
        form={"fields": [{"key": "title", "type": "text", "label": "标题", "required": True}]},
        flow={
            "initiators": [{"kind": "everyone"}],
            "nodes": [
                {
                    "id": "n1",
                    "type": "approval",
                    "name": "部门审核",
                    "approvers": {"kind": "users", "ids": [approvers[0].pk]},
                }
            ],
        },
        status=FlowVersion.Status.PUBLISHED,
    )
    flow.current_version = version
    flow.save()
    instance = services.instance_start(
        actor=starter, flow=flow, data={"title": "检修计划请示"}, request_id="b-1"
    )
    now = clock.now()
    answers = {0: [1.5, 3, 30], 1: [0.5, 6], 2: [2, 4, 26, 8], 3: [12]}
    for index, hours in answers.items():
        for number, spent in enumerate(hours):
            created = now - dt.timedelta(days=number + 1)
            WorkItem.objects.create(
                instance=instance,
                assignee=approvers[index],
                state=WorkItem.State.APPROVED,
                created_at=created,
                acted_at=created + spent * H,
                due_at=created + 24 * H,
            )
    return {"admin": admin, "works": works}


def test_report_table_filters_and_export(browser: Browser, live_server: Any, company: dict[str, Any]) -> None:
    page = open_page(browser, DESKTOP)
    log_in(page, live_server.url, "flowadmin", STRONG_PASSWORD)
    page.goto(f"{live_server.url}/workflow/reports/")
    expect(page.locator("#people-table tbody tr")).to_have_count(4)
    expect(page.locator('#people-table tr[data-person="wangjl"] td').nth(2)).to_have_text("3")
    expect(page.locator("#unit-table tbody tr")).to_have_count(2)
    expect(page.locator('[data-figure="handled"]')).to_have_text("10")
    expect(page.locator('[data-figure="overdue"]')).to_have_text("2")
    shoot(page, "reports-desktop")
    with page.expect_download() as download:
        page.click("#export-report")
    assert download.value.suggested_filename.startswith("workflow-response-")
    assert download.value.suggested_filename.endswith(".xlsx")
    page.select_option("#id_unit", str(company["works"].pk))
    page.click("#apply-filters")
    expect(page.locator("#people-table tbody tr")).to_have_count(2)
    page.context.close()

    phone = open_page(browser, PHONE)
    log_in(phone, live_server.url, "flowadmin", STRONG_PASSWORD)
    phone.goto(f"{live_server.url}/workflow/reports/")
    expect(phone.locator('#people-table tr[data-person="qiancw"]')).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1
    shoot(phone, "reports-phone")
    phone.context.close()


def test_calendar_import_with_a_bad_line_then_a_good_one(
    browser: Browser, live_server: Any, company: dict[str, Any]
) -> None:
    page = open_page(browser, DESKTOP)
    log_in(page, live_server.url, "flowadmin", STRONG_PASSWORD)
    page.goto(f"{live_server.url}/workflow/calendar/?year=2027")
    expect(page.locator("#calendar-empty")).to_be_visible()
    page.fill("#id_lines", "2027-01-01 元旦 放假\n2027-02-31 春节 放假")
    page.click("#import-submit")
    expect(page.locator("#import-error")).to_contain_text("第 2 行")
    assert CalendarDay.objects.count() == 0
    page.fill(
        "#id_lines",
        "2027-01-01 元旦 放假\n2027-02-05~2027-02-11 春节 放假\n"
        "2027-02-20 春节调休 调休上班\n2027-10-01 至 2027-10-07 国庆节 放假",
    )
    page.click("#import-submit")
    expect(page.locator(".alert-success")).to_contain_text("已导入 16 天")
    expect(page.locator('[data-date="2027-02-20"]')).to_contain_text("调休上班")
    shoot(page, "calendar-desktop")
    page.context.close()

    phone = open_page(browser, PHONE)
    log_in(phone, live_server.url, "flowadmin", STRONG_PASSWORD)
    phone.goto(f"{live_server.url}/workflow/calendar/?year=2027")
    expect(phone.locator('[data-date="2027-10-07"]')).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shoot(phone, "calendar-phone")
    phone.goto(f"{live_server.url}/workflow/monitor/")
    shoot(phone, "monitor-phone")
    phone.context.close()


def test_monitor_and_backfill_pages(browser: Browser, live_server: Any, company: dict[str, Any]) -> None:
    page = open_page(browser, DESKTOP)
    log_in(page, live_server.url, "flowadmin", STRONG_PASSWORD)
    FlowDefinition.objects.get(code="qingshi").admins.add(company["admin"])
    page.goto(f"{live_server.url}/workflow/monitor/")
    expect(page.locator("#monitor-table tbody tr[data-instance]")).to_have_count(1)
    shoot(page, "monitor-desktop")
    page.goto(f"{live_server.url}/workflow/handover/")
    shoot(page, "handover-desktop")
    page.goto(f"{live_server.url}/workflow/backfill/")
    page.click("#backfill-flows a")
    expect(page.locator("#backfill-form")).to_be_visible()
    shoot(page, "backfill-desktop")
    page.context.close()
