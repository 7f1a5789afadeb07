"""The workbench (工作台): the home page every employee opens first (R-75, R-86, R-88), its cards
as fragments that refresh live, the user's pushed to-dos, and the administrator's shortcut
pages. Thin: selectors read, services write."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xietong.core import clock, navigation, reads, worklist
from xietong.core.errors import DomainError, NotFoundError
from xietong.core.permissions import permission_required
from xietong.identity.types import AuthedRequest
from xietong.notify import kinds as notify_kinds
from xietong.notify import selectors as notify_selectors
from xietong.org.selectors import primary_membership
from xietong.workbench import cache, selectors, services
from xietong.workbench.forms import ShortcutForm
from xietong.workbench.models import Shortcut

#: Unread notifications listed on the workbench (R-75); the rest are one click away.
NOTIFICATIONS_SHOWN = 5
#: Milliseconds a card waits after an event before it refreshes: a burst (a notice to a whole
#: department, a batch of pushed to-dos) costs one request per card.
LIVE_DELAY_MS = 600
MANAGE = selectors.MANAGE_SHORTCUTS


# --------------------------------------------------------------------------- live refresh


def _app(key: str) -> str:
    return key.split(".", 1)[0]


def live_trigger(apps: Iterable[str], *, every_notification: bool = False) -> str:
    """The htmx trigger of a card: an event pushed to the page (``xietong:event`` on
    ``document``, see frontend/src/events.js) whose type — or, for a new notification, whose
    kind — belongs to one of ``apps``; debounced. ``every_notification``: any ``notify.*``."""
    names = sorted({app for app in apps if re.fullmatch(r"[a-z][a-z0-9_]*", app)})
    pattern = "/^(" + "|".join(names) + r")\./"
    condition = f"{pattern}.test(detail.type) || (detail.type == 'notify.new' && {pattern}.test(detail.kind))"
    if every_notification:
        condition = f"/^notify\\./.test(detail.type) || {condition}"
    return f"xietong:event[{condition}] from:document delay:{LIVE_DELAY_MS}ms"


def _apps_of(providers: Iterable[worklist.Provider]) -> set[str]:
    return {"workbench", *(_app(provider.key) for provider in providers)}


# --------------------------------------------------------------------------- cards


def _greeting(hour: int) -> str:
    if 5 <= hour < 9:
        return _("早上好")
    if 9 <= hour < 12:
        return _("上午好")
    if 12 <= hour < 14:
        return _("中午好")
    if 14 <= hour < 18:
        return _("下午好")
    return _("晚上好")


#: Whether the card being computed may use providers' answers older than the cache's age
#: (the page's first paint, which asks for the card afresh then).
_AGED_OK: ContextVar[bool] = ContextVar("workbench_aged_ok", default=False)
#: The key a card's context carries when it was made of such answers.
AGED = "_aged"


def _answers(request: AuthedRequest, providers: Iterable[worklist.Provider], ask: Any) -> cache.Answers:
    return cache.Answers(request.user, providers, ask=ask, aged_ok=_AGED_OK.get())


def _todos(request: AuthedRequest) -> dict[str, Any]:
    answers = _answers(request, worklist.todo_providers(), selectors.TODOS_SHOWN)
    board = selectors.todo_board(request.user, answers=answers)
    answers.save()
    return {"board": board, AGED: answers.any_aged}


def _schedule(request: AuthedRequest) -> dict[str, Any]:
    day = clock.localdate()
    answers = _answers(request, worklist.schedule_providers(), day.isoformat())
    board = selectors.schedule_board(request.user, day=day, answers=answers)
    answers.save()
    return {"schedule": board, AGED: answers.any_aged}


def _notices(request: AuthedRequest) -> dict[str, Any]:
    user = request.user
    # unread notices with their count, right after login. Two queries on an index
    # prefix, however many notifications the user has; the count is the bell's ("99+").
    count = notify_selectors.bell_count(user)
    unread = (
        notify_selectors.notification_list(user, unread_only=True, limit=NOTIFICATIONS_SHOWN).items
        if count
        else []
    )
    providers = [p for p in worklist.feed_providers() if p.card == worklist.FEED_NOTICES]
    answers = _answers(request, providers, selectors.FEED_LINKS)
    feeds = selectors.feed_board(user, card=worklist.FEED_NOTICES, answers=answers)
    answers.save()
    return {
        "notifications": [(item, notify_kinds.label(item.dispatch.kind)) for item in unread],
        "notifications_unread": count,
        "notifications_unread_label": f"{count}" if count < notify_selectors.BELL_LIMIT else "99+",
        "notice_feeds": feeds,
        AGED: answers.any_aged,
    }


def _news(request: AuthedRequest) -> dict[str, Any]:
    return {"news": selectors.feed_board(request.user, card=worklist.FEED_NEWS)}


def _shortcuts(request: AuthedRequest) -> dict[str, Any]:
    # The modules' tiles are the navigation's, which follows from the permissions alone: the
    # card is kept per audience with them.
    user = request.user
    return {
        "systems": selectors.shortcuts_for(user),
        "can_manage_shortcuts": selectors.can_manage_shortcuts(user),
        "nav_sections": navigation.modules_for(user),
    }


@dataclass(frozen=True)
class Card:
    name: str
    context: Callable[[AuthedRequest], dict[str, Any]]
    #: The modules whose events refresh the card (``None``: it follows no event; the shortcuts
    #: change only by administration).
    apps: Callable[[], set[str]] | None
    #: The counter of the summary strip that the card owns, if any.
    stat: str = ""
    #: Refreshed by every notification event (a new one, one read), whatever its kind.
    every_notification: bool = False

    @property
    def live(self) -> bool:
        return self.apps is not None

    def trigger(self) -> str:
        return live_trigger(self.apps() if self.apps else (), every_notification=self.every_notification)

    def topics(self) -> set[str]:
        """What outdates the card in the cache: what refreshes it on screen."""
        if self.apps is None:
            return set()
        return self.apps() | ({"notify"} if self.every_notification else set())

    @property
    def template(self) -> str:
        return f"workbench/cards/{self.name}.html"

    def paint(self, context: dict[str, Any]) -> dict[str, str]:
        """The card's body and its counter (as placed in the page, and out of band for an
        htmx refresh), rendered without the request: what is cached must not depend on it."""
        if not self.stat:
            return {"body": render_to_string(self.template, context), "stat": "", "stat_oob": ""}
        stat = f"workbench/_stat_{self.stat}.html"
        return {
            "body": render_to_string(self.template, context),
            "stat": render_to_string(stat, context),
            "stat_oob": render_to_string(stat, {**context, "oob": True}),
        }


CARDS = {
    card.name: card
    for card in (
        Card("todos", _todos, lambda: _apps_of(worklist.todo_providers()) | {"notices"}, stat="todos"),
        Card(
            "schedule",
            _schedule,
            lambda: _apps_of(worklist.schedule_providers()) | {"notices"},
            stat="schedule",
        ),
        Card(
            "notices",
            _notices,
            lambda: (
                _apps_of(p for p in worklist.feed_providers() if p.card == worklist.FEED_NOTICES)
                | {"notices"}
            ),
            stat="unread",
            every_notification=True,
        ),
        Card(
            "news",
            _news,
            lambda: _apps_of(p for p in worklist.feed_providers() if p.card == worklist.FEED_NEWS),
        ),
        Card("shortcuts", _shortcuts, None),
    )
}


def _cards(
    request: AuthedRequest, names: Iterable[str], *, aged_ok: bool = False
) -> tuple[dict[str, Any], set[str]]:
    """Each card named: its painted HTML (``paint``), from the user's cache when still current
    (see ``workbench.cache``), else computed and kept; and, with ``aged_ok``, the names of the
    cards served aged, which the page asks for afresh once loaded (only cards that refresh
    live can: the others are computed)."""
    names = list(names)
    aged_names = {name for name in names if aged_ok and CARDS[name].live}
    kept = cache.Cards(
        request.user,
        names,
        aged_ok=aged_names,
        topics={name: CARDS[name].topics() for name in names if CARDS[name].live},
    )
    found: dict[str, Any] = {}
    aged = {name for name in kept.names if kept.aged(name)}
    for name in kept.names:
        value = kept.get(name)
        if value is None:
            card = CARDS[name]
            token = _AGED_OK.set(name in aged_names)
            try:
                context = card.context(request)
            finally:
                _AGED_OK.reset(token)
            value = card.paint(context)
            if context.pop(AGED, False):
                aged.add(name)  # asked for afresh by the page, kept then
            else:
                kept.put(name, value)
        found[name] = value
    kept.save()
    return found, aged


@login_required
@require_GET
@reads.shared_view
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    cards, aged = _cards(request, CARDS, aged_ok=True)
    now = timezone.localtime(clock.now())
    context = {
        "cards": cards,
        "membership": primary_membership(user),
        "today": now.date(),
        "greeting": _greeting(now.hour),
        # An aged card is refreshed as soon as the page has loaded, then live as the others.
        "triggers": {
            name: ("load, " if name in aged else "") + card.trigger()
            for name, card in CARDS.items()
            if card.live
        },
    }
    return render(request, "workbench/home.html", context)


@login_required
@require_GET
@reads.shared_view
def card(request: AuthedRequest, name: str) -> HttpResponse:
    """One card's body, for htmx to swap in when an event says it changed. The counters of
    the summary strip that the card owns come along out of band."""
    found = CARDS.get(name)
    if found is None:
        raise Http404
    value = _cards(request, [name])[0][name]
    response = HttpResponse(value["body"] + value["stat_oob"])
    response["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- pushed to-dos


@login_required
@require_GET
def todos(request: AuthedRequest) -> HttpResponse:
    """All the user's open to-dos pushed by business systems."""
    return render(
        request,
        "workbench/todos.html",
        {
            "page": selectors.external_todo_page(request.user, request.GET.get("page")),
            "breadcrumbs": [(_("业务系统待办"), None)],
        },
    )


@login_required
@require_GET
def todo_open(request: AuthedRequest, todo_id: int) -> HttpResponse:
    """Leave for the business system's page of one of the user's own to-dos."""
    try:
        row = selectors.external_todo_get(request.user, todo_id)
    except NotFoundError:
        raise Http404 from None
    # The address was checked (http or https) when the system pushed it.
    return HttpResponseRedirect(row.link)


# --------------------------------------------------------------------------- shortcut administration


def _admin_context(**extra: Any) -> dict[str, Any]:
    crumbs = [(_("系统管理"), None), (_("快捷入口"), reverse("workbench:shortcuts"))]
    return {"nav_active": "workbench_shortcuts", "breadcrumbs": crumbs, **extra}


@permission_required(MANAGE)
@require_GET
def shortcut_list(request: AuthedRequest) -> HttpResponse:
    rows = list(selectors.shortcuts_all(actor=request.user))
    return render(request, "workbench/shortcuts.html", _admin_context(shortcuts=rows))


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def shortcut_edit(request: AuthedRequest, shortcut_id: int | None = None) -> HttpResponse:
    try:
        shortcut = (
            selectors.shortcut_get(actor=request.user, shortcut_id=shortcut_id) if shortcut_id else Shortcut()
        )
    except NotFoundError:
        raise Http404 from None
    form = ShortcutForm(request.POST or None, instance=shortcut)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.shortcut_save(
                actor=request.user,
                shortcut=form.save(commit=False),
                units=list(data["units"]),
                roles=list(data["roles"]),
                request=request,
            )
        except DomainError as exc:
            placed = False
            for detail in exc.details or []:
                if detail.get("field") in form.fields:
                    form.add_error(detail["field"], detail["message"])
                    placed = True
            if not placed:
                form.add_error(None, exc.message)
        else:
            messages.success(request, _("快捷入口“%(name)s”已保存。") % {"name": shortcut.name})
            return redirect("workbench:shortcuts")
    title = shortcut.name if shortcut.pk else _("新建快捷入口")
    return render(
        request, "workbench/shortcut_form.html", _admin_context(form=form, shortcut=shortcut, title=title)
    )


@permission_required(MANAGE)
@require_POST
def shortcut_delete(request: AuthedRequest, shortcut_id: int) -> HttpResponse:
    try:
        shortcut = selectors.shortcut_get(actor=request.user, shortcut_id=shortcut_id)
    except NotFoundError:
        raise Http404 from None
    services.shortcut_delete(actor=request.user, shortcut=shortcut, request=request)
    messages.success(request, _("快捷入口“%(name)s”已删除。") % {"name": shortcut.name})
    return redirect("workbench:shortcuts")


@permission_required(MANAGE)
@require_POST
def shortcut_move(request: AuthedRequest, shortcut_id: int) -> HttpResponse:
    try:
        shortcut = selectors.shortcut_get(actor=request.user, shortcut_id=shortcut_id)
    except NotFoundError:
        raise Http404 from None
    services.shortcut_move(
        actor=request.user, shortcut=shortcut, up=request.POST.get("direction") != "down", request=request
    )
    return redirect(f"{reverse('workbench:shortcuts')}#shortcut-{shortcut.pk}")
