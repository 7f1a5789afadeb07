"""Property-based, stateful tests of the approval engine (hypothesis).

Random valid flows — small trees of 依次 / 会签 / 或签 approval and 办理 nodes, 抄送 nodes, a
condition node and a parallel node, with random settings — and random sequences of actions by
random people (the holders, and others who must be refused). After every step:

* a request ends exactly once, and a finished one has no pending step or item;
* every pending item belongs to an active step, and a running request always waits for someone;
* the log is append-only: what was written stays as it was, and it only grows;
* a refused action changes nothing, and an action sent again changes nothing;
* an approved request passed every node of the path it took.

Each example runs in a transaction of its own that is rolled back at its end.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.fixtures import make_user
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.identity.models import User
from xietong.workflow import services
from xietong.workflow.definition import node_index, validate_definition
from xietong.workflow.formspec import parse_form
from xietong.workflow.models import FINAL_STATES, Action, Activation, Instance, InstanceState, WorkItem
from xietong.workflow.tests.conftest import FORM, People, publish, rid

#: Approvers are drawn from five people (0 is the initiator, 5 an inactive account).
POOL = 6
INACTIVE = 5
ACTIVE_ITEMS = (WorkItem.State.PENDING, WorkItem.State.ADDED_WAIT)


@st.composite
def routes(draw: st.DrawFn) -> dict[str, Any]:
    """A small flow tree whose approvers are pool positions (``People`` maps them to ids)."""
    counter = itertools.count(1)

    def task() -> dict[str, Any]:
        number = next(counter)
        people = draw(st.lists(st.integers(0, POOL - 1), min_size=1, max_size=3, unique=True))
        return {
            "id": f"n{number}",
            "type": draw(st.sampled_from(["approval", "approval", "approval", "handle"])),
            "name": f"节点{number}",
            "approvers": {"kind": "users", "ids": people},
            "mode": draw(st.sampled_from(["sequential", "all", "any"])),
        }

    def cc() -> dict[str, Any]:
        number = next(counter)
        return {
            "id": f"c{number}",
            "type": "cc",
            "name": f"抄送{number}",
            "recipients": {"kind": "users", "ids": [draw(st.integers(1, POOL - 2))]},
        }

    def branch_nodes(minimum: int) -> list[dict[str, Any]]:
        return [task() if draw(st.integers(0, 4)) else cc() for _ in range(draw(st.integers(minimum, 2)))]

    def condition() -> dict[str, Any]:
        number = next(counter)
        return {
            "id": f"g{number}",
            "type": "condition",
            "name": f"条件{number}",
            "branches": [
                {
                    "id": f"g{number}a",
                    "name": "大额",
                    "priority": 1,
                    "condition": {"all": [{"field": "amount", "op": ">=", "value": "1000"}]},
                    "nodes": branch_nodes(0),
                },
                {"id": f"g{number}z", "name": "其他", "default": True, "nodes": branch_nodes(0)},
            ],
        }

    def parallel() -> dict[str, Any]:
        number = next(counter)
        return {
            "id": f"p{number}",
            "type": "parallel",
            "name": f"并行{number}",
            "branches": [
                {"id": f"p{number}{letter}", "name": f"分支{letter}", "nodes": branch_nodes(1)}
                for letter in "ab"
            ],
        }

    makers: list[Callable[[], dict[str, Any]]] = [task, task, task, cc, condition, parallel]
    nodes = [draw(st.sampled_from(makers))() for _ in range(draw(st.integers(1, 3)))]
    if not any(node["type"] in ("approval", "handle") for node in nodes):
        nodes.append(task())
    route_settings = {
        "dedup": draw(st.sampled_from(["none", "consecutive"])),
        "self_approve": draw(st.sampled_from(["auto", "require"])),
        "return_resume": draw(st.sampled_from(["restart", "direct"])),
        "withdraw": draw(st.sampled_from(["strict", "lenient"])),
        "on_empty": draw(st.sampled_from(["skip", "admin"])),
    }
    return {"initiators": [{"kind": "everyone"}], "settings": route_settings, "nodes": nodes}


def _map_people(route: dict[str, Any], ids: list[int]) -> dict[str, Any]:
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("kind") == "users":
                return {"kind": "users", "ids": [ids[position] for position in value["ids"]]}
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return value

    mapped: dict[str, Any] = walk(route)
    mapped["settings"]["admin_user_ids"] = [ids[1]]
    return mapped


def expected_path(flow: dict[str, Any], branch_taken: dict[str, str]) -> list[str]:
    """The task and branch nodes an approved request must have passed: condition branches as
    the request took them, every branch of a parallel node."""
    found: list[str] = []

    def walk(nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            if node["type"] == "cc":
                continue
            found.append(node["id"])
            if node["type"] == "condition":
                chosen = branch_taken[node["id"]]
                walk(next(b for b in node["branches"] if b["id"] == chosen)["nodes"])
            elif node["type"] == "parallel":
                for branch in node["branches"]:
                    walk(branch["nodes"])

    walk(flow["nodes"])
    return found


class ApprovalMachine(RuleBasedStateMachine):
    people: ClassVar[People]
    inactive: ClassVar[User]

    def __init__(self) -> None:
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.instance: Instance | None = None
        self.flow: Any = None
        #: Every request of this example: a finished one is followed by a new one.
        self.instances: list[Instance] = []
        self.log: dict[int, list[Any]] = {}
        self.last: Callable[[], Any] | None = None
        self.steps_taken = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # ------------------------------------------------------------------ helpers

    @property
    def pool(self) -> list[User]:
        p = self.people
        return [p.initiator, p.head, p.boss, p.finance1, p.finance2, self.inactive]

    def current(self) -> Instance:
        assert self.instance is not None
        self.instance.refresh_from_db()
        return self.instance

    def state(self) -> tuple[Any, ...]:
        instance = self.current()
        return (
            instance.state,
            instance.lock_version,
            instance.round,
            list(Action.objects.filter(instance=instance).values_list("pk", flat=True)),
            list(WorkItem.objects.filter(instance=instance).values_list("pk", "state", "assignee_id")),
            list(Activation.objects.filter(instance=instance).values_list("pk", "state")),
        )

    def pending_items(self) -> list[WorkItem]:
        return list(
            WorkItem.objects.filter(
                instance=self.current(), state=WorkItem.State.PENDING, kind__in=services.TASK_KINDS
            )
            .select_related("assignee", "activation")
            .order_by("pk")
        )

    def pick(self, number: int) -> WorkItem | None:
        items = self.pending_items()
        return items[number % len(items)] if items else None

    def attempt(self, call: Callable[[], Any], *, must_succeed: bool = False) -> None:
        """Run an action; a refusal must leave everything as it was."""
        self.steps_taken += 1
        before = self.state()
        try:
            call()
        except DomainError:
            if must_succeed:
                raise
            assert self.state() == before, "a refused action changed something"
        else:
            self.last = call

    # ------------------------------------------------------------------ rules

    @initialize(route=routes(), amount=st.sampled_from(["10", "5000"]))
    def begin(self, route: dict[str, Any], amount: str) -> None:
        flow_json = _map_people(route, [user.pk for user in self.pool])
        assert validate_definition(flow_json, parse_form(FORM)) == []
        self.flow = publish({key: value for key, value in flow_json.items() if key != "initiators"})
        self.start(amount)

    def start(self, amount: str) -> None:
        self.instance = services.instance_start(
            actor=self.people.initiator,
            flow=self.flow,
            data={"title": "随机", "amount": amount},
            request_id=rid(),
        )
        self.instances.append(self.instance)
        self.last = None

    @precondition(lambda self: self.instance is not None and self.current().state in FINAL_STATES)
    @rule(amount=st.sampled_from(["10", "5000"]))
    def start_another(self, amount: str) -> None:
        self.start(amount)

    @rule(number=st.integers(0, 20))
    def approve(self, number: int) -> None:
        item = self.pick(number)
        if item is not None:
            self.attempt(
                lambda: services.approve(actor=item.assignee, item=item, request_id=rid(), opinion="同意"),
                must_succeed=True,
            )

    # Approving is what moves a request on: weighted up so that runs reach the end of flows.
    @rule(number=st.integers(0, 20))
    def approve_again(self, number: int) -> None:
        self.approve(number)

    @rule(number=st.integers(0, 20))
    def approve_once_more(self, number: int) -> None:
        self.approve(number)

    @rule(number=st.integers(0, 20))
    def reject(self, number: int) -> None:
        item = self.pick(number)
        if item is not None:
            self.attempt(
                lambda: services.reject(actor=item.assignee, item=item, request_id=rid(), opinion="不同意"),
                must_succeed=item.kind == WorkItem.Kind.APPROVE,
            )

    @rule(number=st.integers(0, 20), choice=st.integers(0, 20))
    def return_to(self, number: int, choice: int) -> None:
        item = self.pick(number)
        if item is None:
            return
        targets = [key for key, _label in services.return_targets(item)]
        chosen = targets[choice % len(targets)]
        self.attempt(
            lambda: services.return_to(actor=item.assignee, item=item, target=chosen, request_id=rid()),
            must_succeed=True,
        )

    @rule(number=st.integers(0, 20), person=st.integers(0, POOL - 1))
    def transfer(self, number: int, person: int) -> None:
        item = self.pick(number)
        if item is not None:
            to = self.pool[person]
            self.attempt(lambda: services.transfer(actor=item.assignee, item=item, to=to, request_id=rid()))

    @rule(
        number=st.integers(0, 20),
        people=st.lists(st.integers(0, POOL - 1), min_size=1, max_size=2, unique=True),
        position=st.sampled_from(["before", "after", "parallel"]),
    )
    def add_sign(self, number: int, people: list[int], position: str) -> None:
        item = self.pick(number)
        if item is not None:
            users = [self.pool[person] for person in people]
            self.attempt(
                lambda: services.add_sign(
                    actor=item.assignee, item=item, users=users, position=position, request_id=rid()
                )
            )

    @rule(number=st.integers(0, 20), person=st.integers(0, POOL - 2))
    def someone_else_tries(self, number: int, person: int) -> None:
        item = self.pick(number)
        intruder = self.pool[person]
        if item is None or intruder.pk == item.assignee_id:
            return
        before = self.state()
        with pytest.raises(PermissionDeniedError):
            services.approve(actor=intruder, item=item, request_id=rid())
        assert self.state() == before

    @precondition(lambda self: self.steps_taken > 8)
    @rule()
    def withdraw(self) -> None:
        self.attempt(
            lambda: services.withdraw(actor=self.people.initiator, instance=self.current(), request_id=rid())
        )

    @rule()
    def resubmit(self) -> None:
        self.attempt(
            lambda: services.resubmit(actor=self.people.initiator, instance=self.current(), request_id=rid()),
            must_succeed=self.current().state == InstanceState.RETURNED,
        )

    @rule()
    def send_again(self) -> None:
        """The last applied action, sent again with the same request id, changes nothing."""
        if self.last is None:
            return
        before = self.state()
        key = Action.objects.filter(instance=self.current()).exclude(request_id="").order_by("-pk").first()
        assert key is not None
        # Re-running the closure would draw a new request id: replay the logged one instead.
        last_kind = key.kind
        if last_kind == Action.Kind.APPROVE and key.work_item is not None:
            services.approve(actor=key.actor, item=key.work_item, request_id=key.request_id)  # type: ignore[arg-type]
        elif last_kind == Action.Kind.WITHDRAW:
            services.withdraw(actor=key.actor, instance=self.current(), request_id=key.request_id)  # type: ignore[arg-type]
        elif last_kind == Action.Kind.RESUBMIT:
            services.resubmit(actor=key.actor, instance=self.current(), request_id=key.request_id)  # type: ignore[arg-type]
        else:
            return
        assert self.state() == before

    # ------------------------------------------------------------------ invariants

    def each(self) -> list[Instance]:
        for instance in self.instances:
            instance.refresh_from_db()
        return self.instances

    @invariant()
    def ends_exactly_once(self) -> None:
        for instance in self.each():
            self.check_ending(instance)

    def check_ending(self, instance: Instance) -> None:
        finishes = Action.objects.filter(instance=instance, kind=Action.Kind.FINISH).count()
        assert finishes == (1 if instance.state in FINAL_STATES else 0)
        assert (instance.finished_at is not None) == (instance.state in FINAL_STATES)

    @invariant()
    def items_match_steps(self) -> None:
        for instance in self.each():
            self.check_items(instance)

    def check_items(self, instance: Instance) -> None:
        active_items = WorkItem.objects.filter(
            instance=instance, kind__in=services.TASK_KINDS, state__in=ACTIVE_ITEMS
        ).select_related("activation")
        for item in active_items:
            assert item.activation is not None
            assert item.activation.state == Activation.State.ACTIVE, (item, item.activation)
        active_steps = Activation.objects.filter(instance=instance, state=Activation.State.ACTIVE)
        if instance.state == InstanceState.RUNNING:
            # A running request always waits for someone: no dead end, no stuck join.
            assert active_items.filter(state=WorkItem.State.PENDING).exists()
            tasks = sorted(
                active_steps.filter(node_type__in=("approval", "handle")).values_list("node_id", flat=True)
            )
            assert sorted(instance.current_node_ids) == tasks
        else:
            assert not active_items.exists()
            assert not active_steps.exists()
            assert instance.current_node_ids == []

    @invariant()
    def steps_follow_their_mode(self) -> None:
        """依次: one approver at a time, and every planned approver approved in turn; 会签:
        every approver approved; 或签: the first approval decides — exactly one approved, the
        others cancelled at once (§4.2). People added by 加签 all approved."""
        steps = Activation.objects.filter(
            instance__in=self.instances,
            state__in=(Activation.State.COMPLETED, Activation.State.ACTIVE),
            node_type__in=("approval", "handle"),
        )
        for step in steps:
            items = list(WorkItem.objects.filter(activation=step))
            base = [i for i in items if i.anchor_id is None and i.state not in ("transferred", "cancelled")]
            added = [
                i for i in items if i.anchor_id is not None and i.state not in ("transferred", "cancelled")
            ]
            approved = [i for i in base if i.state in ("approved", "auto_approved")]
            active = [i for i in base if i.state in ACTIVE_ITEMS]
            if step.state == Activation.State.ACTIVE:
                if step.mode == "any":
                    assert not (approved and active), (step, items)
                elif step.mode == "sequential":
                    assert len(active) <= 1, (step, items)
                continue
            assert all(i.state in ("approved", "auto_approved") for i in added), step
            if step.mode == "any":
                assert len(approved) == 1, (step, items)
            elif step.mode == "all":
                assert approved == base, (step, items)
            else:
                assert sorted(i.order for i in approved) == list(range(len(step.assignees))), (step, items)

    @invariant()
    def log_is_append_only(self) -> None:
        for instance in self.instances:
            now: list[Any] = list(
                Action.objects.filter(instance=instance)
                .order_by("pk")
                .values_list("pk", "kind", "data_hash", "actor_id")
            )
            before = self.log.get(instance.pk, [])
            assert now[: len(before)] == before
            assert len(now) >= len(before)
            self.log[instance.pk] = now

    @invariant()
    def approved_means_every_node_of_the_path_passed(self) -> None:
        for instance in self.each():
            if instance.state == InstanceState.APPROVED:
                self.check_path(instance)

    def check_path(self, instance: Instance) -> None:
        # The latest run of each node: after a 直达 resubmission the steps before the one that
        # returned the request were passed in an earlier round.
        steps = Activation.objects.filter(instance=instance).order_by("pk")
        latest = {step.node_id: step for step in steps}
        taken = {
            node_id: step.chosen_branch for node_id, step in latest.items() if step.node_type == "condition"
        }
        flow = instance.version.flow
        index = node_index(flow)
        for node_id in expected_path(flow, taken):
            assert node_id in latest, f"{node_id} never ran"
            assert latest[node_id].state in (Activation.State.COMPLETED, Activation.State.SKIPPED), (
                node_id,
                latest[node_id].state,
            )
            assert index[node_id].node["type"] == latest[node_id].node_type


@pytest.mark.django_db
def test_random_flows_and_actions_keep_the_invariants(people: People) -> None:
    ApprovalMachine.people = people
    ApprovalMachine.inactive = make_user("lizhi", name="离职人员", is_active=False)
    run_state_machine_as_test(
        ApprovalMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
