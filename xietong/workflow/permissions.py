"""The approval module's permissions. Starting a flow is governed by each flow's own
"initiators" rule; acting on a work item by being its holder."""

from django.utils.translation import gettext_lazy as _

from xietong.core.access import register_permission

# Everyone starts flows and handles their own work items (the default role holds it).
USE = register_permission("workflow.use", _("使用审批")).codename
# 流程管理员: designs and publishes flow definitions, intervenes in running instances.
MANAGE = register_permission("workflow.manage", _("管理审批流程")).codename
# Reads every instance of the units in the data scope, and the response-time reports.
SUPERVISE = register_permission("workflow.supervise", _("查看审批统计与督办")).codename
