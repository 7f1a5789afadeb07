"""The portal's side of reports (举报, R-28, R-29): how the moderators' queue shows a reported
comment, and who may report it (whoever may read the article and the comment)."""

from __future__ import annotations

from typing import Any

from xietong.moderation.registry import Reported
from xietong.portal import selectors
from xietong.portal.models import Comment


def describe_comment(comment: Any) -> Reported:
    article = comment.article
    return Reported(
        title=article.title,
        excerpt=comment.body[:500],
        link=f"{article.get_absolute_url()}#comment-{comment.pk}",
        author=comment.author,
        classification=article.classification,
    )


def comment_visible_to(comment: Any, user: Any) -> bool:
    if comment.status != Comment.Status.VISIBLE and comment.author_id != getattr(user, "pk", None):
        return False
    return selectors.is_readable(user, comment.article)
