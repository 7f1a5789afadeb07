"""Fixtures shared by every test module."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from xietong.core.access import AclLevel, register_permission
from xietong.identity.models import User
from xietong.moderation import lexicon
from xietong.org import builtin
from xietong.org.models import DataScope, Membership, OrgUnit, Position, RoleGrant
from xietong.org.services import role_grant_by_system

T = TypeVar("T")

STRONG_PASSWORD = "Xietong#2026strong"

# A business module that exists only in tests: what a documents or files app will declare.
register_permission("testdocs.view", "查看测试文档")
register_permission("testdocs.download", "下载测试文档", acl_level=AclLevel.DOWNLOAD)
register_permission("testdocs.edit", "编辑测试文档", acl_level=AclLevel.EDIT)


@pytest.fixture(autouse=True)
def _fresh_lexicon() -> None:
    """Each test matches against the sensitive-word lexicon of its own database: the compiled
    lexicon is kept per process and otherwise re-checked only every few seconds."""
    lexicon.forget()


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache: entries that another test left behind would
    otherwise expire at a random moment of this one (and change its query counts)."""
    cache.clear()


@pytest.fixture(autouse=True)
def _chinese_after_each_test() -> Iterator[None]:
    """A request with the English cookie leaves English active in this thread: put the
    default language back so that the next test sees the product as users do."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def make_user(username: str = "lisi", *, password: str = STRONG_PASSWORD, **fields: Any) -> User:
    """An account that has already replaced its initial password."""
    fields.setdefault("name", "李四")
    fields.setdefault("must_change_password", False)
    return User.objects.create_user(username, password, **fields)


def grant_role(
    user: User, code: str, *, scope: str = DataScope.GROUP, units: Iterable[OrgUnit] = ()
) -> RoleGrant:
    """Give ``user`` the built-in role ``code`` (``xietong.org.builtin``), as installation does.

    Works under ``transactional_db`` too, where the flush removed the migrated roles."""
    role = builtin.ensure_builtin_roles()[code]
    return role_grant_by_system(role=role, user=user, scope=scope, units=units)


def place(user: User, unit: OrgUnit, *, position: Position | None = None, primary: bool = True) -> Membership:
    return Membership.objects.create(user=user, unit=unit, position=position, is_primary=primary)


@pytest.fixture
def org_tree(db: Any) -> dict[str, OrgUnit]:
    """集团 (group) → 综合办公室, 财务部, 华东分公司 (company) → 生产技术部 → 检修班;
    华东分公司 → 苏州公司 (company) → 苏州工程部."""
    units = OrgUnit.objects
    ids = {
        "group": units.add_root(create_kwargs={"name": "集团", "code": "G", "kind": OrgUnit.Kind.GROUP}).pk
    }

    def add(key: str, parent: str, name: str, code: str, kind: str = OrgUnit.Kind.DEPARTMENT) -> None:
        # Re-read the parent: adding a sorted sibling may have moved it (and its path).
        node = units.add_child(
            units.get(pk=ids[parent]), create_kwargs={"name": name, "code": code, "kind": kind}
        )
        ids[key] = node.pk

    add("office", "group", "综合办公室", "G-ZH")
    add("finance", "group", "财务部", "G-CW")
    add("east", "group", "华东分公司", "EC", OrgUnit.Kind.COMPANY)
    add("production", "east", "生产技术部", "EC-SC")
    add("repair", "production", "检修班", "EC-SC-JX")
    add("suzhou", "east", "苏州公司", "SZ", OrgUnit.Kind.COMPANY)
    add("suzhou_works", "suzhou", "苏州工程部", "SZ-GC")
    return {key: units.get(pk=pk) for key, pk in ids.items()}


@pytest.fixture
def user(db: Any) -> User:
    return make_user()


@pytest.fixture
def sysadmin_user(db: Any) -> User:
    """系统管理员 (三员): accounts, organisation, system status and broadcasts."""
    admin = make_user("sysadmin", name="系统管理员")
    grant_role(admin, builtin.SYSTEM_ADMIN)
    return admin


@pytest.fixture
def secadmin_user(db: Any) -> User:
    """安全管理员 (三员): roles, clearances, security policy."""
    admin = make_user("secadmin", name="安全管理员")
    grant_role(admin, builtin.SECURITY_ADMIN)
    return admin


@pytest.fixture
def auditadmin_user(db: Any) -> User:
    """审计管理员 (三员): reads and exports the audit trail."""
    admin = make_user("auditadmin", name="审计管理员")
    grant_role(admin, builtin.AUDIT_ADMIN)
    return admin


@pytest.fixture
def deptadmin_user(org_tree: dict[str, OrgUnit]) -> User:
    """部门管理员 of 华东分公司 生产技术部 and below."""
    admin = make_user("deptadmin", name="部门管理员")
    place(admin, org_tree["production"])
    grant_role(admin, builtin.DEPARTMENT_ADMIN, scope=DataScope.DEPARTMENT_TREE)
    return admin


@pytest.fixture
def staff_user(sysadmin_user: User) -> User:
    """The platform administrator of older tests: the 系统管理员."""
    return sysadmin_user


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def user_client(user: User) -> Client:
    return client_for(user)


@pytest.fixture
def staff_client(staff_user: User) -> Client:
    return client_for(staff_user)


@pytest.fixture
def secadmin_client(secadmin_user: User) -> Client:
    return client_for(secadmin_user)


@pytest.fixture
def auditadmin_client(auditadmin_user: User) -> Client:
    return client_for(auditadmin_user)


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a test scenario on an event loop of its own.

    A thread of its own, because the browser tests' Playwright keeps a loop running in the
    main thread for the whole session and ``asyncio.run`` refuses to nest in it.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
