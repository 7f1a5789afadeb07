"""Forms of the security-administration pages (roles, grants, clearances, requests).

They only collect and shape input; every rule — 三员分立, scopes, who may do what — is
``org.services``' and ``org.requests``' to check, so that the pages and the API refuse alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xietong.core import access, classification, clock
from xietong.identity.models import User
from xietong.org import requests as permission_requests
from xietong.org.models import DataScope, OrgUnit, Position, Role
from xietong.org.roles_selectors import module_label

# A role's default scope applies without a grant, so it cannot name units (see Role).
DEFAULT_SCOPE_CHOICES = [(value, label) for value, label in DataScope.choices if value != DataScope.LISTED]


def _style(form: forms.Form) -> None:
    """Bootstrap classes on every widget, as on the other pages."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
            continue
        css = "form-select" if isinstance(widget, forms.Select) else "form-control"
        widget.attrs.setdefault("class", css)


# --------------------------------------------------------------------------- roles


@dataclass(frozen=True)
class PermissionOption:
    permission: access.Permission
    #: Why this role cannot hold it under 三员分立, or "" when it can. Only a hint: the service
    #: decides and says so in its own words.
    blocked: str


def permission_groups(admin_tier: str) -> list[tuple[str, str, list[PermissionOption]]]:
    """Every registered permission, grouped by module: (module, label, options)."""
    groups: dict[str, list[PermissionOption]] = {}
    for permission in access.all_permissions():
        blocked = ""
        if permission.reserved_for is not None and permission.reserved_for != admin_tier:
            blocked = str(_("仅限%(tier)s") % {"tier": Role.AdminTier(permission.reserved_for).label})
        elif admin_tier != Role.AdminTier.NONE and permission.is_business:
            blocked = str(_("管理员角色不能含业务权限"))
        groups.setdefault(permission.module, []).append(PermissionOption(permission, blocked))
    return [(module, module_label(module), options) for module, options in groups.items()]


class RoleForm(forms.Form):
    code = forms.SlugField(
        label=_("编码"),
        max_length=64,
        help_text=_("英文字母、数字、下划线或连字符，创建后不能修改"),
    )
    name = forms.CharField(label=_("名称"), max_length=64)
    description = forms.CharField(
        label=_("说明"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )
    default_scope = forms.ChoiceField(
        label=_("默认数据范围"),
        choices=DEFAULT_SCOPE_CHOICES,
        initial=DataScope.DEPARTMENT,
        help_text=_("授权时预选的数据范围"),
    )
    permissions = forms.MultipleChoiceField(
        label=_("权限"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, role: Role | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role = role
        self.admin_tier = role.admin_tier if role is not None else Role.AdminTier.NONE
        self.fields["permissions"].choices = [  # type: ignore[attr-defined]
            (p.codename, p.label) for p in access.all_permissions()
        ]
        if role is not None:
            del self.fields["code"]  # fixed at creation (role_update takes no code)
            if role.is_default:
                # A default role has no grant: its default scope is the scope every account
                # holds it in, so "listed" stays out here too.
                self.fields["default_scope"].help_text = _("每个账号持有该角色时的数据范围")
        _style(self)

    def groups(self) -> list[tuple[str, str, list[tuple[PermissionOption, bool]]]]:
        """The checklist: each option with whether it is ticked now."""
        if self.is_bound:
            chosen = set(self.data.getlist("permissions")) if hasattr(self.data, "getlist") else set()
        else:
            chosen = set(self.initial.get("permissions") or ())
        return [
            (module, label, [(option, option.permission.codename in chosen) for option in options])
            for module, label, options in permission_groups(self.admin_tier)
        ]


# --------------------------------------------------------------------------- grants


def unit_label(unit: OrgUnit) -> str:
    """Indented by depth, so that a list of units in path order reads as the org chart."""
    return "\u3000" * max(int(unit.depth) - 1, 0) + str(unit.name)


class UnitChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return unit_label(obj)


class UnitSelectField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return unit_label(obj)


def unit_queryset() -> QuerySet[OrgUnit]:
    units: QuerySet[OrgUnit] = OrgUnit.objects.filter(is_active=True).order_by("path")
    return units


def _end_of(day: dt.date) -> dt.datetime:
    """A grant "valid until" a day ends at the start of the next local day."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


class ScopeFieldsMixin(forms.Form):
    scope = forms.ChoiceField(label=_("数据范围"), choices=DataScope.choices, initial=DataScope.DEPARTMENT)
    units = UnitChoiceField(
        label=_("指定部门"),
        queryset=OrgUnit.objects.none(),
        required=False,
        help_text=_("数据范围为“指定部门”时选择，含其下级部门；按住 Ctrl 或 ⌘ 可多选"),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["units"].queryset = unit_queryset()  # type: ignore[attr-defined]
        # The page shows the unit list only for "指定部门" (an Alpine island; without script
        # the list is simply always shown).
        self.fields["scope"].widget.attrs["x-model"] = "scope"


class GrantForm(ScopeFieldsMixin):
    role = forms.ModelChoiceField(label=_("角色"), queryset=Role.objects.none(), empty_label=_("请选择角色"))
    expires_on = forms.DateField(
        label=_("有效期至"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("含当日；留空表示长期有效"),
    )
    reason = forms.CharField(label=_("授权理由"), required=False, max_length=200)

    field_order = ["role", "scope", "units", "expires_on", "reason"]

    def __init__(self, *args: Any, position: Position | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        roles = Role.objects.filter(is_default=False).order_by("name")
        if position is not None:
            # 三员 roles go to named accounts only; offering them here would only be refused.
            roles = roles.exclude(admin_tier__in=access.TRIAD)
        self.roles = roles
        self.fields["role"].queryset = roles  # type: ignore[attr-defined]
        # Picking a role preselects its default scope.
        self.fields["role"].widget.attrs["x-on:change"] = "scope = defaults[$event.target.value] || scope"
        _style(self)

    def clean_expires_on(self) -> dt.date | None:
        day: dt.date | None = self.cleaned_data.get("expires_on")
        if day is not None and _end_of(day) <= clock.now():
            raise forms.ValidationError(_("有效期不能早于今天。"))
        return day

    def expires_at(self) -> dt.datetime | None:
        day = self.cleaned_data.get("expires_on")
        return _end_of(day) if day else None


class HolderSearchForm(forms.Form):
    q = forms.CharField(label=_("查找人员"), required=False, max_length=64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update(
            {"placeholder": _("姓名、用户名或工号"), "class": "form-control", "type": "search"}
        )


# --------------------------------------------------------------------------- clearances


class ClearanceFilterForm(forms.Form):
    q = forms.CharField(label=_("人员"), required=False, max_length=64)
    unit = UnitSelectField(
        label=_("部门（含下级）"), queryset=OrgUnit.objects.none(), required=False, empty_label=_("全部")
    )
    clearance = forms.TypedChoiceField(label=_("密级"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = unit_queryset()  # type: ignore[attr-defined]
        self.fields["clearance"].choices = [("", _("全部")), *classification.choices()]  # type: ignore[attr-defined]
        self.fields["q"].widget.attrs["placeholder"] = _("姓名、用户名或工号")
        _style(self)


class ClearanceForm(forms.Form):
    clearance = forms.TypedChoiceField(label=_("可知悉密级"), coerce=int)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clearance"].choices = classification.choices()  # type: ignore[attr-defined]
        _style(self)


# --------------------------------------------------------------------------- requests


class PermissionRequestForm(ScopeFieldsMixin):
    subject = forms.ModelChoiceField(label=_("为谁申请"), queryset=User.objects.none(), empty_label=None)
    role = forms.ModelChoiceField(
        label=_("申请的角色"), queryset=Role.objects.none(), empty_label=_("请选择角色")
    )
    reason = forms.CharField(
        label=_("申请理由"),
        max_length=permission_requests.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("必填：说明工作上为什么需要这项权限"),
        error_messages={"required": _("请填写申请理由。")},
    )

    field_order = ["subject", "role", "scope", "units", "reason"]

    def __init__(self, *args: Any, requester: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        subjects = permission_requests.request_subjects(requester)
        self.fields["subject"].queryset = subjects  # type: ignore[attr-defined]
        self.fields["subject"].initial = requester.pk
        self.fields["role"].queryset = permission_requests.requestable_roles().order_by("name")  # type: ignore[attr-defined]
        self.fields["scope"].initial = DataScope.SELF
        _style(self)


class DecisionForm(forms.Form):
    note = forms.CharField(
        label=_("处理意见"),
        required=False,
        max_length=permission_requests.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _style(self)
