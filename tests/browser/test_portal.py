"""The portal in Chromium: 张伟 writes a news article in the rich-text editor and submits it,
王主任 (head of 综合办公室, the channel's reviewer) approves it, and 李明 of 生产技术部
reads it on the portal home page and comments — with screenshots at desktop and phone size
(no sideways scrolling at 375 px)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page, screenshot
from tests.fixtures import grant_role
from xietong.core import clock
from xietong.files.services import store_upload
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import DataScope, Membership, OrgUnit
from xietong.portal import demo, services
from xietong.portal.models import Article

pytestmark = pytest.mark.browser

TITLE = "集团召开2026年度安全生产表彰大会"


def account(username: str, name: str, unit: OrgUnit, *, head: bool = False) -> User:
    user = User.objects.create_user(username, STRONG_PASSWORD, name=name, must_change_password=False)
    Membership.objects.create(user=user, unit=unit, is_head=head)
    return user


def _populate() -> dict[str, Any]:
    """The organisation, the channels and a lived-in portal (run in a thread of its own: the
    notifications the services send push events, which refuse to start a loop inside
    Playwright's)."""
    root = OrgUnit.objects.add_root(
        create_kwargs={"code": "HQ", "name": "华电集团总部", "kind": OrgUnit.Kind.GROUP}
    )
    office = OrgUnit.objects.add_child(root, create_kwargs={"code": "HQ-ZH", "name": "综合办公室"})
    root = OrgUnit.objects.get(pk=root.pk)  # adding a child moved nothing, but its counts changed
    production = OrgUnit.objects.add_child(root, create_kwargs={"code": "HQ-SC", "name": "生产技术部"})
    publisher = account("zhangwei", "张伟", office)
    reviewer = account("wangzr", "王主任", office, head=True)
    reader = account("liming", "李明", production)
    grant_role(reviewer, builtin.PORTAL_REVIEWER, scope=DataScope.DEPARTMENT)
    channels = services.ensure_default_channels()
    for code in ("xwdt", "tpxw", "gzzd", "cyxz", "djgz", "aqjc", "qywh"):
        channel = channels[code]
        channel.owner_unit = office
        channel.save()
        channel.publishers.add(publisher, reviewer)
    head = User.objects.get(pk=reviewer.pk)

    def publish(code: str, title: str, days: float, **fields: Any) -> None:
        fields.setdefault("body", f"<p>{title}。</p>")
        article = services.article_create(
            actor=head, channel=channels[code], data=services.ArticleInput(title=title, **fields)
        )
        services.article_submit(actor=head, article=article)
        when = clock.now() - dt.timedelta(days=days)
        Article.objects.filter(pk=article.pk).update(publish_at=when, published_at=when)

    for title, colors, motif, days in demo.GALLERY:
        cover = store_upload(
            actor=head,
            upload=SimpleUploadedFile(f"{title}.jpg", demo._cover(colors, motif)),
            context="portal.cover",
            images_only=True,
        )
        publish("tpxw", title, days, cover=cover)
    for item in demo.ARTICLES[:12]:
        if item.channel in ("xwdt", "djgz", "aqjc", "qywh") and not item.audience_units:
            publish(
                item.channel,
                item.title,
                item.days_ago + 1,
                body=item.body,
                summary=item.summary,
                pinned=item.pinned,
            )
    publish("gzzd", "公司差旅费管理办法", 30, effective_from=clock.localdate() - dt.timedelta(days=30))
    template = store_upload(
        actor=head,
        upload=SimpleUploadedFile("会议纪要模板.txt", demo.MINUTES_TEMPLATE.encode()),
        context="portal.attachment",
    )
    publish("cyxz", "会议纪要模板", 3, attachments=[template])
    return {"publisher": publisher, "reviewer": reviewer, "reader": reader}


@pytest.fixture
def people(transactional_db: Any) -> dict[str, Any]:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_populate).result()


def no_sideways_scroll(page: Page, viewport: dict[str, int], name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name


def test_publish_review_and_read_an_article(
    browser: Browser, live_server: Any, people: dict[str, Any]
) -> None:
    base = live_server.url

    # 张伟 writes the article in the editor and submits it.
    writer = open_page(browser, DESKTOP)
    try:
        log_in(writer, base, "zhangwei", STRONG_PASSWORD)
        writer.goto(f"{base}/portal/")
        with writer.expect_navigation():
            writer.click("#portal-write")
        writer.fill("#id_title", TITLE)
        writer.fill("#id_summary", "表彰2026年度安全生产先进集体和先进个人，部署冬季安全生产工作。")
        body = writer.locator(".xt-editor-content .ProseMirror")
        expect(body).to_be_visible()
        body.click()
        writer.keyboard.type("12月1日，集团召开2026年度安全生产表彰大会。")
        writer.keyboard.press("Enter")
        writer.click(".xt-editor-toolbar [data-command=bold]")
        writer.keyboard.type("会议表彰了10个先进集体和36名先进个人。")
        expect(writer.locator(".xt-editor-toolbar [data-command=bold]")).to_have_class("is-active")
        writer.evaluate("window.scrollTo(0, 0)")
        screenshot(writer, "portal-editor-desktop")
        with writer.expect_navigation():
            writer.click("#article-submit")
        expect(writer.locator("#article-status")).to_have_text("待审核")
        expect(writer.locator("#article-body strong")).to_have_text("会议表彰了10个先进集体和36名先进个人。")
        screenshot(writer, "portal-submitted-desktop")
    finally:
        writer.context.close()

    # 王主任 finds it in his queue and approves it.
    reviewer = open_page(browser, DESKTOP)
    try:
        log_in(reviewer, base, "wangzr", STRONG_PASSWORD)
        reviewer.goto(f"{base}/portal/review/")
        expect(reviewer.locator("#review-queue")).to_contain_text(TITLE)
        with reviewer.expect_navigation():
            reviewer.get_by_text(TITLE).click()
        expect(reviewer.locator("#review-panel")).to_be_visible()
        screenshot(reviewer, "portal-review-desktop")
        with reviewer.expect_navigation():
            reviewer.click("#article-approve")
        expect(reviewer.get_by_role("alert")).to_contain_text("文章已发布")
        expect(reviewer.locator("#review-queue")).to_have_count(0)
    finally:
        reviewer.context.close()

    # 李明 reads it on the portal, at desktop and phone size, and comments once.
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(browser, viewport)
        try:
            log_in(page, base, "liming", STRONG_PASSWORD)
            page.goto(f"{base}/portal/")
            news = page.locator("[data-channel=xwdt]")
            expect(news).to_contain_text(TITLE)
            expect(page.locator("#portal-gallery img").first).to_be_visible()
            no_sideways_scroll(page, viewport, f"home-{size}")
            screenshot(page, f"portal-home-{size}")
            with page.expect_navigation():
                news.get_by_text(TITLE).click()
            expect(page.locator("#article-title")).to_have_text(TITLE)
            expect(page.locator("#article-meta")).to_contain_text("综合办公室")
            if size == "desktop":
                page.fill("#comment-form textarea", "向先进学习，守牢安全底线！")
                with page.expect_navigation():
                    page.click("#comment-form button[type=submit]")
                expect(page.get_by_role("alert")).to_contain_text("评论已发表")
            expect(page.locator(".xt-comment")).to_contain_text("向先进学习，守牢安全底线！")
            no_sideways_scroll(page, viewport, f"article-{size}")
            screenshot(page, f"portal-article-{size}")
            page.goto(f"{base}/portal/c/gzzd/")
            expect(page.locator("#article-list")).to_contain_text("公司差旅费管理办法")
            no_sideways_scroll(page, viewport, f"channel-{size}")
            screenshot(page, f"portal-channel-{size}")
        finally:
            page.context.close()

    article = Article.objects.get(title=TITLE)
    assert (article.status, article.reader_count) == (Article.Status.PUBLISHED, 1)


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_editor_works_without_sideways_scrolling(
    browser: Browser, live_server: Any, people: dict[str, Any], size: str, viewport: dict[str, int]
) -> None:
    page = open_page(browser, viewport)
    try:
        log_in(page, live_server.url, "zhangwei", STRONG_PASSWORD)
        page.goto(f"{live_server.url}/portal/new/?channel=xwdt")
        expect(page.locator(".xt-editor-toolbar")).to_be_visible()
        # Limited audience shows the pickers; the date of effect shows for regulations only.
        expect(page.locator("#id_departments")).to_be_hidden()
        page.check("#id_audience_1")
        expect(page.locator("#id_departments")).to_be_visible()
        expect(page.locator("#id_effective_from")).to_be_hidden()
        page.select_option("#id_channel", label="规章制度")
        expect(page.locator("#id_effective_from")).to_be_visible()
        no_sideways_scroll(page, viewport, f"editor-{size}")
        page.evaluate("window.scrollTo(0, 0)")  # sticky bars sit where they belong in the picture
        screenshot(page, f"portal-editor-options-{size}")
        page.goto(f"{live_server.url}/portal/mine/")
        screenshot(page, f"portal-mine-{size}")
        no_sideways_scroll(page, viewport, f"mine-{size}")
    finally:
        page.context.close()
