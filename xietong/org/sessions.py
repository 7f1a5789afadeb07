"""Ending an account's sessions and API tokens at once (R-15: a leaver's or a suspended
user's open session must be refused on its next request).

identity owns sessions and tokens: ``user_sessions_end`` ends the sessions it tracks (and
audits each), ``user_tokens_revoke`` the tokens. A session that identity does not track —
one opened before tracking existed, or by a path that bypasses its sign-in signal — would
survive that, so the session table is swept for the account afterwards as well. Django's
authentication also refuses an inactive account's session on its own; these are the
second and third locks, not the only one.
"""

from __future__ import annotations

import logging
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.http import HttpRequest

from xietong.core import clock
from xietong.identity import services as identity_services
from xietong.identity.models import User

logger = logging.getLogger(__name__)

_DATABASE_ENGINES = {"django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"}


def end_sessions(user: User, *, actor: User | None = None, request: HttpRequest | None = None) -> int:
    """End every session of ``user``; returns how many were ended."""
    ended = identity_services.user_sessions_end(user=user, actor=actor, request=request)
    return ended + _end_untracked_sessions(user)


def revoke_tokens(user: User, *, actor: User | None = None, request: HttpRequest | None = None) -> int:
    """Revoke every API token of ``user``; returns how many."""
    return identity_services.user_tokens_revoke(user=user, actor=actor, request=request)


def _end_untracked_sessions(user: User) -> int:
    if settings.SESSION_ENGINE not in _DATABASE_ENGINES:
        logger.warning("org.sessions.engine_not_scanned", extra={"engine": settings.SESSION_ENGINE})
        return 0
    store = import_module(settings.SESSION_ENGINE).SessionStore
    wanted = str(user.pk)
    ended = 0
    # Session data is encoded, so it cannot be filtered in SQL: read the live ones.
    for session in Session.objects.filter(expire_date__gt=clock.now()).iterator(chunk_size=500):
        if str(session.get_decoded().get(SESSION_KEY, "")) != wanted:
            continue
        store(session_key=session.session_key).delete()  # through the store: drops a cached copy too
        ended += 1
    return ended
