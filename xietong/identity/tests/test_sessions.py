"""Sessions: idle and absolute timeouts, new ids at sign-in, one session for administrators,
the 「登录设备」 page, ending sessions and their WebSockets (SES-01…SES-05, IA-09)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connections
from django.test import Client
from django.urls import reverse

from tests.fixtures import STRONG_PASSWORD, grant_role, make_user, run_async
from xietong.asgi import application
from xietong.audit.models import Event
from xietong.core import clock
from xietong.core.consumers import CLOSE_UNAUTHENTICATED
from xietong.identity import audit_actions, services
from xietong.identity.models import LoginAttempt, User, UserSession
from xietong.org import builtin

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Monday 09:00 in Beijing
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
PHONE_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1"
ME = "/api/v1/identity/me"
EndReason = UserSession.EndReason


def login(client: Client, username: str = "lisi", *, ip: str = "192.0.2.10", agent: str = AGENT) -> Any:
    response = client.post(
        reverse("identity:login"),
        {"username": username, "password": STRONG_PASSWORD},
        REMOTE_ADDR=ip,
        HTTP_USER_AGENT=agent,
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def signed_in(client: Client) -> bool:
    response = client.get(ME)
    return response.status_code == 200


@pytest.fixture
def secadmin(db: Any) -> User:
    admin = make_user("secadmin", name="安全管理员")
    grant_role(admin, builtin.SECURITY_ADMIN)
    return admin


# SES-03: a new session id at sign-in


@pytest.mark.django_db
def test_ses03_login_issues_a_new_session_id() -> None:
    make_user()
    client = Client()
    # An anonymous session exists before the sign-in (as after a language switch).
    session = client.session
    session["probe"] = 1
    session.save()
    before = str(session.session_key)
    client.cookies[settings.SESSION_COOKIE_NAME] = before
    login(client)
    after = session_key(client)
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    # The old id is anonymous now.
    planted = Client()
    planted.cookies[settings.SESSION_COOKIE_NAME] = before
    assert planted.get(ME).status_code == 401
    assert UserSession.objects.get(session_key=after).ended_at is None


# SES-01: idle timeout


@pytest.mark.django_db
def test_ses01_idle_timeout_30_minutes() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        web, api = Client(), Client()
        login(web)
        login(api, agent=PHONE_AGENT)
    with clock.frozen_at(T0 + 29 * MINUTE):
        assert web.get("/").status_code == 200  # activity: the timer starts again
    with clock.frozen_at(T0 + 29 * MINUTE + 29 * MINUTE):
        assert web.get("/").status_code == 200
    with clock.frozen_at(T0 + 58 * MINUTE + 31 * MINUTE):
        page = web.get("/")
        assert page.status_code == 302
        assert page["Location"].startswith(reverse("identity:login"))
        assert "expired=idle" in page["Location"]
        notice = web.get(page["Location"]).content.decode()
        assert "长时间未操作" in notice
        response = api.get(ME)  # idle since T0
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "session_expired"
    assert not signed_in(web)
    ended = UserSession.objects.filter(user=user, end_reason=EndReason.IDLE)
    assert ended.count() == 2
    assert all(row.ended_at is not None for row in ended)
    logged = LoginAttempt.objects.filter(user=user, result=LoginAttempt.Result.LOGOUT, reason="idle")
    assert logged.count() == 2
    assert Event.objects.filter(action=audit_actions.SESSION_ENDED, details__reason="idle").count() == 2


@pytest.mark.django_db
def test_ses01_administrators_idle_out_after_15_minutes(secadmin: User) -> None:
    with clock.frozen_at(T0):
        admin = Client()
        login(admin, "secadmin")
    with clock.frozen_at(T0 + 14 * MINUTE):
        assert signed_in(admin)
    with clock.frozen_at(T0 + 14 * MINUTE + 16 * MINUTE):
        assert admin.get(ME).status_code == 401


# SES-02: absolute lifetime


@pytest.mark.django_db
def test_ses02_absolute_timeout() -> None:
    with clock.frozen_at(T0):
        make_user()
        client = Client()
        login(client)
    moment = T0
    while moment < T0 + 12 * HOUR - 10 * MINUTE:  # busy all day, a request every 10 minutes
        moment += 10 * MINUTE
        with clock.frozen_at(moment):
            assert signed_in(client), moment
    with clock.frozen_at(T0 + 12 * HOUR + MINUTE):
        response = client.get(ME)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "session_expired"
    assert UserSession.objects.get().end_reason == EndReason.EXPIRED


@pytest.mark.django_db
def test_ses02_administrators_absolute_timeout_is_8_hours(secadmin: User) -> None:
    with clock.frozen_at(T0):
        client = Client()
        login(client, "secadmin")
    moment = T0
    while moment < T0 + 8 * HOUR - 10 * MINUTE:
        moment += 10 * MINUTE
        with clock.frozen_at(moment):
            assert signed_in(client), moment
    with clock.frozen_at(T0 + 8 * HOUR + MINUTE):
        assert client.get("/")["Location"].startswith(reverse("identity:login"))


# SES-05: one session for the administrator tiers; users list and end their own


@pytest.mark.django_db
def test_ses05_admin_single_session(secadmin: User) -> None:
    with clock.frozen_at(T0):
        first, second = Client(), Client()
        login(first, "secadmin", ip="192.0.2.10")
    with clock.frozen_at(T0 + MINUTE):
        login(second, "secadmin", ip="198.51.100.7")
        assert first.get(ME).status_code == 401
        assert signed_in(second)
    old = UserSession.objects.get(session_key__isnull=False, end_reason=EndReason.REPLACED)
    assert str(old.ip) == "192.0.2.10"
    event = Event.objects.get(action=audit_actions.SESSION_ENDED)
    assert event.actor_username == "secadmin"
    assert event.details["reason"] == "replaced"


@pytest.mark.django_db
def test_ses05_ordinary_users_may_have_several_sessions() -> None:
    with clock.frozen_at(T0):
        make_user()
        first, second = Client(), Client()
        login(first)
        login(second, agent=PHONE_AGENT)
        assert signed_in(first)
        assert signed_in(second)


@pytest.mark.django_db
def test_ses05_user_sees_and_ends_own_sessions() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        laptop, phone = Client(), Client()
        login(laptop, ip="192.0.2.10")
        login(phone, ip="198.51.100.7", agent=PHONE_AGENT)
    with clock.frozen_at(T0 + MINUTE):
        page = laptop.get(reverse("identity:sessions")).content.decode()
        assert "Chrome / Windows" in page
        assert "Safari / iOS" in page
        assert "198.51.100.7" in page
        assert "当前设备" in page
        phone_session = UserSession.objects.get(session_key=session_key(phone))
        response = laptop.post(reverse("identity:session_end", args=[phone_session.pk]))
        assert response.status_code == 302
        assert not signed_in(phone)
        assert signed_in(laptop)
    phone_session.refresh_from_db()
    assert phone_session.end_reason == EndReason.ENDED_BY_USER
    assert not Session.objects.filter(session_key=phone_session.session_key).exists()
    assert Event.objects.filter(action=audit_actions.SESSION_ENDED, actor_id=user.pk).exists()


@pytest.mark.django_db
def test_ses05_ending_a_session_needs_a_recent_password_check() -> None:
    with clock.frozen_at(T0):
        make_user()
        laptop, phone = Client(), Client()
        login(laptop)
        login(phone, agent=PHONE_AGENT)
    with clock.frozen_at(T0 + 10 * MINUTE):
        other = UserSession.objects.get(session_key=session_key(phone))
        response = laptop.post(reverse("identity:session_end", args=[other.pk]))
        assert response["Location"].startswith(reverse("identity:confirm"))
        assert signed_in(phone)
        laptop.post(reverse("identity:confirm"), {"password": STRONG_PASSWORD})
        laptop.post(reverse("identity:session_end", args=[other.pk]))
        assert not signed_in(phone)


@pytest.mark.django_db
def test_ses05_end_all_other_sessions() -> None:
    with clock.frozen_at(T0):
        make_user()
        clients = [Client() for _ in range(3)]
        for n, client in enumerate(clients):
            login(client, ip=f"192.0.2.{n + 1}")
        clients[0].post(reverse("identity:sessions_end_others"))
        assert [signed_in(c) for c in clients] == [True, False, False]


@pytest.mark.django_db
def test_logout_ends_the_session_record() -> None:
    with clock.frozen_at(T0):
        make_user()
        client = Client()
        login(client)
        key = session_key(client)
        client.post(reverse("identity:logout"))
    row = UserSession.objects.get(session_key=key)
    assert row.end_reason == EndReason.LOGOUT
    assert row.ended_at == T0
    assert not Event.objects.filter(action=audit_actions.SESSION_ENDED).exists()  # in the login log


# SES-04: administrators end an account's sessions


@pytest.mark.django_db
def test_ses04_account_administrator_ends_a_users_sessions(sysadmin_user: User) -> None:
    with clock.frozen_at(T0):
        user = make_user()
        victim = Client()
        login(victim)
        admin = Client()
        admin.force_login(sysadmin_user)
        url = reverse("identity:user_sessions", args=[user.pk])
        assert "192.0.2.10" in admin.get(url).content.decode()
        admin.post(url)
        assert not signed_in(victim)
    event = Event.objects.get(action=audit_actions.SESSION_ENDED)
    assert event.actor_username == "sysadmin"
    assert event.details["reason"] == "ended_by_admin"


@pytest.mark.django_db
def test_ses04_security_administrator_may_end_sessions_ordinary_users_may_not(secadmin: User) -> None:
    user = make_user()
    other = make_user("wangwu", name="王五")
    url = reverse("identity:user_sessions", args=[user.pk])
    peer = Client()
    peer.force_login(other)
    assert peer.get(url).status_code == 403
    assert peer.post(url).status_code == 403
    admin = Client()
    admin.force_login(secadmin)
    assert admin.get(url).status_code == 200


@pytest.mark.django_db
def test_user_sessions_end_service_for_departures(sysadmin_user: User) -> None:
    user = make_user()
    clients = [Client(), Client()]
    for client in clients:
        login(client)
    assert services.user_sessions_end(user=user, actor=sysadmin_user, reason=EndReason.ACCOUNT_DISABLED) == 2
    assert not any(signed_in(c) for c in clients)
    assert services.user_sessions_end(user=user) == 0  # nothing left; the reason has a default
    assert Event.objects.filter(action=audit_actions.SESSION_ENDED, actor_id=sysadmin_user.pk).count() == 2


@pytest.mark.django_db
def test_ia09_disabling_dormant_accounts_ends_their_sessions() -> None:
    with clock.frozen_at(T0):
        user = make_user(date_joined=T0)
        client = Client()
        client.force_login(user)
        User.objects.filter(pk=user.pk).update(last_login=T0)
    services.accounts_disable_dormant(now=T0 + dt.timedelta(days=settings.XIETONG_DORMANT_ACCOUNT_DAYS + 1))
    assert UserSession.objects.get(user=user).end_reason == EndReason.ACCOUNT_DISABLED


@pytest.mark.django_db
def test_password_change_ends_the_other_sessions_and_keeps_this_one() -> None:
    with clock.frozen_at(T0):
        user = make_user(password_changed_at=T0 - dt.timedelta(days=2))
        here, there = Client(), Client()
        login(here)
        login(there, agent=PHONE_AGENT)
        old_key = session_key(here)
        new_password = "Another#Pass2026x"
        here.post(
            reverse("identity:password_change"),
            {"old_password": STRONG_PASSWORD, "new_password1": new_password, "new_password2": new_password},
        )
        assert session_key(here) != old_key  # a new id at the change (SES-03)
        assert signed_in(here)
        assert not signed_in(there)
    assert UserSession.objects.get(session_key=session_key(here)).ended_at is None
    assert UserSession.objects.filter(user=user, end_reason=EndReason.PASSWORD_CHANGED).count() == 1


# WebSockets of ended and timed-out sessions


def socket_for(client: Client) -> WebsocketCommunicator:
    cookie = f"{settings.SESSION_COOKIE_NAME}={session_key(client)}"
    headers = [(b"cookie", cookie.encode()), (b"origin", b"http://127.0.0.1")]
    return WebsocketCommunicator(application, "/ws/events/", headers=headers)


async def release_connections() -> None:
    # The consumer's database calls run in asgiref's worker thread; close what they left open
    # there, or PostgreSQL refuses to drop the test database at the end of the run.
    await database_sync_to_async(connections.close_all)()


async def closed_with(socket: WebsocketCommunicator) -> int | None:
    message = await socket.receive_output(timeout=3)
    assert message["type"] == "websocket.close", message
    code: int | None = message.get("code")
    await release_connections()
    return code


@pytest.mark.django_db(transaction=True)
def test_ses04_ending_a_session_closes_its_websocket() -> None:
    make_user()
    laptop, phone = Client(), Client()
    login(laptop)
    login(phone, agent=PHONE_AGENT)
    target = UserSession.objects.get(session_key=session_key(phone))

    async def scenario() -> tuple[int | None, bool]:
        phone_socket, laptop_socket = socket_for(phone), socket_for(laptop)
        for socket in (phone_socket, laptop_socket):
            assert (await socket.connect())[0]
            assert (await socket.receive_json_from())["type"] == "hello"

        def end() -> None:
            laptop.post(reverse("identity:session_end", args=[target.pk]))

        from asgiref.sync import sync_to_async

        await sync_to_async(end)()
        code = await closed_with(phone_socket)
        laptop_open = await laptop_socket.receive_nothing(timeout=0.3)
        await laptop_socket.disconnect()
        return code, laptop_open

    code, laptop_open = run_async(scenario())
    assert code == CLOSE_UNAUTHENTICATED
    assert laptop_open


@pytest.mark.django_db(transaction=True)
def test_ses01_websocket_heartbeats_do_not_extend_the_session() -> None:
    with clock.frozen_at(T0):
        make_user()
        client = Client()
        login(client)

    async def scenario() -> tuple[list[str], int | None]:
        socket = socket_for(client)
        with clock.frozen_at(T0 + MINUTE):
            assert (await socket.connect())[0]
            await socket.receive_json_from()
        replies = []
        for minute in range(2, 31, 2):  # a heartbeat "every 2 minutes" up to minute 30
            with clock.frozen_at(T0 + minute * MINUTE):
                await socket.send_json_to({"type": "ping"})
                replies.append((await socket.receive_json_from())["type"])
        with clock.frozen_at(T0 + 31 * MINUTE):
            await socket.send_json_to({"type": "ping"})
            code = await closed_with(socket)
        return replies, code

    replies, code = run_async(scenario())
    assert set(replies) == {"pong"}
    assert code == CLOSE_UNAUTHENTICATED
    with clock.frozen_at(T0 + 31 * MINUTE):
        assert not signed_in(client)


@pytest.mark.django_db(transaction=True)
def test_ses01_websocket_of_an_idle_session_is_refused_on_connect() -> None:
    with clock.frozen_at(T0):
        make_user()
        client = Client()
        login(client)

    async def scenario() -> tuple[bool, int | None]:
        with clock.frozen_at(T0 + 31 * MINUTE):
            connected, code = await socket_for(client).connect()
        await release_connections()
        return bool(connected), code

    assert run_async(scenario()) == (False, CLOSE_UNAUTHENTICATED)


@pytest.mark.django_db(transaction=True)
def test_ses04_disabled_account_socket_closes_at_next_heartbeat() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        client = Client()
        login(client)

    async def scenario() -> int | None:
        socket = socket_for(client)
        with clock.frozen_at(T0 + MINUTE):
            assert (await socket.connect())[0]
            await socket.receive_json_from()

        # database_sync_to_async closes the thread's connection: the test database is dropped
        # at the end of the run.
        await database_sync_to_async(User.objects.filter(pk=user.pk).update)(is_active=False)
        with clock.frozen_at(T0 + 2 * MINUTE):
            await socket.send_json_to({"type": "ping"})
            return await closed_with(socket)

    assert run_async(scenario()) == CLOSE_UNAUTHENTICATED
