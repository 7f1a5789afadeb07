"""``xietong serve``: the embedded one-port server.

HTTP (through WSGI, see ``xietong.asgi``) and WebSockets on one uvicorn port, with the Huey
consumer's worker threads in the same process so that jobs can push to open tabs over the
in-memory channel layer. Production runs these as separate processes (docs/operations.md).
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from huey.contrib.djhuey import HUEY


class Command(BaseCommand):
    help = "Serve pages, the API and WebSockets on one port, with background jobs in-process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--no-jobs", action="store_true", help="Do not run the job consumer.")

    def handle(self, *args: Any, **options: Any) -> None:
        consumer = None
        if not options["no_jobs"] and not HUEY.immediate:
            huey_settings: dict[str, Any] = settings.HUEY
            consumer = HUEY.create_consumer(**huey_settings.get("consumer", {}))
            # uvicorn owns SIGINT/SIGTERM; it stops first, then the consumer below.
            consumer._set_signal_handlers = lambda: None
            consumer.start()
        # uvicorn re-raises the signal that stopped it; SIGTERM (systemd, docker stop) must
        # unwind like Ctrl-C so the job consumer below is stopped too.
        signal.signal(signal.SIGTERM, _terminate)
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"协同办公平台已启动：{url}  （Ctrl-C 停止）"))
        try:
            uvicorn.run(
                "xietong.asgi:application",
                host=options["host"],
                port=options["port"],
                lifespan="off",
                log_level="warning",
                ws_ping_interval=20,
            )
        except KeyboardInterrupt:
            pass
        finally:
            if consumer is not None:
                consumer.stop(graceful=True)
            self.stdout.write("已停止。")


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
