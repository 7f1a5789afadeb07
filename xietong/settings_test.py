"""Test overlay: fast hashing, immediate jobs, in-memory mail; the database from
``XIETONG_TEST_DATABASE_URL`` when set (PostgreSQL in CI), else SQLite."""

import os

os.environ.setdefault("XIETONG_ENV", "test")
if os.environ.get("XIETONG_TEST_DATABASE_URL"):
    os.environ["XIETONG_DATABASE_URL"] = os.environ["XIETONG_TEST_DATABASE_URL"]

from xietong.settings import *  # noqa: F403
from xietong.settings import HUEY

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
HUEY = {**HUEY, "immediate": True}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Threads of the WebSocket tests must not keep connections open: the test database is
# dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Fixtures sign administrators in with force_login, which never passes the two-factor step;
# the tests of that step switch the rule on themselves (xietong/identity/tests/test_totp.py).
XIETONG_REQUIRE_ADMIN_2FA = False
