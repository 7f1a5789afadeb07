"""The organisation: group → companies (any depth) → departments (any depth), positions, posts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node


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
