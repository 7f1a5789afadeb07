"""The 内容审核 pages and API: only the security administrator (``moderation.manage``) gets
in; the pages work end to end; the review list costs the same queries for 1 or 20 items."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.fixtures import client_for, make_user
from xietong.audit.models import Event
from xietong.core import access
from xietong.core.errors import DomainError
from xietong.identity.models import User
from xietong.moderation import services
from xietong.moderation.models import ReviewItem, SensitiveWord, Violation, WordCategory
from xietong.moderation.tests.conftest import HELD, Calls
from xietong.org import builtin
from xietong.org import services as org_services
from xietong.org.models import Role

pytestmark = pytest.mark.django_db

PAGES: list[tuple[str, list[int]]] = [
    ("moderation:words", []),
    ("moderation:words_import", []),
    ("moderation:words_export", []),
    ("moderation:try", []),
    ("moderation:reviews", []),
    ("moderation:violations", []),
]
API = [
    ("get", "/api/v1/moderation/words"),
    ("post", "/api/v1/moderation/words"),
    ("get", "/api/v1/moderation/categories"),
    ("get", "/api/v1/moderation/reviews"),
    ("get", "/api/v1/moderation/violators"),
]


def test_the_security_admin_holds_moderation_manage(secadmin_user: User) -> None:
    # The security_admin row here comes from the migrations (0003, then 0007 added it).
    assert "moderation.manage" in Role.objects.get(code=builtin.SECURITY_ADMIN).permissions
    assert access.can(secadmin_user, "moderation.manage")


def test_the_triad_rules_keep_it_in_one_tier(secadmin_user: User) -> None:
    system = Role.objects.get(code=builtin.SYSTEM_ADMIN)
    with pytest.raises(DomainError, match="三员"):
        org_services.role_update(
            actor=secadmin_user, role=system, permissions=[*system.permissions, "moderation.manage"]
        )
    security = Role.objects.get(code=builtin.SECURITY_ADMIN)
    org_services.role_update(actor=secadmin_user, role=security, permissions=security.permissions)  # accepted


def test_lexicon_pages_are_open_to_the_security_admin(secadmin_user: User, lexicon_words: Any) -> None:
    client = client_for(secadmin_user)
    for name, args in PAGES:
        assert client.get(reverse(name, args=args)).status_code == 200, name
    word = lexicon_words["falun"]
    assert client.get(reverse("moderation:word_edit", args=[word.pk])).status_code == 200
    home = client.get(reverse("workbench:home")).content.decode()
    assert reverse("moderation:words") in home  # the navigation entry


@pytest.mark.parametrize("who", ["sysadmin_user", "auditadmin_user", "user"])
def test_lexicon_pages_are_denied_to_everyone_else(
    who: str, request: pytest.FixtureRequest, lexicon_words: Any
) -> None:
    client = client_for(request.getfixturevalue(who))
    word = lexicon_words["falun"]
    for name, args in [*PAGES, ("moderation:word_edit", [word.pk])]:
        response = client.get(reverse(name, args=args))
        assert response.status_code == 403, name
        assert "法轮功" not in response.content.decode()
    response = client.post(reverse("moderation:words"), {"new-word": "新词", "add_word": "1"})
    assert response.status_code == 403
    response = client.post(reverse("moderation:word_toggle", args=[word.pk]), {"active": "0"})
    assert response.status_code == 403
    assert SensitiveWord.objects.filter(is_active=True).count() == 4
    assert not SensitiveWord.objects.filter(word="新词").exists()


@pytest.mark.parametrize("who", ["sysadmin_user", "auditadmin_user", "user"])
def test_the_api_answers_403_with_the_error_body(
    who: str, request: pytest.FixtureRequest, lexicon_words: Any
) -> None:
    client = client_for(request.getfixturevalue(who))
    for method, url in API:
        if method == "get":
            response = client.get(url)
        else:
            body = {"word": "新词", "category_id": lexicon_words["falun"].category_id}
            response = client.post(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 403, url
        assert response.json() == {
            "error": {"code": "forbidden", "message": "只有内容审核管理员可以执行此操作。"}
        }
    assert not SensitiveWord.objects.filter(word="新词").exists()


def test_anonymous_visitors_go_to_the_login_page(client: Client) -> None:
    response = client.get(reverse("moderation:words"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login"))


def test_adding_editing_and_deactivating_through_the_pages(secadmin_user: User) -> None:
    client = client_for(secadmin_user)
    politics = WordCategory.objects.get(name="政治敏感")
    response = client.post(
        reverse("moderation:words"), {"new-word": "页面新词", "new-category": politics.pk, "add_word": "1"}
    )
    assert response.status_code == 302
    word = SensitiveWord.objects.get(word="页面新词")
    assert (word.category, word.action) == (politics, "block")  # the category's default
    duplicate = client.post(
        reverse("moderation:words"), {"new-word": "页 面 新 词", "new-category": politics.pk, "add_word": "1"}
    )
    assert "已在词库中" in duplicate.content.decode()

    response = client.post(
        reverse("moderation:word_edit", args=[word.pk]),
        {"word": "页面新词", "category": politics.pk, "action": "hold", "note": "观察"},
    )
    assert response.status_code == 302
    word.refresh_from_db()
    assert (word.action, word.note) == ("hold", "观察")

    client.post(
        reverse("moderation:word_toggle", args=[word.pk]), {"active": "0", "next": "https://evil.example/"}
    )
    word.refresh_from_db()
    assert not word.is_active
    listing = client.get(reverse("moderation:words"), {"status": "inactive"}).content.decode()
    assert f'data-word-id="{word.pk}"' in listing


def test_importing_and_exporting_through_the_pages(secadmin_user: User) -> None:
    client = client_for(secadmin_user)
    ads = WordCategory.objects.get(name="广告")
    upload = SimpleUploadedFile("ads.txt", "加微信\n代开发票\n加微信\n".encode("gb18030"))
    response = client.post(
        reverse("moderation:words_import"), {"file": upload, "category": ads.pk, "action": ""}
    )
    assert response.status_code == 200
    assert "新增 2 个，已存在 1 个" in response.content.decode()
    assert set(SensitiveWord.objects.values_list("word", "action")) == {
        ("加微信", "hold"),
        ("代开发票", "hold"),
    }

    export = client.get(reverse("moderation:words_export"), {"category": ads.pk})
    assert export["Content-Type"].startswith("text/csv")
    text = export.content.decode("utf-8-sig")
    assert "代开发票,广告,送审,启用" in text
    assert Event.objects.filter(action=services.LEXICON_EXPORTED, actor_id=secadmin_user.pk).exists()


def test_the_test_box_highlights_without_recording(secadmin_user: User, lexicon_words: Any) -> None:
    client = client_for(secadmin_user)
    response = client.post(reverse("moderation:try"), {"text": "前言<b>法 轮 功</b>后记"})
    page = response.content.decode()
    assert 'data-action="block"' in page
    assert 'data-words="法轮功">法 轮 功</mark>' in page
    assert "&lt;b&gt;" in page  # the text is escaped, never rendered
    assert not Violation.objects.exists()


def test_deciding_in_the_queue(secadmin_user: User, held_item: ReviewItem, handler: Calls) -> None:
    client = client_for(secadmin_user)
    page = client.get(reverse("moderation:reviews")).content.decode()
    assert f'data-review-id="{held_item.pk}"' in page
    assert f'data-words="{HELD}">{HELD}</mark>' in page
    response = client.post(
        reverse("moderation:review_decide", args=[held_item.pk]), {"decision": "reject", "note": "广告"}
    )
    assert response.status_code == 302
    held_item.refresh_from_db()
    assert (held_item.status, held_item.note) == ("rejected", "广告")
    assert handler.rejected[0][2] == "广告"


def test_deciding_through_the_api(secadmin_user: User, held_item: ReviewItem, handler: Calls) -> None:
    client = client_for(secadmin_user)
    listing = client.get("/api/v1/moderation/reviews").json()
    assert [item["id"] for item in listing["items"]] == [held_item.pk]
    response = client.post(
        f"/api/v1/moderation/reviews/{held_item.pk}/approve",
        {"note": "同意"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    again = client.post(
        f"/api/v1/moderation/reviews/{held_item.pk}/reject", {}, content_type="application/json"
    )
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "invalid"


def test_lexicon_crud_through_the_api(secadmin_user: User) -> None:
    client = client_for(secadmin_user)
    category = client.post(
        "/api/v1/moderation/categories",
        {"name": "测试分类", "default_action": "hold"},
        content_type="application/json",
    ).json()
    created = client.post(
        "/api/v1/moderation/words",
        {"word": "Ａ Ｐ Ｉ新词", "category_id": category["id"]},
        content_type="application/json",
    )
    assert created.status_code == 201
    word = created.json()
    assert (word["normalized"], word["action"], word["category"]) == ("api新词", "hold", "测试分类")
    duplicate = client.post(
        "/api/v1/moderation/words",
        {"word": "api新词", "category_id": category["id"]},
        content_type="application/json",
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["error"]["details"][0]["field"] == "word"
    patched = client.patch(
        f"/api/v1/moderation/words/{word['id']}", {"action": "block"}, content_type="application/json"
    )
    assert patched.json()["action"] == "block"
    deleted = client.delete(f"/api/v1/moderation/words/{word['id']}")
    assert deleted.json()["is_active"] is False
    listing = client.get("/api/v1/moderation/words", {"is_active": "false"}).json()
    assert [row["id"] for row in listing["items"]] == [word["id"]]


def _hold_posts(numbers: range, handler: Calls) -> None:
    for number in numbers:
        author = make_user(f"author{number}", name=f"作者{number}")
        fields = {"body": f"第 {number} 篇 {HELD}"}
        verdict = services.screen(actor=author, fields=fields, context="tests.post")
        post = WordCategory.objects.create(name=f"帖子{number}")
        services.hold_for_review(
            actor=author, target=post, fields=fields, verdict=verdict, context="tests.post"
        )


def _queries(client: Client, url: str) -> int:
    client.get(url)  # fills the per-process caches, so that only the rows can make a difference
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_review_list_costs_the_same_queries_for_1_or_20_items(
    secadmin_user: User, lexicon_words: Any, handler: Calls
) -> None:
    client = client_for(secadmin_user)
    _hold_posts(range(1), handler)
    one_page, one_api = (
        _queries(client, reverse("moderation:reviews")),
        _queries(client, "/api/v1/moderation/reviews"),
    )
    _hold_posts(range(1, 20), handler)
    assert ReviewItem.objects.filter(status="pending").count() == 20
    assert _queries(client, reverse("moderation:reviews")) == one_page
    assert _queries(client, "/api/v1/moderation/reviews") == one_api
