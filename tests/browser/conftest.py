"""Headless Chromium against the live server: one browser per session, one context per test.

Playwright's sync API runs an event loop in the test thread, which makes Django refuse ORM
calls there unless DJANGO_ALLOW_ASYNC_UNSAFE is set; the ORM is only used by fixtures here.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.fixtures import grant_role
from xietong.core import events
from xietong.identity.models import User
from xietong.org import builtin

CHROMIUM = os.environ.get("XIETONG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--lang=zh-CN",  # date pickers and file inputs as a Chinese user sees them
]
INITIAL_PASSWORD = "Initial#Pass2026"
STRONG_PASSWORD = "Xietong#2026strong"
DESKTOP = {"width": 1366, "height": 800}
PHONE = {"width": 375, "height": 812}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

expect.set_options(timeout=10_000)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def asgi_server(transactional_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The whole platform — pages through a2wsgi, ``/ws/`` through Channels — on one free port,
    as the embedded server runs it, against the test database. ``live_server`` serves WSGI
    only, so a test of anything that arrives live over the WebSocket uses this instead."""
    from xietong.asgi import application

    # The application binds the pushes to its event loop; put the old binding back afterwards.
    monkeypatch.setattr(events, "_server_loop", events._server_loop)
    monkeypatch.setattr(events, "_server_thread", events._server_thread)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            ASGIStaticFilesHandler(application),
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, name="asgi-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the ASGI test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as playwright:
        # LANG decides the format of date and time pickers, which the page cannot set.
        environment = {**os.environ, "LANG": "zh_CN.UTF-8", "LANGUAGE": "zh_CN"}
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, env=environment
        )
        yield instance
        instance.close()


def open_page(browser: Browser, viewport: dict[str, int]) -> Page:
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(10_000)
    return context.new_page()


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    """A desktop-sized page in a fresh context (no cookies)."""
    page = open_page(browser, DESKTOP)
    yield page
    page.context.close()


@pytest.fixture
def phone_page(browser: Browser, live_server: Any) -> Iterator[Page]:
    page = open_page(browser, PHONE)
    yield page
    page.context.close()


@pytest.fixture
def new_employee(transactional_db: Any) -> User:
    """张伟 with the initial password an administrator gave him: must change it first."""
    return User.objects.create_user("zhangwei", INITIAL_PASSWORD, name="张伟")


@pytest.fixture
def employee(transactional_db: Any) -> User:
    """张伟 after his first login: an ordinary user with his own password."""
    return User.objects.create_user("zhangwei", STRONG_PASSWORD, name="张伟", must_change_password=False)


@pytest.fixture
def administrator(transactional_db: Any) -> User:
    """系统管理员: the built-in role that opens the 系统管理 section."""
    admin = User.objects.create_user(
        "sysadmin", STRONG_PASSWORD, name="系统管理员", must_change_password=False
    )
    grant_role(admin, builtin.SYSTEM_ADMIN)
    return admin


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Submit the login form and wait for the page the server sends us to."""
    page.goto(f"{base_url}/account/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Save the page to test-artifacts/screenshots/<name>.png for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page, animations="disabled")
