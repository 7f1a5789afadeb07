"""权限变更申请 through the built-in flow (R-14): filing a request starts the flow; its end
grants (audited), refuses or withdraws the org request — and a grant the org rules forbid
when the flow ends is never made."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.fixtures import client_for, make_user, place
from xietong.audit.models import Event
from xietong.core.errors import DomainError
from xietong.identity.models import User
from xietong.org import builtin as org_builtin
from xietong.org import requests as org_requests
from xietong.org.models import DataScope, Membership, OrgUnit, PermissionRequest, Role, RoleGrant
from xietong.org.services import role_grant_by_system
from xietong.workflow import builtin, hooks, permission_flow, services
from xietong.workflow.models import FlowDefinition, Instance, InstanceState
from xietong.workflow.tests.conftest import People, item_of, pending, rid

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(people: People) -> User:
    """周法务 of 综合办公室 reviews permission requests."""
    role = Role.objects.get(code=builtin.PERMISSION_REVIEWER)
    role_grant_by_system(role=role, user=people.legal, reason="测试")
    return people.legal


def role(code: str = org_builtin.NOTICE_PUBLISHER) -> Role:
    return org_builtin.ensure_builtin_roles()[code]


def file(people: People, code: str = org_builtin.NOTICE_PUBLISHER, **kwargs: Any) -> PermissionRequest:
    return org_requests.permission_request_create(
        actor=people.initiator,
        subject=people.initiator,
        role=role(code),
        scope=kwargs.pop("scope", DataScope.DEPARTMENT),
        reason=kwargs.pop("reason", "负责本部门通知发布"),
        **kwargs,
    )


def instance_of(request: PermissionRequest) -> Instance:
    return Instance.objects.get(create_request_id=permission_flow.request_key(request))


def approve(instance: Instance, user: User, opinion: str = "同意。") -> Instance:
    return services.approve(actor=user, item=item_of(instance, user), request_id=rid(), opinion=opinion)


def refreshed(request: PermissionRequest) -> PermissionRequest:
    return PermissionRequest.objects.get(pk=request.pk)


def events(action: str) -> list[Event]:
    return list(Event.objects.filter(action=action).order_by("pk"))


def test_r14_filing_a_request_starts_the_flow_with_the_request_on_its_form(
    people: People, office: User
) -> None:
    request = file(people)
    instance = instance_of(request)
    assert instance.state == InstanceState.RUNNING
    assert instance.initiator_id == people.initiator.pk
    assert instance.definition.code == builtin.PERMISSION
    assert instance.data["subject"] == people.initiator.pk
    assert instance.data["role"] == "通知发布员（notice_publisher）"
    assert instance.data["reason"] == "负责本部门通知发布"
    assert "权限变更申请" in instance.title
    assert [item.assignee_id for item in pending(instance)] == [people.head.pk]
    assert permission_flow.linked_request(instance) == request


def test_r14_approved_flow_grants_the_role_as_the_approver_and_audits_it(
    people: People, office: User
) -> None:
    request = file(people)
    instance = instance_of(request)
    approve(instance, people.head)
    assert refreshed(request).status == PermissionRequest.Status.PENDING
    instance = approve(instance, office, "同意授予通知发布权限。")
    assert instance.state == InstanceState.APPROVED

    request = refreshed(request)
    assert request.status == PermissionRequest.Status.APPROVED
    assert request.decided_by == office
    assert request.decision_note == "同意授予通知发布权限。"
    grant = RoleGrant.objects.get(user=people.initiator, role__code=org_builtin.NOTICE_PUBLISHER)
    assert request.grant == grant
    assert grant.granted_by == office
    assert grant.scope == DataScope.DEPARTMENT
    (approved,) = events(org_requests.REQUEST_APPROVED)
    assert approved.actor_id == office.pk
    assert approved.details["flow"] == instance.serial
    assert events("org.role.granted")[-1].actor_id == office.pk


def test_r14_rejected_flow_grants_nothing_and_refuses_the_request(people: People, office: User) -> None:
    request = file(people)
    instance = instance_of(request)
    services.reject(
        actor=people.head, item=item_of(instance, people.head), request_id=rid(), opinion="暂无必要。"
    )

    request = refreshed(request)
    assert request.status == PermissionRequest.Status.REJECTED
    assert request.decided_by == people.head
    assert request.decision_note == "暂无必要。"
    assert not RoleGrant.objects.filter(
        user=people.initiator, role__code=org_builtin.NOTICE_PUBLISHER
    ).exists()
    assert events(org_requests.REQUEST_REJECTED)[-1].actor_id == people.head.pk


def test_r14_withdrawing_the_flow_withdraws_the_request(people: People, office: User) -> None:
    request = file(people)
    services.withdraw(
        actor=people.initiator, instance=instance_of(request), request_id=rid(), reason="填错了"
    )
    assert refreshed(request).status == PermissionRequest.Status.CANCELLED
    # Withdrawn, the same role may be asked for again — and a new flow runs it.
    again = file(people)
    assert instance_of(again).state == InstanceState.RUNNING


def test_r14_an_administrator_role_is_never_granted_by_a_flow(people: People, office: User) -> None:
    """部门管理员 is an administrator tier: only the security administrator grants it. The flow
    ends as its approvers decided; the grant is refused, audited, and the request waits for
    the security administrator."""
    request = file(people, org_builtin.DEPARTMENT_ADMIN, scope=DataScope.DEPARTMENT)
    instance = instance_of(request)
    approve(instance, people.head)
    instance = approve(instance, office)

    assert instance.state == InstanceState.APPROVED
    assert refreshed(request).status == PermissionRequest.Status.PENDING
    assert not RoleGrant.objects.filter(
        user=people.initiator, role__code=org_builtin.DEPARTMENT_ADMIN
    ).exists()
    (failed,) = events(org_requests.REQUEST_APPROVAL_FAILED)
    assert failed.result == Event.Result.FAILURE
    assert failed.actor_id == office.pk
    assert "安全管理员" in failed.details["reason"]


def test_r14_a_grant_the_org_rules_forbid_when_the_flow_ends_is_not_made(
    people: People, office: User
) -> None:
    """Between filing and the end of the flow the security administrator granted the role by
    hand: the second grant is refused by org, nothing is duplicated, the flow still ends."""
    request = file(people)
    instance = instance_of(request)
    approve(instance, people.head)
    role_grant_by_system(role=role(), user=people.initiator, scope=DataScope.DEPARTMENT, reason="手工授权")
    instance = approve(instance, office)

    assert instance.state == InstanceState.APPROVED
    assert (
        RoleGrant.objects.filter(user=people.initiator, role__code=org_builtin.NOTICE_PUBLISHER).count() == 1
    )
    assert refreshed(request).status == PermissionRequest.Status.PENDING
    assert events(org_requests.REQUEST_APPROVAL_FAILED)


def test_r14_an_account_disabled_meanwhile_gets_nothing(people: People, office: User) -> None:
    request = file(people)
    instance = instance_of(request)
    approve(instance, people.head)
    User.objects.filter(pk=people.initiator.pk).update(is_active=False)
    instance = approve(instance, office)
    assert instance.state == InstanceState.APPROVED
    assert not RoleGrant.objects.filter(
        user=people.initiator, role__code=org_builtin.NOTICE_PUBLISHER
    ).exists()


def test_r14_the_approver_may_not_decide_a_request_for_themself(
    people: People, org_tree: dict[str, OrgUnit]
) -> None:
    """The only reviewer asks for a role for themself: their own approval grants nothing."""
    reviewer = make_user("zongban", name="综办审核")
    place(reviewer, org_tree["office"])
    role_grant_by_system(
        role=Role.objects.get(code=builtin.PERMISSION_REVIEWER), user=reviewer, reason="测试"
    )
    boss = make_user("zongbanjl", name="综办主任")
    Membership.objects.create(user=boss, unit=org_tree["office"], is_head=True, is_primary=True)
    request = org_requests.permission_request_create(
        actor=reviewer, subject=reviewer, role=role(), scope=DataScope.SELF, reason="需要发布通知"
    )
    instance = instance_of(request)
    approve(instance, boss)
    instance = approve(instance, reviewer)
    assert instance.state == InstanceState.APPROVED
    assert refreshed(request).status == PermissionRequest.Status.PENDING
    assert not RoleGrant.objects.filter(user=reviewer, role__code=org_builtin.NOTICE_PUBLISHER).exists()


def test_r14_a_flow_that_skipped_the_office_review_grants_nothing(people: People) -> None:
    """Nobody holds 权限审核: the office step is skipped and the head's approval ends the flow —
    not a decision of 综合办公室, so nothing is granted and the security administrator decides."""
    request = file(people)
    instance = approve(instance_of(request), people.head)
    assert instance.state == InstanceState.APPROVED
    assert refreshed(request).status == PermissionRequest.Status.PENDING
    assert not RoleGrant.objects.filter(
        user=people.initiator, role__code=org_builtin.NOTICE_PUBLISHER
    ).exists()
    assert "审批人" in events(org_requests.REQUEST_APPROVAL_FAILED)[-1].details["reason"]


def test_r14_revoking_an_approval_whose_grant_was_refused_withdraws_the_request(
    people: People, office: User
) -> None:
    request = file(people, org_builtin.DEPARTMENT_ADMIN)
    instance = instance_of(request)
    approve(instance, people.head)
    approve(instance, office)
    services.revoke(actor=people.initiator, instance=instance, request_id=rid(), reason="不再需要")
    assert refreshed(request).status == PermissionRequest.Status.CANCELLED


def test_r14_revoking_an_approved_request_takes_the_granted_role_back(people: People, office: User) -> None:
    request = file(people)
    instance = instance_of(request)
    approve(instance, people.head)
    approve(instance, office)
    grant = RoleGrant.objects.get(user=people.initiator, role__code=org_builtin.NOTICE_PUBLISHER)
    assert refreshed(request).grant == grant

    services.revoke(actor=people.initiator, instance=instance, request_id=rid(), reason="岗位调整，不再需要")

    request = refreshed(request)
    assert request.status == PermissionRequest.Status.REVOKED
    assert request.get_status_display() == "已撤销"
    assert request.decision_note == "岗位调整，不再需要"
    assert request.grant is None
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    (revoked,) = events(org_requests.REQUEST_REVOKED)
    assert revoked.actor_id == people.initiator.pk
    assert revoked.details["grant_id"] == grant.pk
    assert revoked.details["flow"] == instance.serial
    taken_back = events("org.role.revoked")[-1]
    assert taken_back.actor_id == people.initiator.pk
    assert taken_back.details["grant_id"] == grant.pk
    # The role may be asked for again — and a new flow runs it.
    assert instance_of(file(people)).state == InstanceState.RUNNING


def test_a_request_decided_on_the_org_page_meanwhile_stays_as_decided(
    people: People, office: User, secadmin_user: User
) -> None:
    request = file(people)
    instance = instance_of(request)
    org_requests.permission_request_reject(actor=secadmin_user, permission_request=request, note="不符合规定")
    approve(instance, people.head)
    instance = approve(instance, office)
    assert instance.state == InstanceState.APPROVED
    request = refreshed(request)
    assert request.status == PermissionRequest.Status.REJECTED
    assert request.decided_by == secadmin_user
    assert not RoleGrant.objects.filter(
        user=people.initiator, role__code=org_builtin.NOTICE_PUBLISHER
    ).exists()


def test_a_hand_started_instance_with_a_made_up_form_grants_nothing(people: People, office: User) -> None:
    """Approvers grant only what they read: an instance whose form does not show the request
    exactly as filed (here a harmless role shown for an administrator one) changes nothing."""
    request = file(people, org_builtin.PORTAL_ADMIN, scope=DataScope.GROUP)
    instance_of(request).delete()
    forged = services.instance_start(
        actor=people.initiator,
        flow=FlowDefinition.objects.get(code=builtin.PERMISSION),
        request_id=rid(),
        data={**permission_flow.form_data(request), "role": "普通用户（employee）"},
    )
    assert permission_flow.linked_request(forged) is None
    approve(forged, people.head)
    assert approve(forged, office).state == InstanceState.APPROVED
    assert refreshed(request).status == PermissionRequest.Status.PENDING
    assert not RoleGrant.objects.filter(user=people.initiator, role__code=org_builtin.PORTAL_ADMIN).exists()


def test_someone_elses_request_number_is_not_linked(people: People, office: User) -> None:
    request = file(people)
    copy = Instance(initiator=people.other, data=instance_of(request).data)
    assert permission_flow.linked_request(copy) is None


def test_without_the_flow_the_security_administrator_decides_as_before(
    people: People, secadmin_user: User
) -> None:
    FlowDefinition.objects.filter(code=builtin.PERMISSION).update(is_active=False)
    request = file(people)
    assert not Instance.objects.filter(create_request_id=permission_flow.request_key(request)).exists()
    org_requests.permission_request_approve(actor=secadmin_user, permission_request=request)
    assert refreshed(request).status == PermissionRequest.Status.APPROVED


def test_a_flow_with_nobody_to_ask_is_not_started(org_tree: dict[str, OrgUnit], secadmin_user: User) -> None:
    """No head and no reviewer: the flow would end at once without a decision. It is not
    started at all, and nothing of it is left behind — the request goes to the security
    administrator."""
    loner = make_user("dulirenyuan", name="独立人员")
    place(loner, org_tree["group"])
    request = org_requests.permission_request_create(
        actor=loner, subject=loner, role=role(), scope=DataScope.SELF, reason="需要发布通知"
    )
    assert not Instance.objects.filter(definition__code=builtin.PERMISSION).exists()
    assert refreshed(request).status == PermissionRequest.Status.PENDING
    assert not events(org_requests.REQUEST_APPROVAL_FAILED)
    org_requests.permission_request_approve(actor=secadmin_user, permission_request=request)
    assert refreshed(request).status == PermissionRequest.Status.APPROVED


def test_filing_is_refused_as_before_and_starts_nothing(people: People, office: User) -> None:
    with pytest.raises(DomainError, match="申请理由"):
        file(people, reason="  ")
    assert not Instance.objects.filter(definition__code=builtin.PERMISSION).exists()


# --------------------------------------------------------------------------- hooks


def test_a_failing_finished_callback_does_not_stop_the_request_from_ending(people: People) -> None:
    seen: list[str] = []

    def broken(instance: Instance, actor: User | None) -> None:
        Role.objects.filter(code=builtin.SEAL_KEEPER).update(name="改坏了")
        raise RuntimeError("boom")

    def listening(instance: Instance, actor: User | None) -> None:
        seen.append(instance.state)

    hooks.on_finished(builtin.REQUEST, broken)
    hooks.on_finished(builtin.REQUEST, listening)
    hooks.on_finished(builtin.REQUEST, listening)  # registered once
    try:
        flow = FlowDefinition.objects.get(code=builtin.REQUEST)
        instance = services.instance_start(
            actor=people.initiator, flow=flow, request_id=rid(), data={"subject": "请示", "content": "内容"}
        )
        services.approve(
            actor=people.head, item=item_of(instance, people.head), request_id=rid(), opinion="同意"
        )
        assert seen == []  # not the end yet
        instance = services.approve(
            actor=people.boss, item=item_of(instance, people.boss), request_id=rid(), opinion="同意"
        )
    finally:
        hooks.off_finished(builtin.REQUEST, broken)
        hooks.off_finished(builtin.REQUEST, listening)
    assert instance.state == InstanceState.APPROVED
    assert Instance.objects.get(pk=instance.pk).state == InstanceState.APPROVED
    assert seen == [InstanceState.APPROVED]
    assert Role.objects.get(code=builtin.SEAL_KEEPER).name == "印章管理员"  # its changes rolled back


def test_r14_the_permission_flow_is_filed_from_my_permissions_not_started_by_hand(people: People) -> None:
    """A 权限变更申请 started from the approvals pages would be tied to no org request and
    grant nothing, so its card and its start page lead to “我的权限”, and the API refuses it."""
    flow = FlowDefinition.objects.get(code=builtin.PERMISSION)
    client = client_for(people.initiator)
    page = client.get("/workflow/start/").content.decode()
    assert f'href="{reverse("roles:request_new")}" data-flow="{flow.pk}"' in page
    response = client.get(f"/workflow/start/{flow.pk}/")
    assert response.status_code == 302
    assert response["Location"] == reverse("roles:request_new")
    answer = client.post(
        "/api/v1/workflow/instances",
        {"flow_code": builtin.PERMISSION, "data": {}, "request_id": rid()},
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert "/api/v1/roles/requests" in answer.json()["error"]["message"]
    assert not Instance.objects.filter(definition=flow).exists()
