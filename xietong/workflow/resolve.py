"""Who an approver specification means today, and who may start a flow.

Approvers are always active accounts, each once, in a stable order (a ``heads`` chain from the
lowest manager up; otherwise the order the spec gives, or account id), and never a holder of a
三员 role: the system, security and audit administrators take no part in business flows
(AC-05). Every kind costs a small fixed number of queries, however big the organisation.

主管层级 (domain standards §4.1): level 1 is the head of the initiator's primary unit — or, when
the initiator heads that unit, the head of the unit above it (so a head's level 1 is a
member's level 2); level N is N − 1 units further up. A unit without a head (no active,
eligible head other than the initiator) is passed over: its level falls to the nearest unit
above that has one. Past the top of the tree there is nobody, and the node's ``on_empty``
rule applies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from xietong.core import clock
from xietong.core.access import TRIAD
from xietong.core.errors import DomainError
from xietong.identity.models import User
from xietong.org.access import ancestor_paths
from xietong.org.audience import Audience, audience_users
from xietong.org.models import Membership, OrgUnit, Position, Role
from xietong.workflow.definition import (
    APPROVER_KINDS,
    BRANCH_TYPES,
    DefinitionError,
    FormLike,
    field_info,
    is_positive_int,
)


def resolve_approvers(
    spec: Mapping[str, Any],
    *,
    initiator: User,
    data: Mapping[str, Any],
    chosen: Sequence[int] = (),
    now: dt.datetime | None = None,
    form: FormLike | None = None,
) -> list[int]:
    """The ids of the active accounts ``spec`` names, in order, each once; ``[]`` when nobody.

    ``chosen``: the initiator's picks for an ``initiator_chooses`` node (kept only when within
    ``among``; see ``check_chosen`` to refuse bad picks at start). ``form``: tells a ``unit``
    field of a ``form_field`` spec (its head approves) from a ``user`` field; without it the
    field's values are taken as user ids. Raises ``DefinitionError`` for an unknown kind.
    """
    now = now or clock.now()
    kind = spec.get("kind") if isinstance(spec, Mapping) else None
    if kind not in APPROVER_KINDS:
        raise DefinitionError(_("未知的审批人类型“%(kind)s”。") % {"kind": kind})
    if kind == "users":
        return _eligible(_ids(spec.get("ids")), now)
    if kind == "role":
        code = spec.get("code")
        return _ordered(audience_users(Audience(roles=frozenset([str(code)])), now=now, business=True))
    if kind == "position":
        return _ordered(
            audience_users(Audience(positions=frozenset(_ids([spec.get("id")]))), now=now, business=True)
        )
    if kind == "head":
        return _heads(initiator, range(_int(spec.get("level")), _int(spec.get("level")) + 1), now)
    if kind == "heads":
        return _heads(initiator, range(1, _int(spec.get("up_to")) + 1), now)
    if kind == "unit_head":
        return _unit_heads(_ids([spec.get("unit_id")]), now)
    if kind == "initiator_chooses":
        picks = _ids(chosen)
        among = spec.get("among")
        if isinstance(among, Mapping):
            allowed = set(resolve_approvers(among, initiator=initiator, data=data, now=now, form=form))
            picks = [pick for pick in picks if pick in allowed]
        if spec.get("multiple") is not True:
            picks = picks[:1]
        return _eligible(picks, now)
    if kind == "form_field":
        key = spec.get("field")
        values = _ids(data.get(key) if isinstance(key, str) else None)
        info = field_info(form, key) if isinstance(key, str) else None
        if info is not None and info.type == "unit":
            return _unit_heads(values, now)
        return _eligible(values, now)
    return _eligible([initiator.pk], now)  # "initiator"


def check_chosen(
    spec: Mapping[str, Any],
    *,
    initiator: User,
    data: Mapping[str, Any],
    chosen: Sequence[Any],
    now: dt.datetime | None = None,
    form: FormLike | None = None,
) -> list[int]:
    """The initiator's picks for an ``initiator_chooses`` spec, checked as the flow starts:
    at least one, only one unless ``multiple``, each an active account within ``among``.
    Raises ``DomainError`` with a Chinese message; returns the picks, each once, in order."""
    if not chosen:
        raise DomainError(_("请选择审批人。"))
    if any(not _ids([pick]) for pick in chosen):
        raise DomainError(_("所选审批人无效。"))
    picks = _ids(chosen)
    if spec.get("multiple") is not True and len(picks) > 1:
        raise DomainError(_("此处只能选择一名审批人。"))
    allowed = resolve_approvers(spec, initiator=initiator, data=data, chosen=picks, now=now, form=form)
    if len(allowed) != len(picks):
        raise DomainError(_("所选人员不在可选范围内，或账号已停用。"))
    return allowed


def _int(value: Any) -> int:
    return value if is_positive_int(value) else 0


def _ids(values: Any) -> list[int]:
    """Positive ids from a value or list of values (``7`` or ``"7"``), each once, in order."""
    items = values if isinstance(values, list | tuple) else [values]
    found: list[int] = []
    for item in items:
        if isinstance(item, str) and item.strip().isdecimal():
            item = int(item.strip())
        if is_positive_int(item) and item not in found:
            found.append(item)
    return found


def _eligible_users(now: dt.datetime) -> QuerySet[User]:
    """Active accounts that hold no 三员 role (as a sub-query)."""
    return audience_users(Audience(everyone=True), now=now, business=True)


def _eligible(ids: Sequence[int], now: dt.datetime) -> list[int]:
    """``ids`` in their order, without inactive accounts and 三员 administrators. One query."""
    if not ids:
        return []
    kept = set(_eligible_users(now).filter(pk__in=list(ids)).values_list("pk", flat=True))
    return [pk for pk in dict.fromkeys(ids) if pk in kept]


def _ordered(users: QuerySet[User]) -> list[int]:
    return list(users.order_by("pk").values_list("pk", flat=True))


def _unit_heads(unit_ids: Sequence[int], now: dt.datetime) -> list[int]:
    """The eligible heads of the units, unit by unit in the given order. One query."""
    if not unit_ids:
        return []
    rows = (
        Membership.objects.filter(
            unit_id__in=list(unit_ids),
            unit__is_active=True,
            is_head=True,
            user_id__in=_eligible_users(now).values("pk"),
        )
        .order_by("user_id")
        .values_list("unit_id", "user_id")
    )
    by_unit: dict[int, list[int]] = {}
    for unit_id, user_id in rows:
        by_unit.setdefault(unit_id, []).append(user_id)
    return list(dict.fromkeys(user_id for unit_id in unit_ids for user_id in by_unit.get(unit_id, ())))


def _heads(initiator: User, levels: Iterable[int], now: dt.datetime) -> list[int]:
    """The initiator's heads at ``levels`` (see the module's docs), low to high. Two queries."""
    primary = (
        Membership.objects.filter(user_id=initiator.pk, is_primary=True)
        .values_list("unit__path", "is_head")
        .first()
    )
    if primary is None:
        return []
    path, is_head = primary
    paths = ancestor_paths(path)  # top first
    rows = (
        Membership.objects.filter(
            unit__path__in=paths,
            unit__is_active=True,
            is_head=True,
            user_id__in=_eligible_users(now).values("pk"),
        )
        .exclude(user_id=initiator.pk)  # nobody is their own superior
        .order_by("user_id")
        .values_list("unit__path", "user_id")
    )
    heads: dict[str, list[int]] = {}
    for unit_path, user_id in rows:
        heads.setdefault(unit_path, []).append(user_id)
    level_one = len(paths) - 1 - (1 if is_head else 0)
    found: list[int] = []
    for level in levels:
        if level < 1:
            continue  # not a level (an unchecked definition)
        index = level_one - (level - 1)
        while index >= 0 and not heads.get(paths[index]):
            index -= 1  # a unit without a head: its level goes to the nearest head above
        if index >= 0:
            found.extend(heads[paths[index]])
    return list(dict.fromkeys(found))


# --------------------------------------------------------------------------- initiators


def can_start(definition: Mapping[str, Any], user: User) -> bool:
    """Does the flow's ``initiators`` rule let ``user`` start it? Rules (any one suffices):
    ``{"kind": "everyone"}``, ``{"kind": "unit", "id": N, "subtree": true}`` (a post, primary
    or concurrent, in the unit — or below it unless ``subtree`` is false), ``{"kind": "role",
    "code": "..."}``, ``{"kind": "user", "id": N}``, ``{"kind": "position", "id": N}``.
    Without ``initiators`` everyone may. Inactive accounts and the 三员 administrators never
    may. At most two queries."""
    if not (user.is_authenticated and user.is_active):
        return False
    audience = initiator_audience(definition)
    if audience.empty:
        return False
    return audience_users(audience, business=True).filter(pk=user.pk).exists()


def initiator_audience(definition: Mapping[str, Any]) -> Audience:
    """The ``initiators`` rule as an ``Audience`` (for listing who may start a flow, too)."""
    rules = definition.get("initiators", [{"kind": "everyone"}]) if isinstance(definition, Mapping) else []
    found: dict[str, set[Any]] = {
        "users": set(),
        "units": set(),
        "units_only": set(),
        "roles": set(),
        "positions": set(),
    }
    everyone = False
    for rule in rules if isinstance(rules, list) else ():
        kind = rule.get("kind") if isinstance(rule, Mapping) else None
        if kind == "everyone":
            everyone = True
        elif kind == "role" and isinstance(rule.get("code"), str):
            found["roles"].add(rule["code"])
        elif kind in ("user", "position", "unit") and is_positive_int(rule.get("id")):
            if kind == "unit":
                found["units" if rule.get("subtree", True) is not False else "units_only"].add(rule["id"])
            else:
                found[f"{kind}s"].add(rule["id"])
    return Audience(
        users=frozenset(found["users"]),
        units=frozenset(found["units"]),
        units_only=frozenset(found["units_only"]),
        roles=frozenset(found["roles"]),
        positions=frozenset(found["positions"]),
        everyone=everyone,
    )


# --------------------------------------------------------------------------- references


def reference_problems(definition: Mapping[str, Any]) -> list[str]:
    """What a structurally valid definition names that does not exist (or may not act):
    accounts that are missing, inactive or 三员 administrators; unknown roles and 三员 roles;
    unknown positions; missing or inactive units. In Chinese; ``[]`` when all is well. Four
    queries at most. To run after ``validate_definition`` when a flow is published."""
    users: set[int] = set()
    roles: set[str] = set()
    positions: set[int] = set()
    units: set[int] = set()
    settings = definition.get("settings")
    if isinstance(settings, Mapping):
        users.update(_ids(settings.get("admin_user_ids")))
    rules = definition.get("initiators")
    for rule in rules if isinstance(rules, list) else ():
        if isinstance(rule, Mapping):
            _collect(rule, rule.get("kind"), rule.get("id"), users, roles, positions, units)
    for node in _walk(definition.get("nodes")):
        for key in ("approvers", "recipients"):
            spec = node.get(key)
            while isinstance(spec, Mapping):
                kind = spec.get("kind")
                reference = spec.get("unit_id") if kind == "unit_head" else spec.get("id")
                _collect(spec, kind, reference, users, roles, positions, units)
                spec = spec.get("among")
        branches = node.get("branches")
        for branch in branches if isinstance(branches, list) else ():
            if isinstance(branch, Mapping):
                for leaf in _leaves(branch.get("condition"), 0):
                    subject, values = leaf.get("subject"), leaf.get("value")
                    values = values if isinstance(values, list) else []
                    if subject == "initiator_unit":
                        units.update(_ids(values))
                    elif subject == "initiator_position":
                        positions.update(_ids(values))
                    elif subject == "initiator_role":
                        roles.update(code for code in values if isinstance(code, str))

    problems: list[str] = []
    if users:
        usable = set(_eligible(sorted(users), clock.now()))
        for pk in sorted(users - usable):
            problems.append(_("用户（编号 %(id)d）不存在、已停用或是三员管理员，不能参与审批。") % {"id": pk})
    if roles:
        known = dict(Role.objects.filter(code__in=roles).values_list("code", "admin_tier"))
        for code in sorted(roles):
            if code not in known:
                problems.append(_("角色“%(code)s”不存在。") % {"code": code})
            elif known[code] in TRIAD:
                problems.append(_("三员管理角色“%(code)s”不能参与业务审批。") % {"code": code})
    if positions:
        known_positions = set(Position.objects.filter(pk__in=positions).values_list("pk", flat=True))
        for pk in sorted(positions - known_positions):
            problems.append(_("岗位（编号 %(id)d）不存在。") % {"id": pk})
    if units:
        active_units = set(OrgUnit.objects.filter(pk__in=units, is_active=True).values_list("pk", flat=True))
        for pk in sorted(units - active_units):
            problems.append(_("部门（编号 %(id)d）不存在或已停用。") % {"id": pk})
    return problems


def _collect(
    spec: Mapping[str, Any],
    kind: Any,
    reference: Any,
    users: set[int],
    roles: set[str],
    positions: set[int],
    units: set[int],
) -> None:
    if kind == "users":
        users.update(_ids(spec.get("ids")))
    elif kind == "user":
        users.update(_ids([reference]))
    elif kind == "role" and isinstance(spec.get("code"), str):
        roles.add(spec["code"])
    elif kind == "position":
        positions.update(_ids([reference]))
    elif kind in ("unit", "unit_head"):
        units.update(_ids([reference]))


def _walk(nodes: Any) -> Iterator[Mapping[str, Any]]:
    """Every node dict of a (possibly malformed) tree."""
    for node in nodes if isinstance(nodes, list) else ():
        if isinstance(node, Mapping):
            yield node
            branches = node.get("branches")
            if node.get("type") in BRANCH_TYPES and isinstance(branches, list):
                for branch in branches:
                    if isinstance(branch, Mapping):
                        yield from _walk(branch.get("nodes"))


def _leaves(condition: Any, depth: int) -> Iterator[Mapping[str, Any]]:
    if not isinstance(condition, Mapping) or depth > 8:
        return
    if len(condition) == 1 and next(iter(condition)) in ("all", "any", "not"):
        inner = next(iter(condition.values()))
        for part in inner if isinstance(inner, list) else [inner]:
            yield from _leaves(part, depth + 1)
    else:
        yield condition
