from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "xietong.workflow"
    label = "workflow"
    verbose_name = "审批"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from xietong.core import badges, worklist
        from xietong.notify.kinds import register_kind
        from xietong.workflow import audit_actions, permissions, providers, tasks  # noqa: F401  (registrations)

        register_kind("workflow.todo", _("待审批"), _("有新的审批或办理事项待您处理"))
        register_kind("workflow.approved", _("审批通过"), _("您提交的审批已通过"))
        register_kind("workflow.rejected", _("审批拒绝"), _("您提交的审批被拒绝"))
        register_kind("workflow.returned", _("审批退回"), _("审批被退回，需要您修改后重新提交"))
        register_kind("workflow.cc", _("审批抄送与传阅"), _("审批单抄送或传阅给您"))
        register_kind("workflow.urge", _("审批催办"), _("发起人催您尽快处理审批"))
        register_kind("workflow.overdue", _("审批超时"), _("审批事项即将超时或已经超时"))
        register_kind("workflow.mention", _("审批评论提及"), _("有人在审批评论中提到了您"))
        register_kind("workflow.finished", _("审批结束"), _("您参与的审批被撤回、撤销或终止"))
        worklist.register_todos("workflow.todo", _("待审批"), providers.todos, icon="check2-square", order=10)
        badges.register_module_counter("workflow", providers.badge_count)

        # The built-in flows: 权限变更申请 runs org permission requests; demo requests.
        from xietong.core import demo as core_demo
        from xietong.workflow import demo, permission_flow

        permission_flow.register()
        core_demo.register("workflow", demo.load, order=200)
