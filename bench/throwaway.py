"""A throw-away PostgreSQL database and an in-process Django set up on it, for the benchmarks
that measure server-side costs without an HTTP server."""

from __future__ import annotations

import atexit
import os
import secrets
import sys
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
PG_URL = "postgres://postgres@127.0.0.1:5432/{name}"


def log(message: str) -> None:
    print(message, flush=True)


class ThrowawayDatabase:
    def __init__(self, purpose: str) -> None:
        self.name = f"xietong_bench_{purpose}_{secrets.token_hex(4)}"
        self.created = False

    def create(self) -> None:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self.created = True
        atexit.register(self.drop)

    def drop(self) -> None:
        if not self.created:
            return
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: S110  (Django may not be set up yet; the drop below is what matters)
            pass
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))
        self.created = False
        log(f"dropped database {self.name}")


def configure(database: ThrowawayDatabase, data_dir: str, **extra_env: str) -> None:
    """Django in this process, on the throw-away database, with the product's settings."""
    for key in [k for k in os.environ if k.startswith("XIETONG_")]:
        del os.environ[key]  # the caller's own installation must not leak in
    os.environ["XIETONG_DATABASE_URL"] = PG_URL.format(name=database.name)
    os.environ["XIETONG_DATA_DIR"] = data_dir
    os.environ.update(extra_env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings_bench"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
