from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from xietong.core.errors import DomainError
from xietong.org.models import OrgUnit, Role
from xietong.workbench import icons, services
from xietong.workbench.models import Shortcut


class UnitChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        # Indented by depth: the units in path order read as the org chart.
        return "\u3000" * max(int(obj.depth) - 1, 0) + str(obj.name)


class ShortcutForm(forms.ModelForm):  # type: ignore[type-arg]
    """Name, address, icon (from the curated list), audience and display options."""

    icon = forms.ChoiceField(
        label=_("图标"), choices=icons.ICONS, initial=icons.DEFAULT, widget=forms.RadioSelect
    )
    units = UnitChoiceField(
        label=_("可见部门"),
        queryset=OrgUnit.objects.none(),
        required=False,
        help_text=_("含其下级部门；按住 Ctrl 或 ⌘ 可多选"),
        widget=forms.SelectMultiple(attrs={"size": 8, "class": "form-select"}),
    )
    roles = forms.ModelMultipleChoiceField(
        label=_("可见角色"),
        queryset=Role.objects.none(),
        required=False,
        help_text=_("拥有其中任一角色的人员可见；按住 Ctrl 或 ⌘ 可多选"),
        widget=forms.SelectMultiple(attrs={"size": 6, "class": "form-select"}),
    )

    class Meta:
        model = Shortcut
        fields = [
            "name",
            "description",
            "url",
            "icon",
            "audience",
            "units",
            "roles",
            "open_in_new_tab",
            "is_active",
        ]
        widgets = {
            "name": forms.TextInput(attrs={"class": "form-control", "placeholder": _("如：ERP 系统")}),
            "description": forms.TextInput(
                attrs={"class": "form-control", "placeholder": _("如：采购、库存与销售")}
            ),
            "url": forms.TextInput(
                attrs={
                    "class": "form-control",
                    "placeholder": "https://erp.example.com/",
                    "inputmode": "url",
                    "autocomplete": "off",
                    "spellcheck": "false",
                }
            ),
            "audience": forms.RadioSelect(attrs={"class": "form-check-input"}),
            "open_in_new_tab": forms.CheckboxInput(attrs={"class": "form-check-input", "role": "switch"}),
            "is_active": forms.CheckboxInput(attrs={"class": "form-check-input", "role": "switch"}),
        }
        help_texts = {
            "url": _("以 http:// 或 https:// 开头的业务系统地址，或以 / 开头的站内路径"),
            "description": _("鼠标悬停时显示，可留空"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units: QuerySet[OrgUnit] = OrgUnit.objects.filter(is_active=True).order_by("path")
        self.fields["units"].queryset = units  # type: ignore[attr-defined]
        self.fields["roles"].queryset = Role.objects.order_by("name")  # type: ignore[attr-defined]
        # The audience lists are shown only for "指定部门或角色" (an Alpine island; without
        # script they are simply always shown).
        self.fields["audience"].widget.attrs["x-model"] = "audience"
        # The preview beside the form follows the name and the icon as they are typed.
        self.fields["name"].widget.attrs["x-model"] = "name"
        self.fields["icon"].widget.attrs["x-model"] = "icon"

    def initial_state(self) -> dict[str, str]:
        """What the preview starts from (rendered with ``json_script``)."""
        return {
            "name": str(self["name"].value() or ""),
            "icon": str(self["icon"].value() or icons.DEFAULT),
            "audience": str(self["audience"].value() or Shortcut.Audience.EVERYONE),
        }

    def clean_url(self) -> str:
        try:
            return services.clean_shortcut_url(self.cleaned_data.get("url") or "")
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("audience") == Shortcut.Audience.CHOSEN
            and not data.get("units")
            and not data.get("roles")
        ):
            self.add_error("units", _("请至少选择一个可见部门或角色，或将可见范围设为全员。"))
        return data

    def icon_choices(self) -> list[tuple[str, str, bool]]:
        """(name, label, chosen) for the picker."""
        chosen = self["icon"].value() or icons.DEFAULT
        return [(name, str(label), name == chosen) for name, label in icons.ICONS]
