"""What moderation offers the workbench: the moderator's to-dos (待处理举报 and 待审核内容),
oldest first, a leak report marked urgent. Nothing for anyone else."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from xietong.core.worklist import WorkItem, WorkList
from xietong.moderation import selectors
from xietong.moderation.models import Report


def to_handle(user: Any, limit: int) -> WorkList:
    """Pending reports, then content held for review (four queries whatever their number)."""
    if not selectors.can_manage(user):
        return WorkList()
    reports = selectors.pending_reports(actor=user)
    reviews = selectors.reviews(actor=user)
    report_link, review_link = reverse("moderation:reports"), reverse("moderation:reviews")
    items = [
        WorkItem(
            title=_("举报（%(reason)s）：%(title)s")
            % {"reason": row.get_reason_display(), "title": row.title or row.excerpt[:40] or row.model_label},
            link=report_link,
            at=row.created_at,
            urgent=row.reason == Report.Reason.SECRET,
            detail=_("举报人：%(name)s") % {"name": row.reporter.name or row.reporter.username},
        )
        for row in reports.select_related("reporter")[:limit]
    ]
    items += [
        WorkItem(
            title=_("待审核：%(words)s") % {"words": "、".join(item.words) or item.model_label},
            link=review_link,
            at=item.submitted_at,
            detail=_("提交人：%(name)s") % {"name": item.submitted_by.name or item.submitted_by.username},
        )
        for item in reviews[: max(0, limit - len(items))]
    ]
    return WorkList(count=reports.count() + reviews.count(), items=items)
