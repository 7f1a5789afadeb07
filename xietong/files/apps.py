from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "xietong.files"
    label = "files"
    verbose_name = "文件"
