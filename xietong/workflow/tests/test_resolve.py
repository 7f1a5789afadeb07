"""Approver resolution over a real organisation tree, who may start a flow, and references."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures import grant_role, make_user, place
from xietong.core import clock
from xietong.core.errors import DomainError
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import DataScope, Membership, OrgUnit, Position, RoleGrant
from xietong.workflow.definition import DefinitionError
from xietong.workflow.resolve import (
    can_start,
    check_chosen,
    initiator_audience,
    reference_problems,
    resolve_approvers,
)
from xietong.workflow.tests.test_definition import FORMS, approval, flow


def head_of(unit: OrgUnit, username: str, *, primary: bool = True) -> User:
    user = make_user(username, name=username)
    Membership.objects.create(user=user, unit=unit, is_primary=primary, is_head=True)
    return user


@dataclass
class Org:
    units: dict[str, OrgUnit]
    chair: User  # heads 集团
    zhao: User  # heads 华东分公司
    wang: User  # heads 生产技术部
    monitor: User  # heads 检修班
    worker: User  # a member of 检修班
    su: User  # heads 苏州公司
    engineer: User  # a member of 苏州工程部, which has no head
    clerk: User  # a member of 财务部 (no head) with the position 会计


@pytest.fixture
def org(org_tree: dict[str, OrgUnit]) -> Org:
    accountant = Position.objects.create(name="会计", rank=2)
    clerk = make_user("clerk", name="会计")
    place(clerk, org_tree["finance"], position=accountant)
    worker = make_user("worker", name="工人")
    place(worker, org_tree["repair"])
    engineer = make_user("engineer", name="工程师")
    place(engineer, org_tree["suzhou_works"])
    return Org(
        units=org_tree,
        chair=head_of(org_tree["group"], "chair"),
        zhao=head_of(org_tree["east"], "zhao"),
        wang=head_of(org_tree["production"], "wang"),
        monitor=head_of(org_tree["repair"], "monitor"),
        worker=worker,
        su=head_of(org_tree["suzhou"], "su"),
        engineer=engineer,
        clerk=clerk,
    )


def resolve(spec: dict[str, Any], initiator: User, **kwargs: Any) -> list[int]:
    kwargs.setdefault("data", {})
    return resolve_approvers(spec, initiator=initiator, **kwargs)


def ids(*users: User) -> list[int]:
    return [user.pk for user in users]


# --------------------------------------------------------------------------- 主管层级


def test_head_levels_of_a_member(org: Org) -> None:
    assert resolve({"kind": "head", "level": 1}, org.worker) == ids(org.monitor)
    assert resolve({"kind": "head", "level": 2}, org.worker) == ids(org.wang)
    assert resolve({"kind": "head", "level": 3}, org.worker) == ids(org.zhao)
    assert resolve({"kind": "head", "level": 4}, org.worker) == ids(org.chair)
    assert resolve({"kind": "head", "level": 5}, org.worker) == []  # above the top: nobody


def test_r74_when_the_initiator_is_the_head_level_one_is_the_head_above(org: Org) -> None:
    # A head's level 1 is a member's level 2 (domain standards §4.1).
    assert resolve({"kind": "head", "level": 1}, org.monitor) == ids(org.wang)
    assert resolve({"kind": "head", "level": 2}, org.monitor) == ids(org.zhao)
    assert resolve({"kind": "heads", "up_to": 2}, org.monitor) == ids(org.wang, org.zhao)
    assert resolve({"kind": "head", "level": 1}, org.chair) == []  # the head of the top unit


def test_a_chain_of_heads_runs_low_to_high(org: Org) -> None:
    assert resolve({"kind": "heads", "up_to": 1}, org.worker) == ids(org.monitor)
    assert resolve({"kind": "heads", "up_to": 3}, org.worker) == ids(org.monitor, org.wang, org.zhao)
    assert resolve({"kind": "heads", "up_to": 20}, org.worker) == ids(
        org.monitor, org.wang, org.zhao, org.chair
    )


def test_a_unit_without_a_head_passes_its_level_to_the_nearest_head_above(org: Org) -> None:
    # 苏州工程部 has no head: level 1 falls to 苏州公司's head, who is level 2 as well.
    assert resolve({"kind": "head", "level": 1}, org.engineer) == ids(org.su)
    assert resolve({"kind": "head", "level": 2}, org.engineer) == ids(org.su)
    assert resolve({"kind": "head", "level": 3}, org.engineer) == ids(org.zhao)
    assert resolve({"kind": "heads", "up_to": 3}, org.engineer) == ids(org.su, org.zhao)  # each once
    assert resolve({"kind": "head", "level": 1}, org.clerk) == ids(org.chair)  # 财务部 has none


def test_inactive_heads_and_administrators_do_not_count_as_heads(org: Org) -> None:
    org.wang.is_active = False
    org.wang.save()
    assert resolve({"kind": "head", "level": 2}, org.worker) == ids(org.zhao)
    grant_role(org.monitor, builtin.SYSTEM_ADMIN)  # 三员 take no part in business flows
    assert resolve({"kind": "head", "level": 1}, org.worker) == ids(org.zhao)
    # Levels 1 to 3 all fall to 赵总; level 4 is the chair.
    assert resolve({"kind": "heads", "up_to": 3}, org.worker) == ids(org.zhao)
    assert resolve({"kind": "heads", "up_to": 4}, org.worker) == ids(org.zhao, org.chair)


def test_a_deactivated_unit_has_no_head(org: Org) -> None:
    OrgUnit.objects.filter(pk=org.units["production"].pk).update(is_active=False)
    assert resolve({"kind": "head", "level": 2}, org.worker) == ids(org.zhao)


def test_a_unit_with_two_heads_gives_both(org: Org) -> None:
    deputy = head_of(org.units["production"], "deputy")
    assert resolve({"kind": "head", "level": 2}, org.worker) == ids(org.wang, deputy)


def test_nobody_is_their_own_superior(org: Org) -> None:
    # The worker also heads 生产技术部 through a concurrent post.
    Membership.objects.create(user=org.worker, unit=org.units["production"], is_primary=False, is_head=True)
    assert resolve({"kind": "head", "level": 2}, org.worker) == ids(org.wang)


def test_without_a_primary_unit_there_is_no_head(org: Org) -> None:
    loner = make_user("loner")
    place(loner, org.units["repair"], primary=False)
    assert resolve({"kind": "head", "level": 1}, loner) == []
    assert resolve({"kind": "heads", "up_to": 3}, loner) == []


def test_head_resolution_costs_two_queries_however_deep_the_tree(
    org: Org, django_assert_num_queries: Any
) -> None:
    parent = org.units["repair"]
    for level in range(8):
        parent = OrgUnit.objects.add_child(
            OrgUnit.objects.get(pk=parent.pk), create_kwargs={"name": f"第{level}组", "code": f"R{level}"}
        )
        if level % 2:
            head_of(parent, f"lead{level}")
    deep = make_user("deep")
    place(deep, parent)
    with django_assert_num_queries(2):
        chain = resolve({"kind": "heads", "up_to": 20}, deep)
    assert chain[-4:] == ids(org.monitor, org.wang, org.zhao, org.chair)
    assert len(chain) == 8
    with django_assert_num_queries(2):
        resolve({"kind": "head", "level": 3}, deep)


# --------------------------------------------------------------------------- users, roles, posts


def test_named_users_keep_their_order_once_each_and_only_if_active(
    org: Org, django_assert_num_queries: Any
) -> None:
    gone = make_user("gone", is_active=False)
    admin = make_user("sys")
    grant_role(admin, builtin.SYSTEM_ADMIN)
    spec = {"kind": "users", "ids": [org.zhao.pk, org.worker.pk, org.zhao.pk, gone.pk, admin.pk, 999999]}
    with django_assert_num_queries(1):
        assert resolve(spec, org.worker) == ids(org.zhao, org.worker)


def test_role_holders_personal_and_through_a_post(org: Org, django_assert_num_queries: Any) -> None:
    roles = builtin.ensure_builtin_roles()
    reviewer = roles[builtin.PORTAL_REVIEWER]
    RoleGrant.objects.create(role=reviewer, user=org.zhao, scope=DataScope.DEPARTMENT)
    accountant = Position.objects.get(name="会计")
    RoleGrant.objects.create(role=reviewer, position=accountant, scope=DataScope.DEPARTMENT)
    RoleGrant.objects.create(
        role=reviewer, user=org.wang, scope=DataScope.SELF, expires_at=clock.now() + dt.timedelta(days=1)
    )
    RoleGrant.objects.create(
        role=reviewer, user=org.chair, scope=DataScope.SELF, expires_at=clock.now() - dt.timedelta(days=1)
    )
    inactive = make_user("inactive", is_active=False)
    RoleGrant.objects.create(role=reviewer, user=inactive, scope=DataScope.SELF)
    spec = {"kind": "role", "code": builtin.PORTAL_REVIEWER}
    with django_assert_num_queries(1):
        found = resolve(spec, org.worker)
    assert found == sorted(ids(org.zhao, org.wang, org.clerk))
    # ``now`` decides which grants are live: tomorrow 王经理's grant has run out.
    later = clock.now() + dt.timedelta(days=2)
    assert resolve(spec, org.worker, now=later) == sorted(ids(org.zhao, org.clerk))


def test_administrators_never_resolve_even_when_they_hold_the_role(org: Org) -> None:
    admin = make_user("sec")
    grant_role(admin, builtin.SECURITY_ADMIN)
    reviewer = builtin.ensure_builtin_roles()[builtin.PORTAL_REVIEWER]
    RoleGrant.objects.create(role=reviewer, user=admin, scope=DataScope.SELF)  # a row that came another way
    assert admin.pk not in resolve({"kind": "role", "code": builtin.PORTAL_REVIEWER}, org.worker)
    # The default role covers every account — but not the administrators.
    everyone = resolve({"kind": "role", "code": builtin.EMPLOYEE}, org.worker)
    assert org.worker.pk in everyone
    assert admin.pk not in everyone


def test_an_unknown_role_resolves_to_nobody(org: Org) -> None:
    assert resolve({"kind": "role", "code": "nobody-has-this"}, org.worker) == []


def test_position_holders(org: Org, django_assert_num_queries: Any) -> None:
    accountant = Position.objects.get(name="会计")
    second = make_user("second")
    place(second, org.units["office"])
    place(second, org.units["finance"], position=accountant, primary=False)  # a concurrent post
    with django_assert_num_queries(1):
        assert resolve({"kind": "position", "id": accountant.pk}, org.worker) == sorted(
            ids(org.clerk, second)
        )
    assert resolve({"kind": "position", "id": accountant.pk + 100}, org.worker) == []


def test_unit_head(org: Org, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        assert resolve({"kind": "unit_head", "unit_id": org.units["east"].pk}, org.worker) == ids(org.zhao)
    # A named unit without a head gives nobody (the node's on_empty rule decides).
    assert resolve({"kind": "unit_head", "unit_id": org.units["finance"].pk}, org.worker) == []
    assert resolve({"kind": "unit_head", "unit_id": 999999}, org.worker) == []
    # Unlike the chain of heads, the initiator is not left out: self_approve decides.
    assert resolve({"kind": "unit_head", "unit_id": org.units["repair"].pk}, org.monitor) == ids(org.monitor)


def test_the_initiator(org: Org) -> None:
    assert resolve({"kind": "initiator"}, org.worker) == ids(org.worker)
    org.worker.is_active = False
    org.worker.save()
    assert resolve({"kind": "initiator"}, org.worker) == []


def test_an_unchecked_level_resolves_to_nobody(org: Org) -> None:
    assert resolve({"kind": "head", "level": 0}, org.worker) == []
    assert resolve({"kind": "head"}, org.worker) == []
    assert resolve({"kind": "heads", "up_to": "3"}, org.worker) == []


def test_an_unknown_kind_is_a_definition_error(org: Org) -> None:
    with pytest.raises(DefinitionError):
        resolve({"kind": "boss"}, org.worker)
    with pytest.raises(DefinitionError):
        resolve("head", org.worker)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- 发起人自选


def test_initiator_chooses(org: Org) -> None:
    spec = {"kind": "initiator_chooses", "multiple": True}
    assert resolve(spec, org.worker, chosen=[org.zhao.pk, org.wang.pk, org.zhao.pk]) == ids(
        org.zhao, org.wang
    )
    assert resolve({"kind": "initiator_chooses"}, org.worker, chosen=[org.zhao.pk, org.wang.pk]) == ids(
        org.zhao
    )
    assert resolve(spec, org.worker) == []
    org.wang.is_active = False
    org.wang.save()
    assert resolve(spec, org.worker, chosen=[org.wang.pk, org.zhao.pk]) == ids(org.zhao)


def test_initiator_chooses_within_a_range(org: Org) -> None:
    spec = {"kind": "initiator_chooses", "multiple": True, "among": {"kind": "heads", "up_to": 2}}
    assert resolve(spec, org.worker, chosen=[org.chair.pk, org.wang.pk]) == ids(org.wang)
    with pytest.raises(DomainError, match="不在可选范围内"):
        check_chosen(spec, initiator=org.worker, data={}, chosen=[org.chair.pk])
    assert check_chosen(spec, initiator=org.worker, data={}, chosen=[org.wang.pk, org.monitor.pk]) == ids(
        org.wang, org.monitor
    )


def test_check_chosen_refuses_bad_picks(org: Org) -> None:
    single = {"kind": "initiator_chooses"}
    with pytest.raises(DomainError, match="请选择审批人"):
        check_chosen(single, initiator=org.worker, data={}, chosen=[])
    with pytest.raises(DomainError, match="所选审批人无效"):
        check_chosen(single, initiator=org.worker, data={}, chosen=["张三"])
    with pytest.raises(DomainError, match="只能选择一名"):
        check_chosen(single, initiator=org.worker, data={}, chosen=[org.zhao.pk, org.wang.pk])
    gone = make_user("gone", is_active=False)
    with pytest.raises(DomainError, match="已停用"):
        check_chosen(single, initiator=org.worker, data={}, chosen=[gone.pk])
    assert check_chosen(single, initiator=org.worker, data={}, chosen=[str(org.zhao.pk)]) == ids(org.zhao)


# --------------------------------------------------------------------------- form fields


def test_a_user_field_names_the_approvers(org: Org) -> None:
    spec = {"kind": "form_field", "field": "owner"}
    assert resolve(spec, org.worker, data={"owner": org.zhao.pk}) == ids(org.zhao)
    assert resolve(spec, org.worker, data={"owner": str(org.zhao.pk)}) == ids(org.zhao)
    assert resolve(spec, org.worker, data={}) == []
    watchers = {"kind": "form_field", "field": "watchers"}
    assert resolve(watchers, org.worker, data={"watchers": [org.wang.pk, org.zhao.pk]}, form=FORMS[1]) == ids(
        org.wang, org.zhao
    )


@pytest.mark.parametrize("form_index", [0, 1], ids=["fake", "formspec"])
def test_a_unit_field_means_that_units_head(org: Org, form_index: int) -> None:
    spec = {"kind": "form_field", "field": "dept"}
    data = {"dept": org.units["production"].pk}
    assert resolve(spec, org.worker, data=data, form=FORMS[form_index]) == ids(org.wang)
    assert resolve(spec, org.worker, data={"dept": org.units["finance"].pk}, form=FORMS[form_index]) == []


# --------------------------------------------------------------------------- can_start


def test_can_start_everyone_but_not_administrators_or_inactive_accounts(org: Org) -> None:
    definition = flow(approval())
    assert can_start(definition, org.worker)
    assert can_start({"nodes": []}, org.worker)  # no rule: everyone
    admin = make_user("audit")
    grant_role(admin, builtin.AUDIT_ADMIN)
    assert not can_start(definition, admin)
    org.worker.is_active = False
    assert not can_start(definition, org.worker)
    assert not can_start(flow(approval(), initiators=[]), org.zhao)


def test_can_start_by_unit_with_or_without_the_units_below(org: Org) -> None:
    east = org.units["east"].pk
    subtree = flow(approval(), initiators=[{"kind": "unit", "id": east, "subtree": True}])
    assert can_start(subtree, org.worker)
    assert can_start(subtree, org.zhao)
    assert not can_start(subtree, org.clerk)
    assert can_start(
        flow(approval(), initiators=[{"kind": "unit", "id": east}]), org.worker
    )  # subtree by default
    only = flow(approval(), initiators=[{"kind": "unit", "id": east, "subtree": False}])
    assert can_start(only, org.zhao)
    assert not can_start(only, org.worker)


def test_can_start_by_role_user_and_position(org: Org) -> None:
    grant_role(org.wang, builtin.PORTAL_REVIEWER, scope=DataScope.DEPARTMENT)
    by_role = flow(approval(), initiators=[{"kind": "role", "code": builtin.PORTAL_REVIEWER}])
    assert can_start(by_role, org.wang)
    assert not can_start(by_role, org.worker)
    by_user = flow(approval(), initiators=[{"kind": "user", "id": org.worker.pk}])
    assert can_start(by_user, org.worker)
    assert not can_start(by_user, org.wang)
    accountant = Position.objects.get(name="会计").pk
    by_post = flow(
        approval(), initiators=[{"kind": "position", "id": accountant}, {"kind": "user", "id": org.su.pk}]
    )
    assert can_start(by_post, org.clerk)
    assert can_start(by_post, org.su)
    assert not can_start(by_post, org.worker)


def test_can_start_costs_at_most_two_queries(org: Org, django_assert_max_num_queries: Any) -> None:
    rules = [
        {"kind": "unit", "id": org.units["east"].pk},
        {"kind": "unit", "id": org.units["finance"].pk, "subtree": False},
        {"kind": "role", "code": builtin.PORTAL_REVIEWER},
        {"kind": "position", "id": Position.objects.get(name="会计").pk},
        {"kind": "user", "id": org.su.pk},
    ]
    with django_assert_max_num_queries(2):
        assert can_start(flow(approval(), initiators=rules), org.worker)


def test_initiator_audience_reads_every_rule() -> None:
    audience = initiator_audience(
        {
            "initiators": [
                {"kind": "unit", "id": 1},
                {"kind": "unit", "id": 2, "subtree": False},
                {"kind": "role", "code": "finance"},
                {"kind": "user", "id": 3},
                {"kind": "position", "id": 4},
                {"kind": "bogus", "id": 5},
            ]
        }
    )
    assert audience.units == {1}
    assert audience.units_only == {2}
    assert audience.roles == {"finance"}
    assert audience.users == {3}
    assert audience.positions == {4}
    assert not audience.everyone


# --------------------------------------------------------------------------- references


def test_a_definition_naming_what_exists_has_no_reference_problems(org: Org) -> None:
    accountant = Position.objects.get(name="会计").pk
    definition = flow(
        approval(approvers={"kind": "users", "ids": [org.zhao.pk]}),
        approval("a2", approvers={"kind": "role", "code": builtin.PORTAL_REVIEWER}),
        approval("a3", approvers={"kind": "unit_head", "unit_id": org.units["east"].pk}),
        approval(
            "a4",
            approvers={"kind": "initiator_chooses", "among": {"kind": "position", "id": accountant}},
        ),
        initiators=[{"kind": "unit", "id": org.units["group"].pk}],
        settings={"admin_user_ids": [org.chair.pk]},
    )
    assert reference_problems(definition) == []


def test_reference_problems_name_what_is_missing_or_may_not_act(
    org: Org, django_assert_max_num_queries: Any
) -> None:
    gone = make_user("gone", is_active=False)
    admin = make_user("sys")
    grant_role(admin, builtin.SYSTEM_ADMIN)
    closed = org.units["office"]
    OrgUnit.objects.filter(pk=closed.pk).update(is_active=False)
    condition = {
        "all": [
            {"subject": "initiator_unit", "op": "in", "value": [999001]},
            {"subject": "initiator_role", "op": "in", "value": ["ghost-role"]},
            {"subject": "initiator_position", "op": "not_in", "value": [999002]},
        ]
    }
    definition = flow(
        approval(approvers={"kind": "users", "ids": [gone.pk, admin.pk]}),
        approval("a2", approvers={"kind": "role", "code": builtin.SYSTEM_ADMIN}),
        {
            "id": "g1",
            "type": "condition",
            "name": "条件",
            "branches": [
                {"id": "ga", "name": "甲", "priority": 1, "condition": condition, "nodes": []},
                {"id": "gz", "name": "其他", "default": True, "nodes": []},
            ],
        },
        {"id": "c1", "type": "cc", "name": "抄送", "recipients": {"kind": "unit_head", "unit_id": closed.pk}},
        initiators=[{"kind": "user", "id": 999003}],
    )
    with django_assert_max_num_queries(4):
        problems = reference_problems(definition)
    text = "\n".join(problems)
    assert f"编号 {gone.pk}）不存在、已停用或是三员管理员" in text
    assert f"编号 {admin.pk}）" in text
    assert "编号 999003）" in text
    assert "三员管理角色“system_admin”" in text
    assert "角色“ghost-role”不存在" in text
    assert "岗位（编号 999002）不存在" in text
    assert "部门（编号 999001）不存在或已停用" in text
    assert f"部门（编号 {closed.pk}）不存在或已停用" in text
    assert len(problems) == 8


def test_reference_problems_tolerate_a_malformed_definition(db: Any) -> None:
    assert reference_problems({"nodes": "x", "initiators": 5, "settings": []}) == []
    assert reference_problems({"nodes": [{"type": "condition", "branches": 7}, 3]}) == []
