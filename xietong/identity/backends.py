from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from xietong.core import http
from xietong.identity import lockout, services
from xietong.identity.models import LoginAttempt, User


class UsernameOrEmployeeNoBackend(ModelBackend):
    """Sign in with the login name (case-insensitive) or the 工号.

    Every call is logged and subject to the lockout (R-19, R-21), so any caller of
    ``django.contrib.auth.authenticate`` — the login form, the Django admin, later API
    logins — gets the same handling. Pass ``channel`` when the caller is not a web page, and
    ``two_step`` from the sign-in page, which goes on to the code step when the account has
    two-factor sign-in (the outcome's result is then ``second_factor``).
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        channel: str | None = None,
        two_step: bool = False,
        **kw: Any,
    ) -> User | None:
        if not username or password is None:
            return None
        if channel is None:
            on_api = request is not None and request.path.startswith("/api/")
            channel = LoginAttempt.Channel.API if on_api else LoginAttempt.Channel.WEB
        outcome = services.login_authenticate(
            username=username,
            password=password,
            ip=http.client_ip(request),
            user_agent=http.user_agent(request),
            channel=channel,
            two_step=two_step,
        )
        lockout.remember_outcome(request, outcome)
        return outcome.user
