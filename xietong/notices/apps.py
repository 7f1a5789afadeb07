from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "xietong.notices"
    label = "notices"
    verbose_name = "通知公告"

    def ready(self) -> None:
        from xietong.notices import permissions  # noqa: F401  (registrations)
