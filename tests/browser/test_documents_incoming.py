"""R-78 收文 end to end, all in the browser. 协同集团 distributes a 特急 通知 to 华东分公司; there
孙文秘 (公文管理员) 签收 it — the 收文号 appears — and asks 李总 to 批办; 李总 gives 生产技术部
(主办) and 安全环保部 (协办) a deadline; 周主任 and 吴主任, heads of those departments, record
what they did; 孙文秘 sends it to 郑晓 to read, 郑晓 marks it read with a comment, and 孙文秘
办结 it. 钱档案 (档案管理员) then archives it on the archive pages and runs 校验. A paper document
registered by hand shows its refusals next to the fields, then goes through with its scan.

Each person works in a browser context of their own. Every page is photographed on a desktop
and on a phone to /tmp/xt-shots/documents-in-*.png for people to look at.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page
from tests.fixtures import grant_role, make_user, place
from xietong.core import classification, clock
from xietong.documents import incoming
from xietong.documents.models import (
    ArchiveItem,
    IncomingDocument,
    IncomingState,
    IssuingOrgan,
    OutgoingDocument,
    Urgency,
)
from xietong.documents.tests.archive_helpers import finished_outgoing, pdf_bytes
from xietong.org import builtin
from xietong.org.models import DataScope, Membership, OrgUnit

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.gettempdir()) / "xt-shots"
TITLE = "关于开展冬季消防安全专项检查的通知"
RECV_NO = re.compile(r"收〔\d{4}〕1号")


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(SHOTS / f"documents-in-{name}.png"), full_page=full_page, animations="disabled")


def shots(browser: Browser, page: Page, name: str) -> None:
    """The page as it is now on the desktop, and the same address on a phone with the same login."""
    shot(page, f"{name}-desktop")
    context = browser.new_context(
        viewport=PHONE,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        storage_state=page.context.storage_state(),
    )
    try:
        phone = context.new_page()
        phone.goto(page.url)
        shot(phone, f"{name}-phone")
        # Nothing may be wider than the phone: tables become cards or scroll inside their box.
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} is {width}px wide on a phone"
    finally:
        context.close()


@pytest.fixture
def group(transactional_db: Any) -> dict[str, Any]:
    """协同集团 → 综合办公室 (王文秘 sends, 钱档案 archives); 华东分公司 (李总 heads it,
    孙文秘 is its 公文管理员) → 生产技术部 (周主任, 郑晓), 安全环保部 (吴主任)."""
    units = OrgUnit.objects
    root = units.add_root(create_kwargs={"name": "协同集团", "code": "XT", "kind": OrgUnit.Kind.GROUP})

    def child(parent: OrgUnit, name: str, code: str, kind: str = OrgUnit.Kind.DEPARTMENT) -> OrgUnit:
        return units.add_child(
            units.get(pk=parent.pk), create_kwargs={"name": name, "code": code, "kind": kind}
        )

    office = child(root, "综合办公室", "XT-ZH")
    sub = child(root, "华东分公司", "HD", OrgUnit.Kind.COMPANY)
    production = child(sub, "生产技术部", "HD-SC")
    safety = child(sub, "安全环保部", "HD-AH")
    level = classification.COMMERCIAL_SECRET
    people = {
        key: make_user(username, name=name, clearance=level)
        for key, username, name in (
            ("sender", "wangwenmi", "王文秘"),
            ("clerk", "sunwenmi", "孙文秘"),
            ("leader", "lizong", "李总"),
            ("lead_head", "zhouzhuren", "周主任"),
            ("other_head", "wuzhuren", "吴主任"),
            ("reader", "zhengxiao", "郑晓"),
            ("archivist", "qiandangan", "钱档案"),
        )
    }
    place(people["sender"], office)
    grant_role(people["sender"], builtin.DOCUMENT_CLERK, scope=DataScope.COMPANY)
    place(people["clerk"], units.get(pk=sub.pk))
    grant_role(people["clerk"], builtin.DOCUMENT_CLERK, scope=DataScope.DEPARTMENT_TREE)
    Membership.objects.create(user=people["leader"], unit=units.get(pk=sub.pk), is_head=True, is_primary=True)
    Membership.objects.create(user=people["lead_head"], unit=production, is_head=True, is_primary=True)
    Membership.objects.create(user=people["other_head"], unit=safety, is_head=True, is_primary=True)
    place(people["reader"], production)
    place(people["archivist"], office)
    grant_role(people["archivist"], builtin.ARCHIVIST, scope=DataScope.GROUP)
    organ = IssuingOrgan.objects.create(
        unit=units.get(pk=root.pk),
        code="协同发",
        name="协同集团有限公司",
        mark="协同集团有限公司文件",
        print_org="协同集团有限公司办公室",
    )
    # The 发文 steps are other tests' business: a distributed 通知 with its 正本 PDF arrives.
    source = finished_outgoing(
        organ,
        people["sender"],
        office,
        title=TITLE,
        seq=18,
        to=[units.get(pk=sub.pk)],
        sender=people["sender"],
    )
    OutgoingDocument.objects.filter(pk=source.pk).update(urgency=Urgency.VERY_URGENT)
    source.refresh_from_db()
    arrived = incoming.deliver(distribution=source.distributions.get(), actor=people["sender"])
    return {**people, "document": arrived, "production": production, "safety": safety}


def test_r78_incoming_document_is_handled_in_the_browser(
    browser: Browser, live_server: Any, group: dict[str, Any]
) -> None:
    base = live_server.url
    document: IncomingDocument = group["document"]
    detail = f"{base}/documents/incoming/{document.pk}/"
    pages: list[Page] = []

    def logged_in(key: str) -> Page:
        page = open_page(browser, DESKTOP)
        pages.append(page)
        log_in(page, base, group[key].username, STRONG_PASSWORD)
        return page

    try:
        # 签收: the 待签收 box of 华东分公司's clerk holds the 特急 通知; signing numbers it.
        clerk = logged_in("clerk")
        clerk.goto(f"{base}/documents/incoming/?box=pending")
        row = clerk.locator("#incoming-table tr", has_text=TITLE)
        expect(row).to_contain_text("特急")
        expect(row).to_contain_text("待签收")
        shots(browser, clerk, "list-pending")
        with clerk.expect_navigation():
            row.get_by_role("link", name=TITLE).click()
        expect(clerk.locator("#doc-state")).to_have_text("待签收")
        shots(browser, clerk, "detail-pending")
        with clerk.expect_navigation():
            clerk.click("#sign-btn")
        expect(clerk.locator("#doc-state")).to_have_text("已登记")
        expect(clerk.locator("#handling-sheet")).to_contain_text(RECV_NO)
        expect(clerk.locator(".alert-success")).to_contain_text(RECV_NO)

        # 拟办 without a leader is refused next to the field; then 李总 is asked to 批办.
        clerk.fill("#proposal", "请李总阅示，建议由生产技术部牵头、安全环保部配合落实。")
        with clerk.expect_navigation():
            clerk.click("#propose-form button[type=submit]")
        expect(clerk.locator("#leader + .invalid-feedback")).to_contain_text("请选择批办领导")
        expect(clerk.locator("#proposal")).to_have_value(re.compile("生产技术部牵头"))
        clerk.select_option("#leader", label="李总")
        with clerk.expect_navigation():
            clerk.click("#propose-form button[type=submit]")
        expect(clerk.locator("#doc-state")).to_have_text("待批办")
        shots(browser, clerk, "detail-proposed")

        # 批办: two 承办 units with a deadline, 生产技术部 主办.
        leader = logged_in("leader")
        leader.goto(f"{base}/documents/incoming/")
        expect(leader.locator("#incoming-table")).to_contain_text(TITLE)
        leader.goto(detail)
        leader.fill("#instruction", "同意。请生产技术部牵头，安全环保部配合，12月10日前完成检查并报结果。")
        deadline = timezone.localtime(clock.now() + dt.timedelta(days=5)).strftime("%Y-%m-%dT18:00")
        rows = leader.locator("#instruct-form .doc-in-handling-row")
        rows.nth(0).locator("select[name=unit]").select_option(label="生产技术部")
        rows.nth(0).locator("input[name=deadline]").fill(deadline)
        rows.nth(1).locator("select[name=unit]").select_option(label="安全环保部")
        rows.nth(1).locator("input[name=deadline]").fill(deadline)
        rows.nth(0).locator("input[name=lead_row]").check()
        shots(browser, leader, "detail-instruct-form")
        with leader.expect_navigation():
            leader.click("#instruct-form button[type=submit]")
        expect(leader.locator("#doc-state")).to_have_text("承办中")
        handlings = leader.locator("#handlings")
        expect(handlings.locator("li", has_text="生产技术部")).to_contain_text("主办")
        expect(handlings.locator("li", has_text="安全环保部")).to_contain_text("协办")

        # The heads of both departments record what they did.
        for key, unit, result in (
            ("lead_head", "生产技术部", "已完成全部厂区消防设施检查，整改隐患3处。"),
            ("other_head", "安全环保部", "已配合完成检查并复核整改情况。"),
        ):
            head = logged_in(key)
            head.goto(detail)
            item = head.locator("#handlings li", has_text=unit)
            item.locator("textarea[name=result]").fill(result)
            if key == "lead_head":
                shots(browser, head, "detail-handling")
            with head.expect_navigation():
                item.get_by_role("button", name="办理完毕").click()
            expect(head.locator("#handlings li", has_text=unit)).to_contain_text(result)

        # 传阅 to 郑晓, who reads it and comments.
        clerk.goto(detail)
        # With 办结 open to the clerk, 传阅 is folded away behind its heading.
        expect(clerk.locator("#circulate-readers")).to_be_hidden()
        clerk.click("#circulate-toggle")
        # Bootstrap's collapse animates (class "collapsing") before it is "collapse show": act
        # on the form once it has settled, not on a button that is still moving.
        expect(clerk.locator("#circulate-body")).to_have_class(re.compile(r"^collapse show$"))
        clerk.select_option("#circulate-readers", label="郑晓")
        with clerk.expect_navigation():
            clerk.click("#circulate-form button[type=submit]")
        expect(clerk.locator("#circulations")).to_contain_text("郑晓")
        expect(clerk.locator("#circulations")).to_contain_text("未阅")
        reader = logged_in("reader")
        reader.goto(f"{base}/documents/incoming/?box=reading")
        expect(reader.locator("#incoming-table")).to_contain_text(TITLE)
        reader.goto(detail)
        reader.fill("#comment", "已阅，班组将按要求自查。")
        with reader.expect_navigation():
            reader.click("#read-form button[type=submit]")
        expect(reader.locator("#circulations")).to_contain_text("已阅，班组将按要求自查。")
        expect(reader.locator("#read-form")).to_have_count(0)

        # 办结.
        clerk.goto(detail)
        clerk.fill("#conclude-result", "两部门均已办理完毕，检查结果已报集团。")
        with clerk.expect_navigation():
            clerk.click("#conclude-form button[type=submit]")
        expect(clerk.locator("#doc-state")).to_have_text("已办结")
        expect(clerk.locator("#events")).to_contain_text("办结")
        shots(browser, clerk, "detail-concluded")
        clerk.goto(f"{base}/documents/incoming/?box=done")
        shots(browser, clerk, "list-done")
        clerk.goto(f"{detail}print/")
        shots(browser, clerk, "print")

        # 归档 and 校验 on the archive pages.
        archivist = logged_in("archivist")
        archivist.goto(f"{base}/documents/archive/")
        waiting = archivist.locator(f"#archive-waiting li[data-incoming='{document.pk}']")
        expect(waiting).to_contain_text(TITLE)
        shots(browser, archivist, "archive-waiting")
        with archivist.expect_navigation():
            waiting.get_by_role("button", name="归档").click()
        code = archivist.locator("#archival-code")
        expect(code).to_have_text(re.compile(r"^X001-WS·\d{4}-D30-0001$"))
        with archivist.expect_navigation():
            archivist.click("#verify-item")
        expect(archivist.locator(".alert-success")).to_contain_text("校验通过")
        expect(archivist.locator(".doc-arc-meta")).to_contain_text("通过")
        shots(browser, archivist, "archive-item")
        archivist.goto(f"{base}/documents/archive/")
        expect(archivist.locator("#archive-items")).to_contain_text(TITLE)
        shots(browser, archivist, "archive-list")
        archivist.goto(f"{base}/documents/settings/")
        shots(browser, archivist, "settings-archivist")

        # The clerk's registers and settings.
        clerk.goto(f"{base}/documents/registers/?kind=incoming")
        expect(clerk.locator("main")).to_contain_text(TITLE)
        shots(browser, clerk, "registers-incoming")
        clerk.goto(f"{base}/documents/registers/")
        shots(browser, clerk, "registers-outgoing")
        clerk.goto(f"{base}/documents/settings/")
        shots(browser, clerk, "settings-clerk")
    finally:
        for page in pages:
            page.context.close()

    document.refresh_from_db()
    assert document.state == IncomingState.ARCHIVED
    item = ArchiveItem.objects.get(incoming=document)
    assert item.verified_ok is True


def test_r78_paper_registration_shows_errors_beside_the_fields(
    browser: Browser, live_server: Any, group: dict[str, Any]
) -> None:
    base = live_server.url
    page = open_page(browser, DESKTOP)
    try:
        log_in(page, base, group["clerk"].username, STRONG_PASSWORD)
        page.goto(f"{base}/documents/incoming/")
        with page.expect_navigation():
            page.click("#incoming-new")
        shots(browser, page, "new")

        with page.expect_navigation():
            page.click("#incoming-new-form button[type=submit]")
        expect(page.locator("#f-sender")).to_have_class(re.compile("is-invalid"))
        expect(page.locator("#f-sender + .invalid-feedback")).to_be_visible()
        expect(page.locator("#f-sender + .invalid-feedback")).to_contain_text("来文单位")

        page.fill("#f-sender", "江苏省应急管理厅")
        page.fill("#f-title", "关于做好岁末年初安全防范工作的通知")
        page.fill("#f-docno", "苏应急〔2026〕88号")
        with page.expect_navigation():
            page.click("#incoming-new-form button[type=submit]")
        scan_error = page.locator("#f-scan + .invalid-feedback")
        expect(scan_error).to_be_visible()
        expect(scan_error).to_contain_text("扫描件")
        # What was typed is still there.
        expect(page.locator("#f-title")).to_have_value("关于做好岁末年初安全防范工作的通知")
        shots(browser, page, "new-errors")

        page.set_input_files(
            "#f-scan", files=[{"name": "来文扫描.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(1)}]
        )
        with page.expect_navigation():
            page.click("#incoming-new-form button[type=submit]")
        expect(page.locator("#doc-state")).to_have_text("已登记")
        expect(page.locator("#handling-sheet")).to_contain_text("苏应急〔2026〕88号")
        expect(page.locator("#handling-sheet")).to_contain_text(RECV_NO)
        expect(page.locator("#scan-link")).to_be_visible()
        shots(browser, page, "paper-registered")
    finally:
        page.context.close()
    registered = IncomingDocument.objects.get(title="关于做好岁末年初安全防范工作的通知")
    assert registered.scan is not None
    assert registered.state == IncomingState.REGISTERED
