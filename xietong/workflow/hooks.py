"""Callbacks run when a request of a given flow ends: 通过, 拒绝, 撤回, 撤销 or 终止; and
links from a request to the record another module keeps for it.

Another part of the platform that keeps its own record of what a flow decides (a permission
request of ``org``, say) registers ``on_finished(code, callback)``; the services call
``finished`` from the transaction that ends the request, right after its final state is saved.
Each callback runs in a savepoint of that transaction: what it does commits together with the
end of the request, and if it fails its own changes are rolled back, the failure is logged
and the request still ends as decided — a flow's outcome never hangs on a listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

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
    listeners = _callbacks.get(instance.definition.code, ())
    for callback in list(listeners):
        try:
            with transaction.atomic():
                callback(instance, actor)
        except Exception:
            logger.exception("workflow finished-callback %r failed for instance %s", callback, instance.pk)


def on_related(code: str, link: RelatedLink) -> None:
    """Show the record a request of the flow ``code`` belongs to (a 公文, say) on its page, so
    that an approver can open what they approve."""
    _related[code] = link


def related(instance: Instance) -> tuple[str, str] | None:
    link = _related.get(instance.definition.code)
    return link(instance) if link is not None else None
