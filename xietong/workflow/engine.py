"""The decisions of the approval engine, as pure functions over small in-memory values.

Nothing here reads or writes the database: ``services`` loads the few rows of one instance,
asks these functions what follows, and applies the answer. That keeps the rules of §4 of the
domain notes (依次 / 会签 / 或签, 加签, 转交, 退回, 去重, 审批人为空 …) testable on their own.

The flow is a tree (``definition.node_index``): a sequence of nodes, where a condition or
parallel node holds branches with sequences of their own. Navigation answers "what comes
after this node" with a ``Step``: enter a node, finish a branch of a branch node, or finish
the flow.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from xietong.workflow import definition

# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """The settings that apply to one node (the flow's, overridden by the node's own where a
    node may override them; defaults from ``definition.DEFAULTS``)."""

    on_empty: str = "skip"
    dedup: str = "none"
    self_approve: str = "require"
    return_resume: str = "restart"
    withdraw: str = "strict"
    admin_user_ids: tuple[int, ...] = ()
    on_timeout: str = "remind"
    time_limit_hours: float = 24
    urgent_time_limit_hours: float = 4


def settings_for(flow: Mapping[str, Any], node: Mapping[str, Any] | None = None) -> Settings:
    def get(key: str) -> Any:
        return definition.setting(flow, key, node)

    return Settings(
        on_empty=str(get("on_empty")),
        dedup=str(get("dedup")),
        self_approve=str(get("self_approve")),
        return_resume=str(get("return_resume")),
        withdraw=str(get("withdraw")),
        admin_user_ids=tuple(int(pk) for pk in get("admin_user_ids") or ()),
        on_timeout=str(get("on_timeout")),
        time_limit_hours=float(get("time_limit_hours")),
        urgent_time_limit_hours=float(get("urgent_time_limit_hours")),
    )


def time_limit_hours(settings: Settings, *, urgent: bool) -> float:
    """A node's time limit (24 h by default, R-76); for 急办 no more than the urgent limit (R-65)."""
    hours = settings.time_limit_hours
    return min(hours, settings.urgent_time_limit_hours) if urgent else hours


def opinion_required(node: Mapping[str, Any], action: str) -> bool:
    """Does the node require an opinion for ``action``? Actions as ``definition.OPINION_ACTIONS``
    names them: approve / reject / return / transfer, and on 办理 nodes "submit" for approve."""
    if node.get("type") == "handle" and action == "approve":
        action = "submit"
    return action in (node.get("opinion_required") or ())


# --------------------------------------------------------------------------- navigation


class NodeRefLike(Protocol):
    """What navigation needs of ``definition.NodeRef``."""

    @property
    def node(self) -> dict[str, Any]: ...
    @property
    def path(self) -> tuple[str, ...]: ...
    @property
    def sequence(self) -> list[str]: ...
    @property
    def position(self) -> int: ...


Index = Mapping[str, NodeRefLike]


@dataclass(frozen=True)
class Enter:
    """Enter the node ``node_id``."""

    node_id: str


@dataclass(frozen=True)
class BranchDone:
    """The branch ``branch_id`` of the branch node ``node_id`` has run to its end."""

    node_id: str
    branch_id: str


@dataclass(frozen=True)
class Finish:
    """The top-level sequence has run to its end: the request is approved."""


Step = Enter | BranchDone | Finish

#: Node types that hold work items a person acts on.
TASK_TYPES = frozenset({"approval", "handle"})
BRANCH_TYPES = frozenset({"condition", "parallel"})


def first_step(flow: Mapping[str, Any]) -> Step:
    nodes = flow.get("nodes") or []
    return Enter(nodes[0]["id"]) if nodes else Finish()


def step_after(index: Index, node_id: str) -> Step:
    """What follows when the node ``node_id`` has completed."""
    ref = index[node_id]
    if ref.position + 1 < len(ref.sequence):
        return Enter(ref.sequence[ref.position + 1])
    if not ref.path:
        return Finish()
    return BranchDone(ref.path[-2], ref.path[-1])


def branch(node: Mapping[str, Any], branch_id: str) -> dict[str, Any]:
    for candidate in node.get("branches") or ():
        if candidate["id"] == branch_id:
            return dict(candidate)
    raise KeyError(f"node {node.get('id')!r} has no branch {branch_id!r}")


def branch_entry(node: Mapping[str, Any], branch_id: str) -> Step:
    """The first step of a branch: its first node, or at once its end when it is empty."""
    nodes = branch(node, branch_id).get("nodes") or []
    return Enter(nodes[0]["id"]) if nodes else BranchDone(str(node["id"]), branch_id)


def branch_ids(node: Mapping[str, Any]) -> list[str]:
    return [str(candidate["id"]) for candidate in node.get("branches") or ()]


def join_complete(node: Mapping[str, Any], done: Collection[str]) -> bool:
    """Has every branch of the parallel ``node`` run to its end?"""
    return all(branch_id in done for branch_id in branch_ids(node))


def ancestors(index: Index, node_id: str) -> list[tuple[str, str]]:
    """The (branch node, branch) pairs that enclose ``node_id``, outermost first."""
    path = index[node_id].path
    return [(path[i], path[i + 1]) for i in range(0, len(path) - 1, 2)]


def document_order(flow: Mapping[str, Any]) -> list[str]:
    """Every node id, in the order a reader of the tree meets them (branches in turn)."""
    found: list[str] = []

    def walk(nodes: Iterable[Mapping[str, Any]]) -> None:
        for node in nodes:
            found.append(str(node["id"]))
            for candidate in node.get("branches") or ():
                walk(candidate.get("nodes") or ())

    walk(flow.get("nodes") or ())
    return found


def return_targets(
    flow: Mapping[str, Any], index: Index, current_node_id: str, run_node_ids: Collection[str]
) -> list[str]:
    """The nodes a step may be returned to (退回至已审批节点): approval and handling nodes
    that ran in the current round and come before ``current_node_id`` in the tree."""
    order = document_order(flow)
    position = {node_id: i for i, node_id in enumerate(order)}
    here = position[current_node_id]
    return [
        node_id
        for node_id in order
        if node_id in run_node_ids
        and position[node_id] < here
        and index[node_id].node.get("type") in TASK_TYPES
    ]


# --------------------------------------------------------------------------- approvers


@dataclass(frozen=True)
class Planned:
    """One approver of a node, and why they are approved without acting (if they are)."""

    user_id: int
    #: "" (must act), "self" (the initiator approving their own request), "dedup".
    auto: str = ""


@dataclass(frozen=True)
class Plan:
    assignees: tuple[Planned, ...] = ()
    #: "admin" when nobody was found and the node went to the flow's administrators.
    via: str = ""

    @property
    def empty(self) -> bool:
        """Nobody to ask: the node is skipped (审批人为空 → 自动跳过)."""
        return not self.assignees


def plan_assignees(
    resolved: Sequence[int],
    *,
    node_type: str,
    initiator_id: int,
    settings: Settings,
    dedup_ok: Collection[int] = (),
    admin_ids: Sequence[int] = (),
    mode: str = "sequential",
) -> Plan:
    """Who acts on a node just entered, from the approvers ``resolve_approvers`` found.

    Nobody found: per ``on_empty``, the node is skipped or goes to the administrators. On an
    approval node the initiator approves their own request automatically (``self_approve``
    "auto"), and so does someone who approved the step just before with the same data
    (``dedup_ok``, see ``dedup_people``). People reached through the administrator fallback
    are never approved automatically (§4.1 去重 (d)); neither are handlers of a 办理 node,
    whose task is work and not a vote. On a 或签 node (``mode`` "any") the first automatic
    approval decides the step alone: the others are not asked at all.
    """
    people = list(dict.fromkeys(resolved))
    via = ""
    if not people:
        if settings.on_empty == "admin" and admin_ids:
            people, via = list(dict.fromkeys(admin_ids)), "admin"
        else:
            return Plan()
    planned: list[Planned] = []
    for user_id in people:
        auto = ""
        if node_type == "approval" and via != "admin":
            if user_id == initiator_id and settings.self_approve == "auto":
                auto = "self"
            elif user_id in dedup_ok:
                auto = "dedup"
        planned.append(Planned(user_id, auto))
    decided = next((entry for entry in planned if entry.auto), None)
    if mode == "any" and decided is not None:
        return Plan((decided,), via)
    return Plan(tuple(planned), via)


@dataclass(frozen=True)
class PastApproval:
    """One item of the step that ran just before, as de-duplication sees it."""

    user_id: int
    state: str
    auto_reason: str = ""
    via: str = ""
    data_hash: str = ""


def dedup_allowed(
    *,
    settings: Settings,
    previous_node: Mapping[str, Any] | None,
    node: Mapping[str, Any],
    blocked: bool,
) -> bool:
    """May approvals of the step just before count for ``node`` (自动去重, consecutive)?

    Not when the flow says "none", when 转交 / 加签 / 退回 happened in this round
    (``blocked``), when either step is not an approval, or when the two steps show the
    fields differently (§4.1 去重 (b))."""
    if settings.dedup != "consecutive" or blocked or previous_node is None:
        return False
    if previous_node.get("type") != "approval" or node.get("type") != "approval":
        return False
    return (previous_node.get("field_permissions") or {}) == (node.get("field_permissions") or {})


def dedup_people(previous: Iterable[PastApproval], data_hash: str) -> set[int]:
    """Who approved the previous step, by their own hand or by de-duplication, with the data
    exactly as it is now — never through the administrator fallback or 加签/转交."""
    return {
        item.user_id
        for item in previous
        if item.via == ""
        and item.data_hash == data_hash
        and (item.state == "approved" or (item.state == "auto_approved" and item.auto_reason == "dedup"))
    }


# --------------------------------------------------------------------------- node completion

ACTIVE = frozenset({"pending", "added_wait"})
APPROVED = frozenset({"approved", "auto_approved"})
REPLACED = frozenset({"transferred", "cancelled"})


@dataclass(frozen=True)
class ItemFact:
    """One work item of an approval or handling step, as completion sees it."""

    id: int
    state: str
    order: int = 0
    #: The item that added this one (加签); None for the node's own approvers.
    anchor_id: int | None = None


@dataclass(frozen=True)
class Evaluation:
    outcome: Literal["pending", "passed", "rejected"]
    #: Sequential nodes: the place of the approver whose item opens now.
    open_order: int | None = None
    #: 前加签 items whose added people have all approved: back to their holder.
    resume: tuple[int, ...] = ()
    #: Items no longer needed (the other holders of a 或签 node after the first approval).
    cancel: tuple[int, ...] = ()


def _anchored_closure(items: Sequence[ItemFact], roots: set[int]) -> set[int]:
    """``roots`` and every item added, directly or not, by one of them."""
    found = set(roots)
    changed = True
    while changed:
        changed = False
        for item in items:
            if item.anchor_id in found and item.id not in found:
                found.add(item.id)
                changed = True
    return found


def evaluate(mode: str, planned: int, items: Sequence[ItemFact]) -> Evaluation:
    """Where a step stands after a change to its items (§4.2 node completion).

    ``mode`` is "sequential" (依次: the ``planned`` approvers in turn), "all" (会签) or "any"
    (或签: the first approval decides, the other holders' items are cancelled). People added
    by 加签 form a 会签 group on top: the step passes only when all of them approved too, and
    a 前加签 holder gets their item back once their group has approved. Any rejection
    rejects the step (and with it the request).
    """
    if any(item.state == "rejected" for item in items):
        return Evaluation("rejected")
    base = [item for item in items if item.anchor_id is None and item.state not in REPLACED]
    cancel: set[int] = set()
    if mode == "any" and any(item.state in APPROVED for item in base):
        waiting = {item.id for item in base if item.state in ACTIVE}
        cancel = {
            item.id
            for item in items
            if item.id in _anchored_closure(items, waiting) and item.state not in REPLACED | APPROVED
        }
    states = {item.id: item.state for item in items if item.id not in cancel}
    live = [item for item in items if item.id in states]
    # 前加签: resume each holder whose added group is complete (inner groups first).
    resume: list[int] = []
    changed = True
    while changed:
        changed = False
        for item in live:
            if states[item.id] != "added_wait":
                continue
            group = [j for j in live if j.anchor_id == item.id and states[j.id] not in REPLACED]
            if all(states[j.id] in APPROVED for j in group):
                states[item.id] = "pending"
                resume.append(item.id)
                changed = True
    outstanding_added = any(item.anchor_id is not None and states[item.id] in ACTIVE for item in live)
    live_base = [item for item in live if item.anchor_id is None and states[item.id] not in REPLACED]
    active_base = any(states[item.id] in ACTIVE for item in live_base)
    approved_base = [item for item in live_base if states[item.id] in APPROVED]
    done = (tuple(sorted(resume)), tuple(sorted(cancel)))
    if active_base or outstanding_added:
        return Evaluation("pending", None, *done)
    if mode == "sequential":
        approved_orders = {item.order for item in approved_base}
        missing = [order for order in range(planned) if order not in approved_orders]
        if missing:
            return Evaluation("pending", missing[0], *done)
        return Evaluation("passed", None, *done)
    if mode == "any":
        return Evaluation("passed" if approved_base else "pending", None, *done)
    # 会签: every approver of the node approved (none is still active, see above).
    return Evaluation("passed" if approved_base else "pending", None, *done)


# --------------------------------------------------------------------------- initiator's actions


def withdraw_refusal(*, mode: str, state: str, someone_acted: bool) -> str | None:
    """Why the initiator may not withdraw now (a code), or None.

    "returned" requests may always be given up; running ones in the "strict" mode only while
    no approver has acted in this round (§4.1 撤回)."""
    if state == "returned":
        return None
    if state != "running":
        return "finished"
    if mode == "strict" and someone_acted:
        return "acted"
    return None


URGE_INTERVAL = dt.timedelta(hours=1)


def next_urge_at(last: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
    """催办 at most once an hour per request: when the next one is allowed, or None if now."""
    if last is None or now - last >= URGE_INTERVAL:
        return None
    return last + URGE_INTERVAL


#: 撤销: for how many days after approval the initiator may still revoke by themselves.
REVOKE_DAYS = 7


def revoke_deadline(finished_at: dt.datetime, days: int = REVOKE_DAYS) -> dt.datetime:
    """Until when the initiator may revoke (撤销) an approved request."""
    return finished_at + dt.timedelta(days=days)


# --------------------------------------------------------------------------- data


def data_hash(data: Mapping[str, Any]) -> str:
    """A stable digest of form data: the same content gives the same hash whatever the key order."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
