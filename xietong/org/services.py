"""Role administration: define roles, grant and revoke them, set clearances.

Each function is one use case: permission-checked, transactional and audited. The rules of
三员分立 (AC-05) are enforced here, where grants and role definitions change:

- the permission sets of the three administrator tiers never overlap;
- a permission reserved for a tier sits only in roles of that tier;
- no administrator role (any tier) holds a business permission;
- no account holds roles of two administrator tiers (工号 is unique, so neither does one
  person); 三员 roles go to named accounts, never to positions;
- nobody grants, revokes or changes their own roles or clearance.

``org.access`` applies the same rules again when permissions are resolved (fail closed).
Role managers are the security administrator (``identity.manage_roles``); a department
administrator may hand on, inside their own scope, roles whose permissions they hold
themselves (``org.delegate_roles``, R-17).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xietong.audit import actions as audit_actions
from xietong.audit.services import record
from xietong.core import access, classification, clock
from xietong.core.access import TRIAD, Scope
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.identity.models import User
from xietong.org.access import OrgAccessProvider, subtree_within
from xietong.org.models import DataScope, Membership, OrgUnit, Position, Role, RoleGrant

MANAGE_ROLES = "identity.manage_roles"
DELEGATE_ROLES = "org.delegate_roles"
MANAGE_CLEARANCES = "identity.manage_clearances"

ROLE_CREATED = "org.role.created"
ROLE_UPDATED = "org.role.updated"
ROLE_DELETED = "org.role.deleted"
ROLE_GRANTED = "org.role.granted"
ROLE_REVOKED = "org.role.revoked"
CLEARANCE_CHANGED = "org.user.clearance_changed"

audit_actions.register(ROLE_CREATED, gettext_lazy("新建角色"))
audit_actions.register(ROLE_UPDATED, gettext_lazy("修改角色"))
audit_actions.register(ROLE_DELETED, gettext_lazy("删除角色"))
audit_actions.register(ROLE_GRANTED, gettext_lazy("授予角色"))
audit_actions.register(ROLE_REVOKED, gettext_lazy("撤销角色"))
audit_actions.register(CLEARANCE_CHANGED, gettext_lazy("调整人员密级"))

_DENIED = "denied"  # audit Event.Result.DENIED

# A delegated grant stays inside the department: these scopes can be checked against the
# delegator's own (company and group cannot, unless the delegator holds everything).
_DELEGABLE_SCOPES = {DataScope.SELF, DataScope.DEPARTMENT, DataScope.DEPARTMENT_TREE, DataScope.LISTED}


def _deny(actor: User, action: str, target: models.Model | None, message: str) -> PermissionDeniedError:
    """Record a refused attempt (outside any transaction that will roll back) and return the
    error to raise."""
    record(actor=actor, action=action, target=target, result=_DENIED, details={"reason": message})
    return PermissionDeniedError(message)


# --------------------------------------------------------------------------- role definitions


def _known_modules() -> set[str]:
    return {permission.module for permission in access.all_permissions()}


def _validate_module_scopes(value: Mapping[str, str] | None, *, allow_listed: bool) -> dict[str, str]:
    scopes = dict(value or {})
    modules = _known_modules()
    for module, scope in scopes.items():
        if module not in modules:
            raise DomainError(_("分模块数据范围中的模块“%(module)s”不存在。") % {"module": module})
        if scope not in DataScope.values or (scope == DataScope.LISTED and not allow_listed):
            raise DomainError(_("模块“%(module)s”的数据范围无效。") % {"module": module})
    return scopes


def _validate_permissions(permissions: Iterable[str], *, admin_tier: str, exclude: Role | None) -> list[str]:
    codenames = sorted(set(permissions))
    for codename in codenames:
        if not isinstance(codename, str) or not access.is_registered(codename):
            raise DomainError(_("权限“%(codename)s”不存在。") % {"codename": codename})
    if admin_tier not in Role.AdminTier.values:
        raise DomainError(_("管理员类别无效。"))
    for codename in codenames:
        permission = access.get_permission(codename)
        if admin_tier != Role.AdminTier.NONE and permission.is_business:
            raise DomainError(
                _("管理员角色不能包含业务权限“%(label)s”（三员分立）。") % {"label": permission.label}
            )
        if permission.reserved_for is not None and permission.reserved_for != admin_tier:
            tier = Role.AdminTier(permission.reserved_for).label
            raise DomainError(
                _("权限“%(label)s”只能属于%(tier)s角色（三员分立）。")
                % {"label": permission.label, "tier": tier}
            )
    if admin_tier in TRIAD:
        others = Role.objects.filter(admin_tier__in=[t for t in TRIAD if t != admin_tier])
        if exclude is not None:
            others = others.exclude(pk=exclude.pk)
        for other in others:
            shared = sorted(set(codenames) & set(other.permissions))
            if shared:
                raise DomainError(
                    _("与“%(role)s”的权限重叠：%(codenames)s（三员的权限必须互不重叠）。")
                    % {"role": other.name, "codenames": "、".join(shared)}
                )
    return codenames


def role_create(
    *,
    actor: User,
    code: str,
    name: str,
    permissions: Iterable[str],
    description: str = "",
    admin_tier: str = Role.AdminTier.NONE,
    is_default: bool = False,
    default_scope: str = DataScope.SELF,
    default_module_scopes: Mapping[str, str] | None = None,
) -> Role:
    if not access.can(actor, MANAGE_ROLES):
        raise _deny(actor, ROLE_CREATED, None, _("只有安全管理员可以管理角色。"))
    with transaction.atomic():
        return _role_create(
            actor=actor,
            code=code,
            name=name,
            permissions=permissions,
            description=description,
            admin_tier=admin_tier,
            is_default=is_default,
            default_scope=default_scope,
            default_module_scopes=default_module_scopes,
        )


def _role_create(
    *,
    actor: User,
    code: str,
    name: str,
    permissions: Iterable[str],
    description: str,
    admin_tier: str,
    is_default: bool,
    default_scope: str,
    default_module_scopes: Mapping[str, str] | None,
) -> Role:
    if is_default and admin_tier != Role.AdminTier.NONE:
        raise DomainError(_("默认角色不能是管理员角色。"))
    if default_scope not in DataScope.values or default_scope == DataScope.LISTED:
        raise DomainError(_("默认数据范围无效。"))
    role = Role(
        code=code.strip(),
        name=name.strip(),
        description=description.strip(),
        admin_tier=admin_tier,
        permissions=_validate_permissions(permissions, admin_tier=admin_tier, exclude=None),
        is_default=is_default,
        default_scope=default_scope,
        default_module_scopes=_validate_module_scopes(default_module_scopes, allow_listed=False),
    )
    try:
        role.full_clean()
    except Exception as exc:
        raise DomainError(_("角色信息有误。"), details=getattr(exc, "message_dict", None)) from None
    role.save()
    record(
        actor=actor,
        action=ROLE_CREATED,
        target=role,
        details={"code": role.code, "admin_tier": role.admin_tier, "permissions": role.permissions},
    )
    return role


def role_update(
    *,
    actor: User,
    role: Role,
    name: str | None = None,
    description: str | None = None,
    permissions: Iterable[str] | None = None,
    default_scope: str | None = None,
    default_module_scopes: Mapping[str, str] | None = None,
) -> Role:
    """Edit a role. Its code, administrator tier and default flag are fixed at creation."""
    if not access.can(actor, MANAGE_ROLES):
        raise _deny(actor, ROLE_UPDATED, role, _("只有安全管理员可以管理角色。"))
    with transaction.atomic():
        return _role_update(
            actor=actor,
            role=role,
            name=name,
            description=description,
            permissions=permissions,
            default_scope=default_scope,
            default_module_scopes=default_module_scopes,
        )


def _role_update(
    *,
    actor: User,
    role: Role,
    name: str | None,
    description: str | None,
    permissions: Iterable[str] | None,
    default_scope: str | None,
    default_module_scopes: Mapping[str, str] | None,
) -> Role:
    role = Role.objects.select_for_update().get(pk=role.pk)
    before = {"name": role.name, "permissions": list(role.permissions), "default_scope": role.default_scope}
    if name is not None:
        role.name = name.strip()
    if description is not None:
        role.description = description.strip()
    if permissions is not None:
        role.permissions = _validate_permissions(permissions, admin_tier=role.admin_tier, exclude=role)
    if default_scope is not None:
        if default_scope not in DataScope.values or default_scope == DataScope.LISTED:
            raise DomainError(_("默认数据范围无效。"))
        role.default_scope = default_scope
    if default_module_scopes is not None:
        role.default_module_scopes = _validate_module_scopes(default_module_scopes, allow_listed=False)
    if not role.name:
        raise DomainError(_("请填写角色名称。"))
    if Role.objects.filter(name=role.name).exclude(pk=role.pk).exists():
        raise DomainError(_("角色名称已被使用。"))
    role.save()
    after = {"name": role.name, "permissions": list(role.permissions), "default_scope": role.default_scope}
    record(
        actor=actor,
        action=ROLE_UPDATED,
        target=role,
        details={
            "before": before,
            "after": after,
            "added": sorted(set(after["permissions"]) - set(before["permissions"])),
            "removed": sorted(set(before["permissions"]) - set(after["permissions"])),
        },
    )
    return role


def role_delete(*, actor: User, role: Role) -> None:
    """Delete a role nobody holds; built-in roles stay."""
    if not access.can(actor, MANAGE_ROLES):
        raise _deny(actor, ROLE_DELETED, role, _("只有安全管理员可以管理角色。"))
    if role.builtin:
        raise DomainError(_("内置角色不能删除。"))
    with transaction.atomic():
        if role.grants.exists():
            raise DomainError(_("该角色仍有授权，请先撤销全部授权。"))
        record(actor=actor, action=ROLE_DELETED, target=role, details={"code": role.code, "name": role.name})
        role.delete()


# --------------------------------------------------------------------------- grants


def _held_tiers(user: User, *, now: dt.datetime) -> set[str]:
    """Administrator tiers the account holds now, directly or through its posts."""
    positions = Membership.objects.filter(user=user, position__isnull=False).values("position_id")
    rows = RoleGrant.objects.filter(Q(user=user) | Q(position__in=positions)).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    return set(rows.values_list("role__admin_tier", flat=True)) - {Role.AdminTier.NONE}


def _check_tiers(role: Role, *, user: User | None, position: Position | None) -> None:
    """No account may end up with two administrator tiers (AC-05)."""
    if role.admin_tier == Role.AdminTier.NONE:
        return
    if role.is_triad and position is not None:
        raise DomainError(_("三员角色只能授予具体账号，不能授予岗位。"))
    now = clock.now()
    holders = (
        [user] if user is not None else list(User.objects.filter(memberships__position=position).distinct())
    )
    for holder in holders:
        if _held_tiers(holder, now=now) - {role.admin_tier}:
            raise DomainError(
                _("%(user)s 已担任其他类别的管理员，一个账号只能担任一种管理员（三员分立）。")
                % {"user": holder}
            )


def _validate_scope(
    scope: str, units: list[OrgUnit], module_scopes: Mapping[str, str] | None
) -> dict[str, str]:
    if scope not in DataScope.values:
        raise DomainError(_("数据范围无效。"))
    overrides = _validate_module_scopes(module_scopes, allow_listed=True)
    listed = scope == DataScope.LISTED or DataScope.LISTED in overrides.values()
    if listed and not units:
        raise DomainError(_("数据范围为“指定部门”时，请至少选择一个部门。"))
    if units and not listed:
        raise DomainError(_("只有数据范围为“指定部门”时才能选择部门。"))
    return overrides


def _primary_unit(user: User) -> OrgUnit | None:
    post = Membership.objects.select_related("unit").filter(user=user, is_primary=True).first()
    return post.unit if post is not None else None


def _reaches_account(actor: User, codename: str, user: User) -> bool:
    """Does ``actor`` hold ``codename`` over the account's primary unit (R-16, R-125)?"""
    scope = access.scope_of(actor, codename)
    if scope is None:
        return False
    if scope.everything:
        return True
    unit = _primary_unit(user)
    return unit is not None and access.can_on(actor, codename, user, unit=unit, acl=False)


def _delegation_error(
    actor: User,
    role: Role,
    user: User | None,
    scope: str,
    units: list[OrgUnit],
    overrides: Mapping[str, str],
) -> str | None:
    """Why a department administrator may not make this grant, or None (R-17)."""
    if user is None:
        return _("部门管理员只能把角色授予具体人员。")
    if role.admin_tier != Role.AdminTier.NONE:
        return _("部门管理员不能转授管理员角色。")
    provider = OrgAccessProvider()
    own = access.scope_of(actor, DELEGATE_ROLES) or Scope()
    posts = [post.unit for post in Membership.objects.select_related("unit").filter(user=user)]
    if not posts or not (own.everything or all(provider.unit_within(own.units, unit) for unit in posts)):
        return _("只能给本部门范围内的人员授权。")
    for codename in role.permissions:
        held = access.scope_of(actor, codename)
        label = access.get_permission(codename).label if access.is_registered(codename) else codename
        if held is None:
            return _("不能转授自己没有的权限：%(label)s。") % {"label": label}
        if held.everything:
            continue
        chosen = overrides.get(codename.split(".", 1)[0], scope)
        if chosen not in _DELEGABLE_SCOPES:
            return _("转授的数据范围不能超出自己的范围：%(label)s。") % {"label": label}
        if chosen == DataScope.DEPARTMENT:
            inside = all(provider.unit_within(held.units, unit) for unit in posts)
        elif chosen == DataScope.DEPARTMENT_TREE:
            inside = all(subtree_within(held.units, unit) for unit in posts)
        elif chosen == DataScope.LISTED:
            inside = all(subtree_within(held.units, unit) for unit in units)
        else:  # self: the grantee's own rows, inside the delegator's units
            inside = not held.empty
        if not inside:
            return _("转授的数据范围不能超出自己的范围：%(label)s。") % {"label": label}
    return None


def _authorize_grant(
    actor: User,
    action: str,
    role: Role,
    *,
    user: User | None,
    position: Position | None,
    scope: str,
    units: list[OrgUnit],
    overrides: Mapping[str, str],
    target: models.Model,
) -> None:
    if user is not None and user.pk == actor.pk:
        raise _deny(actor, action, target, _("不能给自己授予或撤销角色。"))
    if position is not None and Membership.objects.filter(user=actor, position=position).exists():
        raise _deny(actor, action, target, _("不能给自己担任的岗位授予或撤销角色。"))
    if access.can(actor, MANAGE_ROLES):
        if user is not None and _reaches_account(actor, MANAGE_ROLES, user):
            return
        scope_held = access.scope_of(actor, MANAGE_ROLES)
        if position is not None and scope_held is not None and scope_held.everything:
            return
        raise _deny(actor, action, target, _("该账号不在您的授权管理范围内。"))
    if access.can(actor, DELEGATE_ROLES):
        problem = _delegation_error(actor, role, user, scope, units, overrides)
        if problem is None:
            return
        raise _deny(actor, action, target, problem)
    raise _deny(actor, action, target, _("您没有授予或撤销角色的权限。"))


def _create_grant(
    *,
    actor: User | None,
    role: Role,
    user: User | None,
    position: Position | None,
    scope: str,
    units: list[OrgUnit],
    overrides: dict[str, str],
    expires_at: dt.datetime | None,
    reason: str,
) -> RoleGrant:
    if (user is None) == (position is None):
        raise DomainError(_("请指定一个账号或一个岗位（只能二选一）。"))
    if expires_at is not None and expires_at <= clock.now():
        raise DomainError(_("到期时间必须晚于当前时间。"))
    # Lock the holder so that two grants made at once cannot both pass the tier check.
    if user is not None:
        User.objects.select_for_update().filter(pk=user.pk).first()
    elif position is not None:
        Position.objects.select_for_update().filter(pk=position.pk).first()
    _check_tiers(role, user=user, position=position)
    holder = Q(user=user) if user is not None else Q(position=position)
    if RoleGrant.objects.filter(holder, role=role).exists():
        raise DomainError(_("已授予过该角色；如需改变数据范围，请先撤销原授权。"))
    grant = RoleGrant.objects.create(
        role=role,
        user=user,
        position=position,
        scope=scope,
        module_scopes=overrides,
        expires_at=expires_at,
        reason=reason.strip(),
        granted_by=actor,
        granted_at=clock.now(),
    )
    if units:
        grant.units.set(units)
    target: models.Model = user if user is not None else position  # type: ignore[assignment]
    record(
        actor=actor,
        action=ROLE_GRANTED,
        target=target,
        details={
            "role": role.code,
            "role_name": role.name,
            "scope": scope,
            "units": sorted(unit.code for unit in units),
            "module_scopes": overrides,
            "expires_at": expires_at,
            "reason": grant.reason,
            "grant_id": grant.pk,
        },
    )
    access.forget(user)
    return grant


def role_grant(
    *,
    actor: User,
    role: Role,
    user: User | None = None,
    position: Position | None = None,
    scope: str,
    units: Iterable[OrgUnit] = (),
    module_scopes: Mapping[str, str] | None = None,
    expires_at: dt.datetime | None = None,
    reason: str = "",
) -> RoleGrant:
    """Give ``role`` to an account or to a position, with a data scope (and per-module
    overrides) and an optional expiry."""
    unit_list = list(units)
    overrides = _validate_scope(scope, unit_list, module_scopes)
    target: models.Model | None = user if user is not None else position
    if target is None:
        raise DomainError(_("请指定一个账号或一个岗位（只能二选一）。"))
    _authorize_grant(
        actor,
        ROLE_GRANTED,
        role,
        user=user,
        position=position,
        scope=scope,
        units=unit_list,
        overrides=overrides,
        target=target,
    )
    with transaction.atomic():
        return _create_grant(
            actor=actor,
            role=role,
            user=user,
            position=position,
            scope=scope,
            units=unit_list,
            overrides=overrides,
            expires_at=expires_at,
            reason=reason,
        )


def role_grant_by_system(
    *,
    role: Role,
    user: User,
    scope: str = DataScope.GROUP,
    units: Iterable[OrgUnit] = (),
    reason: str = "",
) -> RoleGrant:
    """Bootstrap: give a role with no acting administrator — the first 三员 accounts of an
    installation (``xietong assign_role``) and the demo. The 三员 rules still apply; the
    audit record names no actor."""
    unit_list = list(units)
    overrides = _validate_scope(scope, unit_list, None)
    with transaction.atomic():
        return _create_grant(
            actor=None,
            role=role,
            user=user,
            position=None,
            scope=scope,
            units=unit_list,
            overrides=overrides,
            expires_at=None,
            reason=reason,
        )


def role_revoke(*, actor: User, grant: RoleGrant) -> None:
    """Withdraw one grant; who may revoke it is who could have made it."""
    grant = (
        RoleGrant.objects.select_related("role", "user", "position")
        .prefetch_related("units")
        .get(pk=grant.pk)
    )
    target: models.Model = grant.user if grant.user is not None else grant.position  # type: ignore[assignment]
    units = list(grant.units.all())
    _authorize_grant(
        actor,
        ROLE_REVOKED,
        grant.role,
        user=grant.user,
        position=grant.position,
        scope=grant.scope,
        units=units,
        overrides=grant.module_scopes or {},
        target=target,
    )
    with transaction.atomic():
        record(
            actor=actor,
            action=ROLE_REVOKED,
            target=target,
            details={
                "role": grant.role.code,
                "role_name": grant.role.name,
                "scope": grant.scope,
                "units": sorted(unit.code for unit in units),
                "grant_id": grant.pk,
                "granted_at": grant.granted_at,
            },
        )
        grant.delete()
    access.forget(grant.user)


def role_revoke_by_flow(*, grant: RoleGrant, actor: User | None, reason: str) -> None:
    """Take back a grant that an approval made, when that approval is 撤销 (revoked): the flow
    decided it, so no administrator's authority is asked; the audit record names who revoked
    the approval and why."""
    grant = RoleGrant.objects.select_related("role", "user", "position").get(pk=grant.pk)
    target: models.Model = grant.user if grant.user is not None else grant.position  # type: ignore[assignment]
    with transaction.atomic():
        record(
            actor=actor,
            action=ROLE_REVOKED,
            target=target,
            details={
                "role": grant.role.code,
                "role_name": grant.role.name,
                "scope": grant.scope,
                "grant_id": grant.pk,
                "granted_at": grant.granted_at,
                "reason": reason,
            },
        )
        grant.delete()
    access.forget(grant.user)


# --------------------------------------------------------------------------- clearance


def user_set_clearance(*, actor: User, user: User, clearance: int) -> User:
    """Set the highest 密级 an account may see (AC-08); the security administrator's duty."""
    if user.pk == actor.pk:
        raise _deny(actor, CLEARANCE_CHANGED, user, _("不能调整自己的密级。"))
    if not access.can(actor, MANAGE_CLEARANCES) or not _reaches_account(actor, MANAGE_CLEARANCES, user):
        raise _deny(actor, CLEARANCE_CHANGED, user, _("您没有调整该人员密级的权限。"))
    if clearance not in classification.levels():
        raise DomainError(_("密级无效。"))
    with transaction.atomic():
        return _set_clearance(actor=actor, user=user, clearance=clearance)


def _set_clearance(*, actor: User, user: User, clearance: int) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    before = user.clearance
    if before == clearance:
        return user
    user.clearance = clearance
    user.save(update_fields=["clearance"])
    record(
        actor=actor,
        action=CLEARANCE_CHANGED,
        target=user,
        details={
            "before": before,
            "after": clearance,
            "before_label": classification.label(before),
            "after_label": classification.label(clearance),
        },
    )
    return user
