"""An article's way through review: every state change, who may make it, and what is kept
(versions, audit records, notifications)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.fixtures import grant_role
from xietong.audit.models import Event
from xietong.core import clock
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.identity.models import User
from xietong.moderation.models import ReviewItem
from xietong.moderation.services import ContentBlockedError, review_approve, review_reject
from xietong.notify.models import Notification
from xietong.org import builtin
from xietong.org.models import DataScope
from xietong.portal import selectors, services
from xietong.portal.models import Article, ArticleVersion, Channel
from xietong.portal.tests.conftest import BLOCKED, HELD, Portal, changed, fresh

pytestmark = pytest.mark.django_db
Status = Article.Status


def kinds_of(user: User) -> list[str]:
    return list(
        Notification.objects.filter(user=user).order_by("pk").values_list("dispatch__kind", flat=True)
    )


# ---------------------------------------------------------------------------


def test_r90_the_thirteen_channels_are_present() -> None:
    names = set(Channel.objects.values_list("name", flat=True))
    assert {
        "通知公告", "新闻动态", "企业文化", "创一流", "党建工作", "规章制度", "学习园地",
        "政策法规", "纪检监察", "公司月报", "图片新闻", "安全监察", "常用下载",
    } <= names  # fmt: skip
    kinds = dict(Channel.objects.values_list("code", "kind"))
    assert kinds["tzgg"] == Channel.Kind.NOTICES
    assert kinds["gzzd"] == Channel.Kind.REGULATIONS
    assert kinds["tpxw"] == Channel.Kind.GALLERY
    assert kinds["cyxz"] == Channel.Kind.DOWNLOADS


def test_r90_a_non_publisher_cannot_post(portal: Portal) -> None:
    for outsider in (portal.east, portal.reviewer, portal.admin):
        with pytest.raises(PermissionDeniedError, match="不是“新闻动态”栏目的发布人"):
            portal.draft(author=outsider)
    assert not Article.objects.exists()


def test_r90_a_publisher_posts_only_in_their_own_channels(portal: Portal) -> None:
    with pytest.raises(PermissionDeniedError):
        portal.draft(channel=portal.channels["djgz"])
    portal.channels["tzgg"].publishers.add(portal.publisher)
    with pytest.raises(DomainError, match="不接受投稿"):
        portal.draft(channel=portal.channels["tzgg"])


def test_a_publisher_removed_from_the_channel_can_no_longer_submit(portal: Portal) -> None:
    article = portal.draft()
    portal.news.publishers.remove(portal.publisher)
    with pytest.raises(PermissionDeniedError):
        services.article_submit(actor=portal.publisher, article=article)


# --------------------------------------------------------------------------- drafts


def test_a_draft_is_sanitised_and_keeps_its_plain_text(portal: Portal) -> None:
    article = portal.draft(
        body='<p onclick="x()">会议<script>alert(1)</script>要求</p><img src="https://evil.example/x.png">',
        title="  集团   召开会议 ",
    )
    assert article.status == Status.DRAFT
    assert article.title == "集团 召开会议"
    assert "script" not in article.body
    assert "onclick" not in article.body
    assert "evil" not in article.body
    assert article.body_text == "会议要求"
    assert article.author_unit == portal.units["office"]
    assert article.comments_enabled is portal.news.comments_enabled
    assert Event.objects.filter(action="portal.article.created", target_id=str(article.pk)).exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": "   "}, "title", "请填写标题"),
        ({"title": "长" * 201}, "title", "不能超过"),
        ({"summary": "长" * 301}, "summary", "不能超过"),
        ({"classification": 9}, "classification", "密级无效"),
        ({"audience_everyone": False}, "audience", "请选择可见范围"),
        (
            {
                "publish_at": clock.now() + dt.timedelta(days=2),
                "expire_at": clock.now() + dt.timedelta(days=1),
            },
            "expire_at",
            "晚于发布时间",
        ),
        ({"pinned": True, "pinned_until": clock.now() - dt.timedelta(hours=1)}, "pinned_until", "晚于现在"),
    ],
)
def test_bad_input_is_refused_with_the_field_named(
    portal: Portal, fields: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(DomainError, match=message) as caught:
        portal.draft(**fields)
    assert caught.value.details[0]["field"] == field
    assert not Article.objects.exists()


def test_only_the_author_changes_a_draft(portal: Portal) -> None:
    article = portal.draft()
    portal.news.publishers.add(portal.east)
    with pytest.raises(PermissionDeniedError):
        services.article_update(actor=portal.east, article=article, data=services.ArticleInput(title="改"))
    changed = services.article_update(
        actor=portal.publisher, article=article, data=services.ArticleInput(title="新标题", body="<p>新</p>")
    )
    assert (changed.title, changed.body_text, changed.revision) == ("新标题", "新", 0)
    assert not ArticleVersion.objects.exists()


def test_the_author_deletes_a_draft_never_published(portal: Portal) -> None:
    article = portal.draft()
    with pytest.raises(PermissionDeniedError):
        services.article_delete(actor=portal.reviewer, article=article)
    services.article_delete(actor=portal.publisher, article=article)
    assert not Article.objects.exists()
    assert Event.objects.filter(action="portal.article.deleted").exists()


def test_a_published_article_cannot_be_deleted(portal: Portal) -> None:
    article = portal.publish()
    with pytest.raises(DomainError, match="只能删除未发布过的草稿"):
        services.article_delete(actor=portal.publisher, article=article)


# --------------------------------------------------------------------------- review


def test_submit_sends_to_the_owner_departments_reviewers(portal: Portal) -> None:
    article = services.article_submit(actor=portal.publisher, article=portal.draft())
    assert article.status == Status.SUBMITTED
    assert article.submitted_at is not None
    # The department's reviewer and the portal administrator (group-wide) are told; not the author.
    assert kinds_of(portal.reviewer) == ["portal.submitted"]
    assert kinds_of(portal.admin) == ["portal.submitted"]
    assert kinds_of(portal.publisher) == []
    assert Event.objects.filter(action="portal.article.submitted", target_id=str(article.pk)).exists()
    with pytest.raises(DomainError, match="无需重复提交"):
        services.article_submit(actor=portal.publisher, article=article)


def test_only_the_author_submits(portal: Portal) -> None:
    with pytest.raises(PermissionDeniedError):
        services.article_submit(actor=portal.reviewer, article=portal.draft())


def test_approve_publishes_keeps_version_one_and_tells_the_author(portal: Portal) -> None:
    article = services.article_submit(actor=portal.publisher, article=portal.draft())
    published = services.article_approve(actor=portal.reviewer, article=article, note="同意")
    assert published.status == Status.PUBLISHED
    assert published.published_at is not None
    assert published.publish_at is not None
    assert published.reviewed_by == portal.reviewer
    assert (published.revision, published.edited_after_publish) == (1, False)
    version = ArticleVersion.objects.get(article=article)
    assert (version.number, version.title, version.editor, version.approved_by) == (
        1,
        published.title,
        portal.publisher,
        portal.reviewer,
    )
    assert kinds_of(portal.publisher) == ["portal.published"]
    event = Event.objects.get(action="portal.article.published", target_id=str(article.pk))
    assert event.details["self_approved"] is False


def test_a_reviewer_outside_the_owner_department_cannot_approve(portal: Portal) -> None:
    outsider = fresh(portal.finance)
    grant_role(outsider, builtin.PORTAL_REVIEWER, scope=DataScope.DEPARTMENT)
    article = services.article_submit(actor=portal.publisher, article=portal.draft())
    for actor in (fresh(outsider), portal.east, portal.publisher):
        with pytest.raises(PermissionDeniedError):
            services.article_approve(actor=actor, article=article)
    assert Article.objects.get(pk=article.pk).status == Status.SUBMITTED
    assert Event.objects.filter(action="portal.article.published", result="denied").count() == 3


def test_a_publisher_who_reviews_the_channel_publishes_directly(portal: Portal) -> None:
    portal.news.publishers.add(portal.reviewer)
    article = portal.draft(author=portal.reviewer)
    published = services.article_submit(actor=portal.reviewer, article=article)
    assert published.status == Status.PUBLISHED
    assert published.reviewed_by == portal.reviewer
    event = Event.objects.get(action="portal.article.published", target_id=str(article.pk))
    assert event.details["self_approved"] is True
    assert not Notification.objects.filter(dispatch__kind="portal.submitted").exists()


def test_return_needs_a_reason_and_tells_the_author(portal: Portal) -> None:
    article = services.article_submit(actor=portal.publisher, article=portal.draft())
    with pytest.raises(DomainError, match="请填写退回理由"):
        services.article_return(actor=portal.reviewer, article=article, note="  ")
    returned = services.article_return(actor=portal.reviewer, article=article, note="数据请与财务部核对")
    assert (returned.status, returned.review_note) == (Status.RETURNED, "数据请与财务部核对")
    assert kinds_of(portal.publisher) == ["portal.returned"]
    assert Event.objects.filter(action="portal.article.returned").exists()
    # Changed and sent again: reviewed once more, and the old note is cleared.
    services.article_update(
        actor=portal.publisher, article=returned, data=changed(returned, title="改过的标题")
    )
    again = services.article_submit(actor=portal.publisher, article=Article.objects.get(pk=article.pk))
    assert (again.status, again.review_note) == (Status.SUBMITTED, "")


def test_only_submitted_articles_are_reviewed(portal: Portal) -> None:
    article = portal.draft()
    with pytest.raises(DomainError, match="只能审核待审核的文章"):
        services.article_approve(actor=portal.reviewer, article=article)
    with pytest.raises(DomainError, match="只能退回待审核的文章"):
        services.article_return(actor=portal.reviewer, article=article, note="x")


def test_a_submitted_article_must_be_withdrawn_before_it_is_changed(portal: Portal) -> None:
    article = services.article_submit(actor=portal.publisher, article=portal.draft())
    with pytest.raises(DomainError, match="请先撤回再修改"):
        services.article_update(
            actor=portal.publisher, article=article, data=services.ArticleInput(title="x")
        )
    back = services.article_withdraw(actor=portal.publisher, article=article)
    assert back.status == Status.DRAFT
    assert Event.objects.filter(action="portal.article.withdrawn").exists()


def test_the_author_cannot_take_down_a_published_article_a_manager_can(portal: Portal) -> None:
    article = portal.publish()
    with pytest.raises(PermissionDeniedError):
        services.article_withdraw(actor=portal.publisher, article=article)
    with pytest.raises(PermissionDeniedError):
        services.article_withdraw(actor=portal.east, article=article)
    down = services.article_withdraw(actor=portal.admin, article=article, reason="内容已过时")
    assert down.status == Status.WITHDRAWN
    assert kinds_of(portal.publisher)[-1] == "portal.returned"
    assert not selectors.visible_articles(portal.east).exists()


def test_the_reviewer_takes_down_a_published_article_of_their_channel(portal: Portal) -> None:
    article = portal.publish()
    assert services.article_withdraw(actor=portal.reviewer, article=article).status == Status.WITHDRAWN


def test_a_withdrawn_article_is_changed_and_published_again_as_edited(portal: Portal) -> None:
    article = portal.publish()
    services.article_withdraw(actor=portal.admin, article=article)
    down = Article.objects.get(pk=article.pk)
    services.article_update(actor=portal.publisher, article=down, data=changed(down, title="更正"))
    again = portal.reviewer_for(article)
    services.article_submit(actor=portal.publisher, article=Article.objects.get(pk=article.pk))
    republished = services.article_approve(actor=again, article=Article.objects.get(pk=article.pk))
    assert (republished.revision, republished.edited_after_publish) == (2, True)
    assert list(ArticleVersion.objects.filter(article=article).values_list("title", flat=True)) == [
        "更正",
        "集团召开四季度工作会议",
    ]


# ---------------------------------------------------------------------------


def test_r32_an_edit_after_publication_is_marked_and_earlier_versions_stay(portal: Portal) -> None:
    article = portal.publish(body="<p>发电量同比增长6%。</p>")
    edited = services.article_update(
        actor=portal.publisher,
        article=article,
        data=services.ArticleInput(title=article.title, body="<p>发电量同比增长6.2%。</p>", note="更正数据"),
    )
    assert edited.status == Status.PUBLISHED
    assert (edited.edited_after_publish, edited.revision) == (True, 2)
    assert edited.publish_at == article.publish_at  # its publication time does not move
    first, second = ArticleVersion.objects.filter(article=article).order_by("number")
    assert "6%" in first.body
    assert "6.2%" in second.body
    assert (second.editor, second.note, second.approved_by) == (portal.publisher, "更正数据", None)
    event = Event.objects.get(action="portal.article.edited")
    assert event.details == {"version": 2, "note": "更正数据"}
    # The channel's reviewers are told, so that someone looks at what changed.
    assert kinds_of(portal.reviewer)[-1] == "portal.edited"


def test_r32_only_the_author_reviewers_and_managers_edit_a_published_article(portal: Portal) -> None:
    article = portal.publish()
    with pytest.raises(PermissionDeniedError):
        services.article_update(actor=portal.east, article=article, data=services.ArticleInput(title="改"))
    by_reviewer = services.article_update(
        actor=portal.reviewer, article=article, data=changed(article, title="审核人修改")
    )
    assert by_reviewer.revision == 2


# ---------------------------------------------------------------------------


def test_r27_an_article_with_a_blocked_word_is_refused(portal: Portal, words: object) -> None:
    with pytest.raises(ContentBlockedError, match=BLOCKED):
        portal.draft(body=f"<p>内容含{BLOCKED}。</p>")
    assert not Article.objects.exists()
    article = portal.publish()
    with pytest.raises(ContentBlockedError):
        services.article_update(
            actor=portal.publisher, article=article, data=services.ArticleInput(title=f"标题{BLOCKED}")
        )
    assert Article.objects.get(pk=article.pk).revision == 1


def test_r27_held_words_go_to_content_review_then_to_the_channel(portal: Portal, words: object) -> None:
    article = portal.draft(body=f"<p>本周活动：{HELD}。</p>")
    held = services.article_submit(actor=portal.publisher, article=article)
    assert held.status == Status.HELD
    item = ReviewItem.objects.get(object_id=str(article.pk), model_name="article")
    assert not Notification.objects.filter(dispatch__kind="portal.submitted").exists()
    review_approve(actor=fresh(item_reviewer(words)), item=item)
    assert Article.objects.get(pk=article.pk).status == Status.SUBMITTED
    assert kinds_of(portal.reviewer) == ["portal.submitted"]


def test_r27_held_article_rejected_is_returned_to_its_author(portal: Portal, words: object) -> None:
    article = services.article_submit(actor=portal.publisher, article=portal.draft(title=f"{HELD}活动"))
    item = ReviewItem.objects.get(object_id=str(article.pk), model_name="article")
    review_reject(actor=fresh(item_reviewer(words)), item=item, note="广告内容")
    returned = Article.objects.get(pk=article.pk)
    assert (returned.status, returned.review_note) == (Status.RETURNED, "广告内容")


def test_withdrawing_a_held_article_takes_it_out_of_the_moderation_queue(
    portal: Portal, words: object
) -> None:
    article = services.article_submit(actor=portal.publisher, article=portal.draft(title=f"{HELD}活动"))
    services.article_withdraw(actor=portal.publisher, article=article)
    assert ReviewItem.objects.get(object_id=str(article.pk)).status == ReviewItem.Status.WITHDRAWN


def test_r27_an_edit_with_held_words_takes_the_article_off_until_reviewed(
    portal: Portal, words: object
) -> None:
    article = portal.publish()
    edited = services.article_update(
        actor=portal.publisher,
        article=article,
        data=services.ArticleInput(title=article.title, body=f"<p>{HELD}</p>"),
    )
    assert edited.status == Status.HELD
    assert not selectors.visible_articles(portal.east).exists()


def item_reviewer(words: object) -> User:
    """The security administrator who made the lexicon reviews held content."""
    return User.objects.get(username="secadmin")


# --------------------------------------------------------------------------- channel rules


def test_picture_news_needs_a_cover_and_regulations_an_effective_date(portal: Portal) -> None:
    for code in ("tpxw", "gzzd", "cyxz"):
        channel = portal.channels[code]
        channel.owner_unit = portal.units["office"]
        channel.save()
        channel.publishers.add(portal.publisher)
    gallery = portal.draft(channel=portal.channels["tpxw"])
    with pytest.raises(DomainError, match="封面") as caught:
        services.article_submit(actor=portal.publisher, article=gallery)
    assert caught.value.details[0]["field"] == "cover"
    rule = portal.draft(channel=portal.channels["gzzd"])
    with pytest.raises(DomainError, match="生效日期"):
        services.article_submit(actor=portal.publisher, article=rule)
    download = portal.draft(channel=portal.channels["cyxz"])
    with pytest.raises(DomainError, match="附件"):
        services.article_submit(actor=portal.publisher, article=download)


def test_a_regulation_keeps_versions_with_their_effective_dates(portal: Portal) -> None:
    rules = portal.channels["gzzd"]
    rules.owner_unit = portal.units["office"]
    rules.save()
    rules.publishers.add(portal.publisher)
    today = clock.localdate()
    article = portal.publish(
        channel=rules, title="差旅费管理办法", body="<p>住宿费500元。</p>", effective_from=today
    )
    services.article_update(
        actor=portal.publisher,
        article=article,
        data=services.ArticleInput(
            title="差旅费管理办法", body="<p>住宿费600元。</p>", effective_from=today + dt.timedelta(days=30)
        ),
    )
    state = selectors.regulation_state(Article.objects.get(pk=article.pk))
    assert state.current is not None
    assert "500" in state.current.body
    assert state.upcoming is not None
    assert "600" in state.upcoming.body
    assert [label for _version, label in state.rows] == ["upcoming", "current"]
    later = selectors.regulation_state(Article.objects.get(pk=article.pk), today + dt.timedelta(days=31))
    assert later.current == state.upcoming
    assert later.upcoming is None
    assert [label for _version, label in later.rows] == ["current", "superseded"]


# --------------------------------------------------------------------------- schedule


def test_a_scheduled_article_appears_at_its_time_and_leaves_at_expiry(portal: Portal) -> None:
    now = clock.now()
    article = portal.publish(publish_at=now + dt.timedelta(hours=2), expire_at=now + dt.timedelta(days=1))
    assert article.status == Status.PUBLISHED
    assert not selectors.visible_articles(portal.east).exists()
    with clock.frozen_at(now + dt.timedelta(hours=3)):
        assert list(selectors.visible_articles(portal.east)) == [article]
    with clock.frozen_at(now + dt.timedelta(days=2)):
        assert not selectors.visible_articles(portal.east).exists()


def test_a_pin_expires(portal: Portal) -> None:
    now = clock.now()
    old = portal.publish(title="置顶通知", pinned=True, pinned_until=now + dt.timedelta(hours=1))
    newer = portal.publish(title="新闻")
    assert [a.pk for a in selectors.ordered(selectors.visible_articles(portal.east))] == [old.pk, newer.pk]
    with clock.frozen_at(now + dt.timedelta(hours=2)):
        assert [a.pk for a in selectors.ordered(selectors.visible_articles(portal.east))] == [
            newer.pk,
            old.pk,
        ]


# --------------------------------------------------------------------------- reading and comments


def test_readers_are_counted_once_and_views_every_time(portal: Portal) -> None:
    article = portal.publish()
    assert services.record_read(user=portal.east, article=article) is True
    assert services.record_read(user=portal.east, article=article) is False
    services.record_read(user=portal.finance, article=article)
    row = Article.objects.get(pk=article.pk)
    assert (row.view_count, row.reader_count) == (3, 2)


def test_comments_screened_held_hidden_and_closed(portal: Portal, words: object) -> None:
    article = portal.publish()
    comment = services.comment_create(actor=portal.east, article=article, body="  会议精神很及时。 ")
    assert (comment.body, comment.status) == ("会议精神很及时。", "visible")
    assert kinds_of(portal.publisher)[-1] == "portal.comment"
    with pytest.raises(ContentBlockedError):
        services.comment_create(actor=portal.east, article=article, body=f"{BLOCKED}")
    held = services.comment_create(actor=portal.finance, article=article, body=f"{HELD}")
    assert held.status == "held"
    # Held comments are seen by their author only.
    assert [c.pk for c in selectors.comments(portal.east, article)] == [comment.pk]
    assert [c.pk for c in selectors.comments(portal.finance, article)] == [comment.pk, held.pk]
    with pytest.raises(DomainError, match="请填写评论"):
        services.comment_create(actor=portal.east, article=article, body="  ")
    with pytest.raises(DomainError, match="不能超过"):
        services.comment_create(actor=portal.east, article=article, body="长" * 1001)
    Article.objects.filter(pk=article.pk).update(comments_enabled=False)
    with pytest.raises(DomainError, match="关闭评论"):
        services.comment_create(
            actor=portal.east, article=Article.objects.get(pk=article.pk), body="还能评论吗"
        )


def test_nobody_comments_on_what_they_cannot_read(portal: Portal) -> None:
    draft = portal.draft()
    with pytest.raises(NotFoundError):
        services.comment_create(actor=portal.east, article=draft, body="看不到")
    limited = portal.publish(audience_everyone=False, audience_units=[portal.units["finance"]])
    with pytest.raises(NotFoundError):
        services.comment_create(actor=portal.east, article=limited, body="看不到")


def test_a_reported_comment_is_hidden_by_its_handler(portal: Portal) -> None:
    from xietong.moderation import registry

    article = portal.publish()
    comment = services.comment_create(actor=portal.east, article=article, body="与工作无关的闲聊")
    handler = registry.report_handler("portal.comment")
    assert handler is not None
    assert handler.visible_to(comment, portal.finance) is True
    assert handler.visible_to(comment, portal.publisher) is True
    described = handler.describe(comment)
    assert (described.title, described.excerpt, described.author) == (
        article.title,
        comment.body,
        portal.east,
    )
    assert described.link.endswith(f"#comment-{comment.pk}")
    handler.on_hide(comment, portal.admin, "与工作无关")
    comment.refresh_from_db()
    assert (comment.status, comment.hidden_reason) == ("hidden", "与工作无关")
    assert selectors.comments(portal.east, article) == []
    assert handler.visible_to(comment, portal.finance) is False
