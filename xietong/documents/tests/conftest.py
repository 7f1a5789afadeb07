"""Fixtures of the 公文 tests: a small group, the people of a 发文 and an issuing organ.

集团 (group) → 综合办公室 (office), 财务部 (finance), 华东分公司 (sub, a company) → 生产技术部
(sub_dept). 陈拟稿 (drafter) of 财务部 drafts; 刘主任 (head) heads 财务部 and does 核稿;
王文秘 (clerk) of 综合办公室 is the group's 公文管理员 (scope 本公司: the group without its
sub-companies); 赵董事长 (leader) signs; 孙文秘 (sub_clerk) is the 公文管理员 of 华东分公司,
a receiving unit; 吴外人 (outsider) of 生产技术部 has nothing to do with the documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures import grant_role, make_user, place
from xietong.core import classification
from xietong.documents.models import IssuingOrgan
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import DataScope, Membership, OrgUnit


@pytest.fixture
def docs_org(org_tree: dict[str, OrgUnit]) -> dict[str, OrgUnit]:
    """``group``, ``office``, ``finance``, ``sub`` (华东分公司) and ``sub_dept`` (its 生产技术部)."""
    return {
        "group": org_tree["group"],
        "office": org_tree["office"],
        "finance": org_tree["finance"],
        "sub": org_tree["east"],
        "sub_dept": org_tree["production"],
    }


@dataclass
class DocsPeople:
    drafter: User
    head: User
    clerk: User
    leader: User
    sub_clerk: User
    outsider: User

    def __iter__(self) -> Iterator[User]:
        return iter(self.__dict__.values())


@pytest.fixture
def docs_people(docs_org: dict[str, OrgUnit]) -> DocsPeople:
    # Everyone may read up to 普通商密, so that the classified paths are reachable.
    level = classification.COMMERCIAL_SECRET
    drafter = make_user("chennigao", name="陈拟稿", clearance=level)
    place(drafter, docs_org["finance"])
    head = make_user("liuzhuren", name="刘主任", clearance=level)
    Membership.objects.create(user=head, unit=docs_org["finance"], is_head=True, is_primary=True)
    clerk = make_user("wangwenmi", name="王文秘", clearance=level)
    place(clerk, docs_org["office"])
    grant_role(clerk, builtin.DOCUMENT_CLERK, scope=DataScope.COMPANY)
    leader = make_user("zhaodsz", name="赵董事长", clearance=level)
    Membership.objects.create(user=leader, unit=docs_org["group"], is_head=True, is_primary=True)
    sub_clerk = make_user("sunwenmi", name="孙文秘", clearance=level)
    place(sub_clerk, docs_org["sub"])
    grant_role(sub_clerk, builtin.DOCUMENT_CLERK, scope=DataScope.DEPARTMENT_TREE)
    outsider = make_user("wuwairen", name="吴外人", clearance=level)
    place(outsider, docs_org["sub_dept"])
    return DocsPeople(drafter, head, clerk, leader, sub_clerk, outsider)


@pytest.fixture
def organ(docs_org: dict[str, OrgUnit]) -> IssuingOrgan:
    """The group's 发文机关: 协同发〔2026〕N号."""
    return IssuingOrgan.objects.create(
        unit=docs_org["group"],
        code="协同发",
        name="协同集团有限公司",
        mark="协同集团有限公司文件",
        print_org="协同集团有限公司办公室",
    )


@pytest.fixture
def outgoing_flows(db: Any) -> None:
    """The two engine flows of 发文 (installed by migration; again after a test flush)."""
    from xietong.documents import flows

    flows.ensure_flows()
