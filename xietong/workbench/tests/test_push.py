"""Business systems push to-dos into their users' workbenches (R-88): upsert by external id,
per-item results, the push permission, one user's items never shown to another, closing and
withdrawing, the content rules, and the notification that makes the page update live."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError
from django.test import Client

from tests.fixtures import client_for, grant_role, make_user
from xietong.audit.models import Event
from xietong.core import clock
from xietong.identity.models import ApiToken, User
from xietong.moderation import services as moderation
from xietong.moderation.models import ReviewItem, WordCategory
from xietong.notify.models import Notification
from xietong.org import builtin
from xietong.org.models import DataScope, OrgUnit
from xietong.workbench import audit_actions, services
from xietong.workbench.models import ExternalTodo
from xietong.workbench.tests.conftest import PUSH, Integration, People, api_account, call, todo

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 30, 1, 30, tzinfo=dt.UTC)


def home(user: User) -> str:
    response = client_for(user).get("/")
    assert response.status_code == 200
    return response.content.decode()


def todos_card(user: User) -> str:
    html = home(user)
    start = html.index('id="wb-todos"')
    return html[start : html.index("<section", start)]


def test_r88_to_do_pushed_by_api_shows_on_workbench(people: People, erp: Integration) -> None:
    """R-88: a to-do pushed through the integration API shows on the user's workbench."""
    response = erp.put(
        {
            "system": "erp",
            "system_name": "ERP 系统",
            "items": [
                todo(
                    "PO-2026-1128",
                    "zhangwei",
                    "采购申请 PO-2026-1128 待您审批",
                    detail="申请人：王芳 · 金额 ¥48,600.00",
                    due_at="2026-12-01T18:00:00+08:00",
                )
            ],
        }
    )
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["created"], answer["updated"], answer["failed"]) == (1, 0, 0)
    row = ExternalTodo.objects.get(system="erp", external_id="PO-2026-1128")
    assert answer["results"] == [
        {"external_id": "PO-2026-1128", "status": "created", "id": row.pk, "code": "", "message": ""}
    ]
    assert row.user == people.zhangwei
    assert row.pushed_by == erp.account

    card = todos_card(people.zhangwei)
    assert "采购申请 PO-2026-1128 待您审批" in card
    assert "ERP 系统 · 申请人：王芳 · 金额 ¥48,600.00" in card
    assert "业务系统待办" in card  # the source
    assert f'href="/workbench/todos/{row.pk}/"' in card

    # The user is told (the bell, the pop-up, and the open workbench refreshing on notify.new).
    notification = Notification.objects.select_related("dispatch").get(user=people.zhangwei)
    assert notification.dispatch.kind == services.KIND_TODO
    assert notification.dispatch.title == "【ERP 系统】采购申请 PO-2026-1128 待您审批"
    assert notification.dispatch.link == f"/workbench/todos/{row.pk}/"
    assert "办理期限：2026-12-01 18:00" in notification.dispatch.body

    opened = client_for(people.zhangwei).get(f"/workbench/todos/{row.pk}/")
    assert opened.status_code == 302
    assert opened["Location"] == "https://erp.example.com/tasks/PO-2026-1128"
    listing = client_for(people.zhangwei).get("/workbench/todos/").content.decode()
    assert "采购申请 PO-2026-1128 待您审批" in listing
    event = Event.objects.get(action=audit_actions.TODOS_PUSHED)
    assert event.details["created"] == 1
    assert event.actor_id == erp.account.pk


def test_push_again_updates_by_external_id_and_tells_the_page(
    people: People, erp: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    pushed: list[tuple[int, str, dict[str, Any]]] = []
    monkeypatch.setattr("xietong.core.events.push_to_users", lambda batch: pushed.extend(batch))
    erp.put({"system": "erp", "items": [todo("A-1", "zhangwei", "旧标题")]})
    answer = erp.put({"system": "erp", "items": [todo("A-1", "zhangwei", "新标题", urgent=True)]}).json()
    assert answer["updated"] == 1
    assert answer["created"] == 0
    row = ExternalTodo.objects.get()
    assert (row.title, row.urgent) == ("新标题", True)
    assert Notification.objects.filter(user=people.zhangwei).count() == 1  # only the new one notified
    assert (people.zhangwei.pk, services.EVENT_TODOS, {}) in pushed
    card = todos_card(people.zhangwei)
    assert "新标题" in card
    assert "旧标题" not in card
    assert "wb-badge-urgent" in card
    # Handing it to someone else takes it off the first person's page, and tells both pages.
    pushed.clear()
    erp.put({"system": "erp", "items": [todo("A-1", "wangfang", "新标题")]})
    assert {user_id for user_id, _kind, _data in pushed} == {people.zhangwei.pk, people.wangfang.pk}
    assert "新标题" not in todos_card(people.zhangwei)
    assert "新标题" in todos_card(people.wangfang)


def test_unknown_and_inactive_users_are_reported_per_item(people: People, erp: Integration) -> None:
    make_user("retired", name="退休人员", is_active=False)
    answer = erp.put(
        {
            "system": "erp",
            "items": [
                todo("B-1", "ZhangWei", "按用户名（不区分大小写）"),
                todo("B-2", "1002", "按工号"),
                todo("B-3", "nobody", "不存在的用户"),
                todo("B-4", "retired", "已停用的用户"),
            ],
        }
    ).json()
    assert answer["created"] == 2
    assert answer["failed"] == 2
    statuses = {r["external_id"]: (r["status"], r["code"]) for r in answer["results"]}
    assert statuses == {
        "B-1": ("created", ""),
        "B-2": ("created", ""),
        "B-3": ("failed", "unknown_user"),
        "B-4": ("failed", "unknown_user"),
    }
    assert "用户“nobody”不存在、已停用或不在本账号的推送范围内。" in [r["message"] for r in answer["results"]]
    assert dict(ExternalTodo.objects.values_list("external_id", "user__username")) == {
        "B-1": "zhangwei",
        "B-2": "wangfang",
    }


def test_bad_items_are_refused_one_by_one_in_chinese(people: People, erp: Integration) -> None:
    answer = erp.put(
        {
            "system": "erp",
            "items": [
                todo("C-1", "zhangwei", "脚本链接", link="javascript:alert(1)"),
                todo("C-2", "zhangwei", "FTP 链接", link="ftp://files.example.com/x"),
                todo("C-3", "zhangwei", "   "),
                todo("C/4", "zhangwei", "编号含斜杠"),
                todo("C-5", "zhangwei", "标" * 201),
                todo("C-6", "zhangwei", "正常的待办"),
                todo("C-6", "zhangwei", "同一批次重复的编号"),
            ],
        }
    ).json()
    results = answer["results"]
    assert [r["status"] for r in results] == ["failed"] * 5 + ["created", "failed"]
    assert "办理地址须为以 http:// 或 https:// 开头的完整网址" in results[0]["message"]
    assert "办理地址" in results[1]["message"]
    assert results[2]["message"] == "请填写待办标题。"
    assert "不能含空白或“/”" in results[3]["message"]
    assert "不能超过 200 个字符" in results[4]["message"]
    assert results[6]["code"] == "duplicate"
    assert list(ExternalTodo.objects.values_list("title", flat=True)) == ["正常的待办"]


def test_whole_batch_refusals(people: People, erp: Integration) -> None:
    bad_system = erp.put({"system": "ERP 系统", "items": [todo("D-1", "zhangwei", "x")]})
    assert bad_system.status_code == 400
    assert "业务系统编码" in bad_system.json()["error"]["message"]
    empty = erp.put({"system": "erp", "items": []})
    assert empty.status_code == 400
    assert empty.json()["error"]["message"] == "请至少提交一条待办。"
    too_many = erp.put({"system": "erp", "items": [todo(f"E-{n}", "zhangwei", "x") for n in range(201)]})
    assert too_many.status_code == 400
    assert "一次最多推送 200 条" in too_many.json()["error"]["message"]
    assert not ExternalTodo.objects.exists()


@pytest.mark.parametrize("who", ["no_role", "read_token", "session_employee", "anonymous"])
def test_only_an_integration_account_may_push(people: People, who: str) -> None:
    body = {"system": "erp", "items": [todo("F-1", "zhangwei", "不应出现的待办")]}
    if who == "no_role":
        response = api_account("plain_api", role=False).put(body)
        expected = 403
    elif who == "read_token":
        account = api_account("reader_api")
        from xietong.identity import services as identity_services

        _row, token = identity_services.api_token_create(
            user=account.account, name="只读", scope=ApiToken.Scope.READ, days=30
        )
        response = call("put", PUSH, token, body)
        expected = 403
    elif who == "session_employee":
        response = client_for(people.wangfang).put(PUSH, body, content_type="application/json")
        expected = 403
    else:
        response = Client().put(PUSH, body, content_type="application/json")
        expected = 401
    assert response.status_code == expected, response.content
    assert not ExternalTodo.objects.exists()
    assert not Notification.objects.exists()
    if who == "no_role":
        assert response.json()["error"]["code"] == "forbidden"
        assert "向工作台推送待办" in response.json()["error"]["message"]
        assert Event.objects.filter(action=audit_actions.TODOS_PUSHED, result="denied").exists()


def test_another_users_to_do_never_shows(people: People, erp: Integration) -> None:
    erp.put({"system": "erp", "items": [todo("G-1", "zhangwei", "张伟的保密待办")]})
    row = ExternalTodo.objects.get()
    assert "张伟的保密待办" not in home(people.wangfang)
    wangfang = client_for(people.wangfang)
    assert wangfang.get(f"/workbench/todos/{row.pk}/").status_code == 404
    assert "张伟的保密待办" not in wangfang.get("/workbench/todos/").content.decode()
    assert "张伟的保密待办" not in wangfang.get("/workbench/cards/todos/").content.decode()
    assert "张伟的保密待办" not in wangfang.get("/api/v1/workbench").content.decode()
    assert "张伟的保密待办" in client_for(people.zhangwei).get("/api/v1/workbench").content.decode()


def test_another_account_cannot_change_close_or_withdraw(people: People, erp: Integration) -> None:
    erp.put({"system": "erp", "items": [todo("H-1", "zhangwei", "ERP 的待办")]})
    other = api_account("intruder_api")
    answer = other.put({"system": "erp", "items": [todo("H-1", "zhangwei", "被篡改的标题")]}).json()
    assert answer["results"][0]["code"] == "forbidden"
    assert other.post("/api/v1/workbench/todos/erp/H-1/done").status_code == 404
    assert other.delete("/api/v1/workbench/todos/erp/H-1").status_code == 404
    row = ExternalTodo.objects.get()
    assert (row.title, row.done_at) == ("ERP 的待办", None)


def test_done_and_withdrawn_items_leave_the_workbench(people: People, erp: Integration) -> None:
    erp.put(
        {
            "system": "erp",
            "items": [todo("J-1", "zhangwei", "办结的待办"), todo("J-2", "zhangwei", "撤回的待办")],
        }
    )
    done = erp.post("/api/v1/workbench/todos/erp/J-1/done")
    assert done.status_code == 200
    assert done.json()["done_at"] is not None
    assert done.json()["user"] == "zhangwei"
    assert erp.delete("/api/v1/workbench/todos/erp/J-2").status_code == 204
    assert erp.delete("/api/v1/workbench/todos/erp/J-2").status_code == 404
    assert erp.post("/api/v1/workbench/todos/erp/NOPE/done").status_code == 404
    card = todos_card(people.zhangwei)
    assert "办结的待办" not in card
    assert "撤回的待办" not in card
    row = ExternalTodo.objects.get()
    assert client_for(people.zhangwei).get(f"/workbench/todos/{row.pk}/").status_code == 404
    assert Event.objects.filter(action=audit_actions.TODO_DELETED).count() == 1
    # Pushed again without done=true, it is open again; with done=true it closes.
    erp.put({"system": "erp", "items": [todo("J-1", "zhangwei", "办结的待办")]})
    assert "办结的待办" in todos_card(people.zhangwei)
    erp.put({"system": "erp", "items": [todo("J-1", "zhangwei", "办结的待办", done=True)]})
    assert "办结的待办" not in todos_card(people.zhangwei)


def test_urgent_and_overdue_pushed_to_dos_come_first(people: People, erp: Integration) -> None:
    with clock.frozen_at(NOW):
        erp.put(
            {
                "system": "erp",
                "items": [
                    todo("K-1", "zhangwei", "普通待办"),
                    todo("K-2", "zhangwei", "超期待办", due_at="2026-11-29T18:00:00+08:00"),
                    todo("K-3", "zhangwei", "急办待办", urgent=True),
                ],
            }
        )
        card = todos_card(people.zhangwei)
    order = [card.index(title) for title in ("急办待办", "超期待办", "普通待办")]
    assert order == sorted(order)
    assert "已超期" in card
    urgent = Notification.objects.select_related("dispatch").get(dispatch__title__contains="急办待办")
    assert urgent.dispatch.urgency == "urgent"


def test_titles_go_through_the_content_rules(people: People, erp: Integration, secadmin_user: User) -> None:
    blocking, _ = WordCategory.objects.get_or_create(name="违法违规", defaults={"default_action": "block"})
    holding, _ = WordCategory.objects.get_or_create(name="广告", defaults={"default_action": "hold"})
    moderation.word_create(actor=secadmin_user, word="违禁测试词", category=blocking, action="block")
    moderation.word_create(actor=secadmin_user, word="送审测试词", category=holding, action="hold")
    answer = erp.put(
        {
            "system": "erp",
            "items": [
                todo("L-1", "zhangwei", "含违禁测试词的待办"),
                todo("L-2", "zhangwei", "含送审测试词的待办"),
                todo("L-3", "zhangwei", "正常待办"),
            ],
        }
    ).json()
    assert [r["status"] for r in answer["results"]] == ["failed", "held", "created"]
    assert answer["results"][0]["code"] == "content_blocked"
    assert "“违禁测试词”" in answer["results"][0]["message"]
    card = todos_card(people.zhangwei)
    assert "正常待办" in card
    assert "送审测试词" not in card
    assert not Notification.objects.filter(
        user=people.zhangwei, dispatch__title__contains="送审测试词"
    ).exists()

    item = ReviewItem.objects.get(status=ReviewItem.Status.PENDING)
    moderation.review_approve(actor=secadmin_user, item=item)
    assert "含送审测试词的待办" in todos_card(people.zhangwei)
    assert Notification.objects.filter(user=people.zhangwei, dispatch__title__contains="送审测试词").exists()


def test_a_held_title_rejected_never_shows(people: People, erp: Integration, secadmin_user: User) -> None:
    holding, _ = WordCategory.objects.get_or_create(name="广告", defaults={"default_action": "hold"})
    moderation.word_create(actor=secadmin_user, word="送审测试词", category=holding, action="hold")
    erp.put({"system": "erp", "items": [todo("M-1", "zhangwei", "送审测试词")]})
    moderation.review_reject(actor=secadmin_user, item=ReviewItem.objects.get(), note="广告")
    assert ExternalTodo.objects.get().review == ExternalTodo.Review.REJECTED
    assert "送审测试词" not in todos_card(people.zhangwei)


def test_a_department_scoped_account_pushes_only_inside_its_departments(
    people: People, org_tree: dict[str, OrgUnit]
) -> None:
    account = api_account("east_api", role=False)
    grant_role(account.account, builtin.INTEGRATION, scope=DataScope.LISTED, units=[org_tree["east"]])
    answer = account.put(
        {
            "system": "mes",
            "items": [todo("N-1", "zhaolei", "检修工单"), todo("N-2", "zhangwei", "越权的待办")],
        }
    ).json()
    assert [r["status"] for r in answer["results"]] == ["created", "failed"]
    assert answer["results"][1]["code"] == "unknown_user"


def test_the_workbench_api_for_mobile_clients(people: People, erp: Integration) -> None:
    erp.put(
        {"system": "erp", "system_name": "ERP 系统", "items": [todo("P-1", "zhangwei", "移动端可见的待办")]}
    )
    response = client_for(people.zhangwei).get("/api/v1/workbench")
    assert response.status_code == 200
    data = response.json()
    assert data["todos"]["count"] == 1
    assert data["todos"]["items"][0]["title"] == "移动端可见的待办"
    assert data["todos"]["items"][0]["source_label"] == "业务系统待办"
    source = data["todos"]["sources"][0]
    assert (source["key"], source["count"], source["more"]) == ("workbench.external", 1, "/workbench/todos/")
    assert data["notifications"]["unread"] == 1
    assert data["notifications"]["items"][0]["link"].startswith("/notifications/")
    assert {m["slug"] for m in data["modules"]} >= {"notify", "directory"}
    assert data["schedule"] == []
    assert data["feeds"] == []
    assert data["unavailable"] == []
    # The same with the user's own token, as a mobile client signs in.
    assert call("get", "/api/v1/workbench", erp.token).status_code == 200
    assert Client().get("/api/v1/workbench").status_code == 401


def test_a_batch_for_one_person_is_told_in_one_notification_urgent_ones_apart(
    people: People, erp: Integration
) -> None:
    erp.put(
        {
            "system": "erp",
            "system_name": "ERP 系统",
            "items": [todo(f"Q-{n}", "zhangwei", f"月度对账单 {n}") for n in range(12)]
            + [todo("Q-U", "zhangwei", "急：付款审批", urgent=True), todo("Q-W", "wangfang", "王芳的待办")],
        }
    )
    titles = sorted(Notification.objects.values_list("user__username", "dispatch__title"))
    assert titles == [
        ("wangfang", "【ERP 系统】王芳的待办"),
        ("zhangwei", "【ERP 系统】急：付款审批"),
        ("zhangwei", "【ERP 系统】您有 12 条新待办"),
    ]
    grouped = Notification.objects.select_related("dispatch").get(dispatch__title__contains="12 条")
    assert grouped.dispatch.link == "/workbench/todos/"
    assert grouped.dispatch.body.splitlines()[0] == "· 月度对账单 0"
    assert grouped.dispatch.body.splitlines()[-1] == "……共 12 条"


def test_a_push_that_loses_a_race_stores_nothing_and_says_so(
    people: People, erp: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    def collide(*args: Any, **kwargs: Any) -> Any:
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(ExternalTodo.objects, "bulk_create", collide)
    response = erp.put({"system": "erp", "items": [todo("R-1", "zhangwei", "并发推送")]})
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "同一待办正被同时推送，本次未保存，请重新提交。"
    assert not Notification.objects.exists()
    assert not Event.objects.filter(action=audit_actions.TODOS_PUSHED, result="success").exists()
