"""The portal pages: reading, the editor with its uploads, the review buttons, comments,
files, channel management — and the query budget of the home page and lists."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from tests.fixtures import client_for
from xietong.audit.models import Event
from xietong.core import classification
from xietong.identity.models import User
from xietong.portal import services
from xietong.portal.models import Article, ArticleImage, Channel, Comment
from xietong.portal.tests.conftest import BLOCKED, Portal, fresh

pytestmark = pytest.mark.django_db
Status = Article.Status


def png(name: str = "封面.png", size: tuple[int, int] = (32, 18)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (180, 35, 42)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def text_file(name: str = "会议纪要模板.txt", body: str = "会议名称：\n会议时间：\n") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body.encode(), content_type="text/plain")


def form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "集团召开四季度工作会议",
        "summary": "",
        "body": "<p>会议部署了年末重点工作。</p>",
        "audience": "everyone",
        "classification": "0",
        "comments_enabled": "on",
        "action": "save",
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------- reading


def test_home_shows_channel_blocks_pinned_first_and_the_carousel(portal: Portal) -> None:
    portal.publish(title="普通新闻")
    portal.publish(title="置顶要闻", pinned=True)
    page = client_for(portal.east).get("/portal/").content.decode()
    assert page.index("置顶要闻") < page.index("普通新闻")
    assert "置顶" in page
    for name in ("新闻动态", "党建工作", "规章制度", "常用下载", "通知公告"):
        assert name in page
    assert 'id="portal-gallery"' in page


def test_home_needs_a_fixed_number_of_queries(portal: Portal, django_assert_max_num_queries: Any) -> None:
    client = client_for(portal.east)
    client.get("/portal/")  # sessions and grants warmed up

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get("/portal/").status_code == 200
        return len(queries)

    few = count()
    for index in range(12):
        portal.publish(title=f"新闻{index}", pinned=index % 3 == 0)
    assert count() == few


def test_channel_list_and_search_need_a_fixed_number_of_queries(portal: Portal) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(portal.east)
    portal.publish(title="新闻零")
    urls = ("/portal/c/xwdt/", "/portal/search/?q=新闻", "/portal/c/xwdt/?q=新闻")
    for url in urls:  # warm the per-process caches (content types, navigation) first
        client.get(url)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    few = [count(url) for url in urls]
    for index in range(10):
        portal.publish(title=f"新闻{index}")
    assert [count(url) for url in urls] == few


def test_channel_page_lists_and_searches_within_the_channel(portal: Portal) -> None:
    portal.publish(title="集团召开安全生产会议")
    portal.publish(title="职工运动会圆满落幕")
    client = client_for(portal.east)
    page = client.get("/portal/c/xwdt/").content.decode()
    assert "集团召开安全生产会议" in page
    assert "职工运动会圆满落幕" in page
    found = client.get("/portal/c/xwdt/?q=安全 会议").content.decode()
    assert "集团召开安全生产会议" in found
    assert "职工运动会圆满落幕" not in found
    assert client.get("/portal/c/nope/").status_code == 404


def test_the_notices_channel_leads_to_the_notices_module(portal: Portal) -> None:
    response = client_for(portal.east).get("/portal/c/tzgg/")
    assert response.status_code == 302
    assert response["Location"] == "/notices/"


def test_article_page_counts_the_reader_and_shows_the_meta_line(portal: Portal) -> None:
    article = portal.publish(title="集团召开会议")
    client = client_for(portal.east)
    page = client.get(f"/portal/a/{article.pk}/").content.decode()
    assert "集团召开会议" in page
    assert "综合办公室" in page
    assert "1 人阅读" in page
    assert "已修改" not in page
    client.get(f"/portal/a/{article.pk}/")
    row = Article.objects.get(pk=article.pk)
    assert (row.view_count, row.reader_count) == (2, 1)


def test_r32_the_page_marks_an_edit_and_links_to_the_versions(portal: Portal) -> None:
    article = portal.publish(body="<p>初稿内容</p>")
    services.article_update(
        actor=portal.publisher,
        article=article,
        data=services.ArticleInput(title=article.title, body="<p>修改后的内容</p>", note="更正"),
    )
    client = client_for(portal.east)
    page = client.get(f"/portal/a/{article.pk}/").content.decode()
    assert 'id="article-edited"' in page
    assert f"/portal/a/{article.pk}/versions/" in page
    versions = client.get(f"/portal/a/{article.pk}/versions/").content.decode()
    assert "第 2 版" in versions
    assert "第 1 版" in versions
    assert "更正" in versions
    first = client.get(f"/portal/a/{article.pk}/versions/1/").content.decode()
    assert "初稿内容" in first
    second = client.get(f"/portal/a/{article.pk}/versions/2/").content.decode()
    assert "与第 1 版相比" in second
    assert "is-removed" in second
    assert "is-added" in second
    assert client.get(f"/portal/a/{article.pk}/versions/9/").status_code == 404


def test_the_classification_badge_shows_when_not_public(portal: Portal) -> None:
    article = portal.publish(classification=classification.INTERNAL)
    page = client_for(portal.east).get(f"/portal/a/{article.pk}/").content.decode()
    assert 'id="article-classification"' in page
    assert "内部" in page
    public = portal.publish(title="公开新闻")
    assert (
        'id="article-classification"'
        not in client_for(portal.east).get(f"/portal/a/{public.pk}/").content.decode()
    )


# --------------------------------------------------------------------------- writing


def test_r90_a_non_publisher_is_told_and_cannot_post_through_the_page(portal: Portal) -> None:
    client = client_for(portal.east)
    response = client.get("/portal/new/")
    assert response.status_code == 403
    assert "您还不是任何栏目的发布人" in response.content.decode()
    response = client.post("/portal/new/", form(channel=portal.news.pk))
    assert response.status_code == 403
    assert not Article.objects.exists()


def test_the_editor_saves_a_draft_with_cover_and_attachments(portal: Portal) -> None:
    client = client_for(portal.publisher)
    assert client.get("/portal/new/").status_code == 200
    response = client.post(
        "/portal/new/",
        form(channel=portal.news.pk, cover=png(), attachments=[text_file(), text_file("日程.txt")]),
    )
    article = Article.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/a/{article.pk}/edit/"
    assert article.status == Status.DRAFT
    assert article.cover is not None
    assert article.cover.context == "portal.cover"
    names = list(article.attachment_links.values_list("file__name", flat=True))
    assert names == ["会议纪要模板.txt", "日程.txt"]
    # Unticking an attachment removes it; the other stays.
    keep = article.attachment_links.get(file__name="日程.txt").file_id
    client.post(f"/portal/a/{article.pk}/edit/", form(channel=portal.news.pk, keep_attachments=[keep]))
    assert list(article.attachment_links.values_list("file__name", flat=True)) == ["日程.txt"]
    assert Article.objects.get(pk=article.pk).cover is not None


def test_the_editor_submits_and_the_reviewer_approves_from_the_page(portal: Portal) -> None:
    client = client_for(portal.publisher)
    response = client.post("/portal/new/", form(channel=portal.news.pk, action="submit"))
    article = Article.objects.get()
    assert article.status == Status.SUBMITTED
    assert response["Location"] == f"/portal/a/{article.pk}/"
    reviewer = client_for(portal.reviewer)
    queue = reviewer.get("/portal/review/").content.decode()
    assert article.title in queue
    page = reviewer.get(f"/portal/a/{article.pk}/").content.decode()
    assert 'id="review-panel"' in page
    reviewer.post(f"/portal/a/{article.pk}/approve/", {"note": "同意发布"})
    assert Article.objects.get(pk=article.pk).status == Status.PUBLISHED
    # A reader sees no review panel, and cannot approve by posting.
    reader = client_for(portal.east)
    assert 'id="review-panel"' not in reader.get(f"/portal/a/{article.pk}/").content.decode()


def test_the_return_button_needs_a_reason(portal: Portal) -> None:
    article = services.article_submit(actor=portal.publisher, article=portal.draft())
    reviewer = client_for(portal.reviewer)
    response = reviewer.post(f"/portal/a/{article.pk}/return/", {"note": ""}, follow=True)
    assert "请填写退回理由" in response.content.decode()
    reviewer.post(f"/portal/a/{article.pk}/return/", {"note": "请补充数据来源"})
    assert Article.objects.get(pk=article.pk).status == Status.RETURNED
    mine = client_for(portal.publisher).get("/portal/mine/?status=returned").content.decode()
    assert "请补充数据来源" in mine


def test_refusals_show_on_the_form_and_store_nothing(portal: Portal, words: object) -> None:
    client = client_for(portal.publisher)
    response = client.post(
        "/portal/new/", form(channel=portal.news.pk, body=f"<p>{BLOCKED}</p>", cover=png())
    )
    assert response.status_code == 200
    assert "内容包含敏感词" in response.content.decode()
    assert not Article.objects.exists()
    from xietong.files.models import StoredFile

    assert not StoredFile.objects.exists()  # the cover stored first is discarded
    response = client.post("/portal/new/", form(channel=portal.news.pk, audience="limited"))
    assert "请选择可见范围" in response.content.decode()


def test_a_bad_cover_is_refused_by_the_upload_checks(portal: Portal) -> None:
    client = client_for(portal.publisher)
    response = client.post("/portal/new/", form(channel=portal.news.pk, cover=text_file("cover.png")))
    assert response.status_code == 200
    assert not Article.objects.exists()


def test_a_stranger_cannot_open_the_editor_of_someone_elses_draft(portal: Portal) -> None:
    article = portal.draft()
    portal.news.publishers.add(portal.east)
    assert client_for(portal.east).get(f"/portal/a/{article.pk}/edit/").status_code == 404
    published = portal.publish()
    assert client_for(portal.finance).get(f"/portal/a/{published.pk}/edit/").status_code == 403


def test_withdraw_and_delete_buttons(portal: Portal) -> None:
    article = services.article_submit(actor=portal.publisher, article=portal.draft())
    client = client_for(portal.publisher)
    client.post(f"/portal/a/{article.pk}/withdraw/")
    assert Article.objects.get(pk=article.pk).status == Status.DRAFT
    response = client.post(f"/portal/a/{article.pk}/delete/")
    assert response["Location"] == "/portal/mine/"
    assert not Article.objects.exists()


def test_the_editor_image_upload_answers_with_the_address(portal: Portal) -> None:
    client = client_for(portal.publisher)
    response = client.post("/portal/images/", {"image": png("现场.png")})
    assert response.status_code == 201
    url = json.loads(response.content)["url"]
    assert re.fullmatch(r"/portal/images/[0-9a-f-]{36}/", url)
    # The uploader sees it while writing; a reader only once an article they may read shows it.
    assert client.get(url).status_code == 200
    reader = client_for(portal.east)
    assert reader.get(url).status_code == 404
    article = portal.publish(body=f'<p>图为现场</p><p><img src="{url}" alt="现场"></p>')
    assert ArticleImage.objects.filter(article=article).count() == 1
    assert reader.get(url).status_code == 200
    assert client_for(portal.finance).get(url).status_code == 200
    limited = portal.publish(
        title="限定范围",
        body=f'<p><img src="{url}"></p>',
        audience_everyone=False,
        audience_units=[portal.units["office"]],
    )
    assert limited.body.count(url) == 1
    # Refused for a non-publisher, and for a file that is not an image.
    assert client_for(portal.east).post("/portal/images/", {"image": png()}).status_code == 403
    bad = client.post("/portal/images/", {"image": text_file("x.png")})
    assert bad.status_code == 400
    assert "error" in json.loads(bad.content)


def test_attachments_download_for_readers_only_and_classified_ones_are_audited(portal: Portal) -> None:
    from xietong.files.services import store_upload

    stored = store_upload(actor=portal.publisher, upload=text_file(), context="portal.attachment")
    article = portal.publish(attachments=[stored])
    url = f"/portal/a/{article.pk}/files/{stored.key}/"
    response = client_for(portal.east).get(url)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert not Event.objects.filter(action="portal.attachment.downloaded").exists()
    # A file key of another article, or an unknown one, is not found.
    other = portal.publish(title="另一篇")
    assert client_for(portal.east).get(f"/portal/a/{other.pk}/files/{stored.key}/").status_code == 404
    # Classified: audited for the cleared reader, 404 for anyone else.
    User.objects.filter(pk__in=[portal.publisher.pk, portal.reviewer.pk, portal.finance.pk]).update(
        clearance=classification.COMMERCIAL_SECRET
    )
    portal.publisher, portal.reviewer = fresh(portal.publisher), fresh(portal.reviewer)
    secret_file = store_upload(
        actor=portal.publisher, upload=text_file("经营数据.txt"), context="portal.attachment"
    )
    secret = portal.publish(
        title="经营分析",
        classification=classification.COMMERCIAL_SECRET,
        audience_everyone=False,
        audience_units=[portal.units["finance"]],
        attachments=[secret_file],
    )
    secret_url = f"/portal/a/{secret.pk}/files/{secret_file.key}/"
    assert client_for(portal.east).get(secret_url).status_code == 404
    assert client_for(portal.finance).get(secret_url).status_code == 200
    event = Event.objects.get(action="portal.attachment.downloaded")
    assert (event.actor_id, event.details["file"]) == (portal.finance.pk, "经营数据.txt")


def test_an_old_versions_attachment_stays_downloadable(portal: Portal) -> None:
    from xietong.files.services import store_upload

    first = store_upload(actor=portal.publisher, upload=text_file("第一版.txt"), context="portal.attachment")
    article = portal.publish(attachments=[first])
    services.article_update(
        actor=portal.publisher,
        article=article,
        data=services.ArticleInput(title=article.title, body=article.body, attachments=[]),
    )
    assert not article.attachment_links.exists()
    assert client_for(portal.east).get(f"/portal/a/{article.pk}/files/{first.key}/").status_code == 200


def test_the_cover_is_served_inline_to_readers(portal: Portal) -> None:
    from xietong.files.services import store_upload

    cover = store_upload(actor=portal.publisher, upload=png(), context="portal.cover", images_only=True)
    article = portal.publish(cover=cover, audience_everyone=False, audience_units=[portal.units["office"]])
    response = client_for(portal.publisher).get(f"/portal/a/{article.pk}/cover/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline")
    assert client_for(portal.east).get(f"/portal/a/{article.pk}/cover/").status_code == 404


# --------------------------------------------------------------------------- comments


def test_a_reader_comments_and_sees_the_report_link_on_others_comments(portal: Portal) -> None:
    article = portal.publish()
    client = client_for(portal.east)
    response = client.post(f"/portal/a/{article.pk}/comments/", {"body": "会议精神很及时。"})
    comment = Comment.objects.get()
    assert response["Location"] == f"/portal/a/{article.pk}/#comment-{comment.pk}"
    other = client_for(portal.finance).get(f"/portal/a/{article.pk}/").content.decode()
    assert "会议精神很及时。" in other
    assert "举报" in other
    own = client.get(f"/portal/a/{article.pk}/").content.decode()
    assert f"portal.comment:{comment.pk}" not in own  # no report link on one's own comment


def test_a_blocked_comment_is_refused_with_a_message(portal: Portal, words: object) -> None:
    article = portal.publish()
    response = client_for(portal.east).post(
        f"/portal/a/{article.pk}/comments/", {"body": BLOCKED}, follow=True
    )
    assert "内容包含敏感词" in response.content.decode()
    assert not Comment.objects.exists()


def test_no_comment_box_when_comments_are_off(portal: Portal) -> None:
    article = portal.publish(comments_enabled=False)
    page = client_for(portal.east).get(f"/portal/a/{article.pk}/").content.decode()
    assert 'id="comment-form"' not in page
    assert "本文已关闭评论" in page


# --------------------------------------------------------------------------- channels


def channel_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "工会之家",
        "code": "ghzj",
        "kind": "articles",
        "description": "工会活动与职工福利",
        "icon": "people",
        "owner_unit": "",
        "publishers": "",
        "comments_enabled": "on",
        "order": "200",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_portal_admins_manage_channels(portal: Portal) -> None:
    client = client_for(portal.admin)
    assert "新闻动态" in client.get("/portal/channels/").content.decode()
    response = client.post(
        "/portal/channels/new/",
        channel_form(owner_unit=portal.units["office"].pk, publishers="zhangwei, zhouyi"),
    )
    assert response.status_code == 302
    channel = Channel.objects.get(code="ghzj")
    assert channel.owner_unit == portal.units["office"]
    assert set(channel.publishers.values_list("username", flat=True)) == {"zhangwei", "zhouyi"}
    assert Event.objects.filter(action="portal.channel.created", target_id=str(channel.pk)).exists()
    client.post(f"/portal/channels/{channel.pk}/", channel_form(name="工会之窗", on_workbench="on"))
    channel.refresh_from_db()
    assert (channel.name, channel.code, channel.on_workbench) == ("工会之窗", "ghzj", True)
    event = Event.objects.get(action="portal.channel.updated")
    assert event.details["changes"]["name"] == ["工会之家", "工会之窗"]


def test_channel_form_errors(portal: Portal) -> None:
    client = client_for(portal.admin)
    page = client.post("/portal/channels/new/", channel_form(name="新闻动态")).content.decode()
    assert "已存在" in page
    page = client.post("/portal/channels/new/", channel_form(code="xwdt")).content.decode()
    assert "已被使用" in page
    page = client.post("/portal/channels/new/", channel_form(publishers="nobody")).content.decode()
    assert "找不到这些用户" in page
    assert not Channel.objects.filter(code="ghzj").exists()


@pytest.mark.parametrize("who", ["reviewer", "publisher", "east"])
def test_only_portal_admins_manage_channels(portal: Portal, who: str, sysadmin_user: User) -> None:
    for user in (getattr(portal, who), sysadmin_user):
        client: Client = client_for(user)
        assert client.get("/portal/channels/").status_code == 403
        assert client.post("/portal/channels/new/", channel_form()).status_code == 403
    with pytest.raises(Exception, match="只有门户管理员"):
        services.channel_create(actor=sysadmin_user, data=services.ChannelInput(name="x"))
    assert Event.objects.filter(action="portal.channel.created", result="denied").exists()
