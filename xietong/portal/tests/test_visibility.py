"""Who sees an article (R-33, R-34, R-61): audiences of everyone, a company, a department, a
unit alone and a role, against readers inside and outside them and their clearance — through
every door: lists, counts, search, the page, the API, the workbench feed and notifications."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from tests.fixtures import client_for, grant_role
from xietong.core import classification
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.identity.models import User
from xietong.notify.models import Notification
from xietong.org import builtin
from xietong.org.models import DataScope, Position, Role, RoleGrant
from xietong.portal import selectors, services, workbench
from xietong.portal.models import Article
from xietong.portal.tests.conftest import Portal, fresh

pytestmark = pytest.mark.django_db

SECRET = classification.COMMERCIAL_SECRET
READERS = ("east", "suzhou", "finance", "repair")


def audience(portal: Portal, case: str) -> dict[str, Any]:
    units = portal.units
    if case == "everyone":
        return {}
    if case == "company":  # 华东分公司 with everything below it, 苏州公司 included
        return {"audience_everyone": False, "audience_units": [units["east"]]}
    if case == "department":  # 生产技术部 and 检修班 below it
        return {"audience_everyone": False, "audience_units": [units["production"]]}
    if case == "unit_only":  # 生产技术部 without 检修班
        return {"audience_everyone": False, "audience_units_only": [units["production"]]}
    if case == "role":
        return {
            "audience_everyone": False,
            "audience_roles": [Role.objects.get(code=builtin.NOTICE_PUBLISHER)],
        }
    raise AssertionError(case)


EXPECTED = {
    "everyone": {"east", "suzhou", "finance", "repair"},
    "company": {"east", "suzhou", "repair"},
    "department": {"east", "repair"},
    "unit_only": {"east"},
    "role": {"finance"},
}


def seen_by(user: User, article: Article) -> dict[str, bool]:
    """Every way the user could learn of the article."""
    user = fresh(user)
    visible = selectors.visible_articles(user)
    try:
        selectors.article_get(user, article.pk)
        opened = True
    except NotFoundError:
        opened = False
    feed = workbench.latest(user, 10)
    return {
        "list": visible.filter(pk=article.pk).exists(),
        "count": visible.count() == 1,
        "search": selectors.search(visible, "特别报道").exists(),
        "channel": selectors.channel_articles(user, article.channel, query="特别")
        .filter(pk=article.pk)
        .exists(),
        "latest": any(
            a.pk == article.pk
            for a in selectors.latest_by_channel(user, [article.channel_id], 5)[article.channel_id]
        ),
        "feed": any(link.title == article.title for section in feed for link in section.links),
        "page": opened,
    }


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_r61_an_article_reaches_its_audience_and_nobody_else(portal: Portal, case: str) -> None:
    grant_role(portal.finance, builtin.NOTICE_PUBLISHER, scope=DataScope.DEPARTMENT)
    article = portal.publish(title="特别报道：年度先进集体", **audience(portal, case))
    for name in READERS:
        seen = seen_by(getattr(portal, name), article)
        expected = name in EXPECTED[case]
        assert seen == dict.fromkeys(seen, expected), (case, name, seen)


def test_r61_a_role_given_through_a_post_admits_its_holder(portal: Portal) -> None:
    position = Position.objects.create(name="宣传干事", rank=2)
    portal.east.memberships.update(position=position)
    role = Role.objects.get(code=builtin.NOTICE_PUBLISHER)
    RoleGrant.objects.create(role=role, position=position, scope=DataScope.DEPARTMENT)
    article = portal.publish(title="特别报道", audience_everyone=False, audience_roles=[role])
    assert seen_by(portal.east, article)["page"] is True
    assert seen_by(portal.finance, article)["page"] is False


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_r34_a_classified_article_reaches_only_cleared_readers_of_its_audience(
    portal: Portal, case: str
) -> None:
    if case == "everyone":
        return  # refused, see below
    grant_role(portal.finance, builtin.NOTICE_PUBLISHER, scope=DataScope.DEPARTMENT)
    User.objects.filter(pk=portal.publisher.pk).update(clearance=SECRET)
    User.objects.filter(pk=portal.reviewer.pk).update(clearance=SECRET)
    portal.publisher, portal.reviewer = fresh(portal.publisher), fresh(portal.reviewer)
    article = portal.publish(title="特别报道（普通商密）", classification=SECRET, **audience(portal, case))
    for name in READERS:
        assert not any(seen_by(getattr(portal, name), article).values()), (case, name)
    cleared = {name for name in READERS if name in EXPECTED[case]}
    User.objects.filter(username__in=[getattr(portal, n).username for n in cleared]).update(clearance=SECRET)
    for name in READERS:
        seen = seen_by(getattr(portal, name), article)
        assert seen == dict.fromkeys(seen, name in cleared), (case, name, seen)


def test_r34_a_classified_article_to_everyone_is_refused(portal: Portal) -> None:
    User.objects.filter(pk=portal.publisher.pk).update(clearance=SECRET)
    author = fresh(portal.publisher)
    with pytest.raises(DomainError, match="不能对全员公开") as caught:
        portal.draft(author=author, classification=SECRET)
    assert caught.value.details[0]["field"] == "audience"
    with pytest.raises(DomainError, match="须指定可见"):
        portal.draft(author=author, classification=SECRET, audience_everyone=False)
    with pytest.raises(DomainError, match="默认角色"):
        portal.draft(
            author=author,
            classification=SECRET,
            audience_everyone=False,
            audience_roles=[Role.objects.get(is_default=True)],
        )
    # And the database refuses it too, whatever writes the row.
    article = portal.draft(author=author)
    with pytest.raises(IntegrityError), transaction.atomic():
        Article.objects.filter(pk=article.pk).update(classification=SECRET)


def test_r34_an_author_cannot_classify_above_their_own_clearance(portal: Portal) -> None:
    with pytest.raises(DomainError, match="不能高于您本人的密级"):
        portal.draft(classification=SECRET, audience_everyone=False, audience_units=[portal.units["office"]])


def test_r33_an_uncleared_reviewer_neither_sees_nor_is_told_of_a_classified_submission(
    portal: Portal,
) -> None:
    User.objects.filter(pk=portal.publisher.pk).update(clearance=SECRET)
    author = fresh(portal.publisher)
    article = portal.draft(
        author=author, classification=SECRET, audience_everyone=False, audience_units=[portal.units["office"]]
    )
    services.article_submit(actor=author, article=article)
    # Neither the department's reviewer nor the portal administrator holds 普通商密.
    assert not Notification.objects.filter(dispatch__kind="portal.submitted").exists()
    assert not selectors.review_queue(fresh(portal.reviewer)).exists()
    assert not workbench.to_review(fresh(portal.reviewer), 5).count
    with pytest.raises(NotFoundError):
        selectors.article_get(fresh(portal.reviewer), article.pk)
    with pytest.raises(PermissionDeniedError):
        services.article_approve(actor=fresh(portal.reviewer), article=article)
    User.objects.filter(pk=portal.reviewer.pk).update(clearance=SECRET)
    assert list(selectors.review_queue(fresh(portal.reviewer))) == [article]


def test_drafts_and_submissions_stay_out_of_every_reader_list(portal: Portal) -> None:
    draft = portal.draft(title="特别报道草稿")
    submitted = services.article_submit(actor=portal.publisher, article=portal.draft(title="特别报道待审"))
    for name in READERS:
        for article in (draft, submitted):
            assert not any(seen_by(getattr(portal, name), article).values())
    # The author sees both; the reviewer the submission only; a portal admin the submission too.
    assert selectors.article_get(portal.publisher, draft.pk) == draft
    assert selectors.article_get(portal.reviewer, submitted.pk) == submitted
    with pytest.raises(NotFoundError):
        selectors.article_get(portal.reviewer, draft.pk)
    with pytest.raises(NotFoundError):
        selectors.article_get(portal.admin, draft.pk)
    assert selectors.article_get(portal.admin, submitted.pk) == submitted


def test_the_three_administrators_see_no_portal_content(
    portal: Portal, sysadmin_user: User, secadmin_user: User, auditadmin_user: User
) -> None:
    article = portal.publish(title="特别报道")
    for admin in (sysadmin_user, secadmin_user, auditadmin_user):
        assert not selectors.visible_articles(admin).exists()
        assert workbench.latest(admin, 5) == []
        with pytest.raises(NotFoundError):
            selectors.article_get(admin, article.pk)
        client = client_for(admin)
        assert client.get("/portal/").status_code == 403
        assert client.get(f"/portal/a/{article.pk}/").status_code == 404
        assert client.get("/api/v1/portal/articles").status_code == 403


def test_a_three_administrator_cannot_be_made_a_publisher(portal: Portal, sysadmin_user: User) -> None:
    data = services.ChannelInput(name="新闻动态", kind="articles", publishers=[sysadmin_user])
    with pytest.raises(DomainError, match="不能作为发布人"):
        services.channel_update(actor=portal.admin, channel=portal.news, data=data)


def test_pages_and_api_answer_404_outside_the_audience(portal: Portal) -> None:
    article = portal.publish(
        title="特别报道", audience_everyone=False, audience_units=[portal.units["finance"]]
    )
    inside, outside = client_for(portal.finance), client_for(portal.east)
    assert inside.get(f"/portal/a/{article.pk}/").status_code == 200
    assert outside.get(f"/portal/a/{article.pk}/").status_code == 404
    assert outside.get(f"/api/v1/portal/articles/{article.pk}").status_code == 404
    for client, expected in ((inside, 1), (outside, 0)):
        page = client.get("/portal/search/?q=特别").content.decode()
        assert ("特别报道" in page) is bool(expected)
        body = json.loads(client.get("/api/v1/portal/articles?q=特别").content)
        assert body["count"] == expected
        home = client.get("/portal/").content.decode()
        assert ("特别报道" in home) is bool(expected)


def _everyone_sees(portal: Portal) -> Callable[[Article], list[str]]:
    def names(article: Article) -> list[str]:
        return [n for n in READERS if selectors.is_readable(fresh(getattr(portal, n)), article)]

    return names


def test_a_reader_who_moves_department_sees_by_their_new_post(portal: Portal) -> None:
    article = portal.publish(
        title="特别报道", audience_everyone=False, audience_units=[portal.units["finance"]]
    )
    names = _everyone_sees(portal)
    assert names(article) == ["finance"]
    portal.east.memberships.update(unit=portal.units["finance"])
    assert names(article) == ["east", "finance"]
