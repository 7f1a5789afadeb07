"""Two people acting on one request at the same moment (PostgreSQL: SQLite puts writers in
line by itself, so the row lock under test is PostgreSQL's)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from xietong.core.errors import DomainError
from xietong.identity.models import User
from xietong.workflow import services
from xietong.workflow.models import Action, InstanceState, WorkItem
from xietong.workflow.tests.conftest import People, approval, publish, rid, start


def at_once(*calls: Callable[[], Any]) -> list[str]:
    """Run ``calls`` in threads released together; each outcome is "ok" or the error message."""
    outcomes: list[str] = []
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            call()
            outcomes.append("ok")
        except DomainError as error:
            outcomes.append(error.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.fixture
def postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers by itself; the row lock under test is PostgreSQL's")


@pytest.mark.django_db(transaction=True)
def test_two_approvers_of_an_any_node_at_once_give_one_outcome(postgres: None, people: People) -> None:
    flow = publish({"nodes": [approval("n1", [people.finance1.pk, people.finance2.pk], "any")]})
    instance = start(people.initiator, flow)
    items = {item.assignee_id: item for item in WorkItem.objects.filter(instance=instance)}

    def approver(person: User) -> Callable[[], Any]:
        return lambda: services.approve(actor=person, item=items[person.pk], request_id=rid())

    outcomes = at_once(approver(people.finance1), approver(people.finance2))
    assert sorted(outcomes)[0] == "ok"
    assert "已被他人处理" in sorted(outcomes)[1]
    instance.refresh_from_db()
    assert instance.state == InstanceState.APPROVED
    assert Action.objects.filter(instance=instance, kind=Action.Kind.APPROVE).count() == 1
    assert Action.objects.filter(instance=instance, kind=Action.Kind.FINISH).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_request_sent_twice_at_once_is_applied_once(postgres: None, people: People) -> None:
    flow = publish({"nodes": [approval("n1", [people.head.pk]), approval("n2", [people.boss.pk])]})
    instance = start(people.initiator, flow)
    item = WorkItem.objects.get(instance=instance, assignee=people.head)
    key = rid()
    outcomes = at_once(
        lambda: services.approve(actor=people.head, item=item, request_id=key),
        lambda: services.approve(actor=people.head, item=item, request_id=key),
    )
    assert outcomes == ["ok", "ok"]
    assert Action.objects.filter(instance=instance, kind=Action.Kind.APPROVE).count() == 1
    assert WorkItem.objects.filter(instance=instance, assignee=people.boss).count() == 1


@pytest.mark.django_db(transaction=True)
def test_approve_and_withdraw_at_once(postgres: None, people: People) -> None:
    flow = publish({"nodes": [approval("n1", [people.head.pk]), approval("n2", [people.boss.pk])]})
    instance = start(people.initiator, flow)
    item = WorkItem.objects.get(instance=instance, assignee=people.head)
    outcomes = at_once(
        lambda: services.approve(actor=people.head, item=item, request_id=rid()),
        lambda: services.withdraw(actor=people.initiator, instance=instance, request_id=rid()),
    )
    instance.refresh_from_db()
    assert outcomes.count("ok") == 1
    if instance.state == InstanceState.WITHDRAWN:
        assert not WorkItem.objects.filter(instance=instance, state=WorkItem.State.PENDING).exists()
    else:
        assert instance.state == InstanceState.RUNNING
        assert WorkItem.objects.get(instance=instance, assignee=people.boss).state == WorkItem.State.PENDING
