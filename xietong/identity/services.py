"""State changes of accounts and the login log."""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from xietong.audit import services as audit
from xietong.core import access, clock
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.core.http import USER_AGENT_MAX
from xietong.identity import audit_actions, policy, selectors
from xietong.identity.lockout import LoginOutcome
from xietong.identity.models import LoginAttempt, PasswordHistory, PasswordPolicy, User
from xietong.identity.tokens import reset_tokens

logger = logging.getLogger("xietong.identity")
_Result = LoginAttempt.Result


def password_change_allowed(user: User) -> None:
    """Raise ``ValidationError`` while the once-a-day rule (R-05) holds the user back."""
    allowed_at = policy.next_change_allowed_at(user)
    if allowed_at is not None:
        raise ValidationError(
            _("两次修改密码至少间隔 %(hours)d 小时，请于 %(time)s 之后再修改。")
            % {
                "hours": policy.current().min_change_interval_hours,
                "time": timezone.localtime(allowed_at).strftime("%Y-%m-%d %H:%M"),
            },
            code="password_change_too_soon",
        )


@transaction.atomic
def user_change_password(*, user: User, new_password: str, request: HttpRequest | None = None) -> User:
    """Set a password the user chose; raises ``ValidationError`` and changes nothing if it is
    weak, one of the last N, or the last change was too recent (R-03…R-05)."""
    password_change_allowed(user)
    validate_password(new_password, user)
    _set_password(user, new_password, kind=PasswordHistory.Kind.CHANGE)
    audit.record(actor=user, action=audit_actions.PASSWORD_CHANGED, target=user, request=request)
    return user


@transaction.atomic
def user_set_initial_password(*, user: User, password: str) -> User:
    """An administrator-issued password: usable once, then it must be changed (R-06)."""
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    _remember(user, PasswordHistory.Kind.INITIAL)
    return user


def login_attempt_record(
    *,
    username: str,
    result: str,
    channel: str = LoginAttempt.Channel.WEB,
    ip: str | None = None,
    user_agent: str = "",
    user: User | None = None,
    reason: str = "",
    actor: User | None = None,
) -> LoginAttempt:
    """Append one row to the login log (R-19). Every login path calls this for every outcome."""
    return LoginAttempt.objects.create(
        time=clock.now(),
        username=username[:150],
        login_key=selectors.login_key(username),
        user=user,
        actor=actor,
        ip=ip or None,
        user_agent=user_agent[:USER_AGENT_MAX],
        channel=channel,
        result=result,
        reason=reason,
    )


def login_authenticate(
    *, username: str, password: str, ip: str | None, user_agent: str, channel: str
) -> LoginOutcome:
    """Check a login name and password with lockout and logging (R-19, R-21; IA-05).

    The lock is checked before the password, which is then not looked at: a locked account
    stays refused with the right password, and the answer does not depend on it.
    """

    def record(result: str, reason: str, user: User | None) -> None:
        login_attempt_record(
            username=username,
            result=result,
            channel=channel,
            ip=ip,
            user_agent=user_agent,
            user=user,
            reason=reason,
        )

    user = selectors.user_for_login(username)
    if selectors.account_locked_until(username=username, user=user) is not None:
        record(_Result.LOCKED, "account_locked", user)
        return LoginOutcome(_Result.LOCKED, "account_locked", locked=True)
    if selectors.ip_locked_until(ip=ip) is not None:
        record(_Result.LOCKED, "ip_locked", user)
        return LoginOutcome(_Result.LOCKED, "ip_locked", locked=True)

    if user is None:
        # Hash anyway so a missing account takes as long as a wrong password.
        User().set_password(password)
        reason = "unknown_user"
    elif not user.check_password(password):
        reason = "bad_password"
    elif not user.is_active:
        record(_Result.INACTIVE, "inactive", user)
        return LoginOutcome(_Result.INACTIVE, "inactive")
    else:
        record(_Result.SUCCESS, "password", user)
        return LoginOutcome(_Result.SUCCESS, "password", user=user)

    record(_Result.FAILURE, reason, user)
    # Tell the user at once when this failure was the one that locked them out.
    if selectors.account_locked_until(username=username, user=user) is not None:
        logger.warning(
            "identity.login.account_locked",
            extra={"login_key": selectors.login_key(username), "ip": ip, "channel": channel},
        )
        return LoginOutcome(_Result.FAILURE, "account_locked", locked=True)
    if selectors.ip_locked_until(ip=ip) is not None:
        logger.warning("identity.login.ip_locked", extra={"ip": ip, "channel": channel})
        return LoginOutcome(_Result.FAILURE, "ip_locked", locked=True)
    return LoginOutcome(_Result.FAILURE, reason)


def logout_record(*, user: User, ip: str | None, user_agent: str, channel: str) -> LoginAttempt:
    return login_attempt_record(
        username=user.username,
        result=_Result.LOGOUT,
        channel=channel,
        ip=ip,
        user_agent=user_agent,
        user=user,
        reason="logout",
    )


def account_unlock(
    *,
    actor: User,
    username: str,
    ip: str | None = None,
    user_agent: str = "",
    channel: str = LoginAttempt.Channel.WEB,
) -> LoginAttempt:
    """Release the login lock of an account (or of an unknown typed name) at once.

    Earlier failures stop counting; the history stays. The per-IP lock is not touched.
    ``ip`` and ``user_agent`` are the administrator's: only failures count towards a lock.
    """
    if not access.can(actor, "identity.unlock"):
        raise PermissionDeniedError(_("只有安全管理员可以解除账号锁定。"))
    username = username.strip()
    if not selectors.login_key(username):
        raise DomainError(_("请填写要解锁的用户名。"))
    user = selectors.user_for_login(username)
    row = login_attempt_record(
        username=username,
        result=_Result.UNLOCK,
        channel=channel,
        ip=ip,
        user_agent=user_agent,
        user=user,
        actor=actor,
        reason="admin_unlock",
    )
    logger.warning(
        "identity.login.unlocked",
        extra={"login_key": row.login_key, "actor": actor.username},
    )
    return row


# -- passwords: history, administrator resets, reset links (R-05, R-06; IA-11) ------------------


def _remember(user: User, kind: str, actor: User | None = None) -> None:
    """Keep the new hash for the reuse check and drop what no policy setting can ask for."""
    PasswordHistory.objects.create(user=user, password=user.password, kind=kind, actor=actor)
    stale = list(
        PasswordHistory.objects.filter(user=user)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)[PasswordHistory.KEEP :]
    )
    if stale:
        PasswordHistory.objects.filter(pk__in=stale).delete()


def _set_password(user: User, raw: str, *, kind: str) -> None:
    """A password the user chose: no longer forced to change, expiry counts from now.

    Every session of the account ends with it (Django checks the password hash per session).
    """
    user.set_password(raw)
    user.must_change_password = False
    user.password_changed_at = clock.now()
    user.save(update_fields=["password", "must_change_password", "password_changed_at"])
    _remember(user, kind)


def _require_account_admin(actor: User, user: User) -> None:
    """Only those who manage the account (R-16: a department administrator, their subtree)."""
    visible = access.restrict(
        actor, "org.manage_users", User.objects.filter(pk=user.pk), unit_field="memberships__unit"
    )
    if not visible.exists():
        raise PermissionDeniedError(_("您没有管理该账号的权限。"))
    if actor.pk == user.pk:
        # The own password is changed with the current one, under the once-a-day and reuse rules.
        raise DomainError(_("不能重置自己的密码，请使用“修改密码”。"))


# Easy to read aloud or copy from a screen: no I/l/1 or O/0.
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_LOWER = "abcdefghijkmnopqrstuvwxyz"
_DIGITS = "23456789"
_SPECIAL = "#@%&*+=?!"


def one_time_password(user: User) -> str:
    """A random password meeting the policy in force, for one use (R-06)."""
    length = max(16, policy.current().min_length)
    rng = secrets.SystemRandom()
    everything = _UPPER + _LOWER + _DIGITS + _SPECIAL
    for _attempt in range(20):
        chars = [rng.choice(group) for group in (_UPPER, _LOWER, _DIGITS, _SPECIAL)]
        chars += [rng.choice(everything) for _ in range(length - len(chars))]
        rng.shuffle(chars)
        candidate = "".join(chars)
        try:
            validate_password(candidate, user)
        except ValidationError:
            continue  # e.g. three neighbouring keys by chance, or a personal word
        return candidate
    raise RuntimeError("no random password passed the password policy")  # unreachable in practice


@transaction.atomic
def user_reset_password(*, actor: User, user: User, request: HttpRequest | None = None) -> str:
    """Give ``user`` a random one-time password and return it for the administrator to hand
    over (R-06). It must be changed at the next sign-in; the reset is kept in the history as
    an administrator's, so the once-a-day rule does not hold up that forced change.

    The password is returned once and is never logged or audited (R-02).
    """
    _require_account_admin(actor, user)
    password = one_time_password(user)
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    _remember(user, PasswordHistory.Kind.RESET, actor=actor)
    audit.record(actor=actor, action=audit_actions.PASSWORD_RESET, target=user, request=request)
    return password


def password_reset_link(*, actor: User, user: User, request: HttpRequest) -> str:
    """A link that lets ``user`` set a new password once, within 30 minutes (IA-11).

    The administrator passes it on; the platform itself sends no password e-mails (R-01).
    """
    _require_account_admin(actor, user)
    if not user.is_active:
        raise DomainError(_("该账号已停用，不能重置密码。"))
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse(
        "identity:password_reset_confirm", kwargs={"uidb64": uid, "token": reset_tokens.make_token(user)}
    )
    with transaction.atomic():
        # The link itself is a credential: the record names the account, never the token.
        audit.record(
            actor=actor,
            action=audit_actions.PASSWORD_RESET_LINK_ISSUED,
            target=user,
            request=request,
            details={"valid_minutes": settings.PASSWORD_RESET_TIMEOUT // 60},
        )
    return request.build_absolute_uri(path)


@transaction.atomic
def user_set_password_from_link(*, user: User, new_password: str, request: HttpRequest | None = None) -> User:
    """The new password chosen through a reset link. The link stops working with it, since its
    token covers the password hash. No once-a-day check: an administrator started this."""
    validate_password(new_password, user)
    _set_password(user, new_password, kind=PasswordHistory.Kind.LINK)
    audit.record(actor=user, action=audit_actions.PASSWORD_RESET_LINK_USED, target=user, request=request)
    return user


# -- the password policy (R-24) -----------------------------------------------------------------


@transaction.atomic
def password_policy_update(
    *, actor: User, values: dict[str, object], request: HttpRequest | None = None
) -> PasswordPolicy:
    """Replace the password policy with ``values`` (every field of ``policy.Policy``).

    Refuses invalid values field by field (``policy.PolicyInvalidError``); records the old
    and new value of every changed field (R-18). Applies from the next request.
    """
    access.require(actor, "identity.manage_policy", _("只有安全保密管理员可以修改密码策略。"))
    errors = policy.validation_errors(values)
    if errors:
        raise policy.PolicyInvalidError(errors)
    row = PasswordPolicy.objects.select_for_update().filter(pk=PasswordPolicy.SINGLETON_ID).first()
    created = row is None
    if row is None:
        row = PasswordPolicy(pk=PasswordPolicy.SINGLETON_ID)
    changes = {
        name: [getattr(row, name), values[name]]
        for name in policy.FIELDS
        if getattr(row, name) != values[name]
    }
    if not changes and not created:
        return row
    for name in policy.FIELDS:
        setattr(row, name, values[name])
    row.updated_at = clock.now()
    row.updated_by = actor
    row.save()
    audit.record(
        actor=actor,
        action=audit_actions.PASSWORD_POLICY_CHANGED,
        target=row,
        request=request,
        details={"changes": changes},
    )
    return row


# -- dormant accounts (IA-09) -------------------------------------------------------------------


def accounts_disable_dormant(*, now: dt.datetime | None = None) -> int:
    """Disable every active account unused for ``XIETONG_DORMANT_ACCOUNT_DAYS`` (default 90),
    administrators included; returns how many. Their sessions end with it.

    "Used" is the last sign-in, else the creation. A password an administrator issued later
    (initial or reset) also counts, so that an account re-enabled together with a new
    one-time password is not disabled again the same night.
    """
    now = now or clock.now()
    days = settings.XIETONG_DORMANT_ACCOUNT_DAYS
    cutoff = now - dt.timedelta(days=days)
    issued = (
        PasswordHistory.objects.filter(
            user=OuterRef("pk"), kind__in=(PasswordHistory.Kind.INITIAL, PasswordHistory.Kind.RESET)
        )
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    # Coalesce each side: GREATEST is NULL with any NULL argument on SQLite and MySQL.
    dormant = (
        User.objects.filter(is_active=True)
        .annotate(
            used=Greatest(Coalesce("last_login", "date_joined"), Coalesce(Subquery(issued), "date_joined"))
        )
        .filter(used__lt=cutoff)
        .order_by("pk")
    )
    count = 0
    for user in dormant:
        with transaction.atomic():
            # Only if still active: an administrator may have acted since the query.
            if not User.objects.filter(pk=user.pk, is_active=True).update(is_active=False):
                continue
            audit.record(
                actor=None,
                action=audit_actions.ACCOUNT_DISABLED_DORMANT,
                target=user,
                details={
                    "last_login": user.last_login.isoformat() if user.last_login else None,
                    "dormant_days": days,
                },
            )
        count += 1
    if count:
        logger.warning("identity.accounts.disabled_dormant", extra={"count": count, "days": days})
    return count
