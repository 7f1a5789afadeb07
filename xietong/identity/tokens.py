"""Single-use password-reset links (IA-11)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.tokens import PasswordResetTokenGenerator

from xietong.core import clock


class ResetTokenGenerator(PasswordResetTokenGenerator):
    """Django's generator on the project clock, so tests can move past the 30 minutes of
    ``PASSWORD_RESET_TIMEOUT``.

    A token is used up once the password changes (the hash covers the password hash and the
    last sign-in); it also dies when the account is disabled.
    """

    key_salt = "xietong.identity.tokens.ResetTokenGenerator"

    def _now(self) -> dt.datetime:
        # Naive, as Django's own arithmetic expects; the same clock makes and checks tokens.
        return clock.now().astimezone(dt.UTC).replace(tzinfo=None)

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        return f"{super()._make_hash_value(user, timestamp)}{int(bool(user.is_active))}"


reset_tokens = ResetTokenGenerator()
