"""Conditions: every op, missing data, the initiator's unit / role / position, branch choice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures import make_user, place
from xietong.core import clock
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import DataScope, OrgUnit, Position, RoleGrant
from xietong.workflow.conditions import RouteContext, choose_branch, condition_matches, route_context
from xietong.workflow.definition import DefinitionError
from xietong.workflow.tests.test_definition import FORM, FORMS, JSON, SHAPED, sample_definition


def context(data: dict[str, Any], form: Any = None, **initiator: Any) -> RouteContext:
    fields: dict[str, Any] = {
        "initiator_id": 1,
        "initiator_unit_id": None,
        "initiator_unit_path": "",
        "initiator_role_codes": frozenset({"employee"}),
        "initiator_position_ids": frozenset(),
    }
    fields.update(initiator)
    return RouteContext(form=form, data=data, **fields)


def holds(leaf: dict[str, Any], data: dict[str, Any], form: Any = None) -> bool:
    return condition_matches(leaf, context(data, form))


ALL_FORMS = [None, *FORMS]
FORM_IDS = ["no-form", "fake", "formspec"]


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("form", ALL_FORMS, ids=FORM_IDS)
@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("==", "100000", True),
        ("==", 100000, True),
        ("==", "100000.001", False),
        ("!=", "99999.99", True),
        ("!=", "100000.0", False),
        (">", "99999.99", True),
        (">", "100000", False),
        (">=", "100000", True),
        (">=", "100000.01", False),
        ("<", "100000.01", True),
        ("<", 100000, False),
        ("<=", "100000", True),
        ("<=", 99999, False),
        ("between", ["100000", "200000"], True),
        ("between", ["0", "100000.00"], True),
        ("between", [100000.01, 200000], False),
        ("between", ["200000", "0"], False),  # an empty range
        ("in", ["5", "100000"], True),
        ("in", ["5"], False),
        ("not_in", ["5"], True),
        ("not_in", [100000], False),
    ],
)
def test_amounts_compare_as_decimals(form: Any, op: str, value: Any, expected: bool) -> None:
    leaf = {"field": "amount", "op": op, "value": value}
    assert holds(leaf, {"amount": "100000.00"}, form) is expected
    assert holds(leaf, {"amount": Decimal("100000.00")}, form) is expected


def test_numbers_as_floats_and_ints_are_compared_exactly() -> None:
    assert holds({"field": "days", "op": "==", "value": "0.1"}, {"days": 0.1})
    assert holds({"field": "days", "op": ">", "value": 2}, {"days": 2.5})
    assert not holds({"field": "days", "op": ">", "value": "abc"}, {"days": 2.5})


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("form", ALL_FORMS, ids=FORM_IDS)
@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("==", "2026-03-01", True),
        ("!=", "2026-03-01", False),
        (">", "2026-02-28", True),
        (">", "2026-03-01", False),
        (">=", "2026-03-01", True),
        ("<", "2026-03-02", True),
        ("<=", "2026-02-28", False),
        ("between", ["2026-03-01", "2026-03-01"], True),
        ("between", ["2026-01-01", "2026-02-28"], False),
    ],
)
def test_dates_compare_as_iso_dates(form: Any, op: str, value: Any, expected: bool) -> None:
    assert holds({"field": "date", "op": op, "value": value}, {"date": "2026-03-01"}, form) is expected


def test_dates_are_not_compared_as_text() -> None:
    # As text "2026-10-01" < "2026-9-30"; as dates it is later — and "2026-9-30" is no ISO date.
    assert holds({"field": "date", "op": ">", "value": "2026-09-30"}, {"date": "2026-10-01"}, FORM)
    assert not holds({"field": "date", "op": ">", "value": "2026-9-30"}, {"date": "2026-10-01"}, FORM)
    assert not holds({"field": "date", "op": ">", "value": "2026-01-01"}, {"date": "soon"}, FORM)
    assert holds({"field": "date", "op": "==", "value": "2026-03-01"}, {"date": dt.date(2026, 3, 1)}, FORM)


def test_a_date_range_compares_its_days_with_the_real_form() -> None:
    real = FORMS[1]
    data = {"period": ["2026-03-01", "2026-03-03"]}
    assert holds({"field": "period", "op": "==", "value": 3}, data, real)
    assert holds({"field": "period", "op": "not_empty"}, data, real)
    assert holds({"field": "period", "op": "empty"}, {}, real)


# --------------------------------------------------------------------------- choices


@pytest.mark.parametrize("form", ALL_FORMS, ids=FORM_IDS)
def test_select_fields(form: Any) -> None:
    data = {"kind": "采购"}
    assert holds({"field": "kind", "op": "==", "value": "采购"}, data, form)
    assert not holds({"field": "kind", "op": "==", "value": "维修"}, data, form)
    assert holds({"field": "kind", "op": "!=", "value": "维修"}, data, form)
    assert holds({"field": "kind", "op": "in", "value": ["维修", "采购"]}, data, form)
    assert not holds({"field": "kind", "op": "in", "value": ["维修"]}, data, form)
    assert holds({"field": "kind", "op": "not_in", "value": ["维修"]}, data, form)
    assert not holds({"field": "kind", "op": "not_in", "value": ["采购"]}, data, form)


@pytest.mark.parametrize("form", ALL_FORMS, ids=FORM_IDS)
def test_multiselect_contains_any_of_the_values(form: Any) -> None:
    data = {"tags": ["A"]}
    assert holds({"field": "tags", "op": "contains", "value": ["A"]}, data, form)
    assert holds({"field": "tags", "op": "contains", "value": ["B", "A"]}, data, form)
    assert holds({"field": "tags", "op": "contains", "value": "A"}, data, form)
    assert not holds({"field": "tags", "op": "contains", "value": ["B"]}, data, form)
    assert not holds({"field": "tags", "op": "contains", "value": ["A"]}, {"tags": []}, form)


def test_ids_match_whether_sent_as_numbers_or_strings() -> None:
    assert holds({"field": "owner", "op": "==", "value": 5}, {"owner": "5"})
    assert holds({"field": "owner", "op": "in", "value": ["5", 6]}, {"owner": 5}, FORM)
    assert holds({"field": "watchers", "op": "contains", "value": [6]}, {"watchers": [5, "6"]}, FORM)
    assert holds({"field": "watchers", "op": "contains", "value": [6]}, {"watchers": [5, 6]}, FORMS[1])


def test_text_fields_compare_trimmed_text() -> None:
    assert holds({"field": "title", "op": "==", "value": "请假"}, {"title": " 请假 "}, FORM)
    assert not holds({"field": "title", "op": ">", "value": "a"}, {"title": "b"}, FORM)  # text has no order


# --------------------------------------------------------------------------- empty, missing


@pytest.mark.parametrize("form", ALL_FORMS, ids=FORM_IDS)
@pytest.mark.parametrize("value", [None, "", "   ", []])
def test_empty_and_not_empty(form: Any, value: Any) -> None:
    assert holds({"field": "reason", "op": "empty"}, {"reason": value}, form)
    assert not holds({"field": "reason", "op": "not_empty"}, {"reason": value}, form)
    assert holds({"field": "reason", "op": "empty"}, {}, form)
    assert holds({"field": "reason", "op": "not_empty"}, {"reason": "出差"}, form)


def test_zero_is_a_value() -> None:
    assert holds({"field": "amount", "op": "not_empty"}, {"amount": "0"}, FORM)
    assert holds({"field": "amount", "op": "==", "value": 0}, {"amount": "0.00"}, FORM)


@pytest.mark.parametrize("form", ALL_FORMS, ids=FORM_IDS)
@pytest.mark.parametrize(
    "leaf",
    [
        {"field": "amount", "op": "==", "value": "1"},
        {"field": "amount", "op": "!=", "value": "1"},
        {"field": "amount", "op": ">", "value": "1"},
        {"field": "amount", "op": "<", "value": "1"},
        {"field": "amount", "op": "between", "value": ["0", "1"]},
        {"field": "amount", "op": "in", "value": ["1"]},
        {"field": "amount", "op": "not_in", "value": ["1"]},
        {"field": "tags", "op": "contains", "value": ["A"]},
        {"field": "amount", "op": "not_empty"},
    ],
)
def test_missing_data_makes_every_op_but_empty_false(form: Any, leaf: dict[str, Any]) -> None:
    assert condition_matches(leaf, context({}, form)) is False
    assert condition_matches(leaf, context({"amount": None, "tags": None}, form)) is False
    assert condition_matches({"not": leaf}, context({}, form)) is True


@pytest.mark.parametrize(
    "leaf",
    [
        {"field": "amount", "op": "≥", "value": "1"},
        {"field": "amount", "op": ">", "value": ["1"]},
        {"field": "amount", "op": ">", "value": {"x": 1}},
        {"field": "amount", "op": "between", "value": "1"},
        {"field": "amount", "op": "in", "value": "1"},
        {"field": "amount", "agg": "avg", "op": ">", "value": "1"},
        {"field": 5, "op": "empty"},
        {"field": "nope", "op": ">", "value": "1"},
        {"subject": "initiator_age", "op": "in", "value": [1]},
        {"subject": "initiator_role", "op": "==", "value": "employee"},
        {"all": "x"},
        {"not": "x"},
        {},
        "amount > 1",
        None,
    ],
)
def test_malformed_conditions_are_false_never_errors(leaf: Any) -> None:
    for form in ALL_FORMS:
        assert condition_matches(leaf, context({"amount": "5"}, form)) is False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    condition=JSON | SHAPED, data=st.dictionaries(st.sampled_from(["amount", "tags", "items", "date"]), JSON)
)
def test_condition_matches_never_raises(condition: Any, data: dict[str, Any]) -> None:
    for form in ALL_FORMS:
        assert condition_matches(condition, context(data, form)) in (True, False)


# --------------------------------------------------------------------------- groups, sums


def test_groups() -> None:
    big = {"field": "amount", "op": ">", "value": "1000"}
    bought = {"field": "kind", "op": "==", "value": "采购"}
    data = {"amount": "5000", "kind": "维修"}
    assert not holds({"all": [big, bought]}, data)
    assert holds({"any": [big, bought]}, data)
    assert holds({"not": bought}, data)
    assert holds({"all": [big, {"not": bought}]}, data)
    assert holds({"all": []}, data)
    assert not holds({"any": []}, data)


@pytest.mark.parametrize("form", ALL_FORMS, ids=FORM_IDS)
def test_a_table_column_sum(form: Any) -> None:
    rows = [
        {"name": "笔", "qty": "2", "price": "1500.00", "subtotal": "3000.00"},
        {"name": "纸", "qty": "1", "price": "2000.50", "subtotal": "2000.50"},
    ]
    leaf = {"field": "items.subtotal", "agg": "sum", "op": ">", "value": "5000"}
    assert holds(leaf, {"items": rows}, form)
    assert not holds(leaf, {"items": rows[:1]}, form)
    assert not holds(leaf, {"items": []}, form)
    assert holds({**leaf, "op": "==", "value": "0"}, {"items": []}, form)  # no rows: the sum is 0
    assert holds(
        {"field": "items.qty", "agg": "sum", "op": "between", "value": [3, 3]}, {"items": rows}, form
    )


@pytest.mark.parametrize("form", ALL_FORMS, ids=FORM_IDS)
def test_a_table_is_empty_without_rows(form: Any) -> None:
    rows = [{"name": "笔", "qty": "2", "price": "1.00", "subtotal": "2.00"}]
    assert holds({"field": "items", "op": "not_empty"}, {"items": rows}, form)
    assert holds({"field": "items", "op": "empty"}, {"items": []}, form)
    assert holds({"field": "items", "op": "empty"}, {}, form)


# --------------------------------------------------------------------------- the initiator


@pytest.fixture
def repairman(org_tree: dict[str, OrgUnit]) -> User:
    """A member of 检修班 (集团 → 华东分公司 → 生产技术部 → 检修班), concurrently in 财务部."""
    user = make_user("repair", name="检修工")
    welder = Position.objects.create(name="焊工", rank=2)
    place(user, org_tree["repair"], position=welder)
    place(user, org_tree["finance"], primary=False)
    return user


def test_route_context_reads_the_initiator_in_three_queries(
    repairman: User, org_tree: dict[str, OrgUnit], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(3):
        ctx = route_context(initiator=repairman, form=FORM, data={"amount": "5"})
    repair = org_tree["repair"]
    assert ctx.initiator_id == repairman.pk
    assert ctx.initiator_unit_id == repair.pk
    assert ctx.initiator_unit_path == repair.path
    assert ctx.initiator_unit_ancestor_ids == {
        org_tree[key].pk for key in ("group", "east", "production", "repair")
    }
    assert ctx.initiator_position_ids == {Position.objects.get(name="焊工").pk}
    assert builtin.EMPLOYEE in ctx.initiator_role_codes  # the default role
    assert ctx.data == {"amount": "5"}
    assert ctx.form is FORM


def test_route_context_does_not_grow_with_the_organisation(
    repairman: User, org_tree: dict[str, OrgUnit], django_assert_num_queries: Any
) -> None:
    parent = org_tree["repair"]
    for level in range(6):
        parent = OrgUnit.objects.add_child(
            OrgUnit.objects.get(pk=parent.pk), create_kwargs={"name": f"第{level}组", "code": f"R{level}"}
        )
    deep = make_user("deep")
    place(deep, parent)
    for number in range(5):
        grant = RoleGrant.objects.create(
            role=builtin.ensure_builtin_roles()[builtin.NOTICE_PUBLISHER],
            user=make_user(f"u{number}"),
            scope="self",
        )
        assert grant.pk
    with django_assert_num_queries(3):
        ctx = route_context(initiator=deep, form=None, data={})
    assert len(ctx.initiator_unit_ancestor_ids) == 10


def test_initiator_unit_is_their_primary_unit_or_below(repairman: User, org_tree: dict[str, OrgUnit]) -> None:
    ctx = route_context(initiator=repairman, form=None, data={})

    def unit_in(*keys: str, op: str = "in") -> bool:
        leaf = {"subject": "initiator_unit", "op": op, "value": [org_tree[key].pk for key in keys]}
        return condition_matches(leaf, ctx)

    assert unit_in("repair")
    assert unit_in("east")  # below it
    assert unit_in("group")
    assert unit_in("office", "production")
    assert not unit_in("finance")  # a concurrent post does not count: the primary unit does
    assert not unit_in("suzhou")
    assert unit_in("finance", op="not_in")
    assert not unit_in("east", op="not_in")


def test_a_hand_built_context_compares_unit_paths(repairman: User, org_tree: dict[str, OrgUnit]) -> None:
    repair = org_tree["repair"]
    ctx = context({}, initiator_unit_id=repair.pk, initiator_unit_path=repair.path)
    assert condition_matches({"subject": "initiator_unit", "op": "in", "value": [org_tree["east"].pk]}, ctx)
    assert not condition_matches(
        {"subject": "initiator_unit", "op": "in", "value": [org_tree["suzhou"].pk]}, ctx
    )


def test_without_a_primary_unit_unit_conditions_are_false(db: Any) -> None:
    loner = make_user("loner")
    ctx = route_context(initiator=loner, form=None, data={})
    assert ctx.initiator_unit_id is None
    assert ctx.initiator_unit_path == ""
    for op in ("in", "not_in"):
        assert not condition_matches({"subject": "initiator_unit", "op": op, "value": [1]}, ctx)


def test_initiator_role_counts_personal_position_and_default_roles(
    repairman: User, org_tree: dict[str, OrgUnit]
) -> None:
    roles = builtin.ensure_builtin_roles()
    RoleGrant.objects.create(role=roles[builtin.NOTICE_PUBLISHER], user=repairman, scope=DataScope.SELF)
    welder = Position.objects.get(name="焊工")
    RoleGrant.objects.create(role=roles[builtin.PORTAL_REVIEWER], position=welder, scope=DataScope.DEPARTMENT)
    RoleGrant.objects.create(
        role=roles[builtin.PORTAL_ADMIN],
        user=repairman,
        scope=DataScope.GROUP,
        expires_at=clock.now() - dt.timedelta(days=1),
    )
    ctx = route_context(initiator=repairman, form=None, data={})

    def role_in(*codes: str, op: str = "in") -> bool:
        return condition_matches({"subject": "initiator_role", "op": op, "value": list(codes)}, ctx)

    assert role_in(builtin.NOTICE_PUBLISHER)
    assert role_in(builtin.PORTAL_REVIEWER)  # through the post
    assert role_in(builtin.EMPLOYEE)  # every account's default role
    assert not role_in(builtin.PORTAL_ADMIN)  # expired
    assert role_in(builtin.PORTAL_ADMIN, op="not_in")
    assert not role_in(builtin.NOTICE_PUBLISHER, op="not_in")


def test_initiator_position(repairman: User) -> None:
    ctx = route_context(initiator=repairman, form=None, data={})
    welder = Position.objects.get(name="焊工").pk
    assert condition_matches({"subject": "initiator_position", "op": "in", "value": [welder]}, ctx)
    assert not condition_matches({"subject": "initiator_position", "op": "in", "value": [welder + 1]}, ctx)
    assert condition_matches({"subject": "initiator_position", "op": "not_in", "value": [welder + 1]}, ctx)


# --------------------------------------------------------------------------- branches


def test_r74_the_sample_flow_routes_by_amount() -> None:
    g1 = sample_definition()["nodes"][2]
    assert choose_branch(g1, context({"amount": "100000"}, FORM))["id"] == "g1a"
    assert choose_branch(g1, context({"amount": "99999.99"}, FORM))["id"] == "g1z"
    assert choose_branch(g1, context({}, FORM))["id"] == "g1z"  # no amount: the default branch


def test_the_first_matching_branch_by_priority_wins_not_by_list_order() -> None:
    over = {"field": "amount", "op": ">", "value": "1000"}
    node = {
        "id": "g1",
        "type": "condition",
        "name": "按金额",
        "branches": [
            {"id": "low", "name": "较低", "priority": 2, "condition": over, "nodes": []},
            {"id": "other", "name": "其他", "default": True, "nodes": []},
            {
                "id": "high",
                "name": "较高",
                "priority": 1,
                "condition": {"field": "amount", "op": ">", "value": "5000"},
            },
        ],
    }
    assert choose_branch(node, context({"amount": "9000"}))["id"] == "high"
    assert choose_branch(node, context({"amount": "3000"}))["id"] == "low"
    assert choose_branch(node, context({"amount": "10"}))["id"] == "other"


def test_a_condition_node_without_a_default_raises_only_when_nothing_matches() -> None:
    node = {
        "id": "g1",
        "type": "condition",
        "name": "按金额",
        "branches": [
            {"id": "a", "name": "甲", "priority": 1, "condition": {"field": "x", "op": "not_empty"}}
        ],
    }
    assert choose_branch(node, context({"x": "1"}))["id"] == "a"
    with pytest.raises(DefinitionError):
        choose_branch(node, context({}))
