"""Walk the main pages at desktop and phone size, saving screenshots to test-artifacts/."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import (
    DESKTOP,
    INITIAL_PASSWORD,
    PHONE,
    STRONG_PASSWORD,
    log_in,
    open_page,
    screenshot,
)
from xietong.identity.models import User

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_pages_at_desktop_and_phone_size(
    browser: Browser, live_server: Any, new_employee: User, size: str, viewport: dict[str, int]
) -> None:
    page = open_page(browser, viewport)
    base = live_server.url

    def check(name: str) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
        screenshot(page, f"{name}-{size}")

    try:
        page.goto(f"{base}/account/login/")
        check("login")
        page.fill("#id_username", "zhangwei")
        page.fill("#id_password", "Wrong#Pass2026")
        with page.expect_navigation():
            page.click("button[type=submit]")
        expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
        check("login-error")

        log_in(page, base, "zhangwei", INITIAL_PASSWORD)
        assert urlparse(page.url).path == "/account/password/"
        check("password-forced")
        page.fill("#id_old_password", INITIAL_PASSWORD)
        page.fill("#id_new_password1", "weakpassword42")
        page.fill("#id_new_password2", "weakpassword42")
        with page.expect_navigation():
            page.click("button[type=submit]")
        check("password-forced-error")
        page.fill("#id_old_password", INITIAL_PASSWORD)
        page.fill("#id_new_password1", STRONG_PASSWORD)
        page.fill("#id_new_password2", STRONG_PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert urlparse(page.url).path == "/"
        check("home")

        if size == "phone":
            page.get_by_role("button", name="打开导航").click()
            expect(page.locator("#xt-nav")).to_be_visible()
            page.wait_for_timeout(400)  # the offcanvas slides in
            screenshot(page, f"home-nav-{size}")
            page.locator("#xt-nav .btn-close").click()
            expect(page.locator("#xt-nav")).to_be_hidden()
        page.locator("#xt-user-menu").click()
        expect(page.locator("header .dropdown-menu")).to_be_visible()
        screenshot(page, f"home-menu-{size}", full_page=False)
        page.keyboard.press("Escape")

        page.goto(f"{base}/m/tasks/")
        expect(page.get_by_text("即将上线")).to_be_visible()
        check("coming-soon")

        page.goto(f"{base}/account/password/")
        check("password")

        response = page.goto(f"{base}/no-such-page/")
        assert response is not None
        assert response.status == 404
        check("404")
    finally:
        page.context.close()
