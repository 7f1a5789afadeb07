"""What happens to held content when a reviewer decides: each app that holds content for
review registers, once at start-up (its ``AppConfig.ready``), a handler per model::

    from xietong.moderation.registry import register_review_handler

    register_review_handler("portal.article", on_approve=publish, on_reject=return_to_author)

``on_approve(obj, reviewer)`` publishes the object; ``on_reject(obj, reviewer, note)`` keeps
it unpublished and tells the author why. Both run inside the transaction of the decision:
raising ``DomainError`` there cancels the decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models

ApproveHandler = Callable[[models.Model, Any], None]
RejectHandler = Callable[[models.Model, Any, str], None]


@dataclass(frozen=True)
class ReviewHandler:
    on_approve: ApproveHandler
    on_reject: RejectHandler


_handlers: dict[str, ReviewHandler] = {}


def register_review_handler(
    model_label: str, *, on_approve: ApproveHandler, on_reject: RejectHandler
) -> None:
    """Register the handlers of ``model_label`` ("app_label.model", any case); registering
    the label again replaces them (a reloaded app registers anew)."""
    app_label, dot, model_name = model_label.partition(".")
    if not dot or not app_label or not model_name:
        raise ValueError(f"model label {model_label!r} must look like 'app_label.model'")
    _handlers[model_label.lower()] = ReviewHandler(on_approve, on_reject)


def review_handler(model_label: str) -> ReviewHandler | None:
    return _handlers.get(model_label.lower())


def model_label(obj: models.Model) -> str:
    return obj._meta.label_lower
