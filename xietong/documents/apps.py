from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "xietong.documents"
    label = "documents"
    verbose_name = "公文"

    def ready(self) -> None:
        # Permissions, notification kinds, to-do providers, engine hooks and periodic tasks.
        from xietong.core import demo as core_demo
        from xietong.documents import archive_wiring, demo, incoming_wiring, outgoing_wiring, permissions  # noqa: F401

        # The demo 公文 need the demo people's roles and requests: after the workflow demo (200).
        core_demo.register("documents", demo.load, order=300)
