"""Flow definitions: every validity rule with a valid and an invalid example, navigation."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xietong.core.errors import DomainError
from xietong.workflow.definition import (
    DEFAULTS,
    DefinitionError,
    FormLike,
    NodeRef,
    branch_of,
    check_definition,
    enclosing,
    field_info,
    first_of,
    iter_nodes,
    next_in_sequence,
    node_index,
    setting,
    truth,
    validate_definition,
)
from xietong.workflow.formspec import parse_form

# A form with a field of every kind the conditions compare, as ``parse_form`` reads it.
FORM_FIELDS: list[dict[str, Any]] = [
    {"key": "title", "type": "text", "label": "标题", "required": True, "max_length": 100},
    {"key": "reason", "type": "textarea", "label": "事由", "required": True},
    {"key": "note", "type": "description", "label": "说明", "text": "请如实填写"},
    {"key": "days", "type": "number", "label": "天数", "min": 0, "max": 365, "decimals": 1},
    {"key": "amount", "type": "money", "label": "金额", "min": 0},
    {"key": "date", "type": "date", "label": "日期"},
    {"key": "period", "type": "daterange", "label": "起止日期"},
    {"key": "kind", "type": "select", "label": "类型", "options": ["采购", "维修"]},
    {"key": "tags", "type": "multiselect", "label": "标签", "options": ["A", "B"]},
    {"key": "owner", "type": "user", "label": "经办人", "multiple": False},
    {"key": "watchers", "type": "user", "label": "关注人", "multiple": True},
    {"key": "dept", "type": "unit", "label": "部门", "multiple": False},
    {"key": "files", "type": "attachments", "label": "附件"},
    {
        "key": "items",
        "type": "table",
        "label": "明细",
        "columns": [
            {"key": "name", "type": "text", "label": "名称", "required": True},
            {"key": "qty", "type": "number", "label": "数量"},
            {"key": "price", "type": "money", "label": "单价"},
            {"key": "subtotal", "type": "computed", "label": "小计", "expression": "qty * price"},
        ],
        "sum": ["subtotal"],
    },
    {
        "key": "total",
        "type": "computed",
        "label": "合计",
        "expression": "sum(items.subtotal)",
        "format": "money",
    },
]


def _spec(field: dict[str, Any]) -> SimpleNamespace:
    columns = [_spec(column) for column in field.get("columns", [])]
    return SimpleNamespace(**{**field, "columns": columns, "multiple": field.get("multiple", False)})


class FakeForm:
    """Stands in for ``formspec.FormSpec``: ``field`` and ``value_for_condition`` only."""

    def __init__(self, fields: list[dict[str, Any]] = FORM_FIELDS) -> None:
        self.specs = {field["key"]: _spec(field) for field in fields}
        self.keys = list(self.specs)

    def field(self, key: str) -> Any:
        return self.specs[key]

    def value_for_condition(self, data: dict[str, Any], field: str, agg: str | None = None) -> Any:
        key, _dot, column = field.partition(".")
        spec = self.specs[key]
        if agg == "sum":
            return sum((Decimal(str(row.get(column) or 0)) for row in data.get(key) or []), Decimal(0))
        value = data.get(key)
        if spec.type in ("number", "money", "computed") and value not in (None, ""):
            return Decimal(str(value))
        return value


FORM = FakeForm()
# The same form read by the forms developer's parser: both must be judged alike.
REAL_FORM: FormLike = parse_form({"fields": FORM_FIELDS})  # FormSpec is a FormLike (checked by mypy)
FORMS: list[Any] = [FORM, REAL_FORM]


def sample_definition() -> dict[str, Any]:
    """A flow with every kind of node: approval, cc, condition branches and parallel branches."""
    return {
        "initiators": [{"kind": "everyone"}],
        "settings": {
            "on_empty": "skip",
            "dedup": "consecutive",
            "self_approve": "auto",
            "return_resume": "restart",
            "withdraw": "strict",
            "admin_user_ids": [1],
        },
        "nodes": [
            {
                "id": "n1",
                "type": "approval",
                "name": "部门负责人审批",
                "approvers": {"kind": "head", "level": 1},
                "mode": "sequential",
                "time_limit_hours": 24,
                "on_timeout": "remind",
                "field_permissions": {"amount": "readonly"},
                "opinion_required": ["reject", "return"],
                "signature": False,
                "batch": False,
            },
            {"id": "c1", "type": "cc", "name": "抄送财务", "recipients": {"kind": "role", "code": "finance"}},
            {
                "id": "g1",
                "type": "condition",
                "name": "按金额",
                "branches": [
                    {
                        "id": "g1a",
                        "name": "10万元以上",
                        "priority": 1,
                        "condition": {"all": [{"field": "amount", "op": ">=", "value": "100000"}]},
                        "nodes": [
                            {
                                "id": "n2",
                                "type": "approval",
                                "name": "总经理审批",
                                "approvers": {"kind": "users", "ids": [5]},
                                "mode": "any",
                            }
                        ],
                    },
                    {"id": "g1z", "name": "其他情况", "default": True, "nodes": []},
                ],
            },
            {
                "id": "p1",
                "type": "parallel",
                "name": "会审",
                "branches": [
                    {
                        "id": "p1a",
                        "name": "法务",
                        "nodes": [
                            {
                                "id": "n3",
                                "type": "approval",
                                "name": "法务审核",
                                "approvers": {"kind": "role", "code": "legal"},
                                "mode": "any",
                            }
                        ],
                    },
                    {
                        "id": "p1b",
                        "name": "财务",
                        "nodes": [
                            {
                                "id": "n4",
                                "type": "approval",
                                "name": "财务审核",
                                "approvers": {"kind": "role", "code": "finance"},
                                "mode": "all",
                            }
                        ],
                    },
                ],
            },
        ],
    }


def approval(node_id: str = "a1", **fields: Any) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": node_id,
        "type": "approval",
        "name": "审批",
        "approvers": {"kind": "initiator"},
    }
    node.update(fields)
    return node


def flow(*nodes: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"initiators": [{"kind": "everyone"}], "nodes": list(nodes), **top}


def gateway(*branches: dict[str, Any], node_id: str = "g1") -> dict[str, Any]:
    return {"id": node_id, "type": "condition", "name": "条件", "branches": list(branches)}


def branch(
    branch_id: str, priority: int | None, condition: Any = None, *nodes: dict[str, Any]
) -> dict[str, Any]:
    result: dict[str, Any] = {"id": branch_id, "name": f"分支{branch_id}", "nodes": list(nodes)}
    if priority is None:
        result["default"] = True
    else:
        result["priority"] = priority
    if condition is not None:
        result["condition"] = condition
    return result


def default_branch(branch_id: str = "gz") -> dict[str, Any]:
    return branch(branch_id, None)


def with_condition(condition: Any) -> dict[str, Any]:
    """A flow whose one condition node tests ``condition`` in its first branch."""
    return flow(
        approval(),
        gateway(branch("ga", 1, condition, approval("a2")), default_branch()),
    )


def changed(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    definition = sample_definition()
    change(definition)
    return definition


def one_problem(definition: Any, form: Any = None, *, containing: str) -> None:
    problems = validate_definition(definition, form)
    assert len(problems) == 1, problems
    assert containing in problems[0], problems


# --------------------------------------------------------------------------- the whole


def test_the_sample_flow_is_valid_with_and_without_its_form() -> None:
    assert validate_definition(sample_definition()) == []
    for form in FORMS:
        assert validate_definition(sample_definition(), form) == []


@pytest.mark.parametrize("definition", [None, [], "nodes", 3, {"nodes": "n1"}, {}])
def test_a_definition_that_is_not_a_tree_is_one_problem_not_an_error(definition: Any) -> None:
    problems = validate_definition(definition)
    assert problems
    assert all(isinstance(problem, str) for problem in problems)


def test_an_unknown_top_level_key_is_reported() -> None:
    one_problem(changed(lambda d: d.update(version=2)), containing="version")


def test_r74_a_flow_without_any_approval_or_handle_node_is_empty() -> None:
    one_problem(
        flow({"id": "c1", "type": "cc", "name": "抄送", "recipients": {"kind": "initiator"}}),
        containing="没有任何审批或办理节点",
    )
    one_problem(flow(), containing="没有任何审批或办理节点")
    handle = {"id": "h1", "type": "handle", "name": "办理", "approvers": {"kind": "initiator"}}
    assert validate_definition(flow(handle)) == []


def test_a_task_node_inside_a_branch_makes_the_flow_non_empty() -> None:
    definition = flow(
        gateway(branch("ga", 1, {"all": [{"field": "x", "op": "empty"}]}, approval()), default_branch())
    )
    assert validate_definition(definition) == []


# --------------------------------------------------------------------------- nodes


def test_an_unknown_node_type_is_reported() -> None:
    one_problem(flow(approval(), approval("x1", type="notify")), containing="未知的节点类型“notify”")


def test_an_unknown_node_key_is_reported_and_known_ones_are_not() -> None:
    one_problem(flow(approval(approver={"kind": "initiator"})), containing="不支持的设置项“approver”")
    cc = {"id": "c1", "type": "cc", "name": "抄送", "recipients": {"kind": "initiator"}, "batch": True}
    one_problem(flow(approval(), cc), containing="“batch”")  # batch approval is for approval nodes only
    assert (
        validate_definition(
            flow(approval(batch=True, signature=True, on_empty="admin"), settings={"admin_user_ids": [1]})
        )
        == []
    )


def test_ids_are_unique_across_nodes_and_branches() -> None:
    one_problem(flow(approval("a1"), approval("a1")), containing="编号“a1”重复")
    clash = flow(
        approval("ga"), gateway(branch("ga", 1, {"all": [{"field": "x", "op": "empty"}]}), default_branch())
    )
    one_problem(clash, containing="编号“ga”重复")
    assert validate_definition(flow(approval("a1"), approval("a2"))) == []


@pytest.mark.parametrize("ident", ["1a", "a b", "a" * 33, "", None, 7, "n1\n", "节点", "_a"])
def test_an_ill_formed_id_is_reported(ident: Any) -> None:
    one_problem(flow(approval(ident)), containing="不合规")


@pytest.mark.parametrize("ident", ["a", "N1", "a" * 32, "node_1-b"])
def test_well_formed_ids_pass(ident: str) -> None:
    assert validate_definition(flow(approval(ident))) == []


@pytest.mark.parametrize("name", [None, "", "   ", 5, "长" * 65])
def test_nodes_need_a_name(name: Any) -> None:
    node = approval(name=name)
    if name is None:
        del node["name"]
    problems = validate_definition(flow(node))
    assert len(problems) == 1
    assert "名称" in problems[0]


def test_branches_need_a_name_too() -> None:
    nameless = {"id": "gz", "default": True, "nodes": []}
    one_problem(
        flow(approval(), gateway(branch("ga", 1, {"all": [{"field": "x", "op": "empty"}]}), nameless)),
        containing="名称不能为空",
    )


def test_a_node_that_is_not_an_object_is_reported() -> None:
    definition = flow(approval())
    definition["nodes"].append("n2")
    one_problem(definition, containing="第 2 个节点必须是一个对象")


# --------------------------------------------------------------------------- approvers


VALID_SPECS: list[dict[str, Any]] = [
    {"kind": "users", "ids": [5, 6]},
    {"kind": "role", "code": "finance"},
    {"kind": "position", "id": 3},
    {"kind": "head", "level": 1},
    {"kind": "head", "level": 20},
    {"kind": "heads", "up_to": 3},
    {"kind": "unit_head", "unit_id": 4},
    {"kind": "initiator_chooses", "multiple": True},
    {"kind": "initiator_chooses", "multiple": False, "among": {"kind": "role", "code": "finance"}},
    {"kind": "initiator_chooses"},
    {"kind": "form_field", "field": "owner"},
    {"kind": "initiator"},
]
INVALID_SPECS: list[Any] = [
    None,
    "head",
    {},
    {"kind": "boss"},
    {"kind": "users", "ids": []},
    {"kind": "users", "ids": [0]},
    {"kind": "users", "ids": ["5"]},
    {"kind": "users", "ids": 5},
    {"kind": "users", "ids": [True]},
    {"kind": "role"},
    {"kind": "role", "code": "财务"},
    {"kind": "role", "code": ""},
    {"kind": "position", "id": -1},
    {"kind": "head", "level": 0},
    {"kind": "head", "level": 21},
    {"kind": "head", "level": "1"},
    {"kind": "heads"},
    {"kind": "heads", "up_to": 1.5},
    {"kind": "unit_head"},
    {"kind": "initiator_chooses", "multiple": "yes"},
    {"kind": "initiator_chooses", "among": {"kind": "initiator_chooses"}},
    {"kind": "initiator_chooses", "among": {"kind": "initiator"}},
    {"kind": "initiator_chooses", "among": {"kind": "users", "ids": []}},
    {"kind": "form_field"},
    {"kind": "form_field", "field": ""},
    {"kind": "initiator", "ids": [1]},
    {"kind": "head", "level": 1, "skip_empty": True},
]


@pytest.mark.parametrize("spec", VALID_SPECS)
def test_valid_approver_specs_pass_on_approval_handle_and_cc_nodes(spec: dict[str, Any]) -> None:
    handle = {"id": "h1", "type": "handle", "name": "办理", "approvers": spec}
    cc = {"id": "c1", "type": "cc", "name": "抄送", "recipients": spec}
    assert validate_definition(flow(approval(approvers=spec), handle, cc), FORM) == []


@pytest.mark.parametrize("spec", INVALID_SPECS)
def test_invalid_approver_specs_are_reported(spec: Any) -> None:
    one_problem(flow(approval(approvers=spec)), containing="审批人")
    cc = {"id": "c1", "type": "cc", "name": "抄送", "recipients": spec}
    one_problem(flow(approval(), cc), containing="抄送人")


def test_task_nodes_need_approvers_and_cc_nodes_recipients() -> None:
    node = approval()
    del node["approvers"]
    one_problem(flow(node), containing="未设置审批人")
    handle = {"id": "h1", "type": "handle", "name": "办理"}
    one_problem(flow(approval(), handle), containing="未设置办理人")
    one_problem(flow(approval(), {"id": "c1", "type": "cc", "name": "抄送"}), containing="未设置抄送人")


def test_a_form_field_approver_must_be_a_user_or_unit_field_of_the_form() -> None:
    assert validate_definition(flow(approval(approvers={"kind": "form_field", "field": "owner"})), FORM) == []
    assert validate_definition(flow(approval(approvers={"kind": "form_field", "field": "dept"})), FORM) == []
    assert (
        validate_definition(flow(approval(approvers={"kind": "form_field", "field": "watchers"})), FORM) == []
    )
    one_problem(
        flow(approval(approvers={"kind": "form_field", "field": "title"})),
        FORM,
        containing="不是成员或部门字段",
    )
    one_problem(
        flow(approval(approvers={"kind": "form_field", "field": "boss"})), FORM, containing="没有字段“boss”"
    )
    # Without the form the field cannot be checked.
    assert validate_definition(flow(approval(approvers={"kind": "form_field", "field": "boss"}))) == []


# --------------------------------------------------------------------------- modes, limits


@pytest.mark.parametrize("mode", ["sequential", "all", "any"])
def test_valid_modes(mode: str) -> None:
    assert validate_definition(flow(approval(mode=mode))) == []


@pytest.mark.parametrize("mode", ["parallel", "", None, 1, "ALL"])
def test_invalid_modes(mode: Any) -> None:
    one_problem(flow(approval(mode=mode)), containing="方式")


@pytest.mark.parametrize("hours", [1, 24, 0.5, 8760])
def test_positive_time_limits_pass(hours: float) -> None:
    assert validate_definition(flow(approval(time_limit_hours=hours))) == []
    assert validate_definition(flow(approval(), settings={"time_limit_hours": hours})) == []


@pytest.mark.parametrize("hours", [0, -1, "24", True, None, 8761, float("nan")])
def test_time_limits_must_be_positive_hours(hours: Any) -> None:
    one_problem(flow(approval(time_limit_hours=hours)), containing="办理时限")
    one_problem(
        flow(approval(), settings={"urgent_time_limit_hours": hours}), containing="urgent_time_limit_hours"
    )


@pytest.mark.parametrize("action", ["remind", "escalate", "approve", "reject"])
def test_timeout_actions_of_approval_nodes(action: str) -> None:
    assert validate_definition(flow(approval(on_timeout=action))) == []


def test_a_handle_node_cannot_be_rejected_on_timeout_and_bad_actions_are_reported() -> None:
    handle = {"id": "h1", "type": "handle", "name": "办理", "approvers": {"kind": "initiator"}}
    assert validate_definition(flow({**handle, "on_timeout": "escalate"})) == []
    one_problem(flow({**handle, "on_timeout": "reject"}), containing="超时处理方式")
    one_problem(flow(approval(on_timeout="ignore")), containing="超时处理方式")


def test_opinion_required_names_actions_of_the_node_type() -> None:
    assert (
        validate_definition(flow(approval(opinion_required=["approve", "reject", "return", "transfer"])))
        == []
    )
    handle = {"id": "h1", "type": "handle", "name": "办理", "approvers": {"kind": "initiator"}}
    assert validate_definition(flow({**handle, "opinion_required": ["submit", "return"]})) == []
    one_problem(flow({**handle, "opinion_required": ["reject"]}), containing="必填意见")
    one_problem(flow(approval(opinion_required="reject")), containing="必填意见")


def test_flags_are_booleans() -> None:
    one_problem(flow(approval(signature="yes")), containing="signature")
    one_problem(flow(approval(batch=1)), containing="batch")


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("on_empty", "skip"),
        ("dedup", "none"),
        ("dedup", "consecutive"),
        ("self_approve", "require"),
        ("return_resume", "direct"),
        ("withdraw", "lenient"),
        ("on_timeout", "escalate"),
        ("admin_user_ids", []),
    ],
)
def test_valid_settings(key: str, value: Any) -> None:
    assert validate_definition(flow(approval(), settings={key: value})) == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("on_empty", "transfer"),
        ("dedup", "always"),
        ("self_approve", True),
        ("return_resume", None),
        ("withdraw", "never"),
        ("on_timeout", "delete"),
        ("admin_user_ids", [0]),
        ("admin_user_ids", "1"),
        ("colour", "red"),
    ],
)
def test_invalid_settings(key: str, value: Any) -> None:
    one_problem(
        flow(approval(), settings={key: value}), containing=key if key != "admin_user_ids" else "审批管理员"
    )


def test_settings_must_be_an_object() -> None:
    one_problem(flow(approval(), settings=["skip"]), containing="流程设置必须是一个对象")


def test_routing_empty_approvers_to_the_admin_needs_no_admins_in_the_json() -> None:
    # The flow's administrators may be named on the flow itself rather than in its settings.
    assert validate_definition(flow(approval(), settings={"on_empty": "admin"})) == []
    assert validate_definition(flow(approval(on_empty="admin"))) == []
    assert validate_definition(flow(approval(), settings={"on_empty": "admin", "admin_user_ids": [1]})) == []


def test_node_overrides_are_checked() -> None:
    assert validate_definition(flow(approval(self_approve="auto", on_empty="skip"))) == []
    one_problem(flow(approval(self_approve="maybe")), containing="self_approve")


# --------------------------------------------------------------------------- initiators


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "everyone"},
        {"kind": "unit", "id": 3},
        {"kind": "unit", "id": 3, "subtree": False},
        {"kind": "role", "code": "finance"},
        {"kind": "user", "id": 1},
        {"kind": "position", "id": 2},
    ],
)
def test_valid_initiator_rules(rule: dict[str, Any]) -> None:
    assert validate_definition(flow(approval(), initiators=[rule])) == []


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "all"},
        {"kind": "unit"},
        {"kind": "unit", "id": 3, "subtree": "yes"},
        {"kind": "role", "code": 5},
        {"kind": "user", "id": "1"},
        {"kind": "everyone", "id": 1},
        "everyone",
    ],
)
def test_invalid_initiator_rules(rule: Any) -> None:
    one_problem(flow(approval(), initiators=[rule]), containing="发起人范围")


def test_an_empty_initiator_list_lets_nobody_start_and_is_reported() -> None:
    one_problem(flow(approval(), initiators=[]), containing="发起人范围不能为空")
    assert validate_definition({"nodes": [approval()]}) == []  # no rule at all: everyone


# --------------------------------------------------------------------------- condition nodes


ALWAYS_EMPTY = {"all": [{"field": "x", "op": "empty"}]}


def test_a_condition_node_needs_two_branches() -> None:
    one_problem(flow(approval(), gateway(default_branch())), containing="至少需要两个分支")
    one_problem(
        flow(approval(), {"id": "g1", "type": "condition", "name": "条件"}), containing="缺少分支列表"
    )


def test_a_condition_node_needs_exactly_one_default_branch() -> None:
    one_problem(
        flow(approval(), gateway(branch("ga", 1, ALWAYS_EMPTY), branch("gb", 2, ALWAYS_EMPTY))),
        containing="缺少默认分支",
    )
    one_problem(
        flow(approval(), gateway(branch("ga", 1, ALWAYS_EMPTY), default_branch("gy"), default_branch("gz"))),
        containing="只能有一个默认分支",
    )


def test_the_default_branch_has_no_condition() -> None:
    bad = default_branch()
    bad["condition"] = ALWAYS_EMPTY
    one_problem(
        flow(approval(), gateway(branch("ga", 1, ALWAYS_EMPTY), bad)), containing="默认分支不能设置条件"
    )


def test_priorities_are_positive_and_unique_among_non_default_branches() -> None:
    valid = gateway(branch("ga", 2, ALWAYS_EMPTY), branch("gb", 1, ALWAYS_EMPTY), default_branch())
    assert validate_definition(flow(approval(), valid)) == []
    duplicate = gateway(branch("ga", 1, ALWAYS_EMPTY), branch("gb", 1, ALWAYS_EMPTY), default_branch())
    one_problem(flow(approval(), duplicate), containing="优先级 1 与其他分支重复")
    for priority in (0, "1", None, 1.0):
        bad = branch("ga", 1, ALWAYS_EMPTY)
        bad["priority"] = priority
        one_problem(flow(approval(), gateway(bad, default_branch())), containing="优先级必须是正整数")


def test_every_non_default_branch_has_a_condition() -> None:
    one_problem(
        flow(approval(), gateway(branch("ga", 1), default_branch())), containing="每个分支都要设置条件"
    )


def test_a_branch_after_an_always_true_branch_is_unreachable() -> None:
    unconditional = gateway(
        branch("ga", 1, {"all": []}, approval("a2")), branch("gb", 2, ALWAYS_EMPTY), default_branch()
    )
    one_problem(
        flow(approval(), unconditional), containing="分支「分支gb」永远不会被选中：优先级更高的分支「分支ga」"
    )
    # Priority, not list order, decides: the always-true branch last is harmless to others.
    last = gateway(branch("gb", 1, ALWAYS_EMPTY), branch("ga", 2, {"not": {"any": []}}), default_branch())
    assert validate_definition(flow(approval(), last)) == []


def test_the_default_branch_after_an_always_true_branch_runs_nothing() -> None:
    busy_default = branch("gz", None, None, approval("a3"))
    one_problem(
        flow(approval(), gateway(branch("ga", 1, {"all": []}, approval("a2")), busy_default)),
        containing="分支「分支gz」中的节点永远不会执行",
    )
    # An empty default is the placeholder every condition node has: nothing is lost.
    assert (
        validate_definition(flow(approval(), gateway(branch("ga", 1, {"all": []}), default_branch()))) == []
    )


def test_a_branch_whose_condition_is_never_true_is_unreachable() -> None:
    never = gateway(branch("ga", 1, {"any": []}, approval("a2")), default_branch())
    one_problem(flow(approval(), never), containing="它的条件永远不成立")
    one_problem(
        flow(approval(), gateway(branch("ga", 1, {"not": {"all": []}}), default_branch())),
        containing="永远不成立",
    )


def test_truth_of_condition_groups() -> None:
    leaf = {"field": "x", "op": "empty"}
    assert truth({"all": []}) is True
    assert truth({"any": []}) is False
    assert truth({"not": {"any": []}}) is True
    assert truth({"all": [leaf]}) is None
    assert truth({"any": [leaf, {"all": []}]}) is True
    assert truth({"all": [leaf, {"any": []}]}) is False
    assert truth(leaf) is None
    assert truth("x") is None


def test_unknown_branch_keys_are_reported() -> None:
    bad = branch("ga", 1, ALWAYS_EMPTY)
    bad["weight"] = 3
    one_problem(flow(approval(), gateway(bad, default_branch())), containing="“weight”")


# --------------------------------------------------------------------------- parallel nodes


def parallel(*branches: dict[str, Any]) -> dict[str, Any]:
    return {"id": "p1", "type": "parallel", "name": "会审", "branches": list(branches)}


def lane(branch_id: str, *nodes: dict[str, Any]) -> dict[str, Any]:
    return {"id": branch_id, "name": f"分支{branch_id}", "nodes": list(nodes)}


def test_r80_a_parallel_node_needs_two_non_empty_branches() -> None:
    assert validate_definition(flow(parallel(lane("pa", approval("a1")), lane("pb", approval("a2"))))) == []
    one_problem(flow(approval(), parallel(lane("pa", approval("a2")))), containing="至少需要两个分支")
    one_problem(
        flow(parallel(lane("pa", approval("a1")), lane("pb"))),
        containing="并行分支中至少要有一个节点",
    )


def test_parallel_branches_take_no_conditions() -> None:
    bad = lane("pb", approval("a2"))
    bad["condition"] = {"all": []}
    one_problem(flow(parallel(lane("pa", approval("a1")), bad)), containing="“condition”")


# --------------------------------------------------------------------------- field permissions


def test_field_permissions_refer_to_existing_fields_with_known_values() -> None:
    assert (
        validate_definition(flow(approval(field_permissions={"amount": "editable", "note": "hidden"})), FORM)
        == []
    )
    one_problem(
        flow(approval(field_permissions={"salary": "readonly"})), FORM, containing="不存在的字段“salary”"
    )
    one_problem(flow(approval(field_permissions={"amount": "write"})), containing="权限“write”无效")
    one_problem(flow(approval(field_permissions=["amount"])), containing="字段权限必须是")


def test_computed_fields_cannot_be_edited() -> None:
    one_problem(
        flow(approval(field_permissions={"total": "editable"})), FORM, containing="不能设为可编辑或必填"
    )
    assert validate_definition(flow(approval(field_permissions={"total": "hidden"})), FORM) == []


def test_cc_recipients_only_read_or_miss_fields() -> None:
    cc = {"id": "c1", "type": "cc", "name": "抄送", "recipients": {"kind": "initiator"}}
    assert (
        validate_definition(flow(approval(), {**cc, "field_permissions": {"amount": "hidden"}}), FORM) == []
    )
    one_problem(
        flow(approval(), {**cc, "field_permissions": {"amount": "editable"}}), FORM, containing="无效"
    )


# --------------------------------------------------------------------------- condition leaves


@pytest.mark.parametrize(
    "leaf",
    [
        {"field": "amount", "op": ">=", "value": "100000"},
        {"field": "amount", "op": "<", "value": 5},
        {"field": "days", "op": "between", "value": ["1", 3]},
        {"field": "amount", "op": "in", "value": ["100", "200"]},
        {"field": "total", "op": ">", "value": "0"},
        {"field": "date", "op": ">", "value": "2026-01-01"},
        {"field": "date", "op": "between", "value": ["2026-01-01", "2026-01-01"]},
        {"field": "kind", "op": "==", "value": "采购"},
        {"field": "kind", "op": "in", "value": ["采购", "维修"]},
        {"field": "kind", "op": "not_in", "value": ["维修"]},
        {"field": "tags", "op": "contains", "value": ["A"]},
        {"field": "tags", "op": "contains", "value": "B"},
        {"field": "title", "op": "==", "value": "请假"},
        {"field": "owner", "op": "in", "value": [3, 4]},
        {"field": "watchers", "op": "contains", "value": [3]},
        {"field": "dept", "op": "==", "value": 2},
        {"field": "files", "op": "not_empty"},
        {"field": "period", "op": "empty"},
        {"field": "items", "op": "not_empty"},
        {"field": "period", "op": ">", "value": 3},  # the number of days
        {"field": "reason", "op": "empty"},
        {"field": "items.subtotal", "agg": "sum", "op": ">", "value": "5000"},
        {"field": "items.qty", "agg": "sum", "op": "between", "value": [1, 10]},
        {"subject": "initiator_unit", "op": "in", "value": [1, 2]},
        {"subject": "initiator_role", "op": "not_in", "value": ["finance"]},
        {"subject": "initiator_position", "op": "in", "value": [3]},
        {"not": {"field": "amount", "op": "==", "value": "0"}},
        {"any": [{"field": "kind", "op": "==", "value": "采购"}, {"field": "amount", "op": ">", "value": 1}]},
    ],
)
@pytest.mark.parametrize("form", FORMS, ids=["fake", "formspec"])
def test_valid_condition_leaves(leaf: dict[str, Any], form: Any) -> None:
    assert validate_definition(with_condition(leaf), form) == []


@pytest.mark.parametrize(
    ("leaf", "complaint"),
    [
        ({"field": "amount", "op": "≥", "value": "1"}, "未知的比较方式"),
        ({"field": "amount", "value": "1"}, "未知的比较方式"),
        ({"field": "salary", "op": ">", "value": "1"}, "没有字段“salary”"),
        ({"field": "amount", "op": ">", "value": "lots"}, "须与数值比较"),
        ({"field": "amount", "op": ">"}, "需要一个比较值"),
        ({"field": "amount", "op": ">", "value": ["1"]}, "单独的比较值"),
        ({"field": "amount", "op": "contains", "value": "1"}, "不支持“contains”"),
        ({"field": "amount", "op": "between", "value": ["9", "1"]}, "下限不能大于上限"),
        ({"field": "amount", "op": "between", "value": ["1"]}, "两个值"),
        ({"field": "date", "op": ">", "value": "2026/01/01"}, "日期"),
        ({"field": "date", "op": "between", "value": ["2026-02-01", "2026-01-01"]}, "下限不能大于上限"),
        ({"field": "date", "op": "in", "value": ["2026-01-01"]}, "不支持“in”"),
        ({"field": "kind", "op": ">", "value": "采购"}, "不支持“>”"),
        ({"field": "kind", "op": "==", "value": "出差"}, "不是字段“kind”的选项"),
        ({"field": "kind", "op": "in", "value": []}, "非空的值列表"),
        ({"field": "tags", "op": "==", "value": "A"}, "不支持“==”"),
        ({"field": "tags", "op": "contains", "value": ["C"]}, "不是字段“tags”的选项"),
        ({"field": "watchers", "op": "in", "value": [3]}, "不支持“in”"),
        ({"field": "owner", "op": "==", "value": "张三"}, "成员或部门编号"),
        ({"field": "files", "op": "==", "value": "x"}, "不支持“==”"),
        ({"field": "period", "op": ">", "value": "2026-01-01"}, "须与数值比较"),
        ({"field": "items", "op": ">=", "value": 2}, "不支持“>=”"),
        ({"field": "note", "op": "empty"}, "不能用作条件"),
        ({"field": "title", "op": "==", "value": {"a": 1}}, "单独的比较值"),
        ({"field": "items.subtotal", "op": ">", "value": "1"}, "须按合计（sum）比较"),
        ({"field": "items.name", "agg": "sum", "op": ">", "value": "1"}, "只能对数值列求合计"),
        ({"field": "items.subtotal", "agg": "sum", "op": "empty"}, "总有一个数值"),
        ({"field": "items.tax", "agg": "sum", "op": ">", "value": "1"}, "没有字段“items.tax”"),
        ({"field": "amount", "agg": "sum", "op": ">", "value": "1"}, "只有明细表的列才能汇总"),
        ({"field": "amount", "agg": "avg", "op": ">", "value": "1"}, "未知的汇总方式"),
        (
            {"field": "amount", "subject": "initiator_unit", "op": "in", "value": [1]},
            "一个表单字段或一个发起人属性",
        ),
        ({"op": "empty"}, "一个表单字段或一个发起人属性"),
        ({"field": "", "op": "empty"}, "字段名无效"),
        ({"field": "amount", "op": ">", "value": "1", "unit": "元"}, "不支持的设置项“unit”"),
        ({"subject": "initiator_age", "op": "in", "value": [1]}, "未知的发起人属性"),
        ({"subject": "initiator_unit", "op": "==", "value": 1}, "只能用“in”或“not_in”"),
        ({"subject": "initiator_unit", "op": "in", "value": []}, "至少一个值"),
        ({"subject": "initiator_unit", "op": "in", "value": ["1"]}, "编号"),
        ({"subject": "initiator_role", "op": "in", "value": [5]}, "编码"),
        ({"all": "amount > 5"}, "必须是条件的列表"),
        ("amount > 5", "条件必须是一个对象"),
    ],
)
@pytest.mark.parametrize("form", FORMS, ids=["fake", "formspec"])
def test_invalid_condition_leaves(leaf: Any, complaint: str, form: Any) -> None:
    one_problem(with_condition(leaf), form, containing=complaint)


def test_without_a_form_only_the_shape_of_a_leaf_is_checked() -> None:
    assert validate_definition(with_condition({"field": "anything", "op": ">", "value": "1"})) == []
    one_problem(with_condition({"field": "anything", "op": "between", "value": "1"}), containing="两个值")
    one_problem(with_condition({"field": "anything", "op": "in", "value": "1"}), containing="非空的值列表")


def test_nested_conditions_are_checked_all_the_way_down() -> None:
    deep = {"all": [{"any": [{"not": {"field": "salary", "op": "empty"}}]}]}
    one_problem(with_condition(deep), FORM, containing="没有字段“salary”")


def test_too_deep_a_condition_is_reported_not_recursed_forever() -> None:
    condition: dict[str, Any] = {"field": "amount", "op": "empty"}
    for _level in range(50):
        condition = {"not": condition}
    one_problem(with_condition(condition), FORM, containing="条件嵌套过深")


def test_too_deep_a_tree_is_reported_not_recursed_forever() -> None:
    node: dict[str, Any] = approval("deep")
    for level in range(40):
        node = gateway(
            branch(f"b{level}", 1, ALWAYS_EMPTY, node), default_branch(f"d{level}"), node_id=f"g{level}"
        )
    problems = validate_definition(flow(node))
    assert any("嵌套过深" in problem for problem in problems)


def test_too_many_nodes_are_reported() -> None:
    problems = validate_definition(flow(*(approval(f"a{n}") for n in range(600))))
    assert any("流程节点过多" in problem for problem in problems)


def test_field_info_reads_object_and_dict_specs_and_table_columns() -> None:
    assert field_info(FORM, "amount").type == "money"  # type: ignore[union-attr]
    assert field_info(FORM, "items.subtotal").type == "computed"  # type: ignore[union-attr]
    assert field_info(FORM, "kind").options == ("采购", "维修")  # type: ignore[union-attr]
    assert field_info(FORM, "title.x") is None
    assert field_info(FORM, "nope") is None
    assert field_info(None, "amount") is None

    class DictForm(FakeForm):
        def field(self, key: str) -> Any:
            return {field["key"]: field for field in FORM_FIELDS}[key]

    assert field_info(DictForm(), "items.qty").type == "number"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- never raises


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)
KEYS = st.sampled_from(
    [
        "id",
        "type",
        "name",
        "nodes",
        "branches",
        "approvers",
        "recipients",
        "kind",
        "condition",
        "default",
        "priority",
        "all",
        "any",
        "not",
        "field",
        "subject",
        "op",
        "value",
        "agg",
        "field_permissions",
        "settings",
        "initiators",
        "among",
        "ids",
        "level",
    ]
)
VALUES = st.sampled_from(
    [
        "approval",
        "handle",
        "cc",
        "condition",
        "parallel",
        "users",
        "head",
        "form_field",
        "amount",
        "in",
        ">",
        "sum",
    ]
)
# JSON built from the vocabulary of definitions reaches far deeper into the validator.
SHAPED = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 30) | VALUES | st.text(max_size=4),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definition=JSON | SHAPED)
def test_validate_definition_never_raises(definition: Any) -> None:
    for form in (None, *FORMS):
        problems = validate_definition(definition, form)
        assert isinstance(problems, list)
        assert all(isinstance(problem, str) and problem for problem in problems)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.lists(st.sampled_from(["nodes", 0, 1, 2, "branches", "approvers", "condition"]), max_size=5),
    junk=SHAPED,
)
def test_a_valid_definition_with_junk_anywhere_never_raises(path: list[Any], junk: Any) -> None:
    definition: Any = sample_definition()
    target = definition
    for step in path:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            break
    if isinstance(target, dict):
        target["type" if "type" in target else "kind"] = junk
    elif isinstance(target, list):
        target.append(junk)
    problems = validate_definition(definition, FORM)
    assert all(isinstance(problem, str) for problem in problems)


# --------------------------------------------------------------------------- errors


def test_definition_error_lists_every_problem() -> None:
    error = DefinitionError.from_problems(["第一处", "第二处"])
    assert isinstance(error, DomainError)
    assert error.problems == ["第一处", "第二处"]
    assert error.details == ["第一处", "第二处"]
    assert "第一处" in error.message
    assert "第二处" in error.message
    assert DefinitionError("唯一").problems == ["唯一"]


def test_check_definition_raises_with_all_problems_and_passes_valid_ones() -> None:
    check_definition(sample_definition(), FORM)
    with pytest.raises(DefinitionError) as raised:
        check_definition(flow(approval(mode="x"), approval(mode="y", id="a2")))
    assert len(raised.value.problems) == 2


# --------------------------------------------------------------------------- navigation


def test_node_index_gives_path_sequence_and_position() -> None:
    index = node_index(sample_definition())
    assert list(index) == ["n1", "c1", "g1", "n2", "p1", "n3", "n4"]
    assert index["n1"] == NodeRef(index["n1"].node, (), ["n1", "c1", "g1", "p1"], 0)
    assert index["p1"].position == 3
    assert index["n2"].path == ("g1", "g1a")
    assert index["n2"].sequence == ["n2"]
    assert index["n4"].path == ("p1", "p1b")
    assert index["n4"].branch_id == "p1b"
    assert index["n1"].branch_id is None
    assert index["n3"].node["name"] == "法务审核"
    assert index["g1"].type == "condition"
    assert index["g1"].id == "g1"


def test_node_index_keeps_the_definitions_own_dicts() -> None:
    definition = sample_definition()
    assert node_index(definition)["n1"].node is definition["nodes"][0]


def test_navigation_helpers() -> None:
    definition = sample_definition()
    index = node_index(definition)
    assert next_in_sequence(index, "n1") == "c1"
    assert next_in_sequence(index, "g1") == "p1"
    assert next_in_sequence(index, "p1") is None
    assert next_in_sequence(index, "n2") is None
    assert enclosing(index, "n1") is None
    assert enclosing(index, "n2") is index["g1"]
    assert enclosing(index, "n4") is index["p1"]
    g1 = definition["nodes"][2]
    assert first_of(g1["branches"][0]) == "n2"
    assert first_of(g1["branches"][1]) is None
    assert first_of(definition) == "n1"
    assert branch_of(index, "n3") is definition["nodes"][3]["branches"][0]
    assert branch_of(index, "n1") is None
    assert [node["id"] for node in iter_nodes(definition)] == ["n1", "c1", "g1", "n2", "p1", "n3", "n4"]


def test_node_index_of_nested_branches() -> None:
    inner = gateway(
        branch("ia", 1, ALWAYS_EMPTY, approval("x1"), approval("x2")), default_branch("iz"), node_id="g2"
    )
    definition = flow(approval(), parallel(lane("pa", inner, approval("y1")), lane("pb", approval("z1"))))
    index = node_index(definition)
    assert index["x2"].path == ("p1", "pa", "g2", "ia")
    assert index["x2"].sequence == ["x1", "x2"]
    assert enclosing(index, "x2") is index["g2"]
    assert enclosing(index, "g2") is index["p1"]
    assert next_in_sequence(index, "g2") == "y1"


def test_node_index_refuses_duplicate_or_missing_ids() -> None:
    with pytest.raises(DefinitionError):
        node_index(flow(approval("a1"), approval("a1")))
    with pytest.raises(DefinitionError):
        node_index(flow(approval("ga"), gateway(branch("ga", 1, ALWAYS_EMPTY), default_branch())))
    nameless = approval()
    del nameless["id"]
    with pytest.raises(DefinitionError):
        node_index(flow(nameless))


def test_setting_prefers_the_node_then_the_flow_then_the_default() -> None:
    definition = flow(
        approval(), settings={"on_empty": "admin", "admin_user_ids": [1], "time_limit_hours": 48}
    )
    node = approval(on_empty="skip", time_limit_hours=8)
    assert setting(definition, "on_empty", node) == "skip"
    assert setting(definition, "on_empty") == "admin"
    assert setting(definition, "time_limit_hours", approval()) == 48
    assert setting(definition, "time_limit_hours", node) == 8
    assert setting(definition, "withdraw", node) == DEFAULTS["withdraw"] == "strict"
    assert setting(definition, "mode", approval()) == "sequential"
    assert setting(definition, "dedup", {"dedup": "consecutive"}) == "none"  # not a node override
