"""Issue #5 end to end, all in the browser: 刘芳 (流程管理员) designs 采购申请 with a required
金额, a 会签 step for 王经理 and 李主任, and a condition branch that sends 金额 > 10000 to 赵总;
张伟 asks for 20000; 王经理, 李主任 and 赵总 act in three browser contexts of their own — the
会签 waits for both, 赵总 退回 to 张伟, who edits and resubmits, and after the second round the
request is 已通过 with the 退回 and the 重新提交 on its record. Screenshots go to /tmp/xt-shots.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, STRONG_PASSWORD, log_in, open_page
from tests.fixtures import grant_role, make_user, place
from xietong.org import builtin
from xietong.org.models import DataScope, OrgUnit
from xietong.workflow.models import FlowDefinition, Instance, InstanceState, WorkItem

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.gettempdir()) / "xt-shots"
RETURN_OPINION = "金额超出年度预算，请拆分采购并附上比价单后重新提交。"


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(SHOTS / f"e2e-{name}.png"), full_page=full_page, animations="disabled")


@pytest.fixture
def company(transactional_db: Any) -> dict[str, Any]:
    """刘芳 of 综合办公室 designs flows; 张伟 of 生产技术部 files; 王经理 and 李主任 (会签) and
    赵总 (大额) approve. Everyone has a primary post, so the designer's picker finds them."""
    units = OrgUnit.objects
    group = units.add_root(create_kwargs={"name": "华电集团总部", "code": "HQ", "kind": OrgUnit.Kind.GROUP})
    office = units.add_child(units.get(pk=group.pk), create_kwargs={"name": "综合办公室", "code": "HQ-ZH"})
    production = units.add_child(
        units.get(pk=group.pk), create_kwargs={"name": "生产技术部", "code": "HQ-SC"}
    )
    people = {
        "admin": make_user("liufang", name="刘芳"),
        "initiator": make_user("zhangwei", name="张伟"),
        "a": make_user("wangjl", name="王经理"),
        "b": make_user("lizr", name="李主任"),
        "c": make_user("zhaozong", name="赵总"),
    }
    place(people["admin"], office)
    grant_role(people["admin"], builtin.FLOW_ADMIN, scope=DataScope.GROUP)
    for key in ("initiator", "a", "b"):
        place(people[key], production)
    place(people["c"], units.get(pk=group.pk))
    return people


def pick_user(page: Page, name: str) -> None:
    """Type a name into the node panel's people picker and take the suggestion."""
    search = page.locator("#fd-panel .xt-fd-picker[data-picker=user] input[type=search]")
    search.fill(name)
    page.locator("#fd-panel .xt-fd-results button", has_text=name).click()
    expect(page.locator("#fd-panel .xt-fd-chip", has_text=name)).to_be_visible()


def design_and_publish(page: Page, base: str) -> FlowDefinition:
    page.goto(f"{base}/workflow/flows/")
    page.click("#new-flow")
    page.fill("#id_code", "purchase")
    page.fill("#id_name", "采购申请")
    page.select_option("#id_category", "finance")
    with page.expect_navigation():
        page.click("#flow-submit")
    expect(page.locator("#tab-form")).to_have_class("nav-link active")

    # 表单设计: a required money field 金额 (key "amount") next to the starter's 申请事由.
    page.click("[data-add-field=money]")
    page.fill("#fd-field-label", "金额")
    page.fill("#fd-field-key", "amount")
    page.press("#fd-field-key", "Tab")
    page.check("#fd-panel [data-prop=required]")
    expect(page.locator(".xt-fd-field[data-key=amount]")).to_contain_text("金额")

    # 流程设计: the first step is a 会签 of 王经理 and 李主任.
    page.click("#tab-flow")
    first = page.locator(".xt-fd-node[data-node-id=n1]")
    first.click()
    page.fill("#fd-node-name", "部门会签")
    page.select_option("#fd-approver-kind", "users")
    pick_user(page, "王经理")
    pick_user(page, "李主任")
    page.check("#fd-mode-all")
    expect(first).to_contain_text("部门会签")
    expect(first).to_contain_text("王经理、李主任")
    expect(first).to_contain_text("会签")

    # Then a condition: 金额 > 10000 goes to 赵总; the default branch has no step.
    page.locator(".xt-fd-tree > .xt-fd-seq > .xt-fd-gap .xt-fd-add").last.click()
    page.click("[data-add-node=condition]")
    expect(page.locator(".xt-fd-cond")).to_have_count(2)
    expect(page.locator(".xt-fd-cond.is-default")).to_contain_text("默认")
    page.locator(".xt-fd-cond").first.click()
    page.click("#fd-add-leaf")
    page.select_option(".xt-fd-leaf-subject", "f:amount")
    page.select_option(".xt-fd-leaf-op", ">")
    page.fill(".xt-fd-leaf-value", "10000")
    expect(page.locator(".xt-fd-cond").first).to_contain_text("金额 大于 10000")
    page.locator(".xt-fd-col").first.locator(".xt-fd-add").first.click()
    page.click("[data-add-node=approval]")
    page.fill("#fd-node-name", "总经理审批")
    page.select_option("#fd-approver-kind", "users")
    pick_user(page, "赵总")
    page.click("#fd-save")
    expect(page.locator("#fd-status")).to_contain_text("可以发布")
    expect(page.locator("#fd-problem-list")).to_have_count(0)
    shot(page, "designer")

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#fd-publish")
    expect(page.locator(".alert-success")).to_contain_text("第 1 版已发布")
    return FlowDefinition.objects.get(code="purchase")


def approve(page: Page, link: str, opinion: str) -> None:
    page.goto(link)
    expect(page.locator("#task-panel")).to_be_visible()
    page.fill("#opinion", opinion)
    with page.expect_navigation():
        page.click("#approve-button")
    expect(page.get_by_role("alert").first).to_contain_text("已同意")


def test_design_start_countersign_return_and_resubmit_across_three_browsers(
    browser: Browser, live_server: Any, company: dict[str, Any]
) -> None:
    base = live_server.url
    pages: list[Page] = []

    def logged_in(username: str) -> Page:
        page = open_page(browser, DESKTOP)
        page.set_default_navigation_timeout(60_000)  # the first page of a busy server
        pages.append(page)
        log_in(page, base, username, STRONG_PASSWORD)
        return page

    try:
        # 1. 刘芳 designs and publishes the flow.
        designer = logged_in("liufang")
        flow = design_and_publish(designer, base)
        designer.context.close()
        assert flow.current_version is not None
        route = flow.current_version.flow
        countersign = route["nodes"][0]
        assert countersign["mode"] == "all"
        assert countersign["approvers"] == {"kind": "users", "ids": [company["a"].pk, company["b"].pk]}
        big, other = route["nodes"][1]["branches"]
        assert big["condition"] == {"all": [{"field": "amount", "op": ">", "value": "10000"}]}
        assert big["nodes"][0]["approvers"] == {"kind": "users", "ids": [company["c"].pk]}
        assert other["default"] is True
        assert other["nodes"] == []

        # 2. 张伟 asks for 20000: the preview takes the branch to 赵总.
        initiator = logged_in("zhangwei")
        initiator.goto(f"{base}/workflow/start/")
        initiator.click(f"[data-flow='{flow.pk}']")
        expect(initiator.locator("h1")).to_contain_text("采购申请")
        initiator.fill("#fld-reason", "生产技术部检修工器具采购")
        initiator.fill("#fld-amount", "20000")
        expect(initiator.locator("[data-wf-uppercase-of='fld-amount']")).to_have_text("大写：贰万元整")
        initiator.locator("#fld-amount").blur()
        expect(initiator.locator("#route-steps")).to_contain_text("赵总")
        shot(initiator, "start")
        with initiator.expect_navigation():
            initiator.click("#submit-request")
        instance = Instance.objects.get()
        link = f"{base}/workflow/instances/{instance.pk}/"
        assert re.search(rf"/workflow/instances/{instance.pk}/$", initiator.url)
        expect(initiator.locator("#instance-state")).to_have_text("审批中")
        expect(initiator.locator("#instance-current")).to_contain_text("王经理、李主任")

        # 3. Three approvers, three browsers.
        a, b, c = logged_in("wangjl"), logged_in("lizr"), logged_in("zhaozong")

        approve(a, link, "同意采购。")
        # The 会签 still waits for 李主任; 赵总 has nothing yet.
        expect(a.locator("#task-panel")).to_have_count(0)
        expect(a.locator("#instance-current")).to_contain_text("部门会签")
        expect(a.locator("#instance-current")).to_contain_text("李主任")
        expect(a.locator("#instance-current")).not_to_contain_text("王经理")
        current = a.locator("#instance-route li[data-status=current]")
        expect(current).to_contain_text("部门会签")
        expect(current).to_contain_text("李主任")
        expect(current).not_to_contain_text("王经理")
        expect(a.locator("#record-list")).to_contain_text("同意采购。")
        shot(a, "countersign-pending")
        c.goto(f"{base}/workflow/")
        expect(c.locator("#inbox-empty")).to_be_visible()

        approve(b, link, "同意，注意比价。")
        expect(b.locator("#instance-current")).to_contain_text("总经理审批")

        # 赵总 finds it in his 待办 and returns it to 张伟.
        c.goto(f"{base}/workflow/")
        row = c.locator(f"#inbox-list [data-instance-id='{instance.pk}']")
        expect(row).to_contain_text("总经理审批")
        with c.expect_navigation():
            row.locator("a.xt-wf-title").click()
        expect(c.locator("#task-panel")).to_be_visible()
        c.locator("#return-section summary").click()
        c.select_option("#return-target", value="initiator")
        c.fill("#return-opinion", RETURN_OPINION)
        with c.expect_navigation():
            c.click("#return-button")
        expect(c.get_by_role("alert").first).to_contain_text("已退回")

        # 4. 张伟 sees it returned, edits the amount and resubmits.
        initiator.goto(link)
        expect(initiator.locator("#instance-state")).to_have_text("已退回")
        expect(initiator.locator("#record-list")).to_contain_text(RETURN_OPINION)
        expect(initiator.locator("#resubmit-form")).to_be_visible()
        shot(initiator, "returned")
        initiator.fill("[name='f.amount']", "18000")
        with initiator.expect_navigation():
            initiator.click("#resubmit-button")
        expect(initiator.get_by_role("alert").first).to_contain_text("已重新提交")
        expect(initiator.locator("#instance-state")).to_have_text("审批中")
        # return_resume "restart": the 会签 again, from both.
        expect(initiator.locator("#instance-current")).to_contain_text("王经理、李主任")

        # 5. The second round: 王经理, 李主任, then 赵总.
        approve(a, link, "已拆分，同意。")
        expect(a.locator("#instance-current")).to_contain_text("李主任")
        approve(b, link, "同意。")
        c.goto(f"{base}/workflow/")
        expect(c.locator(f"#inbox-list [data-instance-id='{instance.pk}']")).to_be_visible()
        approve(c, link, "同意采购。")

        initiator.goto(link)
        expect(initiator.locator("#instance-state")).to_have_text("已通过")
        record = initiator.locator("#record-list")
        expect(record.locator("li[data-kind=return]")).to_have_count(1)
        expect(record.locator("li[data-kind=return]")).to_contain_text(RETURN_OPINION)
        expect(record.locator("li[data-kind=resubmit]")).to_have_count(1)
        expect(record.locator("li[data-kind=resubmit]")).to_contain_text("张伟")
        shot(initiator, "approved")

        instance.refresh_from_db()
        assert instance.state == InstanceState.APPROVED
        assert instance.round == 1
        assert instance.data["amount"] == "18000.00"
        approvals = WorkItem.objects.filter(instance=instance, state=WorkItem.State.APPROVED)
        assert sorted(approvals.values_list("assignee__username", flat=True)) == [
            "lizr",
            "lizr",
            "wangjl",
            "wangjl",
            "zhaozong",
        ]
    finally:
        for page in pages:
            page.context.close()
