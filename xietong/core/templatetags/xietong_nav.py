"""The page shell's left navigation, drawn in Python.

Every page shows every module the user may open (some thirty links, each with its active
state and count); the template language spent a fifth of a cached workbench visit on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

from django import template
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from xietong.core.navigation import Module

register = template.Library()

_PLAIN = ' class="nav-link d-flex align-items-center"'


@register.simple_tag(takes_context=True)
def nav_menu(context: template.Context) -> SafeString:
    """The sections of ``nav_sections`` with their links; ``nav_active`` marked current,
    ``nav_badges`` counted beside the modules that are built."""
    sections: Iterable[tuple[str | Promise, list[Module]]] = context.get("nav_sections") or ()
    active: str = context.get("nav_active") or ""
    badges: Mapping[str, int] = context.get("nav_badges", {}) or {}
    parts: list[str] = []
    for title, modules in sections:
        parts.append(f'<div class="section-title">{escape(str(title))}</div><ul class="nav flex-column">')
        parts.extend(_link(module, module.slug == active, badges) for module in modules)
        parts.append("</ul>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def _link(module: Module, current: bool, badges: Mapping[str, int]) -> str:
    if not module.ready:
        aside = f'<span class="soon">{escape(_("筹备中"))}</span>'
    else:
        count = badges.get(module.slug, 0)
        aside = (
            f'<span class="badge rounded-pill text-bg-danger" data-module-count="{escape(module.slug)}" '
            f'title="{escape(_("待处理"))}">{"99+" if count > 99 else count}</span>'
            if count
            else ""
        )
    shown = ' class="nav-link d-flex align-items-center active" aria-current="page"' if current else _PLAIN
    return (
        f'<li class="nav-item"><a{shown} href="{escape(module.url)}">'
        f'<i class="bi bi-{escape(module.icon)}" aria-hidden="true"></i>'
        f'<span class="flex-grow-1">{escape(str(module.label))}</span>{aside}</a></li>'
    )
