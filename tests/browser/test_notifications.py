"""The notification centre in the browser: the list with an urgent item on top, opening one,
marking all read, the preferences page — at desktop and phone width, with screenshots."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page, screenshot
from xietong.identity.models import User
from xietong.notify import services

pytestmark = pytest.mark.browser


def fill_inbox(user: User) -> None:
    # Sent from a thread of its own: Playwright keeps an event loop running in the test's
    # thread, and the pushes that follow each send refuse to start a loop inside another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_send_all, user).result()


def _send_all(user: User) -> None:
    sender = User.objects.create_user(
        "office", STRONG_PASSWORD, name="综合办公室", must_change_password=False
    )
    recipients = [f"user:{user.pk}"]
    services.notify(
        recipients=recipients,
        kind="system",
        title="关于做好国庆节期间安全生产工作的通知",
        body="各单位：请于 9 月 28 日前完成节前安全检查，并将值班表报综合办公室。",
        actor=sender,
    )
    services.notify(recipients=recipients, kind="system", title="系统将于今晚 22:00 至 23:00 升级维护")
    services.notify(
        recipients=recipients,
        kind="system",
        title="防汛紧急通知：今晚 20:00 前各班组到岗待命",
        body="气象台发布暴雨红色预警，请各班组负责人立即组织人员到岗，并在平台回复到岗情况。",
        urgency="urgent",
        actor=sender,
    )
    services.notify(recipients=recipients, kind="notify.test", title="测试消息", body="这是一条测试消息。")
    services.notifications_mark_all_read(user=user)
    services.notify(
        recipients=recipients,
        kind="system",
        title="2026 年度职工体检安排",
        body="体检时间为 10 月 9 日至 10 月 20 日，请按部门顺序前往。",
        actor=sender,
    )
    services.notify(
        recipients=recipients,
        kind="system",
        title="急：台风“海葵”过境，明日停工一天",
        body="请各部门通知到每位员工，值班人员按预案执行。",
        urgency="urgent",
        actor=sender,
    )


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_notification_centre_at_desktop_and_phone_size(
    browser: Browser, live_server: Any, employee: User, size: str, viewport: dict[str, int]
) -> None:
    fill_inbox(employee)
    page = open_page(browser, viewport)
    base = live_server.url

    def check(name: str) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
        screenshot(page, f"{name}-{size}")

    try:
        log_in(page, base, "zhangwei", STRONG_PASSWORD)
        expect(page.locator("#xt-bell [data-unread-count]")).to_have_text("2")
        check("workbench-notifications")

        page.goto(f"{base}/notifications/")
        urgent = page.locator("#urgent-notifications")
        expect(urgent).to_contain_text("急：台风“海葵”过境，明日停工一天")
        expect(page.locator("#notification-list a")).to_have_count(6)
        check("notifications")

        with page.expect_navigation():
            urgent.get_by_text("急：台风“海葵”过境，明日停工一天").click()
        assert urlparse(page.url).path.startswith("/notifications/")
        expect(page.locator("h1")).to_contain_text("急：台风“海葵”过境，明日停工一天")
        expect(page.locator("#xt-bell [data-unread-count]")).to_have_text("1")
        check("notification-detail")

        page.goto(f"{base}/notifications/?filter=unread")
        expect(page.locator("#notification-list a")).to_have_count(1)
        with page.expect_navigation():
            page.click("#mark-all-read")
        expect(page.get_by_role("alert")).to_contain_text("已将 1 条通知标为已读")
        expect(page.locator("#xt-bell [data-unread-count]")).to_be_hidden()

        page.goto(f"{base}/notifications/settings/")
        expect(page.get_by_text("系统通知", exact=True)).to_be_visible()
        check("notification-settings")
    finally:
        page.context.close()


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_webhook_administration(
    browser: Browser, live_server: Any, administrator: User, size: str, viewport: dict[str, int]
) -> None:
    page = open_page(browser, viewport)
    base = live_server.url
    try:
        log_in(page, base, "sysadmin", STRONG_PASSWORD)
        page.goto(f"{base}/notifications/webhooks/new/")
        page.fill("#id_name", "生产调度群")
        page.select_option("#id_format", "dingtalk")
        page.fill("#id_url", "https://oapi.dingtalk.com/robot/send?access_token=abc")
        page.fill("#id_secret", "SEC123")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        screenshot(page, f"webhook-form-{size}")
        with page.expect_navigation():
            page.locator("#webhook-form button[type=submit]").click()
        expect(page.locator("#webhook-list")).to_contain_text("生产调度群")
        expect(page.locator("#webhook-list")).to_contain_text("钉钉群机器人")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        screenshot(page, f"webhooks-{size}")
    finally:
        page.context.close()
