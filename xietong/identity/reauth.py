"""Re-authentication before sensitive changes (SES-07; ASVS 7.5.1).

Changing the password, two-factor settings, roles or the security policy needs a password
check from the last five minutes. Sign-in records one (``user_logged_in`` receiver), so does
the ``/account/confirm/`` page and the password-change form, which asks for the current one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from xietong.core import clock
from xietong.core.errors import DomainError, error_response

SESSION_KEY = "auth_checked_at"
WINDOW = dt.timedelta(minutes=5)

View = TypeVar("View", bound=Callable[..., HttpResponse])


class ReauthRequiredError(DomainError):
    status = 403
    code = "reauth_required"

    def __init__(self) -> None:
        super().__init__(_("此操作需要再次验证密码，请先确认身份后重试。"))


def mark_checked(request: HttpRequest) -> None:
    """Remember that the password was checked just now in this session."""
    request.session[SESSION_KEY] = clock.now().timestamp()


def is_recent(request: HttpRequest) -> bool:
    checked = request.session.get(SESSION_KEY)
    if not isinstance(checked, int | float):
        return False
    age = clock.now() - dt.datetime.fromtimestamp(checked, tz=dt.UTC)
    # A check "from the future" (clock moved back in tests) is not trusted either.
    return dt.timedelta(0) <= age <= WINDOW


def ensure_recent(request: HttpRequest) -> None:
    """For API operations and services: raise ``ReauthRequiredError`` (403 ``reauth_required``)."""
    if not is_recent(request):
        raise ReauthRequiredError


def confirm_url(next_url: str) -> str:
    return f"{reverse('identity:confirm')}?{urlencode({'next': next_url})}"


def recent_auth_required(view: View) -> View:
    """Signed in and a password check within five minutes.

    Pages send the user to ``/account/confirm/`` and back; API calls get 403
    ``reauth_required`` in the error body. The form is guarded as well as its submission, so
    the password is asked for before anything is typed, not after.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_recent(request):
            if request.path.startswith("/api/"):
                error = ReauthRequiredError()
                return error_response(error.status, error.code, error.message)
            # A stale POST comes back as the page (GET) after confirming, to be submitted again.
            return redirect(confirm_url(request.get_full_path()))
        return view(request, *args, **kwargs)

    return login_required(wrapper)  # type: ignore[return-value]
