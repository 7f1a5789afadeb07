"""Template helpers for permissions and 密级.

    {% load xietong_access %}
    {% if request.user|can:"audit.read" %}…{% endif %}
    <span class="badge">{{ document.classification|classification_label }}</span>

Templates only hide what the user cannot use; the view or service checks again.
"""

from __future__ import annotations

from typing import Any

from django import template

from xietong.core import access, classification

register = template.Library()


@register.filter
def can(user: Any, codename: str) -> bool:
    return access.can(user, codename)


@register.filter
def classification_label(level: int | None) -> str:
    return classification.label(level)


@register.filter
def is_classified(level: int | None) -> bool:
    return level is not None and classification.is_classified(level)
