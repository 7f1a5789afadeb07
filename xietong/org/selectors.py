"""Read queries of the organisation, each scoped to what the acting user may see."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When

from xietong.core import access, reads
from xietong.identity.models import User
from xietong.org import pinyin
from xietong.org.access import ancestor_paths
from xietong.org.models import Membership, OrgUnit, PersonnelChange, Position, Role, RoleGrant, StaffProfile

VIEW_DIRECTORY = "org.view_directory"
MANAGE_UNITS = "org.manage_units"
MANAGE_USERS = "org.manage_users"
REVIEW_CHANGES = "identity.manage_roles"


def memberships_of(user: User) -> list[Membership]:
    """The user's posts with their units and positions; read once per page (``core.reads``):
    the workbench's greeting and its cache's fingerprint both ask."""
    return reads.once(
        ("org.memberships", user.pk),
        lambda: list(Membership.objects.select_related("unit", "position").filter(user=user).order_by("pk")),
    )


def primary_membership(user: User) -> Membership | None:
    return next((membership for membership in memberships_of(user) if membership.is_primary), None)


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


# --------------------------------------------------------------------------- searching


def unit_search(query: str) -> Q:
    """Units whose name, short name or code matches ``query``, or whose pinyin does
    ("hd" and "huadong" find 华东分公司)."""
    text = query.strip()
    if not text:
        return Q()
    condition = Q(name__icontains=text) | Q(short_name__icontains=text) | Q(code__iexact=text)
    key = pinyin.query_key(text)
    return condition | pinyin.matches("", key) if key else condition


def person_search(query: str, *, prefix: str = "") -> Q:
    """Accounts matching ``query`` by name, login name, 工号 or pinyin ("zw", "zhangwei" and
    "张伟" find 张伟). ``prefix`` leads from the queried model to the account ("user__")."""
    text = query.strip()
    if not text:
        return Q()
    condition = (
        Q(**{f"{prefix}name__icontains": text})
        | Q(**{f"{prefix}username__istartswith": text})
        | Q(**{f"{prefix}employee_no__istartswith": text})
    )
    key = pinyin.query_key(text)
    return condition | pinyin.matches(f"{prefix}staff__", key) if key else condition


# --------------------------------------------------------------------------- the tree


@dataclass
class TreeNode:
    """One unit in tree order, shaped for rendering nested lists from a flat sequence."""

    id: int
    path: str
    code: str
    name: str
    short_name: str
    kind: str
    is_active: bool
    members: int
    depth: int  # 0 for the top-most visible unit
    parent_id: int | None = None  # the nearest visible unit above
    hit: bool = False
    open: bool = False
    has_children: bool = False
    #: How many enclosing levels end after this unit (leaf units only).
    closes: range = field(default_factory=lambda: range(0))
    heads: list[str] = field(default_factory=list)


def visible_units(*, viewer: User, include_inactive: bool = False) -> QuerySet[OrgUnit]:
    """The units the viewer may see; deactivated ones only for whoever maintains units."""
    units = access.restrict(viewer, VIEW_DIRECTORY, OrgUnit.objects.all(), unit_field="pk")
    if not (include_inactive and access.can(viewer, MANAGE_UNITS)):
        units = units.filter(is_active=True)
    return units


def member_count() -> Count:
    """Active members of the unit (all its posts). A join with one grouped count, not a
    sub-query per unit: the planner then reads the memberships once, whatever its statistics
    say (a correlated count per unit over 1,000 units took seconds on a freshly loaded table)."""
    return Count("memberships", filter=Q(memberships__user__is_active=True))


_TREE_FIELDS = ("id", "path", "code", "name", "short_name", "kind", "is_active", "members", "hit")


def _shape(nodes: list[TreeNode]) -> None:
    """Set ``has_children`` and ``closes`` from the depths: tree order in, nesting out."""
    for index, node in enumerate(nodes):
        following = nodes[index + 1].depth if index + 1 < len(nodes) else 0
        node.has_children = following > node.depth
        node.closes = range(0 if node.has_children else node.depth - following)


def _nodes(rows: Iterable[tuple[Any, ...]]) -> list[TreeNode]:
    """Rows in path order → nodes with depths relative to what is visible: a unit whose
    parent the viewer cannot see sits at the level of its nearest visible ancestor."""
    nodes: list[TreeNode] = []
    stack: list[TreeNode] = []
    for row in rows:
        values = dict(zip(_TREE_FIELDS, row, strict=True))
        while stack and not values["path"].startswith(stack[-1].path):
            stack.pop()
        node = TreeNode(depth=len(stack), parent_id=stack[-1].id if stack else None, **values)
        nodes.append(node)
        stack.append(node)
    _shape(nodes)
    return nodes


@dataclass(frozen=True)
class UnitTree:
    nodes: list[TreeNode]
    hits: int


def unit_tree(
    *, viewer: User, query: str = "", include_inactive: bool = False, open_depth: int = 2
) -> UnitTree:
    """The whole visible tree in one query, in path order, with each unit's member count and,
    for a search, whether it matches. Units above a match are opened; without a search the
    first ``open_depth`` levels are."""
    units = visible_units(viewer=viewer, include_inactive=include_inactive)
    hit: Any = Value(False)
    if query.strip():
        hit = Case(When(unit_search(query), then=Value(True)), default=Value(False))
    rows = units.annotate(members=member_count(), hit=hit).order_by("path").values_list(*_TREE_FIELDS)
    nodes = _nodes(rows)
    hit_paths = [node.path for node in nodes if node.hit]
    if query.strip():
        above = {path for hit_path in hit_paths for path in ancestor_paths(hit_path)[:-1]}
        for node in nodes:
            node.open = node.path in above
    else:
        for node in nodes:
            node.open = node.depth < open_depth
    return UnitTree(nodes=nodes, hits=len(hit_paths))


def unit_get(*, viewer: User, unit_id: object) -> OrgUnit:
    """One visible unit (``NotFoundError`` alike for missing and hidden ones)."""
    units = visible_units(viewer=viewer, include_inactive=True).select_related("contact")
    return access.get_visible(viewer, VIEW_DIRECTORY, units, unit_id, unit_field="pk")


def unit_ancestors(unit: OrgUnit) -> list[OrgUnit]:
    """The units above ``unit``, top first (for breadcrumbs and paths)."""
    return list(OrgUnit.objects.filter(path__in=ancestor_paths(unit.path)[:-1]).order_by("path"))


def unit_children(*, viewer: User, unit: OrgUnit) -> list[OrgUnit]:
    children = visible_units(viewer=viewer, include_inactive=True).filter(
        path__startswith=unit.path, depth=unit.depth + 1
    )
    return list(children.annotate(members=member_count()).order_by("path"))


def unit_options(*, units: QuerySet[OrgUnit]) -> list[tuple[int, str]]:
    """``(id, indented name)`` pairs for a ``<select>``, in tree order (one query)."""
    rows = units.order_by("path").values_list("id", "name", "depth")
    top = min((depth for _id, _name, depth in rows), default=1)
    return [(pk, "\u3000" * (depth - top) + name) for pk, name, depth in rows]


def contact_for(unit: OrgUnit) -> OrgUnit | None:
    """The nearest unit at or above ``unit`` with a designated platform contact (R-123)."""
    found: OrgUnit | None = (
        OrgUnit.objects.filter(
            path__in=ancestor_paths(unit.path), contact__isnull=False, contact__is_active=True
        )
        .select_related("contact")
        .order_by("-depth")
        .first()
    )
    return found


def heads_by_unit(unit_ids: Iterable[int]) -> dict[int, list[Membership]]:
    """The active heads of each unit, in one query."""
    heads: dict[int, list[Membership]] = {}
    rows = (
        Membership.objects.filter(unit_id__in=list(unit_ids), is_head=True, user__is_active=True)
        .select_related("user", "position")
        .order_by("-position__rank", "user__name")
    )
    for membership in rows:
        heads.setdefault(membership.unit_id, []).append(membership)
    return heads


def org_chart(*, viewer: User, root: OrgUnit, levels: int = 3) -> list[TreeNode]:
    """``root`` and up to ``levels`` levels below it, with the heads' names: two queries."""
    rows = (
        visible_units(viewer=viewer)
        .filter(path__startswith=root.path, depth__lte=root.depth + levels)
        .annotate(members=member_count(), hit=Value(False))
        .order_by("path")
        .values_list(*_TREE_FIELDS)
    )
    nodes = _nodes(rows)
    heads = heads_by_unit(node.id for node in nodes)
    for node in nodes:
        node.heads = [post.user.name for post in heads.get(node.id, [])]
    return nodes


# --------------------------------------------------------------------------- people


def _ordered_posts(posts: QuerySet[Membership]) -> QuerySet[Membership]:
    # Heads first, then by rank, then alphabetically by pinyin (the order of a printed 通讯录).
    return posts.order_by("-is_head", "-position__rank", "user__staff__name_pinyin", "user_id")


def unit_members(*, viewer: User, unit: OrgUnit, subtree: bool = False) -> QuerySet[Membership]:
    """The visible posts in ``unit`` (or in its subtree), heads first."""
    posts = directory(viewer=viewer)
    posts = posts.filter(unit__path__startswith=unit.path) if subtree else posts.filter(unit=unit)
    if subtree:
        return posts.order_by(
            "unit__path", "-is_head", "-position__rank", "user__staff__name_pinyin", "user_id"
        )
    return _ordered_posts(posts)


def people_search(*, viewer: User, query: str = "", unit: OrgUnit | None = None) -> QuerySet[Membership]:
    """The 通讯录: posts matching ``query``; within ``unit`` and below it every post (concurrent
    ones too), otherwise each person once, at their primary post."""
    posts = directory(viewer=viewer)
    if unit is not None:
        posts = posts.filter(unit__path__startswith=unit.path)
    else:
        posts = posts.filter(is_primary=True)
    if query.strip():
        posts = posts.filter(person_search(query, prefix="user__"))
    return posts.order_by("user__staff__name_pinyin", "user_id", "-is_primary", "unit__path")


def person_get(*, viewer: User, user_id: object) -> User:
    """An active account the viewer may look up (``NotFoundError`` otherwise)."""
    people = with_primary_unit(User.objects.filter(is_active=True))
    return access.get_visible(
        viewer, VIEW_DIRECTORY, people, user_id, unit_field="primary_unit_id", owner_field="pk"
    )


@dataclass(frozen=True)
class PersonCard:
    user: User
    posts: list[Membership]
    primary: Membership | None
    unit_path: list[OrgUnit]
    heads: list[Membership]
    contact: OrgUnit | None


def person_card(*, viewer: User, user_id: object) -> PersonCard:
    """Who someone is: posts, the unit's place in the tree, its heads and its platform
    contact. A fixed number of queries."""
    user = person_get(viewer=viewer, user_id=user_id)
    posts = list(
        Membership.objects.filter(user=user)
        .select_related("unit", "position")
        .order_by("-is_primary", "unit__path")
    )
    primary = next((post for post in posts if post.is_primary), None)
    if primary is None:
        return PersonCard(user, posts, None, [], [], None)
    heads = heads_by_unit([primary.unit_id]).get(primary.unit_id, [])
    return PersonCard(
        user=user,
        posts=posts,
        primary=primary,
        unit_path=[*unit_ancestors(primary.unit), primary.unit],
        heads=heads,
        contact=contact_for(primary.unit),
    )


# --------------------------------------------------------------------------- administration


def account_status(user: User) -> str:
    """``active``, ``suspended``, ``departed`` or ``disabled`` (switched off another way,
    e.g. by the dormant-account job)."""
    profile = getattr(user, "staff", None)
    status = profile.status if isinstance(profile, StaffProfile) else StaffProfile.Status.ACTIVE
    if status != StaffProfile.Status.ACTIVE:
        return status
    return "active" if user.is_active else "disabled"


ACCOUNT_STATUSES = ("active", "suspended", "departed", "disabled")


def admin_users(
    *, actor: User, query: str = "", unit: OrgUnit | None = None, status: str = ""
) -> QuerySet[User]:
    """Accounts ``actor`` administers, filtered; each with ``primary_posts`` (a list of at most
    one post) loaded for the whole page in one more query."""
    users = manageable_users(actor=actor).select_related("staff")
    if query.strip():
        users = users.filter(person_search(query))
    if unit is not None:
        within = OrgUnit.objects.filter(path__startswith=unit.path).values("pk")
        users = users.filter(**{"primary_unit_id__in": within})  # an annotation the stubs cannot see
    if status == "active":
        users = users.filter(is_active=True)
    elif status == "disabled":
        users = users.filter(is_active=False).exclude(
            staff__status__in=[StaffProfile.Status.SUSPENDED, StaffProfile.Status.DEPARTED]
        )
    elif status in (StaffProfile.Status.SUSPENDED, StaffProfile.Status.DEPARTED):
        users = users.filter(staff__status=status)
    primary = Membership.objects.filter(is_primary=True).select_related("unit", "position")
    return users.prefetch_related(
        Prefetch("memberships", queryset=primary, to_attr="primary_posts")
    ).order_by("staff__name_pinyin", "pk")


def manageable_units(*, actor: User) -> QuerySet[OrgUnit]:
    """Active units in which ``actor`` may place accounts (hire, transfer, import)."""
    return access.restrict(actor, MANAGE_USERS, OrgUnit.objects.filter(is_active=True), unit_field="pk")


def personnel_changes(*, user: User) -> QuerySet[PersonnelChange]:
    return PersonnelChange.objects.filter(user=user).select_related(
        "from_unit", "to_unit", "from_position", "to_position", "successor", "actor", "reviewed_by"
    )


def review_queue(*, actor: User, pending: bool = True) -> QuerySet[PersonnelChange]:
    """Hires and transfers whose permissions the security administrator reviews (R-13)."""
    changes = PersonnelChange.objects.exclude(review_status=PersonnelChange.Review.NOT_REQUIRED)
    if pending:
        changes = changes.filter(review_status=PersonnelChange.Review.PENDING)
    changes = access.restrict(actor, REVIEW_CHANGES, changes, unit_field="to_unit")
    return changes.select_related(
        "user", "from_unit", "to_unit", "from_position", "to_position", "actor", "reviewed_by"
    ).order_by("-created_at", "-id")


def review_get(*, actor: User, change_id: object) -> PersonnelChange:
    changes = PersonnelChange.objects.exclude(review_status=PersonnelChange.Review.NOT_REQUIRED)
    return access.get_visible(
        actor, REVIEW_CHANGES, changes.select_related("user"), change_id, unit_field="to_unit"
    )


def positions() -> QuerySet[Position]:
    return Position.objects.annotate(holders=Count("membership", filter=Q(membership__user__is_active=True)))


def is_head_of(user: User, unit: OrgUnit) -> bool:
    return Membership.objects.filter(user=user, unit=unit, is_head=True, user__is_active=True).exists()
