"""举报 in Chromium (R-28, R-29): a colleague reports a post through the report button's modal,
the security administrator hides it from the 举报 queue and records a violation — at desktop
and phone size, with screenshots. The post is a test object on a test page (the live server
runs in this process, so the test's report handler and URLs are the server's)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page, screenshot
from tests.fixtures import grant_role
from xietong.identity.models import User
from xietong.moderation import registry, services
from xietong.moderation.models import Report, Violation, WordCategory
from xietong.moderation.registry import Reported
from xietong.org import builtin

pytestmark = pytest.mark.browser

POST_PAGE = """{% extends "shell.html" %}{% block content %}
<div class="card"><div class="card-body">
  <h1 class="h5">{{ post.name }}</h1>
  <p>{{ post.description }}</p>
  <div class="text-end">{% include "moderation/_report_button.html" with target=post %}</div>
</div></div>
{% include "moderation/_check_hint.html" %}
<div class="card mt-3"><div class="card-body">
  <label class="form-label" for="comment">评论</label>
  <textarea class="form-control" id="comment" rows="2" data-moderation-check="comment"></textarea>
</div></div>
{% endblock %}"""


def post_page(request: HttpRequest, pk: int) -> HttpResponse:
    post = WordCategory.objects.get(pk=pk)
    template = engines["django"].from_string(POST_PAGE)
    return HttpResponse(template.render({"post": post}, request))


urlpatterns = [
    path("tests/posts/<int:pk>/", post_page),
    path("", include("xietong.urls")),
]


@pytest.fixture
def reported_post(transactional_db: Any, settings: Any) -> Iterator[dict[str, Any]]:
    settings.ROOT_URLCONF = __name__
    admin = User.objects.create_user(
        "secadmin", STRONG_PASSWORD, name="安全管理员", must_change_password=False
    )
    grant_role(admin, builtin.SECURITY_ADMIN)
    author = User.objects.create_user("zhangwei", STRONG_PASSWORD, name="张伟", must_change_password=False)
    User.objects.create_user("lisi", STRONG_PASSWORD, name="李四", must_change_password=False)
    insults, _created = WordCategory.objects.get_or_create(
        name="低俗辱骂", defaults={"default_action": "hold"}
    )
    services.word_create(actor=admin, word="蠢货", category=insults)
    post = WordCategory.objects.create(
        name="周末钓鱼活动报名", description="周六早上六点水库集合，自带渔具，报名请在下面回复。"
    )
    saved = dict(registry._report_handlers)
    registry.register_report_handler(
        "moderation.wordcategory",
        describe=lambda obj: Reported(
            title=obj.name, excerpt=obj.description, link=f"/tests/posts/{obj.pk}/", author=author
        ),
        on_hide=lambda obj, moderator, note: WordCategory.objects.filter(pk=obj.pk).update(
            description="已屏蔽"
        ),
        visible_to=lambda obj, user: obj.description != "已屏蔽",
    )
    yield {"post": post, "author": author}
    registry._report_handlers.clear()
    registry._report_handlers.update(saved)


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_r29_the_author_is_warned_before_sending_insulting_words(
    browser: Browser, live_server: Any, reported_post: dict[str, Any], size: str, viewport: dict[str, int]
) -> None:
    page = open_page(browser, viewport)
    try:
        log_in(page, live_server.url, "lisi", STRONG_PASSWORD)
        page.goto(f"{live_server.url}/tests/posts/{reported_post['post'].pk}/")
        page.fill("#comment", "你这个蠢 货")
        hint = page.locator(".xt-moderation-hint")
        expect(hint).to_contain_text("内容包含不文明或敏感用语：“蠢货”")
        screenshot(page, f"check-hint-{size}", full_page=False)
        page.fill("#comment", "收到，谢谢")
        expect(hint).to_be_hidden()
    finally:
        page.context.close()


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_r28_report_through_the_modal_and_hide_from_the_queue(
    browser: Browser, live_server: Any, reported_post: dict[str, Any], size: str, viewport: dict[str, int]
) -> None:
    post = reported_post["post"]
    base = live_server.url

    def fits(page: Any) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]

    page = open_page(browser, viewport)
    try:
        log_in(page, base, "lisi", STRONG_PASSWORD)
        page.goto(f"{base}/tests/posts/{post.pk}/")
        page.get_by_role("button", name="举报").click()
        modal = page.locator(f"#report-moderation-wordcategory-{post.pk}")
        expect(modal).to_be_visible()
        modal.get_by_label("与工作无关").check()
        modal.get_by_label("补充说明").fill("工作群里发钓鱼活动报名")
        fits(page)
        screenshot(page, f"report-modal-{size}", full_page=False)
        with page.expect_navigation():
            modal.get_by_role("button", name="提交举报").click()
        expect(page.get_by_role("alert")).to_contain_text("已提交举报，管理员会尽快处理")
        assert page.url == f"{base}/tests/posts/{post.pk}/"
    finally:
        page.context.close()
    assert Report.objects.get().reason == "unrelated"

    page = open_page(browser, viewport)
    try:
        log_in(page, base, "secadmin", STRONG_PASSWORD)
        page.goto(f"{base}/moderation/reports/")
        card = page.locator("[data-report-id]")
        expect(card).to_contain_text("周末钓鱼活动报名")
        expect(card).to_contain_text("工作群里发钓鱼活动报名")
        expect(page.locator("#report-count")).to_have_text("1")
        severity = card.locator("select[name=severity]")
        expect(severity).to_be_disabled()
        card.get_by_label("登记违规").check()
        expect(severity).to_be_enabled()
        card.get_by_placeholder("处理意见（将告知举报人）").fill("与工作无关，已屏蔽")
        fits(page)
        screenshot(page, f"report-queue-{size}")
        with page.expect_navigation():
            card.get_by_role("button", name="屏蔽").click()
        expect(page.get_by_role("alert")).to_contain_text("已屏蔽该内容")
        expect(page.locator("[data-report-id]")).to_have_count(0)
        page.goto(f"{base}/moderation/reports/?status=hidden")
        expect(page.locator("[data-report-id]")).to_contain_text("已登记违规")
        fits(page)
        screenshot(page, f"report-queue-hidden-{size}")
    finally:
        page.context.close()
    assert Report.objects.get().status == "hidden"
    assert Violation.objects.get().user == reported_post["author"]
