"""Template helpers of the report button (R-28, R-29).

    {% load moderation %}
    {{ comment|report_ref }}        → "portal.comment:12", or "" when comments are not reportable
    {{ comment|report_ref|report_dom_id }} → "report-portal-comment-12"
    {% report_reasons as reasons %}  → [("unrelated", "与工作无关"), …]

Used by ``moderation/_report_button.html``; the view and the service check everything again.
"""

from __future__ import annotations

import re
from typing import Any

from django import template

from xietong.moderation import registry
from xietong.moderation.models import Report

register = template.Library()

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@register.filter
def report_ref(obj: Any) -> str:
    """``app_label.model:pk`` of a saved object whose app registered a report handler."""
    meta = getattr(obj, "_meta", None)
    if meta is None or getattr(obj, "pk", None) is None:
        return ""
    label = meta.label_lower
    if registry.report_handler(label) is None:
        return ""
    return f"{label}:{obj.pk}"


@register.filter
def report_dom_id(ref: str) -> str:
    """An element id for the modal of ``ref``, unique on the page (app labels and model names
    hold no "-", so the parts cannot run into each other)."""
    return "report-" + _UNSAFE.sub("-", str(ref).replace(".", "-").replace(":", "-"))


@register.simple_tag
def report_reasons() -> list[tuple[str, str]]:
    """The reasons a reporter chooses from (``Report.Reason``), labels in the active language."""
    return [(value, str(label)) for value, label in Report.Reason.choices]
