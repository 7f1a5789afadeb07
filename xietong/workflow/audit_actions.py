"""Audit action codes written by the approval engine, with their labels."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xietong.audit.actions import register

FLOW_CREATED = "workflow.flow.created"
FLOW_UPDATED = "workflow.flow.updated"
VERSION_SAVED = "workflow.version.saved"
VERSION_PUBLISHED = "workflow.version.published"
INSTANCE_STARTED = "workflow.instance.started"
INSTANCE_RESUBMITTED = "workflow.instance.resubmitted"
INSTANCE_WITHDRAWN = "workflow.instance.withdrawn"
INSTANCE_REVOKED = "workflow.instance.revoked"
INSTANCE_TERMINATED = "workflow.instance.terminated"
INSTANCE_URGED = "workflow.instance.urged"
INSTANCE_CIRCULATED = "workflow.instance.circulated"
ITEM_APPROVED = "workflow.item.approved"
ITEM_REJECTED = "workflow.item.rejected"
ITEM_RETURNED = "workflow.item.returned"
ITEM_TRANSFERRED = "workflow.item.transferred"
ITEM_ADD_SIGNED = "workflow.item.add_signed"
ITEM_TIMED_OUT = "workflow.item.timed_out"
DELEGATION_CREATED = "workflow.delegation.created"
DELEGATION_ENDED = "workflow.delegation.ended"
FILE_DOWNLOADED = "workflow.file.downloaded"
INSTANCE_PRINTED = "workflow.instance.printed"

register(FLOW_CREATED, _("新建审批流程"))
register(FLOW_UPDATED, _("修改审批流程"))
register(VERSION_SAVED, _("保存审批流程草稿版本"))
register(VERSION_PUBLISHED, _("发布审批流程版本"))
register(INSTANCE_STARTED, _("提交审批"))
register(INSTANCE_RESUBMITTED, _("重新提交审批"))
register(INSTANCE_WITHDRAWN, _("撤回审批"))
register(INSTANCE_REVOKED, _("撤销已通过的审批"))
register(INSTANCE_TERMINATED, _("终止审批"))
register(INSTANCE_URGED, _("催办审批"))
register(INSTANCE_CIRCULATED, _("传阅审批单"))
register(ITEM_APPROVED, _("审批同意"))
register(ITEM_REJECTED, _("审批拒绝"))
register(ITEM_RETURNED, _("审批退回"))
register(ITEM_TRANSFERRED, _("审批转交"))
register(ITEM_ADD_SIGNED, _("审批加签"))
register(ITEM_TIMED_OUT, _("审批超时自动处理"))
register(DELEGATION_CREATED, _("设置审批委托"))
register(DELEGATION_ENDED, _("结束审批委托"))
register(FILE_DOWNLOADED, _("下载涉密审批单附件"))
register(INSTANCE_PRINTED, _("打印涉密审批单"))

# The administrators' pages: 改派, 批量移交, 补录, the holiday calendar and the report export.
ITEM_REASSIGNED = "workflow.item.reassigned"
ITEMS_HANDED_OVER = "workflow.items.handed_over"
INSTANCE_BACKFILLED = "workflow.instance.backfilled"
CALENDAR_CHANGED = "workflow.calendar.changed"
REPORT_EXPORTED = "workflow.report.exported"

register(ITEM_REASSIGNED, _("改派审批待办"))
register(ITEMS_HANDED_OVER, _("批量移交审批待办"))
register(INSTANCE_BACKFILLED, _("补录线下审批"))
register(CALENDAR_CHANGED, _("修改节假日安排"))
register(REPORT_EXPORTED, _("导出审批时效报表"))
