"""A notification as a row of a list (the notification center, the workbench's 通知 card),
drawn in Python: the workbench repaints the card after every notification, and the
template language took a good part of that repaint for six rows."""

from __future__ import annotations

from html import escape
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def notification_row(item: Any, kind_label: Any) -> SafeString:
    """``item`` a ``Notification`` with its dispatch (and the dispatch's actor) loaded."""
    dispatch = item.dispatch
    unread = item.read_at is None
    classes = "list-group-item list-group-item-action"
    classes += " is-unread" if unread else ""
    classes += " is-urgent" if item.urgent else ""
    icon = "lightning-charge-fill" if item.urgent else "megaphone" if dispatch.kind == "system" else "bell"
    urgent = f'<span class="badge xt-urgent flex-none">{escape(_("急办"))}</span>' if item.urgent else ""
    body = f'<span class="xt-body">{escape(dispatch.body)}</span>' if dispatch.body else ""
    actor = (
        f'<span><i class="bi bi-person me-1"></i>{escape(dispatch.actor.name)}</span>'
        if dispatch.actor_id is not None
        else ""
    )
    when = timezone.localtime(item.created_at).strftime("%Y-%m-%d %H:%M")
    unread_mark = f'<span class="visually-hidden">{escape(_("未读"))}</span>' if unread else ""
    dot = '<span class="xt-dot" aria-hidden="true"></span>' if unread else ""
    link = reverse("notify:open", args=[item.pk])
    title = f'<span class="xt-title">{urgent}<span>{escape(dispatch.title)}</span></span>'
    html = (
        f'<a class="{classes}" href="{link}" data-notification-id="{item.pk}">'
        f'<span class="xt-icon" aria-hidden="true"><i class="bi bi-{icon}"></i></span>'
        f'<span class="xt-text">{title}{body}'
        f'<span class="xt-meta"><span><i class="bi bi-tag me-1"></i>{escape(str(kind_label))}</span>{actor}'
        f'<span><i class="bi bi-clock me-1"></i>{when}</span>{unread_mark}</span></span>{dot}</a>'
    )
    return mark_safe(html)  # noqa: S308 - every value above is escaped
