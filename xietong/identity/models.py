"""Accounts. One account is one employee; an administrator creates it (no sign-up)."""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from xietong.core import classification, clock, sealing
from xietong.identity import policy

# IA-08: names that attackers try first and that would look like shared or system accounts;
# no account may carry them and a login with them fails like an unknown name.
RESERVED_USERNAMES = frozenset({"admin", "administrator", "root", "sa", "system", "test", "guest"})


def is_reserved_username(value: str) -> bool:
    return fold_username(value) in RESERVED_USERNAMES


def fold_username(value: str) -> str:
    """The form in which two login names are compared: NFKC, then case-folded."""
    return unicodedata.normalize("NFKC", value).casefold().strip()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username__iexact=fold_username(username or ""))

    def create_user(self, username: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(username=fold_username(username), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("name", username)
        return self.create_user(username, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    username = models.CharField(_("用户名"), max_length=64, unique=True)
    employee_no = models.CharField(_("工号"), max_length=32, unique=True, null=True, blank=True)
    name = models.CharField(_("姓名"), max_length=64)
    email = models.EmailField(_("电子邮箱"), blank=True)
    mobile = models.CharField(_("手机号码"), max_length=20, blank=True)
    is_active = models.BooleanField(_("有效"), default=True)
    is_staff = models.BooleanField(_("管理员"), default=False)
    # 最高可知悉密级 (AC-08): the highest 密级 this account may view, download or print.
    # Changed only by the security administrator (``org.services.user_set_clearance``).
    clearance = models.PositiveSmallIntegerField(
        _("可知悉密级"),
        default=classification.DEFAULT_CLEARANCE,
        choices=classification.choices,
        help_text=_("该账号可查看、下载、打印的最高密级"),
    )
    date_joined = models.DateTimeField(_("创建时间"), default=clock.now)
    must_change_password = models.BooleanField(
        _("须修改密码"), default=True, help_text=_("初始密码或重置后的密码只能使用一次")
    )
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.UniqueConstraint(Lower("username"), name="identity_user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.username}）" if self.name else self.username

    def clean(self) -> None:
        super().clean()
        self.username = fold_username(self.username)

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name


class AppendOnlyError(Exception):
    """An attempt to change or remove a login-log row: the log is evidence (R-19)."""

    def __init__(self, message: str = "登录日志只能追加，不能修改或删除。") -> None:
        super().__init__(message)


class LoginAttemptQuerySet(models.QuerySet["LoginAttempt"]):
    # Bulk writes bypass ``LoginAttempt.save``/``delete``, so they are refused here as well.
    # Deleting an account still nulls ``user`` (SET_NULL): Django's collector goes through
    # the plain base manager, not this queryset.
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError

    def delete(self) -> NoReturn:
        raise AppendOnlyError

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError


# The short codes of ``LoginAttempt.reason``, for people reading the log.
LOGIN_REASONS = {
    "password": _("密码正确"),
    "bad_password": _("密码错误"),
    "unknown_user": _("用户名不存在"),
    "inactive": _("账号已停用"),
    "account_locked": _("账号锁定"),
    "ip_locked": _("IP 锁定"),
    "logout": _("主动退出"),
    "admin_unlock": _("管理员解锁"),
    "second_factor_pending": _("密码正确，待两步验证"),
    "totp": _("两步验证码正确"),
    "recovery_code": _("恢复码正确"),
    "bad_totp": _("两步验证码错误"),
    "bad_recovery_code": _("恢复码错误"),
    "bad_token": _("访问令牌无效"),
    "token_expired": _("访问令牌已过期"),
    "token_revoked": _("访问令牌已撤销"),
    "idle": _("空闲超时退出"),
    "expired": _("超过会话最长时限"),
    "replaced": _("新登录替换旧会话"),
    "ended_by_user": _("本人结束会话"),
    "ended_by_admin": _("管理员结束会话"),
    "account_disabled": _("账号停用"),
}


class LoginAttempt(models.Model):
    """One row per sign-in attempt, sign-out and lock release (R-19); never changed afterwards.

    The lockout rules (R-21) count these rows, see ``xietong.identity.lockout``.
    """

    class Channel(models.TextChoices):
        WEB = "web", _("网页")
        API = "api", _("接口")
        WEBSOCKET = "websocket", _("WebSocket")

    class Result(models.TextChoices):
        SUCCESS = "success", _("登录成功")
        FAILURE = "failure", _("登录失败")
        LOCKED = "locked", _("锁定中拒绝")
        INACTIVE = "inactive", _("账号已停用")
        LOGOUT = "logout", _("退出登录")
        UNLOCK = "unlock", _("管理员解锁")
        # The password was right and a code is still to come: neither a success (it must not
        # reset the failure count before the code is checked) nor a failure.
        SECOND_FACTOR = "second_factor", _("待两步验证")

    time = models.DateTimeField(_("时间"), default=clock.now)
    username = models.CharField(_("输入的用户名"), max_length=150, blank=True)
    # The typed name after ``fold_username``: what lockout counts by, so that "LiSi" and
    # "lisi" share one counter whether or not the account exists.
    login_key = models.CharField(_("规范化用户名"), max_length=150, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账号"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="login_attempts",
        db_index=False,  # the (user, time) index serves lookups by user
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("解锁记录：执行解锁的管理员"),
    )
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器标识"), max_length=300, blank=True)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices, default=Channel.WEB)
    result = models.CharField(_("结果"), max_length=16, choices=Result.choices)
    reason = models.CharField(_("原因代码"), max_length=32, blank=True)

    objects = LoginAttemptQuerySet.as_manager()

    class Meta:
        verbose_name = _("登录日志")
        verbose_name_plural = _("登录日志")
        ordering = ["-time", "-id"]
        indexes = [
            models.Index(fields=["user", "time"], name="identity_login_user_time"),
            models.Index(fields=["ip", "time"], name="identity_login_ip_time"),
            models.Index(fields=["login_key", "time"], name="identity_login_key_time"),
        ]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.username} {self.result}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError
        # A new instance given an existing primary key would otherwise become an UPDATE.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError

    @property
    def reason_label(self) -> str:
        return str(LOGIN_REASONS.get(self.reason, self.reason))


class PasswordPolicy(models.Model):
    """The one password policy of the installation (R-03…R-05, R-24), edited by the security
    administrator. A single row (pk 1); without it the ``dengbao`` defaults apply.

    Read it only through ``xietong.identity.policy.current()``: that selector is cached and
    this model's ``save`` drops the cache, so a change applies on the next request.
    """

    class Profile(models.TextChoices):
        # GB/T 22239 (等保) asks for complexity and periodic change; OWASP ASVS forbids both,
        # so the installation picks one (security-baseline §0.1).
        DENGBAO = "dengbao", _("等保（复杂度 + 定期更换）")
        ASVS = "asvs", _("OWASP ASVS（长密码，不强制更换）")

    SINGLETON_ID = 1

    profile = models.CharField(_("策略配置"), max_length=16, choices=Profile.choices, default=Profile.DENGBAO)
    min_length = models.PositiveSmallIntegerField(_("最小长度"), default=10)
    require_classes = models.BooleanField(
        _("要求字符类别"), default=True, help_text=_("同时包含大写字母、小写字母、数字和特殊字符")
    )
    expiry_days = models.PositiveSmallIntegerField(
        _("有效期（天）"), default=90, help_text=_("0 表示永不过期")
    )
    warn_days = models.PositiveSmallIntegerField(_("提前提醒（天）"), default=14)
    history_count = models.PositiveSmallIntegerField(
        _("不得重复的历史密码个数"), default=5, help_text=_("含当前密码；0 表示不检查")
    )
    min_change_interval_hours = models.PositiveSmallIntegerField(
        _("两次修改最短间隔（小时）"), default=24, help_text=_("首次登录和管理员重置后的强制修改不受限制")
    )
    updated_at = models.DateTimeField(_("修改时间"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("修改人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("密码策略")
        verbose_name_plural = _("密码策略")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="identity_passwordpolicy_singleton"),
        ]

    def __str__(self) -> str:
        return str(self.get_profile_display())

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = self.SINGLETON_ID
        super().save(*args, **kwargs)
        policy.invalidate()


class PasswordHistory(models.Model):
    """The hashes of an account's recent passwords (R-05: the last N may not be reused).

    Only hashes are kept, exactly as in ``User.password`` (R-02). ``kind`` tells a password
    the user chose from one an administrator issued, so that the once-a-day rule counts only
    the user's own changes and never blocks the forced change after a reset.
    """

    class Kind(models.TextChoices):
        INITIAL = "initial", _("初始密码")
        CHANGE = "change", _("本人修改")
        RESET = "reset", _("管理员重置")
        LINK = "link", _("通过重置链接设置")

    # Rows kept per account: the upper bound of ``PasswordPolicy.history_count``, so raising
    # the setting later finds the history it asks for.
    KEEP = 24

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账号"),
        on_delete=models.CASCADE,
        related_name="password_history",
    )
    password = models.CharField(_("密码哈希"), max_length=128)
    kind = models.CharField(_("方式"), max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(_("设置时间"), default=clock.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("历史密码")
        verbose_name_plural = _("历史密码")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "created_at"], name="identity_pwhist_user_time")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class UserSession(models.Model):
    """One signed-in browser session (SES-04, SES-05): what the account holder sees on
    「登录设备」 and what an end removes from the session store.

    ``session_key`` is kept so that ending a session can delete it from whichever session
    store is configured; the database store already holds the same key. It is never shown:
    pages and the API name a session by ``pk``, WebSocket groups by a hash of the key.
    """

    class EndReason(models.TextChoices):
        LOGOUT = "logout", _("主动退出")
        IDLE = "idle", _("空闲超时")
        EXPIRED = "expired", _("超过最长时限")
        REPLACED = "replaced", _("在其他设备登录")
        ENDED_BY_USER = "ended_by_user", _("本人结束")
        ENDED_BY_ADMIN = "ended_by_admin", _("管理员结束")
        ACCOUNT_DISABLED = "account_disabled", _("账号停用")
        PASSWORD_CHANGED = "password_changed", _("密码已修改")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("账号"), on_delete=models.CASCADE, related_name="sessions"
    )
    session_key = models.CharField(_("会话标识"), max_length=64, unique=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器标识"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("登录时间"), default=clock.now)
    last_seen = models.DateTimeField(_("最近活动"), default=clock.now)
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    end_reason = models.CharField(_("结束原因"), max_length=32, choices=EndReason.choices, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("结束人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("登录会话")
        verbose_name_plural = _("登录会话")
        ordering = ["-last_seen", "-id"]
        indexes = [models.Index(fields=["user", "ended_at"], name="identity_session_user_open")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def active(self) -> bool:
        return self.ended_at is None


class SealedTOTPDevice(TOTPDevice):  # type: ignore[misc]  # django-otp has no type hints
    """django-otp's TOTP device with its secret sealed (``core.sealing``): a copy of the
    database alone gives nobody an administrator's second factor. ``bin_key`` is what
    django-otp reads the secret through (codes, the enrolment QR code)."""

    PURPOSE = "identity.totp"

    class Meta:
        proxy = True

    @property
    def bin_key(self) -> bytes:
        return sealing.unseal(self.key, purpose=self.PURPOSE)

    @classmethod
    def new_key(cls) -> str:
        """A new random 160-bit secret (RFC 4226's recommended length), sealed."""
        return sealing.seal(secrets.token_bytes(20), purpose=cls.PURPOSE)


class RecoveryCode(models.Model):
    """One of the ten single-use two-factor recovery codes (IA-06), stored as a SHA-256 hash.

    The codes carry about 79 random bits, so an unsalted fast hash is enough: nobody can search
    that space from a stolen table, and a typed code is found by one indexed lookup.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账号"),
        on_delete=models.CASCADE,
        related_name="recovery_codes",
    )
    code_hash = models.CharField(_("恢复码哈希"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("生成时间"), default=clock.now)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("恢复码")
        verbose_name_plural = _("恢复码")

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d}"


class ApiToken(models.Model):
    """A personal access token for the REST API (IA-05).

    Only the SHA-256 of the token is kept; the holder sees the token once. ``prefix`` (the
    first characters) lets the holder tell tokens apart and lets the lockout count failures
    against the owner of a known prefix.
    """

    class Scope(models.TextChoices):
        READ = "read", _("只读")
        WRITE = "write", _("读写")

    PREFIX = "xt_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("账号"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("名称"), max_length=64)
    prefix = models.CharField(_("令牌前缀"), max_length=16, db_index=True)
    token_hash = models.CharField(_("令牌哈希"), max_length=64, unique=True)
    scope = models.CharField(_("权限范围"), max_length=8, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now)
    expires_at = models.DateTimeField(_("过期时间"))
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("最近使用 IP"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("撤销人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("访问令牌")
        verbose_name_plural = _("访问令牌")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def state(self, now: dt.datetime | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= (now or clock.now()):
            return "expired"
        return "active"

    @property
    def status(self) -> str:
        return self.state()

    @property
    def status_label(self) -> str:
        return str({"revoked": _("已撤销"), "expired": _("已过期"), "active": _("有效")}[self.state()])


class LoginAnomaly(models.Model):
    """A successful sign-in that looks unusual (R-21), for the security administrator to review."""

    class Kind(models.TextChoices):
        NEW_DEVICE = "new_device", _("新设备")
        NEW_NETWORK = "new_network", _("新网络")
        OFF_HOURS = "off_hours", _("非工作时间")
        FAILURE_BURST = "failure_burst", _("多次失败后成功")
        CONCURRENT_NETWORKS = "concurrent_networks", _("多网络同时在线")
        DORMANT = "dormant", _("长期未用账号登录")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("账号"),
        on_delete=models.CASCADE,
        related_name="login_anomalies",
    )
    attempt = models.ForeignKey(
        LoginAttempt, verbose_name=_("登录记录"), on_delete=models.PROTECT, related_name="anomalies"
    )
    kind = models.CharField(_("类型"), max_length=32, choices=Kind.choices)
    details = models.JSONField(_("详情"), default=dict, blank=True)
    created_at = models.DateTimeField(_("发现时间"), default=clock.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    note = models.TextField(_("处理说明"), blank=True)

    class Meta:
        verbose_name = _("登录异常")
        verbose_name_plural = _("登录异常")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["reviewed_at", "created_at"], name="identity_anomaly_open")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"
