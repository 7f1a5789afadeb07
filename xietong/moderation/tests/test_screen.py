"""The content rules as apps meet them (R-27): ``screen`` blocks or holds, held content waits
in the review queue, and a reviewer's decision reaches the app through its handler."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client, RequestFactory

from tests.fixtures import client_for, make_user
from xietong.audit.models import Event
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.identity.models import User
from xietong.moderation import services
from xietong.moderation.models import ReviewItem, SensitiveWord, Violation, WordCategory
from xietong.moderation.services import ContentBlockedError
from xietong.moderation.tests.conftest import BLOCKED, HELD, Calls

pytestmark = pytest.mark.django_db


def save_post(*, actor: User, title: str, body: str) -> WordCategory:
    """What an app does: screen first, then store — published, or pending and held."""
    fields = {"title": title, "body": body}
    verdict = services.screen(actor=actor, fields=fields, context="tests.post")
    post = WordCategory.objects.create(name=title, description="待审核" if verdict.held else "已发布")
    if verdict.held:
        services.hold_for_review(
            actor=actor, target=post, fields=fields, verdict=verdict, context="tests.post"
        )
    return post


def test_r27_clean_text_is_allowed(author: User, lexicon_words: Any) -> None:
    verdict = services.screen(
        actor=author, fields={"title": "周例会通知", "body": "周一上午九点开会。"}, context="x.y"
    )
    assert verdict.action == "allow"
    assert verdict.hits == []
    assert not Violation.objects.exists()


def test_r27_blocked_text_names_the_words_and_changes_nothing(
    author: User, lexicon_words: Any, handler: Calls
) -> None:
    posts_before = WordCategory.objects.count()
    with pytest.raises(ContentBlockedError) as caught:
        save_post(actor=author, title="通知", body=f"内容含 法-轮-功 和{BLOCKED}，另有{HELD}。")
    error = caught.value
    assert isinstance(error, DomainError)
    assert (error.status, error.code) == (400, "content_blocked")
    assert error.message.startswith(f"内容包含敏感词：“法轮功”、“{BLOCKED}”，请修改后再提交。")
    assert error.details == [
        {"field": "body", "word": "法轮功", "category": "政治敏感"},
        {"field": "body", "word": BLOCKED, "category": "违法违规"},
    ]
    # Nothing stored, nothing held: only the violation and its audit record.
    assert WordCategory.objects.count() == posts_before
    assert not ReviewItem.objects.exists()
    violation = Violation.objects.get()
    assert violation.words == ["法轮功", BLOCKED]
    event = Event.objects.get(action=services.CONTENT_BLOCKED)
    assert (event.actor_id, event.result, event.target_id) == (author.pk, "denied", str(violation.pk))
    assert event.details["context"] == "tests.post"


def test_r27_blocked_text_is_refused_through_the_api_error_body(author: User, lexicon_words: Any) -> None:
    from xietong.api import on_domain_error

    with pytest.raises(ContentBlockedError) as caught:
        services.screen(actor=author, fields={"comment": "ＳＢ 法轮功"}, context="tests.comment")
    response = on_domain_error(RequestFactory().post("/api/v1/"), caught.value)
    assert response.status_code == 400
    body = json.loads(response.content)["error"]
    assert body["code"] == "content_blocked"
    assert "“法轮功”" in body["message"]
    assert body["details"] == [{"field": "comment", "word": "法轮功", "category": "政治敏感"}]


def test_fields_are_checked_separately(author: User, lexicon_words: Any) -> None:
    verdict = services.screen(
        actor=author, fields={"title": "学习法轮", "body": "功课要按时完成"}, context="x.y"
    )
    assert verdict.action == "allow"


def test_r27_held_text_waits_in_the_queue_and_approval_calls_the_handler(
    author: User, secadmin_user: User, lexicon_words: Any, handler: Calls
) -> None:
    post = save_post(actor=author, title="周报", body=f"推荐 {HELD} 一下")
    assert post.description == "待审核"
    item = ReviewItem.objects.get()
    assert (item.status, item.model_label, item.object_id) == (
        "pending",
        "moderation.wordcategory",
        str(post.pk),
    )
    assert item.words == [HELD]
    assert item.fields == {"title": "周报", "body": f"推荐 {HELD} 一下"}
    assert item.hits[0]["text"] == HELD
    assert handler.approved == []

    services.review_approve(actor=secadmin_user, item=item, note="可以发布")

    item.refresh_from_db()
    post.refresh_from_db()
    assert (item.status, item.reviewed_by, item.note) == ("approved", secadmin_user, "可以发布")
    assert handler.approved == [(post, secadmin_user)]
    assert post.description == "已发布"
    assert not Violation.objects.exists()  # approved content is no breach
    assert Event.objects.filter(action=services.REVIEW_APPROVED, actor_id=secadmin_user.pk).exists()


def test_rejection_calls_the_handler_with_the_note_and_records_a_violation(
    author: User, secadmin_user: User, held_item: ReviewItem, handler: Calls
) -> None:
    services.review_reject(actor=secadmin_user, item=held_item, note="与工作无关")
    held_item.refresh_from_db()
    assert held_item.status == "rejected"
    (obj, reviewer, note) = handler.rejected[0]
    assert (obj.pk, reviewer, note) == (int(held_item.object_id), secadmin_user, "与工作无关")
    violation = Violation.objects.get()
    assert (violation.user, violation.outcome, violation.handler) == (author, "rejected", secadmin_user)
    assert violation.review_item == held_item
    assert violation.evidence[0]["word"] == HELD


def test_a_decision_is_final(secadmin_user: User, held_item: ReviewItem) -> None:
    services.review_approve(actor=secadmin_user, item=held_item)
    with pytest.raises(DomainError, match="已处理"):
        services.review_reject(actor=secadmin_user, item=held_item)


def test_reviewers_do_not_decide_their_own_submissions(
    secadmin_user: User, lexicon_words: Any, handler: Calls
) -> None:
    save_post(actor=secadmin_user, title="自己的帖子", body=HELD)
    item = ReviewItem.objects.get()
    with pytest.raises(DomainError, match="本人"):
        services.review_approve(actor=secadmin_user, item=item)
    assert handler.approved == []


def test_only_moderators_decide(author: User, sysadmin_user: User, held_item: ReviewItem) -> None:
    with pytest.raises(PermissionDeniedError):
        services.review_approve(actor=sysadmin_user, item=held_item)
    held_item.refresh_from_db()
    assert held_item.status == "pending"
    assert Event.objects.filter(action=services.REVIEW_APPROVED, result="denied").exists()


def test_a_handler_error_cancels_the_decision(
    secadmin_user: User, held_item: ReviewItem, handler: Calls
) -> None:
    from xietong.moderation import registry

    def refuse(obj: Any, reviewer: Any) -> None:
        raise DomainError("栏目已关闭，不能发布。")

    registry.register_review_handler("moderation.wordcategory", on_approve=refuse, on_reject=lambda *a: None)
    with pytest.raises(DomainError, match="栏目已关闭"):
        services.review_approve(actor=secadmin_user, item=held_item)
    held_item.refresh_from_db()
    assert held_item.status == "pending"


def test_a_new_submission_replaces_the_pending_one(author: User, held_item: ReviewItem) -> None:
    post = WordCategory.objects.get(pk=held_item.object_id)
    fields = {"body": f"改过的 {HELD}"}
    verdict = services.screen(actor=author, fields=fields, context="tests.post")
    newer = services.hold_for_review(
        actor=author, target=post, fields=fields, verdict=verdict, context="tests.post"
    )
    held_item.refresh_from_db()
    assert held_item.status == "withdrawn"
    assert newer.status == "pending"


def test_a_deleted_object_leaves_the_queue(
    secadmin_user: User, held_item: ReviewItem, handler: Calls
) -> None:
    WordCategory.objects.filter(pk=held_item.object_id).delete()
    with pytest.raises(DomainError, match="已被作者删除"):
        services.review_approve(actor=secadmin_user, item=held_item)
    held_item.refresh_from_db()
    assert held_item.status == "withdrawn"
    assert handler.approved == []


def test_holding_needs_a_registered_handler(author: User, lexicon_words: Any) -> None:
    fields = {"body": HELD}
    verdict = services.screen(actor=author, fields=fields, context="tests.post")
    post = WordCategory.objects.create(name="无处理器")
    with pytest.raises(LookupError):
        services.hold_for_review(
            actor=author, target=post, fields=fields, verdict=verdict, context="tests.post"
        )


def test_the_queue_hides_items_above_the_reviewers_clearance(
    secadmin_user: User, held_item: ReviewItem
) -> None:
    ReviewItem.objects.filter(pk=held_item.pk).update(classification=3)
    with pytest.raises(NotFoundError):
        services.review_approve(actor=secadmin_user, item=held_item)


def test_api_check_returns_the_verdict_without_recording(lexicon_words: Any) -> None:
    employee = make_user("putong", name="普通员工")
    response = client_for(employee).post(
        "/api/v1/moderation/check",
        {"fields": {"title": "你好", "body": f"含 Ｓ Ｂ 和{HELD}"}},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["action"] == "hold"
    assert body["words"] == ["ＳＢ", HELD]
    assert body["hits"][0] == {
        "field": "body",
        "word": "ＳＢ",
        "category": "低俗辱骂",
        "action": "hold",
        "start": 2,
        "end": 5,
        "text": "Ｓ Ｂ",
    }
    blocked = client_for(employee).post(
        "/api/v1/moderation/check", {"fields": {"body": "法轮功"}}, content_type="application/json"
    )
    assert blocked.json()["action"] == "block"
    assert not Violation.objects.exists()
    assert not Event.objects.filter(action=services.CONTENT_BLOCKED).exists()


def test_api_check_needs_a_signed_in_user(client: Client) -> None:
    response = client.post(
        "/api/v1/moderation/check", {"fields": {"body": "x"}}, content_type="application/json"
    )
    assert response.status_code == 401


def test_anonymous_text_is_refused_without_a_violation(lexicon_words: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(ContentBlockedError):
        services.screen(actor=AnonymousUser(), fields={"body": BLOCKED}, context="x.y")
    assert not Violation.objects.exists()
    assert SensitiveWord.objects.count() == 4
