"""Push events to users' open browser tabs over the channel layer.

Each signed-in WebSocket joins its user's group and the broadcast group. Pushes are sent
after the surrounding transaction commits, so a rolled-back change never reaches a screen.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

BROADCAST_GROUP = "broadcast"
#: Group sends awaited together by ``push_to_users``.
PUSH_CHUNK = 500

# The event loop of the ASGI server in this process, when there is one. The in-memory
# channel layer's queues belong to that loop, so a push from a WSGI worker thread or a job
# thread must be run on it rather than on a fresh loop of its own.
_server_loop: asyncio.AbstractEventLoop | None = None
_server_thread: int | None = None


#: Called with the ids of the users an event is pushed to (``None``: everyone) and the
#: event's topics, whether or not a channel layer delivers it: caches of what those events
#: refresh on a page (the workbench's cards) are dropped by the same events. Called twice: at
#: once, so that nothing cached before the change is served again, and after commit, so that
#: nothing read while the change was not yet visible is.
_listeners: list[Callable[[frozenset[int] | None, frozenset[str] | None], None]] = []


def on_push(listener: Callable[[frozenset[int] | None, frozenset[str] | None], None]) -> None:
    """Register ``listener(user_ids, topics)``, called for every push (once per batch).
    ``topics``: the modules the events are about — the first part of each event's type
    (``workflow`` for ``workflow.instance``) and, for a notification, of its kind; ``None``
    when unknown (anything may have changed)."""
    if listener not in _listeners:
        _listeners.append(listener)


def topics_of(events: Iterable[tuple[str, dict[str, Any]]]) -> frozenset[str]:
    """The topics of ``(type, data)`` events: ``notify.new`` of kind ``workflow.todo`` is
    about ``notify`` and ``workflow``."""
    found: set[str] = set()
    for kind, data in events:
        found.add(kind.split(".", 1)[0])
        about = data.get("kind")
        if isinstance(about, str) and about:
            found.add(about.split(".", 1)[0])
    return frozenset(found)


def _tell_listeners(user_ids: frozenset[int] | None, topics: frozenset[str] | None) -> None:
    if not _listeners:
        return

    def tell() -> None:
        for listener in list(_listeners):
            try:
                listener(user_ids, topics)
            except Exception:
                # A listener's failure must not undo the change or stop the push.
                logger.exception("events.listener_failed")

    tell()
    transaction.on_commit(tell, robust=True)


def touched(user_ids: Iterable[int], topics: Iterable[str] | None = None) -> None:
    """What these users' pages show has changed, and their push is still to come (a job after
    commit sends it): the listeners hear of it now, as of a push (``topics``: see ``on_push``)."""
    _tell_listeners(frozenset(user_ids), frozenset(topics) if topics is not None else None)


def bind_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _server_loop, _server_thread
    _server_loop, _server_thread = loop, threading.get_ident()


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_group(session_key: str) -> str:
    """The group of the WebSockets opened by one browser session.

    Named by a hash so that the session key itself never travels through the channel layer.
    """
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def close_session_sockets(session_key: str, reason: str) -> None:
    """Close every WebSocket of one session (after commit), e.g. when the session is ended."""
    _group_send_on_commit(session_group(session_key), {"type": "session.end", "reason": reason})


def push_to_user(user_id: int, kind: str, data: dict[str, Any]) -> None:
    """Send ``{"type": kind, ...data}`` to every open tab of one user."""
    _tell_listeners(frozenset((user_id,)), topics_of([(kind, data)]))
    _send_on_commit(user_group(user_id), kind, data)


def push_to_users(events: Iterable[tuple[int, str, dict[str, Any]]]) -> None:
    """Send ``(user_id, kind, data)`` events, each to every open tab of its user, in one go.

    Every user has a group of their own, so a notice to 20,000 people is 20,000 group sends.
    ``push_to_user`` in a loop would pay one hop into the event loop per send (the bulk of the
    time); here the sends run as one coroutine, ``PUSH_CHUNK`` at a time concurrently, which
    also lets a Redis layer pipeline its publishes.
    """
    events = list(events)
    messages = [
        (user_group(user_id), {"type": "event.push", "payload": {"type": kind, **data}})
        for user_id, kind, data in events
    ]
    if not messages:
        return
    _tell_listeners(
        frozenset(user_id for user_id, _kind, _data in events),
        topics_of((kind, data) for _user_id, kind, data in events),
    )

    async def send_all(layer: Any) -> None:
        for start in range(0, len(messages), PUSH_CHUNK):
            chunk = messages[start : start + PUSH_CHUNK]
            await asyncio.gather(*(layer.group_send(group, message) for group, message in chunk))

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        loop = _server_loop
        if loop is not None and loop.is_running() and threading.get_ident() != _server_thread:
            # Proportional to the batch: the 10 s of a single send would cut a large one short.
            timeout = 10 + len(messages) / 1000
            asyncio.run_coroutine_threadsafe(send_all(layer), loop).result(timeout=timeout)
        else:
            async_to_sync(send_all)(layer)

    transaction.on_commit(send)


def push_to_everyone(kind: str, data: dict[str, Any]) -> None:
    _tell_listeners(None, topics_of([(kind, data)]))
    _send_on_commit(BROADCAST_GROUP, kind, data)


def _send_on_commit(group: str, kind: str, data: dict[str, Any]) -> None:
    _group_send_on_commit(group, {"type": "event.push", "payload": {"type": kind, **data}})


def _group_send_on_commit(group: str, message: dict[str, Any]) -> None:
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
