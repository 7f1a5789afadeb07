"""The inbox page at ``/workflow/``: the five boxes and their counts, filters and search kept
in the links, the live fragment, and 批量同意 — with the denials: another user's items never
show, someone else's item cannot be approved, no permission no page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.fixtures import client_for, grant_role, make_user
from xietong.core import clock
from xietong.org import builtin
from xietong.workflow import selectors, services
from xietong.workflow.models import FlowDefinition, Instance, InstanceState, WorkItem
from xietong.workflow.tests.conftest import People, act, approval, item_of, pending, publish, rid, start
from xietong.workflow.views.inbox import approve_batch, due_text

pytestmark = pytest.mark.django_db


def batch_flow(people: People, **extra: Any) -> FlowDefinition:
    """王经理 approves, then 赵总; 王经理's step allows 批量同意."""
    return publish(
        {"nodes": [approval("n1", [people.head.pk], batch=True, **extra), approval("n2", [people.boss.pk])]},
        name="费用报销",
    )


@pytest.fixture
def flow(people: People) -> FlowDefinition:
    return batch_flow(people)


def ids_on(page: str, attribute: str = "data-instance-id") -> list[int]:
    return [int(value) for value in re.findall(rf'{attribute}="(\d+)"', page)]


def get(user: Any, query: str = "") -> str:
    response = client_for(user).get(f"/workflow/{query}")
    assert response.status_code == 200
    return response.content.decode()


# --------------------------------------------------------------------------- the boxes


def test_r75_todo_lists_my_items_urgent_then_overdue_with_counts(
    people: People, flow: FlowDefinition
) -> None:
    normal = start(people.initiator, flow, title="普通报销")
    urgent = services.instance_start(
        actor=people.initiator, flow=flow, data={"title": "急件报销"}, urgent=True, request_id=rid()
    )
    late = start(people.initiator, flow, title="超时报销")
    WorkItem.objects.filter(instance=late).update(due_at=clock.now() - dt.timedelta(hours=3))
    page = get(people.head)
    assert ids_on(page) == [urgent.pk, late.pk, normal.pk]
    assert 'data-count="todo">3<' in page
    assert "急办 1" in page
    assert "超时 1" in page
    assert "已超时 3 小时" in page
    assert f'href="/workflow/instances/{normal.pk}/"' in page
    assert "张伟 · 生产技术部" in page
    assert "当前环节：审批n1" in page


def test_another_users_items_never_appear(people: People, flow: FlowDefinition) -> None:
    instance = start(people.initiator, flow, title="王经理的待办")
    for box in ("todo", "done", "mine", "cc", "read"):
        assert instance.pk not in ids_on(get(people.other, f"?box={box}")), box
        assert instance.pk not in ids_on(get(people.boss, f"?box={box}")), box
    assert 'data-count="todo"' not in get(people.boss)


def test_done_mine_cc_and_read_boxes(people: People) -> None:
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
    instance = start(people.initiator, flow, title="合同会审")
    act("approve", instance, people.head, opinion="同意")
    done = get(people.head, "?box=done")
    assert ids_on(done) == [instance.pk]
    assert "已同意" in done
    mine = get(people.initiator, "?box=mine")
    assert ids_on(mine) == [instance.pk]
    assert "已通过" in mine
    cc = get(people.legal, "?box=cc")
    assert ids_on(cc) == [instance.pk]
    assert "未阅" in cc
    assert 'data-count="cc">1<' in cc
    services.circulate(actor=people.head, instance=instance, request_id=rid(), users=[people.finance1])
    read = get(people.finance1, "?box=read")
    assert ids_on(read) == [instance.pk]
    assert ids_on(get(people.finance1, "?box=cc")) == []


def test_an_unknown_box_falls_back_to_todo(people: People, flow: FlowDefinition) -> None:
    instance = start(people.initiator, flow)
    assert ids_on(get(people.head, "?box=../../etc")) == [instance.pk]


# --------------------------------------------------------------------------- filters


def test_filters_by_flow_initiator_urgency_overdue_and_dates(people: People, flow: FlowDefinition) -> None:
    other_flow = publish({"nodes": [approval("n1", [people.head.pk])]}, name="用印申请")
    first = start(people.initiator, flow, title="差旅费报销")
    seal = start(people.legal, other_flow, title="合同用印")
    urgent = services.instance_start(
        actor=people.initiator, flow=flow, data={"title": "急需报销"}, urgent=True, request_id=rid()
    )
    WorkItem.objects.filter(instance=first).update(
        due_at=clock.now() - dt.timedelta(hours=1), created_at=clock.now() - dt.timedelta(days=10)
    )
    assert ids_on(get(people.head, f"?flow={other_flow.pk}")) == [seal.pk]
    assert set(ids_on(get(people.head, "?initiator=周法务"))) == {seal.pk}
    assert set(ids_on(get(people.head, "?initiator=zhangwei"))) == {first.pk, urgent.pk}
    assert ids_on(get(people.head, "?urgent=1")) == [urgent.pk]
    assert ids_on(get(people.head, "?overdue=1")) == [first.pk]
    # The dates of the filter are Beijing's, whatever the hour of the run.
    today = clock.localdate()
    old = timezone.localtime(clock.now() - dt.timedelta(days=10)).date()
    assert ids_on(get(people.head, f"?until={old.isoformat()}")) == [first.pk]
    recent = get(people.head, f"?since={(today - dt.timedelta(days=1)).isoformat()}")
    assert set(ids_on(recent)) == {seal.pk, urgent.pk}
    # Nonsense is ignored rather than refused.
    assert len(ids_on(get(people.head, "?flow=abc&since=yesterday&until=--"))) == 3


def test_search_by_title_or_serial(people: People, flow: FlowDefinition) -> None:
    travel = start(people.initiator, flow, title="差旅费报销")
    start(people.initiator, flow, title="办公用品采购")
    travel.refresh_from_db()
    assert ids_on(get(people.head, "?q=差旅")) == [travel.pk]
    assert ids_on(get(people.head, f"?q={travel.serial}")) == [travel.pk]
    assert "没有符合条件的审批" in get(people.head, "?q=不存在的词")


def test_filters_stay_in_pagination_and_tab_links(people: People, flow: FlowDefinition) -> None:
    for number in range(22):
        start(people.initiator, flow, title=f"报销{number}")
    page = get(people.head, "?q=报销&urgent=&flow=" + str(flow.pk))
    assert f"q=%E6%8A%A5%E9%94%80&amp;urgent=&amp;flow={flow.pk}&amp;page=2" in page
    assert f'href="?box=done&amp;q=%E6%8A%A5%E9%94%80&amp;urgent=&amp;flow={flow.pk}"' in page
    second = get(people.head, f"?q=报销&flow={flow.pk}&page=2")
    assert len(ids_on(second)) == 2


def test_todo_queries_do_not_grow_with_the_rows(
    people: People, flow: FlowDefinition, django_assert_max_num_queries: Any
) -> None:
    client = client_for(people.head)
    for number in range(5):
        start(people.initiator, flow, title=f"申请{number}")
    client.get("/workflow/")
    with django_assert_max_num_queries(30) as few:
        assert client.get("/workflow/").status_code == 200
    allowed = len(few)  # now: the next request clears the connection's query log
    for number in range(45):
        start(people.initiator, flow, title=f"更多申请{number}")
    # Time-limited caches (the password policy, the lexicon token) may have expired while
    # the rows were written; refill them so that only the rows differ.
    client.get("/workflow/")
    with django_assert_max_num_queries(allowed):
        page = client.get("/workflow/").content.decode()
    assert len(ids_on(page)) == 20


@pytest.mark.parametrize("box", ["done", "mine", "cc"])
def test_other_boxes_queries_do_not_grow_with_the_rows(
    people: People, flow: FlowDefinition, box: str, django_assert_max_num_queries: Any
) -> None:
    user = {"done": people.head, "mine": people.initiator, "cc": people.legal}[box]
    route = {"nodes": [approval("n1", [people.head.pk])]}
    route["nodes"].insert(
        0, {"id": "c", "type": "cc", "recipients": {"kind": "users", "ids": [people.legal.pk]}}
    )
    cc_flow = publish(route)

    def add(count: int) -> None:
        for _number in range(count):
            instance = start(people.initiator, cc_flow)
            act("approve", instance, people.head)

    add(3)
    client = client_for(user)
    client.get(f"/workflow/?box={box}")
    with django_assert_max_num_queries(30) as few:
        client.get(f"/workflow/?box={box}")
    allowed = len(few)  # now: the next request clears the connection's query log
    add(12)
    client.get(f"/workflow/?box={box}")  # per-process caches refilled after the writes
    with django_assert_max_num_queries(allowed):
        assert len(ids_on(client.get(f"/workflow/?box={box}").content.decode())) == 15


# --------------------------------------------------------------------------- live part


def test_the_live_fragment_has_the_list_and_the_tab_counts(people: People, flow: FlowDefinition) -> None:
    client = client_for(people.head)
    page = client.get("/workflow/").content.decode()
    assert "xietong:event[detail.type=='notify.new'" in page
    instance = start(people.initiator, flow)
    fragment = client.get("/workflow/", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment
    assert 'id="inbox-tabs"' in fragment
    assert 'hx-swap-oob="true"' in fragment
    assert 'data-count="todo">1<' in fragment
    assert ids_on(fragment) == [instance.pk]


# --------------------------------------------------------------------------- permissions


def test_no_permission_no_page(people: People) -> None:
    admin = make_user("sysadmin2", name="系统管理员")
    grant_role(admin, builtin.SYSTEM_ADMIN)
    from xietong.core import access

    if access.can(admin, "workflow.use"):
        pytest.skip("the 三员 accounts hold workflow.use in this configuration")
    for path in ("/workflow/", "/workflow/delegations/", "/workflow/phrases/", "/workflow/people/?q=张"):
        assert client_for(admin).get(path).status_code == 403, path
    assert client_for(admin).post("/workflow/batch/", {"items": ["1"]}).status_code == 403
    assert Client().get("/workflow/").status_code == 302


def test_the_navigation_leads_to_the_inbox(people: People) -> None:
    page = get(people.head)
    assert 'href="/workflow/"' in page


# --------------------------------------------------------------------------- 批量同意


def test_due_text() -> None:
    now = clock.now()
    assert due_text(None, now) == ""
    assert due_text(now + dt.timedelta(minutes=30), now) == "剩 30 分钟"
    assert due_text(now + dt.timedelta(hours=5, minutes=10), now) == "剩 5 小时"
    assert due_text(now - dt.timedelta(days=3), now) == "已超时 3 天"


def test_checkboxes_only_on_items_whose_step_allows_batch(people: People, flow: FlowDefinition) -> None:
    plain = publish({"nodes": [approval("n1", [people.head.pk])]})
    opinion = batch_flow(people, opinion_required=["approve"])
    signed = batch_flow(people, signature=True)
    filled = publish(
        {
            "nodes": [
                approval("n1", [people.head.pk], batch=True, field_permissions={"note": "required"}),
            ]
        }
    )
    ok = start(people.initiator, flow, title="可批量")
    others = [start(people.initiator, f, title="逐项") for f in (plain, opinion, signed, filled)]
    page = get(people.head)
    boxes = re.findall(r'name="items" value="(\d+)"', page)
    assert boxes == [str(item_of(ok, people.head).pk)]
    assert len(ids_on(page)) == 1 + len(others)
    assert "批量同意" in page


def test_batch_approve_happy_path(people: People, flow: FlowDefinition) -> None:
    first, second = (
        start(people.initiator, flow, title="报销一"),
        start(people.initiator, flow, title="报销二"),
    )
    items = [item_of(first, people.head), item_of(second, people.head)]
    response = client_for(people.head).post(
        "/workflow/batch/",
        {
            "items": [str(item.pk) for item in items],
            "opinion": "同意报销",
            "request_id": "batch-1",
            "next": "/workflow/?q=报销",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/workflow/?q=%E6%8A%A5%E9%94%80"
    assert "已同意 2 项" in response.content.decode()
    for item in items:
        item.refresh_from_db()
        assert item.state == WorkItem.State.APPROVED
        assert item.opinion == "同意报销"
        assert item.request_id == f"batch-1.{item.pk}"
    assert [len(pending(instance, people.boss)) for instance in (first, second)] == [1, 1]
    # The same batch sent again (a double click) reports the same and changes nothing.
    again = client_for(people.head).post(
        "/workflow/batch/", {"items": [str(item.pk) for item in items], "request_id": "batch-1"}, follow=True
    )
    assert "已同意 2 项。" in again.content.decode()
    assert selectors.todo(people.boss).count() == 2
    assert WorkItem.objects.filter(assignee=people.boss).count() == 2
    # Another batch with the same items is told they are done already.
    other = client_for(people.head).post(
        "/workflow/batch/", {"items": [str(item.pk) for item in items], "request_id": "batch-2"}, follow=True
    )
    assert "已同意 0 项，2 项未处理" in other.content.decode()


def test_a_mixed_batch_one_refused_the_others_pass(people: People, flow: FlowDefinition) -> None:
    good = start(people.initiator, flow, title="正常报销")
    withdrawn = start(people.initiator, flow, title="将被撤回")
    later = start(people.initiator, flow, title="另一笔报销")
    items = [item_of(instance, people.head) for instance in (good, withdrawn, later)]
    services.withdraw(actor=people.initiator, instance=withdrawn, request_id=rid())
    response = client_for(people.head).post(
        "/workflow/batch/", {"items": [str(item.pk) for item in items], "request_id": "mixed"}, follow=True
    )
    text = response.content.decode()
    assert "已同意 2 项，1 项未处理" in text
    states = {item.instance_id: WorkItem.objects.get(pk=item.pk).state for item in items}
    assert states[good.pk] == states[later.pk] == WorkItem.State.APPROVED
    assert states[withdrawn.pk] == WorkItem.State.CANCELLED


def test_a_refusal_by_the_service_is_reported_per_item(
    people: People, flow: FlowDefinition, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = start(people.initiator, flow, title="正常报销")
    closed = start(people.initiator, flow, title="已被终止")
    items = [item_of(good, people.head), item_of(closed, people.head)]
    # The request ends between the check and the approval: the service refuses that one, the
    # other passes.
    monkeypatch.setattr(selectors, "batch_approvable", lambda rows: {item.pk for item in rows})
    Instance.objects.filter(pk=closed.pk).update(state=InstanceState.TERMINATED)
    result = approve_batch(people.head, [item.pk for item in items], "", "svc")
    assert [item.pk for item in result.approved] == [items[0].pk]
    assert len(result.refused) == 1
    assert "已结束" in result.refused[0][1]


def test_someone_elses_item_in_the_post_is_refused(people: People, flow: FlowDefinition) -> None:
    mine = start(people.initiator, flow, title="我的待办")
    theirs = start(people.initiator, flow, title="别人的待办")
    act("approve", theirs, people.head)
    boss_item = item_of(theirs, people.boss)
    head_item = item_of(mine, people.head)
    response = client_for(people.head).post(
        "/workflow/batch/", {"items": [str(boss_item.pk), str(head_item.pk)], "request_id": "x"}, follow=True
    )
    text = response.content.decode()
    assert "已同意 1 项，1 项未处理" in text
    assert "不是您的待办事项" in text
    boss_item.refresh_from_db()
    assert boss_item.state == WorkItem.State.PENDING
    # Only someone else's: nothing changes at all.
    alone = client_for(people.other).post("/workflow/batch/", {"items": [str(boss_item.pk)]}, follow=True)
    assert "已同意 0 项，1 项未处理" in alone.content.decode()
    boss_item.refresh_from_db()
    assert boss_item.state == WorkItem.State.PENDING


def test_an_item_whose_step_forbids_batch_is_refused(people: People) -> None:
    plain = publish({"nodes": [approval("n1", [people.head.pk])]})
    instance = start(people.initiator, plain)
    item = item_of(instance, people.head)
    text = (
        client_for(people.head)
        .post("/workflow/batch/", {"items": [str(item.pk)]}, follow=True)
        .content.decode()
    )
    assert "该环节不允许批量同意" in text
    item.refresh_from_db()
    assert item.state == WorkItem.State.PENDING


def test_bad_batch_input(people: People, flow: FlowDefinition) -> None:
    client = client_for(people.head)
    assert "请先勾选" in client.post("/workflow/batch/", {"items": ["x", "-1"]}, follow=True).content.decode()
    many = [str(number) for number in range(1, 60)]
    assert (
        "一次最多批量同意 50 项"
        in client.post("/workflow/batch/", {"items": many}, follow=True).content.decode()
    )
    instance = start(people.initiator, flow)
    item = item_of(instance, people.head)
    long = client.post("/workflow/batch/", {"items": [str(item.pk)], "opinion": "长" * 2001}, follow=True)
    assert "意见不能超过" in long.content.decode()
    item.refresh_from_db()
    assert item.state == WorkItem.State.PENDING
    # An outside "next" is not followed.
    away = client.post("/workflow/batch/", {"items": [], "next": "https://evil.example/"})
    assert away["Location"] == "/workflow/"
    assert client.get("/workflow/batch/").status_code == 405


def test_the_unfiltered_todo_pages_count_from_the_badge(
    people: People, flow: FlowDefinition, django_assert_max_num_queries: Any
) -> None:
    for number in range(22):
        start(people.initiator, flow, title=f"申请{number}")
    get(people.head, "")
    with django_assert_max_num_queries(40) as unfiltered:
        assert len(ids_on(get(people.head, "?page=2"))) == 2
    counted = len(unfiltered)
    with django_assert_max_num_queries(40) as filtered:
        assert len(ids_on(get(people.head, "?q=申请&page=2"))) == 2
    # The filtered page counts its rows itself; the unfiltered one reads the 待办 badge.
    assert len(filtered) == counted + 1
