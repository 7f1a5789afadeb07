"""密级 (classification levels): ordered integers with labels from the settings.

A level is an index into ``settings.XIETONG_CLASSIFICATION_LABELS`` (default
公开 < 内部 < 普通商密 < 核心商密). Objects store their level in an integer field; accounts
carry a clearance (``identity.User.clearance``), the highest level they may view, download
or print. ``xietong.core.access.can_on(..., classification=...)`` and
``restrict(..., classification_field=...)`` apply the comparison; this module only names
levels and compares a user with one level.

This module imports no models: ``identity.models`` uses ``choices`` for the clearance field.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext, gettext_noop

PUBLIC = 0
INTERNAL = 1
COMMERCIAL_SECRET = 2
CORE_COMMERCIAL_SECRET = 3

#: Levels from here up are 涉密: they need a named audience and are never shared with 全员 (R-34).
CLASSIFIED_FROM = COMMERCIAL_SECRET

#: The clearance of a new account: 内部 — staff see internal content, nothing classified (R-12).
DEFAULT_CLEARANCE = INTERNAL

# The default labels, marked for the translation catalogue; labels an operator configures
# are shown as configured (or translated when the catalogue happens to know them).
DEFAULT_LABELS = (
    gettext_noop("公开"),
    gettext_noop("内部"),
    gettext_noop("普通商密"),
    gettext_noop("核心商密"),
)


def _labels() -> list[str]:
    labels: list[str] = getattr(settings, "XIETONG_CLASSIFICATION_LABELS", None) or list(DEFAULT_LABELS)
    return labels


def levels() -> range:
    """Every level, lowest first."""
    return range(len(_labels()))


def highest() -> int:
    return len(_labels()) - 1


def label(level: int | None) -> str:
    """The label of ``level`` in the active language; an unknown level names its number."""
    labels = _labels()
    if level is None or not 0 <= level < len(labels):
        return gettext("%(level)s 级") % {"level": level}
    return gettext(labels[level])


def choices() -> list[tuple[int, str]]:
    """Field choices. Passed as a callable so that a migration refers to this function and
    renaming a level in the settings needs no migration."""
    return [(level, label(level)) for level in levels()]


def is_classified(level: int) -> bool:
    return level >= CLASSIFIED_FROM


def clearance_of(user: Any) -> int:
    """The highest level the user may see: -1 (nothing) for anonymous or inactive accounts."""
    if user is None or not user.is_authenticated or not user.is_active:
        return -1
    if user.is_superuser:
        return highest()
    return int(getattr(user, "clearance", DEFAULT_CLEARANCE))


def allows(user: Any, level: int | None) -> bool:
    """May ``user`` view, download or print an object of ``level``? (Only the clearance part;
    function permission, data scope and ACL are ``access.can_on``'s business.)"""
    return clearance_of(user) >= (level or PUBLIC)
