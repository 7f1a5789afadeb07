"""The cards' first paint kept per user (``workbench.cache``): served while nothing they show
has changed, outdated by every event that refreshes a card live (a new notification, a read
one, a read notice, a pushed to-do, a shortcut changed, an article published or withdrawn)
and by the user's own actions; never served to another user, nor across a change of
clearance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from django.core.cache import cache as django_cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from tests.fixtures import client_for, grant_role, make_user, place
from xietong.audit.services import Target, record
from xietong.core import classification, clock, events, worklist
from xietong.core.worklist import WorkItem
from xietong.identity.models import User
from xietong.notify import services as notify_services
from xietong.notify.models import Notification
from xietong.org import builtin
from xietong.org.models import DataScope, OrgUnit
from xietong.portal import services as portal_services
from xietong.portal.tests.conftest import Portal, portal  # noqa: F401  (the fixture)
from xietong.workbench import audit_actions, cache, services
from xietong.workbench.models import Shortcut
from xietong.workbench.tests.conftest import Integration, People, todo, todo_provider

pytestmark = pytest.mark.django_db


def home(user: User) -> str:
    response = client_for(User.objects.get(pk=user.pk)).get("/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def listed() -> list[WorkItem]:
    """A to-do provider whose items a test changes without telling anyone: what the page
    shows then comes from the cache."""
    items: list[WorkItem] = [WorkItem("审批第一号请示", "/a/1/")]
    worklist.register_todos("fake.todos", "审批", todo_provider(items))
    return items


def test_a_visit_finds_the_cards_cached_with_fewer_queries(people: People, listed: list[WorkItem]) -> None:
    with CaptureQueriesContext(connection) as cold:
        assert "审批第一号请示" in home(people.zhangwei)
    with CaptureQueriesContext(connection) as warm:
        assert "审批第一号请示" in home(people.zhangwei)
    assert len(warm) < len(cold)
    listed[0] = WorkItem("审批第二号请示", "/a/2/")
    # Nothing announced the change: the minute-old first paint is what the page shows …
    assert "审批第一号请示" in home(people.zhangwei)
    # … until an event to the user (what refreshes the card live on an open page) says so.
    events.push_to_user(people.zhangwei.pk, "fake.changed", {})
    html = home(people.zhangwei)
    assert "审批第二号请示" in html
    assert "审批第一号请示" not in html


def test_the_warm_page_costs_a_fixed_small_number_of_queries(
    people: People, listed: list[WorkItem], django_assert_max_num_queries: Any
) -> None:
    listed.extend(WorkItem(f"请示{n}", f"/a/{n}/") for n in range(30))
    home(people.zhangwei)
    client = client_for(User.objects.get(pk=people.zhangwei.pk))
    with django_assert_max_num_queries(6):
        assert client.get("/").status_code == 200


def test_the_card_fragment_uses_and_fills_the_same_cache(people: People, listed: list[WorkItem]) -> None:
    client = client_for(people.zhangwei)
    assert "审批第一号请示" in client.get("/workbench/cards/todos/").content.decode()
    listed[0] = WorkItem("审批第二号请示", "/a/2/")
    assert "审批第一号请示" in home(people.zhangwei)
    events.push_to_user(people.zhangwei.pk, "fake.changed", {})
    fragment = client.get("/workbench/cards/todos/").content.decode()
    assert "审批第二号请示" in fragment
    assert 'id="wb-stat-todos" hx-swap-oob="true"' in fragment


def _todos_trigger(html: str) -> str:
    start = html.index('id="wb-todos"')
    return html[html.index('hx-trigger="', start) + len('hx-trigger="') :].split('"', 1)[0]


def test_an_aged_card_is_shown_at_once_and_asked_for_afresh_when_the_page_has_loaded(
    people: People, listed: list[WorkItem]
) -> None:
    start = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
    with clock.frozen_at(start):
        assert not _todos_trigger(home(people.zhangwei)).startswith("load")
    listed[0] = WorkItem("审批第二号请示", "/a/2/")
    # The next morning, nothing announced in between: yesterday's last card appears at once …
    with clock.frozen_at(start + dt.timedelta(hours=15)):
        html = home(people.zhangwei)
        assert "审批第一号请示" in html
        assert _todos_trigger(html).startswith("load, xietong:event")
        # … and the page's request for it gets it afresh: the endpoint never serves an aged card.
        fragment = client_for(people.zhangwei).get("/workbench/cards/todos/").content.decode()
        assert "审批第二号请示" in fragment
        html = home(people.zhangwei)
    assert "审批第二号请示" in html
    assert not _todos_trigger(html).startswith("load")


def test_an_aged_card_that_an_event_outdated_shows_the_module_it_named_computed_afresh(
    people: People, listed: list[WorkItem]
) -> None:
    start = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
    with clock.frozen_at(start):
        home(people.zhangwei)
    listed[0] = WorkItem("审批第二号请示", "/a/2/")
    events.push_to_user(people.zhangwei.pk, "fake.changed", {})
    with clock.frozen_at(start + dt.timedelta(hours=15)):
        html = home(people.zhangwei)
        # The other modules' answers are a night old: the page asks for the card afresh.
        assert _todos_trigger(html).startswith("load, ")
        fragment = client_for(people.zhangwei).get("/workbench/cards/todos/").content.decode()
    assert "审批第二号请示" in html
    assert "审批第一号请示" not in html
    assert "审批第二号请示" in fragment


def test_a_module_event_asks_only_that_modules_provider_again(people: People) -> None:
    asked: list[str] = []

    def provider(name: str) -> Any:
        def answer(user: Any, limit: int) -> worklist.WorkList:
            asked.append(name)
            return worklist.WorkList(1, [WorkItem(f"{name}的待办", f"/{name}/1/")])

        return answer

    worklist.register_todos("alpha.todos", "甲", provider("alpha"))
    worklist.register_todos("beta.todos", "乙", provider("beta"))
    home(people.zhangwei)
    assert sorted(asked) == ["alpha", "beta"]
    asked.clear()
    events.push_to_user(people.zhangwei.pk, "alpha.changed", {})
    html = home(people.zhangwei)
    assert asked == ["alpha"]
    assert "beta的待办" in html
    # The user's own action (or an event of unknown topic) asks them all.
    asked.clear()
    events.touched([people.zhangwei.pk])
    home(people.zhangwei)
    assert sorted(asked) == ["alpha", "beta"]


def test_the_schedule_of_another_day_is_never_served(people: People) -> None:
    day = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)  # 23:00 in Beijing
    entries = {day.date(): "今晚值班交接"}

    def schedule(user: Any, on: dt.date) -> list[worklist.ScheduleEntry]:
        title = entries.get(on)
        return [worklist.ScheduleEntry(title, "/s/1/", day)] if title else []

    worklist.register_schedule("fake.schedule", "日程", schedule)
    with clock.frozen_at(day):
        assert "今晚值班交接" in home(people.zhangwei)
    # Two hours later it is the next day in Beijing: that day's (empty) schedule, not the cached one.
    with clock.frozen_at(day + dt.timedelta(hours=2)):
        assert "今晚值班交接" not in home(people.zhangwei)


def test_an_event_outdates_only_the_cards_that_follow_its_module(
    people: People, listed: list[WorkItem]
) -> None:
    assert "审批第一号请示" in home(people.zhangwei)
    listed[0] = WorkItem("审批第二号请示", "/a/2/")
    # A notification of a module the to-dos do not come from: the notices card is painted
    # afresh, the to-do card (which its live refresh would not touch either) stays as it was.
    notify_services.notify(recipients=[f"user:{people.zhangwei.pk}"], kind="system", title="系统维护通知")
    events.push_to_user(people.zhangwei.pk, "chat.message", {})
    html = home(people.zhangwei)
    assert "系统维护通知" in html
    assert "审批第一号请示" in html
    # One of the to-dos' own module, or a notification of its kind, repaints the to-do card.
    notify_services.notify(
        recipients=[f"user:{people.zhangwei.pk}"], kind="fake.todo", title="请审批第二号请示"
    )
    html = home(people.zhangwei)
    assert "审批第二号请示" in html
    assert "审批第一号请示" not in html


def test_an_event_of_unknown_topic_outdates_every_card(people: People, listed: list[WorkItem]) -> None:
    home(people.zhangwei)
    listed[0] = WorkItem("审批第二号请示", "/a/2/")
    events.touched([people.zhangwei.pk])
    assert "审批第二号请示" in home(people.zhangwei)


def test_a_new_notification_outdates_the_notices_card(people: People) -> None:
    assert "新的通知会实时出现在这里" in home(people.zhangwei)
    notify_services.notify(recipients=[f"user:{people.zhangwei.pk}"], kind="system", title="系统维护通知")
    html = home(people.zhangwei)
    assert "系统维护通知" in html
    assert 'id="wb-stat-unread"><strong>1</strong>' in html


def test_a_read_notification_outdates_the_notices_card(people: People) -> None:
    notify_services.notify(recipients=[f"user:{people.zhangwei.pk}"], kind="system", title="系统维护通知")
    assert "系统维护通知" in home(people.zhangwei)
    notification = Notification.objects.get(user=people.zhangwei)
    notify_services.notification_mark_read(user=people.zhangwei, ids=[notification.pk])
    html = home(people.zhangwei)
    assert "系统维护通知" not in html
    assert 'id="wb-stat-unread"><strong>0</strong>' in html


def test_a_pushed_todo_and_its_closing_outdate_the_todos_card(people: People, erp: Integration) -> None:
    listed = '<span title="采购申请待审批">'  # in the to-dos card (the notification stays)
    assert listed not in home(people.zhangwei)
    assert erp.put({"system": "erp", "items": [todo("A-1", "zhangwei", "采购申请待审批")]}).status_code == 200
    assert listed in home(people.zhangwei)
    assert erp.post("/api/v1/workbench/todos/erp/A-1/done").status_code == 200
    assert listed not in home(people.zhangwei)


def test_a_shortcut_change_outdates_everyones_shortcuts(people: People, sysadmin_user: User) -> None:
    assert "财务共享中心" not in home(people.wangfang)
    shortcut = Shortcut(name="财务共享中心", url="https://fssc.example.com/", icon="link-45deg")
    services.shortcut_save(actor=sysadmin_user, shortcut=shortcut)
    assert "财务共享中心" in home(people.wangfang)
    services.shortcut_delete(actor=sysadmin_user, shortcut=shortcut)
    assert "财务共享中心" not in home(people.wangfang)


def test_the_users_own_recorded_action_ages_their_cards(people: People, listed: list[WorkItem]) -> None:
    home(people.zhangwei)
    listed.clear()  # decided on another page: no event tells the user's own workbench
    record(
        actor=people.zhangwei,
        action=audit_actions.SHORTCUT_MOVED,
        target=Target("workbench.shortcut", 1, "ERP"),
    )
    # What the action may have changed beyond its own module is painted at once and asked for
    # afresh as soon as the page has loaded; the card endpoint answers what is true now.
    assert _todos_trigger(home(people.zhangwei)).startswith("load, ")
    fragment = client_for(people.zhangwei).get("/workbench/cards/todos/").content.decode()
    assert "审批第一号请示" not in fragment
    assert "待办已全部处理" in fragment


def test_the_users_own_action_computes_its_own_modules_answers_before_the_page_is_sent(
    people: People, listed: list[WorkItem]
) -> None:
    home(people.zhangwei)
    listed.clear()
    record(actor=people.zhangwei, action="fake.request.approved", target=Target("fake.request", 1, "请示"))
    assert "审批第一号请示" not in home(people.zhangwei)


def test_another_users_event_leaves_ones_cards_alone(people: People, listed: list[WorkItem]) -> None:
    home(people.zhangwei)
    listed[0] = WorkItem("审批第二号请示", "/a/2/")
    events.push_to_user(people.wangfang.pk, "fake.changed", {})
    assert "审批第一号请示" in home(people.zhangwei)


def test_cards_are_never_served_to_another_user(people: People) -> None:
    def mine(user: Any, limit: int) -> worklist.WorkList:
        return worklist.WorkList(count=1, items=[WorkItem(f"{user.name}的私人待办", "/a/1/")])

    worklist.register_todos("fake.mine", "私人", mine)
    assert "张伟的私人待办" in home(people.zhangwei)
    html = home(people.wangfang)
    assert "王芳的私人待办" in html
    assert "张伟" not in html


def test_a_new_language_is_painted_afresh(people: People, listed: list[WorkItem]) -> None:
    assert "我的待办" in home(people.zhangwei)
    with translation.override("en"):
        key_en = cache.fingerprint(User.objects.get(pk=people.zhangwei.pk))
    assert key_en != cache.fingerprint(User.objects.get(pk=people.zhangwei.pk))


def test_a_failing_cache_costs_speed_not_the_page(
    people: People, listed: list[WorkItem], monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("redis is down")

    monkeypatch.setattr(django_cache, "get_many", down)
    monkeypatch.setattr(django_cache, "set_many", down)
    assert "审批第一号请示" in home(people.zhangwei)
    events.push_to_user(people.zhangwei.pk, "fake.changed", {})  # the listener logs, the push goes on


def test_switched_off_the_cache_computes_every_visit(
    people: People, listed: list[WorkItem], settings: Any
) -> None:
    settings.WORKBENCH_CARD_KEEP_SECONDS = 0
    assert "审批第一号请示" in home(people.zhangwei)
    listed[0] = WorkItem("审批第二号请示", "/a/2/")
    assert "审批第二号请示" in home(people.zhangwei)


# --------------------------------------------------------------------------- portal news


@pytest.fixture
def _real_feeds() -> Iterator[None]:
    """The portal's own feed provider (the workbench tests keep only theirs by default)."""
    from xietong.portal import workbench as portal_workbench

    with worklist.isolated():
        worklist.register_feed("portal.latest", "最新资讯", portal_workbench.latest, order=30)
        yield


@pytest.mark.usefixtures("_real_feeds")
def test_an_article_published_or_withdrawn_outdates_everyones_news(portal: Portal) -> None:  # noqa: F811
    assert "集团召开四季度工作会议" not in home(portal.finance)
    article = portal.publish(title="集团召开四季度工作会议")
    assert "集团召开四季度工作会议" in home(portal.finance)
    portal_services.article_withdraw(actor=portal.admin, article=article, reason="内容有误")
    assert "集团召开四季度工作会议" not in home(portal.finance)


@pytest.mark.usefixtures("_real_feeds")
def test_a_cache_filled_by_a_reader_in_scope_never_reaches_one_outside(portal: Portal) -> None:  # noqa: F811
    east: OrgUnit = portal.units["east"]
    portal.publish(title="华东分公司内部通报", audience_everyone=False, audience_units=[east])
    assert "华东分公司内部通报" in home(portal.repair)  # 检修班 lies within 华东分公司
    assert "华东分公司内部通报" not in home(portal.finance)
    # Moved to 检修班, the finance person's posts changed: no cached card of theirs is current.
    place(portal.finance, portal.units["repair"], primary=False)
    assert "华东分公司内部通报" in home(portal.finance)


@pytest.mark.usefixtures("_real_feeds")
def test_a_lower_clearance_never_gets_a_classified_article_from_the_cache(portal: Portal) -> None:  # noqa: F811
    secret = classification.COMMERCIAL_SECRET
    User.objects.filter(pk__in=[portal.publisher.pk, portal.reviewer.pk]).update(clearance=secret)
    portal.publisher = User.objects.get(pk=portal.publisher.pk)
    portal.reviewer = User.objects.get(pk=portal.reviewer.pk)
    reader = make_user("cleared", name="涉密人员", clearance=secret)
    place(reader, portal.units["finance"])
    portal.publish(
        title="商密级经营数据通报",
        classification=secret,
        audience_everyone=False,
        audience_units=[portal.units["finance"]],
    )
    assert "商密级经营数据通报" in home(reader)
    User.objects.filter(pk=reader.pk).update(clearance=classification.PUBLIC)
    assert "商密级经营数据通报" not in home(reader)


@pytest.mark.usefixtures("_real_feeds")
def test_colleagues_share_one_news_card_that_their_own_events_leave_alone(portal: Portal) -> None:  # noqa: F811
    portal.publish(title="集团召开四季度工作会议")
    colleague = make_user("caiwu2", name="财务二")
    place(colleague, portal.units["finance"])
    assert "集团召开四季度工作会议" in home(portal.finance)

    def article_queries(user: User) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert "集团召开四季度工作会议" in home(user)
        return sum('"portal_article"' in query["sql"] for query in captured.captured_queries)

    # The colleague's first visit finds the news card their department's first reader painted …
    assert article_queries(colleague) == 0
    # … and a notification of their own repaints their to-dos and notices, not the news.
    events.push_to_user(colleague.pk, "fake.changed", {})
    assert article_queries(colleague) == 0
    # Someone whose audience differs (another company) never gets that copy.
    assert article_queries(portal.east) > 0


# --------------------------------------------------------------------------- notices


def test_a_read_notice_outdates_the_notices_card(org_tree: dict[str, OrgUnit]) -> None:
    from xietong.notices import providers
    from xietong.notices import services as notice_services
    from xietong.notices.tests.conftest import BASE, NOW

    with clock.frozen_at(NOW), worklist.isolated():
        worklist.register_feed("notices.unread", "未读通知", providers.feed, card=worklist.FEED_NOTICES)
        publisher = make_user("publisher", name="发布人")
        place(publisher, org_tree["office"])
        grant_role(publisher, builtin.NOTICE_PUBLISHER, scope=DataScope.GROUP)
        reader = make_user("reader", name="读者")
        place(reader, org_tree["finance"])
        notice = notice_services.notice_publish(
            actor=publisher,
            data=replace(BASE, audience=[f"user:{reader.pk}"], ends_at=NOW + dt.timedelta(days=1, hours=2)),
        )
        html = home(reader)
        assert 'id="wb-stat-unread"><strong>1</strong>' in html
        assert "关于召开第四季度安全生产工作会议的通知" in html
        notice_services.notice_opened(user=reader, notice=notice)
        html = home(reader)
        assert 'id="wb-stat-unread"><strong>0</strong>' in html
        assert "关于召开第四季度安全生产工作会议的通知" not in html


def test_colleagues_share_one_shortcuts_card_and_a_chosen_audience_stays_inside(
    people: People, org_tree: dict[str, OrgUnit], sysadmin_user: User
) -> None:
    shortcut = Shortcut(
        name="华东生产管理系统", url="https://mes.example.com/", icon="link-45deg", audience="chosen"
    )
    services.shortcut_save(actor=sysadmin_user, shortcut=shortcut, units=[org_tree["east"]])
    colleague = make_user("jianxiu2", name="检修二")
    place(colleague, org_tree["repair"])
    assert "华东生产管理系统" in home(people.zhaolei)

    def shortcut_queries(user: User) -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            html = home(user)
        return sum('"workbench_shortcut"' in query["sql"] for query in captured.captured_queries), html

    # The colleague's first visit finds the card their unit's first reader painted …
    queries, html = shortcut_queries(colleague)
    assert queries == 0
    assert "华东生产管理系统" in html
    # … and someone outside the chosen audience gets a card of their own, without it.
    queries, html = shortcut_queries(people.wangfang)
    assert queries > 0
    assert "华东生产管理系统" not in html


def test_a_role_granted_to_one_person_leaves_everyone_elses_cards_alone(
    people: People, listed: list[WorkItem]
) -> None:
    home(people.zhangwei)
    listed[0] = WorkItem("审批第二号请示", "/a/2/")
    grant_role(people.wangfang, builtin.PORTAL_REVIEWER)
    assert "审批第一号请示" in home(people.zhangwei)  # nothing of zhangwei's changed


def test_a_role_granted_or_taken_changes_that_persons_keys(people: People) -> None:
    before = cache.fingerprint(User.objects.get(pk=people.zhangwei.pk))
    grant = grant_role(people.zhangwei, builtin.PORTAL_REVIEWER)
    granted = cache.fingerprint(User.objects.get(pk=people.zhangwei.pk))
    assert granted != before
    grant.delete()
    assert cache.fingerprint(User.objects.get(pk=people.zhangwei.pk)) == before
    # A post in another unit, too.
    place(people.zhangwei, OrgUnit.objects.exclude(memberships__user=people.zhangwei).first(), primary=False)
    assert cache.fingerprint(User.objects.get(pk=people.zhangwei.pk)) != before


def test_a_to_do_row_escapes_what_the_provider_wrote(people: People, listed: list[WorkItem]) -> None:
    listed[0] = WorkItem('<img src=x onerror="alert(1)">请示', '/a/1/"><script>', detail="<b>李强</b>")
    html = home(people.zhangwei)
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;请示" in html
    assert '/a/1/&quot;&gt;&lt;script&gt;"' in html
    assert "&lt;b&gt;李强&lt;/b&gt;" in html


def test_after_a_restore_the_reset_command_outdates_everyones_cards(
    people: People, listed: list[WorkItem]
) -> None:
    from django.core.management import call_command

    home(people.zhangwei)
    listed[0] = WorkItem("审批第二号请示", "/a/2/")  # the restored data
    call_command("workbench_reset", stdout=None)
    html = home(people.zhangwei)
    assert "审批第二号请示" in html
    assert not _todos_trigger(html).startswith("load")  # computed, not painted from before
