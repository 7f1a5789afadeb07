"""The administrators' pages: the report and its export, the holiday calendar, monitoring with
终止 and 改派, 批量移交, and 补录 (R-81) — with their denial paths."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.fixtures import client_for, grant_role, make_user, place
from xietong.audit.models import Event
from xietong.core import clock
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.files import services as files
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.notify.models import Dispatch
from xietong.org import builtin
from xietong.org.models import DataScope, OrgUnit
from xietong.workflow import services
from xietong.workflow.models import Action, CalendarDay, Instance, InstanceState, WorkItem
from xietong.workflow.tests.conftest import People, approval, item_of, pending, publish, rid, start

MONTH = "/workflow/reports/"


@pytest.fixture(autouse=True)
def _roles(db: Any) -> None:
    builtin.ensure_builtin_roles()


@pytest.fixture
def supervisor(org_tree: dict[str, OrgUnit]) -> User:
    """流程管理员 of the whole group: workflow.manage and workflow.supervise everywhere."""
    boss = make_user("supervisor", name="督办员")
    place(boss, org_tree["office"])
    grant_role(boss, builtin.FLOW_ADMIN)
    return boss


@pytest.fixture
def suzhou_supervisor(org_tree: dict[str, OrgUnit]) -> User:
    """A supervisor whose scope is 苏州公司 only: 张伟's requests (生产技术部) are outside it."""
    person = make_user("szsupervisor", name="苏州督办")
    place(person, org_tree["suzhou"])
    grant_role(person, builtin.FLOW_ADMIN, scope=DataScope.DEPARTMENT_TREE)
    return person


@pytest.fixture
def running(people: People) -> Instance:
    return start(
        people.initiator,
        publish({"nodes": [approval("n1", [people.head.pk]), approval("n2", [people.boss.pk])]}),
    )


def scan(owner: User, name: str = "签批单.pdf") -> StoredFile:
    upload = SimpleUploadedFile(
        name, b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n", content_type="application/pdf"
    )
    return files.store_upload(actor=owner, upload=upload, context="workflow.attachment")


# --------------------------------------------------------------------------- reports


def test_r76_the_report_page_shows_people_and_departments(
    running: Instance, people: People, supervisor: User
) -> None:
    services.approve(actor=people.head, item=item_of(running, people.head), request_id=rid())
    page = client_for(supervisor).get(MONTH)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-person="wangjl"' in text
    assert 'id="unit-table"' in text


def test_a_normal_user_sees_their_own_row_and_no_department_filter(
    running: Instance, people: People, org_tree: dict[str, OrgUnit]
) -> None:
    client = client_for(people.finance1)
    text = client.get(MONTH).content.decode()
    assert 'data-person="qiancw"' in text
    assert 'id="unit-table"' not in text
    assert client.get(MONTH, {"unit": org_tree["finance"].pk}).status_code == 403


def test_a_head_cannot_narrow_to_a_department_they_do_not_head(
    people: People, org_tree: dict[str, OrgUnit]
) -> None:
    client = client_for(people.head)
    assert client.get(MONTH, {"unit": org_tree["repair"].pk}).status_code == 200
    assert client.get(MONTH, {"unit": org_tree["finance"].pk}).status_code == 403


def test_the_export_is_an_audited_workbook(running: Instance, supervisor: User) -> None:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    response = client_for(supervisor).get("/workflow/reports/export/", {"period": "this_year"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["按部门", "按人员"]
    event = Event.objects.get(action="workflow.report.exported")
    assert event.details["rows"] >= 1


def test_a_bad_custom_period_falls_back_to_this_month(supervisor: User) -> None:
    page = client_for(supervisor).get(MONTH, {"period": "custom", "from": "2026-05-01", "to": "2026-04-01"})
    assert "自定义时段的起止日期无效" in page.content.decode()


# --------------------------------------------------------------------------- calendar


def test_the_calendar_is_for_flow_administrators(people: People, supervisor: User) -> None:
    assert client_for(people.initiator).get("/workflow/calendar/").status_code == 403
    assert (
        client_for(people.initiator)
        .post("/workflow/calendar/import/", {"lines": "2027-01-01 元旦 放假"})
        .status_code
        == 403
    )
    assert client_for(supervisor).get("/workflow/calendar/?year=2027").status_code == 200
    assert not CalendarDay.objects.exists()


def test_calendar_import_add_and_delete_through_the_page(supervisor: User) -> None:
    client = client_for(supervisor)
    response = client.post(
        "/workflow/calendar/import/", {"lines": "2027-10-01~2027-10-07 国庆节 放假\n2027-10-09 调休上班"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?year=2027")
    assert CalendarDay.objects.count() == 8
    page = client.get("/workflow/calendar/?year=2027").content.decode()
    assert 'data-date="2027-10-09"' in page
    client.post("/workflow/calendar/add/", {"date": "2027-06-14", "kind": "holiday", "name": "端午节"})
    assert CalendarDay.objects.get(date=dt.date(2027, 6, 14)).name == "端午节"
    client.post("/workflow/calendar/2027-06-14/delete/")
    assert not CalendarDay.objects.filter(date=dt.date(2027, 6, 14)).exists()
    assert client.post("/workflow/calendar/2027-06-14/delete/").status_code == 404


def test_a_bad_import_shows_every_bad_line_and_keeps_the_text(supervisor: User) -> None:
    response = client_for(supervisor).post(
        "/workflow/calendar/import/", {"lines": "2027-01-01 元旦 放假\n2027-02-30 放假"}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "第 2 行" in text
    assert "日期“2027-02-30”无效。" in text
    assert "2027-01-01 元旦 放假" in text
    assert not CalendarDay.objects.exists()


# --------------------------------------------------------------------------- monitor, 终止, 改派


def test_monitor_lists_what_is_within_scope(
    running: Instance, people: People, supervisor: User, suzhou_supervisor: User
) -> None:
    assert client_for(people.initiator).get("/workflow/monitor/").status_code == 403
    text = client_for(supervisor).get("/workflow/monitor/").content.decode()
    assert f'data-instance="{running.pk}"' in text
    assert (
        f'data-instance="{running.pk}"'
        not in client_for(suzhou_supervisor).get("/workflow/monitor/").content.decode()
    )


def test_monitor_filters(running: Instance, supervisor: User, org_tree: dict[str, OrgUnit]) -> None:
    client = client_for(supervisor)
    assert (
        f'data-instance="{running.pk}"'
        in client.get("/workflow/monitor/", {"unit": org_tree["east"].pk}).content.decode()
    )
    assert (
        f'data-instance="{running.pk}"'
        not in client.get("/workflow/monitor/", {"unit": org_tree["finance"].pk}).content.decode()
    )
    assert (
        f'data-instance="{running.pk}"'
        not in client.get("/workflow/monitor/", {"overdue": "1"}).content.decode()
    )
    assert (
        f'data-instance="{running.pk}"'
        not in client.get("/workflow/monitor/", {"stuck": "3"}).content.decode()
    )
    five_days_ago = clock.now() - dt.timedelta(days=5)
    Instance.objects.filter(pk=running.pk).update(updated_at=five_days_ago)
    WorkItem.objects.filter(instance=running).update(due_at=five_days_ago)
    later = client.get("/workflow/monitor/", {"stuck": "3", "overdue": "1"}).content.decode()
    assert f'data-instance="{running.pk}"' in later


def test_monitor_queries_do_not_grow(
    people: People, supervisor: User, django_assert_max_num_queries: Any
) -> None:
    flow = publish({"nodes": [approval("n1", [people.head.pk, people.boss.pk], mode="all")]})
    start(people.initiator, flow)
    client = client_for(supervisor)
    with django_assert_max_num_queries(40) as first:
        client.get("/workflow/monitor/")
    for _number in range(6):
        start(people.initiator, flow)
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get("/workflow/monitor/")


def test_terminate_from_the_monitor(running: Instance, supervisor: User) -> None:
    client = client_for(supervisor)
    client.post(f"/workflow/monitor/{running.pk}/terminate/", {"reason": ""})
    running.refresh_from_db()
    assert running.state == InstanceState.RUNNING
    client.post(f"/workflow/monitor/{running.pk}/terminate/", {"reason": "重复提交"})
    running.refresh_from_db()
    assert running.state == InstanceState.TERMINATED


def test_terminate_outside_scope_is_not_found(
    running: Instance, suzhou_supervisor: User, people: People
) -> None:
    assert (
        client_for(suzhou_supervisor)
        .post(f"/workflow/monitor/{running.pk}/terminate/", {"reason": "x"})
        .status_code
        == 404
    )
    assert (
        client_for(people.initiator)
        .post(f"/workflow/monitor/{running.pk}/terminate/", {"reason": "x"})
        .status_code
        == 403
    )


def test_reassign_moves_the_item_and_tells_both(running: Instance, people: People, supervisor: User) -> None:
    item = item_of(running, people.head)
    services.reassign(actor=supervisor, item=item, to=people.legal, reason="王经理出差", request_id=rid())
    item.refresh_from_db()
    assert item.state == WorkItem.State.TRANSFERRED
    assert [i.assignee_id for i in pending(running)] == [people.legal.pk]
    action = Action.objects.get(instance=running, kind=Action.Kind.REASSIGN)
    assert (action.actor_id, action.target_user_id, action.details["from_user"]) == (
        supervisor.pk,
        people.legal.pk,
        people.head.pk,
    )
    assert Event.objects.filter(action="workflow.item.reassigned").count() == 1
    assert Dispatch.objects.filter(notifications__user=people.legal, kind="workflow.todo").exists()
    assert Dispatch.objects.filter(notifications__user=people.head, title__contains="改派").exists()
    # The new holder approves and the request moves on.
    services.approve(actor=people.legal, item=item_of(running, people.legal), request_id=rid())
    assert [i.assignee_id for i in pending(running)] == [people.boss.pk]


def test_reassign_is_idempotent(running: Instance, people: People, supervisor: User) -> None:
    key = rid()
    item = item_of(running, people.head)
    services.reassign(actor=supervisor, item=item, to=people.legal, reason="出差", request_id=key)
    services.reassign(actor=supervisor, item=item, to=people.legal, reason="出差", request_id=key)
    assert Action.objects.filter(instance=running, kind=Action.Kind.REASSIGN).count() == 1


def test_reassign_is_refused_to_a_normal_user_and_outside_scope(
    running: Instance, people: People, suzhou_supervisor: User
) -> None:
    item = item_of(running, people.head)
    with pytest.raises(PermissionDeniedError):
        services.reassign(actor=people.boss, item=item, to=people.legal, reason="x", request_id=rid())
    with pytest.raises(PermissionDeniedError):
        services.reassign(actor=suzhou_supervisor, item=item, to=people.legal, reason="x", request_id=rid())
    assert client_for(people.initiator).get(f"/workflow/monitor/items/{item.pk}/reassign/").status_code == 403
    assert (
        client_for(suzhou_supervisor).get(f"/workflow/monitor/items/{item.pk}/reassign/").status_code == 404
    )
    assert item_of(running, people.head).pk == item.pk


def test_reassign_refuses_bad_input(running: Instance, people: People, supervisor: User) -> None:
    item = item_of(running, people.head)
    with pytest.raises(DomainError, match="请填写改派原因"):
        services.reassign(actor=supervisor, item=item, to=people.legal, reason=" ", request_id=rid())
    with pytest.raises(DomainError, match="请选择其他人员"):
        services.reassign(actor=supervisor, item=item, to=people.head, reason="x", request_id=rid())
    people.legal.is_active = False
    people.legal.save()
    with pytest.raises(DomainError, match="已停用"):
        services.reassign(actor=supervisor, item=item, to=people.legal, reason="x", request_id=rid())
    assert not Action.objects.filter(kind=Action.Kind.REASSIGN).exists()


def test_reassign_through_the_page(running: Instance, people: People, supervisor: User) -> None:
    item = item_of(running, people.head)
    client = client_for(supervisor)
    assert client.get(f"/workflow/monitor/items/{item.pk}/reassign/").status_code == 200
    missing = client.post(
        f"/workflow/monitor/items/{item.pk}/reassign/", {"reason": "出差", "request_id": "a1"}
    )
    assert missing.status_code == 400
    assert "请选择接收人" in missing.content.decode()
    done = client.post(
        f"/workflow/monitor/items/{item.pk}/reassign/",
        {"f.to_user": people.legal.pk, "reason": "出差", "request_id": "a2"},
    )
    assert done.status_code == 302
    assert [i.assignee_id for i in pending(running)] == [people.legal.pk]


# --------------------------------------------------------------------------- 批量移交


def test_handover_moves_every_pending_item_with_a_summary(people: People, supervisor: User) -> None:
    flow = publish({"nodes": [approval("n1", [people.head.pk])]})
    shared = publish({"nodes": [approval("n1", [people.head.pk, people.legal.pk], mode="all")]})
    first, second = start(people.initiator, flow), start(people.initiator, flow)
    blocked = start(people.initiator, shared)
    result = services.handover(
        actor=supervisor, from_user=people.head, to_user=people.legal, reason="王经理离职", request_id=rid()
    )
    assert sorted(result.moved) == sorted(
        [item.pk for item in WorkItem.objects.filter(instance__in=[first, second], state="transferred")]
    )
    assert len(result.failed) == 1
    assert "已在处理此环节" in result.failed[0][1]
    assert [i.assignee_id for i in pending(first)] == [people.legal.pk]
    assert people.head.pk in [i.assignee_id for i in pending(blocked)]
    assert Event.objects.get(action="workflow.items.handed_over").details["moved"] == result.moved


def test_handover_outside_scope_moves_nothing(people: People, suzhou_supervisor: User) -> None:
    start(people.initiator, publish({"nodes": [approval("n1", [people.head.pk])]}))
    result = services.handover(
        actor=suzhou_supervisor, from_user=people.head, to_user=people.legal, reason="离职", request_id=rid()
    )
    assert (result.moved, result.out_of_scope) == ([], 1)
    with pytest.raises(PermissionDeniedError):
        services.handover(
            actor=people.boss, from_user=people.head, to_user=people.legal, reason="x", request_id=rid()
        )
    with pytest.raises(DomainError, match="同一人"):
        services.handover(
            actor=suzhou_supervisor, from_user=people.head, to_user=people.head, reason="x", request_id=rid()
        )


def test_handover_page(running: Instance, people: People, supervisor: User) -> None:
    client = client_for(supervisor)
    assert client_for(people.initiator).get("/workflow/handover/").status_code == 403
    preview = client.get("/workflow/handover/", {"f.from_user": people.head.pk}).content.decode()
    assert running.title in preview
    response = client.post(
        "/workflow/handover/",
        {"f.from_user": people.head.pk, "f.to_user": people.legal.pk, "reason": "离职", "request_id": "h1"},
    )
    assert "已移交 1 件" in response.content.decode()
    assert [i.assignee_id for i in pending(running)] == [people.legal.pk]


# --------------------------------------------------------------------------- 补录


@pytest.fixture
def backfill_flow(people: People, supervisor: User) -> Any:
    flow = publish({"nodes": [approval("n1", [people.head.pk])]})
    flow.admins.add(people.admin)
    return flow


def backfill(actor: User, flow: Any, people: People, **overrides: Any) -> Instance:
    values: dict[str, Any] = {
        "actor": actor,
        "flow": flow,
        "request_id": rid(),
        "data": {"title": "系统停机期间紧急采购", "amount": "3000"},
        "decided_by": people.head,
        "decided_at": clock.now() - dt.timedelta(days=2),
        "reason": "系统停机，王经理线下签批",
        "attachments": [scan(actor)],
        "initiator": people.initiator,
        **overrides,
    }
    return services.backfill(**values)


def test_r81_backfill_without_reason_refused(backfill_flow: Any, people: People) -> None:
    with pytest.raises(DomainError, match="请填写补录原因"):
        backfill(people.admin, backfill_flow, people, reason="  ")
    with pytest.raises(DomainError, match="至少一个附件"):
        backfill(people.admin, backfill_flow, people, attachments=[])
    assert not Instance.objects.filter(backfilled=True).exists()


def test_r81_backfill_registers_a_finished_request_marked_as_such(backfill_flow: Any, people: People) -> None:
    instance = backfill(people.admin, backfill_flow, people, opinion="同意")
    assert (instance.state, instance.backfilled, instance.initiator_id) == (
        InstanceState.APPROVED,
        True,
        people.initiator.pk,
    )
    assert instance.serial
    assert instance.finished_at == instance.started_at
    action = Action.objects.get(instance=instance, kind=Action.Kind.BACKFILL)
    assert (action.actor_id, action.target_user_id) == (people.admin.pk, people.head.pk)
    assert action.details["decision_opinion"] == "同意"
    assert len(action.details["attachments"]) == 1
    assert Event.objects.filter(action="workflow.instance.backfilled").count() == 1
    # The decider reads it in 抄送; the initiator sees it among their requests; no response time is counted.
    assert WorkItem.objects.get(instance=instance).kind == WorkItem.Kind.CC
    from xietong.workflow import selectors

    assert selectors.instance_visible(people.head, instance.pk) == instance
    assert selectors.instance_visible(people.initiator, instance.pk) == instance
    assert not WorkItem.objects.filter(instance=instance, kind__in=services.TASK_KINDS).exists()


def test_r81_backfill_is_for_flow_administrators_only(
    backfill_flow: Any, people: People, suzhou_supervisor: User
) -> None:
    with pytest.raises(PermissionDeniedError):
        backfill(people.initiator, backfill_flow, people)
    backfill_flow.owner_unit = OrgUnit.objects.get(code="G-CW")
    backfill_flow.save()
    with pytest.raises(PermissionDeniedError):
        backfill(suzhou_supervisor, backfill_flow, people)
    assert client_for(people.initiator).get("/workflow/backfill/").status_code == 403


def test_r81_backfill_refuses_a_future_time_and_someone_elses_scan(
    backfill_flow: Any, people: People
) -> None:
    with pytest.raises(DomainError, match="不能晚于现在"):
        backfill(people.admin, backfill_flow, people, decided_at=clock.now() + dt.timedelta(hours=1))
    with pytest.raises(DomainError, match="不是您上传的文件"):
        backfill(people.admin, backfill_flow, people, attachments=[scan(people.initiator)])


def test_r81_backfill_through_the_page(backfill_flow: Any, people: People) -> None:
    client: Client = client_for(people.admin)
    listing = client.get("/workflow/backfill/").content.decode()
    assert f"?flow={backfill_flow.pk}" in listing
    url = f"/workflow/backfill/?flow={backfill_flow.pk}"
    assert client.get(url).status_code == 200
    stored = scan(people.admin)
    post = {
        "request_id": "bf-1",
        "f.title": "线下用印",
        "f.amount": "500",
        "f.bf_decider": people.head.pk,
        "f.bf_scans": str(stored.key),
        "decided_at": "2026-01-05T10:30",
        "outcome": "approved",
        "reason": "",
        "level": "0",
    }
    refused = client.post(url, post)
    assert refused.status_code == 400
    assert "请填写补录原因" in refused.content.decode()
    response = client.post(url, {**post, "reason": "系统停机"})
    assert response.status_code == 302
    instance = Instance.objects.get(backfilled=True)
    assert response["Location"] == f"/workflow/instances/{instance.pk}/"
    assert instance.initiator_id == people.admin.pk
    file_url = f"/workflow/backfill/{instance.pk}/files/{stored.key}/"
    assert client.get(file_url).status_code == 200
    assert client_for(people.head).get(file_url).status_code == 200
    assert client_for(people.other).get(file_url).status_code == 404
    page = client.get(f"/workflow/instances/{instance.pk}/").content.decode()
    assert "线下决定：王经理 于 2026-01-05 10:30 已通过" in page
    assert file_url in page
