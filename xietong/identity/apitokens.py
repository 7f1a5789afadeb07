"""``Authorization: Bearer xt_…`` for the REST API (IA-05): personal tokens beside the session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from xietong.core import http
from xietong.identity import services


class ApiTokenAuth(HttpBearer):
    """Listed before the session auth in ``xietong.api``: the session auth checks CSRF first
    and refuses a token request for lacking it, while a token needs no CSRF token (it is not
    sent by the browser on its own). Without an ``Authorization: Bearer`` header it answers
    None and the session auth decides; with one, a bad token is refused (401) outright instead
    of falling back to a cookie that may ride along.
    """

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user, row = services.api_token_authenticate(
            raw=token,
            ip=http.client_ip(request),
            user_agent=http.user_agent(request),
            method=request.method or "GET",
        )
        # The endpoints read request.user like under the session auth.
        request.user = user
        request.api_token = row  # type: ignore[attr-defined]
        return user
