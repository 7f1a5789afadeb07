"""Read queries of the security-administration pages and API, each scoped to the actor.

Every list loads what it shows in a fixed number of queries, whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from xietong.core import access, clock, navigation
from xietong.identity.models import User
from xietong.org import selectors
from xietong.org.models import Membership, OrgUnit, Position, Role, RoleGrant

MANAGE_ROLES = "identity.manage_roles"
MANAGE_CLEARANCES = "identity.manage_clearances"


def module_label(module: str) -> str:
    """The module's name in the navigation, or its code for a module without an entry."""
    entry = navigation.get(module)
    return str(entry.label) if entry is not None else module


def _in_scope(actor: User, codename: str, users: QuerySet[User]) -> QuerySet[User]:
    """Accounts whose primary post lies inside the actor's scope of ``codename``."""
    return access.restrict(actor, codename, selectors.with_primary_unit(users), unit_field="primary_unit_id")


def with_unit_name(users: QuerySet[User]) -> QuerySet[User]:
    """Annotate ``primary_unit_name`` for display (a sub-query: no extra round trip)."""
    name = Membership.objects.filter(user=OuterRef("pk"), is_primary=True).values("unit__name")[:1]
    return users.annotate(primary_unit_name=Subquery(name))


def role_accounts(*, actor: User) -> QuerySet[User]:
    """Accounts whose roles the actor manages (``identity.manage_roles``)."""
    return with_unit_name(_in_scope(actor, MANAGE_ROLES, User.objects.all()))


def clearance_accounts(*, actor: User) -> QuerySet[User]:
    """Accounts whose 密级 the actor sets (``identity.manage_clearances``)."""
    return with_unit_name(_in_scope(actor, MANAGE_CLEARANCES, User.objects.all()))


def search(users: QuerySet[User], text: str) -> QuerySet[User]:
    text = text.strip()
    if not text:
        return users
    return users.filter(Q(name__icontains=text) | Q(username__icontains=text) | Q(employee_no__iexact=text))


def in_unit_tree(users: QuerySet[User], unit: OrgUnit) -> QuerySet[User]:
    """Accounts whose primary post is ``unit`` or a unit below it."""
    below = OrgUnit.objects.filter(path__startswith=unit.path).values("pk")
    return users.filter(memberships__is_primary=True, memberships__unit__in=below)


def roles_with_counts(*, actor: User) -> QuerySet[Role]:
    """The role catalogue with the number of grants of each (one query)."""
    return selectors.roles(actor=actor).annotate(grant_count=Count("grants")).order_by("-builtin", "name")


def grant_rows(grants: QuerySet[RoleGrant]) -> QuerySet[RoleGrant]:
    return grants.select_related("role", "user", "position", "granted_by").prefetch_related("units")


def grants_of_role(*, actor: User, role: Role) -> QuerySet[RoleGrant]:
    return grant_rows(selectors.role_grants(actor=actor).filter(role=role))


def grants_of_position(*, actor: User, position: Position) -> QuerySet[RoleGrant]:
    return grant_rows(selectors.role_grants(actor=actor).filter(position=position))


def positions_with_counts(*, actor: User) -> QuerySet[Position]:
    """Positions, with how many grants and holders each has; role managers only."""
    if not access.can(actor, MANAGE_ROLES):
        return Position.objects.none()
    return Position.objects.annotate(
        grant_count=Count("role_grants", distinct=True),
        holder_count=Count("membership", distinct=True),
    )


@dataclass(frozen=True)
class HeldRole:
    """One role a user holds, and how: a grant to them, to a post they hold, or by default."""

    role: Role
    grant: RoleGrant | None
    via_position: Position | None


def held_roles(user: User) -> list[HeldRole]:
    """The roles in force for ``user`` now — what ``org.access`` resolves, shown per role.
    Three queries (grants with units, default roles)."""
    now = clock.now()
    positions = Membership.objects.filter(user=user, position__isnull=False).values("position_id")
    grants = grant_rows(
        RoleGrant.objects.filter(Q(user=user) | Q(position__in=positions)).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )
    ).order_by("role__name", "id")
    held = [HeldRole(grant.role, grant, grant.position) for grant in grants]
    held += [HeldRole(role, None, None) for role in Role.objects.filter(is_default=True).order_by("name")]
    return held


def permission_labels(user: User) -> list[tuple[str, list[access.Permission]]]:
    """The function permissions the user holds, grouped by module (in registry order)."""
    groups: dict[str, list[access.Permission]] = {}
    held = access.grants_of(user).codenames
    for permission in access.all_permissions():
        if permission.codename in held:
            groups.setdefault(permission.module, []).append(permission)
    return [(module_label(module), permissions) for module, permissions in groups.items()]
