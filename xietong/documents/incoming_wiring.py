"""Registrations of the 收文 part of the 公文 module: notification kinds, the to-do provider of
the workbench and the daily overdue reminder."""

from __future__ import annotations

import logging
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from xietong.core import access, clock, worklist
from xietong.core.worklist import WorkItem, WorkList
from xietong.documents import incoming
from xietong.documents.permissions import USE
from xietong.notify.kinds import register_kind

logger = logging.getLogger(__name__)

register_kind(incoming.KIND_ARRIVED, gettext_lazy("收文待签收"), gettext_lazy("有公文分发到本单位，等待签收"))
register_kind(
    incoming.KIND_TODO, gettext_lazy("收文待办"), gettext_lazy("有收文等待您拟办、批办、承办或办结")
)
register_kind(incoming.KIND_CIRCULATED, gettext_lazy("收文传阅"), gettext_lazy("有收文传阅给您"))
register_kind(incoming.KIND_URGED, gettext_lazy("收文催办"), gettext_lazy("收文办理被催办"))
register_kind(incoming.KIND_OVERDUE, gettext_lazy("收文办理超时"), gettext_lazy("收文承办已超过办理时限"))
register_kind(
    incoming.KIND_RETURNED, gettext_lazy("来文被退回"), gettext_lazy("您单位发出的公文被收文单位退回")
)
register_kind(
    incoming.KIND_CONCLUDED, gettext_lazy("来文已办结"), gettext_lazy("您单位发出的公文已被收文单位办结")
)


def todos(user: Any, limit: int) -> WorkList:
    """待办收文: 待签收, 拟办, 批办, 承办, 传阅 — a fixed number of queries."""
    if not access.can(user, USE):
        return WorkList()
    from xietong.documents import selectors_incoming

    entries = selectors_incoming.todos_for(user)
    if not entries:
        return WorkList()
    items = [
        WorkItem(
            title=entry.document.title,
            link=incoming.link_of(entry.document),
            at=entry.at,
            due=entry.due,
            urgent=entry.document.urgency == "teji",
            detail=f"{entry.label} · {entry.document.sender_org}",
        )
        for entry in entries[:limit]
    ]
    return WorkList(count=len(entries), items=items, more=reverse("documents:incoming_list") + "?box=todo")


worklist.register_todos("documents.incoming", gettext_lazy("待办收文"), todos, icon="envelope-open", order=30)


@db_periodic_task(crontab(minute="10", hour="8"))  # type: ignore[untyped-decorator]
@lock_task("documents-incoming-overdue")  # type: ignore[untyped-decorator]
def remind_overdue_incoming() -> int:
    """Every morning: remind the 承办 units (and the clerks) of handlings past their deadline."""
    count = incoming.remind_overdue(now=clock.now())
    if count:
        logger.info("documents.incoming.overdue_reminded", extra={"count": count})
    return count


__all__ = ["remind_overdue_incoming", "todos"]
