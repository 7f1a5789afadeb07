"""Abstract building blocks shared by every app's models, and object ACL grants."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xietong.core import clock
from xietong.core.access import AclLevel


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


class AccessGrant(models.Model):
    """One object shared with one grantee at one level (view ⊂ download ⊂ edit ⊂ manage).

    Generic over every model (content type + id) so that files, documents and meetings share
    one table and one query in ``access.restrict``. Grantees are referred to by plain ids,
    not foreign keys: core knows no other app's tables. Object ids are integers — every model
    of the platform has a ``BigAutoField`` key — so that ``pk IN (SELECT object_id …)``
    compares like with like on PostgreSQL.

    Write through ``xietong.core.acl`` only.
    """

    class GranteeKind(models.TextChoices):
        USER = "user", _("用户")
        UNIT = "unit", _("部门")
        ROLE = "role", _("角色")
        POSITION = "position", _("岗位")
        EVERYONE = "everyone", _("全员")

    content_type = models.ForeignKey(
        ContentType, verbose_name=_("对象类型"), on_delete=models.CASCADE, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(_("对象编号"))
    target = GenericForeignKey("content_type", "object_id")
    grantee_kind = models.CharField(_("授权对象类型"), max_length=16, choices=GranteeKind.choices)
    grantee_id = models.PositiveBigIntegerField(_("授权对象编号"), null=True, blank=True)
    include_subunits = models.BooleanField(
        _("含下级部门"), default=False, help_text=_("授权给部门时，下级部门的人员同样适用")
    )
    permission = models.PositiveSmallIntegerField(_("权限"), choices=AclLevel.choices, default=AclLevel.VIEW)
    expires_at = models.DateTimeField(_("到期时间"), null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("授权人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("授权时间"), default=clock.now)

    class Meta:
        verbose_name = _("对象授权")
        verbose_name_plural = _("对象授权")
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "grantee_kind", "grantee_id"],
                condition=Q(grantee_id__isnull=False),
                name="core_accessgrant_one_per_grantee",
            ),
            models.UniqueConstraint(
                fields=["content_type", "object_id"],
                condition=Q(grantee_kind="everyone"),
                name="core_accessgrant_one_everyone",
            ),
            models.CheckConstraint(
                condition=(Q(grantee_kind="everyone") & Q(grantee_id__isnull=True))
                | (~Q(grantee_kind="everyone") & Q(grantee_id__isnull=False)),
                name="core_accessgrant_grantee_id_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(include_subunits=False) | Q(grantee_kind="unit"),
                name="core_accessgrant_subunits_only_for_units",
            ),
            models.CheckConstraint(
                condition=Q(permission__gte=AclLevel.VIEW) & Q(permission__lte=AclLevel.MANAGE),
                name="core_accessgrant_permission_known",
            ),
        ]
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="core_accessgrant_object"),
            models.Index(fields=["grantee_kind", "grantee_id"], name="core_accessgrant_grantee"),
        ]

    def __str__(self) -> str:
        grantee = self.get_grantee_kind_display()
        if self.grantee_id is not None:
            grantee = f"{grantee} {self.grantee_id}"
        return f"{self.content_type_id}:{self.object_id} → {grantee}（{self.get_permission_display()}）"
