from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "xietong.moderation"
    label = "moderation"
    verbose_name = "内容审核"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from xietong.core import worklist
        from xietong.moderation import services, workbench
        from xietong.notify import kinds

        kinds.register_kind(services.KIND_WARNING, _("违规提醒"), _("您提交的内容因含敏感词被拦截或驳回"))
        kinds.register_kind(
            services.KIND_REPORT, _("违规通报"), _("本部门人员 90 天内多次违反平台内容管理规定")
        )
        kinds.register_kind(
            services.KIND_REPORT_RECEIVED,
            _("收到举报"),
            _("用户举报了与工作无关、辱骂攻击或不实的内容，待您处理"),
        )
        kinds.register_kind(services.KIND_REPORT_RESOLVED, _("举报处理结果"), _("您提交的举报已处理"))
        worklist.register_todos("moderation.queue", _("内容审核"), workbench.to_handle, icon="flag", order=45)
