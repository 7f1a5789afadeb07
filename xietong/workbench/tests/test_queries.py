"""The workbench's cost does not grow with the data (the figure: p95 under 50 ms with 20,000
users, 100,000 articles and 2,000,000 notification rows): the page, each card and the API take
the same number of queries with N and with 10×N notifications, pushed to-dos, shortcuts and
provider items."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.fixtures import client_for
from xietong.core import clock, worklist
from xietong.core.worklist import FeedSection, ScheduleEntry, WorkItem
from xietong.identity.models import User
from xietong.notify.models import Dispatch, Notification
from xietong.org.models import OrgUnit
from xietong.workbench.models import ExternalTodo, Shortcut
from xietong.workbench.tests.conftest import People, feed_provider, links, schedule_provider, todo_provider

pytestmark = pytest.mark.django_db

URLS = [
    "/",
    "/workbench/cards/todos/",
    "/workbench/cards/notices/",
    "/workbench/cards/schedule/",
    "/workbench/cards/news/",
    "/workbench/cards/shortcuts/",
    "/workbench/todos/",
    "/api/v1/workbench",
]
#: What the whole page may cost: the shell (user, grants, bell), the unread notifications and
#: their count, the pushed to-dos (count, first rows), the shortcuts and the greeting's post.
PAGE_BUDGET = 10


def fill(user: User, count: int, units: list[OrgUnit]) -> None:
    """``count`` more of everything the workbench reads, written in bulk (the data of the
    test, not the way it is made)."""
    now = clock.now()
    dispatches = Dispatch.objects.bulk_create(
        Dispatch(kind="system", title=f"通知 {n}", recipient_count=1, created_at=now) for n in range(count)
    )
    Notification.objects.bulk_create(
        Notification(dispatch=d, user=user, created_at=now, read_at=None if n % 2 else now)
        for n, d in enumerate(dispatches)
    )
    start = ExternalTodo.objects.count()
    ExternalTodo.objects.bulk_create(
        ExternalTodo(
            system="erp",
            external_id=f"X-{start + n}",
            user=user,
            title=f"待办 {start + n}",
            link="https://erp.example.com/",
            urgent=n % 7 == 0,
            due_at=now + dt.timedelta(hours=n - count // 2),
            done_at=now if n % 3 == 0 else None,
        )
        for n in range(count)
    )
    for n in range(count):
        shortcut = Shortcut.objects.create(
            name=f"系统 {n}",
            url="https://sys.example.com/",
            icon="boxes",
            audience=Shortcut.Audience.CHOSEN if n % 2 else Shortcut.Audience.EVERYONE,
        )
        if n % 2:
            shortcut.units.set(units)


def register_fakes(size: int) -> None:
    now = clock.now()
    items = [WorkItem(f"审批 {n}", f"/w/{n}/", at=now - dt.timedelta(minutes=n)) for n in range(size)]
    worklist.register_todos("workflow.approvals", "审批", todo_provider(items))
    entries = [ScheduleEntry(f"会议 {n}", f"/m/{n}/", now + dt.timedelta(minutes=n)) for n in range(size)]
    worklist.register_schedule("meetings.today", "会议", schedule_provider(entries))
    sections = [
        FeedSection(f"c{n}", f"栏目 {n}", links(*(f"文章 {m}" for m in range(size)))) for n in range(3)
    ]
    worklist.register_feed("portal.latest", "门户", feed_provider(sections))


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    # Savepoints guard each provider only inside a transaction — here, the test's own; a
    # request in production runs in autocommit and has none.
    return sum(1 for query in captured if query["sql"].split(" ", 1)[0] not in {"SAVEPOINT", "RELEASE"})


def counts(client: Client) -> dict[str, int]:
    for url in URLS:  # warm: session, grants, content types
        client.get(url)
    return {url: queries(client, url) for url in URLS}


def test_query_count_does_not_grow_with_data(
    people: People, org_tree: dict[str, OrgUnit], settings: Any
) -> None:
    user = people.zhaolei
    units = [org_tree["east"], org_tree["finance"]]
    client = client_for(user)
    fill(user, 5, units)
    register_fakes(5)
    small = counts(client)
    fill(user, 45, units)
    register_fakes(50)
    large = counts(client)
    assert small == large
    assert large["/"] <= PAGE_BUDGET, large
    html = client.get("/").content.decode()
    assert "待办 " in html
    assert "通知 " in html
    assert "系统 " in html
    assert "会议 " in html
    assert "文章 " in html
