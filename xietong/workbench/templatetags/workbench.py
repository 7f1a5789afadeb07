"""Template helpers of the workbench: short Chinese times ("09:30", "昨天 17:20", "11月28日"),
deadlines ("今天 18:00 截止", "已超期 2 天"), a stable colour per provider and the rows of the
to-do card."""

from __future__ import annotations

import datetime as dt
import html
import zlib
from typing import Any

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from xietong.core import clock

register = template.Library()

TONES = 6


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


@register.filter
def when(moment: dt.datetime | None) -> str:
    """When something arrived, as short as is still clear."""
    if moment is None:
        return ""
    local = _local(moment)
    today = clock.localdate()
    if local.date() == today:
        return local.strftime("%H:%M")
    if local.date() == today - dt.timedelta(days=1):
        return _("昨天 %(time)s") % {"time": local.strftime("%H:%M")}
    if local.year == today.year:
        return _("%(month)d月%(day)d日") % {"month": local.month, "day": local.day}
    return local.strftime("%Y-%m-%d")


@register.filter
def deadline(due: dt.datetime | None) -> str:
    """A deadline relative to today: overdue by how long, or when it falls."""
    if due is None:
        return ""
    now = clock.now()
    local = _local(due)
    today = clock.localdate()
    if due < now:
        days = (today - local.date()).days
        if days >= 1:
            return _("已超期 %(days)d 天") % {"days": days}
        return _("已超期")
    time = local.strftime("%H:%M")
    if local.date() == today:
        return _("今天 %(time)s 截止") % {"time": time}
    if local.date() == today + dt.timedelta(days=1):
        return _("明天 %(time)s 截止") % {"time": time}
    if local.year == today.year:
        return _("%(month)d月%(day)d日截止") % {"month": local.month, "day": local.day}
    return _("%(date)s 截止") % {"date": local.strftime("%Y-%m-%d")}


@register.filter
def clock_time(moment: dt.datetime | None) -> str:
    return _local(moment).strftime("%H:%M") if moment is not None else ""


@register.filter
def tone(key: str) -> int:
    """A colour (0–5) that stays the same for one provider on every page."""
    return zlib.crc32(str(key).encode()) % TONES


def _badge(kind: str, icon: str, text: str) -> str:
    mark = f'<i class="bi bi-{icon}" aria-hidden="true"></i>'
    return f'<span class="wb-badge wb-badge-{kind}">{mark}{_e(text)}</span>'


def _e(value: Any) -> str:
    # Plain values only (titles, names, links, dates written here): nothing of the row is
    # already HTML, so the standard library's escape does what ``format_html`` would, faster.
    return html.escape(str(value))


@register.simple_tag
def todo_row(entry: Any) -> SafeString:
    """One row of the to-do card (``selectors.SourcedItem``), written here rather than in the
    template: a busy person's card has up to eighty rows, which the template language took
    ~0.3 ms each to draw — most of what repainting the card after an event cost."""
    item, provider = entry.item, entry.provider
    if entry.overdue:
        due = _badge("overdue", "alarm", deadline(item.due))
    elif entry.due_soon:
        due = _badge("soon", "hourglass-split", deadline(item.due))
    elif item.due:
        due = f'<span class="wb-badge wb-badge-due">{_e(deadline(item.due))}</span>'
    else:
        due = ""
    at = f'<time datetime="{_e(_local(item.at).isoformat())}">{_e(when(item.at))}</time>' if item.at else ""
    show = "tab === 'all' || " if entry.top else ""
    hidden = "" if entry.top else ' style="display: none"'
    urgent = " is-urgent" if item.urgent else ""
    overdue = " is-overdue" if entry.overdue else ""
    icon = "lightning-charge-fill" if item.urgent else _e(provider.icon)
    badge = f'<span class="wb-badge wb-badge-urgent">{_e(_("急办"))}</span>' if item.urgent else ""
    detail = f'<span class="wb-detail">{_e(item.detail)}</span>' if item.detail else ""
    title = _e(item.title)
    source = f'<span class="wb-source">{_e(provider.label)}</span>'
    mark = f'<span class="wb-todo-icon wb-tone-{tone(provider.key)}" aria-hidden="true">'
    mark += f'<i class="bi bi-{icon}"></i></span>'
    return mark_safe(  # noqa: S308  (every value above is escaped)
        f'<li data-source="{_e(provider.key)}" x-show="{show}tab === $el.dataset.source"{hidden}>'
        f'<a class="wb-todo{urgent}{overdue}" href="{_e(item.link)}">'
        f"{mark}"
        '<span class="wb-todo-body">'
        f'<span class="wb-todo-title">{badge}<span title="{title}">{title}</span></span>'
        f'<span class="wb-todo-meta">{due}{source}{detail}{at}</span>'
        "</span>"
        '<i class="bi bi-chevron-right wb-todo-chevron" aria-hidden="true"></i>'
        "</a></li>"
    )
