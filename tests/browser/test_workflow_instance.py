"""One request in the browser: 张伟 has filed a 费用报销 (set up through the services); 王经理
opens it from his bell, picks a 常用意见, signs by hand and approves — while 张伟's open page
tells him it was updated; 赵总 returns it to 张伟, who edits the amount and resubmits. At
desktop and phone width, with screenshots of the page, the panel and the print view.

Live updates travel over the WebSocket, so the platform's ASGI application serves the test
(``asgi_server``) as it does for the notices' receipts page.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page, screenshot
from tests.fixtures import place
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import Membership, OrgUnit
from xietong.workflow import services
from xietong.workflow.models import FlowDefinition, FlowVersion, Instance, InstanceState, Phrase, WorkItem

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.gettempdir()) / "xt-shots"
FORM: dict[str, Any] = {
    "fields": [
        {"key": "title", "type": "text", "label": "事由", "required": True, "max_length": 100},
        {"key": "amount", "type": "money", "label": "报销金额", "required": True, "min": 0},
        {"key": "trip", "type": "textarea", "label": "出差说明"},
        {
            "key": "items",
            "type": "table",
            "label": "费用明细",
            "columns": [
                {"key": "name", "type": "text", "label": "项目"},
                {"key": "cost", "type": "money", "label": "金额"},
            ],
            "sum": ["cost"],
        },
    ]
}


def _setup() -> dict[str, Any]:
    """生产技术部: 张伟 files, 王经理 heads it; 赵总 heads 华东分公司 above it."""
    builtin.ensure_builtin_roles()
    units = OrgUnit.objects
    group = units.add_root(create_kwargs={"name": "华电集团", "code": "G", "kind": OrgUnit.Kind.GROUP})
    east = units.add_child(
        units.get(pk=group.pk),
        create_kwargs={"name": "华东分公司", "code": "E", "kind": OrgUnit.Kind.COMPANY},
    )
    production = units.add_child(units.get(pk=east.pk), create_kwargs={"name": "生产技术部", "code": "E-SC"})
    people: dict[str, Any] = {}
    for key, login, name in (
        ("initiator", "zhangwei", "张伟"),
        ("head", "wangjl", "王经理"),
        ("boss", "zhaozong", "赵总"),
    ):
        people[key] = User.objects.create_user(login, STRONG_PASSWORD, name=name, must_change_password=False)
    place(people["initiator"], production)
    Membership.objects.create(user=people["head"], unit=production, is_head=True, is_primary=True)
    Membership.objects.create(user=people["boss"], unit=east, is_head=True, is_primary=True)
    flow = FlowDefinition.objects.create(code="expense", name="费用报销", icon="receipt")
    version = FlowVersion.objects.create(
        definition=flow,
        number=1,
        form=FORM,
        flow={
            "initiators": [{"kind": "everyone"}],
            "nodes": [
                {
                    "id": "dept",
                    "type": "approval",
                    "name": "部门负责人审批",
                    "approvers": {"kind": "users", "ids": [people["head"].pk]},
                    "signature": True,
                },
                {
                    "id": "lead",
                    "type": "approval",
                    "name": "分管领导审批",
                    "approvers": {"kind": "users", "ids": [people["boss"].pk]},
                    "opinion_required": ["return", "reject"],
                },
            ],
        },
        status=FlowVersion.Status.PUBLISHED,
    )
    flow.current_version = version
    flow.save(update_fields=["current_version"])
    for text in ("同意，请按公司差旅标准报销。", "情况属实，同意。"):
        services.phrase_create(actor=people["head"], text=text)
    people["instance"] = services.instance_start(
        actor=people["initiator"],
        flow=flow,
        urgent=True,
        data={
            "title": "赴苏州电厂检修技术交流差旅费",
            "amount": "3680.5",
            "trip": "2026年11月10日至12日赴苏州电厂参加汽轮机检修技术交流会。",
            "items": [
                {"name": "高铁票（往返）", "cost": "680.5"},
                {"name": "住宿费（2晚）", "cost": "1200"},
                {"name": "会务费", "cost": "1800"},
            ],
        },
        request_id="browser-start-1",
    )
    return people


def _shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    screenshot(page, name, full_page=full_page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page, animations="disabled")


WIDEST = """() => [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 5).map((el) => el.tagName + '.' + el.className + '#' + el.id)"""


def _fits(page: Page, viewport: dict[str, int], name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], (name, page.evaluate(WIDEST))


def _sign(page: Page) -> None:
    canvas = page.locator("#signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    page.mouse.move(x + 20, y + 90)
    page.mouse.down()
    for step in range(1, 16):
        page.mouse.move(x + 20 + step * 12, y + 90 - (step % 5) * 12, steps=2)
    page.mouse.up()
    page.mouse.move(x + 60, y + 50)
    page.mouse.down()
    page.mouse.move(x + 140, y + 110, steps=6)
    page.mouse.up()


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_approve_with_signature_return_and_resubmit(
    browser: Browser, asgi_server: str, transactional_db: Any, size: str, viewport: dict[str, int]
) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        people = pool.submit(_setup).result()
    instance: Instance = people["instance"]
    base = asgi_server
    link = f"{base}/workflow/instances/{instance.pk}/"
    initiator = open_page(browser, viewport)
    approver = open_page(browser, viewport)
    try:
        # 张伟 keeps his request open.
        log_in(initiator, base, "zhangwei", STRONG_PASSWORD)
        initiator.goto(link)
        expect(initiator.locator("#instance-state")).to_have_text("审批中")
        expect(initiator.locator("#instance-urgent")).to_be_visible()
        expect(initiator.locator("body")).to_have_attribute("data-live", "on")
        expect(initiator.locator("#live-banner")).to_be_hidden()

        # 王经理 follows the notification from his bell.
        log_in(approver, base, "wangjl", STRONG_PASSWORD)
        approver.goto(f"{base}/notifications/")
        with approver.expect_navigation():
            approver.get_by_text("待审批：赴苏州电厂检修技术交流差旅费").first.click()
        assert approver.url.rstrip("/").endswith(f"/workflow/instances/{instance.pk}")
        expect(approver.locator("#task-panel")).to_be_visible()
        expect(approver.locator("#filed-fields")).to_contain_text("叁仟陆佰捌拾元伍角")
        expect(approver.locator("#filed-fields")).to_contain_text("3,680.50")
        _fits(approver, viewport, "approver page")
        _shoot(approver, f"instance-approver-{size}")

        approver.select_option("#phrase-select", label="同意，请按公司差旅标准报销。")
        expect(approver.locator("#opinion")).to_have_value("同意，请按公司差旅标准报销。")
        approver.locator("#approve-button").click()  # no signature yet: refused by the server
        expect(approver.locator("#decide-error")).to_contain_text("此环节需要手写签名")
        expect(approver.locator("#opinion")).to_have_value("同意，请按公司差旅标准报销。")
        _sign(approver)
        expect(approver.locator("#signature-field")).not_to_have_value("")
        approver.locator("#task-panel").scroll_into_view_if_needed()
        _shoot(approver, f"instance-signed-{size}", full_page=False)
        with approver.expect_navigation():
            approver.locator("#approve-button").click()
        expect(approver.get_by_role("alert").first).to_contain_text("已同意")
        expect(approver.locator("#record-list")).to_contain_text("同意，请按公司差旅标准报销。")
        expect(approver.locator("#record-list img.xt-signature")).to_have_count(1)

        # 张伟's page hears of it without a reload.
        expect(initiator.locator("#live-banner")).to_be_visible()
        expect(initiator.locator("#live-banner")).to_contain_text("此审批已更新")
        _shoot(initiator, f"instance-live-banner-{size}", full_page=False)
        with initiator.expect_navigation():
            initiator.click("#live-reload")
        expect(initiator.locator("#instance-current")).to_contain_text("分管领导审批")

        # 赵总 returns it to 张伟.
        approver.context.clear_cookies()
        log_in(approver, base, "zhaozong", STRONG_PASSWORD)
        approver.goto(link)
        approver.locator("#return-section summary").click()
        expect(approver.locator("#return-target")).to_be_visible()
        approver.select_option("#return-target", value="initiator")
        approver.fill("#return-opinion", "会务费请附会议通知，金额按实际发生调整后再提交。")
        with approver.expect_navigation():
            approver.click("#return-button")
        expect(approver.get_by_role("alert").first).to_contain_text("已退回")

        # 张伟 edits the amount and resubmits.
        initiator.goto(link)
        expect(initiator.locator("#instance-state")).to_have_text("已退回")
        expect(initiator.locator("#resubmit-form")).to_be_visible()
        expect(initiator.locator("#record-list")).to_contain_text("会务费请附会议通知")
        _fits(initiator, viewport, "resubmit")
        _shoot(initiator, f"instance-returned-{size}")
        initiator.fill("[name='f.amount']", "3380.5")
        initiator.fill("[name='f.items.2.cost']", "1500")
        with initiator.expect_navigation():
            initiator.click("#resubmit-button")
        expect(initiator.get_by_role("alert").first).to_contain_text("已重新提交")
        expect(initiator.locator("#instance-state")).to_have_text("审批中")
        instance.refresh_from_db()
        assert instance.state == InstanceState.RUNNING
        assert instance.round == 1
        assert instance.data["amount"] == "3380.50"
        assert WorkItem.objects.filter(instance=instance, state=WorkItem.State.PENDING).exists()
        _shoot(initiator, f"instance-resubmitted-{size}")

        with initiator.expect_popup() as popup:
            initiator.click("#print-link")
        sheet = popup.value
        expect(sheet.locator("#print-record")).to_contain_text("王经理")
        expect(sheet.locator("#print-record img")).to_have_count(1)
        _shoot(sheet, f"instance-print-{size}")
        sheet.close()
    finally:
        initiator.context.close()
        approver.context.close()
    assert Phrase.objects.filter(user=people["head"]).count() == 2
