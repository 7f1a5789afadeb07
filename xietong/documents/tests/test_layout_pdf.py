"""GB/T 9704 PDF layout, measured on the rendered page (pdfplumber positions, pypdfium2 pixels)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import itertools
from typing import Any

import pdfplumber
import pypdfium2  # type: ignore[import-untyped]
import pytest

from xietong.documents.layout import fonts, paragraphs_from_html, render_pdf
from xietong.documents.layout.spec import JIYAO, WENJIAN, XINHAN, DocumentLayout

MM = 72 / 25.4
PAGE_W, PAGE_H = 210 * MM, 297 * MM
TOP = 37 * MM  # 版心 top, from the paper top (pdfplumber's y axis)
BOTTOM = TOP + 225 * MM
X0, X1 = 28 * MM, 184 * MM
LINE = 225 * MM / 22

BODY = [
    "为进一步规范集团公文处理工作，提高公文质量和办文效率，根据《党政机关公文处理工作条例》，结合集团实际，现就有关事项通知如下。",
    "一、总体要求。各单位要高度重视公文处理工作，明确责任分工，确保公文处理及时、准确、安全。",
    "（一）严格执行公文格式标准。公文的版式、字体、字号、行距应当符合国家标准。",
] + [
    f"第{i}项工作安排：各部门应于规定时限内完成本部门公文的清理、核对和归档工作，并将结果报集团办公室备案，逾期未报的将予以通报。"
    for i in range(1, 12)
]

NOTICE = DocumentLayout(
    layout_kind=WENJIAN,
    issuer_mark="协同集团有限公司文件",
    title="协同集团有限公司关于进一步规范公文处理工作的通知",
    paragraphs=tuple(BODY),
    doc_no="协同办发〔2026〕12号",
    copy_no="000123",
    secret_mark="内部★1年",
    urgency="加急",
    main_recipients="集团各部门，各子公司",
    attachments=("公文格式样例", "公文处理工作联系人名单"),
    signature_org="协同集团有限公司",
    date_written=dt.date(2026, 11, 29),
    sealed=True,
    note="此件发至各子公司",
    cc="集团党委，集团纪委",
    print_org="协同集团有限公司办公室",
    print_date=dt.date(2026, 11, 30),
)
REQUEST = dataclasses.replace(
    NOTICE,
    title="协同集团有限公司关于申请办公楼维修经费的请示",
    signers=("张三", "李四"),
    main_recipients="集团公司",
    paragraphs=tuple(BODY[:2]),
    attachments=(),
    copy_no="",
    secret_mark="",
    urgency="",
    sealed=False,
)
LETTER = dataclasses.replace(
    NOTICE,
    layout_kind=XINHAN,
    issuer_mark="协同集团有限公司办公室",
    doc_no="协同办函〔2026〕3号",
    title="关于商请协助开展公文培训的函",
    paragraphs=tuple(BODY[:2]),
    attachments=(),
    copy_no="",
    secret_mark="",
    urgency="",
)
MINUTES = dataclasses.replace(
    NOTICE,
    layout_kind=JIYAO,
    issuer_mark="协同集团有限公司办公会议纪要",
    doc_no="〔2026〕5号",
    title="2026年第5次总经理办公会议纪要",
    paragraphs=tuple(BODY[:2]),
    attachments=(),
    sealed=False,
    signature_org="",
    date_written=None,
    note="",
    attendance=(
        ("出席", "张三，李四，王五，赵六，钱七，孙八，周九，吴十，郑十一，王十二，冯十三，陈十四"),
        ("请假", "蒋十七"),
    ),
)


def _red(color: object) -> bool:
    values = tuple(color) if isinstance(color, (tuple, list)) else ()
    return len(values) == 3 and values[0] > 0.7 and values[1] < 0.3 and values[2] < 0.3


def _open(spec: DocumentLayout) -> pdfplumber.pdf.PDF:
    return pdfplumber.open(io.BytesIO(render_pdf(spec)))


def _lines_of(page: pdfplumber.page.Page) -> list[dict[str, Any]]:
    found = [*page.lines]
    found += [r for r in page.rects if r["height"] < 2 * MM]
    return found


def _text_line(page: pdfplumber.page.Page, needle: str) -> list[dict[str, Any]]:
    for line in page.extract_text_lines():
        if needle in line["text"]:
            return [line]
    return []


@pytest.fixture(scope="module")
def notice() -> pdfplumber.pdf.PDF:
    return _open(NOTICE)


def test_fonts_resolve_to_embeddable_faces() -> None:
    resolved = fonts.resolved_fonts()
    assert set(resolved) == set(fonts.ROLES)
    for face in resolved.values():
        assert face.name
        assert face.source in {"licensed", "free", "builtin"}


def test_page_is_a4_and_metadata(notice: pdfplumber.pdf.PDF) -> None:
    assert len(notice.pages) >= 3  # 2+ pages of 正文, then the signature and 版记
    for page in notice.pages:
        assert page.width == pytest.approx(PAGE_W, abs=0.5)
        assert page.height == pytest.approx(PAGE_H, abs=0.5)
    assert notice.metadata["Title"] == NOTICE.title
    assert notice.metadata["Subject"] == NOTICE.doc_no
    assert notice.metadata["Creator"] == "Xietong"


def test_r78_issuer_mark_red_centred_35mm_below_top(notice: pdfplumber.pdf.PDF) -> None:
    page = notice.pages[0]
    mark = [c for c in page.chars if c["text"] in NOTICE.issuer_mark and c["size"] > 30]
    assert "".join(c["text"] for c in mark) == NOTICE.issuer_mark
    assert all(_red(c["non_stroking_color"]) for c in mark)
    top = min(c["top"] for c in mark)
    assert abs(top - (TOP + 35 * MM)) <= 1.5 * MM
    left, right = min(c["x0"] for c in mark), max(c["x1"] for c in mark)
    assert left >= X0 - 0.5
    assert right <= X1 + 0.5
    assert abs((left + right) / 2 - (X0 + X1) / 2) < 1 * MM


def test_r78_doc_no_centred_and_red_separator_4mm_below(notice: pdfplumber.pdf.PDF) -> None:
    page = notice.pages[0]
    (number,) = _text_line(page, "协同办发〔2026〕12号")
    assert abs((number["x0"] + number["x1"]) / 2 - (X0 + X1) / 2) < 1 * MM
    red = [ln for ln in _lines_of(page) if _red(ln.get("stroking_color")) and ln["x1"] - ln["x0"] > 150 * MM]
    assert len(red) == 1
    line = red[0]
    assert line["x0"] == pytest.approx(X0, abs=0.5)
    assert line["x1"] == pytest.approx(X1, abs=0.5)
    assert (line["top"] + line["bottom"]) / 2 - number["bottom"] == pytest.approx(4 * MM, abs=1 * MM)


def test_body_text_stays_inside_the_type_area(notice: pdfplumber.pdf.PDF) -> None:
    for page in notice.pages:
        for char in page.chars:
            if char["text"].strip() and char["top"] < BOTTOM:
                assert char["x0"] >= X0 - 0.5, char["text"]
                assert char["x1"] <= X1 + 0.5, char["text"]
                assert char["top"] >= TOP - 0.5


def test_full_page_has_22_lines_on_the_grid(notice: pdfplumber.pdf.PDF) -> None:
    page = notice.pages[1]
    baselines = sorted({round(c["bottom"], 1) for c in page.chars if c["top"] < BOTTOM})
    assert len(baselines) == 22
    steps = [b - a for a, b in itertools.pairwise(baselines)]
    assert all(step == pytest.approx(LINE, abs=0.3) for step in steps)


def test_page_numbers_odd_right_even_left(notice: pdfplumber.pdf.PDF) -> None:
    one = _text_line(notice.pages[0], "— 1 —")[0]
    two = _text_line(notice.pages[1], "— 2 —")[0]
    assert one["top"] == pytest.approx(BOTTOM + 7 * MM, abs=1 * MM)
    assert one["x1"] == pytest.approx(X1 - 14, abs=1)
    assert two["x0"] == pytest.approx(X0 + 14, abs=1)


def test_r78_colophon_lines_at_the_bottom_of_the_last_page(notice: pdfplumber.pdf.PDF) -> None:
    page = notice.pages[-1]
    black = [
        ln for ln in _lines_of(page) if not _red(ln.get("stroking_color")) and ln["x1"] - ln["x0"] > 150 * MM
    ]
    assert len(black) == 3
    lowest = max(black, key=lambda ln: ln["bottom"])
    assert lowest["bottom"] == pytest.approx(BOTTOM, abs=0.5)
    widths = sorted(round(ln.get("linewidth", 0) / MM, 2) for ln in black)
    assert widths == [0.25, 0.35, 0.35]
    text = page.extract_text()
    assert "抄送：集团党委，集团纪委。" in text
    assert "协同集团有限公司办公室" in text
    assert "2026年11月30日印发" in text
    assert "附件：1.公文格式样例" in "".join(p.extract_text() for p in notice.pages).replace("\n", "")


def test_r78_seal_and_date(notice: pdfplumber.pdf.PDF) -> None:
    text = "".join(p.extract_text() for p in notice.pages)
    assert "2026年11月29日" in text
    assert "（此件发至各子公司）" in text
    page = next(p for p in notice.pages if "2026年11月29日" in p.extract_text())
    (date,) = _text_line(page, "2026年11月29日")
    assert date["x1"] == pytest.approx(X1 - 4 * 156 * MM / 28, abs=1)
    red_curves = [
        c for c in page.curves if _red(c.get("stroking_color")) or _red(c.get("non_stroking_color"))
    ]
    assert red_curves  # the seal ring and star


def test_r78_upward_document_has_signer_line() -> None:
    with _open(REQUEST) as pdf:
        page = pdf.pages[0]
        (line,) = _text_line(page, "签发人：")
        assert "协同办发〔2026〕12号" in line["text"]
        assert "张三" in line["text"]
        assert line["x0"] == pytest.approx(X0 + 156 * MM / 28, abs=1)  # number 1 字 in
        assert line["x1"] == pytest.approx(X1 - 156 * MM / 28, abs=1.5)  # names 1 字 from the edge
        names = [c for c in page.chars if c["text"] in "张三李四" and c["top"] < line["bottom"]]
        assert {c["fontname"] for c in names}
        assert all(c["fontname"] == names[0]["fontname"] for c in names)
        assert "（联系人" not in page.extract_text()


def test_r78_letter_format_double_lines_and_no_number_on_page_1() -> None:
    with _open(LETTER) as pdf:
        page = pdf.pages[0]
        mark = [c for c in page.chars if _red(c["non_stroking_color"])]
        assert min(c["top"] for c in mark) == pytest.approx(30 * MM, abs=1.5 * MM)
        red = sorted(
            (ln for ln in _lines_of(page) if _red(ln.get("stroking_color"))), key=lambda ln: ln["top"]
        )
        assert len(red) == 4
        for ln in red:
            assert ln["x1"] - ln["x0"] == pytest.approx(170 * MM, abs=1)
        upper, lower = red[:2], red[2:]
        assert upper[0]["linewidth"] > upper[1]["linewidth"]  # thick over thin
        assert lower[0]["linewidth"] < lower[1]["linewidth"]  # thin over thick
        assert PAGE_H - lower[1]["top"] == pytest.approx(20 * MM, abs=1.5 * MM)
        (number,) = _text_line(page, "协同办函〔2026〕3号")
        assert number["x1"] == pytest.approx(X1, abs=1)
        assert "— 1 —" not in page.extract_text()
        last = pdf.pages[-1].extract_text()
        assert "印发" not in last


def test_r78_minutes_attendance_labels() -> None:
    with _open(MINUTES) as pdf:
        page = pdf.pages[0]
        mark = [c for c in page.chars if _red(c["non_stroking_color"])]
        assert "".join(c["text"] for c in mark) == MINUTES.issuer_mark
        text = "".join(p.extract_text() for p in pdf.pages)
        assert "出席：张三" in text.replace(" ", "")
        assert "请假：蒋十七" in text.replace(" ", "")
        for p in pdf.pages:
            found = _text_line(p, "出席：")
            if not found:
                continue
            line = found[0]
            heads = [c for c in p.chars if c["text"] in "出席" and abs(c["top"] - line["top"]) < 2]
            names = [c for c in p.chars if c["text"] == "张" and abs(c["top"] - line["top"]) < 2]
            assert heads[0]["fontname"] != names[0]["fontname"]  # 黑体 label, 仿宋 names
            later = [c for c in p.chars if c["top"] > line["bottom"] + 1 and c["top"] < line["bottom"] + LINE]
            if later:
                assert min(c["x0"] for c in later) == pytest.approx(
                    names[0]["x0"], abs=1
                )  # aligned after colon


def test_page_one_pixels_red_header_and_none_below_but_the_seal() -> None:
    data = render_pdf(dataclasses.replace(NOTICE, paragraphs=tuple(BODY[:1]), attachments=()))
    page = pypdfium2.PdfDocument(data)[0]
    scale = 2
    image = page.render(scale=scale).to_pil().convert("RGB")
    image.save("/tmp/xt-layout-page1.png")  # noqa: S108 - a fixed path to look at the page by eye
    px = image.load()
    w, h = image.size
    per_mm = scale * MM

    def red_rows(y0: float, y1: float, x0: float = 0, x1: float = 210) -> int:
        count = 0
        for y in range(int(y0 * per_mm), min(h, int(y1 * per_mm)), 2):
            for x in range(int(x0 * per_mm), min(w, int(x1 * per_mm)), 2):
                r, g, b = px[x, y]
                if r > 180 and g < 80 and b < 80:
                    count += 1
        return count

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        plumbed = pdf.pages[0]
        separator = next(ln for ln in _lines_of(plumbed) if _red(ln.get("stroking_color")))
        sep_mm = separator["bottom"] / MM
        (date,) = _text_line(plumbed, "2026年11月29日")
        seal_top = date["top"] / MM - 40
    assert red_rows(37 + 30, sep_mm) > 500
    assert red_rows(sep_mm + 2, seal_top) == 0
    assert red_rows(seal_top, seal_top + 50) > 100


def test_paragraphs_from_html() -> None:
    html = (
        "<p>第一段&nbsp;内容&amp;说明</p><div>第二段<br>第三段</div><ul><li>一、事项</li></ul>"
        "<p>  </p><h2>标题&lt;二&gt;</h2><script>x()</script><p>　　带缩进</p>"
    )
    assert paragraphs_from_html(html) == (
        "第一段 内容&说明",
        "第二段",
        "第三段",
        "一、事项",
        "标题<二>",
        "带缩进",
    )
    assert paragraphs_from_html("") == ()
