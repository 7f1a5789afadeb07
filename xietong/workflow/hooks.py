"""Callbacks run when a request of a given flow ends: 通过, 拒绝, 撤回, 撤销 or 终止 — or is
sent back to its initiator and submitted again; and links from a request to the record
another module keeps for it.

Another part of the platform that keeps its own record of what a flow decides (a permission
request of ``org``, say) registers ``on_finished(code, callback)``; the services call
``finished`` from the transaction that ends the request, right after its final state is saved.
Each callback runs in a savepoint of that transaction: what it does commits together with the
end of the request, and if it fails its own changes are rolled back, the failure is logged
and the request still ends as decided — a flow's outcome never hangs on a listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.db import transaction

from xietong.identity.models import User
from xietong.workflow.models import Instance

logger = logging.getLogger(__name__)

#: ``callback(instance, actor)``: the request in its final state, and who ended it (None for
#: the engine itself, e.g. a timeout).
FinishedCallback = Callable[[Instance, User | None], None]

#: ``related(instance)``: (label, URL) of the record the request belongs to, or None.
RelatedLink = Callable[[Instance], tuple[str, str] | None]

_callbacks: dict[str, list[FinishedCallback]] = {}
_related: dict[str, RelatedLink] = {}
#: Callbacks of a request sent back to its initiator (退回发起人), and of one resubmitted.
_returned: dict[str, list[FinishedCallback]] = {}
_resubmitted: dict[str, list[FinishedCallback]] = {}


def on_finished(code: str, callback: FinishedCallback) -> None:
    """Call ``callback`` whenever a request of the flow ``code`` ends (once per callback)."""
    listeners = _callbacks.setdefault(code, [])
    if callback not in listeners:
        listeners.append(callback)


def off_finished(code: str, callback: FinishedCallback) -> None:
    """Stop calling ``callback`` for the flow ``code``."""
    listeners = _callbacks.get(code, [])
    if callback in listeners:
        listeners.remove(callback)


def finished(instance: Instance, actor: User | None) -> None:
    """Run the callbacks registered for the request's flow, each in its own savepoint."""
    _run(_callbacks.get(instance.definition.code, ()), instance, actor)


def _run(listeners: Iterable[FinishedCallback], instance: Instance, actor: User | None) -> None:
    for callback in list(listeners):
        try:
            with transaction.atomic():
                callback(instance, actor)
        except Exception:
            logger.exception("workflow finished-callback %r failed for instance %s", callback, instance.pk)


def on_returned(code: str, callback: FinishedCallback) -> None:
    """Call ``callback`` when a request of the flow ``code`` is sent back to its initiator:
    the record it belongs to can be edited again."""
    listeners = _returned.setdefault(code, [])
    if callback not in listeners:
        listeners.append(callback)


def on_resubmitted(code: str, callback: FinishedCallback) -> None:
    """Call ``callback`` when a returned request of the flow ``code`` is submitted again."""
    listeners = _resubmitted.setdefault(code, [])
    if callback not in listeners:
        listeners.append(callback)


def returned(instance: Instance, actor: User | None) -> None:
    _run(_returned.get(instance.definition.code, ()), instance, actor)


def resubmitted(instance: Instance, actor: User | None) -> None:
    _run(_resubmitted.get(instance.definition.code, ()), instance, actor)


def on_related(code: str, link: RelatedLink) -> None:
    """Show the record a request of the flow ``code`` belongs to (a 公文, say) on its page, so
    that an approver can open what they approve."""
    _related[code] = link


def related(instance: Instance) -> tuple[str, str] | None:
    link = _related.get(instance.definition.code)
    return link(instance) if link is not None else None
