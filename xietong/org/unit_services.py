"""Maintaining the organisation tree and the positions: one function per use case, each
permission-checked (``org.manage_units``, the 系统管理员), transactional and audited.

Units are never deleted — accounts, records and audit events point at them — they are
deactivated, which is refused while active people or active units remain inside. A unit's
code is its key for imports and exports and fixes its place among its siblings
(``node_order_by``), so it is set once at creation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from xietong.audit.services import record
from xietong.core import access
from xietong.core.errors import DomainError
from xietong.identity.models import User
from xietong.org import guards
from xietong.org.models import Membership, OrgUnit, Position

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_CHILD_KINDS = (OrgUnit.Kind.COMPANY, OrgUnit.Kind.DEPARTMENT)


def _field_error(field: str, message: str) -> DomainError:
    return DomainError(message, details=[{"field": field, "message": message}])


def clean_unit_name(name: str, *, field: str = "name", required: bool = True, limit: int = 100) -> str:
    value = " ".join(name.split())
    if required and not value:
        raise _field_error(field, _("请填写名称。"))
    if len(value) > limit:
        raise _field_error(field, _("名称不能超过 %(limit)d 个字。") % {"limit": limit})
    return value


def clean_unit_code(code: str) -> str:
    value = code.strip()
    if not CODE_PATTERN.match(value):
        raise _field_error("code", _("编码只能由字母、数字、“-”和“_”组成，最长 32 位。"))
    if OrgUnit.objects.filter(code__iexact=value).exists():
        raise _field_error("code", _("编码“%(code)s”已被使用。") % {"code": value})
    return value


def _check_kind(kind: str, *, root: bool) -> None:
    if root and kind != OrgUnit.Kind.GROUP:
        raise _field_error("kind", _("最上级单位的类型必须是“集团”。"))
    if not root and kind not in _CHILD_KINDS:
        raise _field_error("kind", _("下级单位的类型只能是“公司”或“部门”。"))


def _reload(unit: OrgUnit, *, lock: bool = False) -> OrgUnit:
    """The current row: tree operations elsewhere may have moved its path since it was read."""
    units = OrgUnit.objects.select_for_update() if lock else OrgUnit.objects
    current: OrgUnit = units.get(pk=unit.pk)
    return current


# --------------------------------------------------------------------------- units


def unit_create(
    *,
    actor: User,
    parent: OrgUnit | None,
    code: str,
    name: str,
    kind: str = OrgUnit.Kind.DEPARTMENT,
    short_name: str = "",
    request: HttpRequest | None = None,
) -> OrgUnit:
    """Add a unit under ``parent``; without a parent, the group itself (only once)."""
    guards.require_manage_units(actor, guards.UNIT_CREATED, parent, request)
    with transaction.atomic():
        code = clean_unit_code(code)
        name = clean_unit_name(name)
        short_name = clean_unit_name(short_name, field="short_name", required=False, limit=50)
        _check_kind(kind, root=parent is None)
        unit: OrgUnit
        if parent is None:
            if OrgUnit.objects.exists():
                raise _field_error("parent", _("请选择上级单位：集团只有一个最上级单位。"))
            unit = OrgUnit.objects.add_root(
                create_kwargs={"code": code, "name": name, "kind": kind, "short_name": short_name}
            )
        else:
            parent = _reload(parent)
            if not parent.is_active:
                raise _field_error("parent", _("上级单位已撤销，不能在其下新建单位。"))
            unit = OrgUnit.objects.add_child(
                parent, create_kwargs={"code": code, "name": name, "kind": kind, "short_name": short_name}
            )
        record(
            actor=actor,
            action=guards.UNIT_CREATED,
            target=unit,
            request=request,
            details={
                "code": unit.code,
                "name": unit.name,
                "kind": unit.kind,
                "parent": parent.code if parent is not None else None,
            },
        )
    return unit


def unit_update(
    *,
    actor: User,
    unit: OrgUnit,
    name: str,
    short_name: str = "",
    kind: str | None = None,
    request: HttpRequest | None = None,
) -> OrgUnit:
    """Rename a unit (and change its short name or kind). A change of kind moves the company
    boundaries that "本公司" data scopes follow, so it is audited like the rename."""
    guards.require_manage_units(actor, guards.UNIT_UPDATED, unit, request)
    with transaction.atomic():
        unit = _reload(unit, lock=True)
        before = {"name": unit.name, "short_name": unit.short_name, "kind": unit.kind}
        unit.name = clean_unit_name(name)
        unit.short_name = clean_unit_name(short_name, field="short_name", required=False, limit=50)
        if kind is not None:
            _check_kind(kind, root=unit.depth == 1)
            unit.kind = kind
        after = {"name": unit.name, "short_name": unit.short_name, "kind": unit.kind}
        if after == before:
            return unit
        unit.save(update_fields=["name", "short_name", "kind"])
        record(
            actor=actor,
            action=guards.UNIT_UPDATED,
            target=unit,
            request=request,
            details={"code": unit.code, "before": before, "after": after},
        )
    return unit


def unit_move(*, actor: User, unit: OrgUnit, parent: OrgUnit, request: HttpRequest | None = None) -> OrgUnit:
    """Put ``unit`` (with everything below it) under ``parent``. Data scopes follow the new
    place at once: they are computed from the tree on each request."""
    guards.require_manage_units(actor, guards.UNIT_MOVED, unit, request)
    with transaction.atomic():
        unit = _reload(unit, lock=True)
        parent = _reload(parent)
        if unit.depth == 1:
            raise _field_error("parent", _("最上级单位不能移动。"))
        if parent.path.startswith(unit.path):
            raise _field_error("parent", _("不能把单位移到它自己或它的下级单位之下。"))
        if not parent.is_active:
            raise _field_error("parent", _("目标上级单位已撤销。"))
        old_parent = OrgUnit.objects.get_parent(unit)
        if old_parent is not None and old_parent.pk == parent.pk:
            raise _field_error("parent", _("该单位已在所选上级单位之下。"))
        old_path = unit.path
        OrgUnit.objects.move(unit, parent, "sorted-child")
        unit = _reload(unit)
        record(
            actor=actor,
            action=guards.UNIT_MOVED,
            target=unit,
            request=request,
            details={
                "code": unit.code,
                "from_parent": old_parent.code if old_parent is not None else None,
                "to_parent": parent.code,
                "old_path": old_path,
                "new_path": unit.path,
            },
        )
    return unit


def unit_deactivate(*, actor: User, unit: OrgUnit, request: HttpRequest | None = None) -> OrgUnit:
    """Withdraw a unit (撤销). Refused while it has active members or active sub-units: their
    people must be transferred and their units withdrawn first, so nobody is left in a unit
    that no longer exists."""
    guards.require_manage_units(actor, guards.UNIT_DEACTIVATED, unit, request)
    with transaction.atomic():
        unit = _reload(unit, lock=True)
        if unit.depth == 1:
            raise DomainError(_("最上级单位不能撤销。"))
        if not unit.is_active:
            raise DomainError(_("该单位已撤销。"))
        members = Membership.objects.filter(unit=unit, user__is_active=True).count()
        if members:
            raise DomainError(_("该单位还有 %(count)d 名在职人员，请先调出后再撤销。") % {"count": members})
        children = OrgUnit.objects.get_children(unit).filter(is_active=True).count()
        if children:
            raise DomainError(
                _("该单位还有 %(count)d 个有效的下级单位，请先撤销或移走。") % {"count": children}
            )
        unit.is_active = False
        unit.save(update_fields=["is_active"])
        record(
            actor=actor,
            action=guards.UNIT_DEACTIVATED,
            target=unit,
            request=request,
            details={"code": unit.code},
        )
    return unit


def unit_reactivate(*, actor: User, unit: OrgUnit, request: HttpRequest | None = None) -> OrgUnit:
    guards.require_manage_units(actor, guards.UNIT_REACTIVATED, unit, request)
    with transaction.atomic():
        unit = _reload(unit, lock=True)
        if unit.is_active:
            raise DomainError(_("该单位未撤销。"))
        parent = OrgUnit.objects.get_parent(unit)
        if parent is not None and not parent.is_active:
            raise DomainError(_("上级单位已撤销，请先恢复上级单位。"))
        unit.is_active = True
        unit.save(update_fields=["is_active"])
        record(
            actor=actor,
            action=guards.UNIT_REACTIVATED,
            target=unit,
            request=request,
            details={"code": unit.code},
        )
    return unit


def unit_set_heads(
    *, actor: User, unit: OrgUnit, user_ids: Iterable[int], request: HttpRequest | None = None
) -> list[User]:
    """Make exactly ``user_ids`` the heads (负责人) of ``unit``; each must hold a post there."""
    guards.require_manage_units(actor, guards.UNIT_HEADS_CHANGED, unit, request)
    wanted = {int(pk) for pk in user_ids}
    with transaction.atomic():
        unit = _reload(unit, lock=True)
        posts = {
            post.user_id: post
            for post in Membership.objects.select_for_update()
            .filter(unit=unit, user__is_active=True)
            .select_related("user")
        }
        strangers = wanted - set(posts)
        if strangers:
            raise _field_error("heads", _("负责人必须是本单位的在职人员。"))
        before = sorted(post.user.username for post in posts.values() if post.is_head)
        Membership.objects.filter(unit=unit).exclude(user_id__in=wanted).filter(is_head=True).update(
            is_head=False
        )
        Membership.objects.filter(unit=unit, user_id__in=wanted).update(is_head=True)
        heads = [posts[pk].user for pk in sorted(wanted)]
        after = sorted(user.username for user in heads)
        if before != after:
            record(
                actor=actor,
                action=guards.UNIT_HEADS_CHANGED,
                target=unit,
                request=request,
                details={"code": unit.code, "before": before, "after": after},
            )
    return heads


def can_set_contact(actor: User, unit: OrgUnit) -> bool:
    """The 系统管理员, or a head of the unit itself (R-126: heads designate their 专人)."""
    if access.can(actor, guards.MANAGE_UNITS):
        return True
    return bool(actor.is_active and Membership.objects.filter(user=actor, unit=unit, is_head=True).exists())


def unit_set_contact(
    *, actor: User, unit: OrgUnit, contact: User | None, request: HttpRequest | None = None
) -> OrgUnit:
    """Designate the unit's platform contact (专人, R-123/R-126), or clear it. The contact
    must be an active account holding a post in the unit or below it."""
    if not can_set_contact(actor, unit):
        raise guards.deny(
            actor,
            guards.UNIT_CONTACT_CHANGED,
            unit,
            _("只有系统管理员或本单位负责人可以指定平台联系人。"),
            request=request,
        )
    with transaction.atomic():
        unit = _reload(unit, lock=True)
        if contact is not None:
            inside = Membership.objects.filter(
                user=contact, user__is_active=True, unit__path__startswith=unit.path
            ).exists()
            if not inside:
                raise _field_error("contact", _("平台联系人必须是本单位（含下级单位）的在职人员。"))
        before = unit.contact.username if unit.contact is not None else None
        after = contact.username if contact is not None else None
        if before == after:
            return unit
        unit.contact = contact
        unit.save(update_fields=["contact"])
        record(
            actor=actor,
            action=guards.UNIT_CONTACT_CHANGED,
            target=unit,
            request=request,
            details={"code": unit.code, "before": before, "after": after},
        )
    return unit


# --------------------------------------------------------------------------- positions


def _clean_position(name: str, rank: int, *, exclude: Position | None) -> tuple[str, int]:
    value = " ".join(name.split())
    if not value:
        raise _field_error("name", _("请填写岗位名称。"))
    if len(value) > 64:
        raise _field_error("name", _("岗位名称不能超过 64 个字。"))
    if not 1 <= rank <= 99:
        raise _field_error("rank", _("职级应在 1 到 99 之间。"))
    taken = Position.objects.filter(name__iexact=value)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise _field_error("name", _("岗位“%(name)s”已存在。") % {"name": value})
    return value, rank


def position_create(*, actor: User, name: str, rank: int, request: HttpRequest | None = None) -> Position:
    guards.require_manage_units(actor, guards.POSITION_CREATED, None, request)
    with transaction.atomic():
        name, rank = _clean_position(name, rank, exclude=None)
        position = Position.objects.create(name=name, rank=rank)
        record(
            actor=actor,
            action=guards.POSITION_CREATED,
            target=position,
            request=request,
            details={"name": name, "rank": rank},
        )
    return position


def position_update(
    *, actor: User, position: Position, name: str, rank: int, request: HttpRequest | None = None
) -> Position:
    """Rename a position or change its rank. Its holders and the roles granted to it stay."""
    guards.require_manage_units(actor, guards.POSITION_UPDATED, position, request)
    with transaction.atomic():
        position = Position.objects.select_for_update().get(pk=position.pk)
        before = {"name": position.name, "rank": position.rank}
        position.name, position.rank = _clean_position(name, rank, exclude=position)
        after = {"name": position.name, "rank": position.rank}
        if before == after:
            return position
        position.save(update_fields=["name", "rank"])
        record(
            actor=actor,
            action=guards.POSITION_UPDATED,
            target=position,
            request=request,
            details={"before": before, "after": after},
        )
    return position
