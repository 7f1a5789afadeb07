"""The flow administrators' pages: the list, properties, the designer's save and publish, the
version history — and that nobody else gets in."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.fixtures import client_for, grant_role
from xietong.org import builtin
from xietong.org.models import DataScope, OrgUnit
from xietong.workflow import selectors, services
from xietong.workflow.models import FlowDefinition, FlowVersion
from xietong.workflow.tests.conftest import People, item_of, rid

pytestmark = pytest.mark.django_db

FORM: dict[str, Any] = {
    "fields": [
        {"key": "reason", "type": "textarea", "label": "事由", "required": True},
        {"key": "amount", "type": "money", "label": "金额", "required": True},
    ]
}


def route(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"initiators": [{"kind": "everyone"}], "settings": {}, "nodes": list(nodes)}


def head_approval(node_id: str = "n1", name: str = "主管审批") -> dict[str, Any]:
    return {"id": node_id, "type": "approval", "name": name, "approvers": {"kind": "head", "level": 1}}


@pytest.fixture
def flow_admin(people: People) -> People:
    """``people.admin`` holds the built-in 流程管理员 role, group-wide."""
    grant_role(people.admin, builtin.FLOW_ADMIN)
    return people


@pytest.fixture
def designer(flow_admin: People) -> Client:
    return client_for(flow_admin.admin)


@pytest.fixture
def flow(flow_admin: People) -> FlowDefinition:
    people = flow_admin
    return services.definition_create(
        actor=people.admin, code="purchase", name="采购申请", category="finance"
    )


def post_json(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


# --------------------------------------------------------------------------- list and properties


def test_flow_admin_creates_a_flow_and_lands_in_the_designer(designer: Client, people: People) -> None:
    response = designer.post(
        reverse("workflow:flow_create"),
        {
            "code": "leave",
            "name": "请假申请",
            "category": "personnel",
            "icon": "bi-calendar",
            "description": "",
        },
    )
    flow = FlowDefinition.objects.get(code="leave")
    assert response.status_code == 302
    assert response["Location"] == reverse("workflow:flow_design", args=[flow.pk])
    assert flow.icon == "calendar"
    page = designer.get(response["Location"])
    assert page.status_code == 200
    data = page.context["designer"]
    assert data["form"]["fields"]
    assert data["flow"]["nodes"]
    assert "请假申请" in page.content.decode()


def test_create_refuses_a_bad_or_taken_code_and_changes_nothing(
    designer: Client, flow: FlowDefinition
) -> None:
    before = FlowDefinition.objects.count()
    response = designer.post(
        reverse("workflow:flow_create"), {"code": "Bad Code", "name": "x", "category": "other"}
    )
    assert response.status_code == 200
    assert "流程编码须以小写字母开头" in response.content.decode()
    response = designer.post(
        reverse("workflow:flow_create"), {"code": "purchase", "name": "x", "category": "other"}
    )
    assert "已被使用" in response.content.decode()
    assert FlowDefinition.objects.count() == before


def test_list_shows_state_and_drafts(designer: Client, flow: FlowDefinition, people: People) -> None:
    services.version_save(actor=people.admin, flow=flow, form=FORM, route=route(head_approval()))
    page = designer.get(reverse("workflow:flows")).content.decode()
    assert "采购申请" in page
    assert "未发布" in page
    assert "有草稿" in page
    assert "purchase" in page
    assert "采购申请" not in designer.get(reverse("workflow:flows"), {"q": "请假"}).content.decode()


def test_list_queries_do_not_grow_with_flows(
    designer: Client, people: People, django_assert_max_num_queries: Any
) -> None:
    for number in range(12):
        created = services.definition_create(actor=people.admin, code=f"flow-{number}", name=f"流程{number}")
        services.version_save(actor=people.admin, flow=created, form=FORM, route=route(head_approval()))
    with django_assert_max_num_queries(12):
        response = designer.get(reverse("workflow:flows"))
    assert response.content.decode().count('data-flow-id="') == FlowDefinition.objects.count() >= 12


def test_edit_properties_and_disable(designer: Client, flow: FlowDefinition) -> None:
    response = designer.post(
        reverse("workflow:flow_edit", args=[flow.pk]),
        {"name": "采购申请（新）", "category": "finance", "icon": "cart", "description": "说明"},
    )
    assert response.status_code == 302
    flow.refresh_from_db()
    assert (flow.name, flow.icon, flow.is_active) == ("采购申请（新）", "cart", False)
    designer.post(
        reverse("workflow:flow_toggle", args=[flow.pk]), {"active": "1", "next": "https://evil.example/"}
    )
    flow.refresh_from_db()
    assert flow.is_active


# --------------------------------------------------------------------------- the designer


def test_save_keeps_the_draft_and_reports_no_problems_for_a_good_flow(
    designer: Client, flow: FlowDefinition
) -> None:
    url = reverse("workflow:flow_save", args=[flow.pk])
    answer = post_json(designer, url, {"form": FORM, "flow": route(head_approval())}).json()
    assert answer == {"ok": True, "number": 1, "problems": []}
    draft = selectors.flow_draft(flow)
    assert draft is not None
    assert draft.form == FORM
    # Saving again keeps one draft.
    post_json(designer, url, {"form": FORM, "flow": route(head_approval(name="部门审批"))})
    assert flow.versions.count() == 1
    assert flow.versions.get().flow["nodes"][0]["name"] == "部门审批"


def test_save_shows_every_problem_next_to_its_node(designer: Client, flow: FlowDefinition) -> None:
    condition = {
        "id": "c1",
        "type": "condition",
        "name": "按金额",
        "branches": [
            {
                "id": "big",
                "name": "大额",
                "priority": 1,
                "condition": {"field": "amount", "op": ">", "value": "5000"},
                "nodes": [],
            },
            {
                "id": "small",
                "name": "小额",
                "priority": 2,
                "condition": {"field": "amount", "op": "<=", "value": "5000"},
            },
        ],
    }
    no_approvers = {"id": "n2", "type": "approval", "name": "财务审批"}
    answer = post_json(
        designer,
        reverse("workflow:flow_save", args=[flow.pk]),
        {"form": FORM, "flow": route(condition, no_approvers)},
    ).json()
    assert answer["ok"] is True  # a draft may be incomplete
    targets = {(p["target"], p["message"]) for p in answer["problems"]}
    assert any(target == "c1" and "缺少默认分支" in message for target, message in targets)
    assert any(target == "n2" and "未设置审批人" in message for target, message in targets)
    assert selectors.flow_draft(flow) is not None
    # Publishing refuses, with the same problems; nothing is published.
    refused = post_json(
        designer,
        reverse("workflow:flow_publish", args=[flow.pk]),
        {"form": FORM, "flow": route(condition, no_approvers)},
    )
    assert refused.status_code == 400
    assert len(refused.json()["problems"]) == len(answer["problems"])
    flow.refresh_from_db()
    assert flow.current_version is None


def test_form_problems_point_at_their_field(designer: Client, flow: FlowDefinition) -> None:
    form = {"fields": [*FORM["fields"], {"key": "kind", "type": "select", "label": "类别", "options": []}]}
    answer = post_json(
        designer,
        reverse("workflow:flow_save", args=[flow.pk]),
        {"form": form, "flow": route(head_approval())},
    ).json()
    assert [(p["scope"], p["target"]) for p in answer["problems"]] == [("form", "kind")]


def test_reference_problems_are_shown_before_publishing(designer: Client, flow: FlowDefinition) -> None:
    node = {
        "id": "n1",
        "type": "approval",
        "name": "角色审批",
        "approvers": {"kind": "role", "code": "no-such-role"},
    }
    answer = post_json(
        designer, reverse("workflow:flow_save", args=[flow.pk]), {"form": FORM, "flow": route(node)}
    ).json()
    assert [p["message"] for p in answer["problems"]] == ["角色“no-such-role”不存在。"]


def test_bad_json_changes_nothing(designer: Client, flow: FlowDefinition) -> None:
    url = reverse("workflow:flow_save", args=[flow.pk])
    response = designer.post(url, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["message"]
    response = post_json(designer, url, {"form": [], "flow": {}})
    assert response.status_code == 400
    assert not flow.versions.exists()


def test_publish_makes_it_startable_and_keeps_running_requests_on_their_version(
    designer: Client, flow: FlowDefinition, people: People
) -> None:
    v1 = route(head_approval())
    answer = post_json(
        designer, reverse("workflow:flow_publish", args=[flow.pk]), {"form": FORM, "flow": v1}
    ).json()
    assert answer["ok"] is True
    assert answer["number"] == 1
    flow.refresh_from_db()
    assert flow in selectors.startable_flows(people.initiator)
    running = services.instance_start(
        actor=people.initiator, flow=flow, data={"reason": "买电脑", "amount": "100"}, request_id=rid()
    )
    first = running.version
    assert first.number == 1

    v2 = route(
        head_approval(name="部门经理审批"),
        {"id": "n9", "type": "approval", "name": "总经理审批", "approvers": {"kind": "head", "level": 2}},
    )
    answer = post_json(
        designer, reverse("workflow:flow_publish", args=[flow.pk]), {"form": FORM, "flow": v2}
    ).json()
    assert answer["ok"] is True
    assert answer["number"] == 2
    flow.refresh_from_db()
    assert flow.current_version is not None
    assert flow.current_version.number == 2
    first.refresh_from_db()
    assert first.status == FlowVersion.Status.RETIRED
    running.refresh_from_db()
    assert running.version_id == first.pk
    # The running request goes on by v1: one approval ends it.
    services.approve(actor=people.head, item=item_of(running, people.head), request_id=rid())
    running.refresh_from_db()
    assert running.state == "approved"
    fresh = services.instance_start(
        actor=people.initiator, flow=flow, data={"reason": "买桌子", "amount": "50"}, request_id=rid()
    )
    assert fresh.version.number == 2


def test_publish_without_a_draft_is_refused(designer: Client, flow: FlowDefinition) -> None:
    response = designer.post(reverse("workflow:flow_publish", args=[flow.pk]))
    assert response.status_code == 400
    assert "没有可发布的草稿" in response.json()["message"]


def test_design_page_starts_from_the_published_version(
    designer: Client, flow: FlowDefinition, people: People
) -> None:
    draft = services.version_save(actor=people.admin, flow=flow, form=FORM, route=route(head_approval()))
    services.version_publish(actor=people.admin, version=draft)
    page = designer.get(reverse("workflow:flow_design", args=[flow.pk]))
    assert page.context["designer"]["form"] == FORM
    assert page.context["draft"] is None
    assert "基于第 1 版修改" in page.content.decode()


def test_pick_finds_people_and_units(designer: Client, people: People, org_tree: dict[str, OrgUnit]) -> None:
    found = designer.get(reverse("workflow:flow_pick"), {"q": "钱财务"}).json()["results"]
    assert [row["id"] for row in found] == [people.finance1.pk]
    units = designer.get(reverse("workflow:flow_pick"), {"kind": "unit", "q": "财务"}).json()["results"]
    assert org_tree["finance"].pk in [row["id"] for row in units]


def test_names_of_chosen_people_come_with_the_page(
    designer: Client, flow: FlowDefinition, people: People
) -> None:
    node = {
        "id": "n1",
        "type": "approval",
        "name": "财务审批",
        "approvers": {"kind": "users", "ids": [people.finance1.pk]},
    }
    services.version_save(actor=people.admin, flow=flow, form=FORM, route=route(node))
    page = designer.get(reverse("workflow:flow_design", args=[flow.pk]))
    assert page.context["designer"]["names"]["users"] == {str(people.finance1.pk): "钱财务"}


# --------------------------------------------------------------------------- versions


def test_versions_list_view_and_copy(designer: Client, flow: FlowDefinition, people: People) -> None:
    draft = services.version_save(actor=people.admin, flow=flow, form=FORM, route=route(head_approval()))
    services.version_publish(actor=people.admin, version=draft)
    services.version_save(actor=people.admin, flow=flow, form=FORM, route=route(head_approval(name="改过的")))
    page = designer.get(reverse("workflow:flow_versions", args=[flow.pk])).content.decode()
    assert 'data-number="2" data-status="draft"' in page
    assert 'data-number="1" data-status="published"' in page
    view = designer.get(reverse("workflow:flow_version", args=[flow.pk, 1]))
    assert view.status_code == 200
    assert view.context["readonly"] is True
    assert view.context["designer"]["flow"]["nodes"][0]["name"] == "主管审批"
    response = designer.post(reverse("workflow:flow_version_copy", args=[flow.pk, 1]))
    assert response.status_code == 302
    draft2 = selectors.flow_draft(flow)
    assert draft2 is not None
    assert draft2.number == 2
    assert draft2.flow["nodes"][0]["name"] == "主管审批"
    assert designer.get(reverse("workflow:flow_version", args=[flow.pk, 9])).status_code == 404


# --------------------------------------------------------------------------- who gets in


def _urls(flow: FlowDefinition) -> list[tuple[str, str]]:
    return [
        ("get", reverse("workflow:flows")),
        ("get", reverse("workflow:flow_create")),
        ("post", reverse("workflow:flow_create")),
        ("get", reverse("workflow:flow_pick") + "?q=钱"),
        ("get", reverse("workflow:flow_edit", args=[flow.pk])),
        ("post", reverse("workflow:flow_edit", args=[flow.pk])),
        ("post", reverse("workflow:flow_toggle", args=[flow.pk])),
        ("get", reverse("workflow:flow_design", args=[flow.pk])),
        ("post", reverse("workflow:flow_save", args=[flow.pk])),
        ("post", reverse("workflow:flow_publish", args=[flow.pk])),
        ("get", reverse("workflow:flow_versions", args=[flow.pk])),
        ("get", reverse("workflow:flow_version", args=[flow.pk, 1])),
        ("post", reverse("workflow:flow_version_copy", args=[flow.pk, 1])),
    ]


def test_a_normal_user_gets_403_on_every_designer_url(flow: FlowDefinition, people: People) -> None:
    services.version_save(actor=people.admin, flow=flow, form=FORM, route=route(head_approval()))
    client = client_for(people.initiator)
    for method, url in _urls(flow):
        response = getattr(client, method)(url)
        assert response.status_code == 403, url
    assert flow.versions.get().flow["nodes"][0]["name"] == "主管审批"


def test_anonymous_is_sent_to_log_in(flow: FlowDefinition) -> None:
    response = Client().get(reverse("workflow:flows"))
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_a_unit_flow_admin_sees_only_the_flows_of_their_units(
    people: People, org_tree: dict[str, OrgUnit]
) -> None:
    grant_role(people.admin, builtin.FLOW_ADMIN)
    group_flow = services.definition_create(actor=people.admin, code="group-flow", name="集团流程")
    east_flow = services.definition_create(
        actor=people.admin, code="east-flow", name="分公司流程", owner_unit=org_tree["east"]
    )
    grant_role(people.boss, builtin.FLOW_ADMIN, scope=DataScope.LISTED, units=[org_tree["east"]])
    client = client_for(people.boss)
    page = client.get(reverse("workflow:flows")).content.decode()
    assert "分公司流程" in page
    assert "集团流程" not in page
    assert client.get(reverse("workflow:flow_design", args=[east_flow.pk])).status_code == 200
    for method, url in _urls(group_flow)[4:]:
        assert getattr(client, method)(url).status_code == 404, url
