"""The first paint of the workbench's cards, kept per user in Django's cache.

Most visits to the home page find the cards as they were a minute ago: nothing the cards
show has changed. Each card's rendered HTML is kept under a key of its own user, and served
while it is still *current*, which a stamp stored with it decides:

* **the user's versions** — a token per topic (module), replaced whenever an event about it
  is pushed to the user (``core.events``: ``notify`` and ``workflow`` for a new notification
  of kind ``workflow.todo``, ``notices`` for a notice's receipt, ``workbench`` for a pushed
  to-do …) and when the user's own action of that module is recorded in the audit trail (an
  approval: the page they come back to was not told by any event). A card's stamp holds the
  tokens of the topics its live refresh follows, so what refreshes a card on screen also
  drops its cached copy, and nothing else does: a read notification leaves the to-dos alone.
  A token of the user's own, replaced by an event of unknown topic, outdates every card.
  Each is replaced at once and again after commit: nothing cached before the change is
  served again, nor anything read while it was not yet visible;
* **the providers' answers** — inside a card, each provider's answer is kept the same way
  under its own module's topic (``Answers``): an approval's notification repaints the to-do
  card from the approvals' provider asked again and the nine others' kept answers;
* **shared versions** — replaced for everyone when something every viewer may see changes:
  ``portal`` (an article or a channel saved, other than a draft), ``org`` (a unit of the
  tree saved or deleted), ``shortcuts`` (the administrator's shortcut list) and ``all`` (an
  event pushed to everyone);
* an **age** (``TTL``, 60 s) as a safety net for what no event announces: a scheduled
  publication or expiry reached, a relative time ("5 分钟前"), a deadline passed or a meeting
  that began. A card or answer older than that — or older than the user's last own action,
  which may have changed more than its own module (a step approved moves a document along)
  — is still current as far as every event knows, so the page shows it at once and asks
  for it afresh as soon as it has loaded (the card endpoint, which never serves an aged
  one): the morning's first visit, right after the login, paints yesterday's last cards,
  less what the night's events outdated, and corrects them a moment later instead of
  computing every card before anything appears. Everything is kept ``KEEP`` seconds (a day)
  at most; the schedule's keys name the day, so it is never another day's.

A card that shows the same to everyone with the same audience (``BY_AUDIENCE``: the news)
is kept once per audience instead — clearance, permissions, roles and posts' units — and only
the shared versions outdate it: a department's staff share one copy, the morning's first
reader paints it for the rest, and a user's own notification does not repaint it.

A user's key names the user and a fingerprint of what decides what they may see and how it is
written: their account (its session hash), clearance (密级), superuser flag, permissions with
their data scopes, roles, their posts' units, the registered providers, language and time
zone. A fragment is therefore never served to another user, nor to the same user after their
clearance, permissions, posts or language changed. Versions are random tokens rather than counters,
and a missing one is replaced by a new token, so that a lost or expired key can only cause a
miss, never a stale hit; and a stamp is read *before* the card's data, so a change committed
meanwhile leaves the fragment stored under a stamp that is already outdated.

A cache that fails (Redis down) costs the cards their speed, not the page: every error is
logged and treated as a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone, translation

from xietong.core import access, classification, clock, events, reads, worklist
from xietong.org.selectors import memberships_of

logger = logging.getLogger(__name__)

PREFIX = "workbench:"
#: Seconds a card is served as it is (the setting ``WORKBENCH_CARD_CACHE_SECONDS``); an older
#: one is shown and refreshed at once by the page.
TTL = 60
#: Seconds a card is kept at most (the setting ``WORKBENCH_CARD_KEEP_SECONDS``; 0 switches the
#: cache off). A day: the morning's first visit finds the cards of the day before.
KEEP = 24 * 3600
#: Seconds a version token is kept after it was last replaced. A missing one (expired,
#: evicted) is replaced by a new token on the next read, which outdates every card stored
#: under the old one: a stamp is never "nothing", which a lost key would match again.
VERSION_SECONDS = 24 * 3600

#: Shared versions of each card besides the user's own. Unknown cards depend on them all.
ALL = "all"
PORTAL = "portal"
ORG = "org"
SHORTCUTS = "shortcuts"
SHARED: Mapping[str, tuple[str, ...]] = {
    "todos": (ALL, ORG, PORTAL),
    "schedule": (ALL, ORG),
    "notices": (ALL, ORG),
    "news": (ALL, ORG, PORTAL),
    "shortcuts": (ALL, ORG, SHORTCUTS),
}
EVERY_SHARED = (ALL, ORG, PORTAL, SHORTCUTS)
#: The user's topic that every event about some topic replaces as well.
ANY = "*"
#: Cards that show one day: their key names it (past midnight, today's schedule is another
#: day's).
BY_DAY = frozenset({"schedule"})
#: Cards whose content follows from what decides visibility alone — not from the user's own
#: notifications or actions: one copy serves everyone with the same audience (a department's
#: staff share their news card), and a user's events do not outdate it.
BY_AUDIENCE = frozenset({"news", "shortcuts"})

#: Models whose rows, saved or deleted, change a shared version (a model of an app that is
#: not installed is skipped). Articles saved as drafts are nobody's news and are left out.
WATCHED: Mapping[str, str] = {
    "portal.Article": PORTAL,
    "portal.ArticleAudience": PORTAL,
    "portal.Channel": PORTAL,
    # Posts, roles and grants are not watched: what they decide for a person (permission
    # scopes, roles, the posts' units) is part of that person's keys (``fingerprint``).
    "org.OrgUnit": ORG,
}


#: Rows that record a user's own actions (``actor_id``): each outdates that user's cards.
ACTIONS = "audit.Event"


def ttl() -> int:
    return int(getattr(settings, "WORKBENCH_CARD_CACHE_SECONDS", TTL))


def keep() -> int:
    return int(getattr(settings, "WORKBENCH_CARD_KEEP_SECONDS", KEEP))


def _user_key(user_id: int, topic: str = "") -> str:
    return f"{PREFIX}v:u:{user_id}" + (f":{topic}" if topic else "")


def _soft_key(user_id: int) -> str:
    return f"{PREFIX}v:s:{user_id}"


def _shared_key(name: str) -> str:
    return f"{PREFIX}v:{name}"


def _token() -> str:
    return secrets.token_hex(8)


# --------------------------------------------------------------------------- invalidation


def changed_for(user_ids: Iterable[int], topics: Iterable[str] | None = None) -> None:
    """What the cards of these users show about ``topics`` (modules; ``None``: anything) has
    changed: the cached cards that show it are outdated."""
    # ANY: the token of cards that follow every event (they name no topics).
    names = [*sorted(set(topics)), ANY] if topics is not None else [""]
    tokens = {_user_key(pk, topic): _token() for pk in set(user_ids) for topic in names}
    if not tokens:
        return
    try:
        cache.set_many(tokens, VERSION_SECONDS)
    except Exception:
        logger.exception("workbench.cache_failed")


def changed_for_on_commit(user_ids: Iterable[int], topics: Iterable[str] | None = None) -> None:
    """``changed_for`` now and after commit (see ``changed_for_everyone_on_commit``)."""
    users = frozenset(user_ids)
    about = frozenset(topics) if topics is not None else None
    changed_for(users, about)
    transaction.on_commit(lambda: changed_for(users, about), robust=True)


def changed_for_everyone(*names: str) -> None:
    """Something every viewer's cards may show has changed (``PORTAL``, ``ORG`` …; none:
    everything)."""
    try:
        cache.set_many({_shared_key(name): _token() for name in names or EVERY_SHARED}, VERSION_SECONDS)
    except Exception:
        logger.exception("workbench.cache_failed")


def changed_for_everyone_on_commit(*names: str) -> None:
    """``changed_for_everyone`` now (nothing cached before the change is served again) and
    after commit (nothing read while the change was not yet visible is)."""
    changed_for_everyone(*names)
    transaction.on_commit(lambda: changed_for_everyone(*names), robust=True)


def _pushed(user_ids: frozenset[int] | None, topics: frozenset[str] | None) -> None:
    if user_ids is None:
        changed_for_everyone(ALL)
    else:
        changed_for(user_ids, topics)


def acted(user_id: int, action: str) -> None:
    """The user did ``action`` (``workflow.item.approved``): what they see of its module has
    changed, and maybe more that no event tells them (a step they approved moved a document
    along): their other cards are aged, painted at once and asked for afresh when the next
    page has loaded. Now and after commit."""

    topic = action.split(".", 1)[0]

    def outdate() -> None:
        changed_for([user_id], {topic} if topic else None)
        try:
            cache.set(_soft_key(user_id), _token(), VERSION_SECONDS)
        except Exception:
            logger.exception("workbench.cache_failed")

    outdate()
    transaction.on_commit(outdate, robust=True)


def _acted(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    # A user's own action (an approval, a receipt …) changes their own cards; the page they
    # come back to is not told by an event, so the audit record of the action says it.
    actor_id = getattr(instance, "actor_id", None)
    if created and actor_id is not None:
        acted(actor_id, str(getattr(instance, "action", "") or ""))


def _model_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    name = WATCHED.get(sender._meta.label)
    if name is None:
        return
    if name == PORTAL and getattr(instance, "status", None) == "draft":
        return
    changed_for_everyone_on_commit(name)


def connect() -> None:
    """Follow the events and rows that outdate cached cards (``AppConfig.ready``)."""
    events.on_push(_pushed)
    with contextlib.suppress(LookupError):
        post_save.connect(_acted, sender=apps.get_model(ACTIONS), dispatch_uid="workbench.cache.acted")
    for label in WATCHED:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        post_save.connect(_model_changed, sender=model, dispatch_uid=f"workbench.cache.{label}.save")
        post_delete.connect(_model_changed, sender=model, dispatch_uid=f"workbench.cache.{label}.delete")


# --------------------------------------------------------------------------- reading


def _ids(ids: Any) -> list[int]:
    if isinstance(ids, frozenset):
        return sorted(ids)
    # A sub-query of ids: ``values()`` rows of one column, or plain ids.
    return sorted({next(iter(row.values())) if isinstance(row, dict) else row for row in ids})


def fingerprint(user: Any, *, personal: bool = True) -> str:
    """What decides what the user may see of the cards and how they are written, hashed.
    Without ``personal`` the account itself is left out: the key of a ``BY_AUDIENCE`` card,
    shared by everyone with the same clearance, permissions, roles and posts' units. Worked
    out once per page."""
    return reads.once(("workbench.fingerprint", user.pk, personal), lambda: _fingerprint(user, personal))


def _fingerprint(user: Any, personal: bool) -> str:
    grants = access.grants_of(user)
    scopes = sorted(
        (
            codename,
            scope.everything,
            scope.own,
            sorted((rule.unit_id, rule.subtree, rule.excluded) for rule in scope.units),
        )
        for codename, scope in grants.scopes.items()
    )
    # The roles and the posts' units themselves (the posts are read once per page, the
    # greeting shows the primary one): a post or role granted or taken changes that person's
    # keys only, so nobody else's cards are lost to it; the tree itself is the ``org`` version's.
    roles = _ids(grants.principals.role_ids)
    units = sorted({membership.unit_id for membership in memberships_of(user)})
    providers = [
        (provider.key, provider.card)
        for provider in (
            *worklist.todo_providers(),
            *worklist.schedule_providers(),
            *worklist.feed_providers(),
        )
    ]
    text = repr(
        (
            # Django's session hash of the account (an HMAC of its salted password hash): an
            # account that reuses a deleted one's id, or a new password, starts afresh.
            user.get_session_auth_hash() if personal else "audience",
            providers,
            classification.clearance_of(user),
            bool(user.is_superuser),
            translation.get_language(),
            timezone.get_current_timezone_name(),
            scopes,
            roles,
            units,
        )
    )
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


class _Kept:
    """Values kept per name, each under a key and a stamp of version tokens, read in one go:
    ``get`` answers a current one or ``None``; ``aged`` tells whether the one answered is
    older than ``ttl()`` or predates the user's last own action (only for names in
    ``aged_ok``: for the others such a value is a miss); ``put`` keeps a fresh one under the
    stamp read before it was computed; ``save`` writes them all in one go."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.enabled = keep() > 0
        self._found: dict[str, Any] = {}
        self._aged: set[str] = set()
        self._stamps: dict[str, tuple[str, ...]] = {}
        self._keys: dict[str, str] = {}
        self._fresh: dict[str, Any] = {}
        self._at = clock.now().timestamp()
        self._soft = ""

    def _read(
        self,
        keys: Mapping[str, str],
        stamps: Mapping[str, list[str]],
        aged_ok: Iterable[str],
        shared: Iterable[str] = (),
    ) -> None:
        """``keys``: each name's key; ``stamps``: the version keys of each name's stamp;
        ``shared``: the names kept for everyone with the same audience, which the user's own
        actions do not age."""
        shared = set(shared)
        self._keys = dict(keys)
        soft = _soft_key(self.user_id)
        versions = sorted({key for names in stamps.values() for key in names} | {soft})
        try:
            got = cache.get_many([*self._keys.values(), *versions])
        except Exception:
            logger.exception("workbench.cache_failed")
            self.enabled = False
            return
        missing = {key: _token() for key in versions if got.get(key) is None}
        if missing:
            try:
                cache.set_many(missing, VERSION_SECONDS)
            except Exception:
                logger.exception("workbench.cache_failed")
                self.enabled = False
                return
            got.update(missing)
        self._soft = got[soft]
        oldest = self._at - ttl()
        may_age = set(aged_ok)
        for name, key in self._keys.items():
            stamp = tuple(got[version] for version in stamps[name])
            self._stamps[name] = stamp
            value = got.get(key)
            if not (isinstance(value, tuple) and len(value) == 4 and value[0] == stamp):
                continue
            if value[2] < oldest or (value[3] != self._soft and name not in shared):
                if name not in may_age:
                    continue
                self._aged.add(name)
            self._found[name] = value[1]

    def get(self, name: str) -> Any:
        return self._found.get(name)

    def aged(self, name: str) -> bool:
        return name in self._aged

    @property
    def any_aged(self) -> bool:
        return bool(self._aged)

    def put(self, name: str, value: Any) -> None:
        if self.enabled and name in self._keys:
            self._fresh[name] = value

    def save(self) -> None:
        if not self._fresh:
            return
        rows = {
            self._keys[name]: (self._stamps[name], value, self._at, self._soft)
            for name, value in self._fresh.items()
        }
        self._fresh = {}
        try:
            cache.set_many(rows, keep())
        except Exception:
            logger.exception("workbench.cache_failed")


class Cards(_Kept):
    """The cached cards of one user for one request. ``topics``: the topics each personal
    card follows (one that names none follows every event to the user)."""

    def __init__(
        self,
        user: Any,
        names: Iterable[str],
        *,
        aged_ok: Iterable[str] = (),
        topics: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        super().__init__(int(user.pk))
        self.names = list(names)
        if not self.enabled:
            return
        mark = fingerprint(user)
        audience = fingerprint(user, personal=False) if BY_AUDIENCE.intersection(self.names) else ""
        day = clock.localdate().isoformat()
        keys: dict[str, str] = {}
        stamps: dict[str, list[str]] = {}
        for name in self.names:
            shared = [_shared_key(s) for s in SHARED.get(name, EVERY_SHARED)]
            if name in BY_AUDIENCE:
                keys[name] = f"{PREFIX}card:a:{name}:{audience}"
                stamps[name] = shared
                continue
            keys[name] = f"{PREFIX}card:{self.user_id}:{name}:{mark}" + (f":{day}" if name in BY_DAY else "")
            followed = sorted(set((topics or {}).get(name, ()))) or [ANY]
            stamps[name] = [_user_key(self.user_id), *(_user_key(self.user_id, t) for t in followed), *shared]
        self._read(keys, stamps, aged_ok, shared=BY_AUDIENCE.intersection(self.names))


class Answers(_Kept):
    """The providers' answers of one user for one request, kept like the cards, each under a
    stamp of its own module's topic: when an event about one module outdates a card, only that
    module's providers are asked again. ``ask``: what the providers are asked (a limit, a day),
    part of the key."""

    def __init__(self, user: Any, providers: Iterable[worklist.Provider], *, ask: Any, aged_ok: bool) -> None:
        super().__init__(int(user.pk))
        if not self.enabled:
            return
        mark = fingerprint(user)
        keys: dict[str, str] = {}
        stamps: dict[str, list[str]] = {}
        for provider in providers:
            topic = provider.key.split(".", 1)[0]
            keys[provider.key] = f"{PREFIX}answer:{self.user_id}:{provider.key}:{ask}:{mark}"
            stamps[provider.key] = [
                _user_key(self.user_id),
                _user_key(self.user_id, topic),
                *(_shared_key(s) for s in (ALL, ORG, PORTAL)),
            ]
        self._read(keys, stamps, keys if aged_ok else ())
