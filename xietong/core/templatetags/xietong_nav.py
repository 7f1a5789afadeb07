"""Template helpers of the page shell's navigation."""

from __future__ import annotations

from collections.abc import Mapping

from django import template

register = template.Library()


@register.filter
def module_badge(badges: Mapping[str, int], slug: str) -> int:
    """The count shown beside module ``slug`` (0 when it has none)."""
    return badges.get(slug, 0)
