"""Readiness of each backing service, for ``/readyz`` and the operations page."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import connection
from huey.contrib.djhuey import HUEY


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    ms: float
    detail: str


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _cache() -> str:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", 10)
    if cache.get(key) != "1":
        raise RuntimeError("read back a different value")
    cache.delete(key)
    return type(cache).__name__


def _channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")

    async def round_trip() -> None:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "readyz.ping"})
        message = await layer.receive(channel)
        if message.get("type") != "readyz.ping":
            raise RuntimeError("round trip returned another message")

    async_to_sync(round_trip)()
    return type(layer).__name__


def _job_queue() -> str:
    pending = HUEY.pending_count()
    return f"{type(HUEY).__name__}, {pending} pending"


CHECKS: dict[str, Callable[[], str]] = {
    "database": _database,
    "cache": _cache,
    "channel_layer": _channel_layer,
    "job_queue": _job_queue,
}


def readiness() -> list[Check]:
    results = []
    for name, probe in CHECKS.items():
        started = time.perf_counter()
        try:
            detail, ok = probe(), True
        except Exception as exc:  # a probe reports any failure rather than raising
            detail, ok = f"{type(exc).__name__}: {exc}", False
        results.append(Check(name, ok, round((time.perf_counter() - started) * 1000, 1), detail))
    return results
