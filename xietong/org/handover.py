"""Handing a leaver's open work to a successor (R-15): the registry later modules join.

An app that owns open work — to-do items, tasks, documents in progress, meeting
organisation — registers a handler in its ``AppConfig.ready``::

    from xietong.org import handover

    handover.register("workflow.work_items", _("待办审批"), move_work_items)

where ``move_work_items(departing_user, successor) -> int`` moves what is still open and
returns how many items it moved. ``user_services.user_depart`` calls every handler inside the
departure's transaction and records the counts in the audit details. A handler that fails
is rolled back on its own (a savepoint) and reported as failed: the account is disabled all
the same, because locking out a leaver must never wait for a module's bug to be fixed.

org cannot import the modules that hold the work (they depend on org), hence the registry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.functional import Promise

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any], int]


@dataclass(frozen=True)
class Entry:
    name: str
    label: str | Promise
    handler: Handler


@dataclass(frozen=True)
class Outcome:
    name: str
    label: str
    moved: int
    failed: bool = False


_registry: dict[str, Entry] = {}


def register(name: str, label: str | Promise, handler: Handler) -> None:
    """Add (or replace, when a module is imported again in tests) the handler ``name``."""
    _registry[name] = Entry(name, label, handler)


def unregister(name: str) -> None:
    _registry.pop(name, None)


def entries() -> list[Entry]:
    return sorted(_registry.values(), key=lambda entry: entry.name)


def hand_over(departing_user: Any, successor: Any) -> list[Outcome]:
    """Run every handler; one failing handler leaves the others' moves in place."""
    outcomes = []
    for entry in entries():
        try:
            with transaction.atomic():
                moved = int(entry.handler(departing_user, successor))
        except Exception:
            logger.exception(
                "org.handover.failed", extra={"handler": entry.name, "user_id": departing_user.pk}
            )
            outcomes.append(Outcome(entry.name, str(entry.label), 0, failed=True))
        else:
            outcomes.append(Outcome(entry.name, str(entry.label), moved))
    return outcomes
