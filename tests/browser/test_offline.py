"""R-89: an intranet without internet. Every page loads from our own server alone."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, Request, Response, Route, expect

from tests.browser.conftest import INITIAL_PASSWORD, STRONG_PASSWORD, log_in
from xietong.identity.models import User

pytestmark = pytest.mark.browser

ASSETS_APPLIED = """async () => {
  await document.fonts.ready;
  const iconFaces = await document.fonts.load('16px bootstrap-icons');
  const root = getComputedStyle(document.documentElement);
  const body = getComputedStyle(document.body);
  return {
    bootstrapVariables: root.getPropertyValue('--bs-blue').trim() !== '',
    bodyMargin: body.margin,
    fontFamily: body.fontFamily,
    script: typeof window.bootstrap === 'object' && typeof window.htmx === 'object',
    iconFont: iconFaces.length > 0 && document.fonts.check('16px bootstrap-icons'),
  };
}"""


class Network:
    """Abort and record every request to a host other than the live server's."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.own_host = urlparse(base_url).netloc
        self.blocked: list[str] = []
        self.failed: list[str] = []
        page.context.route("**/*", self.handle)
        page.on("response", self.on_response)
        page.on("requestfailed", self.on_failed)

    def handle(self, route: Route) -> None:
        if urlparse(route.request.url).netloc == self.own_host:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")

    def on_failed(self, request: Request) -> None:
        if urlparse(request.url).netloc == self.own_host:
            self.failed.append(f"{request.failure} {request.url}")


def assert_assets_applied(page: Page) -> None:
    applied = page.evaluate(ASSETS_APPLIED)
    assert applied["bootstrapVariables"], page.url
    assert applied["bodyMargin"] == "0px", page.url  # Bootstrap's reboot
    assert "Microsoft YaHei" in applied["fontFamily"], page.url  # our app.css
    assert applied["script"], page.url
    assert applied["iconFont"], page.url


def test_r89_pages_load_with_outbound_network_blocked(
    page: Page, live_server: Any, new_employee: User
) -> None:
    network = Network(page, live_server.url)

    page.goto(f"{live_server.url}/account/login/")
    assert_assets_applied(page)

    log_in(page, live_server.url, "zhangwei", INITIAL_PASSWORD)
    assert urlparse(page.url).path == "/account/password/"
    assert_assets_applied(page)
    page.fill("#id_old_password", INITIAL_PASSWORD)
    page.fill("#id_new_password1", STRONG_PASSWORD)
    page.fill("#id_new_password2", STRONG_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert urlparse(page.url).path == "/"
    assert_assets_applied(page)

    for path in ("/m/tasks/", "/account/password/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None
        assert response.status == 200
        assert_assets_applied(page)

    response = page.goto(f"{live_server.url}/api/v1/docs")
    assert response is not None
    assert response.status == 200
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("协同 Xietong API")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()

    assert network.blocked == []
    assert network.failed == []


def test_english_switch(page: Page, live_server: Any, employee: User) -> None:
    log_in(page, live_server.url, "zhangwei", STRONG_PASSWORD)
    assert page.get_attribute("html", "lang") == "zh-hans"
    page.locator("#xt-user-menu").click()
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    assert urlparse(page.url).path == "/"
    assert page.get_attribute("html", "lang") == "en"
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    assert cookies.get("xietong_language") == "en"

    # And back again, from the same menu.
    page.locator("#xt-user-menu").click()
    with page.expect_navigation():
        page.locator("header button[name=language][value=zh-hans]").click()
    assert page.get_attribute("html", "lang") == "zh-hans"


def test_r89_api_docs_stay_offline_under_an_intranet_host_name(
    page: Page, live_server: Any, settings: Any
) -> None:
    """Swagger UI calls validator.swagger.io for any host but localhost in some layouts:
    open the docs under an intranet-style host name, proxied to the live server."""
    own = urlparse(live_server.url)
    intranet_host = f"oa.xietong.test:{own.port}"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "oa.xietong.test"]
    blocked: list[str] = []

    def handle(route: Route) -> None:
        url = urlparse(route.request.url)
        if url.netloc == intranet_host:
            response = route.fetch(url=url._replace(netloc=own.netloc).geturl())
            route.fulfill(response=response)
        elif url.netloc == own.netloc:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.context.route("**/*", handle)
    response = page.goto(f"http://{intranet_host}/api/v1/docs")
    assert response is not None
    assert response.status == 200
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("协同 Xietong API")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert blocked == []
