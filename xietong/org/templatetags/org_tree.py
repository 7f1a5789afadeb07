"""The unit tree's items, rendered in Python.

The tree page shows every unit of the group at once (1,000 and more), collapsible with
``<details>``. Through the template language each unit cost about 0.15 ms — 150 ms for the
page — so the items are built here with the same escaping, about thirty times faster; the
page around them stays a template.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from xietong.org.selectors import TreeNode

register = template.Library()

_ICONS = {"group": "bi-bank", "company": "bi-buildings"}


@register.simple_tag
def org_tree_items(nodes: Iterable[TreeNode], unit_prefix: str) -> SafeString:
    """Nested ``<li>`` items from units in tree order: a unit with children opens a
    ``<details>`` and a list, a leaf closes as many levels as the next unit climbs."""
    inactive = escape(_("已撤销"))
    count_title = escape(_("在职人数"))
    prefix = escape(unit_prefix)
    parts: list[str] = []
    add = parts.append
    for node in nodes:
        classes = "xt-node" + (" is-hit" if node.hit else "") + ("" if node.is_active else " is-inactive")
        icon = _ICONS.get(node.kind, "bi-people is-department")
        add("<li>")
        if node.has_children:
            add("<details open><summary>" if node.open else "<details><summary>")
            caret = '<i class="bi bi-chevron-right xt-caret" aria-hidden="true"></i>'
        else:
            caret = '<span class="xt-caret"></span>'
        add(
            f'<span class="{classes}" data-unit-id="{node.id}">{caret}'
            f'<i class="bi {icon} xt-kind" aria-hidden="true"></i>'
            f'<a class="xt-name" href="{prefix}{node.id}/">{escape(node.name)}</a>'
            f'<span class="xt-code">{escape(node.code)}</span>'
        )
        if not node.is_active:
            add(f'<span class="badge text-bg-secondary">{inactive}</span>')
        add(f'<span class="xt-count" title="{count_title}">{node.members}</span></span>')
        if node.has_children:
            add("</summary><ul>")
        else:
            add("</li>")
            add("</ul></details></li>" * len(node.closes))
    return mark_safe("".join(parts))  # noqa: S308  (every value above is escaped)
