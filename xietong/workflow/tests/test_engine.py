"""The engine's pure decisions: navigation of the tree, who acts on a node, node completion
(依次 / 会签 / 或签 with 加签 and 转交), and the initiator's limits. No database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from xietong.workflow import engine
from xietong.workflow.definition import node_index
from xietong.workflow.engine import BranchDone, Enter, Finish, ItemFact, Settings

FLOW: dict[str, Any] = {
    "settings": {"dedup": "consecutive", "self_approve": "auto"},
    "nodes": [
        {"id": "n1", "type": "approval", "name": "部门", "approvers": {"kind": "head", "level": 1}},
        {"id": "c1", "type": "cc", "name": "抄送", "recipients": {"kind": "users", "ids": [9]}},
        {
            "id": "g1",
            "type": "condition",
            "name": "按金额",
            "branches": [
                {
                    "id": "g1a",
                    "name": "大额",
                    "priority": 1,
                    "condition": {"all": [{"field": "amount", "op": ">=", "value": "100000"}]},
                    "nodes": [
                        {
                            "id": "n2",
                            "type": "approval",
                            "name": "总经理",
                            "approvers": {"kind": "users", "ids": [5]},
                        }
                    ],
                },
                {"id": "g1z", "name": "其他", "default": True, "nodes": []},
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
                            "name": "法务",
                            "approvers": {"kind": "users", "ids": [3]},
                        },
                        {
                            "id": "n3b",
                            "type": "handle",
                            "name": "法务办理",
                            "approvers": {"kind": "users", "ids": [3]},
                        },
                    ],
                },
                {
                    "id": "p1b",
                    "name": "财务",
                    "nodes": [
                        {
                            "id": "n4",
                            "type": "approval",
                            "name": "财务",
                            "approvers": {"kind": "users", "ids": [4]},
                        }
                    ],
                },
            ],
        },
        {"id": "n5", "type": "approval", "name": "分管领导", "approvers": {"kind": "users", "ids": [6]}},
    ],
}
INDEX = node_index(FLOW)


# --------------------------------------------------------------------------- settings


def test_settings_defaults_and_node_overrides() -> None:
    assert engine.settings_for({"nodes": []}) == Settings()
    flow = {"settings": {"on_empty": "admin", "admin_user_ids": [1, 2], "dedup": "consecutive"}}
    node = {"id": "n1", "type": "approval", "on_empty": "skip", "self_approve": "auto", "time_limit_hours": 8}
    settings = engine.settings_for(flow, node)
    assert settings.on_empty == "skip"
    assert settings.self_approve == "auto"
    assert settings.dedup == "consecutive"
    assert settings.admin_user_ids == (1, 2)
    assert settings.time_limit_hours == 8
    assert engine.settings_for(flow).on_empty == "admin"


def test_r65_urgent_requests_get_the_shorter_limit() -> None:
    settings = Settings(time_limit_hours=24, urgent_time_limit_hours=4)
    assert engine.time_limit_hours(settings, urgent=False) == 24
    assert engine.time_limit_hours(settings, urgent=True) == 4
    assert engine.time_limit_hours(Settings(time_limit_hours=2), urgent=True) == 2


def test_opinion_required_per_action_and_submit_on_handle_nodes() -> None:
    node = {"type": "approval", "opinion_required": ["reject", "return"]}
    assert engine.opinion_required(node, "reject")
    assert not engine.opinion_required(node, "approve")
    assert engine.opinion_required({"type": "handle", "opinion_required": ["submit"]}, "approve")
    assert not engine.opinion_required({"type": "approval"}, "reject")


# --------------------------------------------------------------------------- navigation


def test_steps_through_the_tree() -> None:
    assert engine.first_step(FLOW) == Enter("n1")
    assert engine.first_step({"nodes": []}) == Finish()
    assert engine.step_after(INDEX, "n1") == Enter("c1")
    assert engine.step_after(INDEX, "n2") == BranchDone("g1", "g1a")
    assert engine.step_after(INDEX, "g1") == Enter("p1")
    assert engine.step_after(INDEX, "n3") == Enter("n3b")
    assert engine.step_after(INDEX, "n3b") == BranchDone("p1", "p1a")
    assert engine.step_after(INDEX, "n4") == BranchDone("p1", "p1b")
    assert engine.step_after(INDEX, "n5") == Finish()


def test_branch_entry_of_an_empty_branch_is_its_end() -> None:
    g1 = INDEX["g1"].node
    assert engine.branch_entry(g1, "g1a") == Enter("n2")
    assert engine.branch_entry(g1, "g1z") == BranchDone("g1", "g1z")
    with pytest.raises(KeyError):
        engine.branch_entry(g1, "nope")


def test_parallel_join_waits_for_every_branch() -> None:
    p1 = INDEX["p1"].node
    assert engine.branch_ids(p1) == ["p1a", "p1b"]
    assert not engine.join_complete(p1, ["p1a"])
    assert engine.join_complete(p1, ["p1b", "p1a"])


def test_ancestors_and_document_order() -> None:
    assert engine.ancestors(INDEX, "n3b") == [("p1", "p1a")]
    assert engine.ancestors(INDEX, "n1") == []
    assert engine.document_order(FLOW) == ["n1", "c1", "g1", "n2", "p1", "n3", "n3b", "n4", "n5"]


def test_return_targets_are_earlier_task_nodes_that_ran() -> None:
    ran = {"n1", "c1", "n3", "n4", "n5"}
    assert engine.return_targets(FLOW, INDEX, "n5", ran) == ["n1", "n3", "n4"]
    # A node that ran but comes later in the tree is no return target (it ran before a 退回).
    assert engine.return_targets(FLOW, INDEX, "n3", ran) == ["n1"]
    assert engine.return_targets(FLOW, INDEX, "n1", ran) == []


# --------------------------------------------------------------------------- approvers


def plan(resolved: list[int], **kwargs: Any) -> engine.Plan:
    options: dict[str, Any] = {"node_type": "approval", "initiator_id": 1, "settings": Settings()}
    options.update(kwargs)
    return engine.plan_assignees(resolved, **options)


def test_empty_approver_skips_or_goes_to_the_administrators() -> None:
    assert plan([]).empty
    assert plan([], settings=Settings(on_empty="admin"), admin_ids=[]).empty
    fallback = plan(
        [], settings=Settings(on_empty="admin", self_approve="auto"), admin_ids=[1, 7, 7], dedup_ok={7}
    )
    assert fallback.via == "admin"
    # Nobody reached through the fallback is approved automatically, not even the initiator.
    assert fallback.assignees == (engine.Planned(1), engine.Planned(7))


def test_self_approval_and_dedup_are_automatic_only_on_approval_nodes() -> None:
    settings = Settings(self_approve="auto")
    assert plan([2, 1, 3, 2], settings=settings, dedup_ok={3}).assignees == (
        engine.Planned(2),
        engine.Planned(1, "self"),
        engine.Planned(3, "dedup"),
    )
    assert plan([1], settings=Settings(self_approve="require")).assignees == (engine.Planned(1),)
    assert plan([1, 3], node_type="handle", settings=settings, dedup_ok={3}).assignees == (
        engine.Planned(1),
        engine.Planned(3),
    )


def test_one_automatic_approval_decides_an_any_step_alone() -> None:
    # 或签 after a 并行 whose two branches each had one of its approvers: both would be
    # approved again automatically; the first decides, the other is not asked.
    settings = Settings(self_approve="auto", dedup="consecutive")
    assert plan([2, 1, 3], settings=settings, dedup_ok={3}, mode="any").assignees == (
        engine.Planned(1, "self"),
    )
    assert plan([2, 3], settings=settings, mode="any").assignees == (engine.Planned(2), engine.Planned(3))
    assert len(plan([1, 3], settings=settings, dedup_ok={3}, mode="all").assignees) == 2


def test_dedup_only_between_consecutive_approvals_shown_alike() -> None:
    on = Settings(dedup="consecutive")
    a = {"type": "approval", "field_permissions": {"amount": "readonly"}}
    b = {"type": "approval", "field_permissions": {"amount": "readonly"}}
    assert engine.dedup_allowed(settings=on, previous_node=a, node=b, blocked=False)
    assert not engine.dedup_allowed(settings=Settings(dedup="none"), previous_node=a, node=b, blocked=False)
    assert not engine.dedup_allowed(settings=on, previous_node=a, node=b, blocked=True)
    assert not engine.dedup_allowed(settings=on, previous_node=None, node=b, blocked=False)
    assert not engine.dedup_allowed(settings=on, previous_node={"type": "handle"}, node=b, blocked=False)
    assert not engine.dedup_allowed(
        settings=on,
        previous_node=a,
        node={"type": "approval", "field_permissions": {"amount": "editable"}},
        blocked=False,
    )


def test_dedup_people_approved_the_same_data_by_their_own_hand() -> None:
    past = [
        engine.PastApproval(1, "approved", data_hash="h"),
        engine.PastApproval(2, "approved", data_hash="old"),
        engine.PastApproval(3, "auto_approved", "dedup", data_hash="h"),
        engine.PastApproval(4, "auto_approved", "self", data_hash="h"),
        engine.PastApproval(5, "approved", via="admin", data_hash="h"),
        engine.PastApproval(6, "cancelled", data_hash="h"),
        engine.PastApproval(7, "approved", via="added", data_hash="h"),
    ]
    assert engine.dedup_people(past, "h") == {1, 3}


# --------------------------------------------------------------------------- node completion


def test_sequential_opens_approvers_in_turn() -> None:
    assert engine.evaluate("sequential", 3, []) == engine.Evaluation("pending", 0)
    assert engine.evaluate("sequential", 3, [ItemFact(1, "pending", 0)]) == engine.Evaluation("pending")
    assert engine.evaluate("sequential", 3, [ItemFact(1, "approved", 0)]) == engine.Evaluation("pending", 1)
    two = [ItemFact(1, "approved", 0), ItemFact(2, "auto_approved", 1)]
    assert engine.evaluate("sequential", 3, two) == engine.Evaluation("pending", 2)
    three = [*two, ItemFact(3, "approved", 2)]
    assert engine.evaluate("sequential", 3, three).outcome == "passed"


def test_all_needs_every_approval_and_fails_on_the_first_rejection() -> None:
    items = [ItemFact(1, "approved"), ItemFact(2, "pending", 1)]
    assert engine.evaluate("all", 2, items).outcome == "pending"
    assert (
        engine.evaluate("all", 2, [ItemFact(1, "approved"), ItemFact(2, "approved", 1)]).outcome == "passed"
    )
    assert (
        engine.evaluate("all", 2, [ItemFact(1, "approved"), ItemFact(2, "rejected", 1)]).outcome == "rejected"
    )


def test_any_passes_on_the_first_approval_and_cancels_the_others() -> None:
    items = [ItemFact(1, "pending"), ItemFact(2, "approved", 1), ItemFact(3, "pending", 2)]
    assert engine.evaluate("any", 3, items) == engine.Evaluation("passed", None, (), (1, 3))
    assert engine.evaluate("any", 3, [ItemFact(1, "pending"), ItemFact(2, "pending", 1)]).outcome == "pending"
    assert (
        engine.evaluate("any", 2, [ItemFact(1, "rejected"), ItemFact(2, "pending", 1)]).outcome == "rejected"
    )


def test_transferred_items_are_replaced_by_their_successor() -> None:
    items = [ItemFact(1, "transferred", 0), ItemFact(2, "pending", 0)]
    assert engine.evaluate("sequential", 2, items).outcome == "pending"
    items = [ItemFact(1, "transferred", 0), ItemFact(2, "approved", 0)]
    assert engine.evaluate("sequential", 2, items) == engine.Evaluation("pending", 1)
    assert engine.evaluate("all", 1, items).outcome == "passed"


def test_add_sign_before_returns_the_item_to_its_holder() -> None:
    waiting = [
        ItemFact(1, "added_wait"),
        ItemFact(2, "pending", 0, anchor_id=1),
        ItemFact(3, "approved", 0, anchor_id=1),
    ]
    assert engine.evaluate("sequential", 1, waiting).outcome == "pending"
    done = [
        ItemFact(1, "added_wait"),
        ItemFact(2, "approved", 0, anchor_id=1),
        ItemFact(3, "approved", 0, anchor_id=1),
    ]
    assert engine.evaluate("sequential", 1, done) == engine.Evaluation("pending", None, (1,), ())


def test_add_sign_after_and_parallel_hold_the_node_until_the_added_approve() -> None:
    after = [ItemFact(1, "approved"), ItemFact(2, "pending", 0, anchor_id=1)]
    assert engine.evaluate("any", 1, after).outcome == "pending"
    assert engine.evaluate("sequential", 2, after) == engine.Evaluation("pending")
    parallel = [ItemFact(1, "pending"), ItemFact(2, "approved", 0, anchor_id=1)]
    assert engine.evaluate("all", 1, parallel).outcome == "pending"
    both = [ItemFact(1, "approved"), ItemFact(2, "approved", 0, anchor_id=1)]
    assert engine.evaluate("all", 1, both).outcome == "passed"


def test_any_cancels_the_added_people_of_the_other_holders() -> None:
    items = [
        ItemFact(1, "added_wait"),
        ItemFact(2, "pending", 0, anchor_id=1),
        ItemFact(3, "pending", 0, anchor_id=2),
        ItemFact(4, "approved", 1),
    ]
    assert engine.evaluate("any", 2, items) == engine.Evaluation("passed", None, (), (1, 2, 3))


def test_nested_add_sign_before_resumes_inner_first() -> None:
    items = [
        ItemFact(1, "added_wait"),
        ItemFact(2, "added_wait", 0, anchor_id=1),
        ItemFact(3, "approved", 0, anchor_id=2),
    ]
    assert engine.evaluate("sequential", 1, items) == engine.Evaluation("pending", None, (2,), ())


# --------------------------------------------------------------------------- the initiator's limits


def test_r77_withdraw_rules() -> None:
    assert engine.withdraw_refusal(mode="strict", state="running", someone_acted=False) is None
    assert engine.withdraw_refusal(mode="strict", state="running", someone_acted=True) == "acted"
    assert engine.withdraw_refusal(mode="lenient", state="running", someone_acted=True) is None
    assert engine.withdraw_refusal(mode="strict", state="returned", someone_acted=True) is None
    assert engine.withdraw_refusal(mode="lenient", state="approved", someone_acted=False) == "finished"


def test_urge_at_most_once_an_hour() -> None:
    now = dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC)
    assert engine.next_urge_at(None, now) is None
    assert engine.next_urge_at(now - dt.timedelta(minutes=61), now) is None
    assert engine.next_urge_at(now - dt.timedelta(minutes=20), now) == now + dt.timedelta(minutes=40)


def test_revoke_deadline() -> None:
    finished = dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC)
    assert engine.revoke_deadline(finished) == finished + dt.timedelta(days=engine.REVOKE_DAYS)


def test_data_hash_ignores_key_order_but_not_values() -> None:
    assert engine.data_hash({"a": 1, "b": [1, 2]}) == engine.data_hash({"b": [1, 2], "a": 1})
    assert engine.data_hash({"a": 1}) != engine.data_hash({"a": 2})
    assert engine.data_hash({"t": "中文"}) == engine.data_hash({"t": "中文"})
