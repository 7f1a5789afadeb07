"""Object ACLs: share one object with a user, a unit (optionally with its sub-units), a role,
a position or everyone, at a level (view ⊂ download ⊂ edit ⊂ manage), optionally until a time.

These are kernel primitives: the owning app's share service decides who may share its objects
(for example the file's owner, or whoever holds ``manage`` on it) and writes the audit record,
then calls ``grant``/``revoke`` here. The queries at the bottom are what ``access.can_on`` and
``access.restrict`` use; they match the principals the access provider resolved for the user.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from xietong.core import classification as classification_levels
from xietong.core import clock
from xietong.core.access import AclLevel, Ids, Principals
from xietong.core.errors import DomainError
from xietong.core.models import AccessGrant

Kind = AccessGrant.GranteeKind


def _validate(
    *,
    grantee_kind: str,
    grantee_id: int | None,
    permission: int,
    include_subunits: bool,
    expires_at: dt.datetime | None,
    classification: int | None,
) -> None:
    if grantee_kind not in Kind.values:
        raise DomainError(_("授权对象类型无效。"))
    if permission not in AclLevel.values:
        raise DomainError(_("授权权限无效。"))
    if (grantee_kind == Kind.EVERYONE) != (grantee_id is None):
        raise DomainError(_("授权给全员时不能指定对象，授权给其他对象时必须指定对象。"))
    if include_subunits and grantee_kind != Kind.UNIT:
        raise DomainError(_("只有授权给部门时才能包含下级部门。"))
    if expires_at is not None and expires_at <= clock.now():
        raise DomainError(_("到期时间必须晚于当前时间。"))
    # classified content needs a named audience, never "all staff".
    everyone = grantee_kind == Kind.EVERYONE
    if everyone and classification is not None and classification_levels.is_classified(classification):
        raise DomainError(_("涉密内容必须指定知悉范围，不能授权给全员。"))


@transaction.atomic
def grant(
    *,
    obj: models.Model,
    grantee_kind: str,
    grantee_id: int | None = None,
    permission: int = AclLevel.VIEW,
    include_subunits: bool = False,
    expires_at: dt.datetime | None = None,
    granted_by: Any = None,
    classification: int | None = None,
) -> AccessGrant:
    """Share ``obj``; a second share to the same grantee replaces the first (level, expiry).

    ``classification`` is the object's 密级, checked against R-34 (no 全员 share of classified
    content). The share never lifts the classification gate: an uncleared grantee still sees
    nothing.
    """
    _validate(
        grantee_kind=grantee_kind,
        grantee_id=grantee_id,
        permission=permission,
        include_subunits=include_subunits,
        expires_at=expires_at,
        classification=classification,
    )
    content_type = ContentType.objects.get_for_model(obj)
    row, _created = AccessGrant.objects.update_or_create(
        content_type=content_type,
        object_id=obj.pk,
        grantee_kind=grantee_kind,
        grantee_id=grantee_id,
        defaults={
            "permission": permission,
            "include_subunits": include_subunits,
            "expires_at": expires_at,
            "granted_by": granted_by,
            "granted_at": clock.now(),
        },
    )
    return row


def revoke(*, obj: models.Model, grantee_kind: str, grantee_id: int | None = None) -> int:
    """Withdraw the share of ``obj`` to one grantee; returns how many rows went (0 or 1)."""
    deleted, _per_model = grants_on(obj).filter(grantee_kind=grantee_kind, grantee_id=grantee_id).delete()
    return deleted


def revoke_all(obj: models.Model) -> int:
    """Withdraw every share of ``obj`` — call it when the object itself is deleted, since a
    generic reference has no cascade."""
    deleted, _per_model = grants_on(obj).delete()
    return deleted


def grants_on(obj: models.Model) -> QuerySet[AccessGrant]:
    """Every share of ``obj``, expired ones included (for the 共享设置 page and reviews)."""
    return AccessGrant.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).order_by("grantee_kind", "grantee_id")


# --------------------------------------------------------------------------- queries


def _among(ids: Ids) -> QuerySet[Any] | list[int] | None:
    """``ids`` ready for ``__in``; None when there are none. A sub-query is passed on as it is:
    testing it for truth would run it."""
    if isinstance(ids, QuerySet):
        return ids
    return sorted(ids) or None


def principal_condition(principals: Principals) -> Q:
    """Shares that reach a user with these principals."""
    condition = Q(grantee_kind=Kind.EVERYONE)
    if principals.user_id is not None:
        condition |= Q(grantee_kind=Kind.USER, grantee_id=principals.user_id)
    for kind, ids, extra in (
        (Kind.UNIT, principals.unit_ids, Q()),
        (Kind.UNIT, principals.unit_and_ancestor_ids, Q(include_subunits=True)),
        (Kind.ROLE, principals.role_ids, Q()),
        (Kind.POSITION, principals.position_ids, Q()),
    ):
        among = _among(ids)
        if among is not None:
            condition |= Q(grantee_kind=kind, grantee_id__in=among) & extra
    return condition


def _live(principals: Principals, level: int) -> QuerySet[AccessGrant]:
    return AccessGrant.objects.filter(
        principal_condition(principals),
        Q(expires_at__isnull=True) | Q(expires_at__gt=clock.now()),
        permission__gte=level,
    )


def _of_model(queryset: QuerySet[AccessGrant], model: type[models.Model]) -> QuerySet[AccessGrant]:
    # A join on the content type's natural key rather than ``get_for_model``: the query count
    # stays the same whether or not the content-type cache is warm.
    meta = model._meta.concrete_model._meta if model._meta.concrete_model else model._meta
    return queryset.filter(content_type__app_label=meta.app_label, content_type__model=meta.model_name)


def shared_object_ids(principals: Principals, model: type[models.Model], level: int) -> QuerySet[Any]:
    """A sub-query of the ids of ``model`` objects shared with these principals at ``level`` or
    above, unexpired. Runs no query by itself."""
    return _of_model(_live(principals, level), model).values("object_id")


def has_grant(principals: Principals, obj: models.Model, level: int) -> bool:
    """Is ``obj`` shared with these principals at ``level`` or above, unexpired? One query."""
    return _of_model(_live(principals, level), type(obj)).filter(object_id=obj.pk).exists()
