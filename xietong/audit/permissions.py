"""Who may read and export the audit trail: the 审计管理员 tier (三员分立)."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from xietong.core import access


def can_read_audit(user: AbstractBaseUser | AnonymousUser) -> bool:
    return access.can(user, "audit.read")


def can_export_audit(user: AbstractBaseUser | AnonymousUser) -> bool:
    return access.can(user, "audit.export")
