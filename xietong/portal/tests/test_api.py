"""The portal API: the same rules as the pages, in the one error body of the API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.fixtures import client_for
from xietong.portal.models import Article
from xietong.portal.tests.conftest import BLOCKED, Portal

pytestmark = pytest.mark.django_db
API = "/api/v1/portal"


def call(client: Client, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    response = getattr(client, method)(
        f"{API}{path}", data=json.dumps(body) if body is not None else None, content_type="application/json"
    )
    return response.status_code, json.loads(response.content) if response.content else None


def test_channels_say_what_the_user_may_do(portal: Portal) -> None:
    status, body = call(client_for(portal.publisher), "get", "/channels")
    assert status == 200
    news = next(c for c in body if c["code"] == "xwdt")
    assert (news["can_publish"], news["can_review"], news["owner_unit"]["name"]) == (
        True,
        False,
        "综合办公室",
    )
    assert len(body) == 13
    _status, body = call(client_for(portal.reviewer), "get", "/channels")
    assert next(c for c in body if c["code"] == "xwdt")["can_review"] is True


def test_write_submit_review_and_read_through_the_api(portal: Portal) -> None:
    writer = client_for(portal.publisher)
    status, draft = call(
        writer,
        "post",
        "/articles",
        {
            "channel": "xwdt",
            "title": "集团召开四季度工作会议",
            "body": "<p>部署年末工作。<script>x</script></p>",
        },
    )
    assert status == 201
    assert (draft["status"], draft["body"]) == ("draft", "<p>部署年末工作。</p>")
    pk = draft["id"]
    status, changed = call(
        writer,
        "put",
        f"/articles/{pk}",
        {"channel": "xwdt", "title": "集团召开工作会议", "body": "<p>部署。</p>"},
    )
    assert (status, changed["title"]) == (200, "集团召开工作会议")
    status, submitted = call(writer, "post", f"/articles/{pk}/submit")
    assert (status, submitted["status"]) == (200, "submitted")
    reviewer = client_for(portal.reviewer)
    _status, queue = call(reviewer, "get", "/review")
    assert [item["id"] for item in queue["items"]] == [pk]
    status, body = call(client_for(portal.east), "post", f"/articles/{pk}/approve", {"note": ""})
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, published = call(reviewer, "post", f"/articles/{pk}/approve", {"note": "同意"})
    assert (status, published["status"], published["revision"]) == (200, "published", 1)
    reader = client_for(portal.east)
    _status, listed = call(reader, "get", "/articles?channel=xwdt")
    assert [item["id"] for item in listed["items"]] == [pk]
    status, detail = call(reader, "get", f"/articles/{pk}")
    assert (status, detail["reader_count"]) == (200, 1)
    _status, versions = call(reader, "get", f"/articles/{pk}/versions")
    assert [v["number"] for v in versions] == [1]


def test_r90_a_non_publisher_gets_403_from_the_api(portal: Portal) -> None:
    status, body = call(client_for(portal.east), "post", "/articles", {"channel": "xwdt", "title": "投稿"})
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert "发布人" in body["error"]["message"]
    status, body = call(
        client_for(portal.publisher), "post", "/articles", {"channel": "nope", "title": "投稿"}
    )
    assert status == 400
    assert not Article.objects.exists()


def test_r27_a_blocked_word_is_refused_with_its_code(portal: Portal, words: object) -> None:
    status, body = call(
        client_for(portal.publisher), "post", "/articles", {"channel": "xwdt", "title": f"标题{BLOCKED}"}
    )
    assert (status, body["error"]["code"]) == (400, "content_blocked")


def test_r34_a_classified_article_to_everyone_is_refused_by_the_api(portal: Portal) -> None:
    from xietong.identity.models import User

    User.objects.filter(pk=portal.publisher.pk).update(clearance=2)
    status, body = call(
        client_for(portal.publisher),
        "post",
        "/articles",
        {"channel": "xwdt", "title": "经营数据", "classification": 2},
    )
    assert (status, body["error"]["code"]) == (400, "invalid")
    assert body["error"]["details"][0]["field"] == "audience"


def test_comments_through_the_api(portal: Portal) -> None:
    article = portal.publish()
    client = client_for(portal.east)
    status, comment = call(client, "post", f"/articles/{article.pk}/comments", {"body": "收到"})
    assert (status, comment["body"], comment["status"]) == (201, "收到", "visible")
    _status, listed = call(client_for(portal.finance), "get", f"/articles/{article.pk}/comments")
    assert [c["body"] for c in listed] == ["收到"]
    status, _body = call(client, "post", f"/articles/{article.pk}/comments", {"body": ""})
    assert status == 422


def test_withdraw_through_the_api(portal: Portal) -> None:
    article = portal.publish()
    status, body = call(
        client_for(portal.publisher), "post", f"/articles/{article.pk}/withdraw", {"reason": ""}
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, body = call(
        client_for(portal.admin), "post", f"/articles/{article.pk}/withdraw", {"reason": "过时"}
    )
    assert (status, body["status"]) == (200, "withdrawn")


def test_list_is_paged_and_searches(portal: Portal) -> None:
    for index in range(5):
        portal.publish(title=f"新闻{index}")
    portal.publish(title="安全生产专项检查")
    client = client_for(portal.east)
    _status, page = call(client, "get", "/articles?limit=2&offset=2")
    assert (page["count"], len(page["items"])) == (6, 2)
    _status, found = call(client, "get", "/articles?q=安全")
    assert [item["title"] for item in found["items"]] == ["安全生产专项检查"]


def test_an_unsaved_change_of_channel_needs_publishing_rights_there(portal: Portal) -> None:
    article = portal.draft()
    status, _body = call(
        client_for(portal.publisher), "put", f"/articles/{article.pk}", {"channel": "djgz", "title": "x"}
    )
    assert status == 403
