"""Deadlines of work items: reminders before, and remind / escalate / auto-act after (R-76, R-65).
The sweep runs again and again; it must do each thing once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from xietong.core import clock
from xietong.workflow import services, tasks
from xietong.workflow.models import Action, InstanceState, WorkItem
from xietong.workflow.tests.conftest import People, approval, item_of, notified, pending, publish, rid, start

HOUR = dt.timedelta(hours=1)


def flow_with(people: People, **node: Any) -> Any:
    return publish({"nodes": [approval("n1", [people.head.pk], **node), approval("n2", [people.boss.pk])]})


def test_r76_remind_before_the_deadline_then_mark_overdue_once(people: People) -> None:
    instance = start(people.initiator, flow_with(people))
    item = item_of(instance, people.head)
    assert item.due_at is not None
    assert services.sla_sweep(now=item.created_at + HOUR).reminded == 0
    result = services.sla_sweep(now=item.due_at - HOUR)
    assert result.reminded == 1
    assert notified(people.head, "workflow.overdue")[0].title == "即将超时：采购申请"
    assert services.sla_sweep(now=item.due_at - HOUR / 2).reminded == 0
    result = services.sla_sweep(now=item.due_at + HOUR)
    assert (result.overdue, result.escalated) == (1, 0)
    assert [d.title for d in notified(people.head, "workflow.overdue")][-1] == "已超时：采购申请"
    assert services.sla_sweep(now=item.due_at + 2 * HOUR).overdue == 0
    item.refresh_from_db()
    assert item.overdue_at is not None
    assert item.state == WorkItem.State.PENDING
    assert Action.objects.filter(instance=instance, kind=Action.Kind.TIMEOUT_REMIND).count() == 1


def test_r76_escalate_to_the_holders_head(people: People) -> None:
    flow = publish({"nodes": [approval("n1", [people.legal.pk], on_timeout="escalate")]})
    # 周法务 of 综合办公室 has no head there: give the office one.
    from xietong.org.models import Membership

    office_head = Membership.objects.get(user=people.admin)
    office_head.is_head = True
    office_head.save()
    instance = start(people.initiator, flow)
    item = item_of(instance, people.legal)
    assert item.due_at is not None
    result = services.sla_sweep(now=item.due_at + HOUR)
    assert result.escalated == 1
    assert notified(people.admin, "workflow.overdue")[0].title == "下属审批超时：采购申请"
    item.refresh_from_db()
    assert item.escalated
    assert services.sla_sweep(now=item.due_at + 3 * HOUR).escalated == 0


def test_r65_urgent_items_are_escalated_after_four_hours(people: People) -> None:
    instance = services.instance_start(
        actor=people.initiator, flow=flow_with(people), data={"title": "急"}, urgent=True, request_id=rid()
    )
    item = item_of(instance, people.head)
    assert item.due_at is not None
    result = services.sla_sweep(now=item.created_at + 4 * HOUR + dt.timedelta(minutes=1))
    assert result.escalated == 1
    # 王经理 heads 生产技术部: his head is the head of 华东分公司, 赵总.
    assert notified(people.boss, "workflow.overdue")[0].urgency == "urgent"


def test_timeout_approve_is_logged_as_automatic(people: People) -> None:
    instance = start(people.initiator, flow_with(people, on_timeout="approve"))
    item = item_of(instance, people.head)
    assert item.due_at is not None
    assert services.sla_sweep(now=item.due_at + HOUR).auto_approved == 1
    item.refresh_from_db()
    assert (item.state, item.auto_reason) == (WorkItem.State.AUTO_APPROVED, "timeout")
    assert [i.assignee_id for i in pending(instance)] == [people.boss.pk]
    auto = Action.objects.get(instance=instance, kind=Action.Kind.AUTO_APPROVE)
    assert auto.actor is None
    assert auto.details["reason"] == "timeout"


def test_timeout_reject_ends_the_request(people: People) -> None:
    instance = start(people.initiator, flow_with(people, on_timeout="reject"))
    item = item_of(instance, people.head)
    assert item.due_at is not None
    assert services.sla_sweep(now=item.due_at + HOUR).auto_rejected == 1
    instance.refresh_from_db()
    assert instance.state == InstanceState.REJECTED
    assert notified(people.initiator, "workflow.rejected")
    assert services.sla_sweep(now=item.due_at + 2 * HOUR).auto_rejected == 0


def test_a_step_decided_by_the_deadline_is_announced_to_the_requests_people(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Open pages (and workbench cards) hear of an automatic decision as of a person's."""
    from xietong.core import events

    instance = start(people.initiator, flow_with(people, on_timeout="approve"))
    item = item_of(instance, people.head)
    assert item.due_at is not None
    sent: list[tuple[int, str, dict[str, Any]]] = []
    monkeypatch.setattr(events, "push_to_users", lambda batch: sent.extend(batch))
    services.sla_sweep(now=item.due_at + HOUR)
    told = {user_id for user_id, kind, _data in sent if kind == services.INSTANCE_EVENT}
    assert {people.initiator.pk, people.head.pk, people.boss.pk} <= told


def test_items_acted_on_or_of_finished_requests_are_left_alone(people: People) -> None:
    instance = start(people.initiator, flow_with(people))
    item = item_of(instance, people.head)
    services.withdraw(actor=people.initiator, instance=instance, request_id=rid())
    assert item.due_at is not None
    assert services.sla_sweep(now=item.due_at + HOUR).overdue == 0


def test_the_periodic_task_runs_the_sweep(people: People) -> None:
    instance = start(people.initiator, flow_with(people))
    item = item_of(instance, people.head)
    assert item.due_at is not None
    with clock.frozen_at(item.due_at + HOUR):
        tasks.sweep_deadlines.call_local()
    item.refresh_from_db()
    assert item.overdue_at is not None
