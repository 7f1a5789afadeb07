from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from xietong.core import outbound
from xietong.notify import kinds
from xietong.notify.models import Channel, Webhook
from xietong.notify.selectors import Preferences
from xietong.org.models import OrgUnit

HOURS = [(hour, f"{hour:02d}:00") for hour in range(24)]
TIME_INPUT = forms.TimeInput(attrs={"type": "time", "class": "form-control form-control-sm"}, format="%H:%M")


def choice_field(kind: str, channel: str) -> str:
    return f"{channel}:{kind}"


class PreferencesForm(forms.Form):
    """A toggle per registered kind and channel, quiet hours and the digest."""

    quiet_start = forms.TimeField(label=_("免打扰开始"), required=False, widget=TIME_INPUT)
    quiet_end = forms.TimeField(label=_("免打扰结束"), required=False, widget=TIME_INPUT)
    digest = forms.BooleanField(label=_("每日汇总邮件"), required=False)
    digest_hour = forms.TypedChoiceField(
        label=_("汇总发送时刻"),
        choices=HOURS,
        coerce=int,
        initial=8,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    def __init__(self, data: Any = None, *, preferences: Preferences) -> None:
        settings = preferences.settings
        initial: dict[str, Any] = {
            "quiet_start": settings.quiet_start,
            "quiet_end": settings.quiet_end,
            "digest": settings.digest,
            "digest_hour": settings.digest_hour,
        }
        for row in preferences.kinds:
            initial[choice_field(row.code, Channel.IN_APP)] = row.in_app
            initial[choice_field(row.code, Channel.EMAIL)] = row.email
        super().__init__(data, initial=initial)
        self.kind_rows = []
        for row in preferences.kinds:
            names = []
            for channel, label in Channel.choices:
                name = choice_field(row.code, channel)
                self.fields[name] = forms.BooleanField(
                    label=f"{row.label} · {label}",
                    required=False,
                    widget=forms.CheckboxInput(attrs={"class": "form-check-input", "role": "switch"}),
                )
                names.append(name)
            self.kind_rows.append((row, [self[name] for name in names]))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("quiet_start"), data.get("quiet_end")
        if (start is None) != (end is None):
            raise forms.ValidationError(_("免打扰时段需同时填写开始和结束时间。"))
        if start is not None and start == end:
            raise forms.ValidationError(_("免打扰的开始和结束时间不能相同。"))
        return data

    def choices(self) -> dict[str, dict[str, bool]]:
        result: dict[str, dict[str, bool]] = {}
        for kind in kinds.all_kinds():
            result[kind.code] = {
                channel: bool(self.cleaned_data.get(choice_field(kind.code, channel)))
                for channel in Channel.values
            }
        return result


class UnitField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        # Indented by depth: the units in path order read as the org chart.
        return "\u3000" * max(int(obj.depth) - 1, 0) + str(obj.name)


class WebhookForm(forms.ModelForm):  # type: ignore[type-arg]
    secret = forms.CharField(
        label=_("签名密钥"),
        required=False,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("钉钉“加签”、飞书“签名校验”的密钥（SEC 开头等）；修改时留空表示不变"),
    )
    url = forms.URLField(
        label=_("Webhook 地址"),
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://oapi.dingtalk.com/robot/send?access_token=…"}),
    )
    unit = UnitField(
        label=_("对应单位"),
        queryset=OrgUnit.objects.filter(is_active=True).order_by("path"),
        required=False,
        empty_label=_("（全员）"),
        help_text=_("只推送发给该单位（含下级）全体人员的通知；不选则只推送发给全员的通知"),
    )
    kinds = forms.MultipleChoiceField(
        label=_("通知类别"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text=_("不选则推送所有类别；急办通知总会推送"),
    )

    class Meta:
        model = Webhook
        fields = [
            "name",
            "format",
            "url",
            "secret",
            "unit",
            "kinds",
            "urgent_only",
            "quiet_start",
            "quiet_end",
            "is_active",
        ]
        widgets = {
            "quiet_start": TIME_INPUT,
            "quiet_end": TIME_INPUT,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        registered = [(kind.code, f"{kind.label}（{kind.code}）") for kind in kinds.all_kinds()]
        chosen = [(code, code) for code in (self.instance.kinds or []) if code not in dict(registered)]
        kind_field = self.fields["kinds"]
        assert isinstance(kind_field, forms.MultipleChoiceField)  # noqa: S101  (declared above)
        kind_field.choices = registered + chosen
        self.initial.setdefault("kinds", list(self.instance.kinds or []))
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(field.widget, forms.Select):
                field.widget.attrs.setdefault("class", "form-select")
            elif not isinstance(field.widget, forms.CheckboxSelectMultiple) and name not in (
                "quiet_start",
                "quiet_end",
            ):
                field.widget.attrs.setdefault("class", "form-control")

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            outbound.check_url(url, resolve=False)
        except outbound.OutboundRefusedError as exc:
            raise forms.ValidationError(exc.message) from None
        return url

    def clean_secret(self) -> str:
        secret: str = self.cleaned_data.get("secret") or ""
        # A blank field on an existing webhook keeps its secret (it is never shown again).
        return secret or (self.instance.secret if self.instance.pk else "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("quiet_start"), data.get("quiet_end")
        if (start is None) != (end is None):
            raise forms.ValidationError(_("免打扰时段需同时填写开始和结束时间。"))
        if start is not None and start == end:
            raise forms.ValidationError(_("免打扰的开始和结束时间不能相同。"))
        return data
