"""Forms of the organisation and people pages. They parse and present; the rules live in
the services, whose ``DomainError`` details are put back on the fields (``show_error``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xietong.core.errors import DomainError
from xietong.identity.models import User, fold_username
from xietong.org.models import OrgUnit, Position

_SELECTS = (forms.Select, forms.SelectMultiple)


def _style(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, _SELECTS):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


def show_error(form: forms.BaseForm, error: DomainError) -> None:
    """Put a service's refusal on the fields it names, else on the form."""
    placed = False
    for detail in error.details or []:
        name = detail.get("field") if isinstance(detail, dict) else None
        if name in form.fields:
            form.add_error(name, str(detail.get("message", error.message)))
            placed = True
    if not placed:
        form.add_error(None, error.message)


class StyledForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class UnitChoiceField(forms.TypedChoiceField):
    """A unit picked from an indented list (``selectors.unit_options``)."""

    def __init__(self, *, options: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("coerce", int)
        kwargs.setdefault("empty_value", None)
        super().__init__(choices=[("", "——")], **kwargs)
        if options is not None:
            self.set_options(options)

    def set_options(self, options: list[tuple[int, str]]) -> None:
        self.choices = [("", "——"), *options]


class AccountLookupField(forms.CharField):
    """An account typed by login name or 工号 — lists of thousands of people do not fit a
    drop-down. The view narrows which accounts qualify (``accounts``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)
        self.accounts: Any = User.objects.none()

    def clean(self, value: Any) -> User | None:
        text = super().clean(value)
        if not text:
            return None
        match = self.accounts.filter(
            Q(username__iexact=fold_username(text)) | Q(employee_no__iexact=text.strip())
        ).first()
        if match is None:
            raise forms.ValidationError(_("找不到用户名或工号为“%(v)s”的人员。") % {"v": text})
        found: User = match
        return found


def position_field(required: bool = False) -> forms.ModelChoiceField[Position]:
    return forms.ModelChoiceField(
        label=_("岗位"), queryset=Position.objects.all(), required=required, empty_label="——"
    )


# --------------------------------------------------------------------------- accounts


class UserCreateForm(StyledForm):
    username = forms.CharField(
        label=_("用户名"), max_length=64, help_text=_("登录用，小写字母、数字和“.”“_”“-”，创建后不能修改")
    )
    name = forms.CharField(label=_("姓名"), max_length=64)
    employee_no = forms.CharField(label=_("工号"), max_length=32, required=False)
    unit = UnitChoiceField(label=_("所属单位"))
    position = position_field()
    email = forms.CharField(label=_("电子邮箱"), max_length=254, required=False)
    mobile = forms.CharField(label=_("手机号码"), max_length=20, required=False)

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unit_field.set_options(units)
        self.fields["email"].widget.input_type = "email"
        self.fields["mobile"].widget.input_type = "tel"
        self.fields["username"].widget.attrs.update({"autocomplete": "off", "autocapitalize": "none"})

    @property
    def unit_field(self) -> UnitChoiceField:
        field: UnitChoiceField = self.fields["unit"]  # type: ignore[assignment]
        return field


class UserEditForm(StyledForm):
    name = forms.CharField(label=_("姓名"), max_length=64)
    employee_no = forms.CharField(label=_("工号"), max_length=32, required=False)
    email = forms.CharField(label=_("电子邮箱"), max_length=254, required=False)
    mobile = forms.CharField(label=_("手机号码"), max_length=20, required=False)


class TransferForm(StyledForm):
    unit = UnitChoiceField(label=_("调入单位"))
    position = position_field()
    reason = forms.CharField(label=_("调动原因"), max_length=200, required=False)

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: UnitChoiceField = self.fields["unit"]  # type: ignore[assignment]
        field.set_options(units)


class ReasonForm(StyledForm):
    reason = forms.CharField(
        label=_("原因"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class SuspendForm(StyledForm):
    reason = forms.CharField(
        label=_("暂停原因"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("如纪律处分文号；记入审计日志"),
    )


class DepartForm(StyledForm):
    successor = AccountLookupField(
        label=_("工作交接人"), help_text=_("填写用户名或工号；离职人员未办结的工作将转交此人")
    )
    reason = forms.CharField(
        label=_("离职说明"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}), required=False
    )

    def __init__(self, *args: Any, accounts: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: AccountLookupField = self.fields["successor"]  # type: ignore[assignment]
        field.accounts = accounts
        field.widget.attrs.update({"list": "successor-options", "autocomplete": "off"})


# --------------------------------------------------------------------------- units


class UnitCreateForm(StyledForm):
    parent = UnitChoiceField(label=_("上级单位"), required=False)
    code = forms.CharField(
        label=_("编码"),
        max_length=32,
        help_text=_("字母、数字、“-”和“_”，创建后不能修改，导入导出以此识别单位"),
    )
    name = forms.CharField(label=_("名称"), max_length=100)
    short_name = forms.CharField(label=_("简称"), max_length=50, required=False)
    kind = forms.ChoiceField(label=_("类型"), choices=OrgUnit.Kind.choices, initial=OrgUnit.Kind.DEPARTMENT)

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: UnitChoiceField = self.fields["parent"]  # type: ignore[assignment]
        field.set_options(units)


class UnitEditForm(StyledForm):
    name = forms.CharField(label=_("名称"), max_length=100)
    short_name = forms.CharField(label=_("简称"), max_length=50, required=False)
    kind = forms.ChoiceField(label=_("类型"), choices=OrgUnit.Kind.choices)


class UnitMoveForm(StyledForm):
    parent = UnitChoiceField(label=_("新的上级单位"))

    def __init__(self, *args: Any, units: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: UnitChoiceField = self.fields["parent"]  # type: ignore[assignment]
        field.set_options(units)


class UnitHeadsForm(StyledForm):
    heads = forms.TypedMultipleChoiceField(
        label=_("负责人"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, members: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: forms.TypedMultipleChoiceField = self.fields["heads"]  # type: ignore[assignment]
        field.choices = members


class UnitContactForm(StyledForm):
    contact = AccountLookupField(
        label=_("平台联系人"),
        required=False,
        help_text=_("填写本单位（含下级）在职人员的用户名或工号；留空表示取消指定"),
    )

    def __init__(self, *args: Any, accounts: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: AccountLookupField = self.fields["contact"]  # type: ignore[assignment]
        field.accounts = accounts
        field.widget.attrs.update({"list": "contact-options", "autocomplete": "off"})


class PositionForm(StyledForm):
    name = forms.CharField(label=_("岗位名称"), max_length=64)
    rank = forms.IntegerField(
        label=_("职级"), min_value=1, max_value=99, initial=1, help_text=_("数字越大越高，用于排序")
    )


# --------------------------------------------------------------------------- import, review


class ImportForm(StyledForm):
    file = forms.FileField(label=_("Excel 文件"), help_text=_(".xlsx，最大 5 MB"))
    dry_run = forms.BooleanField(label=_("仅校验，不导入"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = (
            ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )


class ReviewForm(StyledForm):
    note = forms.CharField(label=_("复核意见"), max_length=200, required=False)
