"""Receivers of Django's authentication signals."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from xietong.identity import reauth


@receiver(user_logged_in, dispatch_uid="identity.reauth.mark_checked_at_login")
def mark_checked_at_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # Signing in is a password check: no second prompt for a sensitive change right after it.
    if request is not None and hasattr(request, "session"):
        reauth.mark_checked(request)
