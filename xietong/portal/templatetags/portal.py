"""Small helpers of the portal templates: file icons and the 置顶 state of an article."""

from __future__ import annotations

from typing import Any

from django import template

from xietong.files import sniffing

register = template.Library()

_ICONS = {
    "pdf": "file-earmark-pdf",
    "doc": "file-earmark-word",
    "docx": "file-earmark-word",
    "wps": "file-earmark-word",
    "xls": "file-earmark-excel",
    "xlsx": "file-earmark-excel",
    "et": "file-earmark-excel",
    "csv": "file-earmark-spreadsheet",
    "ppt": "file-earmark-ppt",
    "pptx": "file-earmark-ppt",
    "zip": "file-earmark-zip",
    "rar": "file-earmark-zip",
    "7z": "file-earmark-zip",
    "txt": "file-earmark-text",
    "md": "file-earmark-text",
    "png": "file-earmark-image",
    "jpg": "file-earmark-image",
    "jpeg": "file-earmark-image",
    "gif": "file-earmark-image",
    "webp": "file-earmark-image",
}


@register.filter
def file_icon(name: str) -> str:
    """The bootstrap-icons name for a file name's type."""
    return _ICONS.get(sniffing.extension(str(name)), "file-earmark")


@register.filter
def file_ext(name: str) -> str:
    return sniffing.extension(str(name)).upper()[:4]


@register.filter
def pinned_now(article: Any) -> bool:
    """Pinned and the pin not expired (annotated ``pin`` when the query has it)."""
    pin = getattr(article, "pin", None)
    if pin is not None:
        return bool(pin)
    return bool(article.pinned_now())
