"""Who may read the audit trail.

For now the platform's administrators (``is_staff``); the 安全审计员 role of the roles system
replaces this check here, in one place, when it lands.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser


def can_read_audit(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active and getattr(user, "is_staff", False))
