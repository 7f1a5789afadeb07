"""The many-machine shape: two ASGI processes share the database and Redis, and an event
published through one reaches a WebSocket client connected to the other."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis
from websockets.asyncio.client import connect

from tests.fixtures import run_async

pytestmark = pytest.mark.multiprocess
REDIS_URL = os.environ.get("XIETONG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PASSWORD = "Cluster#Pass2026"
UVICORN_FLAGS = ["--lifespan", "off", "--log-level", "warning"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cluster")


@pytest.fixture(scope="module")
def database_url(data_dir: Path) -> Iterator[str]:
    """A database of its own: a fresh PostgreSQL database when the suite runs on PostgreSQL."""
    server = os.environ.get("XIETONG_TEST_DATABASE_URL", "")
    if not server.startswith("postgres"):
        yield f"sqlite:///{data_dir / 'shared.sqlite3'}"
        return
    import psycopg

    name = f"xietong_cluster_{secrets.token_hex(4)}"
    admin = urlunsplit(urlsplit(server)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "xietong", *args], env=env, check=True, capture_output=True, timeout=180
    )


def wait_until_serving(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on {port} exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise TimeoutError(f"server on {port} did not start")


@pytest.fixture(scope="module")
def cluster(data_dir: Path, database_url: str, redis_url: str) -> Iterator[tuple[int, int]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XIETONG_", "DJANGO_"))}
    env |= {
        "XIETONG_DATA_DIR": str(data_dir),
        "XIETONG_DATABASE_URL": database_url,
        "XIETONG_REDIS_URL": redis_url,
        "XIETONG_SECRET_KEY": secrets.token_urlsafe(50),
        # The administrator here signs in with a password only: this test is about the channel
        # layer across processes; two-factor sign-in has its own tests (identity/tests/test_totp.py).
        "XIETONG_REQUIRE_ADMIN_2FA": "false",
    }
    run(env, "migrate", "--no-input", "-v", "0")
    create = (
        "from xietong.identity.models import User;"
        f"User.objects.create_user('sysadmin', {PASSWORD!r}, name='系统管理员',"
        " must_change_password=False);"
        f"User.objects.create_user('zhangwei', {PASSWORD!r}, name='张伟', must_change_password=False)"
    )
    run(env, "shell", "-c", create)
    run(env, "assign_role", "sysadmin", "system_admin")
    ports = free_port(), free_port()
    servers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "xietong.asgi:application",
                "--port",
                str(port),
                *UVICORN_FLAGS,
            ],
            env=env,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    try:
        for port, server in zip(ports, servers, strict=True):
            wait_until_serving(port, server)
        yield ports
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


def login(port: int, username: str) -> httpx.Client:
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    client.get("/account/login/")
    token = client.cookies["xietong_csrftoken"]
    response = client.post(
        "/account/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"http://127.0.0.1:{port}/account/login/"},
    )
    assert response.status_code == 302, response.text
    return client


def test_event_published_on_one_node_reaches_a_socket_on_the_other(cluster: tuple[int, int]) -> None:
    node_a, node_b = cluster
    admin = login(node_a, "sysadmin")
    employee = login(node_b, "zhangwei")  # the session is in the shared database
    cookie = f"xietong_session={employee.cookies['xietong_session']}"

    async def scenario() -> dict[str, object]:
        async with connect(
            f"ws://127.0.0.1:{node_b}/ws/events/",
            additional_headers={"Cookie": cookie},
            origin=f"http://127.0.0.1:{node_b}",  # type: ignore[arg-type]
        ) as socket_b:
            hello = json.loads(await asyncio.wait_for(socket_b.recv(), 5))
            assert hello == {"type": "hello", "user": "zhangwei"}
            response = await asyncio.to_thread(
                admin.post,
                "/api/v1/ops/broadcast",
                json={"message": "今晚 22:00 系统维护", "level": "warning"},
                headers={"X-CSRFToken": admin.cookies["xietong_csrftoken"]},
            )
            assert response.status_code == 200, response.text
            return json.loads(await asyncio.wait_for(socket_b.recv(), 5))  # type: ignore[no-any-return]

    event = run_async(scenario())
    assert event == {
        "type": "system.broadcast",
        "message": "今晚 22:00 系统维护",
        "level": "warning",
        "by": "系统管理员",
    }


def test_readiness_reports_redis_backed_services(cluster: tuple[int, int]) -> None:
    body = httpx.get(f"http://127.0.0.1:{cluster[0]}/readyz", timeout=5).json()
    assert body["status"] == "ok"
    assert body["checks"]["channel_layer"]["detail"] == "RedisPubSubChannelLayer"
    assert body["checks"]["job_queue"]["detail"].startswith("RedisHuey")
