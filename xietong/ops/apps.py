from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "xietong.ops"
    label = "ops"
    verbose_name = "运维"
