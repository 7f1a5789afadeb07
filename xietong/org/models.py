"""The organisation: group → companies (any depth) → departments (any depth), positions, posts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from xietong.core import clock
from xietong.core.access import TRIAD


class OrgUnit(MP_Node):  # type: ignore[misc]  # treebeard ships no type hints
    """One node of the organisation tree.

    A materialised path (``path``) makes "this unit and everything below it" a single
    indexed prefix query, which every data scope of the permission system relies on.
    """

    class Kind(models.TextChoices):
        GROUP = "group", _("集团")
        COMPANY = "company", _("公司")
        DEPARTMENT = "department", _("部门")

    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=50, blank=True)
    code = models.CharField(_("编码"), max_length=32, unique=True)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, default=Kind.DEPARTMENT)
    is_active = models.BooleanField(_("有效"), default=True)

    node_order_by = ["code"]

    class Meta:
        verbose_name = _("组织单元")
        verbose_name_plural = _("组织单元")

    def __str__(self) -> str:
        return self.name


class Position(models.Model):
    """A 岗位 with a rank: the higher the rank, the more senior."""

    name = models.CharField(_("名称"), max_length=64, unique=True)
    rank = models.PositiveSmallIntegerField(_("职级"), default=1)

    class Meta:
        verbose_name = _("岗位")
        verbose_name_plural = _("岗位")
        ordering = ["-rank", "name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's post in a unit; exactly one post per user is primary."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="memberships")
    position = models.ForeignKey(Position, on_delete=models.PROTECT, null=True, blank=True)
    is_primary = models.BooleanField(_("主岗"), default=True)
    is_head = models.BooleanField(_("负责人"), default=False)

    class Meta:
        verbose_name = _("任职")
        verbose_name_plural = _("任职")
        constraints = [
            models.UniqueConstraint(fields=["user", "unit"], name="org_membership_user_unit_unique"),
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_primary=True), name="org_membership_one_primary"
            ),
        ]
        indexes = [models.Index(fields=["unit", "is_head"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.unit}"


class DataScope(models.TextChoices):
    """Where a role's permissions apply, relative to the holder's posts (see ``org.access``)."""

    SELF = "self", _("本人")
    DEPARTMENT = "department", _("本部门")
    DEPARTMENT_TREE = "department_tree", _("本部门及下级")
    COMPANY = "company", _("本公司")
    GROUP = "group", _("全集团")
    LISTED = "listed", _("指定部门")


class Role(models.Model):
    """A named set of permission codenames (``xietong.core.access`` registry).

    ``admin_tier`` marks the 三员 roles (system / security / audit) and the department
    administrator; the rules that keep the tiers apart are enforced by ``org.services``
    (role edits and grants) and again by ``org.access`` when permissions are resolved.
    """

    class AdminTier(models.TextChoices):
        NONE = "none", _("非管理角色")
        SYSTEM = "system", _("系统管理员")
        SECURITY = "security", _("安全保密管理员")
        AUDIT = "audit", _("安全审计员")
        DEPARTMENT = "department", _("部门管理员")

    code = models.SlugField(_("编码"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=64, unique=True)
    description = models.TextField(_("说明"), blank=True)
    builtin = models.BooleanField(_("内置"), default=False, help_text=_("内置角色不能删除"))
    admin_tier = models.CharField(
        _("管理员类别"), max_length=16, choices=AdminTier.choices, default=AdminTier.NONE
    )
    permissions = models.JSONField(_("权限"), default=list, blank=True)
    is_default = models.BooleanField(
        _("默认角色"), default=False, help_text=_("每个有效账号都自动拥有，无需授予（最小基础权限）")
    )
    # A default role has no grant row to carry a scope, so the role carries it.
    default_scope = models.CharField(
        _("默认数据范围"), max_length=16, choices=DataScope.choices, default=DataScope.SELF
    )
    default_module_scopes = models.JSONField(_("默认分模块数据范围"), default=dict, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(admin_tier="none"),
                name="org_role_default_is_not_admin",
            ),
            models.CheckConstraint(
                condition=~Q(default_scope="listed"), name="org_role_default_scope_not_listed"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_triad(self) -> bool:
        """One of the three roles of 三员分立."""
        return self.admin_tier in TRIAD


class RoleGrant(models.Model):
    """A role given to one account, or to a position (岗位) — then to whoever holds that post,
    so that permissions follow the post (R-09) — with a data scope and an optional expiry."""

    role = models.ForeignKey(Role, verbose_name=_("角色"), on_delete=models.PROTECT, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="role_grants",
    )
    position = models.ForeignKey(
        Position,
        verbose_name=_("岗位"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="role_grants",
    )
    scope = models.CharField(_("数据范围"), max_length=16, choices=DataScope.choices)
    units = models.ManyToManyField(
        OrgUnit,
        verbose_name=_("指定部门"),
        blank=True,
        related_name="+",
        help_text=_("数据范围为“指定部门”时"),
    )
    module_scopes = models.JSONField(
        _("分模块数据范围"), default=dict, blank=True, help_text=_('例如 {"documents": "company"}')
    )
    reason = models.CharField(_("授权理由"), max_length=200, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("授权人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("授权时间"), default=clock.now)
    expires_at = models.DateTimeField(_("到期时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(position__isnull=True))
                | (Q(user__isnull=True) & Q(position__isnull=False)),
                name="org_rolegrant_user_xor_position",
            ),
            models.UniqueConstraint(
                fields=["role", "user"],
                condition=Q(user__isnull=False),
                name="org_rolegrant_role_user_unique",
            ),
            models.UniqueConstraint(
                fields=["role", "position"],
                condition=Q(position__isnull=False),
                name="org_rolegrant_role_position_unique",
            ),
        ]

    def __str__(self) -> str:
        holder = self.user if self.user_id else self.position
        return f"{self.role} → {holder}（{self.get_scope_display()}）"
