"""Template helpers of the workbench: short Chinese times ("09:30", "昨天 17:20", "11月28日"),
deadlines ("今天 18:00 截止", "已超期 2 天") and a stable colour per provider."""

from __future__ import annotations

import datetime as dt
import zlib

from django import template
from django.utils import timezone
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
