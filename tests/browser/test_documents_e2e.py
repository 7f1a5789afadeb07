"""R-78 end to end, all in the browser: 陈拟稿 of 财务部 drafts a 通知 with every required
element and one attachment and sends it, choosing 赵董事长 to sign; 刘主任 (财务部负责人) approves
the 核稿, 王文秘 (公文管理员) the 审核 and 赵董事长 the 签发 — each in a browser context of their
own, through the approvals pages. 王文秘 then does 复核 and 登记 on the document page, the
发文字号 appears, and the downloaded PDF carries the red 版头 with the 发文字号 above the red
separator line (GB/T 9704 §7.2). Screenshots go to /tmp/xt-shots.
"""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page
from tests.fixtures import grant_role, make_user, place
from xietong.documents import flows
from xietong.documents.models import IssuingOrgan, OutgoingDocument, OutgoingState
from xietong.org import builtin
from xietong.org.models import DataScope, Membership, OrgUnit

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.gettempdir()) / "xt-shots"
TITLE = "关于开展2026年冬季安全生产大检查的通知"
BODY = (
    "为切实做好冬季安全生产工作，防范各类事故发生，集团决定开展冬季安全生产大检查。现将有关事项通知如下。\n"
    "一、检查时间。2026年12月1日至12月20日。\n"
    "二、检查内容。重点检查消防设施、用电安全和冬季防寒防冻措施落实情况。\n"
    "请各单位于12月25日前将检查情况报集团综合办公室。"
)
DOC_NO = re.compile(r"协同办发〔\d{4}〕1号")


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(SHOTS / f"documents-{name}.png"), full_page=full_page, animations="disabled")


@pytest.fixture
def office(transactional_db: Any) -> dict[str, Any]:
    """协同集团 → 综合办公室, 财务部. 陈拟稿 (财务部) drafts; 刘主任 heads 财务部 (核稿);
    王文秘 of 综合办公室 is the 公文管理员 (审核, 复核, 登记); 赵董事长 heads the group (签发)."""
    units = OrgUnit.objects
    group = units.add_root(create_kwargs={"name": "协同集团", "code": "XT", "kind": OrgUnit.Kind.GROUP})
    general = units.add_child(units.get(pk=group.pk), create_kwargs={"name": "综合办公室", "code": "XT-ZH"})
    finance = units.add_child(units.get(pk=group.pk), create_kwargs={"name": "财务部", "code": "XT-CW"})
    group = units.get(pk=group.pk)
    people = {
        "drafter": make_user("chennigao", name="陈拟稿"),
        "head": make_user("liuzhuren", name="刘主任"),
        "clerk": make_user("wangwenmi", name="王文秘"),
        "leader": make_user("zhaodsz", name="赵董事长"),
    }
    place(people["drafter"], finance)
    Membership.objects.create(user=people["head"], unit=finance, is_head=True, is_primary=True)
    place(people["clerk"], general)
    grant_role(people["clerk"], builtin.DOCUMENT_CLERK, scope=DataScope.COMPANY)
    Membership.objects.create(user=people["leader"], unit=group, is_head=True, is_primary=True)
    # The flush of a transactional test removed what the migrations installed.
    flows.ensure_flows()
    IssuingOrgan.objects.create(
        unit=group,
        code="协同办发",
        name="协同集团有限公司",
        mark="协同集团有限公司文件",
        print_org="协同集团有限公司办公室",
    )
    return people


def approve(page: Page, link: str, opinion: str) -> None:
    page.goto(link)
    expect(page.locator("#task-panel")).to_be_visible()
    page.fill("#opinion", opinion)
    with page.expect_navigation():
        page.click("#approve-button")
    expect(page.get_by_role("alert").first).to_contain_text("已同意")


def red_pixels(image: Any, box: tuple[int, int, int, int]) -> int:
    """How many pixels inside ``box`` (left, top, right, bottom) are a clear red."""
    region = image.convert("RGB").crop(box)
    raw = region.tobytes()
    pixels = zip(raw[0::3], raw[1::3], raw[2::3], strict=True)
    return sum(1 for r, g, b in pixels if r > 180 and g < 80 and b < 80)


def test_r78_draft_sign_register_and_download_the_pdf(
    browser: Browser, live_server: Any, office: dict[str, Any]
) -> None:
    import pdfplumber
    import pypdfium2  # type: ignore[import-untyped]

    base = live_server.url
    pages: list[Page] = []

    def logged_in(username: str, viewport: dict[str, int] = DESKTOP) -> Page:
        page = open_page(browser, viewport)
        page.set_default_navigation_timeout(60_000)  # the first page of a busy server
        pages.append(page)
        log_in(page, base, username, STRONG_PASSWORD)
        return page

    try:
        # 1. 陈拟稿 drafts the 通知 through the form.
        drafter = logged_in("chennigao")
        drafter.goto(f"{base}/documents/")
        with drafter.expect_navigation():
            drafter.click("#new-outgoing")
        expect(drafter.locator("h1")).to_contain_text("起草发文")
        expect(drafter.locator("#id_doc_type option:checked")).to_have_text("通知")
        drafter.select_option("#id_organ", label="协同集团有限公司（协同办发）")
        drafter.select_option("#id_doc_type", label="通知")
        # The hint asks for the 文种 at the end of the 标题 while it is missing.
        drafter.fill("#id_title", "关于开展冬季安全生产大检查")
        expect(drafter.locator("#title-hint")).to_be_visible()
        expect(drafter.locator("#title-hint")).to_contain_text("通知")
        drafter.fill("#id_title", TITLE)
        expect(drafter.locator("#title-hint")).to_be_hidden()
        drafter.fill("#id_main_recipients", "集团各部门、各分公司")
        drafter.fill("#id_body", BODY)
        drafter.fill("[name=new_attachment_title]", "冬季安全生产检查表")
        drafter.set_input_files(
            "[name=new_attachment]",
            files=FilePayload(
                name="检查表.txt",
                mimeType="text/plain",
                buffer="序号,检查项目,责任人\n1,消防设施,\n".encode(),
            ),
        )
        shot(drafter, "form")
        with drafter.expect_navigation():
            drafter.click("#outgoing-form button[type=submit]")
        expect(drafter.get_by_role("alert").first).to_contain_text("草稿已保存")
        expect(drafter.locator("#doc-title")).to_have_text(TITLE)
        expect(drafter.locator("#doc-state")).to_have_text("起草")
        expect(drafter.locator("#attachment-note")).to_contain_text("附件：冬季安全生产检查表")
        document = OutgoingDocument.objects.get()
        assert document.attachments.count() == 1

        # 送审, choosing the 签发人.
        drafter.select_option("#signer", label="赵董事长")
        with drafter.expect_navigation():
            drafter.click("#submit-form button")
        expect(drafter.get_by_role("alert").first).to_contain_text("已送审")
        expect(drafter.locator("#doc-state")).to_have_text("审批中")
        document.refresh_from_db()
        assert document.state == OutgoingState.REVIEWING
        assert document.instance_id is not None
        link = f"{base}/workflow/instances/{document.instance_id}/"

        # 2. 核稿, 审核, 签发 — three people, three browsers, through the approvals pages.
        head = logged_in("liuzhuren")
        head.goto(f"{base}/workflow/")
        row = head.locator(f"#inbox-list [data-instance-id='{document.instance_id}']")
        expect(row).to_contain_text("核稿")
        with head.expect_navigation():
            row.locator("a.xt-wf-title").click()
        expect(head.locator("#task-panel")).to_be_visible()
        shot(head, "review-task")
        # The 核稿 reads the whole text on the document's own page, one click away.
        with head.expect_navigation():
            head.click("#related-link")
        assert urlparse(head.url).path == f"/documents/outgoing/{document.pk}/"
        expect(head.locator("#body")).to_contain_text("冬季防寒防冻措施")
        expect(head.locator("#body p")).to_have_count(5)  # 主送 and four paragraphs
        head.go_back()
        expect(head.locator("#task-panel")).to_be_visible()
        head.fill("#opinion", "内容属实，同意。")
        with head.expect_navigation():
            head.click("#approve-button")
        expect(head.get_by_role("alert").first).to_contain_text("已同意")
        expect(head.locator("#instance-current")).to_contain_text("审核")

        clerk = logged_in("wangwenmi")
        approve(clerk, link, "文字已审核，格式符合要求。")
        expect(clerk.locator("#instance-current")).to_contain_text("赵董事长")

        leader = logged_in("zhaodsz")
        approve(leader, link, "同意印发。")

        # The approval's end signs the document: 赵董事长's opinion is on its page.
        drafter.goto(f"{base}/documents/outgoing/{document.pk}/")
        expect(drafter.locator("#doc-state")).to_have_text("已签发")
        expect(drafter.locator("#elements")).to_contain_text("赵董事长：同意印发。")
        expect(drafter.locator("#events")).to_contain_text("核稿")
        expect(drafter.locator("#events")).to_contain_text("签发")

        # 3. 王文秘 finds it among the 公文 to-dos, 复核 and 登记 it.
        clerk.goto(f"{base}/documents/")
        todo = clerk.locator("#office-todos")
        expect(todo).to_contain_text(TITLE)
        with clerk.expect_navigation():
            todo.get_by_role("link", name=TITLE).click()
        expect(clerk.locator("#recheck-form")).to_be_visible()
        shot(clerk, "detail-signed")
        # On a desktop the actions stand beside the text.
        actions_box = clerk.locator("#actions").bounding_box()
        body_box = clerk.locator("#body").bounding_box()
        assert actions_box is not None
        assert body_box is not None
        assert actions_box["x"] > body_box["x"] + body_box["width"] - 1
        # 复核 with a correction of form only (附注): the document is 已复核 at once; the page
        # warns of 复审 only while an element of substance differs.
        with clerk.expect_navigation():
            clerk.click("#recheck-edit")
        expect(clerk.locator("h1")).to_contain_text("修改后复核")
        expect(clerk.locator("#recheck-notice")).to_contain_text("赵董事长")
        expect(clerk.locator("label[for=id_title] .doc-out-substantive")).to_be_visible()
        expect(clerk.locator("#resign-warning")).to_be_hidden()
        clerk.fill("#id_title", TITLE + "补充")
        expect(clerk.locator("#resign-warning")).to_be_visible()
        clerk.fill("#id_title", TITLE)
        expect(clerk.locator("#resign-warning")).to_be_hidden()
        clerk.fill("#id_note", "此件公开发布")
        # A change without its 修改说明 is refused beside the field.
        with clerk.expect_navigation():
            clerk.click("#outgoing-form button[type=submit]")
        expect(clerk.locator('[data-field="reason"]')).to_be_visible()
        expect(clerk.locator("#id_note")).to_have_value("此件公开发布")
        clerk.fill("#id_reason", "要素齐全，补充附注。")
        shot(clerk, "recheck-edit")
        with clerk.expect_navigation():
            clerk.click("#outgoing-form button[type=submit]")
        expect(clerk.get_by_role("alert").first).to_contain_text("复核完成")
        expect(clerk.locator("#doc-state")).to_have_text("已复核")
        expect(clerk.locator("#elements")).to_contain_text("此件公开发布")
        expect(clerk.locator("#versions")).to_contain_text("附注")
        document.refresh_from_db()
        assert document.note == "此件公开发布"
        assert document.versions.get(number=1).body == document.body  # the 正文 sent back unchanged
        clerk.fill("#copies", "30")
        with clerk.expect_navigation():
            clerk.click("#register-form button")
        expect(clerk.get_by_role("alert").first).to_contain_text("已登记编号")
        expect(clerk.locator("#doc-state")).to_have_text("已登记")
        expect(clerk.locator("#doc-no")).to_have_text(DOC_NO)
        doc_no = clerk.locator("#doc-no").inner_text().strip()
        expect(clerk.locator("#elements")).to_contain_text("30")
        shot(clerk, "detail-registered")

        # 4. The 正本 PDF.
        with clerk.expect_download() as download_info:
            clerk.click("#pdf-download")
        download = download_info.value
        data = Path(download.path()).read_bytes()
        # Named after the 发文字号 (Chromium only keeps the Chinese name where the system
        # locale can spell it, so the header is what is checked).
        headers = clerk.context.request.get(download.url).headers
        assert quote(f"{doc_no}.pdf", safe="") in headers["content-disposition"]
        assert data.startswith(b"%PDF")

        pdf = pypdfium2.PdfDocument(data)
        first = pdf[0]
        width_pt, height_pt = first.get_size()
        scale = 2.0
        image = first.render(scale=scale).to_pil()
        SHOTS.mkdir(parents=True, exist_ok=True)
        image.save(SHOTS / "documents-pdf-page1.png")
        width, height = image.size
        # The 版头 (9704 §7.2): the red 发文机关标志 and the red line, in the upper part of the page.
        band = int(height * 0.45)
        header = red_pixels(image, (0, 0, width, band))
        assert header > 5000, header
        # The rest of page 1 is black text on white: no red there without a seal.
        assert red_pixels(image, (0, band, width, height)) < header // 10

        with pdfplumber.open(io.BytesIO(data)) as plumber:
            page1 = plumber.pages[0]
            text = page1.extract_text() or ""
            assert doc_no in text.replace(" ", "")
            assert "通知" in text
            red_lines = [
                line
                for line in page1.lines + page1.rects
                if _is_red(line.get("stroking_color")) or _is_red(line.get("non_stroking_color"))
            ]
            assert red_lines, "no red separator line on page 1"
            separator_top = min(line["top"] for line in red_lines if line["width"] > width_pt / 2)
            chars = [char for char in page1.chars if char["text"] in doc_no]
            number_line = _line_holding(chars, doc_no)
            assert number_line is not None, "the 发文字号 is not set on one line of page 1"
            assert number_line < separator_top < height_pt * 0.45

        # 5. The document page on a phone.
        phone = logged_in("wangwenmi", PHONE)
        phone.goto(f"{base}/documents/outgoing/{document.pk}/")
        expect(phone.locator("#doc-no")).to_have_text(doc_no)
        # On a phone the 办理 card comes before the text, the record after it.
        expect(phone.locator("#actions")).to_be_in_viewport()
        tops = {
            name: box["y"]
            for name in ("actions", "elements", "body", "events")
            if (box := phone.locator(f"#{name}").bounding_box()) is not None
        }
        assert tops["actions"] < tops["elements"] < tops["body"] < tops["events"], tops
        shot(phone, "detail-phone")
        shot(phone, "detail-phone-top", full_page=False)
        phone.goto(f"{base}/documents/outgoing/")
        expect(phone.locator(".doc-out-cards")).to_contain_text(TITLE)
        shot(phone, "list-phone")
        phone.goto(f"{base}/documents/outgoing/new/")
        expect(phone.locator("#outgoing-form")).to_be_visible()
        shot(phone, "form-phone")
        clerk.goto(f"{base}/documents/outgoing/")
        expect(clerk.locator("#outgoing-table")).to_contain_text(doc_no)
        shot(clerk, "list")

        document.refresh_from_db()
        assert document.state == OutgoingState.REGISTERED
        assert document.doc_no == doc_no
        assert document.copies == 30
        assert [entry["name"] for entry in document.signers] == ["赵董事长"]
    finally:
        for page in pages:
            page.context.close()


def _is_red(colour: Any) -> bool:
    if not isinstance(colour, list | tuple) or len(colour) != 3:
        return False
    r, g, b = (float(part) for part in colour)
    return r > 0.7 and g < 0.3 and b < 0.3


def _line_holding(chars: list[dict[str, Any]], text: str) -> float | None:
    """The bottom of the text line whose characters, left to right, spell ``text``."""
    rows: dict[int, list[dict[str, Any]]] = {}
    for char in chars:
        rows.setdefault(round(char["bottom"]), []).append(char)
    for bottom, row in rows.items():
        if "".join(char["text"] for char in sorted(row, key=lambda c: c["x0"])).find(text) >= 0:
            return float(bottom)
    return None
