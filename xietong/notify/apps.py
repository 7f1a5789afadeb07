from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "xietong.notify"
    label = "notify"
    verbose_name = "通知中心"

    def ready(self) -> None:
        from xietong.core import badges
        from xietong.notify import audit_actions, kinds, selectors, tasks  # noqa: F401  (registrations)

        # The bell of the page shell asks core, which imports no app: register the count here.
        badges.register_unread_counter(selectors.bell_count)
