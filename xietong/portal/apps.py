from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "xietong.portal"
    label = "portal"
    verbose_name = "门户资讯"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from xietong.core import demo, worklist
        from xietong.moderation import registry
        from xietong.notify import kinds
        from xietong.portal import audit_actions, moderation, permissions, services, workbench  # noqa: F401
        from xietong.portal import demo as portal_demo

        kinds.register_kind(services.KIND_SUBMITTED, _("文章待审核"), _("您审核的栏目有文章提交"))
        kinds.register_kind(services.KIND_RETURNED, _("文章被退回"), _("您的文章被审核人退回或撤下"))
        kinds.register_kind(services.KIND_PUBLISHED, _("文章已发布"), _("您的文章审核通过"))
        kinds.register_kind(
            services.KIND_EDITED, _("已发布文章被修改"), _("您审核的栏目中已发布的文章被修改")
        )
        kinds.register_kind(
            services.KIND_COMMENT, _("文章评论"), _("有人评论了您的文章"), email_default=False
        )

        registry.register_review_handler(
            "portal.article",
            on_approve=services.on_held_article_approved,
            on_reject=services.on_held_article_rejected,
        )
        registry.register_review_handler(
            "portal.comment",
            on_approve=services.on_held_comment_approved,
            on_reject=services.on_held_comment_rejected,
        )
        registry.register_report_handler(
            "portal.comment",
            describe=moderation.describe_comment,
            on_hide=services.on_comment_hidden,
            visible_to=moderation.comment_visible_to,
        )

        worklist.register_feed("portal.latest", _("最新资讯"), workbench.latest, order=30)
        worklist.register_todos(
            "portal.review", _("待审核文章"), workbench.to_review, icon="journal-check", order=40
        )
        demo.register("portal", portal_demo.load, order=30)
