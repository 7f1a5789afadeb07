"""Fixtures of the notification tests: staff placed in the org tree, a real SMTP server
(aiosmtpd) and a real HTTP server standing in for the group robots."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from tests.fixtures import make_user, place
from xietong.identity.models import User
from xietong.org.models import OrgUnit, Position


@dataclass
class Staff:
    """Who sits where (``org_tree`` of tests.fixtures):

    office: 王芳 · finance: 赵敏 (primary), 钱进 holds a concurrent post in production ·
    east (company): 孙丽 · production: 李强 (科员), 钱进 (concurrent) · repair (below
    production): 周杰 (班长) · suzhou_works: 吴涛 · production, disabled: 郑伟
    """

    units: dict[str, OrgUnit]
    users: dict[str, User]
    positions: dict[str, Position]

    def ids(self, *keys: str) -> set[int]:
        return {self.users[key].pk for key in keys}


@pytest.fixture
def staff(org_tree: dict[str, OrgUnit]) -> Staff:
    clerk = Position.objects.create(name="科员", rank=2)
    foreman = Position.objects.create(name="班长", rank=3)
    users = {
        "wang": make_user("wangfang", name="王芳", email="wangfang@example.com"),
        "zhao": make_user("zhaomin", name="赵敏", email="zhaomin@example.com"),
        "qian": make_user("qianjin", name="钱进", email="qianjin@example.com"),
        "sun": make_user("sunli", name="孙丽", email="sunli@example.com"),
        "li": make_user("liqiang", name="李强", email="liqiang@example.com"),
        "zhou": make_user("zhoujie", name="周杰", email="zhoujie@example.com"),
        "wu": make_user("wutao", name="吴涛", email=""),
        "zheng": make_user("zhengwei", name="郑伟", email="zhengwei@example.com", is_active=False),
    }
    place(users["wang"], org_tree["office"])
    place(users["zhao"], org_tree["finance"])
    place(users["qian"], org_tree["finance"])
    place(users["qian"], org_tree["production"], position=clerk, primary=False)
    place(users["sun"], org_tree["east"])
    place(users["li"], org_tree["production"], position=clerk)
    place(users["zhou"], org_tree["repair"], position=foreman)
    place(users["wu"], org_tree["suzhou_works"])
    place(users["zheng"], org_tree["production"], position=clerk)
    return Staff(units=org_tree, users=users, positions={"clerk": clerk, "foreman": foreman})


# --------------------------------------------------------------------------- SMTP


@dataclass
class Mailbox:
    """What the SMTP server received, as parsed messages."""

    messages: list[EmailMessage] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def text(self, message: EmailMessage) -> str:
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content())


class _Collector:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.mailbox.messages.append(parsed)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server on loopback, and Django's SMTP backend pointed at it."""
    mailbox = Mailbox(port=free_port())
    controller = Controller(_Collector(mailbox), hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=mailbox.port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
            EMAIL_TIMEOUT=5,
        ):
            yield mailbox
    finally:
        controller.stop()


# --------------------------------------------------------------------------- HTTP


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


@dataclass
class Receiver:
    """A robot endpoint on loopback; ``reply`` (status, JSON) answers every request."""

    base: str
    requests: list[Received] = field(default_factory=list)
    reply: tuple[int, Any] = (200, {"errcode": 0, "errmsg": "ok"})

    def url(self, path: str = "/robot/send?access_token=tok123") -> str:
        return f"{self.base}{path}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = Receiver(base=f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parts = urlsplit(self.path)
            state.requests.append(
                Received(
                    path=parts.path,
                    query={key: values[0] for key, values in parse_qs(parts.query).items()},
                    headers={key.lower(): value for key, value in self.headers.items()},
                    raw=self.rfile.read(length),
                )
            )
            status, answer = state.reply
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # loopback is refused unless the allowlist names this very address.
    with override_settings(XIETONG_OUTBOUND_HOSTS=["127.0.0.1"], XIETONG_SITE_URL="https://oa.example.com"):
        try:
            yield state
        finally:
            server.shutdown()
            server.server_close()
