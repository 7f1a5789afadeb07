"""Who may administer which units and accounts: the checks the unit and account services
share, and the audit codes they write.

- Units and positions: ``org.manage_units``, held by the 系统管理员 only (三员分立).
- Accounts: ``org.manage_users`` over the account's primary unit — everything for the
  系统管理员, their subtree for a 部门管理员 (R-16) or a subsidiary administrator (R-125).
  A target unit (a hire, a transfer) must lie inside the same scope.
- An administrator with a limited scope never administers an account that holds an
  administrator role: a 部门管理员 must not be able to lock out, move or rename the
  administrators who oversee them.
- Nobody administers their own account through these functions (four eyes).

A refusal is audited (result ``denied``) before it is raised. An account outside the
actor's scope is reported as not found, exactly like a missing one (R-11).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xietong.audit import actions as audit_actions
from xietong.audit.models import Event
from xietong.audit.services import record
from xietong.core import access, clock
from xietong.core.errors import NotFoundError, PermissionDeniedError
from xietong.identity.models import User
from xietong.org import selectors
from xietong.org.models import Membership, OrgUnit, Role, RoleGrant

MANAGE_UNITS = "org.manage_units"
MANAGE_USERS = "org.manage_users"
REVIEW_CHANGES = "identity.manage_roles"  # the security administrator reviews permissions

UNIT_CREATED = "org.unit.created"
UNIT_UPDATED = "org.unit.updated"
UNIT_MOVED = "org.unit.moved"
UNIT_DEACTIVATED = "org.unit.deactivated"
UNIT_REACTIVATED = "org.unit.reactivated"
UNIT_HEADS_CHANGED = "org.unit.heads_changed"
UNIT_CONTACT_CHANGED = "org.unit.contact_changed"
POSITION_CREATED = "org.position.created"
POSITION_UPDATED = "org.position.updated"
USER_CREATED = "org.user.created"
USER_UPDATED = "org.user.updated"
USER_TRANSFERRED = "org.user.transferred"
USER_SUSPENDED = "org.user.suspended"
USER_RESUMED = "org.user.resumed"
USER_DEPARTED = "org.user.departed"
CHANGE_REVIEWED = "org.personnel_change.reviewed"
IMPORTED = "org.data.imported"
EXPORTED = "org.data.exported"

for _code, _label in (
    (UNIT_CREATED, gettext_lazy("新建组织单元")),
    (UNIT_UPDATED, gettext_lazy("修改组织单元")),
    (UNIT_MOVED, gettext_lazy("调整组织单元上级")),
    (UNIT_DEACTIVATED, gettext_lazy("撤销组织单元")),
    (UNIT_REACTIVATED, gettext_lazy("恢复组织单元")),
    (UNIT_HEADS_CHANGED, gettext_lazy("设置单位负责人")),
    (UNIT_CONTACT_CHANGED, gettext_lazy("指定平台联系人")),
    (POSITION_CREATED, gettext_lazy("新建岗位")),
    (POSITION_UPDATED, gettext_lazy("修改岗位")),
    (USER_CREATED, gettext_lazy("新建账号")),
    (USER_UPDATED, gettext_lazy("修改账号信息")),
    (USER_TRANSFERRED, gettext_lazy("人员调动")),
    (USER_SUSPENDED, gettext_lazy("暂停账号使用")),
    (USER_RESUMED, gettext_lazy("恢复账号使用")),
    (USER_DEPARTED, gettext_lazy("人员离职")),
    (CHANGE_REVIEWED, gettext_lazy("复核人事变动权限")),
    (IMPORTED, gettext_lazy("导入组织与人员")),
    (EXPORTED, gettext_lazy("导出组织与人员")),
):
    audit_actions.register(_code, _label)


def deny(
    actor: Any,
    action: str,
    target: models.Model | None,
    message: str,
    *,
    request: HttpRequest | None = None,
) -> PermissionDeniedError:
    """Record a refused attempt and return the error to raise."""
    record(
        actor=actor,
        action=action,
        target=target,
        result=Event.Result.DENIED,
        request=request,
        details={"reason": message},
    )
    return PermissionDeniedError(message)


def require_manage_units(
    actor: Any, action: str, target: models.Model | None, request: HttpRequest | None
) -> None:
    if not access.can(actor, MANAGE_UNITS):
        raise deny(actor, action, target, _("只有系统管理员可以维护组织机构。"), request=request)


def require_manage_users(
    actor: Any, action: str, target: models.Model | None, request: HttpRequest | None
) -> None:
    if not access.can(actor, MANAGE_USERS):
        raise deny(actor, action, target, _("您没有管理用户账号的权限。"), request=request)


def unit_in_scope(actor: Any, unit: OrgUnit) -> bool:
    """May ``actor`` place accounts in ``unit`` (``org.manage_users`` over it)?"""
    scope = access.scope_of(actor, MANAGE_USERS)
    if scope is None:
        return False
    return scope.everything or access.can_on(actor, MANAGE_USERS, None, unit=unit, acl=False)


def require_unit_in_scope(
    actor: Any, unit: OrgUnit, action: str, target: models.Model | None, request: HttpRequest | None
) -> None:
    if not unit_in_scope(actor, unit):
        raise deny(
            actor,
            action,
            target,
            _("“%(unit)s”不在您的管理范围内。") % {"unit": unit.name},
            request=request,
        )


def holds_admin_role(user: User) -> bool:
    """Does the account hold any administrator role now, itself or through a post?"""
    now = clock.now()
    positions = Membership.objects.filter(user=user, position__isnull=False).values("position_id")
    return (
        RoleGrant.objects.filter(models.Q(user=user) | models.Q(position__in=positions))
        .filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now))
        .exclude(role__admin_tier=Role.AdminTier.NONE)
        .exists()
    )


def manageable_account(actor: Any, user_id: Any, action: str, request: HttpRequest | None) -> User:
    """The account ``user_id`` if ``actor`` may administer it (the caller then locks it).

    Raises ``PermissionDeniedError`` without ``org.manage_users`` at all, ``NotFoundError``
    for a missing account or one outside the actor's scope (both audited as refused when
    the account exists).
    """
    require_manage_users(actor, action, None, request)
    try:
        user = selectors.manageable_user_get(actor=actor, user_id=user_id)
    except NotFoundError:
        existing = User.objects.filter(pk=user_id).first() if str(user_id).isdigit() else None
        if existing is not None:
            deny(actor, action, existing, _("该账号不在您的管理范围内。"), request=request)
        raise
    if user.pk == actor.pk:
        raise deny(actor, action, user, _("不能在这里管理自己的账号。"), request=request)
    scope = access.scope_of(actor, MANAGE_USERS)
    if scope is not None and not scope.everything and holds_admin_role(user):
        raise deny(actor, action, user, _("部门管理员不能管理担任管理员角色的账号。"), request=request)
    return user
