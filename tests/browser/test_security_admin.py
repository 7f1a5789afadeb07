"""The security-administration pages in Chromium: the landing page and the grant form at
desktop and phone size (no sideways scrolling at 375 px), and the unit list that appears only
for the "指定部门" scope."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page, screenshot
from tests.fixtures import grant_role, place
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import OrgUnit, PermissionRequest, Position, Role

pytestmark = pytest.mark.browser


@pytest.fixture
def security_setup(transactional_db: Any) -> dict[str, Any]:
    builtin.ensure_builtin_roles()
    units = OrgUnit.objects
    group = units.add_root(create_kwargs={"name": "集团", "code": "G", "kind": OrgUnit.Kind.GROUP})
    office = units.add_child(group, create_kwargs={"name": "综合办公室", "code": "G-ZH"})
    production = units.add_child(units.get(pk=group.pk), create_kwargs={"name": "生产技术部", "code": "G-SC"})
    admin = User.objects.create_user(
        "secadmin", STRONG_PASSWORD, name="安全管理员", must_change_password=False
    )
    grant_role(admin, builtin.SECURITY_ADMIN)
    place(admin, office)
    person = User.objects.create_user("zhangwei", STRONG_PASSWORD, name="张伟", must_change_password=False)
    place(person, production, position=Position.objects.create(name="专员", rank=2))
    PermissionRequest.objects.create(
        requester=person,
        subject=person,
        role=Role.objects.get(code=builtin.DEPARTMENT_ADMIN),
        role_name="部门管理员",
        scope="department",
        reason="负责本部门账号维护",
    )
    return {"admin": admin, "person": person}


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_landing_page_and_grant_form(
    browser: Browser, live_server: Any, security_setup: dict[str, Any], size: str, viewport: dict[str, int]
) -> None:
    page = open_page(browser, viewport)
    base = live_server.url

    def check(name: str) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
        screenshot(page, f"{name}-{size}")

    try:
        log_in(page, base, "secadmin", STRONG_PASSWORD)
        page.goto(f"{base}/security/")
        cards = page.locator("#security-cards [data-card]")
        expect(cards).to_have_count(6)
        expect(page.locator("[data-card='roles:requests'] .badge")).to_contain_text("1 项待审批")
        check("security-home")

        person = security_setup["person"]
        page.goto(f"{base}/security/grants/users/{person.pk}/new/")
        units = page.locator("#units-field")
        expect(units).to_be_hidden()
        page.select_option("#id_role", label="部门管理员")
        page.select_option("#id_scope", "listed")
        expect(units).to_be_visible()
        check("security-grant-form")
    finally:
        page.context.close()


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_every_security_page_fits_the_screen(
    browser: Browser, live_server: Any, security_setup: dict[str, Any], size: str, viewport: dict[str, int]
) -> None:
    """Tables scroll inside their cards; the page itself never scrolls sideways."""
    page = open_page(browser, viewport)
    base = live_server.url
    person = security_setup["person"]
    row = PermissionRequest.objects.get()
    custom = Role.objects.get(code=builtin.DEPARTMENT_ADMIN)
    pages = {
        "roles": "/security/roles/",
        "role": f"/security/roles/{custom.pk}/",
        "role-edit": f"/security/roles/{custom.pk}/edit/",
        "grants": "/security/grants/?q=张",
        "holder": f"/security/grants/users/{person.pk}/",
        "clearances": "/security/clearances/",
        "requests": "/security/requests/",
        "request": f"/security/requests/{row.pk}/",
    }
    try:
        log_in(page, base, "secadmin", STRONG_PASSWORD)
        for name, path in pages.items():
            page.goto(f"{base}{path}")
            expect(page.locator("h1")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
            screenshot(page, f"security-{name}-{size}")
        page.context.clear_cookies()
        log_in(page, base, "zhangwei", STRONG_PASSWORD)
        for name, path in {"mine": "/security/mine/", "request-form": "/security/mine/request/"}.items():
            page.goto(f"{base}{path}")
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
            screenshot(page, f"security-{name}-{size}")
    finally:
        page.context.close()
