"""Audiences: who "a department and everything below it", "a role" or "a post" means today.

A notice, a notification or a share names its audience by units, roles, positions and people
(R-61); this module turns such a description into the active accounts it covers — one query
for the units' tree paths when units are named, one for the accounts, however many units,
roles, positions and people are named and however many accounts they hold. Every account
appears once, and inactive accounts (disabled, suspended, departed) never.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce

from django.db.models import Exists, Q, QuerySet

from xietong.core import clock
from xietong.core.access import TRIAD
from xietong.identity.models import User
from xietong.org.models import Membership, OrgUnit, Role, RoleGrant


@dataclass(frozen=True)
class Audience:
    users: frozenset[int] = field(default_factory=frozenset)
    #: Units with every unit below them.
    units: frozenset[int] = field(default_factory=frozenset)
    #: Units without the units below them.
    units_only: frozenset[int] = field(default_factory=frozenset)
    #: Role codes: the holders of a live grant, personal or through a post; a default role
    #: (held by every account, R-12) covers everyone.
    roles: frozenset[str] = field(default_factory=frozenset)
    #: Positions (岗位): whoever holds one, in a primary or a concurrent post.
    positions: frozenset[int] = field(default_factory=frozenset)
    everyone: bool = False

    @property
    def empty(self) -> bool:
        return not (
            self.everyone or self.users or self.units or self.units_only or self.roles or self.positions
        )


def _unit_paths(unit_ids: Iterable[int]) -> list[str]:
    return list(OrgUnit.objects.filter(pk__in=list(unit_ids)).values_list("path", flat=True))


def audience_users(
    audience: Audience, *, now: dt.datetime | None = None, business: bool = False
) -> QuerySet[User]:
    """The active accounts ``audience`` covers, each once (a filter on ``User``'s primary key
    by sub-queries, so that no join repeats a row).

    ``business``: the audience is about business content (a notice, an article …), which the
    三员 administrators never see (AC-05) — their accounts are left out even when they sit in a
    named unit or the audience is everyone."""
    active = User.objects.filter(is_active=True)
    if business:
        active = active.exclude(_administrators(now or clock.now()))
    if audience.everyone:
        return active
    conditions: list[Q] = []
    if audience.users:
        conditions.append(Q(pk__in=list(audience.users)))
    if audience.units:
        paths = _unit_paths(audience.units)
        if paths:
            # A materialised path makes "this unit and below" a prefix match on an index.
            in_tree = reduce(operator.or_, (Q(unit__path__startswith=path) for path in paths))
            conditions.append(Q(pk__in=Membership.objects.filter(in_tree).values("user_id")))
    if audience.units_only:
        posts = Membership.objects.filter(unit_id__in=list(audience.units_only))
        conditions.append(Q(pk__in=posts.values("user_id")))
    if audience.positions:
        posts = Membership.objects.filter(position_id__in=list(audience.positions))
        conditions.append(Q(pk__in=posts.values("user_id")))
    if audience.roles:
        conditions.append(_role_holders(audience.roles, now or clock.now()))
    if not conditions:
        return active.none()
    return active.filter(reduce(operator.or_, conditions))


def _administrators(now: dt.datetime) -> Q:
    """Holders of a 三员 role (system, security or audit administrator) as of ``now``."""
    live = RoleGrant.objects.filter(role__admin_tier__in=TRIAD).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    by_post = Membership.objects.filter(
        position_id__in=live.filter(position__isnull=False).values("position_id")
    ).values("user_id")
    return Q(pk__in=live.filter(user__isnull=False).values("user_id")) | Q(pk__in=by_post)


def _role_holders(codes: frozenset[str], now: dt.datetime) -> Q:
    """Holders of the roles ``codes`` as of ``now``: the same grants ``org.access`` resolves
    permissions from (personal ones, and those of a position for whoever holds that post)."""
    live = RoleGrant.objects.filter(role__code__in=list(codes)).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    personal = live.filter(user__isnull=False).values("user_id")
    by_post = Membership.objects.filter(
        position_id__in=live.filter(position__isnull=False).values("position_id")
    ).values("user_id")
    default_role = Exists(Role.objects.filter(code__in=list(codes), is_default=True))
    return Q(pk__in=personal) | Q(pk__in=by_post) | Q(default_role)
