"""Fixtures of the approval engine's tests: a small company with heads, people in roles, and
helpers to publish a flow and act on requests.

张伟 (zhangwei) of 生产技术部 starts requests; 王经理 heads 生产技术部, 赵总 heads 华东分公司
(so the chain of heads of 张伟 is 王经理 → 赵总); 钱财务 and 孙财务 work in 财务部, 周法务
in 综合办公室.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures import make_user, place
from xietong.identity.models import User
from xietong.notify.models import Dispatch
from xietong.org.models import Membership, OrgUnit
from xietong.workflow import services
from xietong.workflow.models import FlowDefinition, FlowVersion, Instance, WorkItem

FORM: dict[str, Any] = {
    "fields": [
        {"key": "title", "type": "text", "label": "标题", "required": True, "max_length": 100},
        {"key": "reason", "type": "textarea", "label": "事由"},
        {"key": "amount", "type": "money", "label": "金额", "min": 0},
        {"key": "note", "type": "text", "label": "备注"},
    ]
}

_codes = itertools.count(1)
_requests = itertools.count(1)


def rid() -> str:
    """A fresh idempotency key."""
    return f"req-{next(_requests)}"


def publish(
    route: Mapping[str, Any], *, form: Mapping[str, Any] | None = None, name: str = "测试流程", **fields: Any
) -> FlowDefinition:
    """A flow with ``route`` published as its current version (written directly: the tests of
    ``version_publish`` go through the service)."""
    flow = FlowDefinition.objects.create(code=f"flow-{next(_codes)}", name=name, **fields)
    version = FlowVersion.objects.create(
        definition=flow,
        number=1,
        form=dict(form or FORM),
        flow={"initiators": [{"kind": "everyone"}], **route},
        status=FlowVersion.Status.PUBLISHED,
    )
    flow.current_version = version
    flow.save(update_fields=["current_version"])
    return flow


def approval(node_id: str, ids: list[int], mode: str = "sequential", **extra: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "approval",
        "name": f"审批{node_id}",
        "approvers": {"kind": "users", "ids": ids},
        "mode": mode,
        **extra,
    }


def start(initiator: User, flow: FlowDefinition, **data: Any) -> Instance:
    values = {"title": "采购申请", "amount": "100", **data}
    return services.instance_start(actor=initiator, flow=flow, data=values, request_id=rid())


def pending(instance: Instance, user: User | None = None) -> list[WorkItem]:
    items = WorkItem.objects.filter(
        instance=instance, state=WorkItem.State.PENDING, kind__in=services.TASK_KINDS
    ).order_by("pk")
    if user is not None:
        items = items.filter(assignee=user)
    return list(items)


def item_of(instance: Instance, user: User) -> WorkItem:
    found = pending(instance, user)
    assert len(found) == 1, found
    return found[0]


def act(kind: str, instance: Instance, user: User, **kwargs: Any) -> Instance:
    """``user`` does ``kind`` (approve, reject, return_to, transfer, add_sign) on their item."""
    function = getattr(services, kind)
    result: Instance = function(actor=user, item=item_of(instance, user), request_id=rid(), **kwargs)
    return result


def notified(user: User, kind: str) -> list[Dispatch]:
    """What ``user`` was sent of ``kind`` (title, body, urgency), oldest first."""
    return list(Dispatch.objects.filter(notifications__user=user, kind=kind).order_by("pk"))


@dataclass
class People:
    initiator: User
    head: User
    boss: User
    finance1: User
    finance2: User
    legal: User
    other: User
    admin: User

    def __iter__(self) -> Iterator[User]:
        return iter(self.__dict__.values())


@pytest.fixture
def people(org_tree: dict[str, OrgUnit]) -> People:
    initiator = make_user("zhangwei", name="张伟")
    place(initiator, org_tree["production"])
    head = make_user("wangjl", name="王经理")
    Membership.objects.create(user=head, unit=org_tree["production"], is_head=True, is_primary=True)
    boss = make_user("zhaozong", name="赵总")
    Membership.objects.create(user=boss, unit=org_tree["east"], is_head=True, is_primary=True)
    finance1 = make_user("qiancw", name="钱财务")
    place(finance1, org_tree["finance"])
    finance2 = make_user("suncw", name="孙财务")
    place(finance2, org_tree["finance"])
    legal = make_user("zhoufw", name="周法务")
    place(legal, org_tree["office"])
    other = make_user("wuyg", name="吴员工")
    place(other, org_tree["repair"])
    admin = make_user("flowadmin", name="流程管理员")
    place(admin, org_tree["office"])
    return People(initiator, head, boss, finance1, finance2, legal, other, admin)
