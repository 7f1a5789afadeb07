"""Fixtures of the portal tests: the org tree of ``tests.fixtures`` with a publisher and a
reviewer in 综合办公室, readers across the group, and helpers that write and publish.

People (``org_tree`` units):

* 张伟 ``zhangwei`` — 综合办公室, publisher of 新闻动态 (owned by 综合办公室);
* 王主任 ``wangzr`` — head of 综合办公室, ``portal_reviewer`` over his department;
* 门户管理员 ``padmin`` — ``portal_admin`` (channels, and review everywhere);
* readers: 周一 (生产技术部, in 华东分公司), 吴二 (苏州工程部, in 苏州公司 under 华东分公司),
  郑三 (财务部), 钱四 (检修班, under 生产技术部).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures import grant_role, make_user, place
from xietong.identity.models import User
from xietong.moderation import lexicon
from xietong.moderation import services as moderation
from xietong.moderation.models import SensitiveWord, WordCategory
from xietong.org import builtin
from xietong.org.models import DataScope, Membership, OrgUnit
from xietong.portal import services
from xietong.portal.models import Article, Channel

BLOCKED = "违禁测试词"
HELD = "送审测试词"


@dataclass
class Portal:
    units: dict[str, OrgUnit]
    channels: dict[str, Channel]
    news: Channel
    publisher: User
    reviewer: User
    admin: User
    east: User
    suzhou: User
    finance: User
    repair: User

    def draft(self, author: User | None = None, channel: Channel | None = None, **fields: Any) -> Article:
        fields.setdefault("title", "集团召开四季度工作会议")
        fields.setdefault("body", "<p>会议部署了年末重点工作。</p>")
        return services.article_create(
            actor=author or self.publisher, channel=channel or self.news, data=services.ArticleInput(**fields)
        )

    def publish(self, author: User | None = None, channel: Channel | None = None, **fields: Any) -> Article:
        """Written by the publisher, approved by the reviewer: live now."""
        article = self.draft(author, channel, **fields)
        article = services.article_submit(actor=author or self.publisher, article=article)
        if article.status == Article.Status.SUBMITTED:
            article = services.article_approve(actor=self.reviewer_for(article), article=article)
        return article

    def reviewer_for(self, article: Article) -> User:
        return self.reviewer if article.channel.owner_unit_id == self.units["office"].pk else self.admin


def person(username: str, name: str, unit: OrgUnit, **fields: Any) -> User:
    user = make_user(username, name=name, **fields)
    place(user, unit)
    return user


@pytest.fixture
def portal(org_tree: dict[str, OrgUnit]) -> Portal:
    channels = services.ensure_default_channels()
    publisher = person("zhangwei", "张伟", org_tree["office"])
    reviewer = make_user("wangzr", name="王主任")
    Membership.objects.create(user=reviewer, unit=org_tree["office"], is_head=True)
    grant_role(reviewer, builtin.PORTAL_REVIEWER, scope=DataScope.DEPARTMENT)
    admin = person("padmin", "门户管理员", org_tree["office"])
    grant_role(admin, builtin.PORTAL_ADMIN)
    news = channels["xwdt"]
    news.owner_unit = org_tree["office"]
    news.save()
    news.publishers.add(publisher)
    return Portal(
        units=org_tree,
        channels=channels,
        news=news,
        publisher=publisher,
        reviewer=reviewer,
        admin=admin,
        east=person("zhouyi", "周一", org_tree["production"]),
        suzhou=person("wuer", "吴二", org_tree["suzhou_works"]),
        finance=person("zhengsan", "郑三", org_tree["finance"]),
        repair=person("qiansi", "钱四", org_tree["repair"]),
    )


def fresh(user: User) -> User:
    """The account read again: grants are cached on the user object."""
    return User.objects.get(pk=user.pk)


@pytest.fixture
def words(secadmin_user: User) -> Iterator[dict[str, SensitiveWord]]:
    def category(name: str, action: str) -> WordCategory:
        row, _created = WordCategory.objects.get_or_create(name=name, defaults={"default_action": action})
        return row

    found = {
        "blocked": moderation.word_create(
            actor=secadmin_user, word=BLOCKED, category=category("违法违规", "block"), action="block"
        ),
        "held": moderation.word_create(
            actor=secadmin_user, word=HELD, category=category("广告", "hold"), action="hold"
        ),
    }
    lexicon.forget()
    yield found
    lexicon.forget()


def changed(article: Article, **changes: Any) -> services.ArticleInput:
    """The article's current content with ``changes``: what an edit form posts back."""
    fields: dict[str, Any] = {
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "classification": article.classification,
        "audience_everyone": article.audience_everyone,
        "effective_from": article.effective_from,
    }
    fields.update(changes)
    return services.ArticleInput(**fields)
