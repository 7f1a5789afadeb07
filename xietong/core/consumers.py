"""The one WebSocket every page opens: server-pushed events for the signed-in user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from xietong.core import clock
from xietong.core.events import BROADCAST_GROUP, session_group, user_group

# 4401 mirrors HTTP 401: the browser script stops reconnecting and sends the user to login.
CLOSE_UNAUTHENTICATED = 4401

#: Is the session with this key still a valid sign-in of this user? Called in a worker thread
#: (it may query). ``xietong.identity`` registers the real check at start-up (timeouts,
#: ended sessions, disabled accounts); core imports no other app, so it cannot call it directly.
SessionCheck = Callable[[str, int], bool]
_session_check: SessionCheck | None = None

# Heartbeats come every 25 s per tab; re-reading the session on every one would cost a query
# per tab every 25 s for nothing, since the timeouts are minutes long.
RECHECK_AFTER = dt.timedelta(seconds=50)


def set_session_check(check: SessionCheck | None) -> None:
    global _session_check
    _session_check = check


def _session_alive(session_key: str | None, user_id: int) -> bool:
    if not session_key:
        return False
    check = _session_check
    return True if check is None else check(session_key, user_id)


class EventsConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    groups: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        session = self.scope.get("session")
        self.session_key: str | None = getattr(session, "session_key", None)
        self.user_id: int = user.pk
        # A timed-out or ended session may still carry a cookie: refuse it here, not only at
        # the next page load (SES-01, SES-04).
        if not await self._still_signed_in():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.groups_joined = [user_group(user.pk), BROADCAST_GROUP]
        if self.session_key:
            # Ending the session (logout, an administrator, a new admin sign-in) closes its sockets.
            self.groups_joined.append(session_group(self.session_key))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.get_username()})

    async def _still_signed_in(self) -> bool:
        self.checked_at = clock.now()
        return bool(await database_sync_to_async(_session_alive)(self.session_key, self.user_id))

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Heartbeats keep proxies from closing an idle socket; they never touch the session,
        # so an idle tab still times out. They are when the socket notices that it has.
        if isinstance(content, dict) and content.get("type") == "ping":
            if clock.now() - self.checked_at >= RECHECK_AFTER and not await self._still_signed_in():
                await self.close(code=CLOSE_UNAUTHENTICATED)
                return
            await self.send_json({"type": "pong"})

    async def event_push(self, message: dict[str, Any]) -> None:
        await self.send_json(message["payload"])

    async def session_end(self, message: dict[str, Any]) -> None:
        await self.close(code=CLOSE_UNAUTHENTICATED)
