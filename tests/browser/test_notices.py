"""Notices in the browser, the issue's "done when": a publisher posts a notice that requires a
receipt to a department; in another browser context a member's bell count rises without a
reload, the member confirms, and the publisher's receipt list updates live — at desktop and
phone width, with screenshots.

Live updates travel over the WebSocket, which the WSGI ``live_server`` does not serve: the
platform's ASGI application (pages through a2wsgi, ``/ws/`` through Channels) runs here under
uvicorn in a thread of its own, against the same test database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, STRONG_PASSWORD, log_in, open_page, screenshot
from tests.fixtures import grant_role, place
from xietong.identity.models import User
from xietong.notices.models import Notice, NoticeRecipient
from xietong.org import builtin
from xietong.org.models import DataScope, OrgUnit

pytestmark = pytest.mark.browser


@pytest.fixture
def office(transactional_db: Any) -> dict[str, Any]:
    """张伟 of the 综合办公室 publishes group-wide; 李强 and 周杰 work in 生产技术部."""
    units = OrgUnit.objects
    group = units.add_root(create_kwargs={"name": "华电集团总部", "code": "HQ", "kind": OrgUnit.Kind.GROUP})
    general = units.add_child(units.get(pk=group.pk), create_kwargs={"name": "综合办公室", "code": "HQ-ZH"})
    production = units.add_child(
        units.get(pk=group.pk), create_kwargs={"name": "生产技术部", "code": "HQ-SC"}
    )
    people = {
        "publisher": ("zhangwei", "张伟", general),
        "member": ("liqiang", "李强", production),
        "colleague": ("zhoujie", "周杰", production),
    }
    made: dict[str, Any] = {"production": production}
    for key, (login, name, unit) in people.items():
        user = User.objects.create_user(login, STRONG_PASSWORD, name=name, must_change_password=False)
        place(user, unit)
        made[key] = user
    grant_role(made["publisher"], builtin.NOTICE_PUBLISHER, scope=DataScope.GROUP)
    return made


def _wait_live(page: Page) -> None:
    """The page's WebSocket is open: what the server pushes from now on arrives."""
    expect(page.locator("body")).to_have_attribute("data-live", "on")


def _fits(page: Page, viewport: dict[str, int], name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_notice_with_receipt_bell_rises_member_confirms_publisher_sees_it_live(
    browser: Browser, asgi_server: str, office: dict[str, Any], size: str, viewport: dict[str, int]
) -> None:
    base = asgi_server
    publisher = open_page(browser, viewport)
    member = open_page(browser, viewport)
    title = "关于召开2026年第四季度安全生产工作会议的通知"
    start = timezone.localtime() + dt.timedelta(days=2)
    try:
        # The member is at work with the notices page open, its WebSocket connected.
        log_in(member, base, "liqiang", STRONG_PASSWORD)
        member.goto(f"{base}/notices/")
        _wait_live(member)
        expect(member.locator("#xt-bell [data-unread-count]")).to_be_hidden()

        # The publisher writes a notice to 生产技术部 that asks for a read confirmation.
        log_in(publisher, base, "zhangwei", STRONG_PASSWORD)
        publisher.goto(f"{base}/notices/new/")
        publisher.fill("#id_title", title)
        publisher.fill("#id_starts_at", start.strftime("%Y-%m-%dT09:00"))
        publisher.fill("#id_ends_at", start.strftime("%Y-%m-%dT11:30"))
        publisher.fill("#id_place", "集团总部三楼第一会议室")
        publisher.fill("#audience-search", "生产")
        publisher.locator("#audience-results [data-ref]", has_text="生产技术部").click()
        expect(publisher.locator("#audience-picker .xt-person-chip")).to_have_text(["生产技术部（含下级）"])
        publisher.locator("#id_body-editor").click()
        publisher.keyboard.type("请各部门负责人准时参加，并提前准备本部门安全生产工作汇报材料。")
        publisher.locator("#receipt-mode label", has_text="阅读确认").click()
        expect(publisher.locator("#id_receipt_due")).to_be_visible()
        publisher.fill("#id_receipt_due", (start - dt.timedelta(days=1)).strftime("%Y-%m-%dT17:00"))
        _fits(publisher, viewport, "form")
        screenshot(publisher, f"notice-form-{size}")
        with publisher.expect_navigation():
            publisher.click("#publish-notice")
        expect(publisher.get_by_role("alert")).to_contain_text("通知已发布，共 2 人。")
        notice = Notice.objects.get(title=title)
        _fits(publisher, viewport, "detail")
        screenshot(publisher, f"notice-published-{size}")

        with publisher.expect_navigation():
            publisher.click("#open-receipts")
        _wait_live(publisher)
        expect(publisher.locator("#total-recipients")).to_have_text("2")
        expect(publisher.locator("#total-confirmed")).to_have_text("0")

        # Without a reload, the member's bell counts the new notice (and a toast says what).
        expect(member.locator("#xt-bell [data-unread-count]")).to_have_text("1")
        expect(member.locator("#toast-area")).to_contain_text(title)
        screenshot(member, f"notice-bell-{size}", full_page=False)

        # The member opens it and confirms.
        member.goto(f"{base}/notices/")
        expect(member.locator("#notice-list")).to_contain_text(title)
        expect(member.locator("#notice-list .is-unread")).to_have_count(1)
        _fits(member, viewport, "list")
        screenshot(member, f"notices-list-{size}")
        with member.expect_navigation():
            member.locator("#notice-list a", has_text=title).click()
        expect(member.locator("#xt-bell [data-unread-count]")).to_be_hidden()  # opening read it
        expect(member.locator("#my-receipt")).to_contain_text("请确认已阅读本通知")
        _fits(member, viewport, "member detail")
        screenshot(member, f"notice-to-confirm-{size}")
        # Reading alone already shows on the publisher's page.
        expect(publisher.locator("#total-read")).to_have_text("1")
        with member.expect_navigation():
            member.click("#confirm-read")
        expect(member.locator("#receipt-state")).to_contain_text("确认阅读")
        screenshot(member, f"notice-confirmed-{size}")

        # The publisher's receipt list follows, live.
        expect(publisher.locator("#total-confirmed")).to_have_text("1")
        expect(publisher.locator("#total-unanswered")).to_have_text("1")
        row = publisher.locator("#people-table tr[data-user=liqiang]")
        expect(row).to_contain_text("已确认")
        expect(publisher.locator("#people-table tr[data-user=zhoujie]")).to_contain_text("未确认")
        _fits(publisher, viewport, "receipts")
        screenshot(publisher, f"notice-receipts-{size}")
        copy = NoticeRecipient.objects.get(notice=notice, user=office["member"])
        assert copy.read_at is not None
        assert copy.confirmed_at is not None
    finally:
        publisher.context.close()
        member.context.close()


def _publish_meeting(office: dict[str, Any]) -> Notice:
    """A meeting notice to two departments with a reply and on-site sign-in, some replies given."""
    from xietong.notices import services
    from xietong.notices.models import ReceiptMode, Reply

    finance = OrgUnit.objects.add_child(
        OrgUnit.objects.get(code="HQ"), create_kwargs={"name": "财务资产部", "code": "HQ-CW"}
    )
    for index, name in enumerate(["赵敏", "钱进", "孙丽"]):
        user = User.objects.create_user(f"cw{index}", STRONG_PASSWORD, name=name, must_change_password=False)
        place(user, finance)
    start = timezone.localtime() + dt.timedelta(minutes=30)
    notice = services.notice_publish(
        actor=User.objects.get(username="zhangwei"),
        data=services.NoticeInput(
            title="关于召开2026年度财务预算编制工作布置会的通知",
            body=(
                "<p>各部门：</p><p>为做好2027年度预算编制工作，定于近期召开布置会，请各部门负责人及预算专员参加。</p>"
                "<ol><li>会议内容：部署预算编制口径和时间安排；</li><li>请携带本部门上年度预算执行情况。</li></ol>"
            ),
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
            place="集团总部五楼第二会议室",
            audience=[f"unit:{office['production'].pk}", f"unit:{finance.pk}"],
            receipt_mode=ReceiptMode.ATTEND,
            signin_enabled=True,
        ),
    )
    services.receipt_reply(user=User.objects.get(username="cw0"), notice=notice, reply=Reply.ATTEND)
    services.receipt_reply(
        user=User.objects.get(username="cw1"),
        notice=notice,
        reply=Reply.DECLINE,
        note="外出审计，由孙丽代为参加",
    )
    services.signin(user=User.objects.get(username="cw0"), notice=notice, token=notice.signin_token)
    return notice


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_meeting_reply_sign_in_and_attendance(
    browser: Browser, live_server: Any, office: dict[str, Any], size: str, viewport: dict[str, int]
) -> None:
    """R-64: a member replies 参加 with a note, signs in by the QR code's address; the
    publisher sees replies per department and the attendance list."""
    from concurrent.futures import ThreadPoolExecutor

    # Written from a thread of its own: the pushes after each change must not run inside
    # the event loop Playwright keeps in this thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        notice = pool.submit(_publish_meeting, office).result()
    base = live_server.url
    page = open_page(browser, viewport)
    try:
        log_in(page, base, "liqiang", STRONG_PASSWORD)
        page.goto(f"{base}/notices/{notice.pk}/")
        expect(page.locator("#my-receipt")).to_contain_text("请回复是否参加")
        page.locator("label[for=reply-attend]").click()
        page.fill("#reply-note", "会前提交本部门预算执行情况")
        _fits(page, viewport, "reply form")
        screenshot(page, f"notice-reply-{size}")
        with page.expect_navigation():
            page.click("#send-reply")
        expect(page.locator("#receipt-state")).to_contain_text("参加")
        expect(page.locator("#receipt-state")).to_contain_text("会前提交本部门预算执行情况")

        page.goto(f"{base}/notices/{notice.pk}/sign-in/{notice.signin_token}/")
        with page.expect_navigation():
            page.click("#signin-button")
        expect(page.locator("#signin-done")).to_contain_text("签到成功")
        _fits(page, viewport, "sign-in")
        screenshot(page, f"notice-signin-{size}")
        page.context.clear_cookies()

        log_in(page, base, "zhangwei", STRONG_PASSWORD)
        page.goto(f"{base}/notices/{notice.pk}/receipts/")
        expect(page.locator("#total-attend")).to_have_text("2")
        expect(page.locator("#total-decline")).to_have_text("1")
        expect(page.locator("#total-signed-in")).to_have_text("2")
        expect(page.locator("#unit-table tr[data-unit=财务资产部]")).to_contain_text("3")
        _fits(page, viewport, "receipts")
        screenshot(page, f"notice-receipts-attend-{size}")
        page.goto(f"{base}/notices/{notice.pk}/receipts/?status=signed_in")
        expect(page.locator("#people-table tbody tr")).to_have_count(2)
        page.goto(f"{base}/notices/{notice.pk}/sign-in/code/")
        expect(page.locator("#signin-qr svg")).to_be_visible()
        expect(page.locator("#signin-count")).to_contain_text("2")
        _fits(page, viewport, "code")
        screenshot(page, f"notice-signin-code-{size}")
        page.goto(f"{base}/notices/?box=published")
        expect(page.locator("#notice-list")).to_contain_text("已回执 3/5")
        _fits(page, viewport, "published")
        screenshot(page, f"notices-published-{size}")
    finally:
        page.context.close()
