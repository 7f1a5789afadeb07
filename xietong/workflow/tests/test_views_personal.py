"""The 委托 and 常用意见 pages: creating and ending a delegation through the form, the
colleague search of its picker, adding, reordering and deleting phrases — and the denials:
another user's delegation or phrase cannot be touched, bad input changes nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from tests.fixtures import client_for
from xietong.core import clock
from xietong.workflow import services
from xietong.workflow.models import Delegation, Phrase
from xietong.workflow.tests.conftest import People, approval, item_of, publish, rid, start

pytestmark = pytest.mark.django_db

LOCAL = "%Y-%m-%dT%H:%M"


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime(LOCAL)


def form(people: People, **changes: Any) -> dict[str, Any]:
    now = clock.now()
    data: dict[str, Any] = {
        "delegate": str(people.finance1.pk),
        "starts_at": local(now - dt.timedelta(minutes=5)),
        "ends_at": local(now + dt.timedelta(days=3)),
        "reason": "出差",
        "request_id": "deleg-1",
    }
    data.update(changes)
    return data


# --------------------------------------------------------------------------- 委托


def test_a_delegation_through_the_form_routes_new_items(people: People) -> None:
    flow = publish({"nodes": [approval("n1", [people.head.pk])]}, name="请假申请")
    client = client_for(people.head)
    page = client.get("/workflow/delegations/").content.decode()
    assert "新建委托" in page
    assert "请假申请" in page
    response = client.post("/workflow/delegations/", form(people, flows=[str(flow.pk)]), follow=True)
    assert "已委托 钱财务 处理您的审批" in response.content.decode()
    delegation = Delegation.objects.get(principal=people.head)
    assert delegation.delegate == people.finance1
    assert list(delegation.definitions.all()) == [flow]
    page = client.get("/workflow/delegations/").content.decode()
    assert "委托给 钱财务" in page
    assert "生效中" in page
    assert "出差" in page
    # The delegate sees it too, and gets the new item.
    assert "王经理 委托给我" in client_for(people.finance1).get("/workflow/delegations/").content.decode()
    instance = start(people.initiator, flow)
    assert item_of(instance, people.finance1).delegated_from == people.head
    inbox = client_for(people.finance1).get("/workflow/").content.decode()
    assert "代 王经理 审批" in inbox
    # Sent twice (a double click): one delegation.
    client.post("/workflow/delegations/", form(people, flows=[str(flow.pk)]))
    assert Delegation.objects.filter(principal=people.head).count() == 1


def test_ending_a_delegation_early(people: People) -> None:
    client = client_for(people.head)
    client.post("/workflow/delegations/", form(people))
    delegation = Delegation.objects.get(principal=people.head)
    # Not the delegate's to end, nor anyone else's.
    for other in (people.finance1, people.other):
        assert client_for(other).post(f"/workflow/delegations/{delegation.pk}/end/").status_code == 404
    assert Delegation.objects.get(pk=delegation.pk).is_active
    response = client.post(f"/workflow/delegations/{delegation.pk}/end/", follow=True)
    assert "委托已结束" in response.content.decode()
    assert not Delegation.objects.get(pk=delegation.pk).is_active
    assert "已结束" in client.get("/workflow/delegations/").content.decode()
    assert client.get(f"/workflow/delegations/{delegation.pk}/end/").status_code == 405


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"delegate": ""}, "请选择受托人"),
        ({"delegate": "999999"}, "所选受托人不存在或已停用"),
        ({"starts_at": "明天"}, "请输入有效的日期和时间"),
        ({"ends_at": ""}, "请填写时间"),
        ({"flows": ["999999"]}, "所选流程不存在"),
        ({"reason": "长" * 201}, "事由不能超过 200 个字"),
        ({"delegate": "self"}, "不能委托给自己"),
        ({"ends_at": "2020-01-01T08:00", "starts_at": "2019-12-01T08:00"}, "委托结束时间须晚于现在"),
        ({"starts_at": "2030-01-02T08:00", "ends_at": "2030-01-01T08:00"}, "委托结束时间须晚于开始时间"),
    ],
)
def test_bad_delegation_input_is_named_and_changes_nothing(
    people: People, changes: dict[str, Any], message: str
) -> None:
    if changes.get("delegate") == "self":
        changes = {"delegate": str(people.head.pk)}
    response = client_for(people.head).post("/workflow/delegations/", form(people, **changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Delegation.objects.exists()


def test_people_search_for_the_picker(people: People) -> None:
    client = client_for(people.head)
    found = json.loads(client.get("/workflow/people/?q=钱").content)["results"]
    assert [person["name"] for person in found] == ["钱财务"]
    assert found[0]["unit"] == "财务部"
    assert json.loads(client.get("/workflow/people/?q=").content)["results"] == []
    # Not oneself.
    assert json.loads(client.get("/workflow/people/?q=王经理").content)["results"] == []


# --------------------------------------------------------------------------- 常用意见


def test_phrases_add_reorder_delete(people: People) -> None:
    client = client_for(people.head)
    assert "还没有常用意见" in client.get("/workflow/phrases/").content.decode()
    for text in ("同意。", "请补充材料。", "已阅。"):
        assert client.post("/workflow/phrases/", {"text": text}).status_code == 302
    assert [p.text for p in Phrase.objects.filter(user=people.head).order_by("order")] == [
        "同意。",
        "请补充材料。",
        "已阅。",
    ]
    last = Phrase.objects.get(user=people.head, text="已阅。")
    client.post(f"/workflow/phrases/{last.pk}/move/", {"direction": "up"})
    first = Phrase.objects.get(user=people.head, text="同意。")
    client.post(f"/workflow/phrases/{first.pk}/move/", {"direction": "up"})  # already first: stays
    page = client.get("/workflow/phrases/").content.decode()
    assert page.index("同意。") < page.index("已阅。") < page.index("请补充材料。")
    client.post(f"/workflow/phrases/{first.pk}/move/", {"direction": "down"})
    assert [p.text for p in Phrase.objects.filter(user=people.head).order_by("order")] == [
        "已阅。",
        "同意。",
        "请补充材料。",
    ]
    response = client.post(f"/workflow/phrases/{first.pk}/delete/", follow=True)
    assert "已删除常用意见" in response.content.decode()
    assert not Phrase.objects.filter(pk=first.pk).exists()


def test_phrases_offered_in_the_batch_bar(people: People) -> None:
    services.phrase_create(actor=people.head, text="同意，请按规定办理。")
    flow = publish({"nodes": [approval("n1", [people.head.pk], batch=True)]})
    start(people.initiator, flow)
    page = client_for(people.head).get("/workflow/").content.decode()
    assert '<option value="同意，请按规定办理。">' in page


def test_bad_phrases_are_refused(people: People) -> None:
    client = client_for(people.head)
    client.post("/workflow/phrases/", {"text": "同意。"})
    duplicate = client.post("/workflow/phrases/", {"text": "同意。"})
    assert duplicate.status_code == 400
    assert "已有相同的常用意见" in duplicate.content.decode()
    assert "请填写常用意见" in client.post("/workflow/phrases/", {"text": "  "}).content.decode()
    assert "不能超过 200 个字" in client.post("/workflow/phrases/", {"text": "长" * 201}).content.decode()
    assert Phrase.objects.filter(user=people.head).count() == 1


def test_another_users_phrase_cannot_be_touched(people: People) -> None:
    phrase = services.phrase_create(actor=people.head, text="同意。")
    other = client_for(people.other)
    assert other.post(f"/workflow/phrases/{phrase.pk}/delete/").status_code == 404
    assert other.post(f"/workflow/phrases/{phrase.pk}/move/", {"direction": "down"}).status_code == 404
    assert "同意。" not in other.get("/workflow/phrases/").content.decode()
    assert Phrase.objects.filter(pk=phrase.pk).exists()


def test_the_delegation_list_keeps_a_fixed_number_of_queries(
    people: People, django_assert_max_num_queries: Any
) -> None:
    client = client_for(people.head)
    flows = [publish({"nodes": [approval("n1", [people.head.pk])]}, name=f"流程{n}") for n in range(4)]
    services.delegation_create(
        actor=people.head,
        request_id=rid(),
        delegate=people.finance1,
        starts_at=clock.now(),
        ends_at=clock.now() + dt.timedelta(days=1),
        flows=flows[:1],
    )
    client.get("/workflow/delegations/")
    with django_assert_max_num_queries(30) as few:
        client.get("/workflow/delegations/")
    for number in range(1, 4):
        services.delegation_create(
            actor=people.head,
            request_id=rid(),
            delegate=people.finance2,
            starts_at=clock.now() + dt.timedelta(days=number * 2),
            ends_at=clock.now() + dt.timedelta(days=number * 2 + 1),
            flows=flows[number : number + 1],
        )
    with django_assert_max_num_queries(len(few)):
        assert client.get("/workflow/delegations/").status_code == 200
