from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "xietong.identity"
    label = "identity"
    verbose_name = "身份与账号"
