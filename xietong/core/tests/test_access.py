"""The access-control core: function permissions, data scopes on real queries, classification,
object ACLs, and the cost of ``restrict``.

Rows under test are ``org.Membership`` posts: each has a unit (the data scope's handle) and a
user (the owner). Grants are written as plain rows here so that each test states exactly the
roles it needs; the role services and their rules are tested in ``org/tests/test_roles.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.template import Context, Template
from django.test import override_settings

from tests.fixtures import make_user, place
from xietong.core import access, acl, classification, clock
from xietong.core.access import AclLevel, Scope, register_permission
from xietong.core.errors import DomainError, NotFoundError
from xietong.core.models import AccessGrant
from xietong.identity.models import User
from xietong.org.models import DataScope, Membership, OrgUnit, Position, Role, RoleGrant

pytestmark = pytest.mark.django_db

VIEW = "testdocs.view"  # registered in tests/fixtures.py
NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def role_with(code: str, *codenames: str) -> Role:
    return Role.objects.create(code=code, name=code, permissions=list(codenames))


def give(
    holder: User | Position,
    role: Role,
    scope: str,
    *,
    units: Iterable[OrgUnit] = (),
    module_scopes: dict[str, str] | None = None,
    expires_at: dt.datetime | None = None,
) -> RoleGrant:
    grant = RoleGrant.objects.create(
        role=role,
        user=holder if isinstance(holder, User) else None,
        position=holder if isinstance(holder, Position) else None,
        scope=scope,
        module_scopes=module_scopes or {},
        expires_at=expires_at,
    )
    grant.units.set(units)
    if isinstance(holder, User):
        access.forget(holder)
    return grant


def posts() -> QuerySet[Membership]:
    return Membership.objects.all()


def visible_units(viewer: User, codename: str = VIEW, **kwargs: Any) -> set[str]:
    """The codes of the units whose posts ``viewer`` sees — a real query through restrict()."""
    rows = access.restrict(viewer, codename, posts(), unit_field="unit", owner_field="user", **kwargs)
    return set(rows.values_list("unit__code", flat=True))


@pytest.fixture
def staff(org_tree: dict[str, OrgUnit]) -> dict[str, User]:
    """One employee per unit, plus the viewer: an employee of 生产技术部."""
    people = {}
    for key, unit in org_tree.items():
        people[key] = make_user(f"u_{key}", name=unit.name)
        place(people[key], unit)
    viewer = make_user("viewer", name="查看人")
    place(viewer, org_tree["production"])
    people["viewer"] = viewer
    return people


# --------------------------------------------------------------------------- registry


def test_unknown_codename_fails_loudly(user: User) -> None:
    with pytest.raises(access.UnknownPermissionError):
        access.can(user, "audit.raed")
    with pytest.raises(access.UnknownPermissionError):
        access.restrict(user, "nope.nothing", posts())


def test_registry_refuses_a_conflicting_or_misfiled_definition() -> None:
    assert register_permission("testdocs.view", "查看测试文档").module == "testdocs"  # same again: fine
    with pytest.raises(ValueError, match="already registered"):
        register_permission("testdocs.view", "另一个名字")
    with pytest.raises(ValueError, match="belongs to module"):
        register_permission("testdocs.print", "打印", module="org")
    with pytest.raises(ValueError, match="cannot be reserved"):
        register_permission("testdocs.approve", "审批", reserved_for="audit")
    with pytest.raises(ValueError, match=r"module\.action"):
        register_permission("NoDots", "坏")


def test_business_permissions_are_those_outside_the_platform_modules() -> None:
    assert access.is_business("testdocs.view")
    assert not access.is_business("audit.read")
    assert not access.is_business("moderation.manage")


# --------------------------------------------------------------------------- who gets nothing


def test_without_a_provider_everything_is_refused_except_superusers(staff: dict[str, User]) -> None:
    viewer = staff["viewer"]
    give(viewer, role_with("r", VIEW), DataScope.GROUP)
    root = make_user("root", name="超级用户", is_superuser=True)
    with access.provider_override(None):
        access.forget(viewer)
        assert not access.can(viewer, VIEW)
        assert not access.restrict(viewer, VIEW, posts(), unit_field="unit").exists()
        assert not access.can_on(viewer, VIEW, None, unit=staff["office"].memberships.get().unit)
        assert access.can(root, VIEW)
        assert access.restrict(root, VIEW, posts()).count() == posts().count()
    access.forget(viewer)
    assert access.can(viewer, VIEW)


def test_anonymous_and_inactive_accounts_may_do_nothing(staff: dict[str, User]) -> None:
    viewer = staff["viewer"]
    give(viewer, role_with("r", VIEW), DataScope.GROUP)
    anonymous = AnonymousUser()
    assert not access.can(anonymous, VIEW)
    assert not access.restrict(anonymous, VIEW, posts()).exists()
    viewer.is_active = False
    assert not access.can(viewer, VIEW)
    assert not access.can_on(viewer, VIEW, None, unit=1)
    assert not access.restrict(viewer, VIEW, posts(), unit_field="unit").exists()
    assert classification.clearance_of(viewer) == -1


def test_holding_no_permission_sees_nothing(staff: dict[str, User]) -> None:
    assert not access.can(staff["viewer"], VIEW)
    assert visible_units(staff["viewer"]) == set()


# --------------------------------------------------------------------------- data scopes


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (DataScope.SELF, {"EC-SC"}),  # the viewer's own post only
        (DataScope.DEPARTMENT, {"EC-SC"}),
        (DataScope.DEPARTMENT_TREE, {"EC-SC", "EC-SC-JX"}),
        # 华东分公司 and its departments, without 苏州公司, a company of its own.
        (DataScope.COMPANY, {"EC", "EC-SC", "EC-SC-JX"}),
        (DataScope.GROUP, {"G", "G-ZH", "G-CW", "EC", "EC-SC", "EC-SC-JX", "SZ", "SZ-GC"}),
    ],
)
def test_r10_each_data_scope_on_a_real_query(staff: dict[str, User], scope: str, expected: set[str]) -> None:
    viewer = staff["viewer"]
    give(viewer, role_with("r", VIEW), scope)
    assert visible_units(viewer) == expected


def test_r10_self_scope_is_the_owner_only(staff: dict[str, User]) -> None:
    viewer = staff["viewer"]
    give(viewer, role_with("r", VIEW), DataScope.SELF)
    rows = access.restrict(viewer, VIEW, posts(), unit_field="unit", owner_field="user")
    assert list(rows.values_list("user__username", flat=True)) == ["viewer"]


def test_r10_listed_units_with_their_subtrees(staff: dict[str, User], org_tree: dict[str, OrgUnit]) -> None:
    viewer = staff["viewer"]
    give(viewer, role_with("r", VIEW), DataScope.LISTED, units=[org_tree["finance"], org_tree["suzhou"]])
    assert visible_units(viewer) == {"G-CW", "SZ", "SZ-GC"}


def test_r10_company_scope_at_headquarters_leaves_out_the_subsidiaries(
    staff: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    head_office = make_user("hq", name="总部员工")
    place(head_office, org_tree["office"])
    give(head_office, role_with("r", VIEW), DataScope.COMPANY)
    assert visible_units(head_office) == {"G", "G-ZH", "G-CW"}


def test_r10_several_grants_add_up(staff: dict[str, User], org_tree: dict[str, OrgUnit]) -> None:
    viewer = staff["viewer"]
    give(viewer, role_with("a", VIEW), DataScope.DEPARTMENT)
    give(viewer, role_with("b", VIEW), DataScope.LISTED, units=[org_tree["finance"]])
    assert visible_units(viewer) == {"EC-SC", "G-CW"}


def test_r10_a_concurrent_post_counts_for_department_scopes(
    staff: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    viewer = staff["viewer"]
    place(viewer, org_tree["finance"], primary=False)  # 兼职 in 财务部
    give(viewer, role_with("r", VIEW), DataScope.DEPARTMENT)
    assert visible_units(viewer) == {"EC-SC", "G-CW"}


def test_r09_a_grant_to_a_position_is_anchored_on_the_posts_holding_it(
    staff: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    manager = Position.objects.create(name="经理", rank=6)
    clerk = Position.objects.create(name="专员", rank=2)
    viewer = staff["viewer"]
    Membership.objects.filter(user=viewer).update(position=manager)
    place(viewer, org_tree["finance"], position=clerk, primary=False)
    give(manager, role_with("r", VIEW), DataScope.DEPARTMENT_TREE)
    # The manager's post in 生产技术部 gives its subtree; the clerk's post in 财务部 gives nothing.
    assert visible_units(viewer) == {"EC-SC", "EC-SC-JX"}


def test_per_module_scope_overrides_the_grant_scope(staff: dict[str, User]) -> None:
    viewer = staff["viewer"]
    give(
        viewer,
        role_with("r", VIEW, "org.view_directory"),
        DataScope.SELF,
        module_scopes={"testdocs": "company"},
    )
    assert visible_units(viewer) == {"EC", "EC-SC", "EC-SC-JX"}
    # The role's own scope (self) for the directory, added to the baseline's (group).
    assert access.scope_of(viewer, "org.view_directory") == Scope(everything=True, own=True)


def test_r10_no_unit_or_owner_field_means_only_everything_scopes_pass(staff: dict[str, User]) -> None:
    viewer = staff["viewer"]
    give(viewer, role_with("r", VIEW), DataScope.DEPARTMENT_TREE)
    assert not access.restrict(viewer, VIEW, posts()).exists()  # deny by default
    other = staff["finance"]
    give(other, role_with("g", VIEW), DataScope.GROUP)
    assert access.restrict(other, VIEW, posts()).count() == posts().count()


def test_a_to_many_unit_lookup_repeats_no_row(staff: dict[str, User], org_tree: dict[str, OrgUnit]) -> None:
    viewer = staff["viewer"]
    place(staff["repair"], org_tree["production"], primary=False)  # two posts inside the scope
    give(viewer, role_with("r", VIEW), DataScope.DEPARTMENT_TREE)
    users = access.restrict(viewer, VIEW, User.objects.all(), unit_field="memberships__unit")
    assert sorted(users.values_list("username", flat=True)) == ["u_production", "u_repair", "viewer"]
    assert users.count() == 3


def test_can_on_places_one_object_by_unit_and_owner(
    staff: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    viewer = staff["viewer"]
    give(viewer, role_with("r", VIEW), DataScope.DEPARTMENT_TREE)
    assert access.can_on(viewer, VIEW, None, unit=org_tree["repair"])
    assert access.can_on(viewer, VIEW, None, unit=org_tree["repair"].pk)  # by id: one lookup
    assert not access.can_on(viewer, VIEW, None, unit=org_tree["east"])
    assert not access.can_on(viewer, VIEW, None, owner=viewer)  # department scopes are not "self"
    give(viewer, role_with("s", VIEW), DataScope.SELF)
    assert access.can_on(viewer, VIEW, None, owner=viewer)
    assert access.can_on(viewer, VIEW, None, owner=viewer.pk)


def test_r11_get_visible_answers_missing_and_forbidden_alike(staff: dict[str, User]) -> None:
    viewer = staff["viewer"]
    give(viewer, role_with("r", VIEW), DataScope.DEPARTMENT)
    own = Membership.objects.get(user=viewer)
    foreign = Membership.objects.get(user=staff["finance"])
    assert access.get_visible(viewer, VIEW, posts(), own.pk, unit_field="unit") == own
    messages = []
    for pk in (foreign.pk, 999_999, "not-a-number"):
        with pytest.raises(NotFoundError) as caught:
            access.get_visible(viewer, VIEW, posts(), pk, unit_field="unit")
        messages.append(caught.value.message)
    assert len(set(messages)) == 1


# --------------------------------------------------------------------------- classification


def test_classification_labels_default_and_configurable() -> None:
    assert [classification.label(level) for level in classification.levels()] == [
        "公开",
        "内部",
        "普通商密",
        "核心商密",
    ]
    assert classification.label(9) == "9 级"
    with override_settings(XIETONG_CLASSIFICATION_LABELS=["公开", "内部", "秘密", "机密", "绝密"]):
        assert classification.choices()[-1] == (4, "绝密")
        assert classification.highest() == 4


def test_a_new_account_is_cleared_for_internal_content(user: User) -> None:
    assert user.clearance == classification.INTERNAL
    assert user.get_clearance_display() == "内部"


def test_clearance_gates_view_whatever_the_scope(
    staff: dict[str, User], org_tree: dict[str, OrgUnit]
) -> None:
    viewer = staff["viewer"]
    give(viewer, role_with("r", VIEW), DataScope.GROUP)
    assert access.can_on(viewer, VIEW, None, classification=classification.INTERNAL)
    assert not access.can_on(viewer, VIEW, None, classification=classification.COMMERCIAL_SECRET)
    # Rows get a level: 财务部 核心商密, 综合办公室 普通商密, the rest 公开.
    levelled = posts().annotate(
        level=Case(
            When(unit=org_tree["finance"], then=Value(3)),
            When(unit=org_tree["office"], then=Value(2)),
            default=Value(0),
            output_field=IntegerField(),
        )
    )

    def seen(user: User) -> set[str]:
        rows = access.restrict(user, VIEW, levelled, unit_field="unit", classification_field="level")
        return set(rows.values_list("unit__code", flat=True))

    assert {"G-CW", "G-ZH"}.isdisjoint(seen(viewer))
    viewer.clearance = classification.COMMERCIAL_SECRET
    assert "G-ZH" in seen(viewer)
    assert "G-CW" not in seen(viewer)
    viewer.clearance = classification.CORE_COMMERCIAL_SECRET
    assert {"G-CW", "G-ZH"} <= seen(viewer)


def test_template_helpers(staff: dict[str, User]) -> None:
    viewer = staff["viewer"]
    give(viewer, role_with("r", VIEW), DataScope.SELF)
    template = Template(
        '{% load xietong_access %}{{ 2|classification_label }}|{{ user|can:"testdocs.view" }}'
        '|{{ user|can:"audit.read" }}|{{ 3|is_classified }}|{{ 1|is_classified }}'
    )
    assert template.render(Context({"user": viewer})) == "普通商密|True|False|True|False"


# --------------------------------------------------------------------------- object ACLs


@pytest.fixture
def shared(staff: dict[str, User]) -> Membership:
    """A row outside the viewer's department scope (财务部), to be shared."""
    viewer = staff["viewer"]
    give(viewer, role_with("viewer_role", VIEW, "testdocs.download"), DataScope.DEPARTMENT)
    return Membership.objects.get(user=staff["finance"])


def sees(user: User, obj: Membership, codename: str = VIEW) -> bool:
    """Both ways of asking must agree: the list filter and the one-object check."""
    access.forget(user)
    in_list = access.restrict(user, codename, posts(), unit_field="unit", acl=True).filter(pk=obj.pk).exists()
    one = access.can_on(user, codename, obj, unit=obj.unit)
    assert in_list == one
    return one


def test_acl_share_to_a_user(staff: dict[str, User], shared: Membership) -> None:
    viewer = staff["viewer"]
    assert not sees(viewer, shared)
    acl.grant(obj=shared, grantee_kind="user", grantee_id=viewer.pk)
    assert sees(viewer, shared)
    assert (
        not access.restrict(viewer, VIEW, posts(), unit_field="unit").filter(pk=shared.pk).exists()
    )  # acl off
    assert acl.revoke(obj=shared, grantee_kind="user", grantee_id=viewer.pk) == 1
    assert not sees(viewer, shared)


def test_acl_share_to_a_unit_with_and_without_its_subunits(
    staff: dict[str, User], shared: Membership, org_tree: dict[str, OrgUnit]
) -> None:
    viewer = staff["viewer"]  # in 生产技术部, under 华东分公司
    acl.grant(obj=shared, grantee_kind="unit", grantee_id=org_tree["east"].pk)
    assert not sees(viewer, shared)
    acl.grant(obj=shared, grantee_kind="unit", grantee_id=org_tree["east"].pk, include_subunits=True)
    assert sees(viewer, shared)
    assert acl.grants_on(shared).count() == 1  # the second share replaced the first
    acl.revoke_all(shared)
    acl.grant(obj=shared, grantee_kind="unit", grantee_id=org_tree["production"].pk)
    assert sees(viewer, shared)


def test_acl_share_to_a_role_a_position_and_everyone(staff: dict[str, User], shared: Membership) -> None:
    viewer = staff["viewer"]
    acl.grant(obj=shared, grantee_kind="role", grantee_id=Role.objects.get(code="viewer_role").pk)
    assert sees(viewer, shared)
    acl.revoke_all(shared)

    clerk = Position.objects.create(name="专员", rank=2)
    acl.grant(obj=shared, grantee_kind="position", grantee_id=clerk.pk)
    assert not sees(viewer, shared)
    Membership.objects.filter(user=viewer).update(position=clerk)
    assert sees(viewer, shared)
    acl.revoke_all(shared)

    acl.grant(obj=shared, grantee_kind="everyone")
    assert sees(viewer, shared)


def test_acl_share_expires_with_the_clock(staff: dict[str, User], shared: Membership) -> None:
    viewer = staff["viewer"]
    with clock.frozen_at(NOW):
        acl.grant(
            obj=shared, grantee_kind="user", grantee_id=viewer.pk, expires_at=NOW + dt.timedelta(hours=1)
        )
        assert sees(viewer, shared)
    with clock.frozen_at(NOW + dt.timedelta(hours=1, seconds=1)):
        assert not sees(viewer, shared)


def test_acl_levels_are_ordered(staff: dict[str, User], shared: Membership) -> None:
    viewer = staff["viewer"]
    acl.grant(obj=shared, grantee_kind="user", grantee_id=viewer.pk, permission=AclLevel.VIEW)
    assert sees(viewer, shared, VIEW)
    assert not sees(viewer, shared, "testdocs.download")
    acl.grant(obj=shared, grantee_kind="user", grantee_id=viewer.pk, permission=AclLevel.MANAGE)
    assert sees(viewer, shared, VIEW)
    assert sees(viewer, shared, "testdocs.download")


def test_acl_never_gives_a_permission_the_user_lacks(staff: dict[str, User], shared: Membership) -> None:
    viewer = staff["viewer"]
    acl.grant(obj=shared, grantee_kind="user", grantee_id=viewer.pk, permission=AclLevel.MANAGE)
    assert not sees(viewer, shared, "testdocs.edit")  # shared for editing, but holds no testdocs.edit


def test_ac08_a_share_does_not_lift_the_classification_gate(
    staff: dict[str, User], shared: Membership
) -> None:
    viewer = staff["viewer"]
    acl.grant(obj=shared, grantee_kind="user", grantee_id=viewer.pk)
    assert access.can_on(viewer, VIEW, shared, classification=classification.INTERNAL)
    assert not access.can_on(viewer, VIEW, shared, classification=classification.COMMERCIAL_SECRET)


def test_r34_classified_content_is_never_shared_with_everyone(shared: Membership) -> None:
    with pytest.raises(DomainError, match="知悉范围"):
        acl.grant(obj=shared, grantee_kind="everyone", classification=classification.COMMERCIAL_SECRET)
    acl.grant(obj=shared, grantee_kind="everyone", classification=classification.INTERNAL)
    assert AccessGrant.objects.count() == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"grantee_kind": "everyone", "grantee_id": 3},
        {"grantee_kind": "user"},
        {"grantee_kind": "user", "grantee_id": 3, "include_subunits": True},
        {"grantee_kind": "team", "grantee_id": 3},
        {"grantee_kind": "user", "grantee_id": 3, "permission": 9},
        {"grantee_kind": "user", "grantee_id": 3, "expires_at": NOW - dt.timedelta(days=1)},
    ],
)
def test_acl_refuses_malformed_shares(shared: Membership, bad: dict[str, Any]) -> None:
    with pytest.raises(DomainError):
        acl.grant(obj=shared, **bad)
    assert not AccessGrant.objects.exists()


# --------------------------------------------------------------------------- cost


def make_rows(unit: OrgUnit, count: int) -> None:
    users = User.objects.bulk_create(
        [User(username=f"row{unit.pk}_{i}", name="行") for i in range(count)], batch_size=200
    )
    Membership.objects.bulk_create([Membership(user=u, unit=unit) for u in users], batch_size=200)


@pytest.mark.parametrize("rows", [10, 100])
@pytest.mark.parametrize("grants", [1, 12])
def test_restrict_adds_a_constant_number_of_queries(
    staff: dict[str, User],
    org_tree: dict[str, OrgUnit],
    django_assert_num_queries: Any,
    rows: int,
    grants: int,
) -> None:
    viewer = staff["viewer"]
    for unit in ("production", "finance", "suzhou_works"):
        make_rows(org_tree[unit], rows)
    scopes = [DataScope.DEPARTMENT_TREE, DataScope.COMPANY, DataScope.LISTED, DataScope.SELF]
    for index in range(grants):
        scope = scopes[index % len(scopes)]
        units = [org_tree["finance"]] if scope == DataScope.LISTED else []
        give(viewer, role_with(f"r{index}", VIEW), scope, units=units)
        acl.grant(
            obj=Membership.objects.get(user=staff["suzhou"]),
            grantee_kind="unit",
            grantee_id=org_tree["group"].pk,
            include_subunits=True,
        )
    fresh = User.objects.get(pk=viewer.pk)  # a new request: nothing resolved yet
    # Resolving: the roles with their grants, the posts (relative scopes), the listed units,
    # the companies (only when such scopes are granted); then the list itself.
    expected = 2 + (grants > 2) + (grants > 1) + 1
    with django_assert_num_queries(expected):
        found = list(
            access.restrict(
                fresh,
                VIEW,
                posts(),
                unit_field="unit",
                owner_field="user",
                classification_field="user__clearance",
                acl=True,
            )
        )
    assert len(found) >= rows
    with django_assert_num_queries(1):  # resolved once per user object
        access.restrict(fresh, VIEW, posts(), unit_field="unit", acl=True).count()
        assert access.can(fresh, VIEW)


def test_an_ordinary_account_resolves_in_one_query(
    staff: dict[str, User], django_assert_num_queries: Any
) -> None:
    fresh = User.objects.get(pk=staff["viewer"].pk)
    with django_assert_num_queries(1):  # the default role only: no relative scope, no posts read
        assert access.can(fresh, "org.view_directory")
        assert not access.can(fresh, VIEW)
        assert not access.is_administrator(fresh)


def test_grants_are_kept_on_the_user_object_until_the_first_expiry(staff: dict[str, User]) -> None:
    viewer = staff["viewer"]
    with clock.frozen_at(NOW):
        give(viewer, role_with("r", VIEW), DataScope.GROUP, expires_at=NOW + dt.timedelta(days=1))
        assert access.can(viewer, VIEW)
        assert access.grants_of(viewer).valid_until == NOW + dt.timedelta(days=1)
    with clock.frozen_at(NOW + dt.timedelta(days=1)):
        assert not access.can(viewer, VIEW)  # the same object, resolved again


def test_a_long_lived_user_object_sees_a_revocation_within_a_minute(
    staff: dict[str, User], django_assert_num_queries: Any
) -> None:
    viewer = staff["viewer"]  # e.g. the user of an open WebSocket connection
    grant = give(viewer, role_with("r", VIEW), DataScope.GROUP)
    with clock.frozen_at(NOW):
        assert access.can(viewer, VIEW)
        grant.delete()
        with django_assert_num_queries(0):
            assert access.can(viewer, VIEW)  # still cached within the same minute
    with clock.frozen_at(NOW + access.MAX_AGE):
        assert not access.can(viewer, VIEW)
