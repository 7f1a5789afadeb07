"""The shipped flows: valid, installed and published by the migration, idempotent, and each
request reaches the people its route names."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps as django_apps

from tests.fixtures import make_user, place
from xietong.core.errors import DomainError
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.org.models import Membership, OrgUnit, Role
from xietong.org.services import role_grant_by_system
from xietong.workflow import builtin, definition, formspec, resolve, services
from xietong.workflow.models import FlowDefinition, FlowVersion, Instance, InstanceState, WorkItem
from xietong.workflow.tests.conftest import People, item_of, pending, rid

pytestmark = pytest.mark.django_db


def flow(code: str) -> FlowDefinition:
    return FlowDefinition.objects.select_related("current_version").get(code=code)


def upload(owner: User, name: str = "合同.pdf") -> str:
    stored = StoredFile.objects.create(
        name=name, blob="uploads/x", size=1, content_type="application/pdf", sha256="0" * 64,
        context="workflow.attachment", scanned_by="builtin", uploaded_by=owner,
    )  # fmt: skip
    return str(stored.key)


def holding(code: str, *users: User) -> None:
    role = Role.objects.get(code=code)
    for user in users:
        role_grant_by_system(role=role, user=user, reason="测试")


def start(initiator: User, code: str, data: dict[str, Any], **kwargs: Any) -> Instance:
    return services.instance_start(actor=initiator, flow=flow(code), data=data, request_id=rid(), **kwargs)


def approve(instance: Instance, user: User, opinion: str = "同意。") -> Instance:
    return services.approve(actor=user, item=item_of(instance, user), request_id=rid(), opinion=opinion)


def holders(instance: Instance, kind: str | None = None) -> set[int]:
    items = pending(instance)
    return {item.assignee_id for item in items if kind is None or item.kind == kind}


@pytest.fixture
def chairman(org_tree: dict[str, OrgUnit]) -> User:
    """The group's head (刘总), who also chairs the board."""
    leader = make_user("liuzong", name="刘总")
    Membership.objects.create(user=leader, unit=org_tree["group"], is_head=True, is_primary=True)
    holding(builtin.CHAIRMAN, leader)
    return leader


# --------------------------------------------------------------------------- definitions


@pytest.mark.parametrize("spec", builtin.FLOWS, ids=lambda spec: spec["code"])
def test_each_shipped_flow_is_a_valid_form_and_route(spec: dict[str, Any]) -> None:
    form = formspec.parse_form(spec["form"])
    definition.check_definition(spec["flow"], form)
    assert resolve.reference_problems(spec["flow"]) == []  # the roles it names exist


def test_the_migration_installed_every_flow_published_and_startable(people: People) -> None:
    for spec in builtin.FLOWS:
        installed = flow(spec["code"])
        version = installed.current_version
        assert installed.is_active
        assert installed.name == spec["name"]
        assert version is not None
        assert version.status == FlowVersion.Status.PUBLISHED
        assert version.form == spec["form"]
        assert version.flow == spec["flow"]
        assert resolve.can_start(version.flow, people.initiator)
    roles = dict(
        Role.objects.filter(code__in=[code for code, _n, _d in builtin.ROLES]).values_list("code", "name")
    )
    assert roles[builtin.SEAL_KEEPER] == "印章管理员"
    assert len(roles) == len(builtin.ROLES)
    assert not Role.objects.filter(code__in=roles, admin_tier__in=["system", "security", "audit"]).exists()


def test_installing_again_duplicates_nothing_and_keeps_an_administrators_edits(people: People) -> None:
    seal = flow(builtin.SEAL)
    edited = FlowVersion.objects.create(
        definition=seal,
        number=2,
        form=builtin.SEAL_FORM,
        flow={**builtin.SEAL_FLOW, "nodes": builtin.SEAL_FLOW["nodes"][:1]},
        status=FlowVersion.Status.DRAFT,
    )
    seal.versions.exclude(pk=edited.pk).update(status=FlowVersion.Status.RETIRED)
    FlowVersion.objects.filter(pk=edited.pk).update(status=FlowVersion.Status.PUBLISHED)
    FlowDefinition.objects.filter(pk=seal.pk).update(current_version=edited, name="用印审批")

    assert builtin.ensure_builtin_flows() == []
    migration = importlib.import_module("xietong.workflow.migrations.0003_builtin_flows")
    migration.forwards(django_apps, None)  # the migration's own step, run a second time

    assert FlowDefinition.objects.filter(code__in=builtin.FLOW_CODES).count() == len(builtin.FLOWS)
    assert Role.objects.filter(code=builtin.SEAL_KEEPER).count() == 1
    seal = flow(builtin.SEAL)
    assert seal.name == "用印审批"
    assert seal.current_version_id == edited.pk
    assert seal.versions.count() == 2


def test_a_missing_flow_is_installed_under_the_root_unit(org_tree: dict[str, OrgUnit]) -> None:
    FlowDefinition.objects.filter(code=builtin.LIAISON).update(current_version=None)
    FlowVersion.objects.filter(definition__code=builtin.LIAISON).delete()
    FlowDefinition.objects.filter(code=builtin.LIAISON).delete()

    assert builtin.ensure_builtin_flows() == [builtin.LIAISON]
    assert flow(builtin.LIAISON).owner_unit == org_tree["group"]
    assert flow(builtin.REQUEST).owner_unit is None  # installed by the migration, before any unit


# --------------------------------------------------------------------------- routes


def test_r79_request_goes_to_the_head_the_leader_above_and_the_top_leader_for_the_reply(
    people: People, chairman: User
) -> None:
    instance = start(
        people.initiator, builtin.REQUEST, {"subject": "关于购置检修车辆的请示", "content": "现有车辆老化。"}
    )
    assert holders(instance) == {people.head.pk}
    with pytest.raises(DomainError, match="意见"):
        services.approve(actor=people.head, item=item_of(instance, people.head), request_id=rid(), opinion="")
    approve(instance, people.head)
    assert holders(instance) == {people.boss.pk}
    approve(instance, people.boss)
    assert holders(instance) == {chairman.pk}
    instance = approve(instance, chairman, "同意购置，按程序采购。")
    assert instance.state == InstanceState.APPROVED


def test_request_reply_is_skipped_when_the_leader_above_is_the_top(people: People) -> None:
    """Nobody above the 分管领导: the reply step falls away rather than blocking the request."""
    instance = start(people.initiator, builtin.REQUEST, {"subject": "请示", "content": "内容"})
    approve(instance, people.head)
    instance = approve(instance, people.boss)
    assert instance.state == InstanceState.APPROVED


def test_r79_liaison_is_handled_by_the_head_of_the_department_chosen_in_the_form(
    people: People, org_tree: dict[str, OrgUnit]
) -> None:
    finance_head = make_user("caiwujl", name="财务经理")
    Membership.objects.create(user=finance_head, unit=org_tree["finance"], is_head=True, is_primary=True)
    instance = start(
        people.initiator,
        builtin.LIAISON,
        {
            "subject": "检修费用结算",
            "receiver": org_tree["finance"].pk,
            "content": "请协助结算。",
            "reply_by": "2026-12-10",
        },
    )
    approve(instance, people.head)
    assert holders(instance, WorkItem.Kind.HANDLE) == {finance_head.pk}
    item = item_of(instance, finance_head)
    with pytest.raises(DomainError, match="意见"):
        services.approve(actor=finance_head, item=item, request_id=rid(), opinion="")
    instance = approve(instance, finance_head, "已安排，12月8日前完成结算。")
    assert instance.state == InstanceState.APPROVED
    cc = WorkItem.objects.get(instance=instance, kind=WorkItem.Kind.CC)
    assert cc.assignee_id == people.head.pk  # the sending department hears the reply


def contract_data(initiator: User, amount: str) -> dict[str, Any]:
    return {
        "name": "检修服务合同", "party": "苏州电力检修有限公司", "amount": amount, "kind": "服务合同",
        "text": [upload(initiator)],
        "items": [{"item": "年度检修", "quantity": "1", "price": amount}],
    }  # fmt: skip


@pytest.fixture
def reviewers(people: People) -> People:
    holding(builtin.LEGAL_REVIEWER, people.legal)
    holding(builtin.FINANCE_REVIEWER, people.finance1)
    holding(builtin.ARCHIVIST, people.admin)
    return people


def through_review(instance: Instance, people: People) -> Instance:
    approve(instance, people.head)
    assert holders(instance) == {people.legal.pk, people.finance1.pk, people.head.pk}  # 会审, in parallel
    approve(instance, people.legal)
    approve(instance, people.finance1)
    return approve(instance, people.head, "业务需要，同意。")


def test_r76_large_contract_goes_to_the_general_manager_and_the_chairman(
    reviewers: People, chairman: User
) -> None:
    people = reviewers
    instance = through_review(
        start(people.initiator, builtin.CONTRACT, contract_data(people.initiator, "1000000")), people
    )
    assert holders(instance) == {people.boss.pk}
    approve(instance, people.boss)
    assert holders(instance) == {chairman.pk}
    instance = approve(instance, chairman)
    assert instance.state == InstanceState.APPROVED
    assert WorkItem.objects.get(instance=instance, kind=WorkItem.Kind.CC).assignee_id == people.admin.pk


def test_smaller_contract_goes_to_the_leader_above_only(reviewers: People, chairman: User) -> None:
    people = reviewers
    instance = through_review(
        start(people.initiator, builtin.CONTRACT, contract_data(people.initiator, "999999.99")), people
    )
    assert holders(instance) == {people.boss.pk}
    instance = approve(instance, people.boss)
    assert instance.state == InstanceState.APPROVED
    assert not WorkItem.objects.filter(instance=instance, assignee=chairman).exists()


def test_contract_needs_its_text_and_a_known_type(people: People) -> None:
    data = contract_data(people.initiator, "5000")
    with pytest.raises(formspec.FormDataError):
        start(people.initiator, builtin.CONTRACT, {**data, "text": []})
    with pytest.raises(formspec.FormDataError):
        start(people.initiator, builtin.CONTRACT, {**data, "kind": "口头合同"})
    assert (
        not Instance.objects.exclude(state=InstanceState.DRAFT)
        .filter(definition__code=builtin.CONTRACT)
        .exists()
    )


def test_seal_request_is_handled_by_the_seal_keeper(people: People) -> None:
    keeper = people.other
    holding(builtin.SEAL_KEEPER, keeper)
    data = {"purpose": "合同盖章", "seal": "合同专用章", "copies": "2", "files": [upload(people.initiator)]}
    instance = start(people.initiator, builtin.SEAL, data)
    approve(instance, people.head)
    assert holders(instance, WorkItem.Kind.HANDLE) == {keeper.pk}
    instance = approve(instance, keeper, "已用印 2 份。")
    assert instance.state == InstanceState.APPROVED
    with pytest.raises(formspec.FormDataError):
        start(people.initiator, builtin.SEAL, {**data, "seal": "私章"})


def test_a_flow_outside_the_organisation_still_finds_its_approvers(org_tree: dict[str, OrgUnit]) -> None:
    """A head of a department starts a request: level 1 is the head above them."""
    head = make_user("banzhang", name="班长")
    Membership.objects.create(user=head, unit=org_tree["repair"], is_head=True, is_primary=True)
    manager = make_user("jingli", name="经理")
    Membership.objects.create(user=manager, unit=org_tree["production"], is_head=True, is_primary=True)
    member = make_user("yuangong", name="员工")
    place(member, org_tree["repair"])
    instance = start(
        head, builtin.SEAL, {"purpose": "盖章", "seal": "公司公章", "copies": 1, "files": [upload(head)]}
    )
    assert holders(instance) == {manager.pk}
