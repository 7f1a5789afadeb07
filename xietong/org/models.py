"""The organisation: group → companies (any depth) → departments (any depth), positions, posts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from xietong.core import clock
from xietong.core.access import TRIAD
from xietong.org import pinyin


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
    # Search keys of the name (``xietong.org.pinyin``), derived on every save.
    name_pinyin = models.CharField(_("名称拼音"), max_length=255, blank=True, editable=False)
    name_initials = models.CharField(_("名称拼音首字母"), max_length=255, blank=True, editable=False)
    # 专人: who answers for the platform in this unit; shown to its members.
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("平台联系人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("本单位负责协同办公平台事务的专人"),
    )

    node_order_by = ["code"]

    class Meta:
        verbose_name = _("组织单元")
        verbose_name_plural = _("组织单元")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Derived here rather than in each service, so that no way of saving a unit (tree
        # operations of treebeard included) leaves stale search keys behind.
        self.name_pinyin, self.name_initials = pinyin.name_keys(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_pinyin", "name_initials"}
        super().save(*args, **kwargs)


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


class PermissionRequest(models.Model):
    """A request to change someone's permissions: a role with a data scope, and a reason (R-14).

    Filed by the user for themself or by a department head for a member of their department
    (R-17); decided by the security administrator, and on approval turned into a
    ``RoleGrant`` through ``org.services.role_grant``, so that the 三员 rules apply to it
    exactly as to a grant made by hand. State changes live in ``org.requests``.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")
        CANCELLED = "cancelled", _("已撤回")
        #: Approved, then the approval was 撤销 (revoked): the grant it made is taken back.
        REVOKED = "revoked", _("已撤销")

    # Like ``RoleGrant.granted_by``: the audit trail keeps the name if the account goes.
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("申请人"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("授权对象"),
        on_delete=models.CASCADE,
        related_name="permission_requests",
    )
    # Deleting a role must not be blocked by old requests, nor erase them: the name stays.
    role = models.ForeignKey(
        Role, verbose_name=_("角色"), on_delete=models.SET_NULL, null=True, related_name="requests"
    )
    role_name = models.CharField(_("角色名称"), max_length=64)
    scope = models.CharField(_("数据范围"), max_length=16, choices=DataScope.choices)
    units = models.ManyToManyField(OrgUnit, verbose_name=_("指定部门"), blank=True, related_name="+")
    reason = models.CharField(_("申请理由"), max_length=500)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    decision_note = models.CharField(_("处理意见"), max_length=500, blank=True)
    # The grant an approval made: the access review (AC-07) can tell who approved a grant.
    grant = models.ForeignKey(
        RoleGrant,
        verbose_name=_("生成的授权"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="requests",
    )
    created_at = models.DateTimeField(_("申请时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("权限申请")
        verbose_name_plural = _("权限申请")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "rejected", "cancelled", "revoked"]),
                name="org_permissionrequest_status_valid",
            ),
            # A pending request is undecided; a decided one says when.
            models.CheckConstraint(
                condition=(Q(status="pending") & Q(decided_at__isnull=True))
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="org_permissionrequest_decided_at_matches_status",
            ),
            # One open request per person and role: a second would only be decided twice.
            models.UniqueConstraint(
                fields=["subject", "role"],
                condition=Q(status="pending"),
                name="org_permissionrequest_one_pending_per_role",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject} ← {self.role_name}（{self.get_status_display()}）"


class StaffProfile(models.Model):
    """The organisation's view of one account: its search keys and its employment status.

    One row per account, created and kept current by ``xietong.org.signals`` whenever an
    account is saved — whichever app saves it — so that every account is found by pinyin.
    ``User.is_active`` stays the one switch that lets an account sign in; ``status`` says
    why it is off: a disciplinary suspension (reversible) or a departure (final), R-15.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("在职")
        SUSPENDED = "suspended", _("暂停使用")
        DEPARTED = "departed", _("已离职")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账号"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="staff",
    )
    name_pinyin = models.CharField(_("姓名拼音"), max_length=255, blank=True)
    name_initials = models.CharField(_("姓名拼音首字母"), max_length=255, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("人员档案")
        verbose_name_plural = _("人员档案")

    def __str__(self) -> str:
        return f"{self.user_id} {self.status}"


class PersonnelChange(models.Model):
    """One change of an account's employment: hire, transfer, suspension, resumption,
    departure — the history on the account's page and the audit's business context.

    A hire and a transfer open a permission review (R-13): the security administrator checks
    the account's personal role grants against its new post and marks the item reviewed.
    Grants made to positions follow the post at once (R-09); personal grants are what the
    review is about.
    """

    class Kind(models.TextChoices):
        HIRE = "hire", _("开户")
        TRANSFER = "transfer", _("调动")
        SUSPEND = "suspend", _("暂停使用")
        RESUME = "resume", _("恢复使用")
        DEPART = "depart", _("离职")

    class Review(models.TextChoices):
        NOT_REQUIRED = "none", _("无需复核")
        PENDING = "pending", _("待复核")
        DONE = "done", _("已复核")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账号"),
        on_delete=models.CASCADE,
        related_name="personnel_changes",
    )
    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices)
    from_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("原单位"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("新单位"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_position = models.ForeignKey(
        Position, verbose_name=_("原岗位"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_position = models.ForeignKey(
        Position, verbose_name=_("新岗位"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    successor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("工作交接人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    details = models.JSONField(_("详情"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("时间"), default=clock.now)
    review_status = models.CharField(
        _("权限复核"), max_length=16, choices=Review.choices, default=Review.NOT_REQUIRED
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("复核人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    review_note = models.CharField(_("复核意见"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("人事变动")
        verbose_name_plural = _("人事变动")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["review_status", "created_at"], name="org_change_review_time"),
            models.Index(fields=["user", "created_at"], name="org_change_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.created_at:%Y-%m-%d}"
