from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "xietong.workflow"
    label = "workflow"
    verbose_name = "审批"

    def ready(self) -> None:
        from xietong.workflow import permissions  # noqa: F401  (registrations)
