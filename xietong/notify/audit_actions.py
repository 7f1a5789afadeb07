"""Audit action codes written by the notification centre, with their labels."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xietong.audit.actions import register

WEBHOOK_CREATED = "notify.webhook.created"
WEBHOOK_UPDATED = "notify.webhook.updated"
WEBHOOK_DELETED = "notify.webhook.deleted"
WEBHOOK_TESTED = "notify.webhook.tested"

register(WEBHOOK_CREATED, _("新建消息推送"))
register(WEBHOOK_UPDATED, _("修改消息推送"))
register(WEBHOOK_DELETED, _("删除消息推送"))
register(WEBHOOK_TESTED, _("测试消息推送"))
