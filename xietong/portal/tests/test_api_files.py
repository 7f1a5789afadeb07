"""Covers and attachments of articles over the portal API: the editor's uploads and the
pages' downloads, with the same checks, refusals and audit."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import Client
from PIL import Image

from tests.fixtures import client_for
from xietong.audit.models import Event
from xietong.core import classification, clock
from xietong.core.errors import DomainError
from xietong.files.models import StoredFile
from xietong.files.scanning import EICAR
from xietong.files.services import store_upload
from xietong.identity.models import User
from xietong.portal import api as portal_api
from xietong.portal import services
from xietong.portal.models import Article, Channel
from xietong.portal.tests.conftest import BLOCKED, Portal, changed, fresh, person

pytestmark = pytest.mark.django_db
API = "/api/v1/portal/articles"


def png(name: str = "封面.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 18), (180, 35, 42)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def text_file(name: str = "会议纪要模板.txt", body: str = "会议名称：\n会议时间：\n") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body.encode(), content_type="text/plain")


def stored(portal: Portal, name: str = "报名表.txt") -> StoredFile:
    return store_upload(actor=portal.publisher, upload=text_file(name), context="portal.attachment")


def upload(client: Client, path: str, file: SimpleUploadedFile) -> tuple[int, Any]:
    response = client.post(f"{API}{path}", {"file": file})
    return response.status_code, json.loads(response.content)


def delete(client: Client, path: str) -> tuple[int, Any]:
    response = client.delete(f"{API}{path}")
    return response.status_code, json.loads(response.content)


def download(client: Client, path: str) -> tuple[int, bytes, Any]:
    """Status, content and the response (its headers) of a GET of ``path`` under the API,
    or of a full address the API gave."""
    response = client.get(path if path.startswith("/api/") else f"{API}{path}")
    # Read through the test client, which closes the file without ending the test's database
    # connection (``response.close()`` would signal the end of a request).
    content = (
        b"".join(response.streaming_content)  # type: ignore[attr-defined]  # a FileResponse's
        if response.streaming
        else response.content
    )
    return response.status_code, content, response


def channel(portal: Portal, code: str) -> Channel:
    """A default channel opened like 新闻动态: 综合办公室 reviews, 张伟 publishes."""
    found = portal.channels[code]
    found.owner_unit = portal.units["office"]
    found.save()
    found.publishers.add(portal.publisher)
    return found


def files_of(article: Article) -> list[str]:
    return list(article.attachment_links.order_by("order", "pk").values_list("file__name", flat=True))


# --------------------------------------------------------------------------- the author


def test_the_author_uploads_an_attachment_and_a_cover_and_downloads_them(portal: Portal) -> None:
    article = portal.draft()
    client = client_for(portal.publisher)
    status, body = upload(client, f"/{article.pk}/attachments", text_file())
    assert status == 201
    [attachment] = body["attachments"]
    assert attachment["name"] == "会议纪要模板.txt"
    assert attachment["download_url"] == f"{API}/{article.pk}/attachments/{attachment['key']}"
    assert attachment["url"] == f"/portal/a/{article.pk}/files/{attachment['key']}/"
    status, body = upload(client, f"/{article.pk}/attachments", text_file("日程.txt"))
    assert [item["name"] for item in body["attachments"]] == ["会议纪要模板.txt", "日程.txt"]
    status, content, response = download(client, attachment["download_url"])
    assert (status, content) == (200, "会议名称：\n会议时间：\n".encode())
    assert response["Content-Disposition"].startswith("attachment")
    assert StoredFile.objects.get(key=attachment["key"]).context == "portal.attachment"

    status, body = upload(client, f"/{article.pk}/cover", png())
    assert (status, body["has_cover"]) == (200, True)
    first_cover = Article.objects.get(pk=article.pk).cover
    assert first_cover is not None
    assert first_cover.context == "portal.cover"
    status, content, response = download(client, f"/{article.pk}/cover")
    assert (status, content[:4]) == (200, b"\x89PNG")
    assert response["Content-Disposition"].startswith("inline")
    _status, body = upload(client, f"/{article.pk}/cover", png("新封面.png"))
    assert Article.objects.filter(pk=article.pk).values_list("cover__name", flat=True).get() == "新封面.png"

    status, body = delete(client, f"/{article.pk}/attachments/{attachment['key']}")
    assert (status, [item["name"] for item in body["attachments"]]) == (200, ["日程.txt"])
    status, body = delete(client, f"/{article.pk}/cover")
    assert (status, body["has_cover"]) == (200, False)
    status, _content, _response = download(client, f"/{article.pk}/cover")
    assert status == 404
    status, body = delete(client, f"/{article.pk}/cover")
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert Article.objects.get(pk=article.pk).status == Article.Status.DRAFT


def test_a_file_change_of_a_published_article_is_a_new_version(portal: Portal) -> None:
    first = stored(portal, "第一版.txt")
    article = portal.publish(
        attachments=[first], pinned=True, pinned_until=clock.now() + dt.timedelta(days=1)
    )
    # A pin that has run out does not stand in the way of a file change.
    Article.objects.filter(pk=article.pk).update(pinned_until=clock.now() - dt.timedelta(hours=1))
    client = client_for(portal.publisher)
    status, body = upload(client, f"/{article.pk}/attachments", text_file("补充说明.txt"))
    assert (status, body["status"], body["revision"], body["edited_after_publish"]) == (
        201,
        "published",
        2,
        True,
    )
    status, body = delete(client, f"/{article.pk}/attachments/{first.key}")
    assert [item["name"] for item in body["attachments"]] == ["补充说明.txt"]
    notes = list(article.versions.order_by("number").values_list("note", flat=True))
    assert notes[1:] == ["添加附件：补充说明.txt", "删除附件：第一版.txt"]
    # what an older version carried stays downloadable.
    status, _content, _response = download(client_for(portal.east), f"/{article.pk}/attachments/{first.key}")
    assert status == 200


# --------------------------------------------------------------------------- readers


def test_a_reader_downloads_an_attachment_of_a_published_article(portal: Portal) -> None:
    file = stored(portal)
    article = portal.publish(attachments=[file])
    reader = client_for(portal.east)
    url = json.loads(reader.get(f"{API}/{article.pk}").content)["attachments"][0]["download_url"]
    status, content, response = download(reader, url)
    assert (status, content) == (200, "会议名称：\n会议时间：\n".encode())
    assert response["X-Content-Type-Options"] == "nosniff"
    assert not Event.objects.filter(action="portal.attachment.downloaded").exists()
    # A key of another article, an unknown one or no key at all is not found.
    other = portal.publish(title="另一篇")
    for path in (
        f"/{other.pk}/attachments/{file.key}",
        f"/{article.pk}/attachments/{other.pk}",
        f"/{article.pk}/attachments/00000000-0000-0000-0000-000000000000",
    ):
        status, _content, response = download(reader, path)
        assert status == 404, path
        assert json.loads(response.content)["error"]["code"] == "not_found"


def test_someone_who_may_not_edit_cannot_upload_or_delete(portal: Portal) -> None:
    file = stored(portal)
    cover = store_upload(actor=portal.publisher, upload=png(), context="portal.cover", images_only=True)
    article = portal.publish(attachments=[file], cover=cover)
    other_publisher = person("lina", "李娜", portal.units["office"])
    portal.news.publishers.add(other_publisher)
    files_before = StoredFile.objects.count()
    for user in (portal.east, other_publisher):
        client = client_for(user)
        for status, body in (
            upload(client, f"/{article.pk}/attachments", text_file()),
            upload(client, f"/{article.pk}/cover", png()),
            delete(client, f"/{article.pk}/attachments/{file.key}"),
            delete(client, f"/{article.pk}/cover"),
        ):
            assert (status, body["error"]["code"]) == (403, "forbidden")
            assert body["error"]["message"] == "您不能修改这篇文章。"
    row = Article.objects.get(pk=article.pk)
    assert (files_of(row), row.cover_id, row.revision) == (["报名表.txt"], cover.pk, 1)
    assert StoredFile.objects.count() == files_before


def test_someone_who_cannot_see_the_article_gets_404(portal: Portal) -> None:
    file = stored(portal)
    cover = store_upload(actor=portal.publisher, upload=png(), context="portal.cover", images_only=True)
    limited = portal.publish(
        attachments=[file], cover=cover, audience_everyone=False, audience_units=[portal.units["office"]]
    )
    draft = portal.draft(title="未发布的草稿")
    files_before = StoredFile.objects.count()
    outsider = client_for(portal.east)
    for article in (limited, draft):
        status, body = upload(outsider, f"/{article.pk}/attachments", text_file())
        assert (status, body["error"]["code"]) == (404, "not_found")
        status, body = upload(outsider, f"/{article.pk}/cover", png())
        assert status == 404
        assert delete(outsider, f"/{article.pk}/cover")[0] == 404
    # Nor does a fellow publisher of the channel see someone else's draft.
    fellow = person("lina", "李娜", portal.units["office"])
    portal.news.publishers.add(fellow)
    assert upload(client_for(fellow), f"/{draft.pk}/attachments", text_file())[0] == 404
    assert download(outsider, f"/{limited.pk}/attachments/{file.key}")[0] == 404
    assert download(outsider, f"/{limited.pk}/cover")[0] == 404
    assert StoredFile.objects.count() == files_before
    # Someone in the audience may.
    colleague = client_for(portal.admin)
    assert download(colleague, f"/{limited.pk}/attachments/{file.key}")[0] == 200


# --------------------------------------------------------------------------- refusals


def test_a_cover_that_is_not_an_image_is_refused_and_nothing_is_stored(portal: Portal) -> None:
    article = portal.draft()
    client = client_for(portal.publisher)
    files_before = StoredFile.objects.count()
    for file, message in (
        (text_file("封面.txt"), "只能上传 PNG、JPEG、GIF 或 WebP 格式的图片。"),
        (text_file("封面.png"), "只能上传 PNG、JPEG、GIF 或 WebP 格式的图片。"),
    ):
        status, body = upload(client, f"/{article.pk}/cover", file)
        assert (status, body["error"]["message"]) == (422, message)
        assert body["error"]["details"] == [{"field": "file", "message": message}]
    response = client.post(f"{API}/{article.pk}/cover", {})
    assert response.status_code == 422  # no file at all
    assert StoredFile.objects.count() == files_before
    assert Article.objects.get(pk=article.pk).cover_id is None


def test_refused_uploads_answer_422_with_the_reason(portal: Portal, words: object) -> None:
    article = portal.draft()
    client = client_for(portal.publisher)
    files_before = StoredFile.objects.count()
    for file, reason in (
        (SimpleUploadedFile("eicar.txt", EICAR), "未通过安全扫描"),
        (text_file(f"{BLOCKED}.txt"), "内容包含敏感词"),
        (text_file("工具.exe"), "不允许上传 .exe 类型的文件"),
        (text_file("空.txt", ""), "文件是空的"),
    ):
        status, body = upload(client, f"/{article.pk}/attachments", file)
        assert (status, body["error"]["code"]) == (422, "validation_error")
        assert reason in body["error"]["message"]
        assert body["error"]["details"] == [{"field": "file", "message": body["error"]["message"]}]
    assert StoredFile.objects.count() == files_before
    assert files_of(article) == []


def test_too_many_attachments_are_refused_and_the_upload_discarded(portal: Portal) -> None:
    article = portal.draft(
        attachments=[stored(portal, f"附件{n}.txt") for n in range(services.ATTACHMENTS_MAX)]
    )
    files_before = StoredFile.objects.count()
    status, body = upload(client_for(portal.publisher), f"/{article.pk}/attachments", text_file())
    assert (status, body["error"]["code"]) == (422, "validation_error")
    assert body["error"]["details"] == [{"field": "attachments", "message": "附件不能超过 20 个。"}]
    assert StoredFile.objects.count() == files_before
    assert len(files_of(article)) == services.ATTACHMENTS_MAX


def test_the_last_attachment_of_a_published_download_is_kept(portal: Portal) -> None:
    downloads = channel(portal, "cyxz")
    form = stored(portal, "请假单.txt")
    article = portal.publish(channel=downloads, attachments=[form], body="")
    client = client_for(portal.publisher)
    status, body = delete(client, f"/{article.pk}/attachments/{form.key}")
    assert (status, body["error"]["details"][0]["field"]) == (422, "attachments")
    assert "常用下载须上传至少一个附件" in body["error"]["message"]
    assert (files_of(article), Article.objects.get(pk=article.pk).revision) == (["请假单.txt"], 1)
    # Replaced: the new one first, then the old one goes.
    upload(client, f"/{article.pk}/attachments", text_file("请假单（新版）.txt"))
    status, body = delete(client, f"/{article.pk}/attachments/{form.key}")
    assert (status, [item["name"] for item in body["attachments"]]) == (200, ["请假单（新版）.txt"])
    # A draft may be left without one; its submission is refused by the service.
    draft = portal.draft(channel=downloads, body="", attachments=[stored(portal)])
    key = draft.attachment_links.get().file.key
    assert delete(client, f"/{draft.pk}/attachments/{key}")[0] == 200
    response = client.post(f"{API}/{draft.pk}/submit")
    assert json.loads(response.content)["error"]["details"][0]["field"] == "attachments"


def test_published_picture_news_keeps_its_cover(portal: Portal) -> None:
    gallery = channel(portal, "tpxw")
    cover = store_upload(actor=portal.publisher, upload=png(), context="portal.cover", images_only=True)
    article = portal.publish(channel=gallery, cover=cover, body="")
    client = client_for(portal.publisher)
    status, body = delete(client, f"/{article.pk}/cover")
    assert (status, body["error"]["details"][0]["field"]) == (422, "cover")
    assert Article.objects.get(pk=article.pk).cover_id == cover.pk
    status, body = upload(client, f"/{article.pk}/cover", png("新照片.png"))
    assert (status, body["revision"]) == (200, 2)
    # Other channels need no cover.
    news = portal.publish(cover=store_upload(actor=portal.publisher, upload=png(), context="portal.cover"))
    status, body = delete(client, f"/{news.pk}/cover")
    assert (status, body["has_cover"]) == (200, False)


# --------------------------------------------------------------------------- classified


def test_a_classified_articles_attachment_download_is_audited(portal: Portal) -> None:
    User.objects.filter(pk__in=[portal.publisher.pk, portal.reviewer.pk, portal.finance.pk]).update(
        clearance=classification.COMMERCIAL_SECRET
    )
    portal.publisher, portal.reviewer = fresh(portal.publisher), fresh(portal.reviewer)
    secret = portal.publish(
        title="经营分析",
        classification=classification.COMMERCIAL_SECRET,
        audience_everyone=False,
        audience_units=[portal.units["finance"]],
    )
    status, body = upload(
        client_for(portal.publisher), f"/{secret.pk}/attachments", text_file("经营数据.txt")
    )
    assert status == 201
    key = body["attachments"][0]["key"]
    assert StoredFile.objects.get(key=key).classification == classification.COMMERCIAL_SECRET
    path = f"/{secret.pk}/attachments/{key}"
    assert download(client_for(portal.east), path)[0] == 404
    status, _content, response = download(client_for(portal.finance), path)
    assert (status, response["Cache-Control"]) == (200, "private, no-store")
    event = Event.objects.get(action="portal.attachment.downloaded")
    assert (event.actor_id, event.details["file"], event.details["key"]) == (
        portal.finance.pk,
        "经营数据.txt",
        key,
    )


def test_the_editor_page_may_not_take_a_published_picture_news_cover_either(portal: Portal) -> None:
    """The channel's rule sits in the service: the page and the API keep it alike."""
    gallery = channel(portal, "tpxw")
    cover = store_upload(actor=portal.publisher, upload=png(), context="portal.cover", images_only=True)
    article = portal.publish(channel=gallery, cover=cover, body="")
    with pytest.raises(DomainError, match="图片新闻须上传封面图片"):
        services.article_update(actor=portal.publisher, article=article, data=changed(article, cover=None))
    article.refresh_from_db()
    assert (article.cover_id, article.revision, article.edited_after_publish) == (cover.pk, 1, False)


# --------------------------------------------------------------------------- at the same moment


@pytest.mark.django_db(transaction=True)
def test_two_attachments_added_at_once_are_both_kept(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first upload waits between reading the article's files and saving the new list;
    a second one made meanwhile must wait for it (the article's row is locked before the
    read), not save its own list that the first then overwrites."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite, the single-machine default, has none")
    article = portal.draft()
    first_read, second_done = threading.Event(), threading.Event()
    real = portal_api._attachments

    def read_then_linger(found: Article) -> list[StoredFile]:
        files = real(found)
        if threading.current_thread().name == "first":
            first_read.set()
            second_done.wait(timeout=2)  # without the lock the second add ends meanwhile
        return files

    monkeypatch.setattr(portal_api, "_attachments", read_then_linger)
    clients = {"first": client_for(portal.publisher), "second": client_for(portal.publisher)}
    statuses: dict[str, int] = {}

    def add(name: str) -> None:
        try:
            if name == "second":
                first_read.wait(timeout=5)
            statuses[name] = upload(clients[name], f"/{article.pk}/attachments", text_file(f"{name}.txt"))[0]
        finally:
            if name == "second":
                second_done.set()
            connections.close_all()

    threads = [threading.Thread(target=add, args=(name,), name=name) for name in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == {"first": 201, "second": 201}
    assert files_of(article) == ["first.txt", "second.txt"]
