from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "xietong.identity"
    label = "identity"
    verbose_name = "身份与账号"

    def ready(self) -> None:
        from xietong.identity import signals  # noqa: F401  (connects the sign-in receiver)
