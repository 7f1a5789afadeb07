"""Live pushes over the events WebSocket: a new notification reaches every open tab of each
recipient with the new unread count, after commit; reading one updates the other tabs."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from tests.fixtures import make_user, run_async
from xietong.asgi import application
from xietong.core.tests.test_events import session_headers
from xietong.notify import services
from xietong.notify.models import Notification, Preference

pytestmark = pytest.mark.django_db(transaction=True)


async def open_tab(headers: list[tuple[bytes, bytes]]) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/events/", headers=headers)
    connected, _code = await socket.connect()
    assert connected
    assert (await socket.receive_json_from())["type"] == "hello"
    return socket


def test_new_notification_reaches_every_tab_of_each_recipient_only() -> None:
    alice, bob, carol = (
        make_user("alice", name="爱丽丝"),
        make_user("bob", name="鲍勃"),
        make_user("carol", name="卡罗尔"),
    )
    headers = {user.username: session_headers(user) for user in (alice, bob, carol)}

    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
        alice_tabs = [await open_tab(headers["alice"]) for _ in range(2)]
        bob_tab, carol_tab = await open_tab(headers["bob"]), await open_tab(headers["carol"])

        def send() -> None:
            with transaction.atomic():
                services.notify(
                    recipients=[f"user:{alice.pk}", f"user:{bob.pk}"],
                    kind="system",
                    title="明日上午 9:00 召开安全例会",
                    link="/meetings/1/",
                )

        await sync_to_async(send)()
        alice_events = [await tab.receive_json_from(timeout=3) for tab in alice_tabs]
        bob_event = await bob_tab.receive_json_from(timeout=3)
        carol_idle = await carol_tab.receive_nothing(timeout=0.3)
        for socket in [*alice_tabs, bob_tab, carol_tab]:
            await socket.disconnect()
        return alice_events, bob_event, carol_idle

    alice_events, bob_event, carol_idle = run_async(scenario())
    mine = Notification.objects.get(user=alice)
    expected = {
        "type": "notify.new",
        "id": mine.pk,
        "kind": "system",
        "kind_label": "系统通知",
        "title": "明日上午 9:00 召开安全例会",
        "urgency": "normal",
        "round": 0,
        "link": f"/notifications/{mine.pk}/",
        "count": 1,
    }
    assert alice_events == [expected, expected]
    assert bob_event["type"] == "notify.new"
    assert bob_event["count"] == 1
    assert carol_idle
    assert mine.channels & Notification.PUSHED


def test_nothing_is_pushed_or_kept_when_the_sender_rolls_back() -> None:
    alice = make_user("alice", name="爱丽丝")
    headers = session_headers(alice)

    async def scenario() -> bool:
        tab = await open_tab(headers)

        def send_then_fail() -> None:
            try:
                with transaction.atomic():
                    services.notify(recipients=[f"user:{alice.pk}"], kind="system", title="不该出现")
                    raise RuntimeError("the business change failed")
            except RuntimeError:
                pass

        await sync_to_async(send_then_fail)()
        idle = await tab.receive_nothing(timeout=0.3)
        await tab.disconnect()
        return bool(idle)

    assert run_async(scenario())
    assert not Notification.objects.exists()


def test_pop_up_turned_off_still_updates_the_count_but_urgent_pops_up() -> None:
    alice = make_user("alice", name="爱丽丝")
    Preference.objects.create(user=alice, kind="system", channel="in_app", enabled=False)
    headers = session_headers(alice)

    async def scenario() -> list[dict[str, Any]]:
        tab = await open_tab(headers)
        await sync_to_async(services.notify)(recipients=[f"user:{alice.pk}"], kind="system", title="例行通知")
        await sync_to_async(services.notify)(
            recipients=[f"user:{alice.pk}"], kind="system", title="紧急停电", urgency="urgent"
        )
        received = [await tab.receive_json_from(timeout=3) for _ in range(2)]
        await tab.disconnect()
        return received

    quiet, urgent = run_async(scenario())
    assert quiet == {"type": "notify.count", "count": 1}
    assert urgent["type"] == "notify.new"
    assert urgent["urgency"] == "urgent"
    assert urgent["count"] == 2


def test_reading_in_one_tab_updates_the_count_in_the_others() -> None:
    alice = make_user("alice", name="爱丽丝")
    services.notify(recipients=[f"user:{alice.pk}"], kind="system", title="一")
    services.notify(recipients=[f"user:{alice.pk}"], kind="system", title="二")
    first = Notification.objects.filter(user=alice).order_by("pk").first()
    assert first is not None
    headers = session_headers(alice)

    async def scenario() -> list[dict[str, Any]]:
        tab = await open_tab(headers)
        await sync_to_async(services.notification_mark_read)(user=alice, ids=[first.pk])
        after_one = await tab.receive_json_from(timeout=3)
        await sync_to_async(services.notifications_mark_all_read)(user=alice)
        after_all = await tab.receive_json_from(timeout=3)
        await tab.disconnect()
        return [after_one, after_all]

    assert run_async(scenario()) == [
        {"type": "notify.count", "count": 1},
        {"type": "notify.count", "count": 0},
    ]
