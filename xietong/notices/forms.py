"""Forms of the notice pages. They parse input only; the rules (required elements, audience,
deadlines, 密级) live in ``services`` and come back as ``DomainError`` details per field."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from xietong.core import classification
from xietong.identity.models import User
from xietong.notices.models import Notice, ReceiptMode, Reply, Urgency
from xietong.notices.services import NOTE_MAX, PLACE_MAX, REASON_MAX, TITLE_MAX, NoticeInput

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _datetime_field(label: Any, *, help_text: Any = "") -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format=DATETIME_FORMAT
        ),
        help_text=help_text,
        error_messages={"invalid": _("请输入有效的日期和时间。")},
    )


class ReferenceListField(forms.Field):
    """The chosen audience: ``user:7``, ``unit:3``, ``everyone`` (checked by the service)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        return [str(item).strip() for item in values if str(item).strip()][:500]


class NoticeForm(forms.Form):
    title = forms.CharField(
        label=_("通知事项"),
        max_length=TITLE_MAX,
        required=False,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": _("如：关于召开第四季度安全生产工作会议的通知")}
        ),
    )
    starts_at = _datetime_field(_("开始时间"))
    ends_at = _datetime_field(_("结束时间"), help_text=_("可不填"))
    place = forms.CharField(
        label=_("地点"),
        max_length=PLACE_MAX,
        required=False,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": _("如：总部三楼第一会议室、线上")}
        ),
    )
    audience = ReferenceListField(label=_("相关人员"), required=False)
    body = forms.CharField(label=_("正文"), required=False, widget=forms.Textarea(attrs={"rows": 10}))
    receipt_mode = forms.ChoiceField(
        label=_("回执要求"),
        choices=ReceiptMode.choices,
        initial=ReceiptMode.NONE,
        required=False,
        widget=forms.RadioSelect,
    )
    receipt_due = _datetime_field(_("回执截止时间"), help_text=_("可不填；参加回执不填则截止于开始时间"))
    urgent = forms.BooleanField(
        label=_("急办"),
        required=False,
        help_text=_("置顶标红，立即通过站内、邮件和群机器人推送，未读者每 30 分钟再次提醒"),
    )
    classification = forms.TypedChoiceField(
        label=_("密级"),
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    #: The files come from ``request.FILES``; the field carries their errors.
    attachments = forms.Field(label=_("附件"), required=False)
    signin_enabled = forms.BooleanField(
        label=_("现场签到"), required=False, help_text=_("生成签到二维码，参会人员到场扫码签到，形成签到名单")
    )

    def __init__(self, *args: Any, user: User, published: Notice | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        clearance = classification.clearance_of(user)
        level_field = cast(forms.TypedChoiceField, self.fields["classification"])
        level_field.choices = [
            (level, label) for level, label in classification.choices() if level <= max(clearance, 0)
        ]
        level_field.initial = classification.INTERNAL
        self.published = published
        if published is not None:
            # Fixed once published: withdraw and publish anew to change them.
            for name in ("audience", "receipt_mode", "urgent", "classification", "signin_enabled"):
                self.fields[name].disabled = True

    def to_input(self) -> NoticeInput:
        data = self.cleaned_data
        return NoticeInput(
            title=data.get("title") or "",
            body=data.get("body") or "",
            starts_at=data.get("starts_at"),
            ends_at=data.get("ends_at"),
            place=data.get("place") or "",
            audience=data.get("audience") or [],
            receipt_mode=data.get("receipt_mode") or ReceiptMode.NONE,
            receipt_due=data.get("receipt_due"),
            urgency=Urgency.URGENT if data.get("urgent") else Urgency.NORMAL,
            classification=(
                data["classification"] if data.get("classification") is not None else classification.INTERNAL
            ),
            signin_enabled=bool(data.get("signin_enabled")),
        )

    @staticmethod
    def initial_for(notice: Notice) -> dict[str, Any]:
        return {
            "title": notice.title,
            "body": notice.body,
            "starts_at": notice.starts_at,
            "ends_at": notice.ends_at,
            "place": notice.place,
            "audience": list(notice.audience),
            "receipt_mode": notice.receipt_mode,
            "receipt_due": notice.receipt_due,
            "urgent": notice.is_urgent,
            "classification": notice.classification,
            "signin_enabled": notice.signin_enabled,
        }


class ReplyForm(forms.Form):
    reply = forms.ChoiceField(label=_("是否参加"), choices=Reply.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("备注"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": _("不参加请说明原因；可注明代参会人员")}
        ),
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("撤回说明"),
        max_length=REASON_MAX,
        required=False,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": _("可不填，将随撤回提醒发给相关人员")}
        ),
    )
