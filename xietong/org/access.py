"""The access provider: resolves a user's roles and data scopes over the organisation tree.

Registered with ``xietong.core.access`` in ``OrgConfig.ready``. Which roles apply:

- grants made to the account itself;
- grants made to a position (岗位) the user holds in any post — so a change of post changes
  permissions at once (R-09);
- every default role (普通用户), for every active account (R-12);
- only grants not expired by ``core.clock.now()`` (AC-07).

Data scopes are relative to the holder's posts (``Membership``), the *anchors*:

- ``self``: rows the user owns;
- ``department``: the anchor units themselves;
- ``department_tree``: the anchor units and every unit below them (a path prefix);
- ``company``: for each anchor, its nearest company-or-group ancestor and everything below it,
  except sub-companies under it and their units (a subsidiary is not its parent's business);
- ``group``: everything;
- ``listed``: the grant's listed units and everything below them.

The anchors of a grant made to a position are the posts holding that position — a 部门经理
post in A gives a manager's scope over A, not over the unit where the same person holds a
concurrent (兼职) 专员 post. The anchors of a grant made to the account, and of default roles,
are all the user's posts, primary and concurrent: a concurrent post needs its unit's records.

Two safety nets repeat the rules the services enforce, for rows that reached the database
another way (a post taken, a direct edit): an account holding roles of more than one
administrator tier gets none of them, and an account holding a 三员 role gets no business
permission whatever other role offers it (AC-05).
"""

from __future__ import annotations

import datetime as dt
import logging
import operator
from dataclasses import dataclass
from functools import reduce
from typing import Any

from django.db.models import (
    BigIntegerField,
    CharField,
    DateTimeField,
    Exists,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Value,
)

from xietong.core import clock
from xietong.core.access import (
    TRIAD,
    Grants,
    Principals,
    Scope,
    UnitRule,
    get_permission,
    is_registered,
)
from xietong.org.models import DataScope, Membership, OrgUnit, Role, RoleGrant

logger = logging.getLogger(__name__)

_COMPANY_KINDS = (OrgUnit.Kind.COMPANY, OrgUnit.Kind.GROUP)
_ROW_KEYS = (
    "id",
    "admin_tier",
    "permissions",
    "is_default",
    "default_scope",
    "default_module_scopes",
    "grant_id",
    "grant_position_id",
    "grant_scope",
    "grant_module_scopes",
    "grant_expires_at",
)
# Scopes that start from the user's posts, so that resolving them needs the posts.
_RELATIVE = {DataScope.DEPARTMENT, DataScope.DEPARTMENT_TREE, DataScope.COMPANY}


def ancestor_paths(path: str) -> list[str]:
    """``path`` and the paths of all units above it, top first."""
    step = OrgUnit.steplen
    return [path[:end] for end in range(step, len(path) + 1, step)]


@dataclass(frozen=True)
class _Anchor:
    """One post of the user: where relative scopes start."""

    unit_id: int
    path: str
    kind: str
    position_id: int | None


class OrgAccessProvider:
    """``xietong.core.access.AccessProvider`` over roles, posts and the org tree."""

    # ----------------------------------------------------------------- resolution

    def resolve(self, user: Any) -> Grants:
        """One query for the roles that apply, with their grants. The user's posts are read
        (one more) only when a scope is relative to them, the listed units (one more) only for
        a listed scope; ACL principals are sub-queries, run inside the ACL query if any."""
        now = clock.now()
        held_positions = Membership.objects.filter(user_id=user.pk, position__isnull=False).values(
            "position_id"
        )
        rows = self._roles_and_grants(user.pk, held_positions, now)

        tiers = {row["admin_tier"] for row in rows if row["grant_id"] is not None} - {Role.AdminTier.NONE}
        tiers_ok = len(tiers) <= 1
        if not tiers_ok:
            # Fail closed: the services refuse this, so the data came another way.
            logger.error(
                "org.access.conflicting_admin_tiers", extra={"user_id": user.pk, "tiers": sorted(tiers)}
            )
            rows = [
                row for row in rows if row["grant_id"] is None or row["admin_tier"] == Role.AdminTier.NONE
            ]
        holds_triad = tiers_ok and bool(tiers & set(TRIAD))

        wanted: set[str] = set()
        for row in rows:
            scope, overrides = self._scope_of_row(row)
            wanted |= {scope, *overrides.values()}
        posts: list[_Anchor] | None = None
        if wanted & _RELATIVE:
            posts = [
                _Anchor(unit_id, path, kind, position_id)
                for unit_id, path, kind, position_id in Membership.objects.filter(
                    user_id=user.pk
                ).values_list("unit_id", "unit__path", "unit__kind", "position_id")
            ]
        listed = self._listed_units(rows) if DataScope.LISTED in wanted else {}
        companies = self._companies(posts or []) if DataScope.COMPANY in wanted else {}

        scopes: dict[str, Scope] = {}
        for row in rows:
            anchors = posts or []
            if row["grant_id"] is not None and row["grant_position_id"] is not None:
                anchors = [p for p in anchors if p.position_id == row["grant_position_id"]]
            scope, overrides = self._scope_of_row(row)
            listed_rules = listed.get(row["grant_id"], frozenset())
            for codename in row["permissions"] or ():
                if not is_registered(codename):
                    continue  # the app that declared it was removed; role edits validate codenames
                if holds_triad and get_permission(codename).is_business:
                    continue
                chosen = overrides.get(codename.split(".", 1)[0], scope)
                part = self._scope(chosen, anchors, companies, listed_rules)
                scopes[codename] = scopes[codename] | part if codename in scopes else part

        expiries = [row["grant_expires_at"] for row in rows if row["grant_expires_at"] is not None]
        own_units = Membership.objects.filter(user_id=user.pk).values("unit_id")
        # Units at or above one of the user's posts: their path is a prefix of the post's.
        above = OrgUnit.objects.filter(
            Exists(Membership.objects.filter(user_id=user.pk, unit__path__startswith=OuterRef("path")))
        ).values("pk")
        principals = Principals(
            user_id=user.pk,
            unit_ids=frozenset(p.unit_id for p in posts) if posts is not None else own_units,
            unit_and_ancestor_ids=above,
            role_ids=frozenset(row["id"] for row in rows),
            position_ids=(
                frozenset(p.position_id for p in posts if p.position_id is not None)
                if posts is not None
                else held_positions
            ),
        )
        return Grants(scopes=scopes, principals=principals, valid_until=min(expiries, default=None))

    @staticmethod
    def _roles_and_grants(
        user_id: int, held_positions: QuerySet[Any], now: dt.datetime
    ) -> list[dict[str, Any]]:
        """One row per live grant of the user or of a position they hold, with its role; and
        one row per default role, ``grant_id`` None. One query."""
        # Those of the account and those of its posts apart: each is an index lookup, where
        # one OR over both made PostgreSQL read every grant of the group.
        live = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        columns = (
            "role_id",
            "role__admin_tier",
            "role__permissions",
            "role__is_default",
            "role__default_scope",
            "role__default_module_scopes",
            "id",
            "position_id",
            "scope",
            "module_scopes",
            "expires_at",
        )
        of_account = RoleGrant.objects.filter(live, user_id=user_id).values_list(*columns)
        of_posts = RoleGrant.objects.filter(live, position_id__in=held_positions).values_list(*columns)
        # Every default role once more on its own, applied to everyone; the grant
        # columns are empty. UNION ALL keeps this to one round trip.
        defaults = (
            Role.objects.filter(is_default=True)
            .annotate(
                no_grant=Value(None, output_field=BigIntegerField()),
                no_position=Value(None, output_field=BigIntegerField()),
                no_scope=Value(None, output_field=CharField()),
                no_module_scopes=Value(None, output_field=JSONField()),
                no_expiry=Value(None, output_field=DateTimeField()),
            )
            .values_list(
                "id",
                "admin_tier",
                "permissions",
                "is_default",
                "default_scope",
                "default_module_scopes",
                "no_grant",
                "no_position",
                "no_scope",
                "no_module_scopes",
                "no_expiry",
            )
        )
        # No ORDER BY inside a UNION; a grant is of an account or of a position, never both.
        combined = of_account.order_by().union(of_posts.order_by(), defaults.order_by(), all=True)
        return [dict(zip(_ROW_KEYS, row, strict=True)) for row in combined]

    @staticmethod
    def _scope_of_row(row: dict[str, Any]) -> tuple[str, dict[str, str]]:
        if row["grant_id"] is None:
            return row["default_scope"], dict(row["default_module_scopes"] or {})
        return row["grant_scope"], dict(row["grant_module_scopes"] or {})

    @staticmethod
    def _listed_units(rows: list[dict[str, Any]]) -> dict[int, frozenset[UnitRule]]:
        """The listed units of the grants, as subtree rules by grant id. One query."""
        grant_ids = sorted({row["grant_id"] for row in rows if row["grant_id"] is not None})
        through = RoleGrant.units.through.objects.filter(rolegrant_id__in=grant_ids)
        listed: dict[int, set[UnitRule]] = {}
        for grant_id, unit_id, path in through.values_list("rolegrant_id", "orgunit_id", "orgunit__path"):
            listed.setdefault(grant_id, set()).add(UnitRule(unit_id, path, subtree=True))
        return {grant_id: frozenset(rules) for grant_id, rules in listed.items()}

    @staticmethod
    def _companies(anchors: list[_Anchor]) -> dict[str, UnitRule]:
        """For each anchor path: its company (the nearest company-or-group at or above it), as
        a subtree rule that leaves out the sub-companies below it. One query over the
        companies of the group — far fewer rows than units."""
        if not anchors:
            return {}
        companies = dict(
            OrgUnit.objects.filter(kind__in=_COMPANY_KINDS).values_list("path", "id").order_by("path")
        )
        rules: dict[str, UnitRule] = {}
        for anchor in anchors:
            path = next((p for p in reversed(ancestor_paths(anchor.path)) if p in companies), None)
            if path is None:
                continue
            inside = [c for c in companies if c.startswith(path) and c != path]
            # Only the top-most sub-companies: their own subsidiaries go with them.
            excluded = tuple(c for c in inside if not any(c != o and c.startswith(o) for o in inside))
            rules[anchor.path] = UnitRule(companies[path], path, subtree=True, excluded=excluded)
        return rules

    @staticmethod
    def _scope(
        name: str, anchors: list[_Anchor], companies: dict[str, UnitRule], listed: frozenset[UnitRule]
    ) -> Scope:
        if name == DataScope.GROUP:
            return Scope(everything=True)
        if name == DataScope.SELF:
            return Scope(own=True)
        if name == DataScope.DEPARTMENT:
            return Scope(units=frozenset(UnitRule(a.unit_id, a.path) for a in anchors))
        if name == DataScope.DEPARTMENT_TREE:
            return Scope(units=frozenset(UnitRule(a.unit_id, a.path, subtree=True) for a in anchors))
        if name == DataScope.COMPANY:
            return Scope(units=frozenset(companies[a.path] for a in anchors if a.path in companies))
        if name == DataScope.LISTED:
            return Scope(units=listed)
        return Scope()  # an unknown scope name admits nothing

    # ----------------------------------------------------------------- queries

    def unit_filter(self, rules: frozenset[UnitRule], lookup: str) -> Q:
        exact = sorted(rule.unit_id for rule in rules if not rule.subtree)
        trees = [rule for rule in rules if rule.subtree]
        if not trees:
            return Q(**{f"{lookup}__in": exact})
        parts = [Q(pk__in=exact)] if exact else []
        for rule in sorted(trees, key=lambda r: r.path):
            part = Q(path__startswith=rule.path)
            for excluded in rule.excluded:
                part &= ~Q(path__startswith=excluded)
            parts.append(part)
        return Q(**{f"{lookup}__in": OrgUnit.objects.filter(reduce(operator.or_, parts)).values("pk")})

    def unit_within(self, rules: frozenset[UnitRule], unit: Any) -> bool:
        if isinstance(unit, OrgUnit):
            unit_id, path = unit.pk, unit.path
        else:
            unit_id, path = int(unit), None
        if any(rule.unit_id == unit_id for rule in rules if not rule.subtree):
            return True
        trees = [rule for rule in rules if rule.subtree]
        if not trees:
            return False
        if path is None:
            path = OrgUnit.objects.filter(pk=unit_id).values_list("path", flat=True).first()
            if path is None:
                return False
        return any(rule_covers(rule, path) for rule in trees)


def rule_covers(rule: UnitRule, path: str) -> bool:
    """Is the unit at ``path`` inside the subtree rule?"""
    return path.startswith(rule.path) and not any(path.startswith(e) for e in rule.excluded)


def subtree_within(rules: frozenset[UnitRule], unit: OrgUnit) -> bool:
    """Is ``unit`` with everything below it inside ``rules``? (Used to check that a delegated
    grant stays within the delegator's own scope, R-17.)"""
    return any(
        rule.subtree
        and rule_covers(rule, unit.path)
        and not any(excluded.startswith(unit.path) for excluded in rule.excluded)
        for rule in rules
    )
