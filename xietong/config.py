"""Typed readers for the ``XIETONG_*`` environment variables.

Every knob of the platform is read here and nowhere else; a malformed value raises
``ImproperlyConfigured`` with one line that names the variable and what is expected.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

PREFIX = "XIETONG_"
DATABASE_SCHEMES = {"sqlite", "postgres", "postgresql", "pgsql", "mysql", "mariadb"}
EMAIL_SCHEMES = {
    "smtp",
    "smtps",
    "smtp+tls",
    "smtp+ssl",
    "consolemail",
    "filemail",
    "memorymail",
    "dummymail",
}


def raw(name: str, default: str = "") -> str:
    return os.environ.get(PREFIX + name, default).strip()


def is_set(name: str) -> bool:
    return bool(raw(name))


def boolean(name: str, default: bool) -> bool:
    value = raw(name).lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{PREFIX}{name}={value!r} 无效：应为 true 或 false")


def integer(name: str, default: int, *, minimum: int = 0, maximum: int = 2**31) -> int:
    value = raw(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{PREFIX}{name}={value!r} 无效：应为整数") from None
    if not minimum <= number <= maximum:
        raise ImproperlyConfigured(f"{PREFIX}{name}={number} 超出范围 {minimum}–{maximum}")
    return number


def word_list(name: str, default: list[str]) -> list[str]:
    value = raw(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def directory(name: str, default: Path) -> Path:
    path = Path(raw(name) or default).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(f"{PREFIX}{name}={str(path)!r} 无法创建目录：{exc.strerror}") from None
    return path


def database(name: str, default: str) -> dict[str, Any]:
    url = raw(name) or default
    scheme = urlsplit(url).scheme.lower()
    hint = "应为 sqlite:////绝对路径、postgres://用户@主机:端口/库名 或 mysql://用户@主机/库名"
    if scheme not in DATABASE_SCHEMES or "://" not in url:
        raise ImproperlyConfigured(f"{PREFIX}{name} 格式错误（{_redact(url)}）：{hint}")
    try:
        config: dict[str, Any] = environ.Env.db_url_config(url)
    except Exception as exc:  # the parser raises several types for malformed URLs
        raise ImproperlyConfigured(f"{PREFIX}{name} 格式错误（{_redact(url)}）：{exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{PREFIX}{name} 缺少数据库名（{_redact(url)}）：{hint}")
    if scheme == "sqlite":
        config["OPTIONS"] = {
            # WAL lets readers go on while one writer commits; IMMEDIATE avoids
            # "database is locked" upgrades from read to write transactions.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            "transaction_mode": "IMMEDIATE",
        }
    else:
        config["CONN_MAX_AGE"] = integer("DB_CONN_MAX_AGE", 60)
        config["CONN_HEALTH_CHECKS"] = True
    return config


def redis_url(name: str) -> str:
    url = raw(name)
    if url and urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"{PREFIX}{name} 格式错误（{_redact(url)}）：应为 redis://主机:端口/库号")
    return url


def clamd_url(name: str) -> str:
    """Where clamd listens: ``tcp://host:port`` or ``unix:///path/to/clamd.ctl``; empty when unset."""
    url = raw(name)
    if not url:
        return ""
    parts = urlsplit(url)
    hint = "应为 tcp://主机:端口 或 unix:///套接字路径，如 tcp://127.0.0.1:3310"
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{PREFIX}{name}={url!r} 格式错误：{hint}") from None
    if parts.scheme == "tcp" and parts.hostname and port:
        return url
    if parts.scheme == "unix" and not parts.netloc and parts.path.startswith("/"):
        return url
    raise ImproperlyConfigured(f"{PREFIX}{name}={url!r} 格式错误：{hint}")


def email(name: str, default: str) -> dict[str, Any]:
    url = raw(name) or default
    scheme = urlsplit(url).scheme.lower()
    if scheme not in EMAIL_SCHEMES:
        raise ImproperlyConfigured(
            f"{PREFIX}{name} 格式错误（{_redact(url)}）：应为 smtp://用户:密码@主机:端口 或 consolemail://"
        )
    config: dict[str, Any] = environ.Env.email_url_config(url)
    return config


def secret_key(data_dir: Path, *, production: bool) -> str:
    """The configured key; embedded installs get a random one kept in the data folder."""
    value = raw("SECRET_KEY")
    if value:
        return value
    if production:
        raise ImproperlyConfigured(f"生产环境必须设置 {PREFIX}SECRET_KEY（至少 50 个随机字符）")
    key_file = data_dir / "secret.key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _redact(url: str) -> str:
    """Hide a password embedded in a URL before it is printed."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
