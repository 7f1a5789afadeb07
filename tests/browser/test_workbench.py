"""The workbench in the browser: the home page at desktop and phone width with every card
filled, and a to-do pushed by a business system through the API appearing live, without a
reload — over the real WebSocket, so the page is served by the ASGI application (uvicorn in
a thread of this process) rather than the WSGI-only ``live_server``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page, screenshot
from tests.fixtures import grant_role, place
from xietong.core import clock, worklist
from xietong.core.worklist import FeedLink, FeedSection, ScheduleEntry, WorkItem, WorkList
from xietong.identity import services as identity_services
from xietong.identity.models import ApiToken, User
from xietong.notify import services as notify_services
from xietong.org import builtin
from xietong.org.models import OrgUnit, Position
from xietong.workbench.models import Shortcut

pytestmark = pytest.mark.browser


@pytest.fixture
def modules() -> Iterator[None]:
    """What the business modules would offer, registered for the test: approvals, documents,
    meetings, portal channels and notices."""
    now = clock.now()
    local = dt.timezone(dt.timedelta(hours=8))
    today = now.astimezone(local).date()

    def at(hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(today, dt.time(hour, minute), tzinfo=local)

    approvals = [
        WorkItem(
            "合同会审：华东分公司 2027 年度设备检修框架协议",
            "/workflow/items/31/",
            at=now - dt.timedelta(minutes=12),
            due=now + dt.timedelta(hours=5),
            detail="发起人：李强 · 生产技术部",
        ),
        WorkItem(
            "联系单签复：苏州公司厂区道路改造",
            "/workflow/items/28/",
            at=now - dt.timedelta(days=2),
            due=now - dt.timedelta(hours=3),
            detail="发起人：陈静 · 苏州工程部",
        ),
        WorkItem(
            "用印申请：2026 年第四季度安全生产责任书", "/workflow/items/25/", at=now - dt.timedelta(hours=3)
        ),
    ]
    documents = [
        WorkItem(
            "关于开展冬季安全生产大检查的通知",
            "/documents/in/118/",
            at=now - dt.timedelta(hours=1),
            urgent=True,
            detail="来文单位：集团安全监察部 · 请阅办",
        ),
        WorkItem(
            "关于印发《差旅费管理办法（2026 年修订）》的通知",
            "/documents/in/117/",
            at=now - dt.timedelta(days=1),
        ),
    ]
    meetings = [
        ScheduleEntry("部门晨会", "/meetings/1/", at(8, 30), at(9), place="综合办公室"),
        ScheduleEntry("季度经营分析会", "/meetings/2/", at(14), at(16), place="三楼第一会议室"),
        ScheduleEntry("安全生产视频调度会", "/meetings/3/", at(16, 30), at(17, 30), place="视频会议"),
    ]
    news = [
        FeedSection(
            "news",
            "新闻动态",
            [
                FeedLink(
                    "集团召开 2026 年度安全生产工作会议",
                    "/portal/a/1/",
                    at=now - dt.timedelta(hours=2),
                    tag="要闻",
                ),
                FeedLink("华东分公司完成迎峰度冬设备检修", "/portal/a/2/", at=now - dt.timedelta(days=1)),
                FeedLink("苏州公司荣获“安全生产先进单位”称号", "/portal/a/3/", at=now - dt.timedelta(days=2)),
                FeedLink("信息中心完成协同办公平台升级", "/portal/a/4/", at=now - dt.timedelta(days=3)),
            ],
            more="/portal/c/news/",
        ),
        FeedSection(
            "rules",
            "规章制度",
            [
                FeedLink("差旅费管理办法（2026 年修订）", "/portal/a/9/", at=now - dt.timedelta(days=5)),
            ],
            more="/portal/c/rules/",
        ),
    ]
    notices = [
        FeedSection(
            "unread",
            "未读公告",
            [
                FeedLink(
                    "关于 2027 年元旦放假安排的通知",
                    "/notices/21/",
                    at=now - dt.timedelta(hours=4),
                    tag="综合办公室",
                ),
                FeedLink(
                    "关于开展消防应急演练的通知",
                    "/notices/20/",
                    at=now - dt.timedelta(days=1),
                    tag="急",
                    urgent=True,
                ),
            ],
            count=2,
        )
    ]
    with worklist.isolated(keep={"workbench.external"}):
        worklist.register_todos(
            "workflow.approvals",
            "审批",
            lambda user, limit: WorkList(3, approvals[:limit], "/workflow/"),
            icon="check2-square",
            order=10,
        )
        worklist.register_todos(
            "documents.inbox",
            "公文",
            lambda user, limit: WorkList(2, documents[:limit], "/documents/"),
            icon="file-earmark-text",
            order=20,
        )
        worklist.register_schedule("meetings.today", "会议", lambda user, day: meetings, icon="people")
        worklist.register_feed("portal.latest", "门户资讯", lambda user, limit: news)
        worklist.register_feed(
            "notices.unread", "通知公告", lambda user, limit: notices, card=worklist.FEED_NOTICES
        )
        yield


def _in_thread(function: Any, *args: Any) -> Any:
    # Playwright keeps an event loop running in the test's thread: the pushes that follow a
    # notification refuse to start one inside it, so the ORM work runs in a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


def _set_up_people(employee: User) -> str:
    root = OrgUnit.objects.add_root(create_kwargs={"code": "G", "name": "集团", "kind": OrgUnit.Kind.GROUP})
    office = OrgUnit.objects.add_child(
        root, create_kwargs={"code": "G-ZH", "name": "综合办公室", "kind": OrgUnit.Kind.DEPARTMENT}
    )
    place(employee, office, position=Position.objects.create(name="主管", rank=50))
    for index, (name, url, icon) in enumerate(
        [
            ("ERP 系统", "http://erp.example.internal/", "boxes"),
            ("财务共享", "http://fssc.example.internal/", "cash-coin"),
            ("人力资源", "http://hr.example.internal/", "people"),
            ("安全生产监控", "http://safety.example.internal/", "fire"),
            ("档案管理", "http://archives.example.internal/", "journal-text"),
        ]
    ):
        Shortcut.objects.create(name=name, url=url, icon=icon, order=index)
    sender = User.objects.create_user(
        "office", STRONG_PASSWORD, name="综合办公室", must_change_password=False
    )
    for title, urgency in (
        ("关于做好岁末年初安全生产工作的通知", "normal"),
        ("防寒潮紧急通知：今晚 20:00 前完成设备巡检", "urgent"),
    ):
        notify_services.notify(
            recipients=[f"user:{employee.pk}"], kind="system", title=title, urgency=urgency, actor=sender
        )
    account = User.objects.create_user(
        "erp_api", STRONG_PASSWORD, name="ERP 接口", must_change_password=False
    )
    grant_role(account, builtin.INTEGRATION)
    _row, token = identity_services.api_token_create(
        user=account, name="待办同步", scope=ApiToken.Scope.WRITE, days=30
    )
    return token


def _no_overflow(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_workbench_at_desktop_and_phone_width(
    browser: Browser, asgi_server: str, employee: User, modules: None, size: str, viewport: dict[str, int]
) -> None:
    _in_thread(_set_up_people, employee)
    page = open_page(browser, viewport)
    try:
        log_in(page, asgi_server, "zhangwei", STRONG_PASSWORD)
        expect(page.locator("h1")).to_contain_text("张伟")
        expect(page.locator("#wb-stat-todos strong")).to_have_text("5")
        expect(page.locator("#wb-stat-unread strong")).to_have_text("2")
        expect(page.locator("#wb-stat-schedule strong")).to_have_text("3")
        todos = page.locator("#wb-todo-list > li:visible")
        expect(todos.first).to_contain_text("关于开展冬季安全生产大检查的通知")  # urgent first
        expect(todos.nth(1)).to_contain_text("联系单签复")  # then overdue
        expect(page.locator("#wb-systems a")).to_have_count(5)
        _no_overflow(page, viewport["width"])

        todo_box = page.locator("#wb-todos").bounding_box()
        schedule_box = page.locator("#wb-schedule").bounding_box()
        assert todo_box
        assert schedule_box
        if size == "desktop":  # two columns: the schedule beside the to-dos
            assert schedule_box["x"] > todo_box["x"] + todo_box["width"] - 1
        else:  # one column: the schedule under the to-dos
            assert schedule_box["y"] >= todo_box["y"] + todo_box["height"] - 1
            assert abs(schedule_box["x"] - todo_box["x"]) < 2
        screenshot(page, f"workbench-{size}")

        # The source tabs filter the list; the chosen tab shows the provider's "查看全部".
        page.locator("#wb-todos [data-tab='workflow.approvals']").click()
        expect(page.locator("#wb-todo-list > li:visible")).to_have_count(3)
        expect(page.locator("#wb-todos .wb-foot:visible a")).to_have_attribute("href", "/workflow/")
        page.locator("#xt-notifications [data-tab='notices-unread-unread']").click()
        expect(page.locator("#xt-notifications")).to_contain_text("关于 2027 年元旦放假安排的通知")
        page.locator("#wb-news [data-tab='portal-latest-rules']").click()
        expect(page.locator("#wb-news")).to_contain_text("差旅费管理办法（2026 年修订）")
        _no_overflow(page, viewport["width"])
        screenshot(page, f"workbench-tabs-{size}")
    finally:
        page.context.close()


def test_r88_to_do_pushed_through_the_api_appears_live(
    browser: Browser, asgi_server: str, employee: User, modules: None
) -> None:
    token = _in_thread(_set_up_people, employee)
    page = open_page(browser, DESKTOP)
    card_requests: list[str] = []
    page.on(
        "request",
        lambda request: "/workbench/cards/todos/" in request.url and card_requests.append(request.url),
    )
    try:
        log_in(page, asgi_server, "zhangwei", STRONG_PASSWORD)
        expect(page.locator("body")).to_have_attribute("data-live", "on")  # the WebSocket is open
        page.evaluate("window.__notReloaded = true")
        expect(page.locator("#wb-stat-todos strong")).to_have_text("5")

        # One batch of three: one workbench.todos event and three notify.new in a burst.
        response = page.request.put(
            f"{asgi_server}/api/v1/workbench/todos",
            headers={"Authorization": f"Bearer {token}"},
            data={
                "system": "erp",
                "system_name": "ERP 系统",
                "items": [
                    {
                        "external_id": f"PO-2026-11{n}",
                        "user": "zhangwei",
                        "title": title,
                        "link": f"http://erp.example.internal/po/{n}",
                        "urgent": n == 1,
                    }
                    for n, title in enumerate(
                        [
                            "采购申请 PO-2026-110 待审批",
                            "采购申请 PO-2026-111（急）待审批",
                            "采购申请 PO-2026-112 待审批",
                        ]
                    )
                ],
            },
        )
        assert response.status == 200, response.text()
        assert response.json()["created"] == 3

        expect(page.locator("#wb-todo-list")).to_contain_text("采购申请 PO-2026-111（急）待审批")
        expect(page.locator("#wb-todo-list > li:visible").first).to_contain_text(
            "采购申请 PO-2026-111（急）待审批"
        )
        expect(page.locator("#wb-stat-todos strong")).to_have_text("8")
        # The urgent one is told on its own, the other two together.
        expect(page.locator("#xt-bell [data-unread-count]")).to_have_text("4")
        expect(page.locator("#xt-notifications")).to_contain_text("【ERP 系统】您有 2 条新待办")
        expect(page.locator("#xt-notifications")).to_contain_text(
            "【ERP 系统】采购申请 PO-2026-111（急）待审批"
        )
        assert page.evaluate("window.__notReloaded") is True
        page.wait_for_timeout(1500)  # any further refresh the burst might cause has happened by now
        assert len(card_requests) == 1, card_requests  # the burst cost one request
        screenshot(page, "workbench-live-push")
    finally:
        page.context.close()


def test_an_empty_workbench_looks_intentional(page: Page, live_server: Any, employee: User) -> None:
    """A new employee: nothing to do, nothing scheduled, nothing unread — each card says so."""
    with worklist.isolated(keep={"workbench.external"}):
        log_in(page, live_server.url, "zhangwei", STRONG_PASSWORD)
        expect(page.locator("#wb-todos")).to_contain_text("待办已全部处理")
        expect(page.locator("#wb-schedule")).to_contain_text("今天没有日程安排")
        expect(page.locator("#xt-notifications")).to_contain_text("没有未读通知")
        expect(page.locator("#wb-news")).to_contain_text("暂无最新资讯")
        _no_overflow(page, DESKTOP["width"])
        screenshot(page, "workbench-empty-desktop")


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_the_administrator_adds_a_shortcut_everyone_sees(
    browser: Browser,
    live_server: Any,
    administrator: User,
    employee: User,
    size: str,
    viewport: dict[str, int],
) -> None:
    page = open_page(browser, viewport)
    base = live_server.url
    try:
        log_in(page, base, "sysadmin", STRONG_PASSWORD)
        page.goto(f"{base}/workbench/shortcuts/new/")
        page.fill("#id_name", "财务共享")
        page.fill("#id_url", "javascript:alert(1)")
        page.locator("label[title='财务']").click()  # the cash-coin icon in the picker
        expect(page.locator(".wb-preview .bi-cash-coin")).to_be_visible()
        expect(page.locator(".wb-preview")).to_contain_text("财务共享")
        expect(page.locator("#audience-lists")).to_be_hidden()
        page.locator("label", has_text="指定部门或角色").click()
        expect(page.locator("#audience-lists")).to_be_visible()
        page.locator("label", has_text="全员").click()
        _no_overflow(page, viewport["width"])
        screenshot(page, f"shortcut-form-{size}")
        with page.expect_navigation():
            page.locator("#shortcut-form button[type=submit]").click()
        expect(page.locator("#shortcut-form")).to_contain_text("访问地址须以 http:// 或 https:// 开头")
        page.fill("#id_url", "http://fssc.example.internal/")
        with page.expect_navigation():
            page.locator("#shortcut-form button[type=submit]").click()
        expect(page.locator("#shortcut-list")).to_contain_text("财务共享")
        _no_overflow(page, viewport["width"])
        screenshot(page, f"shortcuts-{size}")

        page.context.clear_cookies()
        log_in(page, base, "zhangwei", STRONG_PASSWORD)
        tile = page.locator("#wb-systems a", has_text="财务共享")
        expect(tile).to_have_attribute("href", "http://fssc.example.internal/")
        expect(tile).to_have_attribute("target", "_blank")
        expect(page.locator("#wb-manage-shortcuts")).to_have_count(0)
    finally:
        page.context.close()


def test_an_aged_card_is_painted_at_once_and_corrected_after_load(
    page: Page, live_server: Any, employee: User
) -> None:
    """A card older than the cache's minute, which no event outdated, is shown with the page and
    fetched afresh as soon as the page has loaded: what nothing announced (here, a to-do list
    changed behind the workbench's back) is corrected without a reload."""
    items = [WorkItem("用印申请：第一季度安全生产责任书", "/workflow/items/1/")]
    with worklist.isolated():
        worklist.register_todos("fake.todos", "审批", lambda user, limit: WorkList(len(items), list(items)))
        log_in(page, live_server.url, "zhangwei", STRONG_PASSWORD)
        expect(page.locator("#wb-todos")).to_contain_text("第一季度安全生产责任书")
        items[0] = WorkItem("用印申请：第二季度安全生产责任书", "/workflow/items/2/")
        card_requests: list[str] = []
        page.on(
            "request",
            lambda request: card_requests.append(request.url) if "/workbench/cards/" in request.url else None,
        )
        with clock.frozen_at(clock.now() + dt.timedelta(minutes=2)):
            page.reload()
            expect(page.locator("#wb-todos")).to_contain_text("第二季度安全生产责任书")
        assert any(url.endswith("/workbench/cards/todos/") for url in card_requests), card_requests
