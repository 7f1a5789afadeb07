"""Fixtures of the workbench tests: a registry holding only the workbench's own provider plus
the fakes a test registers, people placed in the org tree, and a business system's API account
with a write token."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from tests.fixtures import grant_role, make_user, place
from xietong.core import worklist
from xietong.core.worklist import FeedLink, FeedSection, ScheduleEntry, WorkItem, WorkList
from xietong.identity import services as identity_services
from xietong.identity.models import ApiToken, User
from xietong.org import builtin
from xietong.org.models import OrgUnit

PUSH = "/api/v1/workbench/todos"


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Cards cached by an earlier test (whose rows were rolled back) are not this one's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _own_providers() -> Iterator[None]:
    """Only the workbench's own provider (pushed to-dos) and what the test registers: the
    business apps' providers are theirs to test."""
    with worklist.isolated(keep={"workbench.external"}):
        yield


def todo_provider(items: list[WorkItem], count: int | None = None, more: str = "") -> Any:
    """A to-do provider that answers ``items`` (at most ``limit`` of them) to everyone."""

    def provide(user: Any, limit: int) -> WorkList:
        return WorkList(count=len(items) if count is None else count, items=items[:limit], more=more)

    return provide


def schedule_provider(entries: list[ScheduleEntry]) -> Any:
    def provide(user: Any, day: dt.date) -> list[ScheduleEntry]:
        return list(entries)

    return provide


def feed_provider(sections: list[FeedSection]) -> Any:
    def provide(user: Any, limit: int) -> list[FeedSection]:
        return [FeedSection(s.key, s.title, s.links[:limit], s.more, s.count) for s in sections]

    return provide


def broken(*args: Any) -> Any:
    raise RuntimeError("the module's database is down")


def links(*titles: str) -> list[FeedLink]:
    return [FeedLink(title, f"/portal/articles/{index}/") for index, title in enumerate(titles, start=1)]


@dataclass
class People:
    zhangwei: User  # 综合办公室
    wangfang: User  # 财务部
    zhaolei: User  # 检修班 (华东分公司 › 生产技术部 › 检修班)


@pytest.fixture
def people(org_tree: dict[str, OrgUnit]) -> People:
    zhangwei = make_user("zhangwei", name="张伟", employee_no="1001")
    wangfang = make_user("wangfang", name="王芳", employee_no="1002")
    zhaolei = make_user("zhaolei", name="赵磊", employee_no="1003")
    place(zhangwei, org_tree["office"])
    place(wangfang, org_tree["finance"])
    place(zhaolei, org_tree["repair"])
    return People(zhangwei, wangfang, zhaolei)


@dataclass
class Integration:
    account: User
    token: str

    def put(self, body: dict[str, Any]) -> Any:
        return call("put", PUSH, self.token, body)

    def post(self, path: str) -> Any:
        return call("post", path, self.token)

    def delete(self, path: str) -> Any:
        return call("delete", path, self.token)


def call(method: str, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    # enforce_csrf_checks: a token request needs no CSRF token.
    client = Client(enforce_csrf_checks=True)
    data = json.dumps(body, ensure_ascii=False) if body is not None else None
    kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if data is not None:
        kwargs.update(data=data, content_type="application/json")
    return getattr(client, method)(path, **kwargs)


def api_account(username: str, *, role: bool = True) -> Integration:
    account = make_user(username, name=f"{username} 接口")
    if role:
        grant_role(account, builtin.INTEGRATION)
    _row, token = identity_services.api_token_create(
        user=account, name="待办同步", scope=ApiToken.Scope.WRITE, days=30
    )
    return Integration(account, token)


@pytest.fixture
def erp(db: Any) -> Integration:
    """The ERP system's API account: role 业务系统接入, a write token."""
    return api_account("erp_api")


def todo(external_id: str, user: str, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "user": user,
        "title": title,
        "link": f"https://erp.example.com/tasks/{external_id}",
        **extra,
    }
