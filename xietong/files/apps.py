from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "xietong.files"
    label = "files"
    verbose_name = "文件"

    def ready(self) -> None:
        from xietong.files import audit_actions  # noqa: F401  (registers the action labels)
