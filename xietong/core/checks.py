"""System checks that guard production deployments."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def no_superusers_in_production(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """三员分立: day-to-day administration never runs as an all-powerful superuser."""
    if not getattr(settings, "PRODUCTION", False):
        return []
    from django.contrib.auth import get_user_model
    from django.db import DatabaseError

    try:
        count = get_user_model().objects.filter(is_superuser=True, is_active=True).count()
    except DatabaseError:
        return []  # not migrated yet; the check runs again at the next start
    if count:
        return [
            Error(
                f"{count} active superuser account(s) exist; use the three administrator roles instead.",
                hint="xietong shell: User.objects.filter(is_superuser=True).update(is_superuser=False)",
                id="xietong.E001",
            )
        ]
    return []
