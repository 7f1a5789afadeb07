"""The events WebSocket: signed-in users only, a personal group, broadcasts, pushes on commit."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client

from tests.fixtures import grant_role, make_user, run_async
from xietong.asgi import application
from xietong.core import events
from xietong.core.consumers import CLOSE_UNAUTHENTICATED

pytestmark = pytest.mark.django_db(transaction=True)


def session_headers(user: Any) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [(b"cookie", cookie.encode()), (b"origin", b"http://127.0.0.1")]


def communicator(headers: list[tuple[bytes, bytes]]) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, "/ws/events/", headers=headers)


def test_r11_anonymous_socket_is_closed() -> None:
    async def scenario() -> tuple[bool, int | None]:
        socket = communicator([(b"origin", b"http://127.0.0.1")])
        connected, code = await socket.connect()
        return connected, code

    connected, code = run_async(scenario())
    assert not connected
    assert code == CLOSE_UNAUTHENTICATED


def test_foreign_origin_is_refused() -> None:
    user = make_user()
    headers = [h for h in session_headers(user) if h[0] != b"origin"] + [
        (b"origin", b"http://evil.example.com")
    ]

    async def scenario() -> bool:
        connected, _ = await communicator(headers).connect()
        return bool(connected)

    assert run_async(scenario()) is False


def test_push_reaches_only_that_users_tabs() -> None:
    alice, bob = make_user("alice", name="爱丽丝"), make_user("bob", name="鲍勃")

    alice_headers, bob_headers = session_headers(alice), session_headers(bob)

    async def scenario() -> tuple[list[dict[str, Any]], bool]:
        tabs = [communicator(alice_headers) for _ in range(2)]
        other = communicator(bob_headers)
        for socket in [*tabs, other]:
            assert (await socket.connect())[0]
            assert (await socket.receive_json_from())["type"] == "hello"
        await sync_to_async(events.push_to_user)(alice.pk, "notify.count", {"count": 3})
        received = [await tab.receive_json_from(timeout=2) for tab in tabs]
        bob_idle = await other.receive_nothing(timeout=0.2)
        for socket in [*tabs, other]:
            await socket.disconnect()
        return received, bob_idle

    received, bob_idle = run_async(scenario())
    assert received == [{"type": "notify.count", "count": 3}] * 2
    assert bob_idle


def test_push_waits_for_commit_and_is_dropped_on_rollback() -> None:
    alice = make_user("alice", name="爱丽丝")
    headers = session_headers(alice)

    async def scenario() -> list[dict[str, Any]]:
        socket = communicator(headers)
        await socket.connect()
        await socket.receive_json_from()

        def rolled_back_then_committed() -> None:
            try:
                with transaction.atomic():
                    events.push_to_user(alice.pk, "notify.count", {"count": 99})
                    raise RuntimeError("half-way failure")
            except RuntimeError:
                pass
            with transaction.atomic():
                events.push_to_user(alice.pk, "notify.count", {"count": 1})

        await sync_to_async(rolled_back_then_committed)()
        first = await socket.receive_json_from(timeout=2)
        nothing_else = await socket.receive_nothing(timeout=0.2)
        await socket.disconnect()
        assert nothing_else
        return [first]

    assert run_async(scenario()) == [{"type": "notify.count", "count": 1}]


def test_ping_answers_pong() -> None:
    alice = make_user("alice", name="爱丽丝")
    headers = session_headers(alice)

    async def scenario() -> dict[str, Any]:
        socket = communicator(headers)
        await socket.connect()
        await socket.receive_json_from()
        await socket.send_json_to({"type": "ping"})
        reply = await socket.receive_json_from()
        await socket.disconnect()
        return reply  # type: ignore[no-any-return]

    assert run_async(scenario()) == {"type": "pong"}


def test_admin_broadcast_reaches_every_signed_in_tab() -> None:
    admin = make_user("sysadmin", name="系统管理员")
    grant_role(admin, "system_admin")
    staff = make_user("lisi")
    headers = session_headers(staff)

    async def scenario() -> dict[str, Any]:
        socket = communicator(headers)
        await socket.connect()
        await socket.receive_json_from()

        def post() -> int:
            client = Client()
            client.force_login(admin)
            payload = {"message": "今晚 22:00 系统维护", "level": "warning"}
            return client.post("/api/v1/ops/broadcast", payload, content_type="application/json").status_code

        assert await sync_to_async(post)() == 200
        message = await socket.receive_json_from(timeout=2)
        await socket.disconnect()
        return message  # type: ignore[no-any-return]

    message = run_async(scenario())
    assert message == {
        "type": "system.broadcast",
        "message": "今晚 22:00 系统维护",
        "level": "warning",
        "by": "系统管理员",
    }


def test_ordinary_user_cannot_broadcast(user_client: Client) -> None:
    response = user_client.post(
        "/api/v1/ops/broadcast", {"message": "假通知"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_broadcasts_are_audited_and_refusals_too(user_client: Client, staff_client: Client) -> None:
    from xietong.audit.models import Event

    user_client.post("/api/v1/ops/broadcast", {"message": "假通知"}, content_type="application/json")
    staff_client.post("/api/v1/ops/broadcast", {"message": "今晚维护"}, content_type="application/json")
    results = list(Event.objects.filter(action="ops.broadcast.sent").values_list("result", flat=True))
    assert results == ["denied", "success"]


def test_blank_broadcast_refused(staff_client: Client) -> None:
    response = staff_client.post("/api/v1/ops/broadcast", {"message": "   "}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "系统消息不能为空。"


def test_listeners_hear_the_users_and_the_topics_of_a_push() -> None:
    heard: list[tuple[frozenset[int] | None, frozenset[str] | None]] = []

    def listener(user_ids: frozenset[int] | None, topics: frozenset[str] | None) -> None:
        heard.append((user_ids, topics))

    events.on_push(listener)
    try:
        events.push_to_users([(1, "notify.new", {"kind": "workflow.todo"}), (2, "portal.reviewed", {})])
        events.push_to_user(3, "documents.incoming", {"document": 9})
        events.push_to_everyone("system.broadcast", {"message": "停电通知"})
        events.touched([4])
    finally:
        events._listeners.remove(listener)
    # Heard at once (and again after commit, which these autocommitted calls run at once too).
    assert (frozenset({1, 2}), frozenset({"notify", "workflow", "portal"})) in heard
    assert (frozenset({3}), frozenset({"documents"})) in heard
    assert (None, frozenset({"system"})) in heard
    assert (frozenset({4}), None) in heard  # unknown: anything may have changed
