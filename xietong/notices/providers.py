"""What the notices offer the workbench (R-75): notices awaiting my receipt among my
to-dos, my unread notices, and the notices whose time falls on a given day. Each answers in
a fixed number of indexed queries, whatever the number of notices."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xietong.core.worklist import FeedLink, FeedSection, ScheduleEntry, WorkItem, WorkList
from xietong.notices import selectors
from xietong.notices.models import NoticeRecipient, ReceiptMode


def _link(copy: NoticeRecipient) -> str:
    return reverse("notices:detail", args=[copy.notice_id])


def todos(user: Any, limit: int) -> WorkList:
    """待回执通知: the count (shared with ``feed``) and, when there are some, the first ``limit``."""
    if not selectors.can_read(user):
        return WorkList()
    count = selectors.pending_counts(user)[1]
    if not count:
        return WorkList()
    items = []
    for copy in selectors.awaiting_receipts(user)[:limit]:
        notice = copy.notice
        ask = _("请确认已阅") if notice.receipt_mode == ReceiptMode.READ else _("请回复是否参加")
        publisher = notice.publisher.name or notice.publisher.username
        items.append(
            WorkItem(
                title=notice.title,
                link=_link(copy),
                at=copy.delivered_at,
                due=notice.receipt_due or notice.reply_deadline,
                urgent=notice.is_urgent,
                detail=f"{publisher} · {ask}",
            )
        )
    return WorkList(count=count, items=items, more=reverse("notices:home") + "?only=awaiting")


def feed(user: Any, limit: int) -> list[FeedSection]:
    """未读通知: my latest unread notices and how many there are (the count shared with
    ``todos``, and the links when there are some)."""
    if not selectors.can_read(user):
        return []
    count = selectors.pending_counts(user)[0]
    links = [
        FeedLink(
            title=copy.notice.title,
            link=_link(copy),
            at=copy.delivered_at,
            tag=_("急办") if copy.notice.is_urgent else "",
            urgent=copy.notice.is_urgent,
        )
        for copy in (selectors.received(user, only="unread")[:limit] if count else [])
    ]
    return [
        FeedSection(
            key="notices.unread",
            title=_("未读通知"),
            links=links,
            more=reverse("notices:home") + "?only=unread",
            count=count,
        )
    ]


def schedule(user: Any, day: dt.date) -> list[ScheduleEntry]:
    """通知事项 on ``day`` (local): one query; what I declined is left out."""
    if not selectors.can_read(user):
        return []
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = start + dt.timedelta(days=1)
    entries = []
    for copy in selectors.on_day(user, start, end)[:50]:
        notice = copy.notice
        begins = notice.starts_at or start  # the query asks for a time
        entries.append(
            ScheduleEntry(
                title=notice.title,
                link=_link(copy),
                start=begins,
                end=notice.ends_at,
                place=notice.place,
                all_day=begins < start and (notice.ends_at is None or notice.ends_at >= end),
            )
        )
    return entries
