"""发起审批 pages: the list of startable flows and drafts, the form of one flow (save as draft,
submit, errors), the route preview, and the pickers and upload the form uses."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.fixtures import client_for, grant_role, make_user
from xietong.core import access, classification
from xietong.files.models import StoredFile
from xietong.org import builtin
from xietong.workflow import services
from xietong.workflow.models import Category, FlowDefinition, Instance, InstanceState, WorkItem
from xietong.workflow.tests.conftest import People, approval, publish, rid

pytestmark = pytest.mark.django_db

FORM: dict[str, Any] = {
    "fields": [
        {"key": "reason", "type": "text", "label": "事由", "required": True},
        {"key": "amount", "type": "money", "label": "金额", "required": True},
        {
            "key": "items",
            "type": "table",
            "label": "明细",
            "columns": [
                {"key": "name", "type": "text", "label": "品名"},
                {"key": "qty", "type": "number", "label": "数量"},
                {"key": "price", "type": "money", "label": "单价"},
                {
                    "key": "subtotal",
                    "type": "computed",
                    "label": "小计",
                    "expression": "qty * price",
                    "format": "money",
                },
            ],
            "sum": ["subtotal"],
        },
        {"key": "files", "type": "attachments", "label": "附件"},
    ]
}


def route_by_amount(people: People) -> dict[str, Any]:
    """王经理 approves; from 10,000 on, 赵总 after him."""
    return {
        "nodes": [
            approval("n1", [people.head.pk]),
            {
                "id": "g1",
                "type": "condition",
                "name": "金额判断",
                "branches": [
                    {
                        "id": "big",
                        "name": "大额",
                        "priority": 1,
                        "condition": {"all": [{"field": "amount", "op": ">=", "value": "10000"}]},
                        "nodes": [approval("n2", [people.boss.pk], name="总经理审批")],
                    },
                    {"id": "small", "name": "其他", "priority": 2, "default": True, "nodes": []},
                ],
            },
        ]
    }


@pytest.fixture(autouse=True)
def roles() -> None:
    """The built-in roles (普通用户 holds ``workflow.use``), also without the migrations."""
    builtin.ensure_builtin_roles()


@pytest.fixture
def flow(people: People) -> Any:
    return publish(
        route_by_amount(people),
        form=FORM,
        name="费用报销",
        category=Category.FINANCE,
        description="差旅、办公费用",
    )


def only_legal(flow: Any, people: People) -> None:
    """Let only 周法务 start ``flow``."""
    version = flow.current_version
    version.flow = {**version.flow, "initiators": [{"kind": "user", "id": people.legal.pk}]}
    version.save()


@pytest.fixture
def client(people: People) -> Client:
    return client_for(people.initiator)


def filled(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "request_id": "form-1",
        "f.reason": "出差北京",
        "f.amount": "1200",
        "f.items.0.name": "机票",
        "f.items.0.qty": "1",
        "f.items.0.price": "1000",
        "f.items.1.name": "酒店",
        "f.items.1.qty": "2",
        "f.items.1.price": "100",
        "level": str(classification.INTERNAL),
        "action": "submit",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# --------------------------------------------------------------------------- the list


def test_list_groups_the_startable_flows_and_shows_drafts(
    people: People, flow: Any, client: Client, django_assert_max_num_queries: Any
) -> None:
    publish({"nodes": [approval("n1", [people.head.pk])]}, name="用印申请", category=Category.SEAL)
    hidden = publish({"nodes": [approval("n1", [people.head.pk])]}, name="仅法务可发起")
    only_legal(hidden, people)
    for number in range(3):
        services.draft_save(
            actor=people.initiator, flow=flow, request_id=rid(), data={}, title=f"草稿{number}"
        )
    with django_assert_max_num_queries(12):
        response = client.get("/workflow/start/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "费用报销" in html
    assert "用印申请" in html
    assert "仅法务可发起" not in html
    assert re.search(rf'<h2[^>]*>财务</h2>\s*<div class="wf-flow-grid">\s*<a[^>]*data-flow="{flow.pk}"', html)
    assert "我的草稿" in html
    assert html.count('data-draft="') == 3


def test_list_query_count_does_not_grow_with_flows_and_drafts(
    people: People, client: Client, django_assert_max_num_queries: Any
) -> None:
    for number in range(12):
        made = publish({"nodes": [approval("n1", [people.head.pk])]}, name=f"流程{number}")
        services.draft_save(actor=people.initiator, flow=made, request_id=rid(), data={})
    with django_assert_max_num_queries(12):
        response = client.get("/workflow/start/")
    assert response.content.decode().count("wf-flow-card") >= 12


def test_list_shows_an_empty_state(people: People, client: Client) -> None:
    FlowDefinition.objects.update(is_active=False)  # the ready-made flows
    response = client.get("/workflow/start/")
    assert response.status_code == 200
    assert "暂无可以发起的审批" in response.content.decode()


def test_list_needs_a_login(flow: Any) -> None:
    response = Client().get("/workflow/start/")
    assert response.status_code == 302


def test_no_permission_no_pages(people: People, flow: Any) -> None:
    admin = make_user("sysadmin3", name="系统管理员")
    grant_role(admin, builtin.SYSTEM_ADMIN)
    if access.can(admin, "workflow.use"):
        pytest.skip("the 三员 accounts hold workflow.use in this configuration")
    client = client_for(admin)
    for path in ("/workflow/start/", f"/workflow/start/{flow.pk}/", "/workflow/pick/people/?q=王"):
        assert client.get(path).status_code == 403, path
    assert client.post("/workflow/uploads/", {}).status_code == 403


# --------------------------------------------------------------------------- the form


def test_form_renders_every_part(people: People, flow: Any, client: Client) -> None:
    response = client.get(f"/workflow/start/{flow.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="f.reason"' in html
    assert 'name="f.items.0.qty"' in html
    assert 'data-wf-formula="qty * price"' in html
    assert 'name="request_id"' in html
    assert 'name="urgent"' in html
    assert "流程预览" in html
    assert "王经理" in html  # the first step's approver in the preview
    assert "赵总" not in html  # 大额 only
    levels = re.findall(r'<select class="form-select" name="level".*?</select>', html, re.S)[0]
    assert "核心商密" not in levels  # above 张伟's clearance


def test_form_is_404_for_someone_outside_the_initiators(people: People, flow: Any) -> None:
    only_legal(flow, people)
    assert client_for(people.initiator).get(f"/workflow/start/{flow.pk}/").status_code == 404
    assert client_for(people.initiator).post(f"/workflow/start/{flow.pk}/", filled()).status_code == 404
    assert client_for(people.legal).get(f"/workflow/start/{flow.pk}/").status_code == 200
    assert not Instance.objects.exists()


def test_form_is_404_for_an_unknown_or_inactive_flow(people: People, flow: Any, client: Client) -> None:
    assert client.get("/workflow/start/999999/").status_code == 404
    flow.is_active = False
    flow.save()
    assert client.get(f"/workflow/start/{flow.pk}/").status_code == 404


def test_submit_starts_the_request_and_redirects_to_it(people: People, flow: Any, client: Client) -> None:
    response = client.post(f"/workflow/start/{flow.pk}/", filled(urgent="on"))
    instance = Instance.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/workflow/instances/{instance.pk}/"
    assert instance.state == InstanceState.RUNNING
    assert instance.urgent
    assert instance.title.startswith("费用报销-张伟-")
    assert instance.data["amount"] == "1200.00"
    assert [row["subtotal"] for row in instance.data["items"]] == ["1000.00", "200.00"]
    assert WorkItem.objects.get(instance=instance).assignee == people.head


def test_bad_input_shows_chinese_errors_and_creates_nothing(
    people: People, flow: Any, client: Client
) -> None:
    response = client.post(
        f"/workflow/start/{flow.pk}/", filled(**{"f.reason": "", "f.amount": "十块", "f.items.1.qty": "两"})
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "请填写“事由”" in html
    assert "“金额”必须是数字" in html
    assert "“明细”第 2 行：“数量”必须是数字" in html
    assert 'value="两"' in html  # what was typed stays in the form
    assert "表单填写有误" in html
    assert not Instance.objects.exists()


def test_a_level_above_the_clearance_is_refused(people: People, flow: Any, client: Client) -> None:
    response = client.post(
        f"/workflow/start/{flow.pk}/", filled(level=str(classification.CORE_COMMERCIAL_SECRET))
    )
    assert "不能发起高于您本人可知悉密级的审批" in response.content.decode()
    assert not Instance.objects.exists()
    response = client.post(f"/workflow/start/{flow.pk}/", filled(level="abc"))
    assert "密级无效" in response.content.decode()
    assert not Instance.objects.exists()


def test_a_double_submit_with_one_request_id_starts_one_request(
    people: People, flow: Any, client: Client
) -> None:
    first = client.post(f"/workflow/start/{flow.pk}/", filled())
    second = client.post(f"/workflow/start/{flow.pk}/", filled())
    assert Instance.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_draft_save_resume_and_submit(people: People, flow: Any, client: Client) -> None:
    response = client.post(
        f"/workflow/start/{flow.pk}/", filled(action="draft", title="北京出差报销", **{"f.reason": ""})
    )
    draft = Instance.objects.get()
    assert response["Location"] == f"/workflow/drafts/{draft.pk}/"
    assert draft.state == InstanceState.DRAFT
    assert draft.title == "北京出差报销"
    page = client.get(f"/workflow/drafts/{draft.pk}/").content.decode()
    assert 'value="北京出差报销"' in page
    assert 'value="1200.00"' in page
    assert "壹仟贰佰元整" in page
    assert f'name="lock_version" value="{draft.lock_version}"' in page
    submitted = client.post(
        f"/workflow/drafts/{draft.pk}/",
        filled(request_id="form-2", title="北京出差报销", lock_version=str(draft.lock_version)),
    )
    draft.refresh_from_db()
    assert submitted["Location"] == f"/workflow/instances/{draft.pk}/"
    assert draft.state == InstanceState.RUNNING
    assert Instance.objects.count() == 1


def test_a_stale_draft_is_refused(people: People, flow: Any, client: Client) -> None:
    draft = services.draft_save(actor=people.initiator, flow=flow, request_id=rid(), data={"reason": "旧"})
    services.draft_save(actor=people.initiator, instance=draft, request_id=rid(), data={"reason": "新"})
    response = client.post(
        f"/workflow/drafts/{draft.pk}/", filled(request_id="form-3", lock_version="0", action="draft")
    )
    assert "审批单已被他人修改" in response.content.decode()
    draft.refresh_from_db()
    assert draft.data["reason"] == "新"


def test_someone_elses_draft_is_404(people: People, flow: Any) -> None:
    draft = services.draft_save(actor=people.initiator, flow=flow, request_id=rid(), data={})
    other = client_for(people.other)
    assert other.get(f"/workflow/drafts/{draft.pk}/").status_code == 404
    assert other.post(f"/workflow/drafts/{draft.pk}/", filled()).status_code == 404
    assert other.post(f"/workflow/drafts/{draft.pk}/delete/").status_code == 404
    assert Instance.objects.filter(pk=draft.pk, state=InstanceState.DRAFT).exists()


def test_a_submitted_request_is_no_draft(people: People, flow: Any, client: Client) -> None:
    client.post(f"/workflow/start/{flow.pk}/", filled())
    instance = Instance.objects.get()
    assert client.get(f"/workflow/drafts/{instance.pk}/").status_code == 404
    assert client.post(f"/workflow/drafts/{instance.pk}/delete/").status_code == 404


def test_draft_delete(people: People, flow: Any, client: Client) -> None:
    draft = services.draft_save(actor=people.initiator, flow=flow, request_id=rid(), data={})
    response = client.post(f"/workflow/drafts/{draft.pk}/delete/")
    assert response["Location"] == "/workflow/start/"
    assert not Instance.objects.exists()
    assert client.get(f"/workflow/drafts/{draft.pk}/delete/").status_code in (404, 405)


# --------------------------------------------------------------------------- route preview


def test_route_preview_follows_the_amount(people: People, flow: Any, client: Client) -> None:
    small = client.post(f"/workflow/start/{flow.pk}/preview/", filled()).content.decode()
    assert "王经理" in small
    assert "赵总" not in small
    big = client.post(f"/workflow/start/{flow.pk}/preview/", filled(**{"f.amount": "20000"})).content.decode()
    assert "王经理" in big
    assert "总经理审批" in big
    assert "赵总" in big
    assert not Instance.objects.exists()


def test_route_preview_survives_bad_values(people: People, flow: Any, client: Client) -> None:
    response = client.post(
        f"/workflow/start/{flow.pk}/preview/", filled(**{"f.amount": "abc", "f.reason": ""})
    )
    assert response.status_code == 200
    assert "王经理" in response.content.decode()


def test_route_preview_is_404_for_outsiders(people: People, flow: Any) -> None:
    only_legal(flow, people)
    assert (
        client_for(people.initiator).post(f"/workflow/start/{flow.pk}/preview/", filled()).status_code == 404
    )


def test_predict_route_names_steps_and_approvers(people: People, flow: Any) -> None:
    steps = services.predict_route(actor=people.initiator, flow=flow, data={"amount": "50000"})
    assert [(step.node_id, step.approvers) for step in steps] == [("n1", ("王经理",)), ("n2", ("赵总",))]
    assert steps[1].name == "总经理审批"


def chooser_flow(people: People) -> Any:
    return publish(
        {
            "nodes": [
                {
                    "id": "pick",
                    "type": "approval",
                    "name": "指定审批",
                    "approvers": {
                        "kind": "initiator_chooses",
                        "among": {"kind": "users", "ids": [people.finance1.pk, people.finance2.pk]},
                    },
                }
            ]
        },
        form=FORM,
        name="自选审批人",
    )


def test_initiator_chooses_an_approver_on_the_form(people: People, client: Client) -> None:
    chooser = chooser_flow(people)
    page = client.get(f"/workflow/start/{chooser.pk}/").content.decode()
    assert 'data-name="chosen.pick"' in page
    missing = client.post(f"/workflow/start/{chooser.pk}/", filled())
    assert "请选择审批人" in missing.content.decode()
    assert not Instance.objects.exists()
    outside = client.post(f"/workflow/start/{chooser.pk}/", filled(**{"chosen.pick": str(people.boss.pk)}))
    assert "不在可选范围内" in outside.content.decode()
    assert not Instance.objects.exists()
    preview = client.post(
        f"/workflow/start/{chooser.pk}/preview/", filled(**{"chosen.pick": str(people.finance2.pk)})
    ).content.decode()
    assert f'name="chosen.pick" value="{people.finance2.pk}"' in preview
    assert "孙财务" in preview
    done = client.post(f"/workflow/start/{chooser.pk}/", filled(**{"chosen.pick": str(people.finance2.pk)}))
    instance = Instance.objects.get()
    assert done.status_code == 302
    assert WorkItem.objects.get(instance=instance).assignee == people.finance2


def test_the_people_picker_of_a_chooser_step_offers_only_the_allowed(people: People, client: Client) -> None:
    chooser = chooser_flow(people)
    found = client.get("/workflow/pick/people/", {"q": "财务", "flow": chooser.pk, "node": "pick"}).json()
    assert {item["label"] for item in found["results"]} <= {"钱财务", "孙财务"}
    found = client.get("/workflow/pick/people/", {"q": "赵", "flow": chooser.pk, "node": "pick"}).json()
    assert found["results"] == []
    assert (
        client.get("/workflow/pick/people/", {"q": "赵", "flow": chooser.pk, "node": "nope"}).status_code
        == 404
    )


# --------------------------------------------------------------------------- pickers and upload


def test_people_and_unit_search(people: People, client: Client) -> None:
    found = client.get("/workflow/pick/people/", {"q": "王经理"}).json()
    assert [item["label"] for item in found["results"]] == ["王经理"]
    assert client.get("/workflow/pick/people/", {"q": ""}).json() == {"results": []}
    units = client.get("/workflow/pick/units/", {"q": "财务"}).json()
    assert any("财务" in item["label"] for item in units["results"])


def test_upload_stores_the_file_for_the_form(people: People, flow: Any, client: Client) -> None:
    response = client.post(
        "/workflow/uploads/", {"file": SimpleUploadedFile("发票.txt", "报销发票".encode(), "text/plain")}
    )
    assert response.status_code == 201
    key = response.json()["key"]
    stored = StoredFile.objects.get(key=key)
    assert stored.uploaded_by == people.initiator
    assert stored.name == "发票.txt"
    client.post(f"/workflow/start/{flow.pk}/", filled(**{"f.files": key}))
    assert Instance.objects.get().data["files"] == [key]


def test_upload_refusals(people: People, client: Client) -> None:
    assert client.post("/workflow/uploads/", {}).status_code == 400
    too_high = client.post(
        "/workflow/uploads/",
        {
            "file": SimpleUploadedFile("a.txt", b"x", "text/plain"),
            "level": str(classification.CORE_COMMERCIAL_SECRET),
        },
    )
    assert too_high.status_code == 400
    assert "密级无效" in too_high.json()["error"]
    assert not StoredFile.objects.exists()


def test_someone_elses_upload_cannot_be_attached(people: People, flow: Any, client: Client) -> None:
    theirs = client_for(people.other).post(
        "/workflow/uploads/", {"file": SimpleUploadedFile("b.txt", b"data", "text/plain")}
    )
    response = client.post(f"/workflow/start/{flow.pk}/", filled(**{"f.files": theirs.json()["key"]}))
    assert "不是您上传的文件" in response.content.decode()
    assert not Instance.objects.exists()
