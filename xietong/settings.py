"""Project settings: one module, every value read from ``XIETONG_*`` variables.

Embedded defaults (SQLite, files on disk, in-memory channel layer, Huey on SQLite) need
nothing installed; ``XIETONG_ENV=production`` refuses insecure values at start-up
(see ``xietong.core.checks`` and ``validate_production`` below).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from xietong import config

BASE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BASE_DIR.parent

ENVIRONMENT = config.raw("ENV", "embedded").lower()
if ENVIRONMENT not in {"embedded", "production", "test"}:
    raise ImproperlyConfigured(f"XIETONG_ENV={ENVIRONMENT!r} 无效：应为 embedded、production 或 test")
PRODUCTION = ENVIRONMENT == "production"

DATA_DIR = config.directory("DATA_DIR", PROJECT_ROOT / "var")
MEDIA_ROOT = config.directory("MEDIA_ROOT", DATA_DIR / "media")
MEDIA_URL = "/media/"
STATIC_ROOT = config.directory("STATIC_ROOT", DATA_DIR / "static")
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").exists() else []

SECRET_KEY = config.secret_key(DATA_DIR, production=PRODUCTION)
# Earlier keys, still accepted for what they signed or sealed (sessions, TOTP secrets) while
# a new key is rolled out: comma-separated.
SECRET_KEY_FALLBACKS = config.word_list("SECRET_KEY_FALLBACKS", [])
DEBUG = config.boolean("DEBUG", default=False)
HOST = config.raw("HOST", "127.0.0.1")
PORT = config.integer("PORT", 8000, minimum=1, maximum=65535)
ALLOWED_HOSTS = config.word_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", HOST]
)
CSRF_TRUSTED_ORIGINS = config.word_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "channels",
    "huey.contrib.djhuey",
    "ninja",
    "treebeard",
    # TOTP devices for two-factor sign-in (IA-06); django-otp's own middleware and login views
    # are not used: xietong.identity.twofactor verifies codes on the project clock.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "xietong.core",
    "xietong.audit",
    "xietong.moderation",
    "xietong.identity",
    "xietong.org",
    "xietong.notify",
    "xietong.files",
    "xietong.portal",
    "xietong.notices",
    "xietong.workflow",
    "xietong.documents",
    "xietong.workbench",
    "xietong.ops",
]

MIDDLEWARE = [
    "xietong.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "xietong.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Ends idle and too-old sessions before anything else looks at the user (SES-01/02).
    "xietong.identity.middleware.SessionLifetimeMiddleware",
    "xietong.identity.middleware.PasswordChangeRequiredMiddleware",
    "xietong.identity.middleware.SecondFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "xietong.urls"
WSGI_APPLICATION = "xietong.wsgi.application"
ASGI_APPLICATION = "xietong.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "xietong.core.context_processors.shell",
                "xietong.identity.context_processors.password_expiry",
            ],
        },
    },
]

DATABASES = {"default": config.database("DATABASE_URL", f"sqlite:///{DATA_DIR / 'xietong.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = config.redis_url("REDIS_URL")
CACHES: dict[str, Any]
CHANNEL_LAYERS: dict[str, Any]
HUEY: dict[str, Any]
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "xietong"},
        }
    }
    HUEY = {"huey_class": "huey.RedisHuey", "name": "xietong", "url": REDIS_URL, "immediate": False}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "xietong",
        "filename": str(DATA_DIR / "jobs.sqlite3"),
        "immediate": False,
    }
HUEY["consumer"] = {
    "workers": config.integer("JOB_WORKERS", 2, minimum=1, maximum=64),
    "worker_type": "thread",
}

_email = config.email("EMAIL_URL", "consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
DEFAULT_FROM_EMAIL = config.raw("EMAIL_FROM", "协同办公平台 <oa@localhost>")

AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = ["xietong.identity.backends.UsernameOrEmployeeNoBackend"]
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "workbench:home"
LOGOUT_REDIRECT_URL = "identity:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# The numbers and switches of these rules come from the security administrator's password
# policy (xietong.identity.policy, page /account/policy/), not from here.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"xietong.identity.passwords.{name}"}
    for name in [
        "MinimumLengthValidator",
        "MaximumLengthValidator",
        "CharacterClassValidator",
        "NumericPasswordValidator",
        "PersonalInfoValidator",
        "UserAttributeSimilarityValidator",
        "CommonPasswordValidator",
        "PatternValidator",
        "PasswordHistoryValidator",
    ]
]
# Links an administrator sends for a password reset work once and for 30 minutes (IA-11).
PASSWORD_RESET_TIMEOUT = 30 * 60

SESSION_COOKIE_NAME = "xietong_session"
# Sessions are read on every request: from the cache (Redis in production), with the database
# as the record that survives a cache flush and that session listings read.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 3600
CSRF_COOKIE_NAME = "xietong_csrftoken"

LANGUAGE_CODE = "zh-hans"
# Each language is named in itself, whatever the current language is.
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "xietong_language"
TIME_ZONE = config.raw("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STORAGES: dict[str, Any] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if config.is_set("S3_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": config.raw("S3_BUCKET"),
            "endpoint_url": config.raw("S3_ENDPOINT_URL") or None,
            "access_key": config.raw("S3_ACCESS_KEY") or None,
            "secret_key": config.raw("S3_SECRET_KEY") or None,
            "region_name": config.raw("S3_REGION") or None,
            "default_acl": None,
            "querystring_auth": True,
        },
    }
# Embedded installs serve static files from the source folders without collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# Behind nginx in production: trust its scheme header and harden cookies.
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = config.boolean("SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = config.integer("HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "xietong.core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
            "json_ensure_ascii": False,
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "json"},
    },
    "root": {"handlers": ["console"], "level": config.raw("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "huey": {"level": "INFO"},
    },
}

NINJA_PAGINATION_PER_PAGE = 50
XIETONG_AUDIT_RETENTION_DAYS = config.integer("AUDIT_RETENTION_DAYS", 180, minimum=180, maximum=3650)
XIETONG_DEMO_PASSWORD = config.raw("DEMO_PASSWORD")

# 密级 labels from the lowest level (0) upwards; a level is an index into this list, so
# operators may rename levels or add higher ones, but never reorder the existing ones.
# Accounts start at level 1 (内部 by default): see xietong.core.classification.
XIETONG_CLASSIFICATION_LABELS = config.word_list(
    "CLASSIFICATION_LABELS", ["公开", "内部", "普通商密", "核心商密"]
)
if not 2 <= len(XIETONG_CLASSIFICATION_LABELS) <= 8 or len(set(XIETONG_CLASSIFICATION_LABELS)) != len(
    XIETONG_CLASSIFICATION_LABELS
):
    raise ImproperlyConfigured(
        "XIETONG_CLASSIFICATION_LABELS 无效：应为 2–8 个互不相同的密级名称，从低到高以逗号分隔，"
        "如 公开,内部,普通商密,核心商密"
    )

# Reverse proxies whose X-Forwarded-For is believed (IPs or CIDRs, e.g. "127.0.0.1,10.0.0.0/24").
# The default, loopback, is where an nginx on the same machine connects from; any other peer
# is taken as the client itself, so a forged header cannot dodge the per-IP lockout.
XIETONG_TRUSTED_PROXIES = config.word_list("TRUSTED_PROXIES", ["127.0.0.1", "::1"])
for _proxy in XIETONG_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"XIETONG_TRUSTED_PROXIES 中的 {_proxy!r} 无效：应为 IP 地址或网段，如 10.0.0.0/24"
        ) from None
# Login-failure lockout: this many failures within the window lock the account (and,
# with the higher IP threshold, the client address) for XIETONG_LOCKOUT_MINUTES.
XIETONG_LOCKOUT_FAILURES = config.integer("LOCKOUT_FAILURES", 5, minimum=1, maximum=100)
XIETONG_LOCKOUT_WINDOW_MINUTES = config.integer("LOCKOUT_WINDOW_MINUTES", 15, minimum=1, maximum=1440)
XIETONG_LOCKOUT_MINUTES = config.integer("LOCKOUT_MINUTES", 30, minimum=1, maximum=1440)
XIETONG_LOCKOUT_IP_FAILURES = config.integer("LOCKOUT_IP_FAILURES", 20, minimum=1, maximum=10000)
# Accounts without a sign-in for this many days are disabled by a nightly job (IA-09).
XIETONG_DORMANT_ACCOUNT_DAYS = config.integer("DORMANT_ACCOUNT_DAYS", 90, minimum=7, maximum=3650)

# Session lifetime, enforced on the server by SessionLifetimeMiddleware (SES-01, SES-02). The
# idle limits may be lowered but never raised above 30 minutes (等保 测评 practice); the
# "admin" values apply to the three administrator tiers (三员).
XIETONG_SESSION_IDLE_MINUTES = config.integer("SESSION_IDLE_MINUTES", 30, minimum=5, maximum=30)
XIETONG_ADMIN_SESSION_IDLE_MINUTES = config.integer("ADMIN_SESSION_IDLE_MINUTES", 15, minimum=5, maximum=30)
XIETONG_SESSION_ABSOLUTE_HOURS = config.integer("SESSION_ABSOLUTE_HOURS", 12, minimum=1, maximum=24)
XIETONG_ADMIN_SESSION_ABSOLUTE_HOURS = config.integer(
    "ADMIN_SESSION_ABSOLUTE_HOURS", 8, minimum=1, maximum=24
)
# SES-05: an administrator-tier account keeps one session; a new sign-in ends the others.
XIETONG_ADMIN_SINGLE_SESSION = config.boolean("ADMIN_SINGLE_SESSION", default=True)
# IA-06: the three administrator tiers must use two-factor sign-in. Off only in the test
# overlay, whose fixtures sign in with force_login (see settings_test).
XIETONG_REQUIRE_ADMIN_2FA = config.boolean("REQUIRE_ADMIN_2FA", default=True)
# Shown as the account issuer in authenticator apps.
OTP_TOTP_ISSUER = config.raw("TOTP_ISSUER", "协同办公平台")
# django-otp's own per-device throttle counts on the wall clock; wrong codes are counted by
# the login lockout instead (IA-05), one mechanism on the project clock.
OTP_TOTP_THROTTLE_FACTOR = 0
# Personal API tokens (IA-05): default and longest validity.
XIETONG_API_TOKEN_DEFAULT_DAYS = 90
XIETONG_API_TOKEN_MAX_DAYS = 365
# Login anomaly flags: working hours in the local time zone (TIME_ZONE), the number of
# failures before a success that counts as a burst, and how long unused makes an account dormant.
XIETONG_WORKING_HOURS = config.raw("WORKING_HOURS", "08:00-20:00")
if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d", XIETONG_WORKING_HOURS):
    raise ImproperlyConfigured(
        f"XIETONG_WORKING_HOURS={XIETONG_WORKING_HOURS!r} 无效：应为 HH:MM-HH:MM，如 08:00-20:00"
    )
XIETONG_ANOMALY_FAILURE_BURST = config.integer("ANOMALY_FAILURE_BURST", 3, minimum=1, maximum=100)
XIETONG_ANOMALY_DORMANT_DAYS = config.integer("ANOMALY_DORMANT_DAYS", 30, minimum=1, maximum=3650)

# Approval time limits count calendar hours or working hours (weekdays 09:00–17:30 minus
# the holiday calendar); a flow may choose for itself in its settings (time_basis).
XIETONG_WORKFLOW_TIME_BASIS = config.raw("WORKFLOW_TIME_BASIS", "calendar").strip().lower()
if XIETONG_WORKFLOW_TIME_BASIS not in ("calendar", "working"):
    raise ImproperlyConfigured(
        f"XIETONG_WORKFLOW_TIME_BASIS={XIETONG_WORKFLOW_TIME_BASIS!r} 无效："
        "应为 calendar（自然时）或 working（工作时）"
    )

# Where users reach the platform, for the links in e-mails and group-robot messages.
XIETONG_SITE_URL = config.raw("SITE_URL", f"http://{HOST}:{PORT}").rstrip("/")
# 急办: recipients who have not opened an urgent notification get it again after this
# many minutes, up to three times (xietong.notify.tasks.resend_urgent).
XIETONG_URGENT_RESEND_MINUTES = config.integer("URGENT_RESEND_MINUTES", 30, minimum=1, maximum=1440)
# hosts the server may send requests to (webhooks of group robots, integrations), as
# exact names, IP literals or ".example.com" for a domain and its subdomains. The default is
# the robot endpoints of DingTalk, WeCom and Feishu/Lark. See xietong.core.outbound.
XIETONG_OUTBOUND_HOSTS = config.word_list(
    "OUTBOUND_HOSTS", ["oapi.dingtalk.com", "qyapi.weixin.qq.com", "open.feishu.cn", "open.larksuite.com"]
)
# An egress proxy for those requests (e.g. http://proxy.corp:3128); the environment's proxy
# variables are ignored so that no request leaves by a route nobody configured.
XIETONG_OUTBOUND_PROXY = config.raw("OUTBOUND_PROXY")

# Uploads (xietong.files): size limits, and the clamd daemon every upload is scanned with. Without
# XIETONG_CLAMD_URL a built-in scanner checks for the EICAR test file, executables and ZIP bombs
# only; production should run clamd (see xietong/files/scanning.py). nginx's client_max_body_size
# must be at least the largest limit.
XIETONG_UPLOAD_MAX_BYTES = config.integer("UPLOAD_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
XIETONG_UPLOAD_IMAGE_MAX_BYTES = config.integer("UPLOAD_IMAGE_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
# The built-in scanner refuses a ZIP (also .docx, .xlsx, …) that unpacks to more than this,
# or whose content is packed more tightly than this ratio: a ZIP bomb.
XIETONG_UPLOAD_ZIP_MAX_UNPACKED_BYTES = config.integer("UPLOAD_ZIP_MAX_UNPACKED_BYTES", 1024**3, minimum=1)
XIETONG_UPLOAD_ZIP_MAX_RATIO = config.integer("UPLOAD_ZIP_MAX_RATIO", 100, minimum=2, maximum=100_000)
XIETONG_CLAMD_URL = config.clamd_url("CLAMD_URL")
XIETONG_CLAMD_TIMEOUT = config.integer("CLAMD_TIMEOUT", 60, minimum=1, maximum=600)

# 公文 PDF layout (xietong.documents.layout.fonts): the licensed GB/T 9704 faces an administrator
# copies here (方正小标宋简体, 仿宋_GB2312, 楷体_GB2312, 黑体 as .ttf/.ttc); without them the free
# fonts-arphic-*/fonts-wqy-zenhei faces are used (docs/gongwen-layout.md).
XIETONG_DOCUMENT_FONTS_DIR = config.directory("DOCUMENT_FONTS_DIR", DATA_DIR / "fonts")


def validate_production() -> None:
    """Refuse insecure production settings before anything is served."""
    if not PRODUCTION:
        return
    problems = []
    if DEBUG:
        problems.append("XIETONG_DEBUG 必须为 false")
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
        problems.append("XIETONG_SECRET_KEY 必须是至少 50 个字符的随机值")
    if not ALLOWED_HOSTS:
        problems.append("必须设置 XIETONG_ALLOWED_HOSTS（逗号分隔的域名）")
    if not REDIS_URL:
        # Pages, WebSockets and jobs run in separate processes in production: without Redis a
        # push from one never reaches another, and each keeps a cache of its own.
        problems.append("必须设置 XIETONG_REDIS_URL（实时推送、缓存和后台任务需要 Redis）")
    if problems:
        raise ImproperlyConfigured("生产环境配置不安全：" + "；".join(problems))


validate_production()
CSRF_FAILURE_VIEW = "xietong.core.views.csrf_failure"
