from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "xietong.org"
    label = "org"
    verbose_name = "组织机构"

    def ready(self) -> None:
        # Roles and data scopes live here; core asks through its provider protocol.
        from xietong.core import access
        from xietong.org import signals
        from xietong.org.access import OrgAccessProvider

        access.set_provider(OrgAccessProvider())
        signals.connect()
