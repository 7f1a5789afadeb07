"""The lexicon in force, compiled once per version and kept in the process.

Every lexicon change writes a new random token to ``LexiconVersion`` in the same
transaction (``changed``). A process compares that token with the one its matcher was built
from, at most once every ``RECHECK_SECONDS`` — and at once after a change it made itself —
and rebuilds when they differ.

The token lives in the database rather than in Django's cache, for two reasons: the
embedded setup and the tests use a per-process memory cache, which another process never
sees; and a cache bumped before the commit lets another process rebuild from the old rows
and keep them, while one bumped after the commit is lost when the process dies in between.
In the database the token commits, or rolls back, with the words. A random token rather
than a counter, so that a rolled-back change can never be mistaken for a later one.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from django.db import transaction

from xietong.core import clock
from xietong.moderation.matcher import Entry, Matcher
from xietong.moderation.models import LexiconVersion, SensitiveWord

#: How long a process trusts its matcher before it reads the version token again.
RECHECK_SECONDS = 5.0

_VERSION_ROW = 1


@dataclass(frozen=True)
class _Compiled:
    token: str
    matcher: Matcher


_lock = threading.Lock()
_compiled: _Compiled | None = None
_checked_at = float("-inf")


def _seconds() -> float:
    return time.monotonic()


def _token() -> str:
    token = LexiconVersion.objects.filter(pk=_VERSION_ROW).values_list("token", flat=True).first()
    return token or ""


def _load() -> Matcher:
    rows = (
        SensitiveWord.objects.filter(is_active=True)
        .order_by("pk")
        .values_list("word", "category__name", "action")
    )
    return Matcher(Entry(word, category, action) for word, category, action in rows)


def current() -> Matcher:
    """The matcher of the lexicon in force."""
    global _compiled, _checked_at
    now = _seconds()
    compiled = _compiled
    if compiled is not None and now - _checked_at < RECHECK_SECONDS:
        return compiled.matcher
    token = _token()
    if compiled is None or compiled.token != token:
        with _lock:
            compiled = _compiled
            if compiled is None or compiled.token != token:
                # The token first, then the words: a change committed in between makes the
                # next check rebuild again, never keep newer words under an older token.
                compiled = _Compiled(token, _load())
                _compiled = compiled
    _checked_at = now
    return compiled.matcher


def forget() -> None:
    """Read the version token again on the next use (this process changed the lexicon)."""
    global _checked_at
    _checked_at = float("-inf")


def changed() -> None:
    """Record a lexicon change; call it inside the transaction of the change."""
    LexiconVersion.objects.update_or_create(
        pk=_VERSION_ROW, defaults={"token": uuid.uuid4().hex, "changed_at": clock.now()}
    )
    # Now for this connection (which sees the change already), and again after the commit
    # for the other threads of this process, which may have re-read the old token meanwhile.
    forget()
    transaction.on_commit(forget)
