"""The tabs at the top of every 公文 page, each shown to whoever may open it."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from xietong.core import access
from xietong.documents import permissions

register = template.Library()


@register.inclusion_tag("documents/_tabs.html", takes_context=True)
def documents_tabs(context: dict[str, Any], active: str) -> dict[str, Any]:
    user = context["request"].user
    clerk = access.can(user, permissions.CLERK)
    archivist = access.can(user, permissions.ARCHIVE)
    tabs = [
        ("home", "documents:home", "inboxes", _("待办公文"), True),
        ("outgoing", "documents:outgoing_list", "send", _("发文"), True),
        ("incoming", "documents:incoming_list", "envelope-open", _("收文"), True),
        ("registers", "documents:registers", "journal-text", _("登记簿"), clerk),
        ("statistics", "documents:statistics", "speedometer2", _("时效统计"), clerk),
        ("archive", "documents:archive_list", "archive", _("档案"), archivist or clerk),
        ("settings", "documents:settings", "gear", _("设置"), clerk or archivist),
    ]
    return {
        "tabs": [
            {"key": key, "url": reverse(name), "icon": icon, "label": label, "active": key == active}
            for key, name, icon, label, shown in tabs
            if shown
        ]
    }
