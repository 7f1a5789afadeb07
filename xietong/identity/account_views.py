"""Account security pages: two-factor sign-in, signed-in devices, API tokens, anomaly review.

Pages that change a credential (enable or disable two-factor, new recovery codes, new
tokens, ending sessions) require a password check from the last five minutes (SES-07).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from xietong.core import clock, http
from xietong.core.errors import DomainError
from xietong.core.permissions import permission_required
from xietong.identity import anomalies, reauth, selectors, services, sessions, twofactor
from xietong.identity.forms import AnomalyFilterForm, ApiTokenForm, SecondFactorForm, TwoFactorConfirmForm
from xietong.identity.lockout import LoginOutcome
from xietong.identity.models import ApiToken, LoginAnomaly, LoginAttempt, User, UserSession
from xietong.identity.types import AuthedRequest

# How long the code step waits after the password: long enough to open the app.
PENDING_FOR = dt.timedelta(minutes=5)
ANOMALY_PAGE_SIZE = 50


def _safe_next(request: HttpRequest, target: str | None, default: str = "/") -> str:
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# -- the code step of sign-in -----------------------------------------------------------------


def second_factor_begin(request: HttpRequest, user: User, next_url: str) -> None:
    """Remember, in the still anonymous session, whose password was right; a new session id
    first, so that a planted session cannot ride on it."""
    request.session.cycle_key()
    request.session[twofactor.SESSION_PENDING] = {
        "user": user.pk,
        "backend": getattr(user, "backend", ""),
        "at": clock.now().timestamp(),
        "next": next_url,
    }


def _pending(request: HttpRequest) -> tuple[User | None, dict[str, Any]]:
    data = request.session.get(twofactor.SESSION_PENDING)
    if not isinstance(data, dict):
        return None, {}
    started = dt.datetime.fromtimestamp(float(data.get("at", 0)), tz=dt.UTC)
    if not dt.timedelta(0) <= clock.now() - started <= PENDING_FOR:
        request.session.pop(twofactor.SESSION_PENDING, None)
        return None, {}
    user_id = data.get("user")
    if not isinstance(user_id, int):
        return None, {}
    return User.objects.filter(pk=user_id, is_active=True).first(), data


def mark_verified(request: HttpRequest) -> None:
    """This session passed a code step: a new session id (SES-03), and the mark the
    administrator 2FA rule looks for."""
    old_key = request.session.session_key
    request.session.cycle_key()
    services.session_rekey(old_key=old_key, new_key=request.session.session_key)
    request.session[twofactor.SESSION_VERIFIED_AT] = clock.now().timestamp()


@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """Enter a code from the authenticator app, or a recovery code.

    Serves the second step of a sign-in (the session holds a pending sign-in) and the step-up
    of a signed-in session that has not passed it yet (an administrator signed in another way).
    """
    signed_in = request.user.is_authenticated
    user: User | None
    if signed_in:
        user = request.user  # type: ignore[assignment]
        data: dict[str, Any] = {"next": request.GET.get("next") or request.POST.get("next")}
        if request.session.get(twofactor.SESSION_VERIFIED_AT) or not twofactor.has_confirmed_device(user):
            return redirect(_safe_next(request, data["next"]))
    else:
        user, data = _pending(request)
    if user is None:
        messages.warning(request, _("验证已超时，请重新登录。"))
        return redirect("identity:login")
    form = SecondFactorForm(request.POST or None)
    locked_message = None
    if request.method == "POST" and form.is_valid():
        outcome: LoginOutcome = services.second_factor_verify(
            user=user,
            code=form.cleaned_data["code"],
            ip=http.client_ip(request),
            user_agent=http.user_agent(request),
        )
        if outcome.result == LoginAttempt.Result.SUCCESS:
            target = _safe_next(request, data.get("next"))
            if signed_in:
                mark_verified(request)
            else:
                request.session.pop(twofactor.SESSION_PENDING, None)
                auth_login(request, user, backend=data.get("backend") or None)  # cycles the id
                request.session[twofactor.SESSION_VERIFIED_AT] = clock.now().timestamp()
            if outcome.reason == "recovery_code":
                left = twofactor.recovery_codes_left(user)
                messages.warning(
                    request,
                    _("您使用了一个恢复码，还剩 %(left)d 个。恢复码用完前请在“两步验证”页面重新生成。")
                    % {"left": left},
                )
            return redirect(target)
        if outcome.locked or outcome.result in (LoginAttempt.Result.LOCKED, LoginAttempt.Result.INACTIVE):
            # The sign-in is over: a locked account does not get to keep trying codes.
            locked_message = outcome.message or _("验证失败，请重新登录。")
            if signed_in:
                logout(request)
            else:
                request.session.pop(twofactor.SESSION_PENDING, None)
        else:
            form.add_error("code", _("验证码不正确或已使用，请重新输入。"))
    return render(
        request,
        "identity/two_factor_verify.html",
        {"form": form, "locked_message": locked_message, "next": data.get("next") or ""},
    )


# -- two-factor settings ------------------------------------------------------------------------


def _forced_enrolment(request: AuthedRequest) -> bool:
    from django.conf import settings

    return bool(settings.XIETONG_REQUIRE_ADMIN_2FA and sessions.is_admin_tier(request.user))


@never_cache
@login_required
def two_factor(request: AuthedRequest) -> HttpResponse:
    user = request.user
    device = twofactor.confirmed_device(user)
    return render(
        request,
        "identity/two_factor.html",
        {
            "device": device,
            "codes_left": twofactor.recovery_codes_left(user) if device else 0,
            "required": _forced_enrolment(request),
            "breadcrumbs": [(_("两步验证"), None)],
        },
    )


@never_cache
@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: AuthedRequest) -> HttpResponse:
    """Enrol an authenticator app: scan the QR code (or type the key), confirm with a code."""
    user = request.user
    if twofactor.has_confirmed_device(user):
        messages.info(request, _("您已启用两步验证。如需更换手机，请先停用后重新启用。"))
        return redirect("identity:two_factor")
    forced = _forced_enrolment(request)
    form = TwoFactorConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.two_factor_enable(user=user, code=form.cleaned_data["code"], request=request)
        if codes is not None:
            mark_verified(request)
            return _show_recovery_codes(request, codes, just_enabled=True)
        form.add_error("code", _("验证码不正确，请确认手机时间准确后输入应用中当前显示的验证码。"))
    device = twofactor.pending_device(user)
    return render(
        request,
        "identity/two_factor_setup.html",
        {
            "form": form,
            "forced": forced,
            "qr_svg": twofactor.qr_svg(device),
            "manual_key": twofactor.manual_key(device),
            "next": _safe_next(request, request.GET.get("next"), ""),
            "breadcrumbs": [(_("两步验证"), reverse("identity:two_factor")), (_("启用"), None)],
        },
    )


def _show_recovery_codes(request: AuthedRequest, codes: list[str], *, just_enabled: bool) -> HttpResponse:
    # Rendered in the response to the POST, never stored for a later page: shown once.
    return render(
        request,
        "identity/recovery_codes.html",
        {
            "codes": codes,
            "just_enabled": just_enabled,
            "next": _safe_next(request, request.GET.get("next") or request.POST.get("next"), ""),
            "breadcrumbs": [(_("两步验证"), reverse("identity:two_factor")), (_("恢复码"), None)],
        },
    )


@never_cache
@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def recovery_codes_regenerate(request: AuthedRequest) -> HttpResponse:
    if request.method == "GET":  # back from the password check: submit again from the page
        return redirect("identity:two_factor")
    try:
        codes = services.recovery_codes_regenerate(user=request.user, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("identity:two_factor")
    return _show_recovery_codes(request, codes, just_enabled=False)


@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def two_factor_disable(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        services.two_factor_disable(user=request.user, request=request)
        request.session.pop(twofactor.SESSION_VERIFIED_AT, None)
        messages.success(request, _("已停用两步验证。"))
    return redirect("identity:two_factor")


# -- signed-in devices (SES-04, SES-05) ---------------------------------------------------------


def _session_rows(rows: list[UserSession], current_key: str | None) -> list[dict[str, Any]]:
    return [
        {
            "session": row,
            "device": anomalies.device_family(row.user_agent),
            "current": row.session_key == current_key,
        }
        for row in rows
    ]


@never_cache
@login_required
def session_list(request: AuthedRequest) -> HttpResponse:
    rows = selectors.active_sessions(request.user)
    return render(
        request,
        "identity/sessions.html",
        {
            "rows": _session_rows(rows, request.session.session_key),
            "others": sum(1 for row in rows if row.session_key != request.session.session_key),
            "idle_minutes": int(sessions.idle_limit(request.user).total_seconds() // 60),
            "absolute_hours": int(sessions.absolute_limit(request.user).total_seconds() // 3600),
            "breadcrumbs": [(_("登录设备"), None)],
        },
    )


@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def session_end(request: AuthedRequest, session_id: int) -> HttpResponse:
    if request.method == "GET":
        return redirect("identity:sessions")
    current = request.session.session_key
    try:
        row = services.session_end_own(user=request.user, session_id=session_id, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("identity:sessions")
    if row.session_key == current:
        logout(request)
        return redirect("identity:login")
    messages.success(request, _("已结束该设备上的登录。"))
    return redirect("identity:sessions")


@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def sessions_end_others(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        count = services.user_sessions_end(
            user=request.user,
            actor=request.user,
            reason=UserSession.EndReason.ENDED_BY_USER,
            keep=request.session.session_key,
            request=request,
        )
        messages.success(request, _("已结束其他 %(count)d 个设备上的登录。") % {"count": count})
    return redirect("identity:sessions")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def user_sessions(request: AuthedRequest, user_id: int) -> HttpResponse:
    """An administrator's view of one account's sessions, with "end all" (SES-04)."""
    account = get_object_or_404(User, pk=user_id)
    if not services.can_manage_sessions_of(request.user, account):
        raise PermissionDenied
    if request.method == "POST":
        if not reauth.is_recent(request):
            return redirect(reauth.confirm_url(request.get_full_path()))
        count = services.user_sessions_end_by_admin(actor=request.user, user=account, request=request)
        messages.success(
            request, _("已结束 %(name)s 的 %(count)d 个登录会话。") % {"name": account, "count": count}
        )
        return redirect(request.get_full_path())
    rows = selectors.active_sessions(account)
    return render(
        request,
        "identity/user_sessions.html",
        {
            "account": account,
            "rows": _session_rows(rows, request.session.session_key),
            "breadcrumbs": [(_("账号与安全"), None), (_("登录会话"), None), (str(account), None)],
        },
    )


# -- personal API tokens (IA-05) ------------------------------------------------------------------

NEW_TOKEN_KEY = "identity.new_token"  # noqa: S105  (a session key, not a secret)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: AuthedRequest) -> HttpResponse:
    user = request.user
    form = ApiTokenForm(request.POST or None)
    allowed = not sessions.is_admin_tier(user)
    if request.method == "POST":
        if not reauth.is_recent(request):
            return redirect(reauth.confirm_url(request.get_full_path()))
        if form.is_valid():
            try:
                token, raw = services.api_token_create(
                    user=user,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    days=form.cleaned_data["days"],
                    request=request,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                # Post/redirect/get, so a reload cannot create a second token; the secret
                # waits in the server-side session for exactly one page view.
                request.session[NEW_TOKEN_KEY] = [token.pk, raw]
                return redirect("identity:tokens")
    created, raw_token = None, None
    if request.method == "GET" and NEW_TOKEN_KEY in request.session:
        token_id, raw_token = request.session.pop(NEW_TOKEN_KEY)
        created = ApiToken.objects.filter(pk=token_id, user=user).first()
    return render(
        request,
        "identity/tokens.html",
        {
            "form": form,
            "allowed": allowed,
            "created": created,
            "raw_token": raw_token if created else None,
            "tokens": selectors.api_tokens(user),
            "now": clock.now(),
            "breadcrumbs": [(_("访问令牌"), None)],
        },
    )


@require_POST
@login_required
def token_revoke(request: AuthedRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    if services.api_token_revoke(token=token, actor=request.user, request=request):
        messages.success(request, _("已撤销访问令牌“%(name)s”。") % {"name": token.name})
    return redirect("identity:tokens")


# -- login anomaly review (R-21) ------------------------------------------------------------------


@never_cache
@permission_required("identity.review_logins")
def anomaly_list(request: AuthedRequest) -> HttpResponse:
    form = AnomalyFilterForm(request.GET or {"status": "open"})
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    rows = selectors.login_anomalies(kind=data.get("kind") or "", status=data.get("status") or "open")
    page = Paginator(rows, ANOMALY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "identity/anomalies.html",
        {
            "form": form,
            "page": page,
            "filter_query": query.urlencode(),
            "open_count": LoginAnomaly.objects.filter(reviewed_at__isnull=True).count(),
            "breadcrumbs": [(_("账号与安全"), None), (_("登录异常审查"), None)],
        },
    )


@require_POST
@permission_required("identity.review_logins")
def anomaly_review(request: AuthedRequest, anomaly_id: int) -> HttpResponse:
    anomaly = get_object_or_404(LoginAnomaly.objects.select_related("user"), pk=anomaly_id)
    try:
        services.login_anomaly_review(
            actor=request.user, anomaly=anomaly, note=request.POST.get("note", ""), request=request
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已标记为已处理。"))
    return redirect(_safe_next(request, request.POST.get("next"), reverse("identity:anomalies")))
