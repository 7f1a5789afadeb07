"""The demo group: 集团总部 and two subsidiaries, 13 departments, 60 employees, and the three
administrators of 三员分立 (系统管理员, 安全管理员, 审计管理员); the head of 综合办公室 is its
部门管理员.

Every account gets a one-time initial password (random unless ``XIETONG_DEMO_PASSWORD`` is
set) that must be changed at first login, exactly as for real accounts.
"""

from __future__ import annotations

import random
import secrets
import string
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from pypinyin import lazy_pinyin

from xietong.core import demo as core_demo
from xietong.identity.models import User
from xietong.identity.services import user_set_initial_password
from xietong.org import builtin, services
from xietong.org.models import DataScope, Membership, OrgUnit, Position

POSITIONS = [("总经理", 9), ("副总经理", 8), ("部门经理", 6), ("部门副经理", 5), ("主管", 4), ("专员", 2)]

# (code, name, kind, children)
TREE: tuple[str, str, str, list[Any]] = (
    "HQ", "华电集团总部", OrgUnit.Kind.GROUP, [
        ("HQ-ZH", "综合办公室", OrgUnit.Kind.DEPARTMENT, []),
        ("HQ-HR", "人力资源部", OrgUnit.Kind.DEPARTMENT, []),
        ("HQ-CW", "财务资产部", OrgUnit.Kind.DEPARTMENT, []),
        ("HQ-DQ", "党群工作部", OrgUnit.Kind.DEPARTMENT, []),
        ("HQ-AJ", "安全监察部", OrgUnit.Kind.DEPARTMENT, []),
        ("HQ-XX", "信息中心", OrgUnit.Kind.DEPARTMENT, []),
        ("EC", "华东分公司", OrgUnit.Kind.COMPANY, [
            ("EC-BG", "办公室", OrgUnit.Kind.DEPARTMENT, []),
            ("EC-SC", "生产技术部", OrgUnit.Kind.DEPARTMENT, []),
            ("EC-YX", "市场营销部", OrgUnit.Kind.DEPARTMENT, []),
        ]),
        ("SW", "西南分公司", OrgUnit.Kind.COMPANY, [
            ("SW-ZH", "综合管理部", OrgUnit.Kind.DEPARTMENT, []),
            ("SW-GC", "工程管理部", OrgUnit.Kind.DEPARTMENT, []),
            ("SW-CW", "财务部", OrgUnit.Kind.DEPARTMENT, []),
            ("SW-AQ", "安全环保部", OrgUnit.Kind.DEPARTMENT, []),
        ]),
    ],
)  # fmt: skip

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = [
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "文博", "晓东", "海燕", "志强", "雪梅", "国庆", "子涵",
    "宇航", "欣怡", "浩然", "思远", "雨桐", "嘉怡", "俊杰", "晨曦", "一鸣",
]  # fmt: skip
EMPLOYEES_PER_DEPARTMENT = 4  # 13 departments x 4, 7 leaders and 张伟: 60 employees

# The 三员 accounts, in the order they are listed: (username, name, built-in role).
ADMINISTRATORS = (
    ("sysadmin", "系统管理员", builtin.SYSTEM_ADMIN),
    ("secadmin", "安全管理员", builtin.SECURITY_ADMIN),
    ("auditadmin", "审计管理员", builtin.AUDIT_ADMIN),
)
DEPARTMENT_ADMIN_UNIT = "HQ-ZH"  # 综合办公室: 张伟's department


def create_administrators(*, unit: OrgUnit | None, password: str = "") -> list[tuple[str, str, str]]:
    """The 三员 accounts that do not exist yet, each with its tier's built-in role and a one-time
    password; returns (username, name, password) of those created."""
    roles = builtin.ensure_builtin_roles()
    created = []
    for login, person, code in ADMINISTRATORS:
        if User.objects.filter(username=login).exists():
            continue
        secret = password or random_password()
        admin = User.objects.create(username=login, name=person)
        user_set_initial_password(user=admin, password=secret)
        if unit is not None:
            Membership.objects.create(user=admin, unit=unit)
        services.role_grant_by_system(role=roles[code], user=admin, reason="安装初始化")
        created.append((login, person, secret))
    return created


@dataclass(frozen=True)
class DemoAccount:
    username: str
    name: str
    unit: str
    role: str
    password: str


def random_password() -> str:
    """A password that meets the configured policy, for one-time use.

    Drawn again in the rare case the policy refuses it (a random tail such as "4#21" reads as
    the keyboard run "4321"), so the demo never hands out a password the policy rejects.
    """
    alphabet = string.ascii_letters + string.digits
    while True:
        core = "".join(secrets.choice(alphabet) for _ in range(10))
        candidate = f"Xt{core}#{secrets.randbelow(90) + 10}"
        try:
            validate_password(candidate)
        except ValidationError:
            continue
        return candidate


def is_loaded() -> bool:
    return bool(OrgUnit.objects.exists())


@transaction.atomic
def load_demo(password: str = "") -> list[DemoAccount]:
    """Create the demo organisation; returns the accounts with their initial passwords."""
    rng = random.Random(20261128)  # same people on every machine  # noqa: S311
    positions = {name: Position.objects.create(name=name, rank=rank) for name, rank in POSITIONS}
    code, name, kind, children = TREE
    root = OrgUnit.objects.add_root({"code": code, "name": name, "kind": kind, "short_name": "集团"})
    units: list[OrgUnit] = []
    _add_children(root, children, units)

    accounts: list[DemoAccount] = []
    taken: set[str] = set()

    def hire(person: str, unit: OrgUnit, position: str, *, head: bool = False, username: str = "") -> None:
        login = username or _login_for(person, taken)
        taken.add(login)
        secret = password or random_password()
        user = User.objects.create(
            username=login,
            name=person,
            employee_no=f"{1000 + len(accounts) + 1}",
            email=f"{login}@example.com",
        )
        user_set_initial_password(user=user, password=secret)
        Membership.objects.create(user=user, unit=unit, position=positions[position], is_head=head)
        accounts.append(DemoAccount(login, person, unit.name, position, secret))

    hire("刘建国", root, "总经理", head=True)
    hire(_person(rng), root, "副总经理")
    hire(_person(rng), root, "副总经理")
    for company in [u for u in units if u.kind == OrgUnit.Kind.COMPANY]:
        hire(_person(rng), company, "总经理", head=True)
        hire(_person(rng), company, "副总经理")
    for unit in [u for u in units if u.kind == OrgUnit.Kind.DEPARTMENT]:
        hire(_person(rng), unit, "部门经理", head=True)
        if unit.code == "HQ-ZH":
            hire("张伟", unit, "主管", username="zhangwei")
        for index in range(EMPLOYEES_PER_DEPARTMENT - 1):
            hire(_person(rng), unit, "部门副经理" if index == 0 else "专员")

    # 三员分立 (AC-05): three administrator accounts, each holding exactly one tier. They sit in
    # the information centre, the platform's 归口管理部门, with no position.
    roles = builtin.ensure_builtin_roles()
    info_center = OrgUnit.objects.get(code="HQ-XX")
    for login, person, secret in reversed(create_administrators(unit=info_center, password=password)):
        accounts.insert(0, DemoAccount(login, person, info_center.name, person, secret))

    # The information centre is the platform's 归口管理部门: its system administrator is
    # the group's platform contact, shown to every employee in the 通讯录.
    system_admin = User.objects.get(username=ADMINISTRATORS[0][0])
    OrgUnit.objects.filter(pk=root.pk).update(contact=system_admin)

    # The head of the general office administers the accounts of the office.
    office_head = Membership.objects.get(unit__code=DEPARTMENT_ADMIN_UNIT, is_head=True).user
    services.role_grant_by_system(
        role=roles[builtin.DEPARTMENT_ADMIN],
        user=office_head,
        scope=DataScope.DEPARTMENT_TREE,
        reason="演示数据",
    )

    # The business modules' demo content (portal articles, notices …), by registration.
    for loader in core_demo.loaders():
        loader.load()
    return accounts


def _add_children(parent: OrgUnit, children: list[Any], units: list[OrgUnit]) -> None:
    for code, name, kind, grandchildren in children:
        node = OrgUnit.objects.add_child(parent, {"code": code, "name": name, "kind": kind})
        units.append(node)
        _add_children(node, grandchildren, units)


def _person(rng: random.Random) -> str:
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    while name == "张伟":  # 张伟 is the one the README names
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    return name


def _login_for(person: str, taken: set[str]) -> str:
    base = "".join(lazy_pinyin(person))
    login, suffix = base, 2
    while login in taken or login == "zhangwei":
        login, suffix = f"{base}{suffix}", suffix + 1
    return login
