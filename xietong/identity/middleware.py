from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from xietong.core.errors import error_response
from xietong.identity import policy

# Paths reachable before the one-time or expired password is replaced.
_ALLOWED_PREFIXES = (
    "/static/",
    "/i18n/",
    "/healthz",
    "/readyz",
    "/account/password/",
    "/account/logout/",
    "/account/reset/",
)


class PasswordChangeRequiredMiddleware:
    """Block every page and API call until an initial or reset password (R-06) or an expired
    one (R-05) is changed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or request.path.startswith(_ALLOWED_PREFIXES):
            return self.get_response(request)
        if getattr(user, "must_change_password", False):
            code, message = "password_change_required", _("请先修改初始密码。")
        elif policy.password_expired(user):
            code, message = "password_expired", _("您的密码已过期，请先修改密码。")
        else:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return error_response(403, code, message)
        return redirect(
            f"{reverse('identity:password_change')}?{urlencode({'next': request.get_full_path()})}"
        )
