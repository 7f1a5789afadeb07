from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from xietong.identity import services
from xietong.identity.forms import LoginForm, PasswordChangeForm
from xietong.identity.types import AuthedRequest


class LoginView(auth_views.LoginView):
    template_name = "identity/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def password_change(request: AuthedRequest) -> HttpResponse:
    user = request.user
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.user_change_password(user=user, new_password=form.cleaned_data["new_password1"])
        update_session_auth_hash(request, user)
        messages.success(request, _("密码已修改。"))
        target = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(
            target, {request.get_host()}, require_https=request.is_secure()
        ):
            target = "workbench:home"
        return redirect(target)
    return render(
        request,
        "identity/password_change.html",
        {"form": form, "forced": user.must_change_password, "breadcrumbs": [(_("修改密码"), None)]},
    )
