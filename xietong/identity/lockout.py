"""Login-failure lockout (R-21; security baseline IA-04/IA-05): the policy, the lock arithmetic
and where a request comes from.

The counters are the append-only ``LoginAttempt`` log itself rather than django-axes:

* one source of truth: what the security administrator reviews on the login-log page is
  exactly what decides a lock, and an unlock is one more row instead of deleting counters
  (axes' reset deletes its ``AccessAttempt`` rows, which an append-only log must not do);
* it runs on ``xietong.core.clock``, so tests and the lock arithmetic share one notion of now;
* it counts by the typed, case-folded name (``fold_username``), so an unknown name locks
  exactly like a real one and the lock message cannot reveal whether an account exists;
* one entry point serves the web form, the REST token and the WebSocket ticket login alike
  (IA-05), none of which go through axes' request/handler plumbing.

Where a request comes from is ``xietong.core.http``. Reads live in ``selectors``
(``attempt_allowed``), writes in ``services``
(``login_attempt_record``, ``login_authenticate``, ``account_unlock``).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from xietong.identity.models import User


@dataclass(frozen=True)
class LockPolicy:
    failures: int
    ip_failures: int
    window: dt.timedelta
    duration: dt.timedelta

    @property
    def lookback(self) -> dt.timedelta:
        """How far back a failure can still matter: the lock it completes ends after this."""
        return self.window + self.duration


def lock_policy() -> LockPolicy:
    # Read on every call, not at import, so a changed setting (and later the admin-edited
    # security policy of R-24) applies on the next request.
    return LockPolicy(
        failures=settings.XIETONG_LOCKOUT_FAILURES,
        ip_failures=settings.XIETONG_LOCKOUT_IP_FAILURES,
        window=dt.timedelta(minutes=settings.XIETONG_LOCKOUT_WINDOW_MINUTES),
        duration=dt.timedelta(minutes=settings.XIETONG_LOCKOUT_MINUTES),
    )


def lock_end(
    events: Iterable[tuple[dt.datetime, bool]], *, threshold: int, policy: LockPolicy
) -> dt.datetime | None:
    """When the latest lock earned by ``events`` ends, or None if they earn none.

    ``events`` are ``(time, is_failure)`` in ascending time; a non-failure event (a successful
    login, an administrator's unlock) wipes the slate, including a running lock. A lock uses
    up the failures that caused it, so once it expires the next lock needs a full new series
    even when the window is longer than the lock.
    """
    end: dt.datetime | None = None
    recent: deque[dt.datetime] = deque()
    for when, is_failure in events:
        if not is_failure:
            recent.clear()
            end = None
            continue
        if end is not None and when < end:
            continue  # a request that raced past the gate while the lock was being set
        recent.append(when)
        while recent and recent[0] < when - policy.window:
            recent.popleft()
        if len(recent) >= threshold:
            end = when + policy.duration
            recent.clear()
    return end


def account_locked_message() -> str:
    # Shown for known and unknown names alike, so it must not hint at the account existing.
    return _("登录失败次数过多，账号已临时锁定，请 %(minutes)s 分钟后再试或联系管理员解锁。") % {
        "minutes": settings.XIETONG_LOCKOUT_MINUTES
    }


def ip_locked_message() -> str:
    return _("来自您所在网络地址的登录失败次数过多，已暂时禁止登录，请 %(minutes)s 分钟后再试。") % {
        "minutes": settings.XIETONG_LOCKOUT_MINUTES
    }


@dataclass(frozen=True)
class LoginOutcome:
    """What one password check ended in; ``user`` is set only when the login may proceed."""

    result: str  # a ``LoginAttempt.Result`` value
    reason: str
    user: User | None = None
    locked: bool = False  # the account or address is locked now (possibly by this very failure)

    @property
    def message(self) -> str | None:
        """The lock message to show instead of the generic "wrong name or password"."""
        if not self.locked:
            return None
        return ip_locked_message() if self.reason == "ip_locked" else account_locked_message()


# The authentication backend can only return a user or None; the login form reads the
# outcome from the request to tell a lock apart from a wrong password.
_OUTCOME_ATTRIBUTE = "_xietong_login_outcome"


def remember_outcome(request: HttpRequest | None, outcome: LoginOutcome) -> None:
    if request is not None:
        setattr(request, _OUTCOME_ATTRIBUTE, outcome)


def remembered_outcome(request: HttpRequest | None) -> LoginOutcome | None:
    outcome = getattr(request, _OUTCOME_ATTRIBUTE, None)
    return outcome if isinstance(outcome, LoginOutcome) else None
