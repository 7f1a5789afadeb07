"""The flow designer in the browser: a flow administrator creates a flow, adds a money field,
routes it to a role and by a condition on the amount with a default branch, sees what is
still wrong, publishes — and the flow can be started. On a phone the lists work and the
designer asks for a computer. Screenshots at 1366 px and 375 px go to /tmp/xt-shots."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page
from tests.fixtures import grant_role, place
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import DataScope, OrgUnit, Role
from xietong.org.services import role_grant_by_system
from xietong.workflow import selectors
from xietong.workflow.models import FlowDefinition

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.gettempdir()) / "xt-shots"


def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(SHOTS / f"designer-{name}.png"), full_page=full_page, animations="disabled")


@pytest.fixture
def company(transactional_db: Any) -> dict[str, Any]:
    """刘芳 of 综合办公室 administers flows group-wide; 张伟 of 生产技术部 starts requests."""
    units = OrgUnit.objects
    group = units.add_root(create_kwargs={"name": "华电集团总部", "code": "HQ", "kind": OrgUnit.Kind.GROUP})
    office = units.add_child(units.get(pk=group.pk), create_kwargs={"name": "综合办公室", "code": "HQ-ZH"})
    production = units.add_child(
        units.get(pk=group.pk), create_kwargs={"name": "生产技术部", "code": "HQ-SC"}
    )
    admin = User.objects.create_user("liufang", STRONG_PASSWORD, name="刘芳", must_change_password=False)
    place(admin, office)
    grant_role(admin, builtin.FLOW_ADMIN, scope=DataScope.GROUP)
    staff = User.objects.create_user("zhangwei", STRONG_PASSWORD, name="张伟", must_change_password=False)
    place(staff, production)
    reviewer = User.objects.create_user("qianfang", STRONG_PASSWORD, name="钱芳", must_change_password=False)
    place(reviewer, office)
    role = Role.objects.create(code="finance_review", name="财务审核")
    role_grant_by_system(role=role, user=reviewer, scope=DataScope.GROUP, units=())
    return {"admin": admin, "staff": staff}


def _fits(page: Page, viewport: dict[str, int]) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_flow_admin_builds_and_publishes_a_flow(
    browser: Browser, live_server: Any, company: dict[str, Any]
) -> None:
    base = live_server.url
    page = open_page(browser, DESKTOP)
    log_in(page, base, "liufang", STRONG_PASSWORD)

    page.goto(f"{base}/workflow/flows/")
    page.click("#new-flow")
    page.fill("#id_code", "purchase")
    page.fill("#id_name", "采购申请")
    page.select_option("#id_category", "finance")
    page.fill("#id_icon", "cart")
    with page.expect_navigation():
        page.click("#flow-submit")
    expect(page.locator("#tab-form")).to_have_class("nav-link active")

    # 表单设计: a required money field "金额" with the key "amount".
    page.click("[data-add-field=money]")
    page.fill("#fd-field-label", "金额")
    page.fill("#fd-field-key", "amount")
    page.press("#fd-field-key", "Tab")
    page.check("#fd-panel [data-prop=required]")
    expect(page.locator(".xt-fd-field[data-key=amount]")).to_contain_text("金额")
    page.click("[data-add-field=table]")
    page.click(".xt-fd-field[data-key=amount]")
    shot(page, "form-1366")

    # 流程设计: the starter node goes to the role 财务审核.
    page.click("#tab-flow")
    page.click(".xt-fd-node[data-node-id=n1]")
    page.fill("#fd-node-name", "财务审核")
    page.select_option("#fd-approver-kind", "role")
    page.select_option("#fd-approver-role", "finance_review")
    expect(page.locator(".xt-fd-node[data-node-id=n1]")).to_contain_text("角色：财务审核")

    # A condition branch after it, with a default branch; the first branch gets a condition.
    page.locator(".xt-fd-tree > .xt-fd-seq > .xt-fd-gap .xt-fd-add").last.click()
    page.click("[data-add-node=condition]")
    expect(page.locator(".xt-fd-cond")).to_have_count(2)
    expect(page.locator(".xt-fd-cond.is-default")).to_contain_text("默认")
    page.click("#fd-add-leaf")

    # Saved half-done: the problem shows on the branch and in the list.
    page.click("#fd-save")
    expect(page.locator("#fd-problem-list")).to_be_visible()
    expect(page.locator(".xt-fd-cond.is-invalid")).to_have_count(1)
    shot(page, "flow-problems-1366")

    page.locator(".xt-fd-cond").first.click()
    page.select_option(".xt-fd-leaf-subject", "f:amount")
    page.select_option(".xt-fd-leaf-op", ">")
    page.fill(".xt-fd-leaf-value", "5000")
    expect(page.locator(".xt-fd-cond").first).to_contain_text("金额 大于 5000")
    # Big amounts also go to the initiator's second-level head.
    page.locator(".xt-fd-col").first.locator(".xt-fd-add").first.click()
    page.click("[data-add-node=approval]")
    page.fill("#fd-node-name", "分管领导审批")
    page.click("#fd-save")
    expect(page.locator("#fd-status")).to_contain_text("可以发布")
    expect(page.locator("#fd-problem-list")).to_have_count(0)
    shot(page, "flow-1366", full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#fd-publish")
    assert page.url.endswith("/versions/")
    expect(page.locator(".alert-success")).to_contain_text("第 1 版已发布")
    shot(page, "versions-1366")

    flow = FlowDefinition.objects.get(code="purchase")
    assert flow.current_version is not None
    route = flow.current_version.flow
    assert route["nodes"][0]["approvers"] == {"kind": "role", "code": "finance_review"}
    branches = route["nodes"][1]["branches"]
    assert branches[0]["condition"] == {"all": [{"field": "amount", "op": ">", "value": "5000"}]}
    assert branches[0]["priority"] == 1
    assert branches[-1]["default"] is True
    money = next(field for field in flow.current_version.form["fields"] if field["key"] == "amount")
    assert money == {"key": "amount", "type": "money", "label": "金额", "required": True}
    assert flow in selectors.startable_flows(company["staff"])

    # The read-only view of the version: no editing controls.
    page.goto(f"{base}/workflow/flows/{flow.pk}/versions/1/")
    page.click("#tab-flow")
    expect(page.locator(".xt-fd-add")).to_have_count(0)
    expect(page.locator("#fd-save")).to_have_count(0)

    page.goto(f"{base}/workflow/flows/")
    expect(page.locator(f".xt-fd-flow[data-flow-id='{flow.pk}']")).to_contain_text("已发布")
    shot(page, "list-1366")
    page.close()

    # Whoever may start it finds it on the start page.
    starter = open_page(browser, DESKTOP)
    log_in(starter, base, "zhangwei", STRONG_PASSWORD)
    starter.goto(f"{base}/workflow/start/")
    expect(starter.locator("body")).to_contain_text("采购申请")
    starter.close()

    # On a phone: the lists work; the designer asks for a computer.
    phone = open_page(browser, PHONE)
    log_in(phone, base, "liufang", STRONG_PASSWORD)
    phone.goto(f"{base}/workflow/flows/")
    expect(phone.locator("#flow-list")).to_contain_text("采购申请")
    _fits(phone, PHONE)
    shot(phone, "list-375", full_page=True)
    phone.goto(f"{base}/workflow/flows/{flow.pk}/versions/")
    _fits(phone, PHONE)
    shot(phone, "versions-375", full_page=True)
    phone.goto(f"{base}/workflow/flows/{flow.pk}/design/")
    expect(phone.get_by_text("请在电脑上设计流程")).to_be_visible()
    _fits(phone, PHONE)
    shot(phone, "design-375", full_page=True)
    phone.close()


def test_a_normal_user_is_refused(browser: Browser, live_server: Any, company: dict[str, Any]) -> None:
    page = open_page(browser, DESKTOP)
    log_in(page, live_server.url, "zhangwei", STRONG_PASSWORD)
    response = page.goto(f"{live_server.url}/workflow/flows/")
    assert response is not None
    assert response.status == 403
    page.close()
