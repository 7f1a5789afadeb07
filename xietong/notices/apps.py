from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "xietong.notices"
    label = "notices"
    verbose_name = "通知公告"

    def ready(self) -> None:
        from xietong.core import demo as core_demo
        from xietong.core import worklist
        from xietong.moderation.registry import register_review_handler
        from xietong.notices import audit_actions, demo, permissions, providers, services  # noqa: F401
        from xietong.notify.kinds import register_kind

        register_kind(services.KIND_PUBLISHED, _("通知公告"), _("发给您的通知：会议、活动、工作安排等"))
        register_kind(services.KIND_UPDATED, _("通知更新"), _("您收到的通知在发布后被修改"))
        register_kind(services.KIND_WITHDRAWN, _("通知撤回"), _("您收到的通知被发布人撤回"))
        register_kind(services.KIND_REMINDER, _("通知回执提醒"), _("发布人提醒您阅读或回执"))
        register_kind(
            services.KIND_REJECTED, _("通知审核结果"), _("您发布的通知未通过内容审核"), email_default=False
        )
        register_review_handler(
            "notices.notice", on_approve=services.on_review_approved, on_reject=services.on_review_rejected
        )
        worklist.register_todos(
            "notices.receipt", _("待回执通知"), providers.todos, icon="megaphone", order=20
        )
        worklist.register_feed(
            "notices.unread",
            _("未读通知"),
            providers.feed,
            icon="megaphone",
            order=10,
            card=worklist.FEED_NOTICES,
        )
        worklist.register_schedule("notices.events", _("通知事项"), providers.schedule, icon="megaphone")
        core_demo.register("notices", demo.load, order=50)
