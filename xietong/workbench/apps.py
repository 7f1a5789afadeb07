from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkbenchConfig(AppConfig):
    name = "xietong.workbench"
    label = "workbench"
    verbose_name = "工作台"

    def ready(self) -> None:
        from xietong.core import access, demo, navigation, worklist
        from xietong.moderation.registry import register_review_handler
        from xietong.notify import kinds
        from xietong.workbench import audit_actions, cache, demo_content, selectors, services  # noqa: F401

        kinds.register_kind(
            services.KIND_TODO,
            _("业务系统待办"),
            _("ERP、财务、人力资源等业务系统推送给您的待办事项"),
        )
        # The pushed to-dos are one more provider of the 我的待办 card, like any module's.
        worklist.register_todos(
            "workbench.external", _("业务系统待办"), selectors.external_todos, icon="plug", order=900
        )
        register_review_handler(
            "workbench.externaltodo",
            on_approve=services.on_review_approved,
            on_reject=services.on_review_rejected,
        )
        navigation.register(
            navigation.Module(
                "workbench_shortcuts",
                _("快捷入口"),
                "grid-3x3-gap",
                "admin",
                "workbench:shortcuts",
                _("工作台上业务系统的入口、图标与可见范围"),
                lambda user: access.can(user, selectors.MANAGE_SHORTCUTS),
            )
        )
        demo.register("workbench", demo_content.load, order=900)
        # The cards' cached first paint follows the events that refresh them live.
        cache.connect()
