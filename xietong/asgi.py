"""ASGI entry point: WebSockets under ``/ws/`` through Channels.

Plain HTTP arriving here (the one-port embedded server, or a health probe) is handed to the
WSGI application through a2wsgi: Django's own ASGI handler measured ~6x slower on this kind
of machine, so pages never go through it.
"""

import asyncio
from typing import Any

from xietong.boot import configure_or_exit


def _load() -> Any:
    from django.core.wsgi import get_wsgi_application

    wsgi = get_wsgi_application()  # sets Django up before the routing imports below

    from a2wsgi import WSGIMiddleware
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator

    from xietong.core.events import bind_server_loop
    from xietong.routing import websocket_urlpatterns

    router = ProtocolTypeRouter(
        {
            "http": WSGIMiddleware(wsgi, workers=8),  # type: ignore[arg-type]
            "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        }
    )

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        bind_server_loop(asyncio.get_running_loop())
        await router(scope, receive, send)

    return application


application = configure_or_exit(_load)
