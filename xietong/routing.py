"""WebSocket routes of every app, mounted under ``/ws/``."""

from django.urls import path

from xietong.core.consumers import EventsConsumer

websocket_urlpatterns = [
    path("ws/events/", EventsConsumer.as_asgi()),
]
