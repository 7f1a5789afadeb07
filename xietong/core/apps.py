from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "xietong.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        from xietong.core import checks  # noqa: F401  (registers the system checks)
