from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "xietong.portal"
    label = "portal"
    verbose_name = "门户资讯"

    def ready(self) -> None:
        from xietong.portal import permissions  # noqa: F401  (registrations)
