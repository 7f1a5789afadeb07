"""The printed form of a 公文 (GB/T 9704-2012): PDF and DOCX from a :class:`DocumentLayout`.

Also turns the sanitised rich text of a 正文 into the plain paragraphs the layout sets.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from .spec import DocumentLayout

__all__ = ["DocumentLayout", "paragraphs_from_html", "render_docx", "render_pdf"]

_BLOCKS = {
    "p",
    "div",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "tr",
    "section",
    "article",
    "ul",
    "ol",
    "table",
}
_SKIP = {"script", "style", "template", "head", "title"}
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0]+")
# Trimmed at both ends: the layout indents paragraphs itself (9704 §7.3.3), so typed
# full-width indent spaces would double it.
_TRIM = " \t\r\n\f\v\u00a0\u3000"


class _Paragraphs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.current: list[str] = []
        self.skipping = 0

    def _flush(self) -> None:
        text = _SPACE.sub(" ", "".join(self.current)).strip(_TRIM)
        if text:
            self.paragraphs.append(text)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "br" or tag in _BLOCKS:
            self._flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag in _BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.current.append(data)


def paragraphs_from_html(html: str) -> tuple[str, ...]:
    """Plain paragraphs of sanitised rich text: one per block element (p, div, li, h1–h6 …),
    ``<br>`` splits, entities decoded, blank ones dropped."""
    parser = _Paragraphs()
    parser.feed(html or "")
    parser.close()
    parser._flush()
    return tuple(parser.paragraphs)


def render_pdf(spec: DocumentLayout) -> bytes:
    from .pdf import render_pdf as _render

    return _render(spec)


def render_docx(spec: DocumentLayout) -> bytes:
    from .docx import render_docx as _render

    return _render(spec)
