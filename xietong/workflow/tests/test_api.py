"""The approvals REST API: the same rules as the engine, in JSON, for people and for business
systems with a personal access token — every denial, the idempotency keys, the 409 on a stale
``lock_version`` and the per-field 422 of bad form data."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from tests.fixtures import client_for
from xietong.api import api
from xietong.audit.models import Event
from xietong.core import access
from xietong.identity import services as identity_services
from xietong.identity.models import User
from xietong.org.models import Role
from xietong.workflow.models import Action, FlowDefinition, Instance, WorkItem
from xietong.workflow.tests.conftest import People, approval, item_of, publish

pytestmark = pytest.mark.django_db

BASE = "/api/v1/workflow"


def post(client: Client, path: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    return client.post(
        f"{BASE}{path}", json.dumps(body or {}), content_type="application/json", headers=headers
    )


def get(client: Client, path: str) -> Any:
    return client.get(f"{BASE}{path}")


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content.decode()
    return response.json()


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content.decode()
    body: dict[str, Any] = response.json()["error"]
    return body


def written() -> tuple[int, int, int, int]:
    """What an idempotent retry or a refused request must leave as it was."""
    return (Instance.objects.count(), WorkItem.objects.count(), Action.objects.count(), Event.objects.count())


def png(name: str = "签名.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 16), (10, 10, 10)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def flow(people: People) -> FlowDefinition:
    """王经理 approves, then 钱财务 or 孙财务 (或签)."""
    return publish(
        {
            "nodes": [
                approval("n1", [people.head.pk], opinion_required=["reject", "return"]),
                approval("n2", [people.finance1.pk, people.finance2.pk], "any"),
            ]
        },
        name="采购申请",
        category="finance",
    )


def submit(client: Client, flow: FlowDefinition, **changes: Any) -> dict[str, Any]:
    body = {"flow_id": flow.pk, "data": {"title": "采购笔记本电脑", "amount": "8999.5", "reason": "新员工"}}
    body.update(changes)
    result: dict[str, Any] = ok(post(client, "/instances", body), 201)
    return result


def todo_of(client: Client) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(get(client, "/items?box=todo"))["items"]
    return items


# --------------------------------------------------------------------------- the schema


def test_openapi_schema_builds_and_the_docs_render(people: People) -> None:
    schema = api.get_openapi_schema()
    paths = set(schema["paths"])
    for path in (
        "/api/v1/workflow/flows",
        "/api/v1/workflow/instances",
        "/api/v1/workflow/instances/{instance_id}/withdraw",
        "/api/v1/workflow/items",
        "/api/v1/workflow/items/{item_id}/add-sign",
        "/api/v1/workflow/counts",
        "/api/v1/workflow/files",
    ):
        assert path in paths
    client = client_for(people.initiator)
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/docs").status_code == 200


# --------------------------------------------------------------------------- happy paths


def test_r74_start_approve_and_follow_a_request(people: People, flow: FlowDefinition) -> None:
    zhang, wang, qian = (client_for(u) for u in (people.initiator, people.head, people.finance1))
    flows = {f["code"]: f for f in ok(get(zhang, "/flows"))["items"]}
    assert flows[flow.code]["category_label"] == "财务"
    assert [f["key"] for f in flows[flow.code]["fields"]] == ["title", "reason", "amount", "note"]
    detail = ok(get(zhang, f"/flows/{flow.pk}"))
    assert detail["form"]["fields"][0]["label"] == "标题"
    assert detail["choose_nodes"] == []

    created = submit(zhang, flow, urgent=True)
    assert (created["state"], created["urgent"], created["title"]) == ("running", True, "采购笔记本电脑")
    assert created["serial"].startswith("SP-")
    assert created["url"] == f"/workflow/instances/{created['id']}/"
    assert [s["node_id"] for s in created["current_steps"]] == ["n1"]
    assert [h["user"]["name"] for h in created["current_steps"][0]["holders"]] == ["王经理"]
    assert created["timeline"][0]["kind"] == "start"
    assert created["my_item"] is None

    counts = ok(get(wang, "/counts"))
    assert (counts["todo"], counts["urgent"], counts["overdue"]) == (1, 1, 0)
    [item] = todo_of(wang)
    assert (item["instance"]["id"], item["node_name"], item["urgent"]) == (created["id"], "审批n1", True)
    seen = ok(get(wang, f"/instances/{created['id']}"))
    assert seen["my_item"]["item_id"] == item["id"]
    assert seen["my_item"]["opinion_required"] == ["reject", "return"]
    assert [t["target"] for t in seen["my_item"]["return_targets"]] == ["initiator"]

    approved = ok(
        post(wang, f"/items/{item['id']}/approve", {"opinion": "同意", "lock_version": seen["lock_version"]})
    )
    assert [s["node_id"] for s in approved["current_steps"]] == ["n2"]
    assert todo_of(wang) == []
    assert ok(get(wang, "/items?box=done"))["items"][0]["opinion"] == "同意"

    [item2] = todo_of(qian)
    done = ok(post(qian, f"/items/{item2['id']}/approve", {}))
    assert done["state"] == "approved"
    assert [a["kind"] for a in done["timeline"]][:3] == ["start", "approve", "approve"]
    mine = ok(get(zhang, "/instances"))
    assert (mine["count"], mine["items"][0]["state"], mine["items"][0]["state_label"]) == (
        1,
        "approved",
        "已通过",
    )
    assert ok(get(zhang, "/instances?state=running"))["count"] == 0
    assert Event.objects.filter(action="workflow.item.approved").count() == 2


def test_start_by_code_drafts_and_submitting_a_draft(people: People, flow: FlowDefinition) -> None:
    zhang = client_for(people.initiator)
    draft = submit(zhang, flow, flow_id=None, flow_code=flow.code, draft=True, data={"reason": "先存草稿"})
    assert (draft["state"], draft["serial"]) == ("draft", None)
    assert ok(get(zhang, "/instances?state=draft"))["count"] == 1
    assert get(client_for(people.head), f"/instances/{draft['id']}").status_code == 404

    missing = post(zhang, f"/instances/{draft['id']}/submit", {})
    assert error(missing, 422)["details"] == [{"field": "data.title", "message": "请填写“标题”"}]
    submitted = ok(
        post(
            zhang,
            f"/instances/{draft['id']}/submit",
            {
                "data": {"title": "草稿转正", "reason": "先存草稿"},
                "title": "草稿转正",
                "lock_version": draft["lock_version"],
            },
        )
    )
    assert (submitted["state"], submitted["title"]) == ("running", "草稿转正")
    assert (
        error(post(zhang, "/instances", {"data": {}}), 400)["message"] == "请指定流程：flow_id 或 flow_code。"
    )
    assert error(post(zhang, "/instances", {"flow_code": "nope"}), 404)["code"] == "not_found"


def test_return_resubmit_withdraw_urge_and_comment(people: People, flow: FlowDefinition) -> None:
    zhang, wang = client_for(people.initiator), client_for(people.head)
    created = submit(zhang, flow)
    [item] = todo_of(wang)
    no_opinion = post(wang, f"/items/{item['id']}/return", {})
    assert error(no_opinion, 400)["message"] == "请填写意见。"
    returned = ok(post(wang, f"/items/{item['id']}/return", {"opinion": "金额有误"}))
    assert returned["state"] == "returned"
    assert ok(get(zhang, "/counts"))["returned"] == 1

    again = ok(
        post(
            zhang,
            f"/instances/{created['id']}/resubmit",
            {"data": {"title": "采购笔记本电脑", "amount": "7999"}, "lock_version": returned["lock_version"]},
        )
    )
    assert (again["state"], again["round"], again["data"]["amount"]) == ("running", 1, "7999.00")

    urged = ok(post(zhang, f"/instances/{created['id']}/urge", {"message": "请尽快"}))
    assert urged["timeline"][-1]["kind"] == "urge"
    too_soon = post(zhang, f"/instances/{created['id']}/urge", {})
    assert "每小时最多一次" in error(too_soon, 400)["message"]
    assert error(post(wang, f"/instances/{created['id']}/urge", {}), 403)["code"] == "forbidden"

    commented = ok(
        post(
            wang,
            f"/instances/{created['id']}/comment",
            {"text": "请补充报价单", "mentions": [people.initiator.pk]},
        )
    )
    assert commented["timeline"][-1]["opinion"] == "请补充报价单"
    blind = post(
        zhang, f"/instances/{created['id']}/comment", {"text": "看看", "mentions": [people.other.pk]}
    )
    assert "无权查看此审批" in error(blind, 400)["message"]
    unknown = post(zhang, f"/instances/{created['id']}/comment", {"text": "看看", "mentions": [987654]})
    assert "987654" in error(unknown, 400)["message"]

    withdrawn = ok(post(zhang, f"/instances/{created['id']}/withdraw", {"reason": "不买了"}))
    assert withdrawn["state"] == "withdrawn"
    assert todo_of(wang) == []


def test_reject_transfer_add_sign_circulate_and_read(people: People, flow: FlowDefinition) -> None:
    zhang, wang = client_for(people.initiator), client_for(people.head)
    created = submit(zhang, flow)
    [item] = todo_of(wang)
    moved = ok(post(wang, f"/items/{item['id']}/transfer", {"to": people.boss.pk, "opinion": "请赵总定"}))
    assert [h["user"]["name"] for h in moved["current_steps"][0]["holders"] if h["state"] == "pending"] == [
        "赵总"
    ]
    zhao = client_for(people.boss)
    [item] = todo_of(zhao)
    added = ok(
        post(zhao, f"/items/{item['id']}/add-sign", {"users": [people.legal.pk], "position": "before"})
    )
    assert any(
        h["user"]["name"] == "周法务" and h["state"] == "pending"
        for h in added["current_steps"][0]["holders"]
    )
    bad = post(zhao, f"/items/{item['id']}/add-sign", {"users": [people.legal.pk], "position": "sideways"})
    assert error(bad, 422)["code"] == "validation_error"

    circulated = ok(
        post(zhang, f"/instances/{created['id']}/circulate", {"users": [people.other.pk], "note": "知悉"})
    )
    assert circulated["timeline"][-1]["kind"] == "circulate"
    wu = client_for(people.other)
    assert ok(get(wu, "/counts"))["read"] == 1
    [to_read] = ok(get(wu, "/items?box=read"))["items"]
    assert ok(get(wu, f"/instances/{created['id']}"))["my_item"]["kind"] == "read"
    ok(post(wu, f"/items/{to_read['id']}/read", {"opinion": "已阅"}))
    assert ok(get(wu, "/counts"))["read"] == 0
    assert ok(get(wu, "/items?box=read"))["items"][0]["state"] == "done"

    zhou = client_for(people.legal)
    [legal_item] = todo_of(zhou)
    ok(post(zhou, f"/items/{legal_item['id']}/approve", {"opinion": "合规"}))
    [item] = todo_of(zhao)
    rejected = ok(post(zhao, f"/items/{item['id']}/reject", {"opinion": "预算不足"}))
    assert rejected["state"] == "rejected"


def test_revoke_and_terminate(people: People, flow: FlowDefinition) -> None:
    zhang, wang, qian = (client_for(u) for u in (people.initiator, people.head, people.finance1))
    first = submit(zhang, flow)
    ok(post(wang, f"/items/{todo_of(wang)[0]['id']}/approve", {}))
    ok(post(qian, f"/items/{todo_of(qian)[0]['id']}/approve", {}))
    assert error(post(zhang, f"/instances/{first['id']}/revoke", {}), 400)["message"] == "请填写撤销原因。"
    revoked = ok(post(zhang, f"/instances/{first['id']}/revoke", {"reason": "采购取消"}))
    assert revoked["state"] == "revoked"

    second = submit(zhang, flow)
    flow.admins.add(people.admin)
    admin = client_for(people.admin)
    assert (
        error(post(zhang, f"/instances/{second['id']}/terminate", {"reason": "x"}), 403)["code"]
        == "forbidden"
    )
    assert ok(get(admin, f"/instances/{second['id']}"))["state"] == "running"
    terminated = ok(post(admin, f"/instances/{second['id']}/terminate", {"reason": "重复提交"}))
    assert terminated["state"] == "terminated"


# --------------------------------------------------------------------------- idempotency and concurrency


def test_retry_with_the_same_idempotency_key_returns_the_same_request(
    people: People, flow: FlowDefinition
) -> None:
    zhang = client_for(people.initiator)
    body = {"flow_id": flow.pk, "data": {"title": "差旅报销", "amount": "300"}}
    first = ok(post(zhang, "/instances", body, **{"Idempotency-Key": "erp-order-1001"}), 201)
    before = written()
    again = ok(post(zhang, "/instances", body, **{"Idempotency-Key": "erp-order-1001"}), 201)
    assert again["id"] == first["id"]
    assert written() == before
    in_body = ok(post(zhang, "/instances", {**body, "request_id": "erp-order-1001"}), 201)
    assert in_body["id"] == first["id"]
    assert written() == before
    clash = post(zhang, "/instances", {**body, "request_id": "a-1"}, **{"Idempotency-Key": "b-1"})
    assert "不一致" in error(clash, 400)["message"]
    bad_key = post(zhang, "/instances", {**body, "request_id": "含中文"})
    assert "请求编号无效" in error(bad_key, 400)["message"]

    wang = client_for(people.head)
    [item] = todo_of(wang)
    decision = {"opinion": "同意", "lock_version": first["lock_version"], "request_id": "oa-approve-77"}
    approved = ok(post(wang, f"/items/{item['id']}/approve", decision))
    after = written()
    # The retry carries the lock_version read before the first attempt: it is answered, not refused.
    retried = ok(post(wang, f"/items/{item['id']}/approve", decision))
    assert retried["lock_version"] == approved["lock_version"]
    assert written() == after


def test_stale_lock_version_is_refused_with_409(people: People, flow: FlowDefinition) -> None:
    zhang, wang = client_for(people.initiator), client_for(people.head)
    created = submit(zhang, flow)
    stale = created["lock_version"]
    ok(post(zhang, f"/instances/{created['id']}/comment", {"text": "补充说明"}))
    ok(post(zhang, f"/instances/{created['id']}/urge", {}))  # changes the request
    [item] = todo_of(wang)
    before = written()
    refused = error(post(wang, f"/items/{item['id']}/approve", {"lock_version": stale}), 409)
    assert refused["code"] == "conflict"
    assert refused["message"] == "审批单已被他人修改，请刷新后重试。"
    assert written() == before
    fresh = ok(get(wang, f"/instances/{created['id']}"))["lock_version"]
    assert error(post(zhang, f"/instances/{created['id']}/withdraw", {"lock_version": stale}), 409)
    ok(post(wang, f"/items/{item['id']}/approve", {"lock_version": fresh}))


# --------------------------------------------------------------------------- denials


def test_requests_and_items_of_others_are_404(people: People, flow: FlowDefinition) -> None:
    zhang = client_for(people.initiator)
    created = submit(zhang, flow)
    wang_item = item_of(Instance.objects.get(pk=created["id"]), people.head)
    wu = client_for(people.other)
    before = written()
    assert error(get(wu, f"/instances/{created['id']}"), 404)["code"] == "not_found"
    assert get(wu, "/instances/999999").status_code == 404
    for action in ("withdraw", "urge", "comment", "circulate", "resubmit", "terminate", "revoke", "submit"):
        body = {"text": "x", "users": [people.other.pk], "reason": "x"}
        assert post(wu, f"/instances/{created['id']}/{action}", body).status_code == 404, action
    for action in ("approve", "reject", "return", "read"):
        assert post(wu, f"/items/{wang_item.pk}/{action}", {"opinion": "x"}).status_code == 404, action
    assert post(wu, f"/items/{wang_item.pk}/transfer", {"to": people.other.pk}).status_code == 404
    # the initiator reads the request, but the item is not theirs
    assert (
        error(post(zhang, f"/items/{wang_item.pk}/approve", {}), 404)["message"]
        == "待办事项不存在或不是您的事项。"
    )
    assert get(wu, f"/flows/{flow.pk}").status_code == 200
    assert written() == before


def test_flows_outside_the_initiators_rule_are_hidden_and_refused(people: People) -> None:
    closed = publish(
        {"initiators": [{"kind": "user", "id": people.head.pk}], "nodes": [approval("n1", [people.boss.pk])]}
    )
    zhang = client_for(people.initiator)
    assert closed.code not in {f["code"] for f in ok(get(zhang, "/flows"))["items"]}
    assert get(zhang, f"/flows/{closed.pk}").status_code == 404
    refused = error(post(zhang, "/instances", {"flow_id": closed.pk, "data": {"title": "x"}}), 403)
    assert "发起人范围" in refused["message"]
    assert not Instance.objects.exists()


def test_without_workflow_use_everything_is_403(people: People, flow: FlowDefinition) -> None:
    created = submit(client_for(people.initiator), flow)
    employee = Role.objects.get(code="employee")
    employee.permissions = [p for p in employee.permissions if p != "workflow.use"]
    employee.save(update_fields=["permissions"])
    head = User.objects.get(pk=people.head.pk)
    access.forget(head)
    wang = client_for(head)
    item = WorkItem.objects.get(assignee=head)
    before = written()
    for path in ("/flows", "/items", "/counts", "/instances", f"/instances/{created['id']}"):
        assert error(get(wang, path), 403)["message"] == "您没有使用审批的权限。", path
    assert post(wang, f"/items/{item.pk}/approve", {}).status_code == 403
    assert post(wang, "/instances", {"flow_id": flow.pk}).status_code == 403
    assert written() == before


def test_tokens_read_only_and_write(people: People, flow: FlowDefinition) -> None:
    created = submit(client_for(people.initiator), flow)
    _row, read_token = identity_services.api_token_create(
        user=people.head, name="只读", scope="read", days=30
    )
    _row, write_token = identity_services.api_token_create(
        user=people.head, name="OA 对接", scope="write", days=30
    )
    system = Client()
    reader = {"Authorization": f"Bearer {read_token}"}
    [item] = system.get(f"{BASE}/items", headers=reader).json()["items"]
    assert item["instance"]["id"] == created["id"]
    before = written()
    refused = post(system, f"/items/{item['id']}/approve", {}, **reader)
    assert error(refused, 403)["code"] == "token_scope"
    assert written() == before
    writer = {"Authorization": f"Bearer {write_token}", "Idempotency-Key": "oa-1"}
    approved = ok(post(system, f"/items/{item['id']}/approve", {"opinion": "同意"}, **writer))
    assert approved["current_steps"][0]["node_id"] == "n2"
    assert error(post(Client(), "/instances", {"flow_id": flow.pk}), 401)["code"] == "unauthenticated"
    assert (
        post(system, "/instances", {"flow_id": flow.pk}, Authorization="Bearer xt_wrong").status_code == 401
    )


def test_session_writes_need_the_csrf_token(people: People, flow: FlowDefinition) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people.initiator)
    response = post(browser, "/instances", {"flow_id": flow.pk, "data": {"title": "x"}})
    assert response.status_code in (401, 403)
    assert not Instance.objects.exists()


# --------------------------------------------------------------------------- validation


def test_bad_form_data_is_422_per_field_in_chinese(people: People, flow: FlowDefinition) -> None:
    zhang = client_for(people.initiator)
    before = written()
    response = post(zhang, "/instances", {"flow_id": flow.pk, "data": {"amount": "-5"}})
    body = error(response, 422)
    assert body["code"] == "validation_error"
    assert body["message"].startswith("表单填写有误")
    fields = {detail["field"]: detail["message"] for detail in body["details"]}
    assert fields["data.title"] == "请填写“标题”"
    assert "金额" in fields["data.amount"]
    schema = error(post(zhang, "/instances", {"flow_id": "abc", "level": "secret"}), 422)
    assert schema["message"] == "提交的数据有误，请检查后重试。"
    assert {d["field"] for d in schema["details"]} == {"body.flow_id", "body.level"}
    assert error(get(zhang, "/items?box=everything"), 422)["code"] == "validation_error"
    assert written() == before


def test_hidden_fields_stay_hidden_from_approvers(people: People) -> None:
    flow = publish(
        {
            "nodes": [
                approval("n1", [people.head.pk], field_permissions={"note": "hidden", "reason": "editable"})
            ]
        }
    )
    created = submit(client_for(people.initiator), flow, data={"title": "调岗", "note": "薪资 2 万"})
    assert created["data"]["note"] == "薪资 2 万"
    wang = client_for(people.head)
    seen = ok(get(wang, f"/instances/{created['id']}"))
    assert "note" not in seen["data"]
    assert "note" not in {row["key"] for row in seen["display"]}
    assert seen["my_item"]["editable_fields"] == ["reason"]
    edited = ok(
        post(
            wang,
            f"/items/{seen['my_item']['item_id']}/approve",
            {"data": {"reason": "同意调岗", "note": "改"}},
        )
    )
    assert edited["data"]["reason"] == "同意调岗"
    assert Instance.objects.get(pk=created["id"]).data["note"] == "薪资 2 万"


# --------------------------------------------------------------------------- signatures


def test_signature_nodes_take_an_uploaded_image(people: People, settings: Any, tmp_path: Any) -> None:
    flow = publish({"nodes": [approval("n1", [people.head.pk], signature=True)]})
    created = submit(client_for(people.initiator), flow)
    wang = client_for(people.head)
    [item] = todo_of(wang)
    assert ok(get(wang, f"/instances/{created['id']}"))["my_item"]["signature_required"] is True
    assert error(post(wang, f"/items/{item['id']}/approve", {}), 400)["message"] == "此环节需要手写签名。"
    unknown = post(wang, f"/items/{item['id']}/approve", {"signature": "0" * 32})
    assert error(unknown, 400)["message"] == "签名文件不存在，请重新上传。"

    uploaded = ok(wang.post(f"{BASE}/files", {"file": png(), "purpose": "signature"}), 201)
    assert uploaded["content_type"] == "image/png"
    text = SimpleUploadedFile("说明.txt", b"hello", content_type="text/plain")
    assert wang.post(f"{BASE}/files", {"file": text, "purpose": "signature"}).status_code == 400
    theirs = ok(
        client_for(people.initiator).post(f"{BASE}/files", {"file": png(), "purpose": "signature"}), 201
    )
    borrowed = post(wang, f"/items/{item['id']}/approve", {"signature": theirs["key"]})
    assert error(borrowed, 400)["message"] == "签名须是您本人上传的图片。"

    signed = ok(post(wang, f"/items/{item['id']}/approve", {"signature": uploaded["key"]}))
    assert signed["state"] == "approved"
    assert signed["steps"][0]["holders"][0]["signed"] is True


def test_attachments_uploaded_over_the_api_go_into_form_data(people: People) -> None:
    form = {
        "fields": [
            {"key": "title", "type": "text", "label": "标题", "required": True},
            {"key": "files", "type": "attachments", "label": "附件"},
        ]
    }
    flow = publish({"nodes": [approval("n1", [people.head.pk])]}, form=form)
    zhang = client_for(people.initiator)
    pdf = SimpleUploadedFile(
        "报价单.pdf", b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n", content_type="application/pdf"
    )
    stored = ok(zhang.post(f"{BASE}/files", {"file": pdf}), 201)
    created = submit(zhang, flow, data={"title": "附件测试", "files": [stored["key"]]})
    [row] = [row for row in created["display"] if row["key"] == "files"]
    assert [f["name"] for f in row["files"]] == ["报价单.pdf"]
    assert (
        "用途无效" in error(zhang.post(f"{BASE}/files", {"file": png(), "purpose": "avatar"}), 400)["message"]
    )


# --------------------------------------------------------------------------- query counts


def test_lists_do_not_grow_queries_with_rows(
    people: People, flow: FlowDefinition, django_assert_max_num_queries: Any
) -> None:
    zhang, wang = client_for(people.initiator), client_for(people.head)
    submit(zhang, flow)
    ok(post(zhang, f"/instances/{submit(zhang, flow)['id']}/circulate", {"users": [people.head.pk]}))
    lists = [(wang, "/items?box=todo"), (wang, "/items?box=read"), (zhang, "/instances"), (zhang, "/flows")]
    small = {}
    for client, path in lists:
        ok(get(client, path))  # the session and the grants, loaded once per client
        with django_assert_max_num_queries(15) as counted:
            ok(get(client, path))
        small[path] = len(counted.captured_queries)
    for _n in range(6):
        created = submit(zhang, flow)
        ok(post(zhang, f"/instances/{created['id']}/circulate", {"users": [people.head.pk]}))
    for client, path in lists:
        with django_assert_max_num_queries(small[path]):
            body = ok(get(client, path))
        assert body["count"] >= (1 if path == "/flows" else 7), path


def test_an_action_over_the_api_tells_the_open_pages_like_the_page_does(
    people: People, flow: FlowDefinition, monkeypatch: pytest.MonkeyPatch
) -> None:
    """钱财务 approves a 或签 step from a client: 孙财务's open page (and workbench) hears that
    the step is done, as after an approval on the request's page."""
    from xietong.core import events
    from xietong.workflow import services

    created = submit(client_for(people.initiator), flow)
    wang = client_for(people.head)
    ok(post(wang, f"/items/{todo_of(wang)[0]['id']}/approve", {"opinion": "同意"}))
    sent: list[tuple[int, str, dict[str, Any]]] = []
    monkeypatch.setattr(events, "push_to_users", lambda batch: sent.extend(batch))
    qian = client_for(people.finance1)
    ok(post(qian, f"/items/{todo_of(qian)[0]['id']}/approve", {"opinion": "同意"}))
    told = {user_id for user_id, kind, _data in sent if kind == services.INSTANCE_EVENT}
    assert {people.initiator.pk, people.finance1.pk, people.finance2.pk} <= told
    assert people.other.pk not in told
    instances = {data["instance"] for _user, kind, data in sent if kind == services.INSTANCE_EVENT}
    assert instances == {created["id"]}
