"""Forms of the portal pages. They parse input only; the rules (who may publish, R-34 for
classified articles, moderation) live in ``services`` and come back as ``DomainError`` details."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from xietong.core import classification
from xietong.core.errors import DomainError
from xietong.identity.models import User
from xietong.org import selectors as org_selectors
from xietong.org.models import OrgUnit, Role
from xietong.portal.models import Article, ArticleAudience, Channel

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
EVERYONE, LIMITED = "everyone", "limited"


class _Styled:
    """Bootstrap classes on every widget."""

    def _style(self) -> None:
        for bound in self.fields.values():  # type: ignore[attr-defined]
            widget = bound.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


def show_error(form: forms.Form, error: DomainError) -> None:
    """Put a service's refusal on the field it names, else on the form."""
    placed = False
    for detail in error.details or []:
        name = detail.get("field") if isinstance(detail, dict) else None
        if name in form.fields:
            form.add_error(name, detail.get("message") or error.message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=DATETIME_FORMAT)


def _datetime(label: Any, help_text: Any = "") -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        widget=DateTimeLocal(),
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        help_text=help_text,
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by the files service when stored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class ArticleForm(_Styled, forms.Form):
    channel = forms.ModelChoiceField(label=_("栏目"), queryset=Channel.objects.none(), empty_label=None)
    title = forms.CharField(label=_("标题"), max_length=200)
    summary = forms.CharField(
        label=_("摘要"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("显示在列表和工作台中，可不填"),
    )
    body = forms.CharField(label=_("正文"), required=False, widget=forms.Textarea(attrs={"rows": 14}))
    author_unit = forms.TypedChoiceField(label=_("作者部门"), coerce=int, required=False)
    cover = forms.FileField(
        label=_("封面图片"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
        help_text=_("图片新闻必填；JPG、PNG 格式，建议宽高比 16:9"),
    )
    remove_cover = forms.BooleanField(label=_("删除封面"), required=False)
    attachments = MultipleFileField(label=_("添加附件"), required=False)
    keep_attachments = forms.TypedMultipleChoiceField(
        label=_("已有附件"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    audience = forms.ChoiceField(
        label=_("可见范围"),
        choices=[(EVERYONE, _("全员")), (LIMITED, _("指定范围"))],
        widget=forms.RadioSelect,
        initial=EVERYONE,
    )
    companies = forms.TypedMultipleChoiceField(
        label=_("公司"), coerce=int, required=False, help_text=_("所选公司及其下属全部部门")
    )
    departments = forms.TypedMultipleChoiceField(
        label=_("部门"), coerce=int, required=False, help_text=_("所选部门及其下级部门")
    )
    roles = forms.ModelMultipleChoiceField(label=_("角色"), queryset=Role.objects.none(), required=False)
    classification = forms.TypedChoiceField(label=_("密级"), coerce=int, initial=classification.PUBLIC)
    pinned = forms.BooleanField(label=_("置顶"), required=False)
    pinned_until = _datetime(_("置顶截止"), _("留空则一直置顶"))
    publish_at = _datetime(_("定时发布"), _("留空则审核通过后立即发布"))
    expire_at = _datetime(_("下线时间"), _("到期后自动从门户下线，留空则长期有效"))
    comments_enabled = forms.BooleanField(label=_("允许评论"), required=False, initial=True)
    effective_from = forms.DateField(
        label=_("生效日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("规章制度必填：新版本自该日起生效，此前仍显示现行版本"),
    )
    note = forms.CharField(
        label=_("修改说明"),
        max_length=200,
        required=False,
        help_text=_("修改已发布的文章时填写，将记入版本历史"),
    )

    def __init__(
        self, *args: Any, user: User, article: Article | None = None, channels: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.article = article
        self.fields["channel"].queryset = channels if channels is not None else Channel.objects.none()  # type: ignore[attr-defined]
        posts = user.memberships.select_related("unit").order_by("-is_primary", "pk")
        self.fields["author_unit"].choices = [(post.unit_id, post.unit.name) for post in posts]  # type: ignore[attr-defined]
        units = org_selectors.visible_units(viewer=user)
        self.fields["companies"].choices = org_selectors.unit_options(  # type: ignore[attr-defined]
            units=units.filter(kind__in=[OrgUnit.Kind.GROUP, OrgUnit.Kind.COMPANY])
        )
        self.fields["departments"].choices = org_selectors.unit_options(units=units)  # type: ignore[attr-defined]
        self.fields["roles"].queryset = Role.objects.filter(  # type: ignore[attr-defined]
            admin_tier=Role.AdminTier.NONE, is_default=False
        ).order_by("name")
        clearance = classification.clearance_of(user)
        self.fields["classification"].choices = [  # type: ignore[attr-defined]
            (level, label) for level, label in classification.choices() if level <= clearance
        ]
        for name in ("companies", "departments", "roles"):
            self.fields[name].widget.attrs["size"] = 6
        self.fields["pinned"].widget.attrs["x-model"] = "pinned"
        if article is not None:
            links = article.attachment_links.select_related("file").order_by("order", "pk")
            self.fields["keep_attachments"].choices = [  # type: ignore[attr-defined]
                (link.file_id, link.file.name) for link in links
            ]
        self._style()

    @classmethod
    def initial_for(cls, article: Article) -> dict[str, Any]:
        rows = list(article.audience.all())
        units = {row.unit_id for row in rows if row.kind == ArticleAudience.Kind.UNIT_TREE}
        company_ids = set(
            OrgUnit.objects.filter(
                pk__in=units, kind__in=[OrgUnit.Kind.GROUP, OrgUnit.Kind.COMPANY]
            ).values_list("pk", flat=True)
        )
        return {
            "channel": article.channel,
            "title": article.title,
            "summary": article.summary,
            "body": article.body,
            "author_unit": article.author_unit_id,
            "keep_attachments": list(article.attachment_links.values_list("file_id", flat=True)),
            "audience": EVERYONE if article.audience_everyone else LIMITED,
            "companies": sorted(company_ids),
            "departments": sorted(units - company_ids),
            "roles": [row.role_id for row in rows if row.kind == ArticleAudience.Kind.ROLE],
            "classification": article.classification,
            "pinned": article.pinned,
            "pinned_until": article.pinned_until,
            "publish_at": article.publish_at if article.status != Article.Status.PUBLISHED else None,
            "expire_at": article.expire_at,
            "comments_enabled": article.comments_enabled,
            "effective_from": article.effective_from,
        }


class ReturnForm(forms.Form):
    note = forms.CharField(label=_("退回理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("评论"),
        max_length=1000,
        widget=forms.Textarea(
            attrs={"rows": 3, "class": "form-control", "placeholder": _("说说您的看法（请文明发言）")}
        ),
    )


_SEPARATORS = re.compile(r"[\s,，、;；]+")


class ChannelForm(_Styled, forms.Form):
    name = forms.CharField(label=_("名称"), max_length=32)
    code = forms.SlugField(
        label=_("编码"),
        max_length=32,
        required=False,
        help_text=_("用于网址，小写字母开头，创建后不能修改；留空则按名称生成"),
    )
    kind = forms.ChoiceField(label=_("类型"), choices=Channel.Kind.choices)
    description = forms.CharField(label=_("简介"), max_length=200, required=False)
    icon = forms.CharField(
        label=_("图标"), max_length=32, initial="newspaper", help_text=_("Bootstrap Icons 图标名")
    )
    owner_unit = forms.TypedChoiceField(
        label=_("管理部门"), coerce=int, required=False, help_text=_("负责审核本栏目文章的部门")
    )
    publishers = forms.CharField(
        label=_("发布人"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("填写用户名，以空格、逗号或换行分隔"),
    )
    comments_enabled = forms.BooleanField(label=_("新文章默认允许评论"), required=False, initial=True)
    on_workbench = forms.BooleanField(label=_("显示在工作台“最新资讯”中"), required=False)
    order = forms.IntegerField(
        label=_("排序"), min_value=0, max_value=10_000, initial=100, help_text=_("数字小的在前")
    )
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args: Any, channel: Channel | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = OrgUnit.objects.filter(is_active=True)
        self.fields["owner_unit"].choices = [("", _("（未设置）")), *org_selectors.unit_options(units=units)]  # type: ignore[attr-defined]
        if channel is not None:
            self.fields["code"].disabled = True
        self._style()

    def clean_publishers(self) -> list[User]:
        names = [name for name in _SEPARATORS.split(self.cleaned_data.get("publishers", "")) if name]
        if len(names) > 200:
            raise ValidationError(_("发布人不能超过 200 人。"))
        found = {user.username: user for user in User.objects.filter(username__in=[n.lower() for n in names])}
        missing = [name for name in names if name.lower() not in found]
        if missing:
            raise ValidationError(_("找不到这些用户：%(names)s") % {"names": "、".join(missing)})
        return list(dict.fromkeys(found[name.lower()] for name in names))

    def clean_owner_unit(self) -> OrgUnit | None:
        value = self.cleaned_data.get("owner_unit")
        if value in (None, ""):
            return None
        unit: OrgUnit | None = OrgUnit.objects.filter(pk=value).first()
        return unit

    @classmethod
    def initial_for(cls, channel: Channel) -> dict[str, Any]:
        return {
            "name": channel.name,
            "code": channel.code,
            "kind": channel.kind,
            "description": channel.description,
            "icon": channel.icon,
            "owner_unit": channel.owner_unit_id,
            "publishers": " ".join(
                channel.publishers.order_by("username").values_list("username", flat=True)
            ),
            "comments_enabled": channel.comments_enabled,
            "on_workbench": channel.on_workbench,
            "order": channel.order,
            "is_active": channel.is_active,
        }
