"""State changes of accounts."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from xietong.core import clock
from xietong.identity.models import User


@transaction.atomic
def user_change_password(*, user: User, new_password: str) -> User:
    """Set a password the user chose; raises ``ValidationError`` and changes nothing if weak."""
    validate_password(new_password, user)
    user.set_password(new_password)
    user.must_change_password = False
    user.password_changed_at = clock.now()
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    return user


@transaction.atomic
def user_set_initial_password(*, user: User, password: str) -> User:
    """An administrator-issued password: usable once, then it must be changed (R-06)."""
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    return user
