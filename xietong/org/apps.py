from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "xietong.org"
    label = "org"
    verbose_name = "组织机构"
