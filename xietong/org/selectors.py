from __future__ import annotations

from django.db.models import QuerySet

from xietong.identity.models import User
from xietong.org.models import Membership, OrgUnit


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
