from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    name = "xietong.workbench"
    label = "workbench"
    verbose_name = "工作台"
