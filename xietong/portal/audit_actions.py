"""Audit action codes written by the portal, with their labels."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xietong.audit.actions import register

CHANNEL_CREATED = "portal.channel.created"
CHANNEL_UPDATED = "portal.channel.updated"
ARTICLE_CREATED = "portal.article.created"
ARTICLE_SUBMITTED = "portal.article.submitted"
ARTICLE_HELD = "portal.article.held"
ARTICLE_PUBLISHED = "portal.article.published"
ARTICLE_RETURNED = "portal.article.returned"
ARTICLE_WITHDRAWN = "portal.article.withdrawn"
ARTICLE_EDITED = "portal.article.edited"
ARTICLE_DELETED = "portal.article.deleted"
ATTACHMENT_DOWNLOADED = "portal.attachment.downloaded"
COMMENT_HIDDEN = "portal.comment.hidden"

register(CHANNEL_CREATED, _("新建门户栏目"))
register(CHANNEL_UPDATED, _("修改门户栏目"))
register(ARTICLE_CREATED, _("新建门户文章"))
register(ARTICLE_SUBMITTED, _("提交门户文章审核"))
register(ARTICLE_HELD, _("门户文章送内容审核"))
register(ARTICLE_PUBLISHED, _("发布门户文章"))
register(ARTICLE_RETURNED, _("退回门户文章"))
register(ARTICLE_WITHDRAWN, _("撤回门户文章"))
register(ARTICLE_EDITED, _("修改已发布的门户文章"))
register(ARTICLE_DELETED, _("删除门户文章草稿"))
register(ATTACHMENT_DOWNLOADED, _("下载涉密文章附件"))
register(COMMENT_HIDDEN, _("屏蔽门户评论"))
