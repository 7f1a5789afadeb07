"""Logging in: the generic failure message and the forced password change of R-06."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import INITIAL_PASSWORD, STRONG_PASSWORD, log_in
from xietong.identity.models import User

pytestmark = pytest.mark.browser


def path_of(page: Page) -> str:
    return urlparse(page.url).path


def test_r06_first_login_forces_password_change(page: Page, live_server: Any, new_employee: User) -> None:
    log_in(page, live_server.url, "zhangwei", INITIAL_PASSWORD)

    # Straight to the password page, without the shell: nothing else is reachable yet.
    assert path_of(page) == "/account/password/"
    expect(page.get_by_text("首次登录或密码已重置")).to_be_visible()
    expect(page.locator("#xt-nav")).to_have_count(0)

    page.goto(f"{live_server.url}/m/documents/")
    assert path_of(page) == "/account/password/"
    page.goto(f"{live_server.url}/")
    assert path_of(page) == "/account/password/"

    # A weak password is refused with a Chinese message naming what is missing.
    page.fill("#id_old_password", INITIAL_PASSWORD)
    page.fill("#id_new_password1", "weakpassword42")
    page.fill("#id_new_password2", "weakpassword42")
    with page.expect_navigation():
        page.click("button[type=submit]:has-text('确认修改')")
    assert path_of(page) == "/account/password/"
    error = page.locator("#id_new_password1_errors").filter(has_text="密码必须包含")
    expect(error).to_be_visible()
    expect(error).to_contain_text("大写字母")
    expect(error).to_contain_text("特殊字符")
    expect(error).not_to_contain_text("小写字母")
    new_employee.refresh_from_db()
    assert new_employee.must_change_password

    # A strong one opens the workbench with the user's name and the left navigation.
    page.fill("#id_old_password", INITIAL_PASSWORD)
    page.fill("#id_new_password1", STRONG_PASSWORD)
    page.fill("#id_new_password2", STRONG_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]:has-text('确认修改')")
    assert path_of(page) == "/"
    expect(page.locator("h1")).to_contain_text("张伟")
    expect(page.locator("#xt-user-menu")).to_contain_text("张伟")
    expect(page.locator("#xt-nav")).to_be_visible()
    expect(page.locator("#xt-nav a[aria-current=page]")).to_contain_text("工作台")
    expect(page.get_by_role("alert").filter(has_text="密码已修改")).to_be_visible()
    new_employee.refresh_from_db()
    assert not new_employee.must_change_password


def test_wrong_password_shows_one_generic_message(page: Page, live_server: Any, employee: User) -> None:
    messages = []
    for username in ("zhangwei", "nobody-here"):
        log_in(page, live_server.url, username, "Wrong#Pass2026")
        assert path_of(page) == "/account/login/"
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("用户名或密码错误")
        messages.append(alert.inner_text().strip())
    # The same words whether or not the account exists: nothing to enumerate.
    assert messages[0] == messages[1]
    assert "不存在" not in messages[0]
    assert "nobody-here" not in messages[1]


def test_login_then_logout(page: Page, live_server: Any, employee: User) -> None:
    log_in(page, live_server.url, "zhangwei", STRONG_PASSWORD)
    assert path_of(page) == "/"
    page.click("#xt-user-menu")
    with page.expect_navigation():
        page.get_by_role("button", name="退出登录").click()
    assert path_of(page) == "/account/login/"
    page.goto(f"{live_server.url}/")
    assert path_of(page) == "/account/login/"
