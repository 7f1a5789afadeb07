from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from xietong.core import access, clock, http
from xietong.core.errors import DomainError
from xietong.core.permissions import permission_required
from xietong.identity import account_views, lockout, policy, reauth, selectors, services
from xietong.identity.context_processors import WARNING_DISMISSED_ON
from xietong.identity.forms import (
    ConfirmPasswordForm,
    LoginForm,
    LoginLogFilterForm,
    PasswordChangeForm,
    PasswordPolicyForm,
    SetPasswordForm,
)
from xietong.identity.models import LoginAttempt, PasswordPolicy, UserSession
from xietong.identity.tokens import reset_tokens
from xietong.identity.types import AuthedRequest

LOGIN_LOG_PAGE_SIZE = 50


# Why the last session ended, for the notice on the sign-in page (``?expired=``).
_EXPIRED_NOTICES = {
    "idle": gettext_lazy("您已长时间未操作，为保护账号安全已自动退出，请重新登录。"),
    "expired": gettext_lazy("本次登录已超过最长使用时限，请重新登录。"),
    "ended_by_admin": gettext_lazy("您的登录会话已被结束，请重新登录。"),
}


class LoginView(auth_views.LoginView):
    template_name = "identity/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        outcome = lockout.remembered_outcome(self.request)
        if outcome is not None and outcome.result == LoginAttempt.Result.SECOND_FACTOR:
            # Right password, code still to come: not signed in yet (IA-06).
            account_views.second_factor_begin(self.request, form.get_user(), self.get_success_url())
            return redirect("identity:two_factor_verify")
        return super().form_valid(form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        notice = _EXPIRED_NOTICES.get(self.request.GET.get("expired", ""))
        if notice and self.request.method == "GET":
            context["session_notice"] = notice
        return context


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user  # gone from the request once the session is flushed
        response = super().post(request, *args, **kwargs)
        if user.is_authenticated:
            services.logout_record(
                user=user,
                ip=http.client_ip(request),
                user_agent=http.user_agent(request),
                channel=LoginAttempt.Channel.WEB,
            )
        return response


def _next_or(request: HttpRequest, default: str) -> str:
    """The ``next`` parameter when it points back into this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


@login_required
def password_change(request: AuthedRequest) -> HttpResponse:
    user = request.user
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The form checked the current password: that counts as a fresh check (SES-07).
        reauth.mark_checked(request)
        try:
            services.user_change_password(
                user=user, new_password=form.cleaned_data["new_password1"], request=request
            )
        except ValidationError as exc:  # a change from another session in between
            form.add_error(None, exc)
        else:
            old_key = request.session.session_key
            update_session_auth_hash(request, user)  # a new session id (SES-03)
            new_key = request.session.session_key
            services.session_rekey(old_key=old_key, new_key=new_key)
            # The other sessions stopped working with the old password; end their records and
            # WebSockets now rather than at their next request.
            services.user_sessions_end(
                user=user,
                actor=user,
                reason=UserSession.EndReason.PASSWORD_CHANGED,
                keep=new_key,
                request=request,
            )
            messages.success(request, _("密码已修改。"))
            return redirect(_next_or(request, "workbench:home"))
    return render(
        request,
        "identity/password_change.html",
        {
            "form": form,
            "forced": policy.change_forced(user),
            "expired": not user.must_change_password and policy.password_expired(user),
            "breadcrumbs": [(_("修改密码"), None)],
        },
    )


@permission_required("identity.read_login_log", "identity.review_logins")
@require_http_methods(["GET", "POST"])
def login_log(request: AuthedRequest) -> HttpResponse:
    """Review sign-ins and release locks (R-20, R-21)."""
    if request.method == "POST":
        username = request.POST.get("username", "")
        try:
            services.account_unlock(
                actor=request.user,
                username=username,
                ip=http.client_ip(request),
                user_agent=http.user_agent(request),
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已解除“%(username)s”的登录锁定。") % {"username": username.strip()})
        return redirect(request.get_full_path())

    form = LoginLogFilterForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    page = None
    if valid:
        filters = form.filters() if form.is_bound else selectors.LoginLogFilter()
        paginator = Paginator(selectors.login_attempt_list(filters), LOGIN_LOG_PAGE_SIZE)
        page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "identity/login_log.html",
        {
            "form": form,
            "page": page,
            "filter_query": query.urlencode(),
            "filtered": any(v for k, v in request.GET.items() if k != "page"),
            "can_unlock": access.can(request.user, "identity.unlock"),
            "can_review_anomalies": access.can(request.user, "identity.review_logins"),
            "locked_accounts": selectors.locked_accounts(),
            "locked_addresses": selectors.locked_addresses(),
            "breadcrumbs": [(_("账号与安全"), None), (_("登录日志"), None)],
        },
    )


@require_POST
@login_required
def password_warning_dismiss(request: AuthedRequest) -> HttpResponse:
    """Close the expiry warning for the rest of the day (it returns tomorrow)."""
    request.session[WARNING_DISMISSED_ON] = clock.localdate().isoformat()
    return redirect(_next_or(request, "workbench:home"))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def confirm(request: AuthedRequest) -> HttpResponse:
    """Enter the password again before a sensitive change (SES-07)."""
    form = ConfirmPasswordForm(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        reauth.mark_checked(request)
        return redirect(_next_or(request, "workbench:home"))
    return render(request, "identity/confirm.html", {"form": form, "next": _next_or(request, "")})


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The page a reset link opens: set a new password once, within 30 minutes (IA-11).

    Django's view moves the token out of the address into the session before showing the
    form, so it cannot leak through the Referer header.
    """

    template_name = "identity/password_reset_confirm.html"
    form_class = SetPasswordForm  # type: ignore[assignment]
    token_generator = reset_tokens
    success_url = reverse_lazy("identity:password_reset_done")

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form: Any) -> HttpResponse:
        user = self.user
        if user is None:  # not reached: the form is only shown for a valid link
            raise Http404
        services.user_set_password_from_link(
            user=user, new_password=form.cleaned_data["new_password1"], request=self.request
        )
        self.request.session.pop(auth_views.INTERNAL_RESET_SESSION_TOKEN, None)
        return redirect(self.get_success_url())


def password_reset_done(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/password_reset_done.html")


@permission_required("identity.manage_policy")
@reauth.recent_auth_required
@require_http_methods(["GET", "POST"])
def password_policy(request: AuthedRequest) -> HttpResponse:
    """The security administrator's password policy page (R-03…R-05, R-24)."""
    row = PasswordPolicy.objects.select_related("updated_by").filter(pk=PasswordPolicy.SINGLETON_ID).first()
    in_force = policy.current()
    form = PasswordPolicyForm(
        request.POST or None, initial={name: getattr(in_force, name) for name in policy.FIELDS}
    )
    if request.method == "POST":
        values: dict[str, object] | None = None
        if "defaults" in request.POST:  # always valid: a profile's defaults
            profile = request.POST.get("profile", policy.DENGBAO)
            defaults = policy.PROFILE_DEFAULTS.get(profile, policy.PROFILE_DEFAULTS[policy.DENGBAO])
            values = {name: getattr(defaults, name) for name in policy.FIELDS}
        elif form.is_valid():
            values = dict(form.cleaned_data)
        if values is not None:
            try:
                services.password_policy_update(actor=request.user, values=values, request=request)
            except policy.PolicyInvalidError as exc:
                for name, message in exc.errors.items():
                    form.add_error(name if name in form.fields else None, message)
            else:
                messages.success(request, _("密码策略已保存，自下一次请求起生效。"))
                return redirect("identity:password_policy")
    return render(
        request,
        "identity/password_policy.html",
        {
            "form": form,
            "row": row,
            "in_force": in_force,
            "asvs_defaults": policy.PROFILE_DEFAULTS[policy.ASVS],
            "breadcrumbs": [(_("账号与安全"), None), (_("密码策略"), None)],
        },
    )
