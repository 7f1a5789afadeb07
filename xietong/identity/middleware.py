from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from xietong.core import clock
from xietong.core.errors import error_response
from xietong.identity import policy, services, sessions, twofactor
from xietong.identity.models import UserSession

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
# Paths reachable by an administrator-tier account before it has two-factor sign-in: the
# enrolment itself, the password check it may ask for, and the way out.
_SECOND_FACTOR_PREFIXES = (*_ALLOWED_PREFIXES, "/account/two-factor/", "/account/confirm/")
# Requests that are not the user doing something: they neither count as activity nor end
# a session (a health probe carries no session anyway).
_NOT_ACTIVITY_PREFIXES = ("/static/", "/healthz", "/readyz")


class SessionLifetimeMiddleware:
    """End sessions that idled out or outlived their absolute lifetime, on the server (SES-01,
    SES-02), and note activity for the idle timer and the 「登录设备」 list.

    Pages are sent to the sign-in page with a notice; API calls get 401 ``session_expired``.
    The session's record ends with reason ``idle``/``expired`` (login log and audit), its
    WebSockets close.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or request.path.startswith(_NOT_ACTIVITY_PREFIXES):
            return self.get_response(request)
        session = request.session
        now = clock.now()
        reason = sessions.over(session, user, now)
        if (
            reason is None
            and sessions.touch_due(session, now)
            and not services.session_touch(request=request, now=now)
        ):
            reason = UserSession.EndReason.ENDED_BY_ADMIN  # its record ended elsewhere
        if reason is None:
            return self.get_response(request)
        key = session.session_key
        record = UserSession.objects.select_related("user").filter(session_key=key).first() if key else None
        if record is not None:
            services.session_end(session=record, reason=reason, request=request)
        logout(request)
        if request.path.startswith("/api/"):
            return error_response(401, "session_expired", _("登录已超时，请重新登录。"))
        query = urlencode({"next": request.get_full_path(), "expired": reason})
        return redirect(f"{reverse(settings.LOGIN_URL)}?{query}")


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


class SecondFactorRequiredMiddleware:
    """The three administrator tiers use two-factor sign-in (IA-06): a session of such an
    account that has not passed the code step is sent to enrol (no device yet) or to enter a
    code (a device, but a session signed in another way), before any other page; API calls
    get 403 ``two_factor_required``.

    Switched by ``XIETONG_REQUIRE_ADMIN_2FA`` (off in the test overlay only). A session that
    passed the code step carries ``twofactor.SESSION_VERIFIED_AT`` and costs nothing more here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            not settings.XIETONG_REQUIRE_ADMIN_2FA
            or not user.is_authenticated
            or request.session.get(twofactor.SESSION_VERIFIED_AT)
            or request.path.startswith(_SECOND_FACTOR_PREFIXES)
            or not sessions.is_admin_tier(user)
        ):
            return self.get_response(request)
        enrolled = twofactor.has_confirmed_device(user)
        if request.path.startswith("/api/"):
            return error_response(403, "two_factor_required", _("管理员账号须先完成两步验证。"))
        target = reverse("identity:two_factor_verify" if enrolled else "identity:two_factor_setup")
        return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
