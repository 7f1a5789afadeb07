"""Session lifetime (SES-01, SES-02, SES-03, SES-05): the limits and the marks kept in a session.

Every signed-in session carries two timestamps (seconds since the epoch, project clock):

* ``LOGIN_AT`` — when the user signed in; the absolute lifetime counts from here;
* ``SEEN_AT`` — the last HTTP request; the idle timeout counts from here. WebSocket traffic
  never moves it, so a tab left open with its heartbeat still times out.

Both are written by the ``user_logged_in`` receiver and read by ``SessionLifetimeMiddleware``
(pages and the API) and by the WebSocket consumer's check (``socket_session_valid``).
Administrator tiers (三员) get the shorter limits; the tier is read from the user's grants on
each check, so a role granted mid-session shortens the limits at once.
"""

from __future__ import annotations

import datetime as dt
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.utils.crypto import constant_time_compare

from xietong.core import access, clock

LOGIN_AT = "xt_login_at"
SEEN_AT = "xt_seen_at"
# A request within this long of the last recorded one does not write the session again: one
# database write per minute per session instead of one per request. The idle timer may then
# end a session up to this much early, which errs on the safe side.
TOUCH_EVERY = dt.timedelta(seconds=60)

IDLE = "idle"
EXPIRED = "expired"


def admin_tier_permissions() -> list[str]:
    """The permissions only a 三员 tier may hold: holding any makes an account "admin tier"."""
    return [p.codename for p in access.all_permissions() if p.reserved_for is not None]


def is_admin_tier(user: Any) -> bool:
    return access.can_any(user, admin_tier_permissions())


def idle_limit(user: Any) -> dt.timedelta:
    minutes = (
        settings.XIETONG_ADMIN_SESSION_IDLE_MINUTES
        if is_admin_tier(user)
        else settings.XIETONG_SESSION_IDLE_MINUTES
    )
    return dt.timedelta(minutes=minutes)


def absolute_limit(user: Any) -> dt.timedelta:
    hours = (
        settings.XIETONG_ADMIN_SESSION_ABSOLUTE_HOURS
        if is_admin_tier(user)
        else settings.XIETONG_SESSION_ABSOLUTE_HOURS
    )
    return dt.timedelta(hours=hours)


def _shortest_idle() -> dt.timedelta:
    return dt.timedelta(
        minutes=min(settings.XIETONG_ADMIN_SESSION_IDLE_MINUTES, settings.XIETONG_SESSION_IDLE_MINUTES)
    )


def _shortest_absolute() -> dt.timedelta:
    return dt.timedelta(
        hours=min(settings.XIETONG_ADMIN_SESSION_ABSOLUTE_HOURS, settings.XIETONG_SESSION_ABSOLUTE_HOURS)
    )


def _moment(value: object) -> dt.datetime | None:
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    return None


def mark_login(session: SessionBase, now: dt.datetime | None = None) -> None:
    stamp = (now or clock.now()).timestamp()
    session[LOGIN_AT] = stamp
    session[SEEN_AT] = stamp


def over(data: Any, user: Any, now: dt.datetime | None = None) -> str | None:
    """``IDLE`` or ``EXPIRED`` when the session (its data, a mapping) is over, else None.

    A session without marks (made before they existed) is not judged here: the middleware
    marks it on its next request.
    """
    now = now or clock.now()
    login_at, seen_at = _moment(data.get(LOGIN_AT)), _moment(data.get(SEEN_AT))
    if login_at is None or seen_at is None:
        return None
    # The grants are only looked at when the shorter (administrator) limit has passed.
    if now - login_at > _shortest_absolute() and now - login_at > absolute_limit(user):
        return EXPIRED
    if now - seen_at > _shortest_idle() and now - seen_at > idle_limit(user):
        return IDLE
    return None


def touch_due(session: SessionBase, now: dt.datetime) -> bool:
    seen_at = _moment(session.get(SEEN_AT))
    return seen_at is None or now - seen_at >= TOUCH_EVERY


def session_store(session_key: str | None = None) -> SessionBase:
    engine = import_module(settings.SESSION_ENGINE)
    store: SessionBase = engine.SessionStore(session_key)
    return store


def delete_from_store(session_key: str) -> None:
    session_store().delete(session_key)


def socket_session_valid(session_key: str, user_id: int) -> bool:
    """The WebSocket consumer's check (registered in ``IdentityConfig.ready``): the session still
    exists in the store, still belongs to this active user with an unchanged password, and has
    neither idled out nor outlived its absolute limit."""
    from xietong.identity.models import User

    data = session_store(session_key).load()
    if str(data.get(SESSION_KEY, "")) != str(user_id) or BACKEND_SESSION_KEY not in data:
        return False
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    if not constant_time_compare(str(data.get(HASH_SESSION_KEY, "")), user.get_session_auth_hash()):
        return False
    return over(data, user) is None
