"""Account security pages in a real browser: two-factor enrolment and sign-in with a code,
the 「登录设备」 page ending another browser's session, access tokens; screenshots saved."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlparse

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page, screenshot
from xietong.identity import twofactor
from xietong.identity.models import SealedTOTPDevice as TOTPDevice
from xietong.identity.models import User

pytestmark = pytest.mark.browser


def code_at(device: TOTPDevice, timestamp: float) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = timestamp
    return f"{totp.token():06d}"


def test_two_factor_enrolment_and_sign_in_with_a_code(
    browser: Browser, live_server: Any, employee: User
) -> None:
    page = open_page(browser, DESKTOP)
    base = live_server.url
    try:
        log_in(page, base, "zhangwei", STRONG_PASSWORD)
        page.click("#xt-user-menu")
        page.get_by_role("link", name="两步验证").click()
        expect(page.locator("#two-factor-status")).to_contain_text("未启用")
        page.get_by_role("link", name="启用两步验证").click()
        expect(page.locator("#totp-qr svg")).to_be_visible()
        screenshot(page, "two-factor-setup-desktop")
        device = TOTPDevice.objects.get(user=employee, confirmed=False)
        assert page.locator("#totp-key").inner_text() == twofactor.manual_key(device)
        page.fill("#id_code", twofactor.current_code(device))
        with page.expect_navigation():
            page.click("button:has-text('验证并启用')")
        expect(page.locator("#recovery-codes li")).to_have_count(10)
        screenshot(page, "two-factor-recovery-codes-desktop")

        page.context.clear_cookies()
        log_in(page, base, "zhangwei", STRONG_PASSWORD)
        assert urlparse(page.url).path == "/account/two-factor/verify/"
        screenshot(page, "two-factor-verify-desktop")
        device.refresh_from_db()
        # Each code works once and enrolment used this step's: the app's next code is within
        # the ±1 step allowed for a phone clock running ahead.
        page.fill("#id_code", code_at(device, time.time() + 30))
        with page.expect_navigation():
            page.click("button[type=submit]:has-text('验证')")
        assert urlparse(page.url).path == "/"
    finally:
        page.context.close()


def test_two_factor_setup_at_phone_size(browser: Browser, live_server: Any, employee: User) -> None:
    page = open_page(browser, PHONE)
    try:
        log_in(page, live_server.url, "zhangwei", STRONG_PASSWORD)
        page.goto(f"{live_server.url}/account/two-factor/setup/")
        expect(page.locator("#totp-qr svg")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(page, "two-factor-setup-phone")
    finally:
        page.context.close()


def test_sessions_page_ends_another_browser(browser: Browser, live_server: Any, employee: User) -> None:
    base = live_server.url
    laptop, phone = open_page(browser, DESKTOP), open_page(browser, PHONE)
    try:
        log_in(phone, base, "zhangwei", STRONG_PASSWORD)
        log_in(laptop, base, "zhangwei", STRONG_PASSWORD)
        laptop.goto(f"{base}/account/sessions/")
        rows = laptop.locator("#session-list tbody tr")
        expect(rows).to_have_count(2)
        expect(laptop.locator("#session-list")).to_contain_text("当前设备")
        screenshot(laptop, "sessions-desktop")
        other = rows.filter(has_not_text="当前设备")
        with laptop.expect_navigation():
            other.get_by_role("button", name="结束会话").click()
        expect(laptop.locator("#session-list tbody tr")).to_have_count(1)
        phone.goto(f"{base}/")
        assert urlparse(phone.url).path == "/account/login/"
    finally:
        laptop.context.close()
        phone.context.close()


def test_access_token_shown_once(browser: Browser, live_server: Any, employee: User) -> None:
    page = open_page(browser, DESKTOP)
    try:
        log_in(page, live_server.url, "zhangwei", STRONG_PASSWORD)
        page.goto(f"{live_server.url}/account/tokens/")
        page.fill("#id_name", "报表同步脚本")
        with page.expect_navigation():
            page.click("button:has-text('创建令牌')")
        token = page.locator("#new-token-value").inner_text()
        assert re.fullmatch(r"xt_[A-Za-z0-9_-]{43}", token)
        screenshot(page, "tokens-desktop")
        page.goto(f"{live_server.url}/account/tokens/")
        expect(page.locator("#new-token-value")).to_have_count(0)
        expect(page.locator("#token-list")).to_contain_text(token[:11])
    finally:
        page.context.close()


def test_administrator_must_enrol_two_factor_and_signs_in_with_it(
    browser: Browser, live_server: Any, administrator: User, settings: Any
) -> None:
    """IA-06: the 三员 cannot reach any page on a password alone."""
    settings.XIETONG_REQUIRE_ADMIN_2FA = True
    page = open_page(browser, DESKTOP)
    base = live_server.url
    try:
        log_in(page, base, "sysadmin", STRONG_PASSWORD)
        assert urlparse(page.url).path == "/account/two-factor/setup/"
        page.goto(f"{base}/ops/status/")
        assert urlparse(page.url).path == "/account/two-factor/setup/"
        device = TOTPDevice.objects.get(user=administrator, confirmed=False)
        page.fill("#id_code", twofactor.current_code(device))
        with page.expect_navigation():
            page.click("button:has-text('验证并启用')")
        expect(page.locator("#recovery-codes li")).to_have_count(10)

        page.context.clear_cookies()
        log_in(page, base, "sysadmin", STRONG_PASSWORD)
        assert urlparse(page.url).path == "/account/two-factor/verify/"
        device.refresh_from_db()
        page.fill("#id_code", code_at(device, time.time() + 30))
        with page.expect_navigation():
            page.click("button[type=submit]:has-text('验证')")
        response = page.goto(f"{base}/ops/status/")
        assert response is not None
        assert response.status == 200
    finally:
        page.context.close()
