"""Read queries of the organisation, each scoped to what the acting user may see."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from xietong.core import access
from xietong.identity.models import User
from xietong.org.models import Membership, OrgUnit, Role, RoleGrant


def primary_membership(user: User) -> Membership | None:
    return Membership.objects.select_related("unit", "position").filter(user=user, is_primary=True).first()


def managers_of(user: User) -> QuerySet[User]:
    """The heads of the user's primary unit, or of the unit above when the user heads it."""
    membership = primary_membership(user)
    if membership is None:
        return User.objects.none()
    unit = membership.unit
    if membership.is_head:
        parent = OrgUnit.objects.get_parent(unit)
        if parent is None:
            return User.objects.none()
        unit = parent
    return User.objects.filter(memberships__unit=unit, memberships__is_head=True, is_active=True).exclude(
        pk=user.pk
    )


def with_primary_unit(users: QuerySet[User]) -> QuerySet[User]:
    """Annotate ``primary_unit_id``: the account's place for administration scopes (one
    value per account, so that filtering on it repeats no row)."""
    primary = Membership.objects.filter(user=OuterRef("pk"), is_primary=True).values("unit_id")[:1]
    return users.annotate(primary_unit_id=Subquery(primary))


def manageable_users(*, actor: User) -> QuerySet[User]:
    """The accounts ``actor`` may administer (``org.manage_users``): every account for the
    system administrator, the accounts whose primary post is inside their subtree for a
    department administrator (R-16)."""
    return access.restrict(
        actor, "org.manage_users", with_primary_unit(User.objects.all()), unit_field="primary_unit_id"
    )


def manageable_user_get(*, actor: User, user_id: object) -> User:
    """One account ``actor`` may administer; ``NotFoundError`` alike for missing and forbidden."""
    return access.get_visible(
        actor,
        "org.manage_users",
        with_primary_unit(User.objects.all()),
        user_id,
        unit_field="primary_unit_id",
    )


def directory(*, viewer: User) -> QuerySet[Membership]:
    """The posts shown in the address book, within the viewer's ``org.view_directory`` scope."""
    posts = Membership.objects.filter(user__is_active=True).select_related("user", "unit", "position")
    return access.restrict(viewer, "org.view_directory", posts, unit_field="unit", owner_field="user")


def roles(*, actor: User) -> QuerySet[Role]:
    """All roles, for role managers only (nobody else needs the catalogue)."""
    if not access.can(actor, "identity.manage_roles"):
        return Role.objects.none()
    return Role.objects.all()


def role_grants(*, actor: User, user: User | None = None) -> QuerySet[RoleGrant]:
    """Grants a role manager may review (AC-07), optionally of one account, newest first."""
    if not access.can(actor, "identity.manage_roles"):
        return RoleGrant.objects.none()
    grants = RoleGrant.objects.select_related("role", "user", "position", "granted_by")
    if user is not None:
        grants = grants.filter(user=user)
    return grants
