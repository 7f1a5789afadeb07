"""The page shell: navigation to every module, coming-soon pages, Chinese error pages."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse

from xietong.core import navigation
from xietong.identity.models import User

pytestmark = pytest.mark.django_db


def test_r86_every_module_reachable_after_one_login(user_client: Client, user: User) -> None:
    home = user_client.get("/")
    assert home.status_code == 200
    html = home.content.decode()
    for _title, modules in navigation.modules_for(user):
        for module in modules:
            assert module.url in html
            assert user_client.get(module.url).status_code == 200, module.slug


def test_unbuilt_module_shows_coming_soon_in_chinese(user_client: Client) -> None:
    response = user_client.get(reverse("core:coming_soon", args=["tasks"]))
    assert response.status_code == 200
    assert "即将上线" in response.content.decode()
    assert "任务督办" in response.content.decode()


def test_unknown_module_is_404(user_client: Client) -> None:
    assert user_client.get(reverse("core:coming_soon", args=["no-such-module"])).status_code == 404


def test_admin_section_hidden_from_ordinary_users(user_client: Client, staff_client: Client) -> None:
    assert "系统管理" not in user_client.get("/").content.decode()
    assert user_client.get(reverse("core:coming_soon", args=["moderation"])).status_code == 404
    assert "系统管理" in staff_client.get("/").content.decode()


def test_pages_require_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("identity:login"))


def test_404_page_is_chinese(user_client: Client) -> None:
    response = user_client.get("/no/such/page/")
    assert response.status_code == 404
    assert "页面不存在" in response.content.decode()


def test_403_page_is_chinese(user_client: Client) -> None:
    response = user_client.get(reverse("ops:status"))
    assert response.status_code == 403
    assert "您没有访问此页面的权限" in response.content.decode()


def test_csrf_failure_page_is_chinese(user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse("identity:logout"))
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()


EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


@pytest.mark.parametrize("path", ["/", "/account/password/", "/m/portal/", "/api/v1/docs"])
def test_r89_pages_reference_no_external_host(user_client: Client, path: str) -> None:
    html = user_client.get(path).content.decode()
    assert not EXTERNAL.search(html), EXTERNAL.findall(html)


def test_r89_login_page_references_no_external_host(client: Client) -> None:
    html = client.get(reverse("identity:login")).content.decode()
    assert not EXTERNAL.search(html)


def test_r91_pages_declare_a_mobile_viewport(user_client: Client) -> None:
    assert (
        'name="viewport" content="width=device-width, initial-scale=1"'
        in user_client.get("/").content.decode()
    )


def test_language_switch_to_english(user_client: Client) -> None:
    response = user_client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = user_client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Workbench" in html


def test_request_id_is_returned_and_kept_from_proxy(user_client: Client) -> None:
    generated = user_client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert (
        user_client.get("/healthz", HTTP_X_REQUEST_ID="nginx-abc-12345")["X-Request-ID"] == "nginx-abc-12345"
    )
    assert user_client.get("/healthz", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"] != "bad id\n"


def test_500_page_renders_without_the_database(rf: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from xietong.core import views

    def no_context_processors(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the 500 page must not run context processors")

    monkeypatch.setattr("xietong.core.context_processors.shell", no_context_processors)
    response = views.server_error(rf.get("/"))
    assert response.status_code == 500
    assert "服务器内部错误" in response.content.decode()
    api = views.server_error(rf.get("/api/v1/x"))
    assert json.loads(api.content)["error"]["code"] == "server_error"


def test_navigation_marks_the_module_of_the_page(user_client: Client) -> None:
    assert user_client.get("/").context["nav_active"] == "workbench"
    assert user_client.get(reverse("core:coming_soon", args=["tasks"])).context["nav_active"] == "tasks"
    assert user_client.get(reverse("org:directory")).context["nav_active"] == "directory"


def test_navigation_draws_current_link_counts_and_coming_soon() -> None:
    built = navigation.Module("x-built", "审<批>", "check2", "work", url_name="workbench:home")
    unbuilt = navigation.Module("x-soon", "任务", "list-task", "work")
    drawn = Template("{% load xietong_nav %}{% nav_menu %}").render(
        Context(
            {
                "nav_sections": [("日常&办公", [built, unbuilt])],
                "nav_active": "x-built",
                "nav_badges": {"x-built": 120},
            }
        )
    )
    assert '<div class="section-title">日常&amp;办公</div>' in drawn
    current = re.search(r'<a class="[^"]*\bactive\b[^"]*" aria-current="page" href="/">(.*?)</a>', drawn)
    assert current is not None
    assert "审&lt;批&gt;" in current.group(1)
    assert 'data-module-count="x-built" title="待处理">99+<' in current.group(1)
    assert drawn.count('aria-current="page"') == 1
    assert re.search(r'href="/m/x-soon/">.*任务</span><span class="soon">筹备中</span>', drawn)


def test_chinese_by_default_whatever_the_browser_language(user_client: Client) -> None:
    html = user_client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "我的待办" in html
