"""The kinds of notification, so that a user can choose per kind how to be told.

A module that sends notifications registers its kinds (``register_kind("tasks.assigned",
_("任务分派"))``) in its ``AppConfig.ready``; the preferences page lists them. A kind that
nobody registered still works — it is delivered with the default of every channel and shown
under its code — so that sending never fails for want of a label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

KIND_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
MAX_LENGTH = 64


@dataclass(frozen=True)
class Kind:
    code: str
    label: str | Promise
    description: str | Promise = ""
    #: Whether e-mail is on for this kind until the user says otherwise.
    email_default: bool = True


_registry: dict[str, Kind] = {}


def register_kind(
    code: str, label: str | Promise, description: str | Promise = "", *, email_default: bool = True
) -> Kind:
    if not KIND_CODE.match(code) or len(code) > MAX_LENGTH:
        raise ValueError(
            f"notification kind {code!r} must be a dotted lower-case code, e.g. 'tasks.assigned'"
        )
    kind = Kind(code, label, description, email_default)
    existing = _registry.get(code)
    if existing is not None and existing != kind:
        raise ValueError(f"notification kind {code!r} is already registered differently")
    _registry[code] = kind
    return kind


def get_kind(code: str) -> Kind:
    """The registered kind, or a stand-in named by its code."""
    return _registry.get(code) or Kind(code, code)


def label(code: str) -> str:
    return str(get_kind(code).label)


def all_kinds() -> list[Kind]:
    return sorted(_registry.values(), key=lambda kind: kind.code)


SYSTEM = register_kind("system", _("系统通知"), _("平台发出的通知，如维护公告、账号安全提醒"))
TEST = register_kind("notify.test", _("测试消息"), _("管理员测试推送渠道时发出"), email_default=False)
