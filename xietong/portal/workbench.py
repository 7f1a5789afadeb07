"""What the portal offers the workbench: the latest articles of the channels shown there
(最新资讯), and the articles waiting for the user's review (待审核文章).

Both answer with a fixed number of queries whatever the number of articles: the feed reads
the channels once and their latest articles in one windowed query.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from xietong.core.worklist import FeedLink, FeedSection, WorkItem, WorkList
from xietong.portal import selectors
from xietong.portal.models import Channel


def latest(user: Any, limit: int) -> list[FeedSection]:
    """One section per channel shown on the workbench, its latest visible articles first
    (pinned ones on top, tagged 置顶)."""
    if not selectors.can_read(user):
        return []
    shown = list(
        selectors.channels(user)
        .filter(on_workbench=True)
        .exclude(kind=Channel.Kind.NOTICES)
        .values_list("pk", "code", "name")
    )
    articles = selectors.latest_by_channel(user, [pk for pk, _code, _name in shown], limit)
    pinned = _("置顶")
    return [
        FeedSection(
            key=f"portal.{code}",
            title=name,
            links=[
                FeedLink(
                    title=article.title,
                    link=article.get_absolute_url(),
                    at=article.publish_at,
                    tag=pinned if getattr(article, "pin", 0) else "",
                )
                for article in articles.get(pk, [])
            ],
            more=reverse("portal:channel", args=[code]),
        )
        for pk, code, name in shown
    ]


def to_review(user: Any, limit: int) -> WorkList:
    """The submitted articles of the channels the user reviews, oldest first."""
    queue = selectors.review_queue(user)
    items = [
        WorkItem(
            title=article.title,
            link=article.get_absolute_url(),
            at=article.submitted_at,
            detail=_("%(channel)s · %(author)s")
            % {"channel": article.channel.name, "author": article.author.name or article.author.username},
        )
        for article in queue[:limit]
    ]
    count = len(items) if len(items) < limit else queue.count()
    return WorkList(count=count, items=items, more=reverse("portal:review"))
