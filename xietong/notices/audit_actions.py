"""Audit action codes written by the notices, with their labels."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xietong.audit.actions import register

PUBLISHED = "notices.notice.published"
UPDATED = "notices.notice.updated"
WITHDRAWN = "notices.notice.withdrawn"
REJECTED = "notices.notice.rejected"
REMINDED = "notices.receipts.reminded"
EXPORTED = "notices.receipts.exported"
DOWNLOADED = "notices.attachment.downloaded"

register(PUBLISHED, _("发布通知"))
register(UPDATED, _("修改已发布的通知"))
register(WITHDRAWN, _("撤回通知"))
register(REJECTED, _("通知审核未通过"))
register(REMINDED, _("提醒未回执人员"))
register(EXPORTED, _("导出通知回执名单"))
register(DOWNLOADED, _("下载涉密通知附件"))
