"""The approvals inbox in the browser: an approver has 审批 open; the initiator submits two
expense claims and the approver's 待办 count and list rise without a reload; the approver
ticks both, picks an opinion and approves them in one go. At desktop and phone width, with
screenshots of the inbox, the 委托 and the 常用意见 pages.

Live updates travel over the WebSocket, so the pages are served by the platform's ASGI
application (``asgi_server``).
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page, screenshot
from tests.fixtures import place
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import Membership, OrgUnit
from xietong.workflow import services
from xietong.workflow.models import FlowDefinition, FlowVersion, Instance, WorkItem

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/xt-shots")  # noqa: S108  (where the screenshots are looked at)
FORM = {
    "fields": [
        {"key": "title", "type": "text", "label": "标题", "required": True, "max_length": 100},
        {"key": "amount", "type": "money", "label": "金额", "min": 0},
    ]
}
_requests = itertools.count(1)


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(SHOTS / f"inbox-{name}.png"), full_page=True, animations="disabled")
    screenshot(page, f"workflow-inbox-{name}")


@pytest.fixture
def office(transactional_db: Any) -> dict[str, Any]:
    """张伟 of 生产技术部 claims expenses; 王经理 heads it and approves them (in batches)."""
    builtin.ensure_builtin_roles()  # the default role that holds workflow.use
    units = OrgUnit.objects
    group = units.add_root(create_kwargs={"name": "华电集团总部", "code": "HQ", "kind": OrgUnit.Kind.GROUP})
    production = units.add_child(
        units.get(pk=group.pk), create_kwargs={"name": "生产技术部", "code": "HQ-SC"}
    )
    finance = units.add_child(units.get(pk=group.pk), create_kwargs={"name": "财务部", "code": "HQ-CW"})
    initiator = User.objects.create_user("zhangwei", STRONG_PASSWORD, name="张伟", must_change_password=False)
    place(initiator, production)
    head = User.objects.create_user("wangjl", STRONG_PASSWORD, name="王经理", must_change_password=False)
    Membership.objects.create(user=head, unit=production, is_head=True, is_primary=True)
    cashier = User.objects.create_user("qiancw", STRONG_PASSWORD, name="钱财务", must_change_password=False)
    place(cashier, finance)
    flow = FlowDefinition.objects.create(code="expense", name="费用报销", category="finance")
    version = FlowVersion.objects.create(
        definition=flow,
        number=1,
        form=FORM,
        flow={
            "initiators": [{"kind": "everyone"}],
            "nodes": [
                {
                    "id": "n1",
                    "type": "approval",
                    "name": "部门负责人审批",
                    "approvers": {"kind": "users", "ids": [head.pk]},
                    "batch": True,
                },
                {
                    "id": "n2",
                    "type": "approval",
                    "name": "财务审核",
                    "approvers": {"kind": "users", "ids": [cashier.pk]},
                },
            ],
        },
        status=FlowVersion.Status.PUBLISHED,
    )
    flow.current_version = version
    flow.save(update_fields=["current_version"])
    services.phrase_create(actor=head, text="同意，按公司财务制度报销。")
    return {"initiator": initiator, "head": head, "cashier": cashier, "flow": flow}


def submit(office: dict[str, Any], title: str, **extra: Any) -> Instance:
    return services.instance_start(
        actor=office["initiator"],
        flow=office["flow"],
        data={"title": title, "amount": "1280.00"},
        request_id=f"browser-{next(_requests)}",
        **extra,
    )


def warm_up(page: Page, base: str) -> None:
    """The first page of a fresh server imports the whole platform: give it time."""
    page.goto(f"{base}/account/login/", timeout=90_000)


def _fits(page: Page, viewport: dict[str, int], name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_the_count_rises_live_and_two_items_are_approved_in_one_go(
    browser: Browser, asgi_server: str, office: dict[str, Any], size: str, viewport: dict[str, int]
) -> None:
    base = asgi_server
    approver = open_page(browser, viewport)
    initiator = open_page(browser, viewport)
    try:
        warm_up(approver, base)
        log_in(approver, base, "wangjl", STRONG_PASSWORD)
        approver.goto(f"{base}/workflow/")
        expect(approver.locator("body")).to_have_attribute("data-live", "on")
        expect(approver.locator("#inbox-empty")).to_be_visible()
        expect(approver.locator('[data-count="todo"]')).to_have_count(0)

        # The initiator, in a browser of his own, has his 我发起的 box open while he submits.
        log_in(initiator, base, "zhangwei", STRONG_PASSWORD)
        first = submit(office, "2026年11月北京出差差旅费报销")
        second = submit(office, "安全生产月宣传物料采购费用报销", urgent=True)

        # Without a reload, the approver's tab count and list show both, the 急办 one on top.
        expect(approver.locator('[data-count="todo"]')).to_have_text("2")
        rows = approver.locator("#inbox-list [data-instance-id]")
        expect(rows).to_have_count(2)
        expect(rows.first).to_have_attribute("data-instance-id", str(second.pk))
        expect(rows.first.locator(".xt-wf-urgent").first).to_be_visible()
        expect(approver.locator("#inbox-list")).to_contain_text("张伟 · 生产技术部")
        _fits(approver, viewport, "inbox")
        shoot(approver, f"todo-{size}")

        initiator.goto(f"{base}/workflow/?box=mine")
        expect(initiator.locator("#inbox-list [data-instance-id]")).to_have_count(2)
        expect(initiator.locator("#inbox-list")).to_contain_text("审批中")
        _fits(initiator, viewport, "mine")
        shoot(initiator, f"mine-{size}")

        # 全选, an opinion from the 常用意见, 批量同意.
        approver.locator("#batch-all").check()
        expect(approver.locator("#batch-bar")).to_be_visible()
        expect(approver.locator("#batch-count")).to_have_text("2")
        approver.locator("#batch-bar select").select_option("同意，按公司财务制度报销。")
        expect(approver.locator("#batch-opinion")).to_have_value("同意，按公司财务制度报销。")
        shoot(approver, f"batch-{size}")
        with approver.expect_navigation():
            approver.locator("#batch-approve").click()
        expect(approver.locator(".alert-success")).to_contain_text("已同意 2 项")
        expect(approver.locator("#inbox-empty")).to_be_visible()
        for instance in (first, second):
            item = WorkItem.objects.get(instance=instance, assignee=office["head"])
            assert item.state == WorkItem.State.APPROVED
            assert item.opinion == "同意，按公司财务制度报销。"
        assert WorkItem.objects.filter(assignee=office["cashier"], state=WorkItem.State.PENDING).count() == 2

        approver.goto(f"{base}/workflow/?box=done")
        expect(approver.locator("#inbox-list [data-instance-id]")).to_have_count(2)
        shoot(approver, f"done-{size}")
    finally:
        approver.context.close()
        initiator.context.close()


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_delegation_and_phrases_pages(
    browser: Browser, asgi_server: str, office: dict[str, Any], size: str, viewport: dict[str, int]
) -> None:
    base = asgi_server
    page = open_page(browser, viewport)
    try:
        warm_up(page, base)
        log_in(page, base, "wangjl", STRONG_PASSWORD)
        page.goto(f"{base}/workflow/delegations/")
        page.locator("#delegate-search").fill("钱")
        page.locator("#delegate-results button").first.click()
        expect(page.locator("#delegate-chosen")).to_contain_text("钱财务")
        today = timezone.localdate()
        page.locator("#id_starts_at").fill(f"{today + dt.timedelta(days=2)}T09:00")
        page.locator("#id_ends_at").fill(f"{today + dt.timedelta(days=6)}T18:00")
        page.locator("#id_flows").select_option(label="费用报销")
        page.locator("#id_reason").fill("赴上海参加电力安全培训")
        with page.expect_navigation():
            page.locator("#delegation-submit").click()
        expect(page.locator(".alert-success")).to_contain_text("已委托 钱财务")
        expect(page.locator("#given-list")).to_contain_text("费用报销")
        _fits(page, viewport, "delegations")
        shoot(page, f"delegations-{size}")

        page.goto(f"{base}/workflow/phrases/")
        page.locator("#id_text").fill("请补充发票原件后再提交。")
        with page.expect_navigation():
            page.locator("#phrase-form button[type=submit]").click()
        items = page.locator("#phrase-list li")
        expect(items).to_have_count(2)
        with page.expect_navigation():
            items.nth(1).locator("button[value=up]").click()
        expect(page.locator("#phrase-list li").first).to_contain_text("请补充发票原件")
        _fits(page, viewport, "phrases")
        shoot(page, f"phrases-{size}")
    finally:
        page.context.close()
