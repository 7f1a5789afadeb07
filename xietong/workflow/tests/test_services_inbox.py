"""The inbox boxes, who may read a request, the badges, and the administration of flows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.fixtures import make_user
from xietong.core import clock
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.identity.models import User
from xietong.org.models import DataScope, Role
from xietong.org.services import role_grant_by_system
from xietong.workflow import selectors, services
from xietong.workflow.definition import DefinitionError
from xietong.workflow.models import Category, FlowVersion, InstanceState, WorkItem
from xietong.workflow.tests.conftest import FORM, People, act, approval, publish, rid, start


def grant(user: User, codename: str, scope: str = DataScope.GROUP, units: Any = ()) -> None:
    role, _created = Role.objects.get_or_create(
        code=codename.replace(".", "-"), defaults={"name": codename, "permissions": [codename]}
    )
    role_grant_by_system(role=role, user=user, scope=scope, units=units, reason="测试")


@pytest.fixture
def flow(people: People) -> Any:
    return publish({"nodes": [approval("n1", [people.head.pk]), approval("n2", [people.boss.pk])]})


def test_r75_todo_lists_urgent_then_overdue_then_by_deadline(people: People, flow: Any) -> None:
    normal = start(people.initiator, flow, title="普通")
    urgent = services.instance_start(
        actor=people.initiator, flow=flow, data={"title": "急件"}, urgent=True, request_id=rid()
    )
    late = start(people.initiator, flow, title="超时")
    WorkItem.objects.filter(instance=late).update(due_at=clock.now() - dt.timedelta(hours=1))
    titles = [item.instance.title for item in selectors.inbox(people.head, "todo")]
    assert titles == ["急件", "超时", "普通"]
    assert [i.instance.title for i in selectors.todo(people.head, selectors.Filters(query="急"))] == ["急件"]
    assert [i.instance.title for i in selectors.todo(people.head, selectors.Filters(overdue=True))] == [
        "超时"
    ]
    counts = selectors.counts(people.head)
    assert (counts["todo"], counts["urgent"], counts["overdue"]) == (3, 1, 1)
    assert selectors.inbox(people.boss, "todo").count() == 0
    act("approve", normal, people.head)
    assert [i.instance.title for i in selectors.inbox(people.head, "done")] == ["普通"]
    assert [i.instance_id for i in selectors.inbox(people.boss, "todo")] == [normal.pk]
    assert {i.pk for i in selectors.inbox(people.initiator, "mine")} == {normal.pk, urgent.pk, late.pk}


def test_todo_queries_do_not_grow_with_the_items(
    people: People, flow: Any, django_assert_max_num_queries: Any
) -> None:
    for number in range(5):
        start(people.initiator, flow, title=f"申请{number}")
    with django_assert_max_num_queries(1):
        rows = [(item.instance.title, item.instance.definition.name) for item in selectors.todo(people.head)]
    assert len(rows) == 5


def test_cc_and_read_boxes_and_badges(people: People) -> None:
    flow = publish(
        {
            "nodes": [
                {
                    "id": "c1",
                    "type": "cc",
                    "name": "抄送",
                    "recipients": {"kind": "users", "ids": [people.legal.pk]},
                },
                approval("n1", [people.head.pk]),
            ]
        }
    )
    instance = start(people.initiator, flow)
    services.circulate(actor=people.initiator, instance=instance, users=[people.other], request_id=rid())
    assert [i.instance_id for i in selectors.inbox(people.legal, "cc")] == [instance.pk]
    assert [i.instance_id for i in selectors.inbox(people.other, "read")] == [instance.pk]
    assert selectors.counts(people.legal)["cc"] == 1
    services.mark_read(actor=people.legal, item=selectors.inbox(people.legal, "cc")[0], request_id=rid())
    assert selectors.counts(people.legal)["cc"] == 0
    with pytest.raises(ValueError, match="unknown box"):
        selectors.inbox(people.legal, "spam")


def test_who_may_read_a_request(people: People, flow: Any, org_tree: Any) -> None:
    instance = start(people.initiator, flow)
    assert selectors.instance_visible(people.initiator, instance.pk) == instance
    assert selectors.instance_visible(people.head, instance.pk) == instance
    for outsider in (people.boss, people.other):  # 赵总 holds nothing yet
        with pytest.raises(NotFoundError):
            selectors.instance_visible(outsider, instance.pk)
    with pytest.raises(NotFoundError):
        selectors.instance_visible(people.head, "abc")
    act("approve", instance, people.head)
    assert selectors.instance_visible(people.boss, instance.pk) == instance
    flow.admins.add(people.admin)
    assert selectors.instance_visible(people.admin, instance.pk) == instance
    supervisor = make_user("dubanyuan", name="督办员")
    grant(supervisor, "workflow.supervise", DataScope.LISTED, [org_tree["east"]])
    assert selectors.instance_visible(supervisor, instance.pk) == instance
    elsewhere = make_user("caiwu", name="财务督办")
    grant(elsewhere, "workflow.supervise", DataScope.LISTED, [org_tree["finance"]])
    with pytest.raises(NotFoundError):
        selectors.instance_visible(elsewhere, instance.pk)


def test_drafts_and_classified_requests_are_hidden(people: People, flow: Any) -> None:
    flow.admins.add(people.admin)
    draft = services.draft_save(actor=people.initiator, flow=flow, data={}, request_id=rid())
    with pytest.raises(NotFoundError):
        selectors.instance_visible(people.admin, draft.pk)
    people.initiator.clearance = 2
    people.initiator.save()
    people.head.clearance = 2
    people.head.save()
    secret = services.instance_start(
        actor=people.initiator, flow=flow, data={"title": "商密"}, level=2, request_id=rid()
    )
    assert selectors.instance_visible(people.head, secret.pk) == secret
    with pytest.raises(NotFoundError):
        selectors.instance_visible(people.admin, secret.pk)  # 内部 clearance only


def test_response_stats(people: People, flow: Any) -> None:
    instance = start(people.initiator, flow)
    act("approve", instance, people.head)
    now = clock.now()
    stats = selectors.response_stats(
        people.head, user=people.head, since=now - dt.timedelta(days=1), until=now + dt.timedelta(days=1)
    )
    assert stats.handled == 1
    assert stats.within_limit == 1.0
    assert stats.overdue == 0
    nobody = selectors.response_stats(
        people.other, user=people.head, since=now - dt.timedelta(days=1), until=now + dt.timedelta(days=1)
    )
    assert nobody.handled == 0


def test_startable_flows_follow_the_initiators_rule(people: People, flow: Any) -> None:
    closed = publish(
        {"initiators": [{"kind": "user", "id": people.legal.pk}], "nodes": [approval("n1", [people.head.pk])]}
    )
    version = closed.current_version
    assert version is not None
    version.flow = {**version.flow, "initiators": [{"kind": "user", "id": people.legal.pk}]}
    version.save()
    assert flow in selectors.startable_flows(people.initiator)
    assert closed not in selectors.startable_flows(people.initiator)
    assert closed in selectors.startable_flows(people.legal)


# --------------------------------------------------------------------------- flows


def test_flow_design_needs_workflow_manage(people: People) -> None:
    with pytest.raises(PermissionDeniedError):
        services.definition_create(actor=people.other, code="leave", name="请假")
    grant(people.admin, "workflow.manage")
    flow = services.definition_create(
        actor=people.admin, code="leave", name="请假", category=Category.PERSONNEL, admins=[people.admin]
    )
    with pytest.raises(DomainError, match="已被使用"):
        services.definition_create(actor=people.admin, code="leave", name="请假二")
    with pytest.raises(DomainError, match="编码"):
        services.definition_create(actor=people.admin, code="请假", name="请假")
    flow = services.definition_update(actor=people.admin, flow=flow, name="请假申请", is_active=False)
    assert (flow.name, flow.is_active) == ("请假申请", False)


def test_publish_checks_the_version_and_retires_the_old_one(people: People) -> None:
    grant(people.admin, "workflow.manage")
    flow = services.definition_create(actor=people.admin, code="buy", name="采购")
    bad = services.version_save(actor=people.admin, flow=flow, form=FORM, route={"nodes": []})
    with pytest.raises(DefinitionError):
        services.version_publish(actor=people.admin, version=bad)
    route = {"initiators": [{"kind": "everyone"}], "nodes": [approval("n1", [people.head.pk])]}
    draft = services.version_save(actor=people.admin, flow=flow, form=FORM, route=route)
    assert draft.pk == bad.pk  # one draft at a time
    first = services.version_publish(actor=people.admin, version=draft)
    assert first.status == FlowVersion.Status.PUBLISHED
    with pytest.raises(DomainError, match="草稿"):
        services.version_publish(actor=people.admin, version=first)
    flow.refresh_from_db()
    running = start(people.initiator, flow)
    second = services.version_save(
        actor=people.admin, flow=flow, form=FORM, route={**route, "nodes": [approval("n1", [people.boss.pk])]}
    )
    assert second.number == 2
    services.version_publish(actor=people.admin, version=second)
    first.refresh_from_db()
    assert first.status == FlowVersion.Status.RETIRED
    flow.refresh_from_db()
    assert flow.current_version_id == second.pk
    assert start(people.initiator, flow).version_id == second.pk
    assert act("approve", running, people.head).state == InstanceState.APPROVED


def test_a_flow_administrator_named_in_the_version_settings_finds_its_requests(people: People) -> None:
    """流程管理员 chosen in the designer's settings: they see the requests that run on that
    version, in the monitoring pages too, and may end them — not those of an older version."""
    grant(people.admin, "workflow.manage")
    flow = services.definition_create(actor=people.admin, code="stamp", name="用章")

    def published(route: dict[str, Any]) -> FlowVersion:
        draft = services.version_save(actor=people.admin, flow=flow, form=FORM, route=route)
        return services.version_publish(actor=people.admin, version=draft)

    route = {"initiators": [{"kind": "everyone"}], "nodes": [approval("n1", [people.head.pk])]}
    first = published(route)
    flow.refresh_from_db()
    before = start(people.initiator, flow)
    second = published({**route, "settings": {"admin_user_ids": [people.boss.pk]}})
    assert list(second.admins.all()) == [people.boss]
    assert not first.admins.exists()
    flow.refresh_from_db()
    running = start(people.initiator, flow)

    visible = selectors.instance_visible_queryset(people.boss)
    assert list(visible.filter(pk__in=[before.pk, running.pk])) == [running]
    assert list(selectors.administered_flows(people.boss)) == [flow]
    ended = services.terminate(actor=people.boss, instance=running, request_id="t-1", reason="重复申请")
    assert ended.state == InstanceState.TERMINATED
    assert not selectors.instance_visible_queryset(people.other).filter(pk=running.pk).exists()


def test_versions_published_before_get_the_administrators_their_settings_name(people: People) -> None:
    import importlib

    from django.apps import apps

    named = {"admin_user_ids": [people.boss.pk]}
    flow = publish({"nodes": [approval("n1", [people.head.pk])], "settings": named})
    version = flow.current_version
    assert version is not None
    assert not version.admins.exists()  # written directly, as before the migration
    importlib.import_module("xietong.workflow.migrations.0006_version_admins").backfill(apps, None)
    assert list(version.admins.all()) == [people.boss]
