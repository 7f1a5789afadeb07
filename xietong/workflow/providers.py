"""What the approvals offer the workbench (R-75): my pending approval and handling items
among my to-dos — 急办 first, then overdue ones, then by deadline — and the number the 审批
module shows as its badge. Each answers in a fixed number of indexed queries."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from xietong.core import access, reads
from xietong.core.worklist import WorkItem, WorkList
from xietong.workflow import selectors, services
from xietong.workflow.permissions import USE


def _detail(item: Any) -> str:
    instance = item.instance
    initiator = instance.initiator.name or instance.initiator.username
    parts = [initiator, instance.definition.name]
    if item.activation is not None and item.activation.node_name:
        parts.append(item.activation.node_name)
    if item.delegated_from is not None:
        parts.append(_("代 %(name)s") % {"name": item.delegated_from.name or item.delegated_from.username})
    return " · ".join(parts)


def todos(user: Any, limit: int) -> WorkList:
    """待审批: two queries (the count and the first ``limit``)."""
    if not access.can(user, USE):
        return WorkList()
    count = _count(user)
    if not count:
        return WorkList()
    rows = selectors.todo(user)
    items = [
        WorkItem(
            title=item.instance.title,
            link=services.LINK.format(pk=item.instance_id),
            at=item.created_at,
            due=item.due_at,
            urgent=item.urgent or item.instance.urgent,
            detail=_detail(item),
        )
        for item in rows[:limit]
    ]
    return WorkList(count=count, items=items, more=reverse("workflow:inbox"))


def _count(user: Any) -> int:
    # The badge and the to-do card count the same rows: once per page.
    return reads.once(("workflow.todo", user.pk), lambda: selectors.todo(user).count())


def badge_count(user: Any) -> int:
    """The 审批 module's badge: my pending approval and handling items (one query)."""
    if not access.can(user, USE):
        return 0
    return _count(user)
