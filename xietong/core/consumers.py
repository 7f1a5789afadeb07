"""The one WebSocket every page opens: server-pushed events for the signed-in user."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from xietong.core.events import BROADCAST_GROUP, user_group

# 4401 mirrors HTTP 401: the browser script stops reconnecting and sends the user to login.
CLOSE_UNAUTHENTICATED = 4401


class EventsConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    groups: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.groups_joined = [user_group(user.pk), BROADCAST_GROUP]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.get_username()})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Heartbeats keep proxies from closing an idle socket; they never touch the session,
        # so an idle tab still times out.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def event_push(self, message: dict[str, Any]) -> None:
        await self.send_json(message["payload"])
