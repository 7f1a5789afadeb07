"""Rich text written by users (articles, notices): sanitised with an allow-list before it is
stored, so that what is shown later is exactly what was checked.

nh3 (the Rust ammonia library) keeps the tags and attributes below and drops everything else —
scripts, event handlers, styles, ``javascript:`` links, foreign frames. Links open in a new tab
with ``rel="noopener noreferrer"``; images may only come from the platform itself (relative
URLs), since an intranet page must not fetch anything from outside (R-89).
"""

from __future__ import annotations

import html
import re

import nh3

TAGS = frozenset(
    {
        "p", "br", "hr", "h2", "h3", "h4", "strong", "b", "em", "i", "u", "s", "sub", "sup",
        "blockquote", "pre", "code", "ul", "ol", "li", "a", "img", "span",
        "table", "thead", "tbody", "tr", "th", "td", "caption", "figure", "figcaption",
    }
)  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title", "target"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.-]*:|^//", re.IGNORECASE)
_BLOCK_END = re.compile(r"</(p|li|h[2-4]|tr|blockquote|pre|figcaption|caption)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\u3000\xa0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and _ABSOLUTE.match(value.strip()):
        return None
    if tag == "a" and attribute == "target":
        return "_blank"
    return value


def sanitize(markup: str) -> str:
    """The allowed part of ``markup``: safe to store and to render with ``|safe``."""
    return nh3.clean(
        markup or "",
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        attribute_filter=_attribute_filter,
        strip_comments=True,
    ).strip()


def plain_text(markup: str) -> str:
    """The words of ``markup`` for moderation, search and e-mail: tags removed, entities decoded,
    one line per paragraph."""
    text = _BLOCK_END.sub("\n", markup or "")
    text = html.unescape(_TAG.sub("", text))
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def is_blank(markup: str) -> bool:
    """No words and no image: an "empty" editor still sends ``<p></p>``."""
    return not plain_text(markup) and "<img" not in (markup or "")
