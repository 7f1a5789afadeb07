from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xietong.identity import lockout, passwords, policy, services
from xietong.identity.models import ApiToken, LoginAnomaly, LoginAttempt, PasswordPolicy, User
from xietong.identity.selectors import LoginLogFilter


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("用户名或工号"), max_length=64, widget=forms.TextInput(attrs={"autofocus": True})
    )
    error_messages = {
        # One message for every failure: it never reveals whether the account exists.
        "invalid_login": _("用户名或密码错误，请重新输入。"),
        "inactive": _("用户名或密码错误，请重新输入。"),
    }

    def clean(self) -> dict[str, Any]:
        # AuthenticationForm.clean, asking for the two-step handling of the sign-in page.
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            self.user_cache = authenticate(self.request, username=username, password=password, two_step=True)
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def get_invalid_login_error(self) -> ValidationError:
        # The backend can only answer "no user"; a lock needs its own message.
        outcome = lockout.remembered_outcome(self.request)
        if outcome is not None and outcome.message:
            return ValidationError(outcome.message, code="locked")
        return super().get_invalid_login_error()


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("当前密码"), strip=False, widget=forms.PasswordInput)
    new_password1 = forms.CharField(
        label=_("新密码"), strip=False, max_length=128, widget=forms.PasswordInput
    )
    new_password2 = forms.CharField(
        label=_("确认新密码"), strip=False, max_length=128, widget=forms.PasswordInput
    )

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = " ".join(passwords.help_texts())

    def clean_old_password(self) -> str:
        value: str = self.cleaned_data["old_password"]
        if not self.user.check_password(value):
            raise forms.ValidationError(_("当前密码不正确。"), code="password_incorrect")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            services.password_change_allowed(self.user)  # said before the rules, it is the real hold-up
        except ValidationError as exc:
            self.add_error(None, exc)
            return data
        new1, new2 = data.get("new_password1"), data.get("new_password2")
        if new1 and new2 and new1 != new2:
            self.add_error("new_password2", _("两次输入的新密码不一致。"))
        elif new1:
            if new1 == data.get("old_password"):
                self.add_error("new_password1", _("新密码不能与当前密码相同。"))
            else:
                try:
                    validate_password(new1, self.user)
                except forms.ValidationError as exc:
                    self.add_error("new_password1", exc)
        return data


class LoginLogFilterForm(forms.Form):
    """The filters of the login-log review page (R-20)."""

    username = forms.CharField(label=_("用户名包含"), max_length=150, required=False)
    result = forms.ChoiceField(
        label=_("结果"), choices=[("", _("全部")), *LoginAttempt.Result.choices], required=False
    )
    ip = forms.GenericIPAddressField(label=_("IP 地址"), required=False)
    date_from = forms.DateField(
        label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            select = isinstance(field, forms.ChoiceField)
            css = "form-select form-select-sm" if select else "form-control form-control-sm"
            field.widget.attrs.setdefault("class", css)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("截止日期不能早于起始日期。"))
        return data

    def filters(self) -> LoginLogFilter:
        """The filter to apply; call after ``is_valid()``."""
        data = self.cleaned_data

        def day_start(day: dt.date) -> dt.datetime:
            return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

        start, end = data.get("date_from"), data.get("date_to")
        return LoginLogFilter(
            username=data.get("username") or "",
            result=data.get("result") or "",
            ip=data.get("ip") or "",
            since=day_start(start) if start else None,
            # The end date is inclusive for the reader: up to the start of the next day.
            until=day_start(end + dt.timedelta(days=1)) if end else None,
        )


class SetPasswordForm(forms.Form):
    """A new password without the current one: the page a reset link opens (IA-11)."""

    new_password1 = forms.CharField(
        label=_("新密码"), strip=False, max_length=128, widget=forms.PasswordInput
    )
    new_password2 = forms.CharField(
        label=_("确认新密码"), strip=False, max_length=128, widget=forms.PasswordInput
    )

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = " ".join(passwords.help_texts())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        new1, new2 = data.get("new_password1"), data.get("new_password2")
        if new1 and new2 and new1 != new2:
            self.add_error("new_password2", _("两次输入的新密码不一致。"))
        elif new1:
            try:
                validate_password(new1, self.user)
            except ValidationError as exc:
                self.add_error("new_password1", exc)
        return data


class ConfirmPasswordForm(forms.Form):
    """The password again before a sensitive change (SES-07).

    Checked through ``authenticate``, so a wrong password here is logged and counts towards
    the lockout like one at the login page (IA-05).
    """

    password = forms.CharField(label=_("登录密码"), strip=False, widget=forms.PasswordInput)

    def __init__(self, request: Any, *args: Any, **kwargs: Any) -> None:
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        value: str = self.cleaned_data["password"]
        account = self.request.user
        checked = authenticate(self.request, username=account.username, password=value)
        if checked is None or checked.pk != account.pk:
            outcome = lockout.remembered_outcome(self.request)
            if outcome is not None and outcome.message:
                raise ValidationError(outcome.message, code="locked")
            raise ValidationError(_("密码不正确。"), code="password_incorrect")
        return value


class PasswordPolicyForm(forms.Form):
    """The security administrator's password policy (R-24). Ranges and profile rules are
    checked by ``policy.validation_errors`` through the service, in one place."""

    profile = forms.ChoiceField(
        label=_("策略配置"),
        choices=PasswordPolicy.Profile.choices,
        help_text=_("切换配置后，可点击“恢复所选配置的默认值”一并套用该配置的推荐设置。"),
    )
    min_length = forms.IntegerField(label=_("最小长度（字符）"))
    require_classes = forms.BooleanField(
        label=_("必须同时包含大写字母、小写字母、数字和特殊字符"), required=False
    )
    expiry_days = forms.IntegerField(label=_("有效期（天）"), help_text=_("0 表示永不过期"))
    warn_days = forms.IntegerField(label=_("过期前提醒（天）"))
    history_count = forms.IntegerField(
        label=_("不得与最近几次密码相同"), help_text=_("含当前密码；0 表示不检查")
    )
    min_change_interval_hours = forms.IntegerField(
        label=_("两次修改最短间隔（小时）"), help_text=_("首次登录、管理员重置和过期后的修改不受限制")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name in policy.RANGES:
                low, high = policy.RANGES[name]
                field.widget.attrs.update({"min": low, "max": high})
            if isinstance(field, forms.BooleanField):
                field.widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(field, forms.ChoiceField):
                field.widget.attrs.setdefault("class", "form-select")
            else:
                field.widget.attrs.setdefault("class", "form-control")


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label=_("验证码或恢复码"),
        max_length=32,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
                "class": "form-control form-control-lg text-center",
            }
        ),
    )


class TwoFactorConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("应用中显示的 6 位验证码"),
        max_length=8,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "class": "form-control form-control-lg text-center",
            }
        ),
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("名称"),
        max_length=64,
        help_text=_("用途说明，如“数据同步脚本”"),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    scope = forms.ChoiceField(
        label=_("权限范围"),
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.READ,
        help_text=_("只读令牌只能查询；读写令牌还可以提交修改"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    days = forms.IntegerField(
        label=_("有效期（天）"),
        min_value=1,
        max_value=settings.XIETONG_API_TOKEN_MAX_DAYS,
        initial=settings.XIETONG_API_TOKEN_DEFAULT_DAYS,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )


class AnomalyFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("类型"), choices=[("", _("全部")), *LoginAnomaly.Kind.choices], required=False
    )
    status = forms.ChoiceField(
        label=_("状态"),
        choices=[("open", _("待处理")), ("done", _("已处理")), ("all", _("全部"))],
        required=False,
        initial="open",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-select form-select-sm")
