"""The page shell: left navigation, coming-soon pages, the admin section, the phone layout."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import STRONG_PASSWORD, log_in
from xietong.core import navigation
from xietong.identity.models import User
from xietong.org import builtin

pytestmark = pytest.mark.browser


def nav_hrefs(page: Page) -> list[str]:
    return page.locator("#xt-nav a.nav-link").evaluate_all("links => links.map(a => a.getAttribute('href'))")


def test_home_shows_every_module_of_an_ordinary_user(page: Page, live_server: Any, employee: User) -> None:
    builtin.ensure_builtin_roles()  # the default role, which an earlier test's flush removed
    log_in(page, live_server.url, "zhangwei", STRONG_PASSWORD)
    sections = navigation.modules_for(employee)
    expected = [module for _title, modules in sections for module in modules]
    assert len(expected) >= 13  # every module but the administrators' ones

    nav = page.locator("#xt-nav")
    for title, _modules in sections:
        expect(nav.locator(".section-title", has_text=str(title))).to_be_visible()
    assert nav_hrefs(page) == [module.url for module in expected]
    for module in expected:
        link = nav.locator(f"a.nav-link[href='{module.url}']")
        expect(link).to_contain_text(str(module.label))
        expect(link).to_be_visible()

    # The shortcut grid of the workbench leads to the same modules.
    shortcuts = page.locator("#xt-shortcuts a")
    expect(shortcuts).to_have_count(len(expected) - 1)  # without the workbench itself


def test_coming_soon_page_for_a_module_not_built_yet(page: Page, live_server: Any, employee: User) -> None:
    log_in(page, live_server.url, "zhangwei", STRONG_PASSWORD)
    module = navigation.get("tasks")
    assert module is not None
    assert not module.ready

    with page.expect_navigation() as navigation_info:
        page.locator("#xt-nav").get_by_role("link", name=str(module.label)).click()
    response = navigation_info.value
    assert response is not None
    assert response.status == 200
    assert urlparse(page.url).path == module.url
    expect(page.locator("h1")).to_have_text(str(module.label))
    expect(page.get_by_text("即将上线")).to_be_visible()
    breadcrumb = page.locator("nav[aria-label=breadcrumb]")
    expect(breadcrumb.locator(".breadcrumb-item")).to_have_text(["工作台", str(module.label)])
    expect(page.locator("#xt-nav a[aria-current=page]")).to_contain_text(str(module.label))

    with page.expect_navigation():
        page.get_by_role("link", name="返回工作台").click()
    assert urlparse(page.url).path == "/"


def test_admin_section_hidden_from_ordinary_users(
    page: Page, live_server: Any, employee: User, administrator: User
) -> None:
    admin_modules = [module for title, modules in navigation.modules_for(administrator) for module in modules]
    admin_only = [module for module in admin_modules if module.section == "admin"]
    assert admin_only

    log_in(page, live_server.url, "zhangwei", STRONG_PASSWORD)
    expect(page.locator("#xt-nav")).not_to_contain_text("系统管理")
    hrefs = nav_hrefs(page)
    for module in admin_only:
        assert module.url not in hrefs
    for module in admin_only:
        response = page.goto(f"{live_server.url}{module.url}")
        assert response is not None
        assert response.status in {403, 404}, module.slug

    page.context.clear_cookies()
    log_in(page, live_server.url, "sysadmin", STRONG_PASSWORD)
    expect(page.locator("#xt-nav .section-title", has_text="系统管理")).to_be_visible()
    hrefs = nav_hrefs(page)
    for module in admin_only:
        assert module.url in hrefs


def test_r91_shell_works_at_phone_width(phone_page: Page, live_server: Any, employee: User) -> None:
    page = phone_page
    scroll_width = "document.documentElement.scrollWidth"
    page.goto(f"{live_server.url}/account/login/")
    assert page.evaluate(scroll_width) <= 375
    log_in(page, live_server.url, "zhangwei", STRONG_PASSWORD)
    assert urlparse(page.url).path == "/"
    assert page.evaluate(scroll_width) <= 375

    # The fixed top bar never covers the first line of the page.
    topbar = page.locator("header.xt-topbar").bounding_box()
    heading = page.locator("main h1").bounding_box()
    assert topbar is not None
    assert heading is not None
    assert heading["y"] >= topbar["y"] + topbar["height"]

    # The search box shrinks to an icon; the navigation hides behind the hamburger.
    expect(page.locator("form.xt-search")).to_be_hidden()
    expect(page.locator("header a[aria-label='搜索']")).to_be_visible()
    nav = page.locator("#xt-nav")
    expect(nav).to_be_hidden()
    page.get_by_role("button", name="打开导航").click()
    expect(nav).to_be_visible()
    expect(nav).to_have_class(re.compile(r"\bshow\b"))
    with page.expect_navigation():
        nav.get_by_role("link", name="任务督办").click()
    assert urlparse(page.url).path == "/m/tasks/"
    expect(page.locator("main h1")).to_have_text("任务督办")
    expect(nav).to_be_hidden()
    assert page.evaluate(scroll_width) <= 375

    # The user menu opens and fits on the screen.
    page.locator("#xt-user-menu").click()
    menu = page.locator("header .dropdown-menu")
    expect(menu).to_be_visible()
    expect(menu).to_contain_text("退出登录")
    box = menu.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 375
