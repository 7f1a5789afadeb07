"""The workbench page (R-75): greeting, the day's numbers, to-dos of every module merged,
today's schedule, notices, news and shortcuts; each card a fragment that refreshes live; a
broken module left out."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.fixtures import client_for
from xietong.core import clock, worklist
from xietong.core.worklist import FeedSection, ScheduleEntry, WorkItem
from xietong.notify import services as notify_services
from xietong.workbench import cache, views
from xietong.workbench.tests.conftest import (
    People,
    broken,
    feed_provider,
    links,
    schedule_provider,
    todo_provider,
)

pytestmark = pytest.mark.django_db

# Monday 30 November 2026, 09:30 in Beijing.
NOW = dt.datetime(2026, 11, 30, 1, 30, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def page(client: Client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, element_id: str) -> str:
    """The HTML of the element with ``element_id`` up to the next card (good enough to tell
    which card a text is in)."""
    start = html.index(f'id="{element_id}"')
    end = html.find("<section", start)
    return html[start : end if end != -1 else len(html)]


def todo_titles(html: str) -> list[str]:
    listing = section(html, "wb-todo-list")
    return re.findall(
        r'<span class="wb-todo-title">(?:<span[^>]*>急办</span>)?<span title="[^"]*">([^<]+)</span>', listing
    )


def test_r75_after_login_pending_approvals_documents_and_unread_notices_with_counts(people: People) -> None:
    """R-75: right after login, the workbench lists what waits for the user, with counts."""
    approvals = [
        WorkItem(f"合同会审 HT-2026-00{n}", f"/workflow/items/{n}/", at=NOW - n * HOUR) for n in (1, 2, 3)
    ]
    documents = [WorkItem("关于做好冬季安全生产工作的通知（收文）", "/documents/7/", at=NOW - HOUR)]
    worklist.register_todos(
        "workflow.approvals", "审批", todo_provider(approvals, more="/workflow/"), icon="check2-square"
    )
    worklist.register_todos(
        "documents.inbox", "公文待办", todo_provider(documents, count=4), icon="file-earmark-text"
    )
    for title in ("关于国庆假期安排的通知", "系统维护通知"):
        notify_services.notify(recipients=[f"user:{people.zhangwei.pk}"], kind="system", title=title)

    with clock.frozen_at(NOW):
        html = page(client_for(people.zhangwei))

    stats = section(html, "wb-stat-todos")
    assert "<strong>7</strong>" in stats  # 3 approvals + 4 documents: the providers' counts
    assert "<strong>2</strong>" in section(html, "wb-stat-unread")
    todos = section(html, "wb-todos")
    for title in ("合同会审 HT-2026-001", "关于做好冬季安全生产工作的通知（收文）"):
        assert title in todos
    assert re.search(r'data-tab="workflow.approvals"[^>]*>.*?审批<span class="wb-num">3</span>', todos, re.S)
    assert re.search(r'data-tab="documents.inbox"[^>]*>.*?公文待办<span class="wb-num">4</span>', todos, re.S)
    assert 'href="/workflow/"' in todos  # the provider's own list
    notices = section(html, "xt-notifications")
    assert "关于国庆假期安排的通知" in notices
    assert 'text-bg-danger ms-2">2<' in notices


def test_to_dos_of_all_modules_merged_urgent_then_overdue_then_newest(people: People) -> None:
    worklist.register_todos(
        "workflow.approvals",
        "审批",
        todo_provider(
            [
                WorkItem("旧的请示", "/w/1/", at=NOW - 30 * HOUR),
                WorkItem("新的请示", "/w/2/", at=NOW - HOUR),
                WorkItem("超期的联系单", "/w/3/", at=NOW - 50 * HOUR, due=NOW - 2 * HOUR),
            ]
        ),
    )
    worklist.register_todos(
        "documents.inbox",
        "公文待办",
        todo_provider(
            [
                WorkItem("急办：防汛紧急通知", "/d/1/", at=NOW - 60 * HOUR, urgent=True),
                WorkItem("最新的收文", "/d/2/", at=NOW - dt.timedelta(minutes=5), due=NOW + 8 * HOUR),
            ]
        ),
    )
    with clock.frozen_at(NOW):
        html = page(client_for(people.zhangwei))
    assert todo_titles(html) == ["急办：防汛紧急通知", "超期的联系单", "最新的收文", "新的请示", "旧的请示"]
    todos = section(html, "wb-todos")
    assert "wb-badge-urgent" in todos
    assert "已超期" in todos  # overdue badge
    assert "今天 17:30 截止" in todos  # due within a day
    assert "昨天 03:30" in todos  # the old request arrived yesterday
    assert "09:25" in todos  # today: the time only
    assert "公文待办" in todos
    assert "审批" in todos


def test_only_the_most_pressing_items_under_all_the_rest_under_their_source(people: People) -> None:
    items = [WorkItem(f"请示 {n:02d}", f"/w/{n}/", at=NOW - n * HOUR) for n in range(1, 13)]
    worklist.register_todos("workflow.approvals", "审批", todo_provider(items, count=40, more="/workflow/"))
    with clock.frozen_at(NOW):
        html = page(client_for(people.zhangwei))
    listing = section(html, "wb-todo-list")
    shown = re.findall(
        r'<li data-source="workflow.approvals" x-show="([^"]*)"( style="display: none")?', listing
    )
    assert len(shown) == 8  # each provider is asked for as many as the card shows
    assert all(show.startswith("tab === 'all'") and not hidden for show, hidden in shown)
    assert "按紧急程度显示 8 项，共 40 项" in html
    assert "<strong>40</strong>" in section(html, "wb-stat-todos")


def test_a_failing_provider_is_logged_and_left_out(people: People, caplog: pytest.LogCaptureFixture) -> None:
    worklist.register_todos("workflow.approvals", "审批", broken)
    worklist.register_todos(
        "documents.inbox", "公文待办", todo_provider([WorkItem("收文 1", "/d/1/", at=NOW)])
    )
    worklist.register_schedule("meetings.today", "会议", broken)
    worklist.register_feed("portal.latest", "门户", broken)
    worklist.register_feed("notices.unread", "通知公告", broken, card=worklist.FEED_NOTICES)
    # A provider that answers something else than it promised counts as failed too.
    not_a_work_list: Any = lambda user, limit: ["not a work list"]  # noqa: E731
    worklist.register_todos("tasks.mine", "任务", not_a_work_list)
    with caplog.at_level(logging.ERROR, logger="xietong.workbench.selectors"), clock.frozen_at(NOW):
        client = client_for(people.zhangwei)  # signed in at the frozen time: the session is fresh
        html = page(client)
        for name in ("todos", "schedule", "notices", "news"):
            assert client.get(reverse("workbench:card", args=[name])).status_code == 200
    assert "收文 1" in section(html, "wb-todos")
    assert "“任务”、“审批”暂时无法加载" in section(html, "wb-todos")
    assert "“会议”暂时无法加载" in section(html, "wb-schedule")
    assert "“门户”暂时无法加载" in section(html, "wb-news")
    assert "“通知公告”暂时无法加载" in section(html, "xt-notifications")
    failed = {getattr(r, "provider", "") for r in caplog.records if r.msg == "workbench.provider_failed"}
    assert {"workflow.approvals", "meetings.today", "portal.latest", "notices.unread"} <= failed
    assert "<strong>1</strong>" in section(html, "wb-stat-todos")


def test_todays_schedule_sorted_by_start_with_time_and_place(people: People) -> None:
    local = dt.timezone(dt.timedelta(hours=8))
    at = lambda hour, minute=0: dt.datetime(2026, 11, 30, hour, minute, tzinfo=local)  # noqa: E731
    worklist.register_schedule(
        "meetings.today",
        "会议",
        schedule_provider(
            [
                ScheduleEntry("安全生产例会", "/meetings/3/", at(14), at(15, 30), place="三楼第一会议室"),
                ScheduleEntry("部门晨会", "/meetings/1/", at(8, 30), at(9), place="综合办公室"),
                ScheduleEntry("季度经营分析会", "/meetings/2/", at(9), at(11), place="视频会议"),
            ]
        ),
        icon="people",
    )
    worklist.register_schedule(
        "notices.events",
        "通知公告",
        schedule_provider([ScheduleEntry("全员消防演练", "/notices/9/", at(0), all_day=True)]),
    )
    with clock.frozen_at(NOW):
        html = page(client_for(people.zhangwei))
    agenda = section(html, "wb-agenda")
    order = [agenda.index(title) for title in ("全员消防演练", "部门晨会", "季度经营分析会", "安全生产例会")]
    assert order == sorted(order)
    assert "三楼第一会议室" in agenda
    assert "14:00" in agenda
    assert "15:30" in agenda
    assert re.search(r'class="wb-event is-past[^"]*">.*?部门晨会', agenda, re.S)
    assert re.search(r"季度经营分析会</span><span class=\"wb-badge wb-badge-now\">进行中", agenda)
    stat = section(html, "wb-stat-schedule")
    assert "<strong>4</strong>" in stat
    assert "进行中" in stat
    assert "11月30日 星期一" in section(html, "wb-schedule")


def test_feeds_appear_in_their_cards(people: People) -> None:
    worklist.register_feed(
        "portal.latest",
        "门户资讯",
        feed_provider(
            [
                FeedSection(
                    "news",
                    "新闻动态",
                    links("集团召开年度工作会议", "华东分公司安全生产月总结"),
                    more="/portal/c/news/",
                ),
                FeedSection("rules", "规章制度", links("差旅费管理办法（2026 年修订）")),
            ]
        ),
    )
    worklist.register_feed(
        "notices.unread",
        "通知公告",
        feed_provider([FeedSection("unread", "未读公告", links("关于元旦放假的通知"), count=3)]),
        card=worklist.FEED_NOTICES,
    )
    html = page(client_for(people.zhangwei))
    news = section(html, "wb-news")
    assert "集团召开年度工作会议" in news
    assert "差旅费管理办法（2026 年修订）" in news
    assert 'href="/portal/c/news/"' in news
    assert "关于元旦放假的通知" not in news
    notices = section(html, "xt-notifications")
    assert "关于元旦放假的通知" in notices
    assert re.search(r"未读公告<span class=\"wb-num\">3</span>", notices)


def test_greeting_with_name_department_date_and_weekday(people: People) -> None:
    with clock.frozen_at(NOW):
        html = page(client_for(people.zhangwei))
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert heading is not None
    assert heading.group(1).strip() == "上午好，张伟"
    assert "2026年11月30日 星期一" in html
    assert "综合办公室" in html
    with clock.frozen_at(NOW + 11 * HOUR):  # 20:30
        assert "晚上好，张伟" in page(client_for(people.zhangwei))


def test_empty_cards_say_so(people: People) -> None:
    html = page(client_for(people.wangfang))
    assert "待办已全部处理" in section(html, "wb-todos")
    assert "今天没有日程安排" in section(html, "wb-schedule")
    assert "没有未读通知" in section(html, "xt-notifications")
    assert "暂无最新资讯" in section(html, "wb-news")
    assert "<strong>0</strong>" in section(html, "wb-stat-todos")


def test_every_card_is_a_fragment_with_its_counter_out_of_band(people: People) -> None:
    worklist.register_todos(
        "workflow.approvals", "审批", todo_provider([WorkItem("请示 1", "/w/1/", at=NOW)])
    )
    client = client_for(people.zhangwei)
    todos = client.get(reverse("workbench:card", args=["todos"]))
    assert todos.status_code == 200
    body = todos.content.decode()
    assert "<html" not in body
    assert "请示 1" in body
    assert 'id="wb-stat-todos" hx-swap-oob="true"><strong>1</strong>' in body
    assert todos["Cache-Control"] == "no-store"
    assert (
        'id="wb-stat-unread" hx-swap-oob="true"' in client.get("/workbench/cards/notices/").content.decode()
    )
    assert (
        'id="wb-stat-schedule" hx-swap-oob="true"'
        in client.get("/workbench/cards/schedule/").content.decode()
    )
    assert client.get("/workbench/cards/news/").status_code == 200
    assert client.get("/workbench/cards/shortcuts/").status_code == 200
    assert client.get("/workbench/cards/nothing/").status_code == 404
    anonymous = Client().get("/workbench/cards/todos/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("identity:login"))


def test_cards_refresh_on_the_events_of_their_modules(people: People) -> None:
    worklist.register_todos("workflow.approvals", "审批", todo_provider([]))
    worklist.register_feed("portal.latest", "门户资讯", feed_provider([]))
    html = page(client_for(people.zhangwei))
    triggers = dict(re.findall(r'hx-get="/workbench/cards/(\w+)/" hx-trigger="([^"]+)"', html))
    assert set(triggers) == {"todos", "news", "schedule", "notices"}
    for trigger in triggers.values():
        assert trigger.startswith("xietong:event[")
        assert trigger.endswith(f"from:document delay:{views.LIVE_DELAY_MS}ms")
    # To-dos: pushed to-dos (workbench), receipts (notices) and each provider's own module.
    assert "/^(notices|workbench|workflow)\\./" in triggers["todos"]
    assert "detail.type == &#x27;notify.new&#x27;" in triggers["todos"]
    # The notices card follows every notify.* event (new ones, and reads in another tab).
    assert triggers["notices"].startswith("xietong:event[/^notify\\./.test(detail.type)")
    assert "portal" in triggers["news"]
    assert 'id="wb-shortcuts" aria-labelledby' in html  # the shortcuts card does not follow events


def test_anonymous_visitors_go_to_sign_in() -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login"))


def test_unread_count_beyond_the_bell_limit_shows_99_plus_like_the_bell(people: People) -> None:
    from xietong.notify.models import Dispatch, Notification
    from xietong.notify.selectors import BELL_LIMIT

    user = people.zhangwei
    now = clock.now()
    dispatches = Dispatch.objects.bulk_create(
        Dispatch(kind="system", title=f"通知 {n}", recipient_count=1, created_at=now)
        for n in range(BELL_LIMIT)
    )
    Notification.objects.bulk_create(Notification(dispatch=d, user=user, created_at=now) for d in dispatches)
    html = page(client_for(user))
    assert "<strong>99+</strong>" in section(html, "wb-stat-unread")
    assert 'text-bg-danger ms-2">99+<' in section(html, "xt-notifications")
    Notification.objects.filter(pk=Notification.objects.filter(user=user).order_by("pk")[0].pk).delete()
    cache.changed_for([user.pk])
    assert "<strong>99</strong>" in section(page(client_for(user)), "wb-stat-unread")
