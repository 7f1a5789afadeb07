from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from xietong.core.errors import error_response

# Paths reachable before the one-time password is replaced.
_ALLOWED_PREFIXES = ("/static/", "/i18n/", "/healthz", "/readyz", "/account/password/", "/account/logout/")


class PasswordChangeRequiredMiddleware:
    """Block every page and API call until an initial or reset password is changed (R-06)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and getattr(user, "must_change_password", False)
            and not request.path.startswith(_ALLOWED_PREFIXES)
        ):
            if request.path.startswith("/api/"):
                return error_response(403, "password_change_required", _("请先修改初始密码。"))
            return redirect(f"{reverse('identity:password_change')}?next={request.get_full_path()}")
        return self.get_response(request)
