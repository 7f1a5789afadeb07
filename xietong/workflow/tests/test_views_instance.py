"""One request's page through the web (R-74, R-77): who may open it, every action posted
from it (with its refusal, which changes nothing), idempotent double posts, stale pages, the
query count, the print view and the request's files."""

from __future__ import annotations

import base64
import io
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from tests.fixtures import client_for, grant_role, make_user
from xietong.audit.models import Event
from xietong.core import events
from xietong.files import services as files
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import DataScope
from xietong.workflow import audit_actions, services
from xietong.workflow.models import Action, Activation, FlowDefinition, Instance, InstanceState, WorkItem
from xietong.workflow.tests.conftest import People, approval, item_of, pending, publish, rid, start

FORM: dict[str, Any] = {
    "fields": [
        {"key": "title", "type": "text", "label": "标题", "required": True, "max_length": 100},
        {"key": "amount", "type": "money", "label": "金额", "min": 0},
        {"key": "secret", "type": "text", "label": "内部备注"},
        {"key": "note", "type": "text", "label": "经办人补充"},
        {"key": "files", "type": "attachments", "label": "附件"},
        {
            "key": "items",
            "type": "table",
            "label": "明细",
            "columns": [
                {"key": "name", "type": "text", "label": "品名"},
                {"key": "cost", "type": "money", "label": "金额"},
            ],
            "sum": ["cost"],
        },
    ]
}


def url(instance: Instance, action: str = "") -> str:
    base = f"/workflow/instances/{instance.pk}/"
    return f"{base}{action}/" if action else base


def snapshot(instance: Instance) -> tuple[Any, ...]:
    """What a refused action must leave as it was."""
    instance.refresh_from_db()
    return (
        instance.state,
        instance.lock_version,
        instance.data,
        list(Action.objects.filter(instance=instance).values_list("pk", "kind")),
        list(WorkItem.objects.filter(instance=instance).values_list("pk", "state", "assignee_id")),
        list(Activation.objects.filter(instance=instance).values_list("pk", "state")),
    )


def post(client: Client, instance: Instance, action: str, **data: Any) -> Any:
    data.setdefault("request_id", uuid.uuid4().hex)
    return client.post(url(instance, action), data)


def page(client: Client, instance: Instance) -> str:
    response = client.get(url(instance))
    assert response.status_code == 200
    return str(response.content.decode())


def kinds(instance: Instance) -> list[str]:
    return list(Action.objects.filter(instance=instance).values_list("kind", flat=True))


def png_data_url() -> str:
    buffer = io.BytesIO()
    Image.new("RGBA", (60, 30), (0, 0, 0, 0)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(autouse=True)
def _roles(db: Any) -> None:
    """The built-in roles (every account holds 普通用户, with ``workflow.use``)."""
    builtin.ensure_builtin_roles()


@pytest.fixture
def two_steps(people: People) -> FlowDefinition:
    """王经理 approves (opinion required to reject or return; 经办人补充 editable, 内部备注
    hidden from him), then 钱财务 handles (signature required)."""
    return publish(
        {
            "nodes": [
                approval(
                    "n1",
                    [people.head.pk],
                    opinion_required=["reject", "return"],
                    field_permissions={"note": "editable", "secret": "hidden"},
                ),
                {
                    "id": "n2",
                    "type": "handle",
                    "name": "财务办理",
                    "approvers": {"kind": "users", "ids": [people.finance1.pk]},
                    "signature": True,
                    "field_permissions": {"secret": "hidden"},
                },
            ]
        },
        form=FORM,
        name="费用报销",
    )


@pytest.fixture
def running(people: People, two_steps: FlowDefinition) -> Instance:
    return start(
        people.initiator,
        two_steps,
        title="出差报销",
        amount="1234.5",
        secret="仅发起人可见",
        items=[{"name": "车票", "cost": "300"}, {"name": "住宿", "cost": "600"}],
    )


# --------------------------------------------------------------------------- reading


def test_r74_the_page_shows_the_request_to_its_initiator_and_approver(
    people: People, running: Instance
) -> None:
    html = page(client_for(people.initiator), running)
    assert "出差报销" in html
    assert running.serial is not None
    assert running.serial in html
    assert "费用报销" in html
    assert "审批中" in html
    assert "壹仟贰佰叁拾肆元伍角" in html
    assert "仅发起人可见" in html
    assert "合计" in html
    assert "900.00" in html
    assert "审批n1" in html
    assert "王经理" in html
    assert 'id="task-panel"' not in html
    assert 'id="urge-section"' in html
    assert 'id="withdraw-section"' in html

    html = page(client_for(people.head), running)
    assert 'id="task-panel"' in html
    assert 'id="my-deadline"' in html
    assert "仅发起人可见" not in html, "内部备注 is hidden on 王经理's step"
    assert 'id="reject-button"' in html
    assert 'id="urge-section"' not in html


def test_an_outsider_gets_404_and_someone_without_the_permission_403(
    people: People, running: Instance
) -> None:
    assert client_for(people.other).get(url(running)).status_code == 404
    assert client_for(people.other).get(url(running, "print")).status_code == 404
    assert client_for(people.other).get("/workflow/instances/999999/").status_code == 404
    anonymous = Client().get(url(running))
    assert anonymous.status_code == 302


def test_a_classified_request_is_hidden_above_the_readers_clearance(
    people: People, two_steps: FlowDefinition
) -> None:
    User.objects.filter(pk__in=[people.initiator.pk, people.head.pk]).update(clearance=2)
    initiator = User.objects.get(pk=people.initiator.pk)
    instance = services.instance_start(
        actor=initiator,
        flow=two_steps,
        data={"title": "涉密采购", "amount": "10"},
        level=2,
        request_id=rid(),
    )
    assert client_for(User.objects.get(pk=people.head.pk)).get(url(instance)).status_code == 200
    User.objects.filter(pk=people.head.pk).update(clearance=0)
    assert client_for(User.objects.get(pk=people.head.pk)).get(url(instance)).status_code == 404


def test_the_page_query_count_does_not_grow_with_the_record(
    people: People, running: Instance, django_assert_max_num_queries: Any
) -> None:
    client = client_for(people.head)
    services.circulate(actor=people.initiator, instance=running, request_id=rid(), users=[people.legal])
    client.get(url(running))
    with django_assert_max_num_queries(30) as few:
        page(client, running)
    baseline = len(few.captured_queries)
    for number in range(12):
        services.comment(
            actor=people.initiator,
            instance=running,
            request_id=rid(),
            text=f"补充说明 {number}",
            mentions=[people.head],
        )
    services.circulate(actor=people.initiator, instance=running, request_id=rid(), users=[people.boss])
    services.add_sign(
        actor=people.head,
        item=item_of(running, people.head),
        request_id=rid(),
        users=[people.finance2],
        position="parallel",
    )
    with django_assert_max_num_queries(baseline) as many:
        html = page(client, running)
    assert "补充说明 11" in html
    assert len(many.captured_queries) <= baseline


# --------------------------------------------------------------------------- the holder's actions


def test_r74_approve_with_an_opinion_and_an_edited_field(people: People, running: Instance) -> None:
    client = client_for(people.head)
    response = post(
        client,
        running,
        "approve",
        opinion="同意，按标准报销。",
        lock_version=running.lock_version,
        **{"f.note": "已核对票据", "f.secret": "篡改"},
    )
    assert response.status_code == 302
    assert response["Location"] == url(running)
    running.refresh_from_db()
    assert running.current_node_ids == ["n2"]
    assert running.data["note"] == "已核对票据"
    assert running.data["secret"] == "仅发起人可见"
    html = page(client, running)
    assert "已同意。" in html
    assert "同意，按标准报销。" in html


def test_a_stale_page_is_refused_and_changes_nothing(people: People, running: Instance) -> None:
    stale = running.lock_version
    services.urge(actor=people.initiator, instance=running, request_id=rid())
    before = snapshot(running)
    response = post(client_for(people.head), running, "approve", opinion="同意", lock_version=stale)
    assert response.status_code == 400
    assert "已被他人修改，请刷新页面后重试" in response.content.decode()
    assert snapshot(running) == before


def test_r77_the_same_approval_posted_twice_is_applied_once(people: People, running: Instance) -> None:
    client = client_for(people.head)
    key = uuid.uuid4().hex
    first = post(
        client, running, "approve", request_id=key, opinion="同意", lock_version=running.lock_version
    )
    second = post(
        client, running, "approve", request_id=key, opinion="同意", lock_version=running.lock_version
    )
    assert first.status_code == second.status_code == 302
    assert kinds(running).count(Action.Kind.APPROVE) == 1
    assert len(pending(running, people.finance1)) == 1


def test_someone_who_holds_no_step_cannot_act(people: People, running: Instance) -> None:
    before = snapshot(running)
    for action in ("approve", "reject", "return", "transfer", "add_sign", "read"):
        response = post(client_for(people.initiator), running, action, opinion="同意")
        assert response.status_code == 403, action
    assert post(client_for(people.other), running, "approve").status_code == 404
    assert post(client_for(people.head), running, "nonsense").status_code == 404
    assert client_for(people.head).get(url(running, "approve")).status_code == 405
    assert snapshot(running) == before


def test_reject_needs_the_opinion_the_step_asks_for(people: People, running: Instance) -> None:
    client = client_for(people.head)
    before = snapshot(running)
    response = post(client, running, "reject", opinion="")
    assert response.status_code == 400
    assert "请填写意见" in response.content.decode()
    assert snapshot(running) == before
    assert post(client, running, "reject", opinion="超出标准").status_code == 302
    running.refresh_from_db()
    assert running.state == InstanceState.REJECTED


def test_return_to_the_initiator_then_resubmit_with_edits(people: People, running: Instance) -> None:
    response = post(client_for(people.head), running, "return", target="initiator", opinion="请补充明细")
    assert response.status_code == 302
    running.refresh_from_db()
    assert running.state == InstanceState.RETURNED
    client = client_for(people.initiator)
    html = page(client, running)
    assert 'id="resubmit-form"' in html
    response = post(
        client,
        running,
        "resubmit",
        lock_version=running.lock_version,
        edited="1",
        **{
            "f.title": "出差报销（补充）",
            "f.amount": "1300",
            "f.items.0.name": "车票",
            "f.items.0.cost": "400",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    running.refresh_from_db()
    assert running.state == InstanceState.RUNNING
    assert running.round == 1
    assert running.data["amount"] == "1300.00"
    assert item_of(running, people.head)


def test_resubmit_with_bad_data_shows_the_field_error(people: People, running: Instance) -> None:
    post(client_for(people.head), running, "return", target="initiator", opinion="请补充")
    before = snapshot(running)
    response = post(
        client_for(people.initiator),
        running,
        "resubmit",
        lock_version=running.lock_version,
        edited="1",
        **{"f.title": "", "f.amount": "abc"},
    )
    assert response.status_code == 400
    assert "表单填写有误" in response.content.decode()
    assert snapshot(running) == before


def test_transfer_to_a_colleague(people: People, running: Instance) -> None:
    response = post(
        client_for(people.head), running, "transfer", to=str(people.boss.pk), opinion="请赵总审批"
    )
    assert response.status_code == 302
    assert item_of(running, people.boss)
    assert not pending(running, people.head)
    bad = post(client_for(people.boss), running, "transfer", to="abc")
    assert bad.status_code == 400
    assert "所选人员无效" in bad.content.decode()


def test_add_sign_before(people: People, running: Instance) -> None:
    response = post(
        client_for(people.head),
        running,
        "add_sign",
        position="before",
        users=[str(people.legal.pk)],
        opinion="请法务先看",
    )
    assert response.status_code == 302
    assert item_of(running, people.legal)
    before = snapshot(running)
    refused = post(
        client_for(people.legal), running, "add_sign", position="sideways", users=[str(people.boss.pk)]
    )
    assert refused.status_code == 400
    assert "加签方式无效" in refused.content.decode()
    assert snapshot(running) == before


def test_the_handling_step_asks_for_a_signature_and_keeps_it(people: People, running: Instance) -> None:
    post(client_for(people.head), running, "approve", opinion="同意")
    client = client_for(people.finance1)
    html = page(client, running)
    assert 'id="signature-pad"' in html
    assert "办理完成" in html
    assert 'id="reject-button"' not in html
    before = snapshot(running)
    refused = post(client, running, "approve", opinion="已付款")
    assert refused.status_code == 400
    assert "此环节需要手写签名" in refused.content.decode()
    assert snapshot(running) == before
    bad = post(client, running, "approve", opinion="已付款", signature="data:image/png;base64,AAAA")
    assert bad.status_code == 400
    assert snapshot(running) == before
    assert not StoredFile.objects.filter(context="workflow.signature").exists()

    done = post(client, running, "approve", opinion="已付款", signature=png_data_url())
    assert done.status_code == 302
    running.refresh_from_db()
    assert running.state == InstanceState.APPROVED
    item = WorkItem.objects.get(instance=running, assignee=people.finance1)
    assert item.signature is not None
    assert item.signature.is_image
    signature_url = f"/workflow/instances/{running.pk}/files/{item.signature.key}/"
    html = page(client_for(people.initiator), running)
    assert signature_url in html
    shown = client_for(people.initiator).get(signature_url)
    assert shown.status_code == 200
    assert shown["Content-Type"] == "image/png"
    assert client_for(people.other).get(signature_url).status_code == 404


def test_cc_copy_is_marked_read(people: People) -> None:
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
    client = client_for(people.legal)
    html = page(client, instance)
    assert 'id="read-panel"' in html
    assert 'id="task-panel"' not in html
    assert post(client, instance, "read", opinion="已知悉").status_code == 302
    assert WorkItem.objects.get(instance=instance, assignee=people.legal).state == WorkItem.State.DONE
    assert post(client, instance, "read").status_code == 403


# --------------------------------------------------------------------------- the initiator's actions


def test_r77_urge_once_an_hour(people: People, running: Instance) -> None:
    client = client_for(people.initiator)
    assert post(client, running, "urge", message="请尽快").status_code == 302
    before = snapshot(running)
    again = post(client, running, "urge")
    assert again.status_code == 400
    assert "每小时最多一次" in again.content.decode()
    assert snapshot(running) == before
    assert post(client_for(people.head), running, "urge").status_code == 403


def test_withdraw_before_anyone_acts(people: People, running: Instance) -> None:
    assert post(client_for(people.head), running, "withdraw").status_code == 403
    response = post(client_for(people.initiator), running, "withdraw", reason="不需要了")
    assert response.status_code == 302
    running.refresh_from_db()
    assert running.state == InstanceState.WITHDRAWN


def test_withdraw_after_an_approval_is_refused(people: People, running: Instance) -> None:
    post(client_for(people.head), running, "approve", opinion="同意")
    before = snapshot(running)
    response = post(client_for(people.initiator), running, "withdraw")
    assert response.status_code == 400
    assert "已有审批人处理，不能撤回" in response.content.decode()
    assert snapshot(running) == before


def test_revoke_an_approved_request_with_a_reason(people: People) -> None:
    flow = publish({"nodes": [approval("n1", [people.head.pk])]})
    instance = start(people.initiator, flow)
    services.approve(actor=people.head, item=item_of(instance, people.head), request_id=rid())
    client = client_for(people.initiator)
    assert 'id="revoke-section"' in page(client, instance)
    refused = post(client, instance, "revoke", reason="")
    assert refused.status_code == 400
    assert "请填写撤销原因" in refused.content.decode()
    assert post(client, instance, "revoke", reason="行程取消").status_code == 302
    instance.refresh_from_db()
    assert instance.state == InstanceState.REVOKED


def test_circulate_and_the_reader_sees_it(people: People, running: Instance) -> None:
    client = client_for(people.initiator)
    response = post(client, running, "circulate", users=[str(people.legal.pk)], note="请阅")
    assert response.status_code == 302
    assert WorkItem.objects.filter(instance=running, assignee=people.legal, kind=WorkItem.Kind.READ).exists()
    html = page(client_for(people.legal), running)
    assert 'id="read-panel"' in html
    assert "仅发起人可见" not in html, "a circulated reader never sees what a step hides"
    assert (
        post(client_for(people.other), running, "circulate", users=[str(people.boss.pk)]).status_code == 404
    )
    empty = post(client, running, "circulate")
    assert empty.status_code == 400
    assert "请选择传阅人员" in empty.content.decode()


def test_terminate_is_for_flow_administrators(people: People, running: Instance) -> None:
    assert post(client_for(people.initiator), running, "terminate", reason="x").status_code == 403
    running.definition.admins.add(people.admin)
    client = client_for(people.admin)
    html = page(client, running)
    assert 'id="terminate-section"' in html
    assert "仅发起人可见" in html, "the flow's administrators see the whole form"
    refused = post(client, running, "terminate", reason="")
    assert refused.status_code == 400
    assert "请填写终止原因" in refused.content.decode()
    assert post(client, running, "terminate", reason="重复申请").status_code == 302
    running.refresh_from_db()
    assert running.state == InstanceState.TERMINATED


def test_comment_with_a_mention(people: People, running: Instance) -> None:
    client = client_for(people.head)
    response = post(client, running, "comment", text="请补充发票", mentions=[str(people.initiator.pk)])
    assert response.status_code == 302
    comment = Action.objects.get(instance=running, kind=Action.Kind.COMMENT)
    assert comment.details["mentions"] == [people.initiator.pk]
    refused = post(client, running, "comment", text="看一下", mentions=[str(people.other.pk)])
    assert refused.status_code == 400
    assert "无权查看此审批" in refused.content.decode()
    assert post(client, running, "comment", text="").status_code == 400
    assert Action.objects.filter(instance=running, kind=Action.Kind.COMMENT).count() == 1


def test_each_action_tells_the_open_pages(
    people: People, running: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[int, str, dict[str, Any]]] = []
    monkeypatch.setattr(events, "push_to_users", lambda batch: sent.extend(batch))
    post(client_for(people.head), running, "approve", opinion="同意")
    told = {user_id for user_id, kind, _data in sent if kind == services.INSTANCE_EVENT}
    assert {people.initiator.pk, people.head.pk, people.finance1.pk} <= told
    assert people.other.pk not in told
    data = next(data for _user, kind, data in sent if kind == services.INSTANCE_EVENT)
    last = Action.objects.filter(instance=running).order_by("pk").last()
    assert last is not None
    assert data == {"instance": running.pk, "stamp": last.pk}
    assert 'data-stamp="' in page(client_for(people.initiator), running)


# --------------------------------------------------------------------------- print and files


def test_print_view_and_its_audit(people: People, running: Instance) -> None:
    services.approve(
        actor=people.head, item=item_of(running, people.head), request_id=rid(), opinion="同意报销"
    )
    response = client_for(people.initiator).get(url(running, "print"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "@page" in html
    assert "A4" in html
    assert "同意报销" in html
    assert "王经理" in html
    assert 'id="xt-nav"' not in html, "no shell on paper"
    assert not Event.objects.filter(action=audit_actions.INSTANCE_PRINTED).exists()


def test_printing_a_classified_request_is_audited(people: People, two_steps: FlowDefinition) -> None:
    User.objects.filter(pk=people.initiator.pk).update(clearance=2)
    initiator = User.objects.get(pk=people.initiator.pk)
    instance = services.instance_start(
        actor=initiator, flow=two_steps, data={"title": "涉密", "amount": "1"}, level=2, request_id=rid()
    )
    assert client_for(initiator).get(url(instance, "print")).status_code == 200
    event = Event.objects.get(action=audit_actions.INSTANCE_PRINTED)
    assert event.actor_id == initiator.pk


def _upload(user: User, name: str = "发票.pdf", level: int = 0) -> StoredFile:
    content = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    return files.store_upload(
        actor=user,
        upload=SimpleUploadedFile(name, content, content_type="application/pdf"),
        context="workflow.attachment",
        classification=level,
    )


def test_attachments_download_only_through_their_request(people: People, two_steps: FlowDefinition) -> None:
    invoice = _upload(people.initiator)
    stray = _upload(people.initiator, "别的文件.pdf")
    instance = start(people.initiator, two_steps, files=[str(invoice.key)])
    link = f"/workflow/instances/{instance.pk}/files/{invoice.key}/"
    assert link in page(client_for(people.head), instance)
    response = client_for(people.head).get(link)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert (
        client_for(people.head).get(f"/workflow/instances/{instance.pk}/files/{stray.key}/").status_code
        == 404
    )
    assert client_for(people.other).get(link).status_code == 404
    other = start(people.initiator, two_steps)
    assert (
        client_for(people.head).get(f"/workflow/instances/{other.pk}/files/{invoice.key}/").status_code == 404
    )
    assert not Event.objects.filter(action=audit_actions.FILE_DOWNLOADED).exists()


def test_a_hidden_fields_attachment_is_not_served(people: People) -> None:
    form = {
        "fields": [
            {"key": "title", "type": "text", "label": "标题"},
            {"key": "files", "type": "attachments", "label": "附件"},
        ]
    }
    flow = publish(
        {"nodes": [approval("n1", [people.head.pk], field_permissions={"files": "hidden"})]}, form=form
    )
    invoice = _upload(people.initiator)
    instance = services.instance_start(
        actor=people.initiator, flow=flow, data={"title": "t", "files": [str(invoice.key)]}, request_id=rid()
    )
    link = f"/workflow/instances/{instance.pk}/files/{invoice.key}/"
    assert client_for(people.initiator).get(link).status_code == 200
    assert client_for(people.head).get(link).status_code == 404


def test_downloading_a_classified_attachment_is_audited(people: People, two_steps: FlowDefinition) -> None:
    User.objects.filter(pk__in=[people.initiator.pk, people.head.pk]).update(clearance=2)
    initiator = User.objects.get(pk=people.initiator.pk)
    invoice = _upload(initiator, level=2)
    instance = services.instance_start(
        actor=initiator,
        flow=two_steps,
        data={"title": "涉密", "files": [str(invoice.key)]},
        level=2,
        request_id=rid(),
    )
    head = User.objects.get(pk=people.head.pk)
    assert client_for(head).get(f"/workflow/instances/{instance.pk}/files/{invoice.key}/").status_code == 200
    event = Event.objects.get(action=audit_actions.FILE_DOWNLOADED)
    assert event.actor_id == head.pk
    assert event.details["file"] == "发票.pdf"


def test_supervisors_see_the_whole_form_within_their_scope(
    people: People, running: Instance, org_tree: dict[str, Any]
) -> None:
    outsider = make_user("dudao1", name="财务督办")
    grant_role(outsider, builtin.FLOW_ADMIN, scope=DataScope.LISTED, units=[org_tree["finance"]])
    assert client_for(outsider).get(url(running)).status_code == 404
    supervisor = make_user("dudao2", name="集团督办")
    grant_role(supervisor, builtin.FLOW_ADMIN, scope=DataScope.GROUP)
    html = page(client_for(supervisor), running)
    assert "仅发起人可见" in html
    assert 'id="task-panel"' not in html
