from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xietong.audit.models import Event
from xietong.audit.selectors import EventFilters
from xietong.org.models import OrgUnit

SELECTS = {"department", "result"}


class DepartmentChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        # Indent by depth so the tree reads as a tree in a plain <select>.
        depth: int = obj.depth
        return "\u3000" * (depth - 1) + str(obj.name)


class EventFilterForm(forms.Form):
    user = forms.CharField(label=_("用户"), required=False, max_length=64)
    department = DepartmentChoiceField(
        label=_("部门"), queryset=OrgUnit.objects.none(), required=False, empty_label=_("全部部门")
    )
    action = forms.CharField(label=_("操作"), required=False, max_length=100)
    target_type = forms.CharField(label=_("对象类型"), required=False, max_length=100)
    target_id = forms.CharField(label=_("对象编号"), required=False, max_length=64)
    result = forms.ChoiceField(
        label=_("结果"), required=False, choices=[("", _("全部结果")), *Event.Result.choices]
    )
    ip = forms.GenericIPAddressField(label=_("IP 地址"), required=False, unpack_ipv4=False)
    date_from = forms.DateField(
        label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, departments: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if departments is not None:
            self.fields["department"].queryset = departments  # type: ignore[attr-defined]
        for name, field in self.fields.items():
            css = "form-select form-select-sm" if name in SELECTS else "form-control form-control-sm"
            field.widget.attrs.setdefault("class", css)
        self.fields["user"].widget.attrs["placeholder"] = _("用户名或姓名")
        self.fields["action"].widget.attrs["placeholder"] = _("如 identity.login")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("开始日期不能晚于结束日期。"))
        return data

    def filters(self) -> EventFilters:
        """The filters of a valid form; dates are whole days in the user's time zone."""
        data = self.cleaned_data

        def day_start(day: dt.date | None) -> dt.datetime | None:
            if day is None:
                return None
            return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

        end = data.get("date_to")
        department = data.get("department")
        return EventFilters(
            user=(data.get("user") or "").strip(),
            department_id=department.pk if department is not None else None,
            action=(data.get("action") or "").strip(),
            target_type=(data.get("target_type") or "").strip(),
            target_id=(data.get("target_id") or "").strip(),
            result=data.get("result") or "",
            ip=data.get("ip") or "",
            since=day_start(data.get("date_from")),
            until=day_start(end + dt.timedelta(days=1) if end else None),
        )
