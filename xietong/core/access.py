"""Access control: the one answer to "may this user do X (to this object)" and "which rows may
this user see", for every module.

Four things decide, in this order:

1. **Function permission** — a registered codename such as ``org.manage_users``, held through
   roles (``can``).
2. **Data scope** — where the permission applies: everything, the user's own rows, or units of
   the organisation tree (``Scope``). Several grants of one codename add up (OR).
3. **Object ACL** — ``core.AccessGrant`` rows share one object with a user, unit, role,
   position or everyone at a level (view ⊂ download ⊂ edit ⊂ manage). A share widens the data
   scope of a permission the user holds; it never gives a permission the user lacks, so that
   sharing a document with a 三员 administrator does not let them read business content.
4. **Classification** — the object's 密级 must not exceed the user's clearance; nothing
   (not even a share) overrides it (AC-08).

Roles and the organisation tree live in ``org``; core imports no other app, so ``org``
registers an ``AccessProvider`` at start-up (``OrgConfig.ready``). Without a provider every
check is refused, except for active superusers, which may do everything (production refuses
superusers, see ``core.checks``). Inactive and anonymous users may do nothing.

A user's grants are resolved once per user object — the ``request.user`` of one request — and
kept on it until the earliest expiry among them (at most ``MAX_AGE``, for long-lived objects
such as a WebSocket connection's user). ``restrict`` builds sub-queries only, so it adds no
query whatever the number of rows, grants or units.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, Protocol, TypeVar

from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from xietong.core import classification as classification_levels
from xietong.core import clock
from xietong.core.errors import NotFoundError, PermissionDeniedError

M = TypeVar("M", bound=models.Model)

#: Modules of the platform itself. A permission of any other module is *business content*
#: (documents, workflow, files, chat …), which the 三员 administrators never hold (AC-05).
PLATFORM_MODULES = frozenset({"core", "org", "identity", "audit", "ops", "moderation", "notify", "workbench"})

#: The three administrator tiers of 三员分立: system, security (安全保密), audit (安全审计).
TRIAD = ("system", "security", "audit")


class AclLevel(models.IntegerChoices):
    """What an object ACL grant allows; each level includes the ones below it."""

    VIEW = 1, _("查看")
    DOWNLOAD = 2, _("下载")
    EDIT = 3, _("编辑")
    MANAGE = 4, _("管理")


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Permission:
    codename: str
    label: str | Promise
    module: str
    #: The ACL level that lets an object share satisfy this permission in ``can_on``/``restrict``.
    acl_level: int = AclLevel.VIEW
    #: A 三员 tier that alone may hold this permission (see ``org.services`` role rules).
    reserved_for: str | None = None
    #: An administration function: its holder sees the 系统管理 section.
    admin: bool = False

    @property
    def is_business(self) -> bool:
        return self.module not in PLATFORM_MODULES


class UnknownPermissionError(LookupError):
    """A codename nobody registered: a typo must fail loudly, not deny (or allow) quietly."""


_CODENAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_registry: dict[str, Permission] = {}


def register_permission(
    codename: str,
    label: str | Promise,
    module: str | None = None,
    *,
    acl_level: int = AclLevel.VIEW,
    reserved_for: str | None = None,
    admin: bool = False,
) -> Permission:
    """Declare a permission. The module is the codename's prefix: deriving it (rather than
    trusting an argument) keeps a business permission from passing as a platform one.

    Registering the same definition again is a no-op (modules are imported more than once
    in tests); a different definition under a taken codename is an error.
    """
    if not _CODENAME.match(codename):
        raise ValueError(f"permission codename {codename!r} must look like 'module.action'")
    prefix = codename.split(".", 1)[0]
    if module is not None and module != prefix:
        raise ValueError(f"permission {codename!r} belongs to module {prefix!r}, not {module!r}")
    if reserved_for is not None and reserved_for not in TRIAD:
        raise ValueError(f"reserved_for must be one of {TRIAD}, not {reserved_for!r}")
    if reserved_for is not None and prefix not in PLATFORM_MODULES:
        raise ValueError(f"business permission {codename!r} cannot be reserved for an administrator")
    permission = Permission(codename, label, prefix, AclLevel(acl_level), reserved_for, admin)
    existing = _registry.get(codename)
    if existing is not None and existing != permission:
        raise ValueError(f"permission {codename!r} is already registered differently")
    _registry[codename] = permission
    return permission


def get_permission(codename: str) -> Permission:
    try:
        return _registry[codename]
    except KeyError:
        raise UnknownPermissionError(f"permission {codename!r} is not registered") from None


def is_registered(codename: str) -> bool:
    return codename in _registry


def all_permissions(module: str | None = None) -> list[Permission]:
    """Registered permissions, sorted by codename (optionally of one module)."""
    return sorted(
        (p for p in _registry.values() if module is None or p.module == module), key=lambda p: p.codename
    )


def is_business(codename: str) -> bool:
    return get_permission(codename).is_business


# --------------------------------------------------------------------------- grants


@dataclass(frozen=True)
class UnitRule:
    """One part of a data scope over the organisation tree.

    ``subtree=False``: exactly the unit ``unit_id``. ``subtree=True``: that unit and every unit
    below it, except the subtrees whose keys are in ``excluded`` (a company scope leaves out
    the sub-companies under it). ``path`` is the provider's key of the unit's place in the
    tree; core never interprets it.
    """

    unit_id: int
    path: str
    subtree: bool = False
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scope:
    """Where one permission applies for one user: the union of what all their grants give."""

    everything: bool = False
    own: bool = False
    units: frozenset[UnitRule] = frozenset()

    def __or__(self, other: Scope) -> Scope:
        return Scope(self.everything or other.everything, self.own or other.own, self.units | other.units)

    @property
    def empty(self) -> bool:
        return not (self.everything or self.own or self.units)


EVERYTHING = Scope(everything=True)


#: A set of ids, or a sub-query (``values("pk")``) that yields them.
Ids = frozenset[int] | QuerySet[Any]


@dataclass(frozen=True)
class Principals:
    """Who the user is for object ACLs: a share to any of these reaches them."""

    # Each set of ids may instead be a sub-query of ids, so that resolving a user's grants need
    # not read what only an ACL query uses: the sub-query then runs inside that query.

    user_id: int | None = None
    #: Units of every post the user holds (primary and concurrent).
    unit_ids: Ids = frozenset()
    #: Those units and all their ancestors: a unit share "including sub-units" made on any of
    #: them reaches the user.
    unit_and_ancestor_ids: Ids = frozenset()
    role_ids: Ids = frozenset()
    position_ids: Ids = frozenset()


@dataclass(frozen=True)
class Grants:
    """Everything one user holds, resolved once: codename → scope, and their principals."""

    scopes: Mapping[str, Scope] = field(default_factory=dict)
    principals: Principals = field(default_factory=Principals)
    #: The earliest expiry among the grants used: resolve again from then on.
    valid_until: dt.datetime | None = None

    @property
    def codenames(self) -> frozenset[str]:
        return frozenset(self.scopes)


NO_GRANTS = Grants()


class AccessProvider(Protocol):
    """What core needs from the app that implements roles and the organisation tree."""

    def resolve(self, user: Any) -> Grants:
        """The active user's grants (queries allowed; called once per user object)."""
        ...

    def unit_filter(self, rules: frozenset[UnitRule], lookup: str) -> Q:
        """A condition, true where ``lookup`` (a unit foreign key or unit id, possibly across
        relations) names a unit inside ``rules``. Sub-queries only: it runs no query."""
        ...

    def unit_within(self, rules: frozenset[UnitRule], unit: Any) -> bool:
        """Is ``unit`` (a unit object or its id) inside ``rules``?"""
        ...


_provider: AccessProvider | None = None
_CACHE_ATTR = "_xietong_grants"
MAX_AGE = dt.timedelta(seconds=60)


def set_provider(provider: AccessProvider | None) -> None:
    global _provider
    _provider = provider


def get_provider() -> AccessProvider | None:
    return _provider


@contextmanager
def provider_override(provider: AccessProvider | None) -> Iterator[None]:
    """Use ``provider`` (or none) for the duration of a test block."""
    previous = _provider
    set_provider(provider)
    try:
        yield
    finally:
        set_provider(previous)


def _active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def grants_of(user: Any) -> Grants:
    """The user's grants, resolved on first use and kept on the user object."""
    if not _active(user):
        return NO_GRANTS
    provider = _provider
    if provider is None:
        return NO_GRANTS
    now = clock.now()
    cached: tuple[AccessProvider, Grants, dt.datetime] | None = getattr(user, _CACHE_ATTR, None)
    if cached is not None and cached[0] is provider and now < cached[2]:
        return cached[1]
    grants = provider.resolve(user)
    # Kept until the first grant expires, and never longer than MAX_AGE: a request ends long
    # before, but a WebSocket connection or a job keeps its user object for hours, and a
    # revoked role must stop working there too.
    until = now + MAX_AGE
    if grants.valid_until is not None:
        until = min(until, grants.valid_until)
    setattr(user, _CACHE_ATTR, (provider, grants, until))
    return grants


def forget(user: Any) -> None:
    """Drop the grants kept on this user object (after their roles, posts or units changed)."""
    if user is not None and hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


# --------------------------------------------------------------------------- checks


def can(user: Any, codename: str) -> bool:
    """Does the user hold the function permission ``codename`` (in any scope)?"""
    get_permission(codename)
    if not _active(user):
        return False
    if user.is_superuser:
        return True
    return codename in grants_of(user).scopes


def can_any(user: Any, codenames: Iterable[str]) -> bool:
    return any(can(user, codename) for codename in codenames)


def is_administrator(user: Any) -> bool:
    """Does the user hold any administration permission (the 系统管理 section)?"""
    if not _active(user):
        return False
    if user.is_superuser:
        return True
    return any(get_permission(codename).admin for codename in grants_of(user).scopes)


def scope_of(user: Any, codename: str) -> Scope | None:
    """Where the user holds ``codename``; ``None`` when they do not hold it at all."""
    get_permission(codename)
    if not _active(user):
        return None
    if user.is_superuser:
        return EVERYTHING
    return grants_of(user).scopes.get(codename)


def _pk(value: Any) -> Any:
    return getattr(value, "pk", value)


def can_on(
    user: Any,
    codename: str,
    obj: models.Model | None,
    *,
    unit: Any = None,
    owner: Any = None,
    classification: int | None = None,
    acl: bool = True,
) -> bool:
    """May the user exercise ``codename`` on ``obj``?

    ``unit`` (a unit or its id) and ``owner`` (a user or its id) place the object for the data
    scope; ``classification`` is its 密级. With ``acl`` a share of ``obj`` at the permission's
    ACL level also admits the user (one query, only when the scope alone does not).
    """
    permission = get_permission(codename)
    if not _active(user):
        return False
    if not classification_levels.allows(user, classification):
        return False
    if user.is_superuser:
        return True
    grants = grants_of(user)
    scope = grants.scopes.get(codename)
    if scope is None:
        return False
    if scope.everything:
        return True
    if scope.own and owner is not None and _pk(owner) == user.pk:
        return True
    provider = _provider
    if scope.units and unit is not None and provider is not None and provider.unit_within(scope.units, unit):
        return True
    if acl and obj is not None and obj.pk is not None:
        from xietong.core import acl as object_acl

        return object_acl.has_grant(grants.principals, obj, permission.acl_level)
    return False


def _is_multivalued(queryset: QuerySet[Any], lookup: str) -> bool:
    """Does ``lookup`` cross a to-many relation (so that a filter on it can repeat rows)?"""
    if lookup.split("__", 1)[0] in queryset.query.annotations:
        return False
    model: Any = queryset.model
    for part in lookup.split("__"):
        try:
            model_field: Any = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if model_field.many_to_many or model_field.one_to_many:
            return True
        if not model_field.is_relation:
            return False
        model = model_field.related_model
    return False


def restrict(
    user: Any,
    codename: str,
    queryset: QuerySet[M],
    *,
    unit_field: str | None = None,
    owner_field: str | None = None,
    classification_field: str | None = None,
    acl: bool = False,
) -> QuerySet[M]:
    """The rows of ``queryset`` the user may see with ``codename``: the one filter for every
    list, count, search hit and export.

    ``unit_field`` names the lookup of the row's unit (e.g. ``"unit"`` or
    ``"memberships__unit"``), ``owner_field`` that of its owner; a data scope that cannot be
    applied because the model has no such field admits nothing (deny by default), so a model
    with neither is visible only to "everything" scopes and shares. ``classification_field``
    hides rows above the user's clearance; ``acl`` admits rows shared with the user. A lookup
    through a to-many relation is applied as ``pk IN (…)`` so that no row appears twice.
    """
    permission = get_permission(codename)
    if not _active(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    grants = grants_of(user)
    scope = grants.scopes.get(codename)
    if scope is None:
        return queryset.none()

    conditions: list[Q] = []
    multivalued = False
    if not scope.everything:
        admitted: list[Q] = []
        if scope.own and owner_field:
            admitted.append(Q(**{owner_field: user.pk}))
            multivalued |= _is_multivalued(queryset, owner_field)
        provider = _provider
        if scope.units and unit_field and provider is not None:
            admitted.append(provider.unit_filter(scope.units, unit_field))
            multivalued |= _is_multivalued(queryset, unit_field)
        if acl:
            from xietong.core import acl as object_acl

            shared = object_acl.shared_object_ids(grants.principals, queryset.model, permission.acl_level)
            admitted.append(Q(pk__in=shared))
        if not admitted:
            return queryset.none()
        conditions.append(reduce(operator.or_, admitted))
    if classification_field:
        conditions.append(Q(**{f"{classification_field}__lte": classification_levels.clearance_of(user)}))
        multivalued |= _is_multivalued(queryset, classification_field)
    if not conditions:
        return queryset
    condition = reduce(operator.and_, conditions)
    if multivalued:
        return queryset.filter(pk__in=queryset.order_by().filter(condition).values("pk"))
    return queryset.filter(condition)


def get_visible(
    user: Any,
    codename: str,
    queryset: QuerySet[M],
    pk: Any,
    *,
    unit_field: str | None = None,
    owner_field: str | None = None,
    classification_field: str | None = None,
    acl: bool = False,
) -> M:
    """Fetch and authorise in one call: the row ``pk`` if the user may see it, else
    ``NotFoundError`` — the same for a missing row and a forbidden one, so that guessing ids
    tells nothing (R-11, AC-02)."""
    visible = restrict(
        user,
        codename,
        queryset,
        unit_field=unit_field,
        owner_field=owner_field,
        classification_field=classification_field,
        acl=acl,
    )
    try:
        return visible.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError):
        raise NotFoundError(gettext("对象不存在或无权访问。")) from None


def require(user: Any, codename: str, message: str | None = None) -> None:
    """For services: refuse with ``PermissionDeniedError`` unless the user holds ``codename``."""
    if not can(user, codename):
        raise PermissionDeniedError(message or gettext("您没有执行此操作的权限。"))
