"""The workbench's own data: the shortcuts to business systems that the administrator sets up,
and the to-dos that business systems push into their users' workbenches (R-88)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xietong.core import clock


class Shortcut(models.Model):
    """An entry to a business system (ERP, 财务共享, 人力资源 …) on the workbench of its audience."""

    class Audience(models.TextChoices):
        EVERYONE = "everyone", _("全员")
        CHOSEN = "chosen", _("指定部门或角色")

    name = models.CharField(_("名称"), max_length=32)
    description = models.CharField(_("说明"), max_length=100, blank=True)
    # http(s) address of another system, or a path inside the platform ("/portal/").
    url = models.CharField(_("访问地址"), max_length=500)
    icon = models.CharField(_("图标"), max_length=40, default="box-arrow-up-right")
    audience = models.CharField(
        _("可见范围"), max_length=16, choices=Audience.choices, default=Audience.EVERYONE
    )
    units = models.ManyToManyField(
        "org.OrgUnit",
        verbose_name=_("可见部门"),
        blank=True,
        related_name="+",
        help_text=_("含其下级部门"),
    )
    roles = models.ManyToManyField("org.Role", verbose_name=_("可见角色"), blank=True, related_name="+")
    order = models.PositiveIntegerField(_("排序"), default=0)
    open_in_new_tab = models.BooleanField(_("在新窗口打开"), default=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("快捷入口")
        verbose_name_plural = _("快捷入口")
        ordering = ["order", "pk"]
        indexes = [models.Index(fields=["is_active", "order"], name="workbench_shortcut_active_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def external(self) -> bool:
        return not self.url.startswith("/")


class ExternalTodo(models.Model):
    """A to-do of one user in another system, pushed through the API (R-88).

    ``system`` is the pushing system's code (``erp``, ``hr`` …); with ``external_id`` it names
    the item in that system, so a push of the same item again updates it. The account that
    pushed it first is the only one that may change it afterwards.
    """

    class Review(models.TextChoices):
        # Titles go through the content rules: a held one waits for the reviewer.
        PUBLISHED = "published", _("已发布")
        PENDING = "pending", _("待审核")
        REJECTED = "rejected", _("已驳回")

    system = models.CharField(_("业务系统"), max_length=32)
    system_name = models.CharField(_("系统名称"), max_length=32, blank=True)
    external_id = models.CharField(_("外部编号"), max_length=128)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("办理人"), on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(_("标题"), max_length=200)
    detail = models.CharField(_("说明"), max_length=500, blank=True)
    link = models.URLField(_("办理地址"), max_length=500)
    due_at = models.DateTimeField(_("办理期限"), null=True, blank=True)
    urgent = models.BooleanField(_("急办"), default=False)
    review = models.CharField(_("审核状态"), max_length=16, choices=Review.choices, default=Review.PUBLISHED)
    pushed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("推送账号"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("推送时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now)
    done_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("业务系统待办")
        verbose_name_plural = _("业务系统待办")
        constraints = [
            models.UniqueConstraint(fields=["system", "external_id"], name="workbench_todo_system_id_unique")
        ]
        indexes = [
            # The workbench's question: this user's open items, urgent first, newest first.
            models.Index(fields=["user", "done_at", "urgent", "created_at"], name="workbench_todo_open_idx")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def source_label(self) -> str:
        return self.system_name or self.system

    @property
    def visible(self) -> bool:
        return self.done_at is None and self.review == self.Review.PUBLISHED


#: The open to-dos a user sees: not done, not waiting for or refused by the content review.
OPEN = Q(done_at__isnull=True, review=ExternalTodo.Review.PUBLISHED)
