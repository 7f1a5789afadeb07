"""Conditions of condition branches, evaluated against the form data and the initiator.

``route_context`` reads what the conditions may ask about the initiator in three queries (their
posts, the units above their primary unit, their roles); ``condition_matches`` and
``choose_branch`` are then pure, and never raise on odd data: a leaf whose data is missing or
cannot be compared is simply false (``not`` of it true), except ``empty``.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from xietong.core import clock
from xietong.core.errors import DomainError
from xietong.identity.models import User
from xietong.org.access import ancestor_paths
from xietong.org.models import Membership, OrgUnit, Role, RoleGrant
from xietong.workflow.definition import (
    MAX_CONDITION_DEPTH,
    DefinitionError,
    FormLike,
    as_date,
    as_decimal,
    condition_target,
    is_positive_int,
)


@dataclass(frozen=True)
class RouteContext:
    """What conditions are evaluated against. ``data`` is the cleaned form data (computed
    fields included); ``initiator_unit_*`` describe the initiator's primary unit (None / ""
    without one); ``initiator_unit_ancestor_ids`` holds that unit and every unit above it —
    when left empty (a context built by hand), ``initiator_unit`` conditions read the listed
    units' paths instead."""

    form: FormLike | None
    data: dict[str, Any]
    initiator_id: int
    initiator_unit_id: int | None
    initiator_unit_path: str
    initiator_role_codes: frozenset[str]
    initiator_position_ids: frozenset[int]
    initiator_unit_ancestor_ids: frozenset[int] = field(default_factory=frozenset)


def route_context(*, initiator: User, form: FormLike | None, data: dict[str, Any]) -> RouteContext:
    """The initiator's side of routing, in three queries whatever the size of the tree."""
    posts = list(
        Membership.objects.filter(user_id=initiator.pk).values_list(
            "unit_id", "unit__path", "position_id", "is_primary"
        )
    )
    primary = next(((unit_id, path) for unit_id, path, _pos, is_primary in posts if is_primary), None)
    positions = frozenset(position_id for _u, _p, position_id, _i in posts if position_id is not None)
    ancestors: frozenset[int] = frozenset()
    if primary is not None:
        ancestors = frozenset(
            OrgUnit.objects.filter(path__in=ancestor_paths(primary[1])).values_list("pk", flat=True)
        )
    return RouteContext(
        form=form,
        data=dict(data),
        initiator_id=initiator.pk,
        initiator_unit_id=primary[0] if primary else None,
        initiator_unit_path=primary[1] if primary else "",
        initiator_role_codes=role_codes_of(initiator.pk, positions),
        initiator_position_ids=positions,
        initiator_unit_ancestor_ids=ancestors,
    )


def role_codes_of(
    user_id: int, position_ids: frozenset[int], *, now: dt.datetime | None = None
) -> frozenset[str]:
    """The codes of the roles a user holds: live grants made to them or to a position they
    hold (as ``org.access`` resolves them), and the default roles every account has. One query."""
    live = RoleGrant.objects.filter(Q(user_id=user_id) | Q(position_id__in=list(position_ids))).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now or clock.now())
    )
    roles = Role.objects.filter(Q(is_default=True) | Q(pk__in=live.values("role_id")))
    return frozenset(roles.values_list("code", flat=True))


# --------------------------------------------------------------------------- evaluation


def condition_matches(condition: Mapping[str, Any], context: RouteContext) -> bool:
    """Does ``condition`` (a group ``all`` / ``any`` / ``not`` or a leaf) hold? Malformed
    parts are false; nothing here raises."""
    return _matches(condition, context, 0)


def _matches(condition: Any, context: RouteContext, depth: int) -> bool:
    if not isinstance(condition, Mapping) or depth > MAX_CONDITION_DEPTH:
        return False
    if len(condition) == 1:
        key, value = next(iter(condition.items()))
        if key == "not":
            return isinstance(value, Mapping) and not _matches(value, context, depth + 1)
        if key in ("all", "any"):
            if not isinstance(value, list):
                return False
            parts = (_matches(part, context, depth + 1) for part in value)
            return all(parts) if key == "all" else any(parts)
    if "subject" in condition:
        return _subject_matches(condition, context)
    return _field_matches(condition, context)


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set | frozenset | dict):
        return not value
    return False


def _field_matches(leaf: Mapping[str, Any], context: RouteContext) -> bool:
    key, op, agg = leaf.get("field"), leaf.get("op"), leaf.get("agg")
    if not isinstance(key, str) or not isinstance(op, str) or (agg is not None and agg != "sum"):
        return False
    actual = _value(context, key, agg)
    if op == "empty":
        return _is_empty(actual)
    if op == "not_empty":
        return not _is_empty(actual)
    if _is_empty(actual):
        return False  # missing data decides nothing but ``empty``
    expected = leaf.get("value")
    kind = _kind(context, key, agg, actual, expected)
    return _compare(op, actual, expected, kind)


def _value(context: RouteContext, key: str, agg: str | None) -> Any:
    if context.form is not None:
        try:
            return context.form.value_for_condition(context.data, key, agg)
        except (LookupError, ValueError, TypeError, ArithmeticError, DomainError):
            return None
    if agg == "sum":
        table, _dot, column = key.partition(".")
        rows = context.data.get(table)
        if not isinstance(rows, list):
            return None
        total = Decimal(0)
        for row in rows:
            number = as_decimal(row.get(column)) if isinstance(row, Mapping) else None
            total += number if number is not None else 0
        return total
    return context.data.get(key)


def _kind(context: RouteContext, key: str, agg: str | None, actual: Any, expected: Any) -> str:
    """How to compare: ``number``, ``date`` or ``raw`` — from the form field's type, or
    without a form from the values themselves."""
    if agg == "sum":
        return "number"
    target = condition_target(context.form, key, agg)
    if target is not None:
        return target.values if target.values in ("number", "date") else "raw"
    sample = expected[0] if isinstance(expected, list) and expected else expected
    if isinstance(actual, bool | list | tuple | dict):
        return "raw"
    if isinstance(actual, int | float | Decimal):
        return "number"
    if as_date(actual) is not None and as_date(sample) is not None:
        return "date"
    if as_decimal(actual) is not None and as_decimal(sample) is not None:
        return "number"
    return "raw"


def _coerce(value: Any, kind: str) -> Any:
    if kind == "number":
        return as_decimal(value)
    if kind == "date":
        return as_date(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | Decimal):
        return str(value)  # ids arrive as 7 or "7"
    return value.strip() if isinstance(value, str) else value


def _equal(left: Any, right: Any, kind: str) -> bool:
    a, b = _coerce(left, kind), _coerce(right, kind)
    return a is not None and b is not None and bool(a == b)


_ORDER: Mapping[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _compare(op: str, actual: Any, expected: Any, kind: str) -> bool:
    items = list(actual) if isinstance(actual, list | tuple | set | frozenset) else [actual]
    if op == "contains":
        wanted = expected if isinstance(expected, list) else [expected]
        return any(_equal(item, want, kind) for item in items for want in wanted)
    if op in ("in", "not_in"):
        if not isinstance(expected, list):
            return False
        hit = any(_equal(item, want, kind) for item in items for want in expected)
        return hit if op == "in" else not hit
    if op in ("==", "!="):
        if len(items) != 1 or isinstance(expected, list | Mapping):
            return False
        same = _equal(items[0], expected, kind)
        return same if op == "==" else not same
    if kind == "raw" or len(items) != 1:
        return False  # only numbers and dates have an order
    value = _coerce(items[0], kind)
    if value is None:
        return False
    if op == "between":
        if not isinstance(expected, list) or len(expected) != 2:
            return False
        low, high = _coerce(expected[0], kind), _coerce(expected[1], kind)
        return low is not None and high is not None and bool(low <= value <= high)
    compare = _ORDER.get(op)
    bound = _coerce(expected, kind) if not isinstance(expected, list | Mapping) else None
    return compare is not None and bound is not None and compare(value, bound)


def _subject_matches(leaf: Mapping[str, Any], context: RouteContext) -> bool:
    subject, op, listed = leaf.get("subject"), leaf.get("op"), leaf.get("value")
    if op not in ("in", "not_in") or not isinstance(listed, list):
        return False
    if subject == "initiator_unit":
        if context.initiator_unit_id is None:
            return False  # nothing known about where the initiator works
        hit = _within_units(context, [item for item in listed if is_positive_int(item)])
    elif subject == "initiator_role":
        hit = any(isinstance(code, str) and code in context.initiator_role_codes for code in listed)
    elif subject == "initiator_position":
        hit = any(is_positive_int(item) and item in context.initiator_position_ids for item in listed)
    else:
        return False
    return hit if op == "in" else not hit


def _within_units(context: RouteContext, unit_ids: Sequence[int]) -> bool:
    """Is the initiator's primary unit one of ``unit_ids`` or below one of them?"""
    if not unit_ids:
        return False
    if context.initiator_unit_ancestor_ids:
        return not context.initiator_unit_ancestor_ids.isdisjoint(unit_ids)
    # A context built by hand: compare materialised paths (one query).
    paths = OrgUnit.objects.filter(pk__in=list(unit_ids)).values_list("path", flat=True)
    return any(context.initiator_unit_path.startswith(path) for path in paths)


# --------------------------------------------------------------------------- branches


def choose_branch(node: Mapping[str, Any], context: RouteContext) -> dict[str, Any]:
    """The branch a condition node takes: the first non-default branch, by ascending
    ``priority``, whose condition matches; else the default branch."""
    branches = [branch for branch in node.get("branches") or () if isinstance(branch, dict)]
    ranked = sorted(
        (branch for branch in branches if branch.get("default") is not True),
        key=lambda branch: branch["priority"] if is_positive_int(branch.get("priority")) else math.inf,
    )
    for branch in ranked:
        if condition_matches(branch.get("condition") or {"any": []}, context):
            return branch
    default = next((branch for branch in branches if branch.get("default") is True), None)
    if default is None:
        raise DefinitionError(
            _("条件节点「%(name)s」没有默认分支，且没有满足条件的分支。")
            % {"name": node.get("name") or node.get("id")}
        )
    return default
