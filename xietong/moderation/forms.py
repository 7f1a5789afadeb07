"""Forms of the moderation pages. They parse input only; the rules (duplicates, folding,
permissions) live in ``services`` and come back as ``DomainError`` details."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from xietong.moderation.models import Action, Report, Sanction, Violation, WordCategory

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise

IMPORT_MAX_BYTES = 5 * 1024 * 1024
TRY_MAX_CHARS = 200_000


class _Styled:
    """Bootstrap classes on every widget."""

    small = False

    def _style(self) -> None:
        size = " form-select-sm" if self.small else ""
        control = " form-control-sm" if self.small else ""
        for bound in self.fields.values():  # type: ignore[attr-defined]
            widget = bound.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select" + size)
            else:
                widget.attrs.setdefault("class", "form-control" + control)


def _category_field(
    *, required: bool = True, empty: StrOrPromise | None = None
) -> forms.ModelChoiceField[WordCategory]:
    return forms.ModelChoiceField(
        label=_("分类"),
        queryset=WordCategory.objects.order_by("pk"),
        required=required,
        empty_label=empty,
    )


class WordFilterForm(_Styled, forms.Form):
    small = True
    q = forms.CharField(label=_("关键字"), max_length=100, required=False)
    category = _category_field(required=False, empty=_("全部分类"))
    action = forms.ChoiceField(
        label=_("处理方式"), choices=[("", _("全部")), *Action.choices], required=False
    )
    status = forms.ChoiceField(
        label=_("状态"),
        choices=[("", _("全部")), ("active", _("启用")), ("inactive", _("已停用"))],
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        status = data.get("status") or ""
        category = data.get("category")
        return {
            "query": (data.get("q") or "").strip(),
            "category_id": category.pk if category is not None else None,
            "action": data.get("action") or "",
            "active": {"active": True, "inactive": False}.get(status),
        }


class WordForm(_Styled, forms.Form):
    word = forms.CharField(label=_("敏感词"), max_length=100)
    category = _category_field()
    action = forms.ChoiceField(
        label=_("处理方式"),
        choices=[("", _("按分类默认")), *Action.choices],
        required=False,
        help_text=_("拦截：拒绝提交并提示敏感词；送审：先保存为待审核，审核通过后发布。"),
    )
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()


class CategoryForm(_Styled, forms.Form):
    name = forms.CharField(label=_("分类名称"), max_length=32)
    description = forms.CharField(label=_("说明"), max_length=200, required=False)
    default_action = forms.ChoiceField(label=_("默认处理方式"), choices=Action.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()


class ImportForm(_Styled, forms.Form):
    file = forms.FileField(
        label=_("词表文件"),
        help_text=_("纯文本文件（.txt），每行一个词，UTF-8 或 GBK 编码；空行和以 # 开头的行忽略。"),
    )
    category = _category_field()
    action = forms.ChoiceField(
        label=_("处理方式"), choices=[("", _("按分类默认")), *Action.choices], required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("文件不能超过 5 MB。"))
        return upload


class TryForm(_Styled, forms.Form):
    text = forms.CharField(
        label=_("待检测文本"),
        max_length=TRY_MAX_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("审核意见"), max_length=500, required=False)


class SanctionForm(_Styled, forms.Form):
    small = True
    kind = forms.ChoiceField(label=_("处分"), choices=Sanction.Kind.choices)
    note = forms.CharField(label=_("说明"), max_length=500, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()


class ViolationForm(_Styled, forms.Form):
    rule = forms.CharField(
        label=_("违反的规定"), max_length=100, help_text=_("如“OA平台办法 二.6 发送无关信息”或规则编号 R-30")
    )
    severity = forms.ChoiceField(label=_("情节"), choices=Violation.Severity.choices)
    source = forms.ChoiceField(
        label=_("来源"),
        choices=[
            (Violation.Source.MANUAL, Violation.Source.MANUAL.label),
            (Violation.Source.SECURITY, Violation.Source.SECURITY.label),
        ],
    )
    description = forms.CharField(
        label=_("情况说明"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    link = forms.CharField(label=_("证据链接"), max_length=500, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()


class ReportForm(forms.Form):
    """The report button's modal: ``target`` is ``app_label.model:pk``."""

    target = forms.CharField(max_length=200)
    reason = forms.ChoiceField(
        label=_("举报原因"),
        choices=Report.Reason.choices,
        error_messages={"required": _("请选择举报原因。"), "invalid_choice": _("请选择举报原因。")},
    )
    note = forms.CharField(
        label=_("补充说明"),
        max_length=500,
        required=False,
        error_messages={"max_length": _("补充说明不能超过 500 个字符。")},
    )


class ReportFilterForm(_Styled, forms.Form):
    small = True
    status = forms.ChoiceField(
        label=_("状态"), choices=[*Report.Status.choices, ("all", _("全部"))], required=False
    )
    reason = forms.ChoiceField(
        label=_("举报原因"), choices=[("", _("全部原因")), *Report.Reason.choices], required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        status = data.get("status") or Report.Status.PENDING
        return {"status": None if status == "all" else status, "reason": data.get("reason") or ""}


class ReportDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("hide", _("屏蔽")), ("dismiss", _("不予处理"))])
    note = forms.CharField(label=_("处理意见"), max_length=500, required=False)
    violation = forms.BooleanField(label=_("登记违规"), required=False)
    severity = forms.ChoiceField(
        label=_("情节"),
        choices=[("", _("按违规次数")), *Violation.Severity.choices],
        required=False,
    )
