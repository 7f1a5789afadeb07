"""Receivers of Django's authentication signals."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from xietong.identity import reauth


@receiver(user_logged_in, dispatch_uid="identity.reauth.mark_checked_at_login")
def mark_checked_at_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # Signing in is a password check: no second prompt for a sensitive change right after it.
    if request is not None and hasattr(request, "session"):
        reauth.mark_checked(request)


@receiver(user_logged_in, dispatch_uid="identity.sessions.start")
def start_session(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # Every way in (the sign-in page, the code step, the test client's force_login) gets its
    # session record and lifetime marks here, after Django issued the new session id.
    from xietong.identity import services

    if request is not None and hasattr(request, "session"):
        services.session_start(request=request, user=user)


@receiver(user_logged_out, dispatch_uid="identity.sessions.end_at_logout")
def end_session_at_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    # Before Django flushes the session: the record ends and the session's WebSockets close
    # (SES-04). A record already ended (a timeout, an administrator) keeps its reason.
    from xietong.identity import services
    from xietong.identity.models import UserSession

    key = getattr(getattr(request, "session", None), "session_key", None)
    if not key:
        return
    record = UserSession.objects.select_related("user").filter(session_key=key, ended_at__isnull=True).first()
    if record is not None:
        services.session_end(
            session=record,
            reason=UserSession.EndReason.LOGOUT,
            actor=user if getattr(user, "is_authenticated", False) else None,
            request=request,
        )
