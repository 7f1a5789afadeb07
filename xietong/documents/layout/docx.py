"""GB/T 9704-2012 DOCX of a 公文 (python-docx), for offices that finish documents in Word/WPS.

Flow layout, not exact positions: the same page and margins as the PDF, a fixed 28.9 pt line
pitch (22 lines in the 225 mm 版心), fonts by name with the East Asian face set through
``w:eastAsia`` (the reader's machine supplies 仿宋_GB2312 and the others).
"""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph

from . import fonts
from .pdf import attachment_items, cc_text, cn_date, heading_role, heading_split, note_text
from .spec import JIYAO, MINGLING, XINHAN, DocumentLayout

LINE_PITCH = Pt(28.9)  # 225 mm / 22 lines (9704 §5.2.4)
CHAR = 15.79  # pt: 156 mm / 28 字
RED = RGBColor(0xE6, 0x00, 0x00)
RED_HEX = "E60000"
FACE = fonts.DOCX_FACES
LATIN = "Times New Roman"  # Arabic numerals of the 正文 (practice)

__all__ = ["render_docx"]


def _fonts(run_element: Any, face: str, latin: str | None = None) -> None:
    rpr = run_element.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    rfonts.set(qn("w:eastAsia"), face)
    rfonts.set(qn("w:ascii"), latin or face)
    rfonts.set(qn("w:hAnsi"), latin or face)


def _run(
    paragraph: Paragraph,
    text: str,
    role: str = fonts.FANGSONG,
    size: float = 16,
    color: RGBColor | None = None,
) -> None:
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.font.name = FACE[role]
    _fonts(run._r, FACE[role], LATIN if role == fonts.FANGSONG else None)
    if color is not None:
        run.font.color.rgb = color


def _para(doc: DocxDocument, align: WD_ALIGN_PARAGRAPH | None = None, exact: bool = True) -> Paragraph:
    paragraph = doc.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    if exact:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = LINE_PITCH
    if align is not None:
        paragraph.alignment = align
    return paragraph


def _border(paragraph: Paragraph, side: str, val: str, size_eighths: int, space_pt: int, color: str) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    edge = OxmlElement(f"w:{side}")
    edge.set(qn("w:val"), val)
    edge.set(qn("w:sz"), str(size_eighths))
    edge.set(qn("w:space"), str(space_pt))
    edge.set(qn("w:color"), color)
    borders.append(edge)


def _width(text: str) -> float:
    """Width in pt of 3号 text on the grid: half a 字 for ASCII, one 字 otherwise."""
    return sum(CHAR / 2 if ord(ch) < 0x2E80 and ch not in "“”‘’—…" else CHAR for ch in text)


def _blank(doc: DocxDocument, count: int = 1) -> None:
    for _ in range(count):
        _para(doc)


def _page_field(paragraph: Paragraph, size: float) -> None:
    _run(paragraph, "— ", fonts.SONG, size)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)
    _run(paragraph, " —", fonts.SONG, size)


def _footers(doc: DocxDocument, spec: DocumentLayout) -> None:
    """``— n —`` 4号宋: odd pages right, even pages left, 1 字 in (9704 §7.5)."""
    section = doc.sections[0]
    doc.settings.odd_and_even_pages_header_footer = True
    odd = section.footer.paragraphs[0]
    odd.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    odd.paragraph_format.right_indent = Pt(14)
    _page_field(odd, 14)
    even = section.even_page_footer.paragraphs[0]
    even.alignment = WD_ALIGN_PARAGRAPH.LEFT
    even.paragraph_format.left_indent = Pt(14)
    _page_field(even, 14)
    if spec.layout_kind == XINHAN:
        # §10.1: no number on the first page; the lower thin-over-thick red line 20 mm above
        # the paper bottom sits in the first-page footer.
        section.different_first_page_header_footer = True
        first = section.first_page_footer.paragraphs[0]
        _border(first, "top", "thinThickSmallGap", 24, 0, RED_HEX)
        first.paragraph_format.left_indent = Mm(-7)
        first.paragraph_format.right_indent = Mm(-7)


def _header(doc: DocxDocument, spec: DocumentLayout) -> None:
    front = [(spec.copy_no, fonts.FANGSONG), (spec.secret_mark, fonts.HEITI), (spec.urgency, fonts.HEITI)]
    used = 0
    for text, role in front:
        if text.strip():
            _run(_para(doc), text.strip(), role)
            used += 1
    mark = spec.issuer_mark.strip()
    cap = 36.0 if spec.layout_kind == XINHAN else 60.0
    size = min(cap, 156 * 72 / 25.4 / max(len(mark), 1))
    p = _para(doc, WD_ALIGN_PARAGRAPH.CENTER, exact=False)
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    p.paragraph_format.line_spacing = Pt(size * 1.1)
    offset = {MINGLING: 20.0, XINHAN: -7.0}.get(spec.layout_kind, 35.0)  # mm below the 版心 top
    p.paragraph_format.space_before = Mm(max(0.0, offset - used * 10.2))
    _run(p, mark, fonts.XIAOBIAOSONG, size, RED)
    if spec.layout_kind == XINHAN:
        _border(p, "bottom", "thickThinSmallGap", 24, 4, RED_HEX)
    number = spec.doc_no.strip()
    signers = [s.strip() for s in spec.signers if s.strip()]
    if spec.layout_kind != XINHAN:
        _blank(doc, 2)
    if spec.layout_kind == XINHAN:
        p = _para(doc, WD_ALIGN_PARAGRAPH.RIGHT)
        _run(p, number)
    elif signers:
        # 上行文: number 1 字 in on the left, 签发人 right-aligned 1 字 from the edge (§7.2.6).
        p = _para(doc)
        p.paragraph_format.left_indent = Pt(CHAR)
        p.paragraph_format.tab_stops.add_tab_stop(Mm(156) - Pt(2 * CHAR), WD_TAB_ALIGNMENT.RIGHT)
        _run(p, f"{number}\t签发人：")
        _run(p, "　".join(signers), fonts.KAITI)
    else:
        p = _para(doc, WD_ALIGN_PARAGRAPH.CENTER)
        _run(p, number)
    if spec.layout_kind not in (MINGLING, XINHAN):
        # The red separator 4 mm below the 发文字号, full 版心 width (§7.2.7).
        _border(p, "bottom", "single", 12, 11, RED_HEX)


def _body(doc: DocxDocument, spec: DocumentLayout) -> None:
    _blank(doc, 2)
    if spec.title.strip() and spec.layout_kind != MINGLING:
        p = _para(doc, WD_ALIGN_PARAGRAPH.CENTER)
        p.paragraph_format.line_spacing = Pt(36)
        _run(p, spec.title.strip(), fonts.XIAOBIAOSONG, 22)
        _blank(doc)
    if spec.main_recipients.strip():
        _run(_para(doc), spec.main_recipients.strip().rstrip("：:") + "：")
    for text in spec.paragraphs:
        text = text.strip()
        if not text:
            continue
        p = _para(doc, WD_ALIGN_PARAGRAPH.JUSTIFY)
        p.paragraph_format.first_line_indent = Pt(2 * CHAR)
        role = heading_role(text)
        if role is None:
            _run(p, text)
        else:
            head, rest = heading_split(text)
            _run(p, head, role)
            if rest:
                _run(p, rest)
    items = attachment_items(spec.attachments)
    if items:
        _blank(doc)
        label_w = 3 * CHAR
        for index, (prefix, name) in enumerate(items):
            p = _para(doc)
            # Wrapped lines and later items align after ``附件：`` (§7.3.4).
            p.paragraph_format.left_indent = Pt(2 * CHAR + label_w + _width(prefix))
            p.paragraph_format.first_line_indent = Pt(
                -(label_w + _width(prefix)) if index == 0 else -_width(prefix)
            )
            _run(p, ("附件：" if index == 0 else "") + prefix + name)
    for index, (label, names) in enumerate(spec.attendance):
        if index == 0:
            _blank(doc)
        p = _para(doc)
        head = label.strip().rstrip("：:") + "："
        p.paragraph_format.left_indent = Pt(2 * CHAR + _width(head))
        p.paragraph_format.first_line_indent = Pt(-_width(head))
        _run(p, head, fonts.HEITI)
        _run(p, names.strip())
    _signature(doc, spec)


def _signature(doc: DocxDocument, spec: DocumentLayout) -> None:
    """署名 and 成文日期 (§7.3.5): with a seal the date is 4 字 from the right and the 署名
    centred above it; without, the 署名 is 2 字 from the right and the date starts 2 字 in."""
    org = spec.signature_org.strip()
    date = cn_date(spec.date_written) if spec.date_written else ""
    if org or date:
        w_org, w_date = _width(org), _width(date)
        if spec.sealed or spec.layout_kind == MINGLING:
            _blank(doc, 2)
            org_right = 4 * CHAR + max(0.0, (w_date - w_org) / 2)
            date_right = 4 * CHAR
        else:
            _blank(doc)
            org_right = 2 * CHAR
            date_right = org_right + w_org - 2 * CHAR - w_date
            if date_right < 2 * CHAR:
                date_right = 2 * CHAR
                org_right = date_right + w_date + 2 * CHAR - w_org
        for text, right in ((org, org_right), (date, date_right)):
            if text:
                p = _para(doc, WD_ALIGN_PARAGRAPH.RIGHT)
                p.paragraph_format.right_indent = Pt(right)
                _run(p, text)
    note = note_text(spec.note)
    if note:
        p = _para(doc)
        p.paragraph_format.first_line_indent = Pt(2 * CHAR)
        _run(p, note)


def _cell_border(cell: Any, side: str, size_eighths: int) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    borders = tcpr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tcpr.append(borders)
    edge = OxmlElement(f"w:{side}")
    edge.set(qn("w:val"), "single" if size_eighths else "nil")
    edge.set(qn("w:sz"), str(size_eighths))
    edge.set(qn("w:space"), "0")
    edge.set(qn("w:color"), "000000")
    borders.append(edge)


def _colophon(doc: DocxDocument, spec: DocumentLayout) -> None:
    """版记 (§7.4): a one-column table whose borders are the lines, floated to the bottom of the
    版心 of the last page: thick (0.35 mm) / 抄送 / thin (0.25 mm) / 印发 / thick."""
    cc = cc_text(spec.cc)
    printed = spec.layout_kind != XINHAN and (spec.print_org.strip() or spec.print_date)
    rows: list[tuple[str, str]] = []
    if cc:
        rows.append(("抄送：" + cc, ""))
    if printed:
        rows.append((spec.print_org.strip(), cn_date(spec.print_date) + "印发" if spec.print_date else ""))
    if not rows:
        return
    lines = spec.layout_kind != XINHAN
    table = doc.add_table(rows=len(rows), cols=1)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    tblpr = table._tbl.tblPr
    position = OxmlElement("w:tblpPr")
    for key, value in (
        ("leftFromText", "0"),
        ("rightFromText", "0"),
        ("vertAnchor", "margin"),
        ("horzAnchor", "margin"),
        ("tblpXSpec", "center"),
        ("tblpYSpec", "bottom"),
    ):
        position.set(qn(f"w:{key}"), value)
    tblpr.append(position)
    for index, (left, right) in enumerate(rows):
        cell = table.rows[index].cells[0]
        cell.width = Mm(156)
        p = cell.paragraphs[0]
        fmt = p.paragraph_format
        fmt.space_before = Pt(0)
        fmt.space_after = Pt(0)
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = LINE_PITCH
        fmt.left_indent = Pt(14)
        fmt.right_indent = Pt(14)
        if left.startswith("抄送："):
            fmt.left_indent = Pt(14 + 3 * 14)
            fmt.first_line_indent = Pt(-3 * 14)
        _run(p, left, size=14)
        if right:
            fmt.tab_stops.add_tab_stop(Mm(156) - Pt(28), WD_TAB_ALIGNMENT.RIGHT)
            _run(p, "\t" + right, size=14)
        for side in ("left", "right"):
            _cell_border(cell, side, 0)
        if lines:
            top = 8 if index == 0 else 6  # 0.35 mm ≈ 1 pt, 0.25 mm ≈ 0.75 pt
            _cell_border(cell, "top", top)
            _cell_border(cell, "bottom", 8 if index == len(rows) - 1 else 6)
        else:
            _cell_border(cell, "top", 0)
            _cell_border(cell, "bottom", 0)


def render_docx(spec: DocumentLayout) -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.left_margin = Mm(37), Mm(28)  # 天头, 订口 (9704 §5.2.1)
    section.right_margin, section.bottom_margin = Mm(26), Mm(35)
    section.footer_distance = Mm(23)  # puts the 页码 about 7 mm below the 版心
    section.header_distance = Mm(15)
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), "578")  # twentieths of a point: 28.9 pt

    normal = doc.styles["Normal"]
    normal.font.size = Pt(16)
    normal.font.name = LATIN
    _fonts(normal.element, FACE[fonts.FANGSONG], LATIN)

    props = doc.core_properties
    props.title = spec.title
    props.subject = spec.doc_no
    props.author = spec.signature_org or spec.print_org or "Xietong"
    props.keywords = spec.layout_kind
    props.comments = "Xietong"

    # Document() starts with no body paragraphs; every element is appended in order.
    _header(doc, spec)
    _body(doc, spec)
    _colophon(doc, spec)
    _footers(doc, spec)
    if spec.layout_kind == JIYAO:
        props.category = "纪要"
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
