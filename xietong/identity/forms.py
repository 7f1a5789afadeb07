from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import password_validators_help_texts, validate_password
from django.utils.translation import gettext_lazy as _

from xietong.identity.models import User


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("用户名或工号"), max_length=64, widget=forms.TextInput(attrs={"autofocus": True})
    )
    error_messages = {
        # One message for every failure: it never reveals whether the account exists.
        "invalid_login": _("用户名或密码错误，请重新输入。"),
        "inactive": _("用户名或密码错误，请重新输入。"),
    }


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
        self.fields["new_password1"].help_text = " ".join(password_validators_help_texts())

    def clean_old_password(self) -> str:
        value: str = self.cleaned_data["old_password"]
        if not self.user.check_password(value):
            raise forms.ValidationError(_("当前密码不正确。"), code="password_incorrect")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
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
