"""Fixtures of the notice tests: people placed in the ``org_tree`` of tests.fixtures.

- 张伟 (office): 综合办公室, ``notice_publisher`` over the whole group;
- 王经理 (prod_head): head of 生产技术部, ``notice_publisher`` over its tree;
- 李强 (li): 生产技术部; 周杰 (zhou): 检修班, below it;
- 赵敏 (zhao): 财务部; 孙丽 (sun): 苏州工程部 (another company);
- 钱进 (qian): 财务部, cleared for 普通商密 (2);
- 系统管理员 (sysadmin): a 三员 account in 综合办公室.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.fixtures import grant_role, make_user, place
from xietong.core import clock
from xietong.identity.models import User
from xietong.notices import services
from xietong.notices.models import Notice
from xietong.org import builtin
from xietong.org.models import DataScope, Membership, OrgUnit

#: The tests' "now": a Monday morning in Beijing.
NOW = dt.datetime(2026, 10, 12, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def at(days: int = 0, hours: int = 0, minutes: int = 0) -> dt.datetime:
    return NOW + dt.timedelta(days=days, hours=hours, minutes=minutes)


@dataclass
class People:
    units: dict[str, OrgUnit]
    users: dict[str, User]

    def __getitem__(self, key: str) -> User:
        # A fresh object each time: grants are kept on the user object they were resolved for.
        return User.objects.get(pk=self.users[key].pk)

    def ref(self, key: str) -> str:
        return f"user:{self.users[key].pk}"

    def unit(self, key: str) -> str:
        return f"unit:{self.units[key].pk}"


@pytest.fixture
def frozen() -> Any:
    with clock.frozen_at(NOW):
        yield NOW


@pytest.fixture
def people(org_tree: dict[str, OrgUnit], frozen: dt.datetime) -> People:
    users = {
        "office": make_user("zhangwei", name="张伟", email="zhangwei@example.com"),
        "prod_head": make_user("wangjl", name="王经理"),
        "li": make_user("liqiang", name="李强", email="liqiang@example.com"),
        "zhou": make_user("zhoujie", name="周杰"),
        "zhao": make_user("zhaomin", name="赵敏"),
        "sun": make_user("sunli", name="孙丽"),
        "qian": make_user("qianjin", name="钱进", clearance=2),
        "sysadmin": make_user("sysadmin", name="系统管理员"),
    }
    place(users["office"], org_tree["office"])
    Membership.objects.create(
        user=users["prod_head"], unit=org_tree["production"], is_head=True, is_primary=True
    )
    place(users["li"], org_tree["production"])
    place(users["zhou"], org_tree["repair"])
    place(users["zhao"], org_tree["finance"])
    place(users["sun"], org_tree["suzhou_works"])
    place(users["qian"], org_tree["finance"])
    place(users["sysadmin"], org_tree["office"])
    grant_role(users["office"], builtin.NOTICE_PUBLISHER, scope=DataScope.GROUP)
    grant_role(users["prod_head"], builtin.NOTICE_PUBLISHER, scope=DataScope.DEPARTMENT_TREE)
    grant_role(users["sysadmin"], builtin.SYSTEM_ADMIN)
    return People(org_tree, users)


BASE = services.NoticeInput(
    title="关于召开第四季度安全生产工作会议的通知",
    body="<p>各部门：定于下周二召开安全生产工作会议，请准时参加。</p>",
    starts_at=at(days=1, hours=0),
    ends_at=at(days=1, hours=2),
    place="总部三楼第一会议室",
)


def publish(actor: User, audience: list[str], **changes: Any) -> Notice:
    return services.notice_publish(actor=actor, data=replace(BASE, audience=audience, **changes))
