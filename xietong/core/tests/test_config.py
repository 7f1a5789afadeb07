"""Configuration from XIETONG_* variables: bad values stop start-up with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from xietong import config


def run_xietong(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("XIETONG_", "DJANGO_"))}
    environment |= {"XIETONG_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "xietong", *args], env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "url", ["postgres//nohost", "ftp://example/db", "not a url", "postgres://user@localhost:5432/"]
)
def test_malformed_database_url_stops_with_one_line(tmp_path: Path, url: str) -> None:
    result = run_xietong(tmp_path, "check", XIETONG_DATABASE_URL=url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "XIETONG_DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr


def test_database_url_password_is_not_printed(tmp_path: Path) -> None:
    result = run_xietong(tmp_path, "check", XIETONG_DATABASE_URL="postgres://oa:s3cret@db/")
    assert result.returncode == 2
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"XIETONG_DEBUG": "true", "XIETONG_ALLOWED_HOSTS": "oa.example.com"}, "XIETONG_DEBUG"),
        ({"XIETONG_SECRET_KEY": "short", "XIETONG_ALLOWED_HOSTS": "oa.example.com"}, "XIETONG_SECRET_KEY"),
        ({"XIETONG_ALLOWED_HOSTS": ""}, "XIETONG_ALLOWED_HOSTS"),
        ({"XIETONG_ALLOWED_HOSTS": "oa.example.com", "XIETONG_REDIS_URL": ""}, "XIETONG_REDIS_URL"),
    ],
)
def test_production_refuses_insecure_settings(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    base = {
        "XIETONG_ENV": "production",
        "XIETONG_SECRET_KEY": "k" * 20 + "-long-enough-random-value-0123456789",
    }
    result = run_xietong(tmp_path, "check", **(base | env))
    assert result.returncode == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_production_without_secret_key_refuses(tmp_path: Path) -> None:
    result = run_xietong(tmp_path, "check", XIETONG_ENV="production", XIETONG_ALLOWED_HOSTS="oa.example.com")
    assert result.returncode == 2
    assert "XIETONG_SECRET_KEY" in result.stderr


def test_production_check_deploy_is_clean(tmp_path: Path) -> None:
    result = run_xietong(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        XIETONG_ENV="production",
        XIETONG_SECRET_KEY="x7Hq2-" + "a9Zk3mP0vLr8sT4wY6bN1cD5eF" * 3,
        XIETONG_ALLOWED_HOSTS="oa.example.com",
        XIETONG_REDIS_URL="redis://127.0.0.1:6379/9",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_embedded_secret_key_is_random_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XIETONG_SECRET_KEY", raising=False)
    first = config.secret_key(tmp_path, production=False)
    assert len(first) >= 50
    assert config.secret_key(tmp_path, production=False) == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0


def test_readers_reject_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIETONG_PORT", "eighty")
    with pytest.raises(ImproperlyConfigured, match="XIETONG_PORT"):
        config.integer("PORT", 8000)
    monkeypatch.setenv("XIETONG_DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="XIETONG_DEBUG"):
        config.boolean("DEBUG", default=False)
    monkeypatch.setenv("XIETONG_REDIS_URL", "http://cache")
    with pytest.raises(ImproperlyConfigured, match="XIETONG_REDIS_URL"):
        config.redis_url("REDIS_URL")
    monkeypatch.setenv("XIETONG_EMAIL_URL", "pigeon://coop")
    with pytest.raises(ImproperlyConfigured, match="XIETONG_EMAIL_URL"):
        config.email("EMAIL_URL", "consolemail://")


def test_sqlite_uses_wal_and_immediate_transactions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XIETONG_DATABASE_URL", raising=False)
    database = config.database("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_redis_url_switches_cache_channels_and_jobs(tmp_path: Path) -> None:
    code = (
        "from django.conf import settings as s;"
        "print(s.CACHES['default']['BACKEND'], s.CHANNEL_LAYERS['default']['BACKEND'], s.HUEY['huey_class'])"
    )
    result = run_xietong(tmp_path, "shell", "-c", code, XIETONG_REDIS_URL="redis://127.0.0.1:6379/3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == [
        "django.core.cache.backends.redis.RedisCache",
        "channels_redis.pubsub.RedisPubSubChannelLayer",
        "huey.RedisHuey",
    ]


@pytest.mark.django_db
def test_production_check_refuses_active_superusers(settings: Any) -> None:
    from xietong.core.checks import no_superusers_in_production
    from xietong.identity.models import User

    settings.PRODUCTION = True
    assert no_superusers_in_production() == []
    User.objects.create_superuser("root2", "Root#Pass20261")
    errors = no_superusers_in_production()
    assert [e.id for e in errors] == ["xietong.E001"]
    settings.PRODUCTION = False
    assert no_superusers_in_production() == []
