"""The approval services: start, each action on a step, and their refusals (R-74, R-77).

Every refusal must change nothing: the tests compare the request's log and items before and
after. Every action takes an idempotency key: sent twice, it is applied once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.fixtures import make_user
from xietong.audit.models import Event
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.identity.models import User
from xietong.workflow import audit_actions, services
from xietong.workflow.formspec import FormDataError
from xietong.workflow.models import Action, Activation, Instance, InstanceState, WorkItem
from xietong.workflow.tests.conftest import (
    FORM,
    People,
    act,
    approval,
    item_of,
    notified,
    pending,
    publish,
    rid,
    start,
)


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


def kinds(instance: Instance) -> list[str]:
    return list(Action.objects.filter(instance=instance).values_list("kind", flat=True))


@pytest.fixture
def two_steps(people: People) -> Any:
    """部门负责人 (王经理) then 财务 或签 (钱财务, 孙财务)."""
    return publish(
        {
            "nodes": [
                approval("n1", [people.head.pk], opinion_required=["reject", "return"]),
                approval("n2", [people.finance1.pk, people.finance2.pk], "any"),
            ]
        }
    )


# --------------------------------------------------------------------------- start


def test_r74_start_opens_the_first_step_and_tells_its_holder(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    assert instance.state == InstanceState.RUNNING
    assert instance.serial is not None
    assert instance.serial.startswith("SP-")
    assert instance.serial.endswith("-0001")
    assert instance.title == "采购申请"
    assert instance.data["amount"] == "100.00"
    assert instance.current_node_ids == ["n1"]
    assert instance.current_label == "审批n1"
    item = item_of(instance, people.head)
    assert item.due_at is not None
    assert [n.title for n in notified(people.head, "workflow.todo")] == ["待审批：采购申请"]
    assert kinds(instance) == [Action.Kind.START]
    assert Event.objects.filter(action=audit_actions.INSTANCE_STARTED, target_id=str(instance.pk)).exists()
    second = start(people.initiator, two_steps)
    assert second.serial is not None
    assert second.serial.endswith("-0002")


def test_start_twice_with_one_request_id_starts_once(people: People, two_steps: Any) -> None:
    key = rid()
    data = {"title": "采购", "amount": "5"}
    first = services.instance_start(actor=people.initiator, flow=two_steps, data=data, request_id=key)
    again = services.instance_start(actor=people.initiator, flow=two_steps, data=data, request_id=key)
    assert again.pk == first.pk
    assert Instance.objects.count() == 1
    assert len(pending(first)) == 1


def test_start_refuses_bad_data_and_creates_nothing(people: People, two_steps: Any) -> None:
    with pytest.raises(FormDataError) as error:
        services.instance_start(
            actor=people.initiator, flow=two_steps, data={"amount": "-5"}, request_id=rid()
        )
    assert set(error.value.errors) == {"title", "amount"}
    assert Instance.objects.count() == 0
    assert WorkItem.objects.count() == 0


def test_start_refuses_someone_outside_the_initiators(people: People) -> None:
    flow = publish({"nodes": [approval("n1", [people.head.pk])]})
    version = flow.current_version
    assert version is not None
    version.flow = {**version.flow, "initiators": [{"kind": "user", "id": people.legal.pk}]}
    version.save()
    with pytest.raises(PermissionDeniedError, match="发起人范围"):
        start(people.initiator, flow)
    assert Instance.objects.count() == 0


def test_start_refuses_inactive_and_unpublished_flows(people: People, two_steps: Any) -> None:
    two_steps.is_active = False
    two_steps.save()
    with pytest.raises(DomainError, match="未启用"):
        start(people.initiator, two_steps)


def test_start_refuses_a_level_above_the_initiators_clearance(people: People, two_steps: Any) -> None:
    with pytest.raises(DomainError, match="密级"):
        services.instance_start(
            actor=people.initiator, flow=two_steps, data={"title": "x"}, level=3, request_id=rid()
        )
    with pytest.raises(DomainError, match="请求编号"):
        services.instance_start(actor=people.initiator, flow=two_steps, data={"title": "x"}, request_id="")


def test_approvers_without_clearance_are_left_out(people: People) -> None:
    people.initiator.clearance = 2
    people.initiator.save()
    people.finance2.clearance = 2
    people.finance2.save()
    flow = publish({"nodes": [approval("n1", [people.finance1.pk, people.finance2.pk], "all")]})
    instance = services.instance_start(
        actor=people.initiator, flow=flow, data={"title": "商密"}, level=2, request_id=rid()
    )
    assert [item.assignee_id for item in pending(instance)] == [people.finance2.pk]
    assert Activation.objects.get(instance=instance, node_id="n1").detail["withheld"] == [people.finance1.pk]


def test_draft_save_then_start(people: People, two_steps: Any) -> None:
    draft = services.draft_save(
        actor=people.initiator, flow=two_steps, data={"reason": "先存草稿"}, request_id=rid()
    )
    assert draft.state == InstanceState.DRAFT
    assert draft.serial is None
    assert pending(draft) == []
    with pytest.raises(NotFoundError):
        services.draft_save(actor=people.other, instance=draft, data={}, request_id=rid())
    draft = services.draft_save(
        actor=people.initiator,
        instance=draft,
        data={"title": "草稿标题", "reason": "补全"},
        request_id=rid(),
        lock_version=draft.lock_version,
    )
    with pytest.raises(DomainError, match="已被他人修改"):
        services.draft_save(actor=people.initiator, instance=draft, data={}, request_id=rid(), lock_version=0)
    started = services.instance_start(actor=people.initiator, instance=draft, request_id=rid())
    assert started.pk == draft.pk
    assert started.state == InstanceState.RUNNING
    assert started.title == "草稿标题"
    assert started.data["reason"] == "补全"
    with pytest.raises(DomainError, match="已提交"):
        services.instance_start(actor=people.initiator, instance=draft, request_id=rid())


def test_initiator_chooses_the_approver_at_start(people: People) -> None:
    flow = publish(
        {
            "nodes": [
                {
                    "id": "n1",
                    "type": "approval",
                    "name": "自选",
                    "approvers": {"kind": "initiator_chooses", "multiple": False},
                }
            ]
        }
    )
    with pytest.raises(DomainError, match="请选择审批人"):
        start(people.initiator, flow)
    instance = services.instance_start(
        actor=people.initiator,
        flow=flow,
        data={"title": "x"},
        chosen={"n1": [people.legal.pk]},
        request_id=rid(),
    )
    assert [item.assignee_id for item in pending(instance)] == [people.legal.pk]


def test_start_screens_the_text_against_the_content_rules(
    people: People, two_steps: Any, secadmin_user: User
) -> None:
    from xietong.moderation import services as moderation
    from xietong.moderation.models import WordCategory

    category = WordCategory.objects.create(name="测试类", default_action="block")
    moderation.word_create(actor=secadmin_user, word="违禁测试词", category=category)
    with pytest.raises(DomainError, match="违禁测试词"):
        start(people.initiator, two_steps, reason="内容含违禁测试词")
    assert Instance.objects.count() == 0


# --------------------------------------------------------------------------- approve / reject


def test_sequential_approvers_act_in_turn(people: People) -> None:
    flow = publish({"nodes": [approval("n1", [people.head.pk, people.boss.pk, people.legal.pk])]})
    instance = start(people.initiator, flow)
    for person in (people.head, people.boss, people.legal):
        assert [item.assignee_id for item in pending(instance)] == [person.pk]
        instance = act("approve", instance, person, opinion="同意")
    assert instance.state == InstanceState.APPROVED
    assert instance.finished_at is not None
    assert notified(people.initiator, "workflow.approved")


def test_all_needs_every_approver(people: People) -> None:
    flow = publish({"nodes": [approval("n1", [people.finance1.pk, people.finance2.pk], "all")]})
    instance = start(people.initiator, flow)
    instance = act("approve", instance, people.finance1)
    assert instance.state == InstanceState.RUNNING
    assert [item.assignee_id for item in pending(instance)] == [people.finance2.pk]
    instance = act("approve", instance, people.finance2)
    assert instance.state == InstanceState.APPROVED


def test_any_first_approval_decides_and_the_other_is_told_it_was_handled(
    people: People, two_steps: Any
) -> None:
    instance = act("approve", start(people.initiator, two_steps), people.head)
    late = item_of(instance, people.finance1)
    instance = act("approve", instance, people.finance2)
    assert instance.state == InstanceState.APPROVED
    late.refresh_from_db()
    assert late.state == WorkItem.State.CANCELLED
    before = snapshot(instance)
    with pytest.raises(DomainError, match="已被他人处理"):
        services.approve(actor=people.finance1, item=late, request_id=rid())
    assert snapshot(instance) == before


def test_only_the_holder_may_act(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    item = item_of(instance, people.head)
    before = snapshot(instance)
    for action in ("approve", "reject", "return_to"):
        with pytest.raises(PermissionDeniedError, match="不是您的待办"):
            getattr(services, action)(actor=people.other, item=item, request_id=rid(), opinion="意见")
    assert snapshot(instance) == before


def test_approve_twice_with_one_request_id_is_applied_once(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    item = item_of(instance, people.head)
    key = rid()
    services.approve(actor=people.head, item=item, request_id=key)
    after = snapshot(instance)
    again = services.approve(actor=people.head, item=item, request_id=key)
    assert again.pk == instance.pk
    assert snapshot(instance) == after
    assert kinds(instance).count(Action.Kind.APPROVE) == 1
    # The same key for another action is refused.
    item2 = item_of(instance, people.finance1)
    with pytest.raises(DomainError, match="请求编号"):
        services.reject(actor=people.finance1, item=item2, request_id=key)


def test_opinion_required_where_the_node_says_so(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    item = item_of(instance, people.head)
    before = snapshot(instance)
    with pytest.raises(DomainError, match="请填写意见"):
        services.reject(actor=people.head, item=item, request_id=rid(), opinion="  ")
    with pytest.raises(DomainError, match="请填写意见"):
        services.return_to(actor=people.head, item=item, request_id=rid())
    assert snapshot(instance) == before


def test_reject_ends_the_request_and_cancels_the_rest(people: People) -> None:
    flow = publish({"nodes": [approval("n1", [people.finance1.pk, people.finance2.pk], "all")]})
    instance = start(people.initiator, flow)
    instance = act("reject", instance, people.finance1, opinion="预算不足")
    assert instance.state == InstanceState.REJECTED
    assert pending(instance) == []
    assert WorkItem.objects.get(instance=instance, assignee=people.finance2).state == WorkItem.State.CANCELLED
    message = notified(people.initiator, "workflow.rejected")[0]
    assert message.body == "预算不足"
    assert notified(people.finance2, "workflow.finished")
    assert Activation.objects.get(instance=instance, node_id="n1").state == Activation.State.REJECTED


def test_handle_nodes_submit_edit_their_fields_and_cannot_reject(people: People) -> None:
    flow = publish(
        {
            "nodes": [
                {
                    "id": "h1",
                    "type": "handle",
                    "name": "经办",
                    "approvers": {"kind": "users", "ids": [people.legal.pk]},
                    "field_permissions": {"note": "required", "amount": "readonly"},
                }
            ]
        }
    )
    instance = start(people.initiator, flow)
    item = item_of(instance, people.legal)
    assert item.kind == WorkItem.Kind.HANDLE
    with pytest.raises(DomainError, match="办理环节不能拒绝"):
        services.reject(actor=people.legal, item=item, request_id=rid())
    with pytest.raises(DomainError, match="备注"):
        services.approve(actor=people.legal, item=item, request_id=rid(), data={"amount": "1"})
    instance = services.approve(
        actor=people.legal,
        item=item,
        request_id=rid(),
        data={"note": "已办结", "amount": "999", "title": "改"},
    )
    assert instance.state == InstanceState.APPROVED
    assert instance.data["note"] == "已办结"
    assert instance.data["amount"] == "100.00"  # read-only: kept whatever was sent
    assert instance.data["title"] == "采购申请"


def test_signature_required_where_the_node_says_so(people: People) -> None:
    flow = publish({"nodes": [approval("n1", [people.head.pk], signature=True)]})
    instance = start(people.initiator, flow)
    with pytest.raises(DomainError, match="手写签名"):
        act("approve", instance, people.head)


# --------------------------------------------------------------------------- return and resubmit


def three_steps(people: People, **settings: Any) -> Any:
    return publish(
        {
            "settings": settings,
            "nodes": [
                approval("n1", [people.head.pk]),
                approval("n2", [people.boss.pk]),
                approval("n3", [people.legal.pk]),
            ],
        }
    )


def test_r77_return_to_the_initiator_who_edits_and_resubmits(people: People) -> None:
    instance = start(people.initiator, three_steps(people))
    instance = act("approve", instance, people.head)
    instance = act("return_to", instance, people.boss, opinion="请补充附件")
    assert instance.state == InstanceState.RETURNED
    assert instance.resume_node_id == "n2"
    assert pending(instance) == []
    assert notified(people.initiator, "workflow.returned")[0].body == "请补充附件"
    with pytest.raises(PermissionDeniedError):
        services.resubmit(actor=people.head, instance=instance, request_id=rid())
    instance = services.resubmit(
        actor=people.initiator,
        instance=instance,
        data={"title": "采购申请（补充）", "amount": "120"},
        request_id=rid(),
    )
    assert instance.state == InstanceState.RUNNING
    assert instance.round == 1
    assert instance.data["amount"] == "120.00"
    assert [item.assignee_id for item in pending(instance)] == [people.head.pk]  # restart from the first
    with pytest.raises(DomainError, match="被退回"):
        services.resubmit(actor=people.initiator, instance=instance, request_id=rid())


def test_direct_resubmission_goes_back_to_the_returning_step(people: People) -> None:
    instance = start(people.initiator, three_steps(people, return_resume="direct"))
    instance = act("approve", instance, people.head)
    instance = act("return_to", instance, people.boss)
    instance = services.resubmit(actor=people.initiator, instance=instance, request_id=rid())
    assert [item.assignee_id for item in pending(instance)] == [people.boss.pk]


def test_return_to_the_previous_step_actually_run(people: People) -> None:
    instance = start(people.initiator, three_steps(people))
    instance = act("approve", instance, people.head)
    instance = act("approve", instance, people.boss)
    item = item_of(instance, people.legal)
    targets = services.return_targets(item)
    assert [target for target, _label in targets] == ["initiator", "previous", "n1", "n2"]
    instance = services.return_to(actor=people.legal, item=item, target="previous", request_id=rid())
    assert instance.state == InstanceState.RUNNING
    assert [i.assignee_id for i in pending(instance)] == [people.boss.pk]
    instance = act("approve", instance, people.boss)
    assert [i.assignee_id for i in pending(instance)] == [people.legal.pk]


def test_return_to_an_earlier_step_and_refuse_others(people: People) -> None:
    instance = start(people.initiator, three_steps(people))
    instance = act("approve", instance, people.head)
    item = item_of(instance, people.boss)
    before = snapshot(instance)
    with pytest.raises(DomainError, match="不能退回"):
        services.return_to(actor=people.boss, item=item, target="n3", request_id=rid())
    assert snapshot(instance) == before
    instance = services.return_to(actor=people.boss, item=item, target="n1", request_id=rid())
    assert [i.assignee_id for i in pending(instance)] == [people.head.pk]
    assert Action.objects.get(instance=instance, kind=Action.Kind.RETURN).to_node == "n1"


def test_first_step_has_no_previous(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    with pytest.raises(DomainError, match="上一节点"):
        act("return_to", instance, people.head, target="previous", opinion="x")


# --------------------------------------------------------------------------- transfer and add-sign


def test_transfer_moves_the_item(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    item = item_of(instance, people.head)
    with pytest.raises(DomainError, match="您本人"):
        services.transfer(actor=people.head, item=item, to=people.head, request_id=rid())
    instance = services.transfer(
        actor=people.head, item=item, to=people.boss, opinion="出差", request_id=rid()
    )
    item.refresh_from_db()
    assert item.state == WorkItem.State.TRANSFERRED
    new = item_of(instance, people.boss)
    assert new.via == WorkItem.Via.TRANSFER
    assert new.origin_id == item.pk
    assert instance.dedup_blocked
    with pytest.raises(DomainError, match="转交他人"):
        services.approve(actor=people.head, item=item, request_id=rid())
    instance = act("approve", instance, people.boss)
    assert [i.assignee_id for i in pending(instance)] == [people.finance1.pk, people.finance2.pk]


def test_transfer_to_someone_already_on_the_step_is_refused(people: People) -> None:
    flow = publish({"nodes": [approval("n1", [people.finance1.pk, people.finance2.pk], "all")]})
    instance = start(people.initiator, flow)
    with pytest.raises(DomainError, match="已在处理"):
        act("transfer", instance, people.finance1, to=people.finance2)


def test_add_sign_before_comes_back_to_the_holder(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    instance = act("add_sign", instance, people.head, users=[people.legal, people.boss], position="before")
    assert sorted(i.assignee_id for i in pending(instance)) == sorted([people.legal.pk, people.boss.pk])
    waiting = WorkItem.objects.get(instance=instance, assignee=people.head)
    assert waiting.state == WorkItem.State.ADDED_WAIT
    with pytest.raises(DomainError, match="等待加签人"):
        services.approve(actor=people.head, item=waiting, request_id=rid())
    instance = act("approve", instance, people.legal)
    assert [i.assignee_id for i in pending(instance)] == [people.boss.pk]
    instance = act("approve", instance, people.boss)
    assert [i.assignee_id for i in pending(instance)] == [people.head.pk]
    instance = act("approve", instance, people.head)
    assert instance.current_node_ids == ["n2"]


def test_add_sign_after_approves_now_and_waits_for_the_added(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    instance = act(
        "add_sign", instance, people.head, users=[people.legal], position="after", opinion="同意，请法务把关"
    )
    assert WorkItem.objects.get(instance=instance, assignee=people.head).state == WorkItem.State.APPROVED
    assert [i.assignee_id for i in pending(instance)] == [people.legal.pk]
    instance = act("approve", instance, people.legal)
    assert instance.current_node_ids == ["n2"]


def test_add_sign_parallel_acts_together(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    instance = act("add_sign", instance, people.head, users=[people.legal], position="parallel")
    assert sorted(i.assignee_id for i in pending(instance)) == sorted([people.head.pk, people.legal.pk])
    instance = act("approve", instance, people.head)
    assert instance.current_node_ids == ["n1"]
    instance = act("approve", instance, people.legal)
    assert instance.current_node_ids == ["n2"]


def test_add_sign_refusals(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    before = snapshot(instance)
    with pytest.raises(DomainError, match="加签方式"):
        act("add_sign", instance, people.head, users=[people.legal], position="sideways")
    with pytest.raises(DomainError, match="请选择人员"):
        act("add_sign", instance, people.head, users=[], position="before")
    with pytest.raises(DomainError, match="重复"):
        act("add_sign", instance, people.head, users=[people.legal, people.legal], position="before")
    assert snapshot(instance) == before


# --------------------------------------------------------------------------- the initiator's actions


def test_r77_only_the_initiator_can_withdraw_and_only_before_anyone_acts(people: People) -> None:
    instance = start(people.initiator, three_steps(people))
    with pytest.raises(PermissionDeniedError, match="发起人"):
        services.withdraw(actor=people.head, instance=instance, request_id=rid())
    instance = act("approve", instance, people.head)
    before = snapshot(instance)
    with pytest.raises(DomainError, match="已有审批人处理"):
        services.withdraw(actor=people.initiator, instance=instance, request_id=rid())
    assert snapshot(instance) == before


def test_withdraw_before_anyone_acted_cancels_the_items(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    instance = services.withdraw(actor=people.initiator, instance=instance, reason="填错了", request_id=rid())
    assert instance.state == InstanceState.WITHDRAWN
    assert pending(instance) == []
    assert notified(people.head, "workflow.finished")
    with pytest.raises(DomainError, match="已结束"):
        services.withdraw(actor=people.initiator, instance=instance, request_id=rid())


def test_lenient_withdraw_after_an_approval(people: People) -> None:
    instance = start(people.initiator, three_steps(people, withdraw="lenient"))
    instance = act("approve", instance, people.head)
    instance = services.withdraw(actor=people.initiator, instance=instance, request_id=rid())
    assert instance.state == InstanceState.WITHDRAWN


def test_revoke_by_the_initiator_within_the_window_or_by_an_admin(people: People) -> None:
    from xietong.core import clock

    flow = publish({"nodes": [approval("n1", [people.head.pk])]})
    flow.admins.add(people.admin)
    instance = act("approve", start(people.initiator, flow), people.head)
    with pytest.raises(DomainError, match="撤销原因"):
        services.revoke(actor=people.initiator, instance=instance, reason=" ", request_id=rid())
    with pytest.raises(PermissionDeniedError):
        services.revoke(actor=people.head, instance=instance, reason="x", request_id=rid())
    assert instance.finished_at is not None
    later = instance.finished_at + dt.timedelta(days=8)
    with clock.frozen_at(later):
        with pytest.raises(DomainError, match="撤销期限"):
            services.revoke(actor=people.initiator, instance=instance, reason="不再需要", request_id=rid())
        instance = services.revoke(actor=people.admin, instance=instance, reason="合同作废", request_id=rid())
    assert instance.state == InstanceState.REVOKED
    assert notified(people.head, "workflow.finished")
    second = act("approve", start(people.initiator, flow), people.head)
    assert services.revoke(
        actor=people.initiator, instance=second, reason="不再需要", request_id=rid()
    ).state == (InstanceState.REVOKED)
    running = start(people.initiator, flow)
    with pytest.raises(DomainError, match="已通过"):
        services.revoke(actor=people.initiator, instance=running, reason="x", request_id=rid())


def test_terminate_by_a_flow_admin_only(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    with pytest.raises(PermissionDeniedError, match="流程管理员"):
        services.terminate(actor=people.initiator, instance=instance, reason="x", request_id=rid())
    two_steps.admins.add(people.admin)
    with pytest.raises(DomainError, match="终止原因"):
        services.terminate(actor=people.admin, instance=instance, reason="", request_id=rid())
    instance = services.terminate(actor=people.admin, instance=instance, reason="重复提交", request_id=rid())
    assert instance.state == InstanceState.TERMINATED
    assert pending(instance) == []
    assert notified(people.initiator, "workflow.finished")


def test_urge_at_most_once_an_hour(people: People, two_steps: Any) -> None:
    from xietong.core import clock

    instance = start(people.initiator, two_steps)
    with pytest.raises(PermissionDeniedError):
        services.urge(actor=people.other, instance=instance, request_id=rid())
    services.urge(actor=people.initiator, instance=instance, message="请尽快", request_id=rid())
    assert notified(people.head, "workflow.urge")[0].body == "请尽快"
    before = snapshot(instance)
    with pytest.raises(DomainError, match="每小时最多一次"):
        services.urge(actor=people.initiator, instance=instance, request_id=rid())
    assert snapshot(instance) == before
    with clock.frozen_at(clock.now() + dt.timedelta(minutes=61)):
        services.urge(actor=people.initiator, instance=instance, request_id=rid())
    assert len(notified(people.head, "workflow.urge")) == 2


# --------------------------------------------------------------------------- everyone concerned


def test_comment_with_mentions(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    with pytest.raises(NotFoundError):
        services.comment(actor=people.other, instance=instance, text="路过", request_id=rid())
    with pytest.raises(DomainError, match="无权查看"):
        services.comment(
            actor=people.head, instance=instance, text="@吴员工", mentions=[people.other], request_id=rid()
        )
    key = rid()
    action = services.comment(
        actor=people.head,
        instance=instance,
        text="请张伟补充报价",
        mentions=[people.initiator],
        request_id=key,
    )
    again = services.comment(
        actor=people.head,
        instance=instance,
        text="请张伟补充报价",
        mentions=[people.initiator],
        request_id=key,
    )
    assert again.pk == action.pk
    assert len(notified(people.initiator, "workflow.mention")) == 1


def test_circulate_and_mark_read(people: People, two_steps: Any) -> None:
    instance = start(people.initiator, two_steps)
    with pytest.raises(PermissionDeniedError):
        services.circulate(actor=people.other, instance=instance, users=[people.legal], request_id=rid())
    created = services.circulate(
        actor=people.head, instance=instance, users=[people.other], note="请阅", request_id=rid()
    )
    assert [item.assignee_id for item in created] == [people.other.pk]
    assert notified(people.other, "workflow.cc")[0].title == "传阅：采购申请"
    from xietong.workflow import selectors

    assert selectors.instance_visible(people.other, instance.pk).pk == instance.pk
    with pytest.raises(PermissionDeniedError):
        services.mark_read(actor=people.head, item=created[0], request_id=rid())
    read = services.mark_read(actor=people.other, item=created[0], opinion="已阅", request_id=rid())
    assert read.state == WorkItem.State.DONE
    assert (
        services.mark_read(actor=people.other, item=created[0], request_id=rid()).state == WorkItem.State.DONE
    )
    with pytest.raises(DomainError, match="不能这样处理"):
        services.mark_read(actor=people.head, item=item_of(instance, people.head), request_id=rid())


# --------------------------------------------------------------------------- flows


def test_cc_nodes_notify_and_pass(people: People) -> None:
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
    cc = WorkItem.objects.get(instance=instance, kind=WorkItem.Kind.CC)
    assert cc.assignee_id == people.legal.pk
    assert cc.state == WorkItem.State.PENDING
    assert notified(people.legal, "workflow.cc")[0].title == "抄送：采购申请"
    assert instance.current_node_ids == ["n1"]


def test_condition_and_parallel_route(people: People) -> None:
    flow = publish(
        {
            "nodes": [
                {
                    "id": "g1",
                    "type": "condition",
                    "name": "按金额",
                    "branches": [
                        {
                            "id": "g1a",
                            "name": "大额",
                            "priority": 1,
                            "condition": {"all": [{"field": "amount", "op": ">=", "value": "100000"}]},
                            "nodes": [approval("big", [people.boss.pk])],
                        },
                        {"id": "g1z", "name": "其他", "default": True, "nodes": []},
                    ],
                },
                {
                    "id": "p1",
                    "type": "parallel",
                    "name": "会审",
                    "branches": [
                        {"id": "p1a", "name": "法务", "nodes": [approval("law", [people.legal.pk])]},
                        {"id": "p1b", "name": "财务", "nodes": [approval("fin", [people.finance1.pk])]},
                    ],
                },
            ]
        }
    )
    small = start(people.initiator, flow, amount="500")
    assert sorted(small.current_node_ids) == ["fin", "law"]
    small = act("approve", small, people.legal)
    assert small.state == InstanceState.RUNNING
    assert small.current_node_ids == ["fin"]
    small = act("approve", small, people.finance1)
    assert small.state == InstanceState.APPROVED
    big = start(people.initiator, flow, amount="200000")
    assert big.current_node_ids == ["big"]
    big = act("approve", big, people.boss)
    assert sorted(big.current_node_ids) == ["fin", "law"]


def test_r80_return_from_a_parallel_branch_reruns_every_branch(people: People) -> None:
    flow = publish(
        {
            "nodes": [
                approval("n1", [people.head.pk]),
                {
                    "id": "p1",
                    "type": "parallel",
                    "name": "会审",
                    "branches": [
                        {"id": "p1a", "name": "法务", "nodes": [approval("law", [people.legal.pk])]},
                        {"id": "p1b", "name": "财务", "nodes": [approval("fin", [people.finance1.pk])]},
                    ],
                },
            ]
        }
    )
    instance = act("approve", start(people.initiator, flow), people.head)
    instance = act("approve", instance, people.legal)
    instance = act("return_to", instance, people.finance1, target="law")
    assert sorted(instance.current_node_ids) == ["fin", "law"]
    instance = act("approve", instance, people.legal)
    instance = act("approve", instance, people.finance1)
    assert instance.state == InstanceState.APPROVED


def test_empty_approvers_are_skipped_and_logged(people: People) -> None:
    inactive = make_user("gone", name="离职", is_active=False)
    flow = publish({"nodes": [approval("n1", [inactive.pk]), approval("n2", [people.head.pk])]})
    instance = start(people.initiator, flow)
    assert instance.current_node_ids == ["n2"]
    assert Activation.objects.get(instance=instance, node_id="n1").state == Activation.State.SKIPPED
    assert Action.objects.filter(instance=instance, kind=Action.Kind.SKIP, actor=None).count() == 1


def test_empty_approvers_go_to_the_admins(people: People) -> None:
    flow = publish(
        {
            "settings": {"on_empty": "admin", "admin_user_ids": [people.admin.pk]},
            "nodes": [approval("n1", [])],
        }
    )
    instance = start(people.initiator, flow)
    item = item_of(instance, people.admin)
    assert Activation.objects.get(instance=instance, node_id="n1").detail["via"] == "admin"
    assert item.state == WorkItem.State.PENDING


def test_self_approval_is_automatic_when_the_flow_says_so(people: People) -> None:
    flow = publish(
        {
            "settings": {"self_approve": "auto"},
            "nodes": [approval("n1", [people.initiator.pk]), approval("n2", [people.head.pk])],
        }
    )
    instance = start(people.initiator, flow)
    auto = WorkItem.objects.get(instance=instance, assignee=people.initiator)
    assert (auto.state, auto.auto_reason) == (WorkItem.State.AUTO_APPROVED, "self")
    assert Action.objects.get(instance=instance, kind=Action.Kind.AUTO_APPROVE).actor is None
    assert instance.current_node_ids == ["n2"]
    required = publish({"nodes": [approval("n1", [people.initiator.pk])]})
    assert item_of(start(people.initiator, required), people.initiator).state == WorkItem.State.PENDING


def test_dedup_of_consecutive_approvals_unless_the_data_changed(people: People) -> None:
    perms = {"note": "editable"}
    route = {
        "settings": {"dedup": "consecutive"},
        "nodes": [
            approval("n1", [people.head.pk, people.boss.pk], "sequential", field_permissions=perms),
            approval("n2", [people.head.pk, people.legal.pk], "all", field_permissions=perms),
        ],
    }
    flow = publish(route)
    instance = act("approve", start(people.initiator, flow), people.head)
    instance = act("approve", instance, people.boss)
    auto = WorkItem.objects.get(instance=instance, assignee=people.head, activation__node_id="n2")
    assert (auto.state, auto.auto_reason) == (WorkItem.State.AUTO_APPROVED, "dedup")
    assert [i.assignee_id for i in pending(instance)] == [people.legal.pk]
    # 王经理 approved n1, then 赵总 changed the data: 王经理 must approve n2 again (§4.1 (a)).
    changed = act("approve", start(people.initiator, flow), people.head)
    changed = act("approve", changed, people.boss, data={"note": "赵总改了备注"})
    assert sorted(i.assignee_id for i in pending(changed)) == sorted([people.head.pk, people.legal.pk])


def test_an_any_step_after_a_parallel_is_decided_by_one_automatic_approval(people: People) -> None:
    # The initiator approves branch a (self_approve auto), 法务 branch b; the 或签 that follows
    # names both: one automatic approval passes it, nobody else is asked or approved.
    route = {
        "settings": {"dedup": "consecutive", "self_approve": "auto"},
        "nodes": [
            {
                "id": "p1",
                "type": "parallel",
                "name": "并行",
                "branches": [
                    {"id": "p1a", "name": "甲", "nodes": [approval("n2", [people.initiator.pk])]},
                    {"id": "p1b", "name": "乙", "nodes": [approval("n3", [people.legal.pk])]},
                ],
            },
            approval("n4", [people.initiator.pk, people.legal.pk], "any"),
            approval("n5", [people.boss.pk]),
        ],
    }
    instance = act("approve", start(people.initiator, publish(route)), people.legal)
    decided = WorkItem.objects.filter(instance=instance, activation__node_id="n4")
    assert [item.state for item in decided] == [WorkItem.State.AUTO_APPROVED]
    assert [item.assignee_id for item in pending(instance)] == [people.boss.pk]


def test_no_dedup_after_a_transfer_in_the_round(people: People) -> None:
    route = {
        "settings": {"dedup": "consecutive"},
        "nodes": [approval("n1", [people.legal.pk]), approval("n2", [people.head.pk])],
    }
    instance = start(people.initiator, publish(route))
    instance = act("transfer", instance, people.legal, to=people.head)
    instance = act("approve", instance, people.head)
    assert [i.assignee_id for i in pending(instance)] == [people.head.pk]


def test_delegation_routes_new_items_to_the_delegate(people: People, two_steps: Any) -> None:
    from xietong.core import clock

    now = clock.now()
    hour = dt.timedelta(hours=1)
    with pytest.raises(DomainError, match="自己"):
        services.delegation_create(
            actor=people.head, delegate=people.head, starts_at=now, ends_at=now + hour, request_id=rid()
        )
    delegation = services.delegation_create(
        actor=people.head,
        delegate=people.boss,
        starts_at=now - hour,
        ends_at=now + 24 * hour,
        reason="出差",
        request_id=rid(),
    )
    with pytest.raises(DomainError, match="已有委托"):
        services.delegation_create(
            actor=people.head, delegate=people.legal, starts_at=now, ends_at=now + hour, request_id=rid()
        )
    with pytest.raises(DomainError, match="相互委托"):
        services.delegation_create(
            actor=people.boss, delegate=people.head, starts_at=now, ends_at=now + hour, request_id=rid()
        )
    instance = start(people.initiator, two_steps)
    item = item_of(instance, people.boss)
    assert item.delegated_from_id == people.head.pk
    from xietong.workflow import selectors

    assert selectors.instance_visible(people.head, instance.pk)
    services.delegation_end(actor=people.head, delegation=delegation)
    later = start(people.initiator, two_steps)
    assert item_of(later, people.head).delegated_from_id is None


def test_r65_urgent_requests_notify_urgently_with_a_short_deadline(people: People, two_steps: Any) -> None:
    instance = services.instance_start(
        actor=people.initiator, flow=two_steps, data={"title": "急件"}, urgent=True, request_id=rid()
    )
    item = item_of(instance, people.head)
    assert item.urgent
    assert item.due_at is not None
    assert round((item.due_at - item.created_at).total_seconds() / 3600) == 4
    assert notified(people.head, "workflow.todo")[0].urgency == "urgent"


def test_running_requests_finish_on_their_version(people: People) -> None:
    from xietong.workflow.models import FlowVersion

    flow = publish({"nodes": [approval("n1", [people.head.pk]), approval("n2", [people.boss.pk])]})
    instance = start(people.initiator, flow)
    old = flow.current_version
    assert old is not None
    new = FlowVersion.objects.create(
        definition=flow,
        number=2,
        form=FORM,
        flow={"initiators": [{"kind": "everyone"}], "nodes": [approval("n1", [people.head.pk])]},
    )
    FlowVersion.objects.filter(pk=old.pk).update(status=FlowVersion.Status.RETIRED)
    FlowVersion.objects.filter(pk=new.pk).update(status=FlowVersion.Status.PUBLISHED)
    flow.current_version = new
    flow.save()
    instance = act("approve", instance, people.head)
    assert instance.version_id == old.pk
    assert instance.current_node_ids == ["n2"]


def test_the_triad_administrators_take_no_part(people: People, two_steps: Any, sysadmin_user: User) -> None:
    """AC-05: a 三员 administrator is never brought into a request by hand."""
    instance = start(people.initiator, two_steps)
    before = snapshot(instance)
    with pytest.raises(DomainError, match="不能参与审批"):
        act("transfer", instance, people.head, to=sysadmin_user)
    with pytest.raises(DomainError, match="不能参与审批"):
        services.circulate(actor=people.initiator, instance=instance, users=[sysadmin_user], request_id=rid())
    assert snapshot(instance) == before
    now = dt.datetime.now(tz=dt.UTC)
    with pytest.raises(DomainError, match="不能参与审批"):
        services.delegation_create(
            actor=people.head,
            delegate=sysadmin_user,
            starts_at=now,
            ends_at=now + dt.timedelta(days=1),
            request_id=rid(),
        )


def test_only_the_principal_ends_a_delegation(people: People) -> None:
    now = dt.datetime.now(tz=dt.UTC)
    delegation = services.delegation_create(
        actor=people.head,
        delegate=people.boss,
        starts_at=now,
        ends_at=now + dt.timedelta(days=2),
        request_id=rid(),
    )
    with pytest.raises(PermissionDeniedError):
        services.delegation_end(actor=people.boss, delegation=delegation)
    with pytest.raises(DomainError, match="晚于开始"):
        services.delegation_create(
            actor=people.legal, delegate=people.boss, starts_at=now, ends_at=now, request_id=rid()
        )
    ended = services.delegation_end(actor=people.head, delegation=delegation)
    assert not ended.is_active


def test_phrases_are_each_users_own(people: People) -> None:
    from xietong.workflow import selectors
    from xietong.workflow.models import Phrase

    first = services.phrase_create(actor=people.head, text="同意。")
    second = services.phrase_create(actor=people.head, text="请补充材料。")
    with pytest.raises(DomainError, match="相同"):
        services.phrase_create(actor=people.head, text="同意。")
    with pytest.raises(DomainError, match="请填写"):
        services.phrase_create(actor=people.head, text="  ")
    services.phrase_reorder(actor=people.head, ids=[second.pk, first.pk, 999])
    assert [p.text for p in selectors.phrases(people.head)] == ["请补充材料。", "同意。"]
    with pytest.raises(NotFoundError):
        services.phrase_delete(actor=people.boss, phrase=first)
    services.phrase_delete(actor=people.head, phrase=first)
    assert list(Phrase.objects.filter(user=people.head).values_list("text", flat=True)) == ["请补充材料。"]


def test_no_dedup_later_in_a_sequential_step_once_the_data_changed(people: People) -> None:
    perms = {"note": "editable"}
    flow = publish(
        {
            "settings": {"dedup": "consecutive"},
            "nodes": [
                approval("n1", [people.head.pk], field_permissions=perms),
                approval("n2", [people.boss.pk, people.head.pk], field_permissions=perms),
            ],
        }
    )
    instance = act("approve", start(people.initiator, flow), people.head)
    instance = act("approve", instance, people.boss, data={"note": "赵总补充"})
    assert [i.assignee_id for i in pending(instance)] == [people.head.pk]


def test_attachments_in_table_rows_must_be_the_initiators_own_uploads(people: People) -> None:
    """A file key is a capability: someone else's upload named in a detail row is refused as
    firmly as in an attachments field, and nothing is started."""
    from xietong.files.models import StoredFile

    def upload(owner: User) -> str:
        stored = StoredFile.objects.create(
            name="发票.pdf", blob="uploads/x", size=1, content_type="application/pdf", sha256="0" * 64,
            context="workflow.attachment", scanned_by="builtin", uploaded_by=owner,
        )  # fmt: skip
        return str(stored.key)

    form = {
        "fields": [
            {"key": "title", "type": "text", "label": "标题", "required": True},
            {"key": "items", "type": "table", "label": "明细", "columns": [
                {"key": "name", "type": "text", "label": "名称"},
                {"key": "files", "type": "attachments", "label": "票据"}]},
        ]
    }  # fmt: skip
    flow = publish({"nodes": [approval("n1", [people.head.pk])]}, form=form)
    foreign = upload(people.other)
    with pytest.raises(DomainError, match="不是您上传"):
        services.instance_start(
            actor=people.initiator,
            flow=flow,
            data={"title": "报销", "items": [{"name": "差旅", "files": [foreign]}]},
            request_id=rid(),
        )
    assert Instance.objects.count() == 0
    own = upload(people.initiator)
    started = services.instance_start(
        actor=people.initiator,
        flow=flow,
        data={"title": "报销", "items": [{"name": "差旅", "files": [own]}]},
        request_id=rid(),
    )
    assert started.data["items"][0]["files"] == [own]
