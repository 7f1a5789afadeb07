"""Push events to users' open browser tabs over the channel layer.

Each signed-in WebSocket joins its user's group and the broadcast group. Pushes are sent
after the surrounding transaction commits, so a rolled-back change never reaches a screen.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

BROADCAST_GROUP = "broadcast"

# The event loop of the ASGI server in this process, when there is one. The in-memory
# channel layer's queues belong to that loop, so a push from a WSGI worker thread or a job
# thread must be run on it rather than on a fresh loop of its own.
_server_loop: asyncio.AbstractEventLoop | None = None
_server_thread: int | None = None


def bind_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _server_loop, _server_thread
    _server_loop, _server_thread = loop, threading.get_ident()


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def push_to_user(user_id: int, kind: str, data: dict[str, Any]) -> None:
    """Send ``{"type": kind, ...data}`` to every open tab of one user."""
    _send_on_commit(user_group(user_id), kind, data)


def push_to_everyone(kind: str, data: dict[str, Any]) -> None:
    _send_on_commit(BROADCAST_GROUP, kind, data)


def _send_on_commit(group: str, kind: str, data: dict[str, Any]) -> None:
    message = {"type": "event.push", "payload": {"type": kind, **data}}

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        loop = _server_loop
        if loop is not None and loop.is_running() and threading.get_ident() != _server_thread:
            asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop).result(timeout=10)
        else:
            async_to_sync(layer.group_send)(group, message)

    transaction.on_commit(send)
