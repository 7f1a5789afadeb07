"""Readable names for action codes, shown beside the code on the audit pages.

Apps register the codes they write (``register("identity.login.succeeded", _("登录成功"))``);
an unregistered code is shown as it is.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

_labels: dict[str, str | Promise] = {}


def register(code: str, label: str | Promise) -> None:
    _labels[code] = label


def label_for(code: str) -> str:
    return str(_labels.get(code, ""))


EXPORTED = "audit.events.exported"
ARCHIVED = "audit.archive.completed"

register(EXPORTED, _("导出审计记录"))
register(ARCHIVED, _("归档过期审计记录"))
