"""What the approvals offer the workbench and the navigation: my pending items among my
to-dos (急办 and overdue first, with the link and the due time), the module's badge count, and
the 审批 entry of the left navigation — each in a fixed number of queries, none of another
user's items."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from tests.fixtures import client_for
from xietong.core import clock, navigation, worklist
from xietong.workflow import providers, services
from xietong.workflow.models import WorkItem
from xietong.workflow.tests.conftest import People, act, approval, publish, rid, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow(people: People) -> Any:
    return publish(
        {"nodes": [approval("n1", [people.head.pk]), approval("n2", [people.boss.pk])]}, name="请示"
    )


def test_r75_the_workbench_lists_my_pending_items_urgent_and_overdue_first(people: People, flow: Any) -> None:
    normal = start(people.initiator, flow, title="普通请示")
    urgent = services.instance_start(
        actor=people.initiator, flow=flow, data={"title": "急件请示"}, urgent=True, request_id=rid()
    )
    late = start(people.initiator, flow, title="超时请示")
    due = clock.now() - dt.timedelta(hours=2)
    WorkItem.objects.filter(instance=late).update(due_at=due)
    found = providers.todos(people.head, 10)
    assert found.count == 3
    assert [item.title for item in found.items] == ["急件请示", "超时请示", "普通请示"]
    assert found.items[0].urgent
    assert found.items[1].due == due
    assert found.items[1].overdue(clock.now())
    assert found.items[2].link == f"/workflow/instances/{normal.pk}/"
    assert found.items[2].detail == "张伟 · 请示 · 审批n1"
    assert found.more == "/workflow/"
    assert providers.todos(people.head, 1).items[0].link == f"/workflow/instances/{urgent.pk}/"
    assert providers.todos(people.head, 1).count == 3


def test_no_items_of_anyone_else(people: People, flow: Any) -> None:
    instance = start(people.initiator, flow)
    assert providers.todos(people.boss, 10).count == 0
    assert providers.todos(people.other, 10).items == []
    assert providers.badge_count(people.boss) == 0
    act("approve", instance, people.head)
    assert providers.todos(people.head, 10).count == 0
    assert providers.todos(people.boss, 10).count == 1


def test_the_provider_takes_two_queries_whatever_the_items(
    people: People, flow: Any, django_assert_max_num_queries: Any
) -> None:
    for number in range(12):
        start(people.initiator, flow, title=f"请示{number}")
    user = people.head
    providers.todos(user, 5)  # the grants, resolved once per user object
    with django_assert_max_num_queries(2):
        assert len(providers.todos(user, 5).items) == 5
    with django_assert_max_num_queries(1):
        assert providers.badge_count(user) == 12


def test_registered_for_the_workbench_and_the_navigation(people: People, flow: Any) -> None:
    keys = [provider.key for provider in worklist.todo_providers()]
    assert "workflow.todo" in keys
    module = navigation.get("workflow")
    assert module is not None
    assert module.url == "/workflow/"
    assert module.visible(people.head)
    start(people.initiator, flow, title="工作台上的请示")
    page = client_for(people.head).get("/").content.decode()
    assert "工作台上的请示" in page


def test_r75_the_navigation_shows_my_pending_count_beside_approvals(people: People, flow: Any) -> None:
    start(people.initiator, flow, title="请示一")
    start(people.initiator, flow, title="请示二")
    page = client_for(people.head).get("/notices/").content.decode()
    assert re.search(r'data-module-count="workflow"[^>]*>2<', page)
    other = client_for(people.boss).get("/notices/").content.decode()
    assert 'data-module-count="workflow"' not in other
