"""The portal of the demo group: channels with owners, publishers and reviewers, articles in
every channel, a regulation with two versions, picture news, downloads, one pending review."""

from __future__ import annotations

import pytest

from xietong.core import access
from xietong.identity.models import User
from xietong.org import demo
from xietong.org.models import Membership
from xietong.portal import selectors
from xietong.portal.models import Article, ArticleVersion, Channel

pytestmark = pytest.mark.django_db


def test_the_demo_fills_every_channel() -> None:
    demo.load_demo("Demo#Pass2026")
    zhangwei = User.objects.get(username="zhangwei")
    office_head = Membership.objects.get(unit__code="HQ-ZH", is_head=True).user
    assert set(Channel.objects.get(code="xwdt").publishers.all()) == {zhangwei, office_head}
    owners = dict(Channel.objects.values_list("code", "owner_unit__code"))
    assert (owners["aqjc"], owners["djgz"], owners["xwdt"]) == ("HQ-AJ", "HQ-DQ", "HQ-ZH")
    assert access.can(office_head, "portal.manage_channels")
    for channel in Channel.objects.exclude(kind=Channel.Kind.NOTICES):
        assert Article.objects.filter(channel=channel, status="published").count() >= 2, channel.name
    regulation = Article.objects.get(title="公司差旅费管理办法")
    state = selectors.regulation_state(regulation)
    assert state.current is not None
    assert state.current.number == 1
    assert state.upcoming is not None
    assert state.upcoming.number == 2
    assert Article.objects.filter(channel__code="tpxw", cover__isnull=False).count() == 3
    names = Article.objects.filter(channel__code="cyxz").values_list(
        "attachment_links__file__name", flat=True
    )
    assert {name.rsplit(".", 1)[1] for name in names} == {"xlsx", "txt", "pdf"}
    pending = Article.objects.get(status="submitted")
    assert pending.author == zhangwei
    assert list(selectors.review_queue(office_head)) == [pending]
    assert ArticleVersion.objects.filter(article=regulation).count() == 2
    # The 三员 accounts read nothing of it.
    assert not selectors.visible_articles(User.objects.get(username="sysadmin")).exists()
