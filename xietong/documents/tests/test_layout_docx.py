"""GB/T 9704 DOCX layout, read back with python-docx."""

from __future__ import annotations

import io
import re

from docx import Document
from docx.document import Document as DocxDocument
from docx.shared import Mm, Pt

from xietong.documents.layout import render_docx
from xietong.documents.layout.spec import DocumentLayout
from xietong.documents.tests.test_layout_pdf import LETTER, NOTICE, REQUEST


def _east_asia(element: object) -> str:
    xml = getattr(element, "xml", "")
    found = re.search(r'w:eastAsia="([^"]+)"', xml)
    return found.group(1) if found else ""


def _open(spec: DocumentLayout) -> DocxDocument:
    return Document(io.BytesIO(render_docx(spec)))


def test_page_size_and_margins() -> None:
    doc = _open(NOTICE)
    section = doc.sections[0]
    assert abs((section.page_width or 0) - Mm(210)) < Mm(0.5)
    assert abs((section.page_height or 0) - Mm(297)) < Mm(0.5)
    assert abs((section.top_margin or 0) - Mm(37)) < Mm(0.5)
    assert abs((section.left_margin or 0) - Mm(28)) < Mm(0.5)
    assert abs((section.right_margin or 0) - Mm(26)) < Mm(0.5)
    assert abs((section.bottom_margin or 0) - Mm(35)) < Mm(0.5)
    assert doc.core_properties.title == NOTICE.title
    assert doc.core_properties.subject == NOTICE.doc_no


def test_r78_red_mark_title_and_separator() -> None:
    doc = _open(NOTICE)
    runs = [r for p in doc.paragraphs for r in p.runs]
    mark = [r for r in runs if r.text == NOTICE.issuer_mark]
    assert mark
    assert mark[0].font.color.rgb is not None
    assert str(mark[0].font.color.rgb) == "E60000"
    assert _east_asia(mark[0]._r) == "方正小标宋简体"
    title = [r for r in runs if r.text == NOTICE.title]
    assert title
    assert title[0].font.size == Pt(22)
    number = next(p for p in doc.paragraphs if p.text == NOTICE.doc_no)
    border = number._p.xml
    assert 'w:color="E60000"' in border
    assert "w:pBdr" in border
    body = next(p for p in doc.paragraphs if p.text.startswith("为进一步"))
    assert body.paragraph_format.first_line_indent is not None
    assert body.paragraph_format.first_line_indent > Pt(30)
    assert _east_asia(body.runs[0]._r) == "仿宋_GB2312"
    texts = [p.text for p in doc.paragraphs]
    assert "附件：1.公文格式样例" in texts
    assert "2.公文处理工作联系人名单" in texts
    assert "集团各部门，各子公司：" in texts
    assert "2026年11月29日" in texts


def test_odd_and_even_footers() -> None:
    doc = _open(NOTICE)
    assert doc.settings.odd_and_even_pages_header_footer
    section = doc.sections[0]
    odd, even = section.footer.paragraphs[0], section.even_page_footer.paragraphs[0]
    assert "PAGE" in odd._p.xml
    assert "PAGE" in even._p.xml
    assert odd.alignment == 2
    assert even.alignment == 0


def test_r78_colophon_text() -> None:
    doc = _open(NOTICE)
    (table,) = doc.tables
    cells = [c.text for row in table.rows for c in row.cells]
    assert cells[0] == "抄送：集团党委，集团纪委。"
    assert cells[1] == "协同集团有限公司办公室\t2026年11月30日印发"
    assert "tblpPr" in table._tbl.xml  # floated to the bottom of the 版心


def test_r78_upward_signers_and_letter() -> None:
    doc = _open(REQUEST)
    assert any("签发人：" in p.text and "张三" in p.text for p in doc.paragraphs)
    letter = _open(LETTER)
    assert letter.sections[0].different_first_page_header_footer
    assert not letter.tables or "印发" not in letter.tables[0]._tbl.xml
