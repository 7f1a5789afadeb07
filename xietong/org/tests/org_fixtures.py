"""Fixtures of the organisation and people tests: a few people placed in ``org_tree``
(tests/fixtures.py), and helpers that add many units or members fast."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.db.models import F
from openpyxl import Workbook  # type: ignore[import-untyped]

from tests.fixtures import grant_role, make_user
from xietong.identity.models import User
from xietong.org import builtin, pinyin
from xietong.org.models import DataScope, Membership, OrgUnit, Position, StaffProfile


@pytest.fixture
def positions(db: Any) -> dict[str, Position]:
    return {
        "manager": Position.objects.create(name="部门经理", rank=6),
        "clerk": Position.objects.create(name="专员", rank=2),
    }


def hire(
    username: str,
    name: str,
    unit: OrgUnit,
    *,
    position: Position | None = None,
    head: bool = False,
    employee_no: str | None = None,
    **fields: Any,
) -> User:
    user = make_user(username, name=name, employee_no=employee_no, **fields)
    Membership.objects.create(user=user, unit=unit, position=position, is_head=head, is_primary=True)
    return user


@pytest.fixture
def people(org_tree: dict[str, OrgUnit], positions: dict[str, Position]) -> dict[str, User]:
    """张伟 and his head 王强 in 生产技术部, 李娜 in 检修班 (below it), 赵敏 in 财务部, 刘洋 in
    综合办公室, 孙磊 in 苏州工程部 (a subsidiary of 华东分公司), 曾国庆 in 财务部."""
    return {
        "zhangwei": hire(
            "zhangwei",
            "张伟",
            org_tree["production"],
            position=positions["clerk"],
            employee_no="1001",
            email="zhangwei@example.com",
            mobile="13800000001",
        ),
        "wangqiang": hire(
            "wangqiang",
            "王强",
            org_tree["production"],
            position=positions["manager"],
            head=True,
            employee_no="1002",
        ),
        "lina": hire("lina", "李娜", org_tree["repair"], position=positions["clerk"], employee_no="1003"),
        "zhaomin": hire(
            "zhaomin", "赵敏", org_tree["finance"], position=positions["clerk"], employee_no="1004"
        ),
        "liuyang": hire(
            "liuyang", "刘洋", org_tree["office"], position=positions["clerk"], employee_no="1005"
        ),
        "sunlei": hire(
            "sunlei", "孙磊", org_tree["suzhou_works"], position=positions["clerk"], employee_no="1006"
        ),
        "zengguoqing": hire("zengguoqing", "曾国庆", org_tree["finance"], employee_no="1007"),
    }


@pytest.fixture
def company_admin(org_tree: dict[str, OrgUnit]) -> User:
    """An administrator of the subsidiary 华东分公司 and everything below it (R-125)."""
    admin = make_user("eastadmin", name="华东管理员")
    Membership.objects.create(user=admin, unit=org_tree["east"])
    grant_role(admin, builtin.DEPARTMENT_ADMIN, scope=DataScope.DEPARTMENT_TREE)
    return admin


def bulk_units(parent: OrgUnit, count: int, *, prefix: str = "B") -> list[OrgUnit]:
    """``count`` departments directly under ``parent``, inserted in one statement (treebeard
    adds one at a time, which is slow for hundreds)."""
    parent = OrgUnit.objects.get(pk=parent.pk)
    start = parent.numchild
    units = []
    for index in range(count):
        path = OrgUnit._get_path(parent.path, parent.depth + 1, start + index + 1)
        name = f"{prefix}部门{index:04d}"
        full, initials = pinyin.name_keys(name)
        units.append(
            OrgUnit(
                path=path,
                depth=parent.depth + 1,
                numchild=0,
                code=f"{prefix}{index:04d}",
                name=name,
                name_pinyin=full,
                name_initials=initials,
                kind=OrgUnit.Kind.DEPARTMENT,
            )
        )
    created: list[OrgUnit] = OrgUnit.objects.bulk_create(units)
    OrgUnit.objects.filter(pk=parent.pk).update(numchild=F("numchild") + count)
    return created


def bulk_members(unit: OrgUnit, count: int, *, prefix: str = "m") -> list[User]:
    users = User.objects.bulk_create(
        [
            User(username=f"{prefix}{index:05d}", name=f"成员{index}", must_change_password=False)
            for index in range(count)
        ]
    )
    users = list(User.objects.filter(username__startswith=prefix).order_by("pk"))
    StaffProfile.objects.bulk_create(
        [StaffProfile(user=u, name_pinyin=u.username) for u in users], ignore_conflicts=True
    )
    Membership.objects.bulk_create([Membership(user=u, unit=unit) for u in users])
    return users


def workbook(units: list[list[Any]] | None = None, users: list[list[Any]] | None = None) -> io.BytesIO:
    """An import workbook with the template's headers and the given rows."""
    book = Workbook()
    book.remove(book.active)
    sheet = book.create_sheet("组织机构")
    sheet.append(["编码", "名称", "上级编码", "类型", "简称"])
    for row in units or []:
        sheet.append(row)
    sheet = book.create_sheet("人员")
    sheet.append(["用户名", "姓名", "工号", "单位编码", "岗位", "负责人", "电子邮箱", "手机号码"])
    for row in users or []:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    buffer.name = "import.xlsx"
    return buffer
