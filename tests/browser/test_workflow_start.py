"""发起审批 in the browser: 张伟 picks 费用报销 on the list, types an amount and sees its 大写,
fills two rows of the detail table and sees the sum, sees the route preview follow the amount,
submits and lands on the request's page — at desktop and phone width, with screenshots."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, STRONG_PASSWORD, log_in, open_page, screenshot
from tests.fixtures import place
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import Membership, OrgUnit
from xietong.workflow.models import Category, FlowDefinition, FlowVersion, Instance, InstanceState

pytestmark = pytest.mark.browser

FORM: dict[str, Any] = {
    "fields": [
        {"key": "intro", "type": "description", "label": "填写说明", "text": "请附上发票，金额以发票为准。"},
        {
            "key": "reason",
            "type": "text",
            "label": "事由",
            "required": True,
            "placeholder": "如：赴京参加年度工作会议",
        },
        {"key": "period", "type": "daterange", "label": "出差日期"},
        {"key": "amount", "type": "money", "label": "报销金额", "required": True},
        {"key": "kind", "type": "select", "label": "费用类别", "options": ["差旅费", "办公费", "招待费"]},
        {
            "key": "items",
            "type": "table",
            "label": "费用明细",
            "columns": [
                {"key": "name", "type": "text", "label": "项目"},
                {"key": "qty", "type": "number", "label": "数量"},
                {"key": "price", "type": "money", "label": "单价"},
                {
                    "key": "subtotal",
                    "type": "computed",
                    "label": "小计",
                    "expression": "qty * price",
                    "format": "money",
                },
            ],
            "sum": ["subtotal"],
        },
        {"key": "files", "type": "attachments", "label": "发票附件"},
    ]
}


@pytest.fixture
def company(transactional_db: Any) -> dict[str, Any]:
    """张伟 of 生产技术部, whose head is 王经理; 赵总 heads the company and approves 大额."""
    builtin.ensure_builtin_roles()
    units = OrgUnit.objects
    root = units.add_root(create_kwargs={"name": "华电集团总部", "code": "HQ", "kind": OrgUnit.Kind.GROUP})
    production = units.add_child(units.get(pk=root.pk), create_kwargs={"name": "生产技术部", "code": "HQ-SC"})
    zhang = User.objects.create_user("zhangwei", STRONG_PASSWORD, name="张伟", must_change_password=False)
    place(zhang, production)
    head = User.objects.create_user("wangjl", STRONG_PASSWORD, name="王经理", must_change_password=False)
    Membership.objects.create(user=head, unit=production, is_head=True, is_primary=True)
    boss = User.objects.create_user("zhaozong", STRONG_PASSWORD, name="赵总", must_change_password=False)
    Membership.objects.create(user=boss, unit=units.get(pk=root.pk), is_head=True, is_primary=True)
    route = {
        "initiators": [{"kind": "everyone"}],
        "nodes": [
            {
                "id": "n1",
                "type": "approval",
                "name": "部门负责人审批",
                "approvers": {"kind": "users", "ids": [head.pk]},
            },
            {
                "id": "g1",
                "type": "condition",
                "name": "金额判断",
                "branches": [
                    {
                        "id": "big",
                        "name": "大额",
                        "priority": 1,
                        "condition": {"all": [{"field": "amount", "op": ">=", "value": "10000"}]},
                        "nodes": [
                            {
                                "id": "n2",
                                "type": "approval",
                                "name": "总经理审批",
                                "approvers": {"kind": "users", "ids": [boss.pk]},
                            }
                        ],
                    },
                    {"id": "small", "name": "其他", "priority": 2, "default": True, "nodes": []},
                ],
            },
        ],
    }
    flows = []
    for code, name, category, description, form in (
        ("expense", "费用报销", Category.FINANCE, "差旅费、办公费等费用报销", FORM),
        ("seal", "用印申请", Category.SEAL, "合同、证明等加盖公章", {"fields": FORM["fields"][1:2]}),
        ("leave", "请假申请", Category.PERSONNEL, "年假、事假、病假", {"fields": FORM["fields"][1:3]}),
        ("purchase", "采购申请", Category.ADMINISTRATION, "办公用品、设备采购", FORM),
    ):
        flow = FlowDefinition.objects.create(code=code, name=name, category=category, description=description)
        version = FlowVersion.objects.create(
            definition=flow, number=1, form=form, flow=route, status=FlowVersion.Status.PUBLISHED
        )
        flow.current_version = version
        flow.save(update_fields=["current_version"])
        flows.append(flow)
    return {"zhang": zhang, "flow": flows[0]}


def _fits(page: Page, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"], name  # type: ignore[index]


def test_fill_in_and_submit_a_request(page: Page, live_server: Any, company: dict[str, Any]) -> None:
    base = live_server.url
    page.set_default_navigation_timeout(60_000)  # the first page of a session on a busy machine
    log_in(page, base, "zhangwei", STRONG_PASSWORD)
    page.goto(f"{base}/workflow/start/")
    expect(page.locator(".wf-flow-card")).to_have_count(4)
    page.fill("#flow-search", "用印")
    expect(page.locator(".wf-flow-card:visible")).to_have_count(1)
    page.fill("#flow-search", "")
    screenshot(page, "workflow-start-list-desktop")
    page.click(f"[data-flow='{company['flow'].pk}']")
    expect(page.locator("h1")).to_contain_text("费用报销")

    page.fill("#fld-reason", "赴京参加年度工作会议")
    page.fill("#fld-period", "2026-03-02")
    page.fill("#fld-period-end", "2026-03-04")
    expect(page.locator("[data-wf-days]")).to_have_text("共 3 天")
    page.fill("#fld-amount", "12345.6")
    expect(page.locator("[data-wf-uppercase-of='fld-amount']")).to_have_text("大写：壹万贰仟叁佰肆拾伍元陆角")
    page.select_option("#fld-kind", "差旅费")

    page.fill("#fld-items-0-name", "往返机票")
    page.fill("#fld-items-0-qty", "2")
    page.fill("#fld-items-0-price", "1200")
    page.click("[data-wf-add-row]")
    page.fill("[name='f.items.1.name']", "住宿")
    page.fill("[name='f.items.1.qty']", "2")
    page.fill("[name='f.items.1.price']", "450.5")
    expect(page.locator("[data-wf-row='0'] output")).to_have_text("¥2,400.00")
    expect(page.locator("[data-wf-sum='subtotal']")).to_have_text("¥3,301.00")

    # 12,345.60 is 大额: the preview adds 赵总's step once the amount is in.
    page.locator("#fld-amount").blur()
    expect(page.locator("#route-steps")).to_contain_text("赵总")
    expect(page.locator("#route-steps")).to_contain_text("王经理")
    page.check("#id_urgent")
    screenshot(page, "workflow-start-form-desktop")

    with page.expect_navigation():
        page.click("#submit-request")
    instance = Instance.objects.get()
    assert re.search(rf"/workflow/instances/{instance.pk}/$", page.url)
    assert instance.state == InstanceState.RUNNING
    assert instance.urgent
    assert instance.data["amount"] == "12345.60"
    assert [row["subtotal"] for row in instance.data["items"]] == ["2400.00", "901.00"]


def test_errors_and_drafts_at_phone_width(
    browser: Browser, live_server: Any, company: dict[str, Any]
) -> None:
    page = open_page(browser, PHONE)
    page.set_default_navigation_timeout(60_000)
    base = live_server.url
    log_in(page, base, "zhangwei", STRONG_PASSWORD)
    page.goto(f"{base}/workflow/start/")
    _fits(page, "list")
    screenshot(page, "workflow-start-list-phone")
    page.goto(f"{base}/workflow/start/{company['flow'].pk}/")
    page.fill("#fld-amount", "abc")
    expect(page.locator("[data-wf-uppercase-of='fld-amount']")).to_have_text("请输入有效的金额")
    with page.expect_navigation():
        page.click("#submit-request")
    expect(page.locator("#form-problem")).to_be_visible()
    expect(page.locator("[data-wf-error='reason']")).to_have_text("请填写“事由”")
    expect(page.locator("[data-wf-error='amount']")).to_have_text("“报销金额”必须是数字")
    assert not Instance.objects.exists()
    _fits(page, "form with errors")
    screenshot(page, "workflow-start-form-phone")

    page.fill("#fld-amount", "800")
    page.fill("#fld-reason", "办公用品")
    with page.expect_navigation():
        page.click("#save-draft")
    draft = Instance.objects.get()
    assert draft.state == InstanceState.DRAFT
    expect(page.locator("#fld-amount")).to_have_value("800.00")
    expect(page.locator("[data-wf-uppercase-of='fld-amount']")).to_have_text("大写：捌佰元整")
    page.goto(f"{base}/workflow/start/")
    expect(page.locator("#my-drafts")).to_contain_text("费用报销-张伟-")
    page.context.close()
