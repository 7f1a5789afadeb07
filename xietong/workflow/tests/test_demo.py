"""The demo requests loaded with the demo group: a living approval desk for 张伟."""

from __future__ import annotations

import pytest

from xietong.core import clock
from xietong.identity.models import User
from xietong.org import demo as org_demo
from xietong.org.models import PermissionRequest
from xietong.workflow import builtin, demo
from xietong.workflow.models import Action, Instance, InstanceState, WorkItem

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[int, int, int, int]:
    return (
        Instance.objects.count(),
        WorkItem.objects.count(),
        Action.objects.count(),
        PermissionRequest.objects.count(),
    )


def test_the_demo_gives_zhangwei_a_living_desk_and_loads_once() -> None:
    org_demo.load_demo("Demo#Pass2026")
    zhang = User.objects.get(username="zhangwei")
    now = clock.now()

    todo = list(
        WorkItem.objects.filter(assignee=zhang, state=WorkItem.State.PENDING, kind__in=["approve", "handle"])
        .select_related("instance__definition")
        .order_by("pk")
    )
    assert len(todo) == 3
    assert sum(item.urgent for item in todo) == 1
    assert sum(item.due_at is not None and item.due_at < now for item in todo) == 1
    assert {item.instance.definition.code for item in todo} == {builtin.SEAL, builtin.PERMISSION}

    mine = dict(Instance.objects.filter(initiator=zhang).values_list("title", "state"))
    assert sorted(mine.values()) == sorted(
        [InstanceState.APPROVED, InstanceState.RUNNING, InstanceState.RETURNED, InstanceState.REJECTED]
    )
    approved = Instance.objects.get(initiator=zhang, state=InstanceState.APPROVED)
    opinions = list(
        Action.objects.filter(instance=approved, kind=Action.Kind.APPROVE).values_list("opinion", flat=True)
    )
    assert len(opinions) == 2
    assert all(opinions)
    assert approved.started_at is not None
    assert approved.started_at < now

    assert WorkItem.objects.filter(assignee=zhang, kind=WorkItem.Kind.CC).count() == 1
    assert WorkItem.objects.filter(assignee=zhang, state=WorkItem.State.APPROVED).count() == 1  # done
    # the permission request of the demo waits in its flow, not granted yet.
    request = PermissionRequest.objects.get()
    assert request.status == PermissionRequest.Status.PENDING
    assert (
        Instance.objects.filter(definition__code=builtin.PERMISSION, state=InstanceState.RUNNING).count() == 1
    )
    # Every shipped flow has a request to look at.
    shipped = Instance.objects.filter(definition__code__in=builtin.FLOW_CODES)
    assert set(shipped.values_list("definition__code", flat=True)) == set(builtin.FLOW_CODES)

    before = snapshot()
    demo.load()
    demo.load()
    assert snapshot() == before
