"""What the notices offer the workbench (R-75): to-dos, the unread feed, the day's
schedule — each in a fixed number of queries, whatever the data."""

from __future__ import annotations

import datetime as dt

import pytest

from xietong.core import clock, worklist
from xietong.notices import providers, services
from xietong.notices.models import ReceiptMode, Reply, Urgency
from xietong.notices.tests.conftest import NOW, People, at, publish

pytestmark = pytest.mark.django_db


def test_the_providers_are_registered() -> None:
    assert "notices.receipt" in [p.key for p in worklist.todo_providers()]
    assert "notices.unread" in [p.key for p in worklist.feed_providers()]
    assert "notices.events" in [p.key for p in worklist.schedule_providers()]


def test_todos_are_the_notices_awaiting_my_receipt_urgent_first(people: People) -> None:
    office = people["office"]
    plain = publish(office, [people.ref("li")], title="无需回执的通知")
    read = publish(office, [people.ref("li")], title="请确认的通知", receipt_mode=ReceiptMode.READ)
    attend = publish(
        office,
        [people.ref("li")],
        title="请回复的会议",
        receipt_mode=ReceiptMode.ATTEND,
        receipt_due=at(hours=5),
    )
    urgent = publish(
        office,
        [people.ref("li")],
        title="急办：请确认",
        receipt_mode=ReceiptMode.READ,
        urgency=Urgency.URGENT,
    )
    todos = providers.todos(people["li"], 10)
    assert todos.count == 3
    assert [item.title for item in todos.items] == ["急办：请确认", "请回复的会议", "请确认的通知"]
    assert todos.items[0].urgent
    assert todos.items[1].due == at(hours=5)
    assert todos.items[1].link == f"/notices/{attend.pk}/"
    assert todos.items[2].detail == "张伟 · 请确认已阅"
    assert f"/notices/{plain.pk}/" not in [item.link for item in todos.items]

    services.receipt_confirm(user=people["li"], notice=urgent)
    services.receipt_reply(user=people["li"], notice=attend, reply=Reply.ATTEND)
    assert [item.title for item in providers.todos(people["li"], 10).items] == ["请确认的通知"]
    services.notice_withdraw(actor=office, notice=read)
    assert providers.todos(people["li"], 10).count == 0


def test_a_reply_that_can_no_longer_be_given_leaves_the_todos(people: People) -> None:
    publish(
        people["office"],
        [people.ref("li")],
        receipt_mode=ReceiptMode.ATTEND,
        receipt_due=at(hours=2),
    )
    publish(people["office"], [people.ref("li")], receipt_mode=ReceiptMode.READ, receipt_due=at(hours=2))
    with clock.frozen_at(at(hours=3)):
        todos = providers.todos(people["li"], 10)
    # The late read confirmation stays (overdue); the closed reply does not.
    assert todos.count == 1
    assert todos.items[0].overdue(at(hours=3))


def test_the_feed_lists_my_unread_notices_with_their_count(people: People) -> None:
    first = publish(people["office"], [people.ref("li")], title="第一条")
    publish(people["office"], [people.ref("li")], title="第二条", urgency=Urgency.URGENT)
    publish(people["office"], [people.ref("li")], title="第三条")
    services.notice_opened(user=people["li"], notice=first)
    [section] = providers.feed(people["li"], 5)
    assert section.count == 2
    assert [link.title for link in section.links] == ["第二条", "第三条"]
    assert section.links[0].tag == "急办"
    assert section.links[0].urgent
    assert section.more == "/notices/?only=unread"
    assert providers.feed(people["zhao"], 5)[0].links == []


def test_the_schedule_shows_notices_on_that_day_except_declined_ones(people: People) -> None:
    tomorrow = (NOW + dt.timedelta(days=1)).date()
    publish(people["office"], [people.ref("li")], title="明天上午的会")
    declined = publish(
        people["office"],
        [people.ref("li")],
        title="不去的会",
        receipt_mode=ReceiptMode.ATTEND,
    )
    services.receipt_reply(user=people["li"], notice=declined, reply=Reply.DECLINE, note="请假")
    publish(
        people["office"],
        [people.ref("li")],
        title="三天的检查",
        starts_at=at(hours=2),
        ends_at=at(days=3),
    )
    entries = providers.schedule(people["li"], tomorrow)
    assert sorted(entry.title for entry in entries) == ["三天的检查", "明天上午的会"]
    spanning = next(entry for entry in entries if entry.title == "三天的检查")
    assert spanning.all_day
    assert [entry.title for entry in providers.schedule(people["li"], NOW.date())] == ["三天的检查"]
    assert providers.schedule(people["zhao"], tomorrow) == []


def test_the_providers_take_the_same_queries_for_few_and_many(
    people: People, django_assert_max_num_queries
) -> None:
    li = people["li"]
    tomorrow = (NOW + dt.timedelta(days=1)).date()

    def ask() -> None:
        providers.todos(li, 5)
        providers.feed(li, 5)
        providers.schedule(li, tomorrow)

    publish(people["office"], [people.ref("li")], receipt_mode=ReceiptMode.READ)
    ask()  # the grants are resolved once per user object
    with django_assert_max_num_queries(5):
        ask()
    for index in range(15):
        publish(people["office"], [people.ref("li")], title=f"通知{index}", receipt_mode=ReceiptMode.READ)
    with django_assert_max_num_queries(5):
        ask()


def test_the_workbench_counts_each_figure_once_per_page(people: People) -> None:
    """The 审批 badge and the 待审批 card, the bell and the 通知 card, the 未读通知 and 待回执通知
    lists: each figure is counted once per page (``core.reads``)."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.fixtures import client_for

    publish(people["office"], [people.ref("li")], title="请确认的通知", receipt_mode=ReceiptMode.READ)
    client = client_for(people["li"])
    client.get("/")
    cache.clear()  # every card computed again
    with CaptureQueriesContext(connection) as captured:
        html = client.get("/").content.decode()
    counted = [query["sql"] for query in captured if "COUNT(" in query["sql"]]
    assert sum('FROM "workflow_workitem"' in sql for sql in counted) == 1, counted
    assert sum('FROM "notify_notification"' in sql for sql in counted) == 1, counted
    assert sum('"notices_noticerecipient"' in sql for sql in counted) == 1, counted
    assert "请确认的通知" in html
