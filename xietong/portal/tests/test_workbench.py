"""The portal on the workbench: 最新资讯 per channel and 待审核文章, each in a fixed number of
queries whatever the number of articles."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from xietong.core import worklist
from xietong.portal import services, workbench
from xietong.portal.models import Channel
from xietong.portal.tests.conftest import Portal, fresh

pytestmark = pytest.mark.django_db


def test_the_providers_are_registered() -> None:
    assert "portal.latest" in [p.key for p in worklist.feed_providers()]
    assert "portal.review" in [p.key for p in worklist.todo_providers()]


def test_latest_gives_one_section_per_workbench_channel_pinned_first(portal: Portal) -> None:
    portal.publish(title="普通新闻")
    portal.publish(title="置顶要闻", pinned=True)
    sections = workbench.latest(fresh(portal.east), 5)
    shown = Channel.objects.filter(on_workbench=True, is_active=True).exclude(kind="notices")
    assert [s.key for s in sections] == [f"portal.{c.code}" for c in shown.order_by("order", "pk")]
    news = next(s for s in sections if s.key == "portal.xwdt")
    assert [(link.title, link.tag) for link in news.links] == [("置顶要闻", "置顶"), ("普通新闻", "")]
    assert news.more == "/portal/c/xwdt/"
    assert all(link.link.startswith("/portal/a/") for link in news.links)


def test_latest_respects_the_limit(portal: Portal) -> None:
    for index in range(4):
        portal.publish(title=f"新闻{index}")
    news = next(s for s in workbench.latest(fresh(portal.east), 2) if s.key == "portal.xwdt")
    assert [link.title for link in news.links] == ["新闻3", "新闻2"]


def count_queries(function: Any, *args: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        function(*args)
    return len(queries)


def test_the_feed_and_the_channel_list_do_not_grow_with_data(portal: Portal) -> None:
    for channel in portal.channels.values():
        if channel.kind == "articles":
            channel.on_workbench = True
            channel.owner_unit = portal.units["office"]
            channel.save()
            channel.publishers.add(portal.publisher)
    reader = fresh(portal.east)
    workbench.latest(reader, 5)  # grants resolved once per user object
    few = count_queries(workbench.latest, reader, 5)
    for index, channel in enumerate(c for c in portal.channels.values() if c.kind == "articles"):
        for number in range(3):
            portal.publish(channel=channel, title=f"{channel.name}{number}", pinned=number == index % 3)
    sections = workbench.latest(reader, 5)
    assert sum(len(s.links) for s in sections) >= 20
    assert count_queries(workbench.latest, reader, 5) == few
    from xietong.portal import selectors

    # The live pins of all channels, then each channel's newest on its index: the channels
    # shown (configuration) decide the count, never the number of articles.
    ids = list(Channel.objects.values_list("pk", flat=True))
    assert count_queries(selectors.latest_by_channel, reader, ids, 5) == 1 + len(ids)


def test_to_review_lists_the_reviewers_queue_with_its_count(portal: Portal) -> None:
    for index in range(3):
        services.article_submit(actor=portal.publisher, article=portal.draft(title=f"待审{index}"))
    reviewer = fresh(portal.reviewer)
    work = workbench.to_review(reviewer, 2)
    assert work.count == 3
    assert [item.title for item in work.items] == ["待审0", "待审1"]
    assert work.items[0].detail == "新闻动态 · 张伟"
    assert work.more == "/portal/review/"
    assert workbench.to_review(fresh(portal.east), 5).count == 0
    # At most two queries (the first items, and the count when there are more than shown).
    assert count_queries(workbench.to_review, reviewer, 2) == 2
    for index in range(5):
        services.article_submit(actor=portal.publisher, article=portal.draft(title=f"更多{index}"))
    assert count_queries(workbench.to_review, reviewer, 2) == 2
