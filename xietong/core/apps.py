from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "xietong.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        # Imported for their side effects: the system checks and the platform permissions.
        from xietong.core import checks, permissions  # noqa: F401
