"""The 内容审核 pages in Chromium at desktop and phone size (no sideways scrolling at
375 px): the lexicon, the test box with its highlights, the review queue, the register."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page, screenshot
from tests.fixtures import grant_role
from xietong.identity.models import User
from xietong.moderation import registry, services
from xietong.moderation.models import WordCategory
from xietong.org import builtin

pytestmark = pytest.mark.browser


@pytest.fixture
def moderation_setup(transactional_db: Any) -> Iterator[dict[str, Any]]:
    admin = User.objects.create_user(
        "secadmin", STRONG_PASSWORD, name="安全管理员", must_change_password=False
    )
    grant_role(admin, builtin.SECURITY_ADMIN)
    author = User.objects.create_user("zhangwei", STRONG_PASSWORD, name="张伟", must_change_password=False)
    politics, _ = WordCategory.objects.get_or_create(name="政治敏感", defaults={"default_action": "block"})
    ads, _ = WordCategory.objects.get_or_create(name="广告", defaults={"default_action": "hold"})
    services.word_create(actor=admin, word="违禁测试词", category=politics)
    services.word_create(actor=admin, word="送审测试词", category=ads)
    saved = dict(registry._handlers)
    registry.register_review_handler(
        "moderation.wordcategory", on_approve=lambda *a: None, on_reject=lambda *a: None
    )
    fields = {
        "title": "周报",
        "body": "本周工作正常。" * 30 + "欢迎了解 送 审 测 试 词 的详情。" + "其余略。" * 30,
    }
    verdict = services.screen(actor=author, fields=fields, context="portal.article")
    post = WordCategory.objects.create(name="待审帖子")
    services.hold_for_review(
        actor=author, target=post, fields=fields, verdict=verdict, context="portal.article"
    )
    with pytest.raises(services.ContentBlockedError):
        services.screen(actor=author, fields={"body": "含违禁测试词"}, context="portal.comment")
    yield {"admin": admin, "author": author}
    registry._handlers.clear()
    registry._handlers.update(saved)


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_moderation_pages(
    browser: Browser, live_server: Any, moderation_setup: dict[str, Any], size: str, viewport: dict[str, int]
) -> None:
    page = open_page(browser, viewport)
    base = live_server.url

    def check(name: str) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
        screenshot(page, f"{name}-{size}")

    try:
        log_in(page, base, "secadmin", STRONG_PASSWORD)
        page.goto(f"{base}/moderation/")
        expect(page.locator("#words [data-word-id]")).to_have_count(2)
        check("moderation-words")

        page.goto(f"{base}/moderation/try/")
        page.fill("#id_text", "这里有 违-禁-测-试-词 和送审测试词。")
        page.click("#try-form button[type=submit]")
        expect(page.locator("#try-result")).to_have_attribute("data-action", "block")
        expect(page.locator("#try-result mark")).to_have_count(2)
        check("moderation-try")

        page.goto(f"{base}/moderation/reviews/")
        expect(page.locator("[data-review-id] mark")).to_have_text("送 审 测 试 词")
        check("moderation-reviews")

        page.goto(f"{base}/moderation/violations/")
        page.click("#violators a")
        expect(page.locator("[data-violation-id]")).to_have_count(1)
        check("moderation-violator")
    finally:
        page.context.close()
