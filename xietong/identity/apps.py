from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "xietong.identity"
    label = "identity"
    verbose_name = "身份与账号"

    def ready(self) -> None:
        from xietong.core.consumers import set_session_check
        from xietong.identity import signals  # noqa: F401  (connects the sign-in receivers)
        from xietong.identity.sessions import socket_session_valid

        # The events WebSocket asks identity whether its session still stands (SES-01, SES-04).
        set_session_check(socket_session_valid)
