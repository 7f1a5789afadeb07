"""Reads of accounts and of the login log (R-19, R-20, R-21)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from xietong.core import clock
from xietong.identity.lockout import LockPolicy, lock_end, lock_policy
from xietong.identity.models import (
    ApiToken,
    LoginAnomaly,
    LoginAttempt,
    User,
    UserSession,
    fold_username,
    is_reserved_username,
)

_Result = LoginAttempt.Result
# Rows that end a series of failures for an account: the owner got in, or an admin unlocked.
_RESETS = (_Result.SUCCESS, _Result.UNLOCK)


def user_for_login(username: str) -> User | None:
    """The account a typed login name (login name, case-insensitive, or 工号) refers to."""
    login = fold_username(username)
    if not login or is_reserved_username(login):
        return None
    return User.objects.filter(Q(username=login) | Q(employee_no=username.strip())).first()


def login_key(username: str) -> str:
    return fold_username(username)[:150]


def account_locked_until(
    *, username: str, user: User | None, now: dt.datetime | None = None
) -> dt.datetime | None:
    """The end of the running lock of this account, or None.

    A known account counts every failure against it whichever alias was typed (name, case
    variant, 工号), plus failures recorded under the typed name; an unknown name counts by
    the typed name alone, so it locks after the same number of tries as a real account.
    """
    policy = lock_policy()
    now = now or clock.now()
    key = login_key(username)
    scope = Q(login_key=key) | Q(user=user) if user is not None else Q(login_key=key)
    rows = (
        LoginAttempt.objects.filter(scope, time__gt=now - policy.lookback)
        .filter(result__in=(_Result.FAILURE, *_RESETS))
        .order_by("time", "id")
        .values_list("time", "result")
    )
    end = lock_end(((t, r == _Result.FAILURE) for t, r in rows), threshold=policy.failures, policy=policy)
    return end if end is not None and end > now else None


def ip_locked_until(*, ip: str | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """The end of the running lock of a client address (password spraying), or None.

    A success from the address does not reset it: one valid account must not buy an attacker
    a fresh allowance against all the others.
    """
    if not ip:
        return None
    policy = lock_policy()
    now = now or clock.now()
    times = (
        LoginAttempt.objects.filter(ip=ip, result=_Result.FAILURE, time__gt=now - policy.lookback)
        .order_by("time", "id")
        .values_list("time", flat=True)
    )
    end = lock_end(((t, True) for t in times), threshold=policy.ip_failures, policy=policy)
    return end if end is not None and end > now else None


def attempt_allowed(*, username: str, ip: str | None) -> bool:
    """Whether a password may be checked at all for this name from this address.

    Ask before verifying the password on every login path (web, API token, WebSocket):
    a locked account is refused even with the right password, so the lock is no oracle.
    """
    user = user_for_login(username)
    return account_locked_until(username=username, user=user) is None and ip_locked_until(ip=ip) is None


@dataclass(frozen=True)
class LockedAccount:
    username: str  # what an administrator passes to ``account_unlock``
    name: str  # the account holder, empty for a name that matches no account
    until: dt.datetime


@dataclass(frozen=True)
class LockedAddress:
    ip: str
    until: dt.datetime


def locked_accounts(now: dt.datetime | None = None) -> list[LockedAccount]:
    """Every account (or unknown typed name) locked right now, in three queries."""
    policy = lock_policy()
    now = now or clock.now()
    recent_failures = LoginAttempt.objects.filter(result=_Result.FAILURE, time__gt=now - policy.lookback)
    # Only names with enough failures in the lookback can be locked: narrow down in SQL first.
    user_ids = list(
        recent_failures.filter(user__isnull=False)
        .values("user")
        .annotate(n=Count("id"))
        .filter(n__gte=policy.failures)
        .values_list("user", flat=True)
    )
    keys = list(
        recent_failures.filter(user__isnull=True)
        .values("login_key")
        .annotate(n=Count("id"))
        .filter(n__gte=policy.failures)
        .values_list("login_key", flat=True)
    )
    if not user_ids and not keys:
        return []
    rows = (
        LoginAttempt.objects.filter(time__gt=now - policy.lookback, result__in=(_Result.FAILURE, *_RESETS))
        .filter(Q(user__in=user_ids) | Q(user__isnull=True, login_key__in=keys))
        .select_related("user")
        .order_by("time", "id")
    )
    series: dict[tuple[int | None, str], list[LoginAttempt]] = defaultdict(list)
    for row in rows:
        series[(row.user_id, "") if row.user_id else (None, row.login_key)].append(row)
    locked = []
    for (_user_id, key), attempts in series.items():
        end = lock_end(
            ((a.time, a.result == _Result.FAILURE) for a in attempts),
            threshold=policy.failures,
            policy=policy,
        )
        if end is None or end <= now:
            continue
        owner = attempts[0].user
        username, name = (owner.username, owner.name) if owner else (key, "")
        locked.append(LockedAccount(username=username, name=name, until=end))
    return sorted(locked, key=lambda a: a.username)


def locked_addresses(now: dt.datetime | None = None) -> list[LockedAddress]:
    """Every client address locked right now, in two queries."""
    policy = lock_policy()
    now = now or clock.now()
    recent_failures = LoginAttempt.objects.filter(
        result=_Result.FAILURE, time__gt=now - policy.lookback, ip__isnull=False
    )
    ips = list(
        recent_failures.values("ip")
        .annotate(n=Count("id"))
        .filter(n__gte=policy.ip_failures)
        .values_list("ip", flat=True)
    )
    if not ips:
        return []
    by_ip: dict[str, list[dt.datetime]] = defaultdict(list)
    for ip, when in recent_failures.filter(ip__in=ips).order_by("time", "id").values_list("ip", "time"):
        by_ip[str(ip)].append(when)
    return [
        LockedAddress(ip=ip, until=end)
        for ip, times in sorted(by_ip.items())
        if (end := _end(times, policy)) is not None and end > now
    ]


def _end(times: list[dt.datetime], policy: LockPolicy) -> dt.datetime | None:
    return lock_end(((t, True) for t in times), threshold=policy.ip_failures, policy=policy)


@dataclass(frozen=True)
class LoginLogFilter:
    username: str = ""
    result: str = ""
    ip: str = ""
    since: dt.datetime | None = None  # inclusive
    until: dt.datetime | None = None  # exclusive


def login_attempt_list(filters: LoginLogFilter) -> QuerySet[LoginAttempt]:
    """The login log, newest first, with the accounts it names joined in (no N+1)."""
    rows = LoginAttempt.objects.select_related("user", "actor").order_by("-time", "-id")
    if filters.username:
        needle = fold_username(filters.username)
        rows = rows.filter(Q(login_key__contains=needle) | Q(user__username__contains=needle))
    if filters.result:
        rows = rows.filter(result=filters.result)
    if filters.ip:
        rows = rows.filter(ip=filters.ip)
    if filters.since is not None:
        rows = rows.filter(time__gte=filters.since)
    if filters.until is not None:
        rows = rows.filter(time__lt=filters.until)
    return rows


def active_sessions(user: User, now: dt.datetime | None = None) -> list[UserSession]:
    """The sessions of ``user`` that still work: not ended, and not past their idle or
    absolute limit (a browser closed without signing out leaves its record open until then)."""
    from xietong.identity import sessions

    now = now or clock.now()
    return list(
        UserSession.objects.filter(
            user=user,
            ended_at__isnull=True,
            last_seen__gte=now - sessions.idle_limit(user),
            created_at__gte=now - sessions.absolute_limit(user),
        ).order_by("-last_seen", "-id")
    )


def api_tokens(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def login_anomalies(*, kind: str = "", status: str = "open") -> QuerySet[LoginAnomaly]:
    """Flags for review, newest first; ``status`` is ``open``, ``done`` or ``all``."""
    rows = LoginAnomaly.objects.select_related("user", "attempt", "reviewed_by").order_by(
        "-created_at", "-id"
    )
    if kind:
        rows = rows.filter(kind=kind)
    if status == "open":
        rows = rows.filter(reviewed_at__isnull=True)
    elif status == "done":
        rows = rows.filter(reviewed_at__isnull=False)
    return rows
