"""State changes of accounts and the login log."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from xietong.audit import services as audit
from xietong.core import access, clock, events, http
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.core.http import USER_AGENT_MAX
from xietong.identity import anomalies, audit_actions, policy, selectors, sessions, twofactor
from xietong.identity.lockout import LoginOutcome, account_locked_message, ip_locked_message
from xietong.identity.models import (
    ApiToken,
    LoginAnomaly,
    LoginAttempt,
    PasswordHistory,
    PasswordPolicy,
    User,
    UserSession,
)
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
    """Append one row to the login log (R-19). Every login path calls this for every outcome.

    A successful sign-in is also checked for anomalies (R-21) here, so that no login path
    can skip the check.
    """
    row = LoginAttempt.objects.create(
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
    if result == _Result.SUCCESS and user is not None:
        login_anomalies_flag(attempt=row, user=user)
    return row


def login_authenticate(
    *,
    username: str,
    password: str,
    ip: str | None,
    user_agent: str,
    channel: str,
    two_step: bool = False,
) -> LoginOutcome:
    """Check a login name and password with lockout and logging (R-19, R-21; IA-05).

    The lock is checked before the password, which is then not looked at: a locked account
    stays refused with the right password, and the answer does not depend on it.

    ``two_step`` (the sign-in page): for an account with two-factor sign-in, a right password
    is only the first step. It is logged as ``second_factor`` — neither a success, which would
    wipe the failure count before the code is checked, nor a failure — and the outcome says
    so; ``second_factor_verify`` then records the success or the failure.
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
    elif two_step and twofactor.has_confirmed_device(user):
        record(_Result.SECOND_FACTOR, "second_factor_pending", user)
        return LoginOutcome(_Result.SECOND_FACTOR, "second_factor_pending", user=user)
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
    # The old password's sessions stopped working; end their records and WebSockets now.
    user_sessions_end(user=user, actor=actor, reason=UserSession.EndReason.PASSWORD_CHANGED, request=request)
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
    user_sessions_end(user=user, actor=user, reason=UserSession.EndReason.PASSWORD_CHANGED, request=request)
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
            # Sessions and their WebSockets end at once, not at the next request (IA-09, SES-04).
            user_sessions_end(user=user, reason=UserSession.EndReason.ACCOUNT_DISABLED)
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


# -- sessions (SES-01…SES-05) -------------------------------------------------------------------

_EndReason = UserSession.EndReason


def session_start(*, request: HttpRequest, user: User) -> UserSession:
    """Record the session a sign-in just created (Django has already issued a new session id:
    ``login`` cycles the key, SES-03) and stamp its login time.

    An administrator-tier account keeps only this session: the others end now (SES-05).
    """
    session = request.session
    if session.session_key is None:
        session.save()
    key = str(session.session_key)
    now = clock.now()
    sessions.mark_login(session, now)
    record, _created = UserSession.objects.update_or_create(
        session_key=key,
        defaults={
            "user": user,
            "ip": http.client_ip(request),
            "user_agent": http.user_agent(request),
            "created_at": now,
            "last_seen": now,
            "ended_at": None,
            "end_reason": "",
            "ended_by": None,
        },
    )
    if settings.XIETONG_ADMIN_SINGLE_SESSION and sessions.is_admin_tier(user):
        user_sessions_end(user=user, actor=user, reason=_EndReason.REPLACED, keep=key, request=request)
    return record


def session_rekey(*, old_key: str | None, new_key: str | None) -> None:
    """Follow a session whose id changed while signed in (password change, two-factor step)."""
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def session_touch(*, request: HttpRequest, now: dt.datetime) -> bool:
    """Note activity of the current session; False when its record says it has ended (the
    caller then signs the request out)."""
    session = request.session
    key = session.session_key
    if not key:
        return True
    if not UserSession.objects.filter(session_key=key, ended_at__isnull=True).update(last_seen=now):
        if UserSession.objects.filter(session_key=key).exists():
            return False
        # A session from before session records existed: adopt it.
        UserSession.objects.create(
            session_key=key,
            user=request.user,  # type: ignore[misc]
            ip=http.client_ip(request),
            user_agent=http.user_agent(request),
            created_at=now,
            last_seen=now,
        )
    if sessions.LOGIN_AT not in session:
        sessions.mark_login(session, now)
    session[sessions.SEEN_AT] = now.timestamp()
    return True


def session_end(
    *,
    session: UserSession,
    reason: str,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> bool:
    """End one session: mark its record, delete it from the session store, close its
    WebSockets (code 4401), log it in the login log and, unless the holder signed out, audit
    it (AU-01). False when it had already ended.
    """
    now = clock.now()
    with transaction.atomic():
        ended = UserSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
            ended_at=now, end_reason=reason, ended_by=actor
        )
        if not ended:
            return False
        session.ended_at, session.end_reason, session.ended_by = now, reason, actor
        owner = session.user
        if reason != _EndReason.LOGOUT:
            login_attempt_record(
                username=owner.username,
                result=_Result.LOGOUT,
                ip=str(session.ip) if session.ip else None,
                user_agent=session.user_agent,
                user=owner,
                reason=reason,
                actor=actor if actor is not None and actor.pk != owner.pk else None,
            )
            audit.record(
                actor=actor,
                action=audit_actions.SESSION_ENDED,
                target=owner,
                request=request,
                details={
                    "session": session.pk,
                    "reason": reason,
                    "ip": str(session.ip) if session.ip else None,
                    "device": anomalies.device_family(session.user_agent),
                    "signed_in_at": session.created_at.isoformat(),
                },
            )
        events.close_session_sockets(session.session_key, reason)
        sessions.delete_from_store(session.session_key)
    return True


def user_sessions_end(
    *,
    user: User,
    actor: User | None = None,
    reason: str = _EndReason.ACCOUNT_DISABLED,
    keep: str | None = None,
    request: HttpRequest | None = None,
) -> int:
    """End every open session of ``user`` (but the one with key ``keep``); returns how many.

    For departures and suspensions (the default reason), password resets and anything else
    that must sign an account out everywhere at once. The caller checks who may do it.
    """
    open_sessions = UserSession.objects.filter(user=user, ended_at__isnull=True).select_related("user")
    if keep:
        open_sessions = open_sessions.exclude(session_key=keep)
    return sum(session_end(session=row, reason=reason, actor=actor, request=request) for row in open_sessions)


def can_manage_sessions_of(actor: User, user: User) -> bool:
    """Who may end another account's sessions: whoever manages that account (org.manage_users
    within their scope: the 系统管理员, a 部门管理员 for their subtree), and the 安全保密管理员
    who reviews login anomalies (identity.review_logins), to stop a suspicious session at once."""
    if access.can(actor, "identity.review_logins"):
        return True
    return access.restrict(
        actor, "org.manage_users", User.objects.filter(pk=user.pk), unit_field="memberships__unit"
    ).exists()


def session_end_own(*, user: User, session_id: object, request: HttpRequest) -> UserSession:
    """The account holder ends one of their own sessions (SES-05)."""
    pk = _int(session_id)
    row = UserSession.objects.select_related("user").filter(user=user, pk=pk).first() if pk else None
    if row is None or row.ended_at is not None:
        raise DomainError(_("该会话不存在或已结束。"))
    reason = _EndReason.LOGOUT if row.session_key == request.session.session_key else _EndReason.ENDED_BY_USER
    session_end(session=row, reason=reason, actor=user, request=request)
    return row


def user_sessions_end_by_admin(*, actor: User, user: User, request: HttpRequest | None = None) -> int:
    if not can_manage_sessions_of(actor, user):
        raise PermissionDeniedError(_("您没有结束该账号会话的权限。"))
    keep = request.session.session_key if request is not None and actor.pk == user.pk else None
    return user_sessions_end(
        user=user, actor=actor, reason=_EndReason.ENDED_BY_ADMIN, keep=keep, request=request
    )


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


# -- two-factor sign-in (IA-06) -------------------------------------------------------------------


def second_factor_verify(*, user: User, code: str, ip: str | None, user_agent: str) -> LoginOutcome:
    """The second step of a sign-in: a TOTP code or a recovery code, under the same lockout and
    login log as the password (IA-05): a right password with a wrong code is a failure."""

    def record(result: str, reason: str) -> None:
        login_attempt_record(
            username=user.username,
            result=result,
            channel=LoginAttempt.Channel.WEB,
            ip=ip,
            user_agent=user_agent,
            user=user,
            reason=reason,
        )

    if selectors.account_locked_until(username=user.username, user=user) is not None:
        record(_Result.LOCKED, "account_locked")
        return LoginOutcome(_Result.LOCKED, "account_locked", locked=True)
    if selectors.ip_locked_until(ip=ip) is not None:
        record(_Result.LOCKED, "ip_locked")
        return LoginOutcome(_Result.LOCKED, "ip_locked", locked=True)
    user.refresh_from_db(fields=["is_active"])
    if not user.is_active:
        record(_Result.INACTIVE, "inactive")
        return LoginOutcome(_Result.INACTIVE, "inactive")

    device = twofactor.confirmed_device(user)
    if twofactor.looks_like_totp(code):
        ok, success_reason, failure_reason = (
            device is not None and twofactor.verify_totp(device, code),
            "totp",
            "bad_totp",
        )
    else:
        ok, success_reason, failure_reason = (
            twofactor.use_recovery_code(user, code),
            "recovery_code",
            "bad_recovery_code",
        )
    if ok:
        record(_Result.SUCCESS, success_reason)
        return LoginOutcome(_Result.SUCCESS, success_reason, user=user)
    record(_Result.FAILURE, failure_reason)
    if selectors.account_locked_until(username=user.username, user=user) is not None:
        logger.warning("identity.login.account_locked", extra={"login_key": user.username, "ip": ip})
        return LoginOutcome(_Result.FAILURE, "account_locked", locked=True)
    if selectors.ip_locked_until(ip=ip) is not None:
        return LoginOutcome(_Result.FAILURE, "ip_locked", locked=True)
    return LoginOutcome(_Result.FAILURE, failure_reason)


@transaction.atomic
def two_factor_enable(*, user: User, code: str, request: HttpRequest | None = None) -> list[str] | None:
    """Confirm the device being enrolled with a code from the app; returns the ten new recovery
    codes (to show once), or None for a wrong code."""
    device = twofactor.pending_device(user)
    if not twofactor.verify_totp(device, code):
        return None
    TOTPDevice = type(device)
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = twofactor.new_recovery_codes(user)
    audit.record(actor=user, action=audit_actions.TWO_FACTOR_ENABLED, target=user, request=request)
    return codes


@transaction.atomic
def two_factor_disable(*, user: User, request: HttpRequest | None = None) -> None:
    """Remove the authenticator and the recovery codes. The view requires a password check from
    the last five minutes (SES-07); an administrator tier is sent to enrol again at once."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=user).delete()
    user.recovery_codes.all().delete()
    audit.record(actor=user, action=audit_actions.TWO_FACTOR_DISABLED, target=user, request=request)


@transaction.atomic
def recovery_codes_regenerate(*, user: User, request: HttpRequest | None = None) -> list[str]:
    if not twofactor.has_confirmed_device(user):
        raise DomainError(_("请先启用两步验证。"))
    codes = twofactor.new_recovery_codes(user)
    audit.record(actor=user, action=audit_actions.RECOVERY_CODES_REGENERATED, target=user, request=request)
    return codes


# -- personal API tokens (IA-05) ------------------------------------------------------------------

# "xt_" and 8 characters of the secret: enough to tell tokens apart, far too little to guess.
_TOKEN_PREFIX_LENGTH = len(ApiToken.PREFIX) + 8
# last_used_at/ip are written at most this often per token, not on every request.
_TOKEN_TOUCH_EVERY = dt.timedelta(seconds=60)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenRejectedError(DomainError):
    status = 401
    code = "unauthenticated"


class TokenScopeError(DomainError):
    status = 403
    code = "token_scope"


class TokenPasswordChangeError(DomainError):
    # The same code PasswordChangeRequiredMiddleware answers a session with.
    status = 403
    code = "password_change_required"


class TokenNotAllowedError(DomainError):
    status = 403
    code = "token_not_allowed"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, user: User, name: str, scope: str, days: int | None = None, request: HttpRequest | None = None
) -> tuple[ApiToken, str]:
    """Make a token; returns the row and the token itself, which is shown once and never kept.

    The three administrator tiers get none: their work stays inside a session with two-factor
    sign-in and the short administrator timeouts (SES-01, IA-06), which a token would bypass.
    """
    if sessions.is_admin_tier(user):
        raise PermissionDeniedError(_("三员管理员账号不能创建访问令牌，请在登录会话中操作。"))
    name = name.strip()
    if not name or len(name) > 64:
        raise DomainError(_("请填写令牌名称（不超过 64 个字符）。"))
    if scope not in ApiToken.Scope.values:
        raise DomainError(_("权限范围无效。"))
    days = settings.XIETONG_API_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.XIETONG_API_TOKEN_MAX_DAYS:
        raise DomainError(_("有效期应为 1–%(max)d 天。") % {"max": settings.XIETONG_API_TOKEN_MAX_DAYS})
    raw = ApiToken.PREFIX + secrets.token_urlsafe(32)  # 32 random bytes
    now = clock.now()
    row = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[:_TOKEN_PREFIX_LENGTH],
        token_hash=token_hash(raw),
        scope=scope,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    audit.record(
        actor=user,
        action=audit_actions.API_TOKEN_CREATED,
        target=row,
        request=request,
        details={"name": name, "scope": scope, "expires_at": row.expires_at.isoformat()},
    )
    return row, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User, request: HttpRequest | None = None) -> bool:
    """Revoke one token (its owner only); False when it was already revoked."""
    if token.user_id != actor.pk:
        raise PermissionDeniedError(_("只能撤销本人的访问令牌。"))
    now = clock.now()
    if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=actor
    ):
        return False
    token.revoked_at, token.revoked_by = now, actor
    audit.record(actor=actor, action=audit_actions.API_TOKEN_REVOKED, target=token, request=request)
    return True


@transaction.atomic
def user_tokens_revoke(*, user: User, actor: User | None = None, request: HttpRequest | None = None) -> int:
    """Revoke every token of ``user`` (departures, suspensions); returns how many. The caller
    checks who may do it."""
    now = clock.now()
    rows = list(ApiToken.objects.filter(user=user, revoked_at__isnull=True))
    for row in rows:
        ApiToken.objects.filter(pk=row.pk).update(revoked_at=now, revoked_by=actor)
        audit.record(
            actor=actor,
            action=audit_actions.API_TOKEN_REVOKED,
            target=row,
            request=request,
            details={"all": True},
        )
    return len(rows)


def api_token_authenticate(
    *, raw: str, ip: str | None, user_agent: str, method: str
) -> tuple[User, ApiToken]:
    """The user behind ``Authorization: Bearer xt_…``, or ``TokenRejectedError`` (401).

    Failures go into the login log (channel ``api``) and count towards the lockout like wrong
    passwords (IA-05): against the owner of a known prefix, else against the typed prefix, and
    against the client address. A locked account is refused even with a valid token.
    """
    raw = raw.strip()[:200]
    known = (
        ApiToken.objects.select_related("user").filter(token_hash=token_hash(raw)).first()
        if raw.startswith(ApiToken.PREFIX)
        else None
    )
    prefix = raw[:_TOKEN_PREFIX_LENGTH] if raw.startswith(ApiToken.PREFIX) else "api-token"
    owner: User | None = known.user if known is not None else None
    if owner is None and raw.startswith(ApiToken.PREFIX):
        same_prefix = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
        owner = same_prefix.user if same_prefix is not None else None
    username = owner.username if owner is not None else prefix

    def record(result: str, reason: str) -> None:
        login_attempt_record(
            username=username,
            result=result,
            channel=LoginAttempt.Channel.API,
            ip=ip,
            user_agent=user_agent,
            user=owner,
            reason=reason,
        )

    if selectors.account_locked_until(username=username, user=owner) is not None:
        record(_Result.LOCKED, "account_locked")
        raise TokenRejectedError(account_locked_message())
    if selectors.ip_locked_until(ip=ip) is not None:
        record(_Result.LOCKED, "ip_locked")
        raise TokenRejectedError(ip_locked_message())

    now = clock.now()
    if known is None or known.revoked_at is not None or known.expires_at <= now:
        reason = "bad_token" if known is None else "token_revoked" if known.revoked_at else "token_expired"
        record(_Result.FAILURE, reason)
        if selectors.account_locked_until(username=username, user=owner) is not None:
            raise TokenRejectedError(account_locked_message())
        if selectors.ip_locked_until(ip=ip) is not None:
            raise TokenRejectedError(ip_locked_message())
        raise TokenRejectedError(_("访问令牌无效、已过期或已撤销。"))
    user = known.user
    if not user.is_active:
        record(_Result.INACTIVE, "inactive")
        raise TokenRejectedError(_("访问令牌无效、已过期或已撤销。"))
    if user.must_change_password or policy.password_expired(user):
        raise TokenPasswordChangeError(_("请先登录网页修改密码后再使用访问令牌。"))
    if sessions.is_admin_tier(user):
        raise TokenNotAllowedError(_("三员管理员账号不能使用访问令牌。"))
    if method.upper() not in _SAFE_METHODS and known.scope != ApiToken.Scope.WRITE:
        raise TokenScopeError(_("该访问令牌为只读，不能执行修改操作。"))
    stale = known.last_used_at is None or now - known.last_used_at >= _TOKEN_TOUCH_EVERY
    if stale or (ip and str(known.last_used_ip) != ip):
        ApiToken.objects.filter(pk=known.pk).update(last_used_at=now, last_used_ip=ip or None)
    return user, known


# -- login anomalies (R-21) -----------------------------------------------------------------------


def login_anomalies_flag(*, attempt: LoginAttempt, user: User) -> list[LoginAnomaly]:
    """Flag what is unusual about a successful sign-in for the security administrator."""
    found = anomalies.findings(attempt, user)
    if not found:
        return []
    rows = LoginAnomaly.objects.bulk_create(
        LoginAnomaly(user=user, attempt=attempt, kind=f.kind, details=f.details, created_at=attempt.time)
        for f in found
    )
    logger.warning(
        "identity.login.anomaly",
        extra={"user": user.username, "kinds": [f.kind for f in found], "ip": attempt.ip},
    )
    return rows


@transaction.atomic
def login_anomaly_review(
    *, actor: User, anomaly: LoginAnomaly, note: str, request: HttpRequest | None = None
) -> LoginAnomaly:
    """Mark a flag as handled, with what was done (R-21); the sign-off is audited."""
    access.require(actor, "identity.review_logins", _("只有安全保密管理员可以处理登录异常。"))
    note = note.strip()
    if not note:
        raise DomainError(_("请填写处理说明。"))
    now = clock.now()
    if not LoginAnomaly.objects.filter(pk=anomaly.pk, reviewed_at__isnull=True).update(
        reviewed_at=now, reviewed_by=actor, note=note[:2000]
    ):
        raise DomainError(_("该异常已由他人处理。"))
    anomaly.reviewed_at, anomaly.reviewed_by, anomaly.note = now, actor, note[:2000]
    audit.record(
        actor=actor,
        action=audit_actions.LOGIN_ANOMALY_REVIEWED,
        target=anomaly.user,
        request=request,
        details={"anomaly": anomaly.pk, "kind": anomaly.kind, "note": anomaly.note},
    )
    return anomaly


def security_reviewers() -> list[User]:
    """Active accounts that review login anomalies (identity.review_logins)."""
    candidates = (
        User.objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(role_grants__isnull=False)
            | Q(memberships__position__role_grants__isnull=False)
        )
        .distinct()
        .order_by("pk")
    )
    return [u for u in candidates if access.can(u, "identity.review_logins")]


def login_anomalies_remind() -> int:
    """Weekly: tell the security administrators how many flags wait for review. Returns the
    number of e-mails sent (0 when nothing waits or nobody has an address).

    There is no notification centre yet, so the reminder is an e-mail through Django's mail
    API plus a log line; it moves to notifications when those exist.
    """
    waiting = LoginAnomaly.objects.filter(reviewed_at__isnull=True)
    count = waiting.count()
    if not count:
        return 0
    reviewers = security_reviewers()
    recipients = sorted({u.email for u in reviewers if u.email})
    logger.warning(
        "identity.login.anomaly_reminder",
        extra={"unreviewed": count, "recipients": len(recipients), "reviewers": len(reviewers)},
    )
    if not recipients:
        return 0
    oldest = waiting.order_by("created_at").values_list("created_at", flat=True).first()
    subject = _("【协同办公】有 %(count)d 条登录异常待审查") % {"count": count}
    body = _(
        "您好：\n\n当前有 %(count)d 条登录异常尚未审查，最早一条发现于 %(oldest)s。\n"
        "请登录协同办公平台，在“登录异常审查”页面（/account/anomalies/）逐条核实并填写处理说明。\n\n"
        "此邮件由系统每周自动发送。"
    ) % {
        "count": count,
        "oldest": timezone.localtime(oldest).strftime("%Y-%m-%d %H:%M") if oldest else "—",
    }
    send_mail(subject, body, None, recipients)
    return len(recipients)
