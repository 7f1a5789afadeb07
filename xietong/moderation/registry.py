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


# --------------------------------------------------------------------------- reports

DescribeHandler = Callable[[models.Model], "Reported"]
HideHandler = Callable[[models.Model, Any, str], None]


@dataclass(frozen=True)
class Reported:
    """What a moderator needs to judge a report: the content as its readers saw it."""

    title: str
    excerpt: str
    link: str
    author: Any
    #: The content's 密级: a moderator without that clearance does not see the report.
    classification: int = 0


@dataclass(frozen=True)
class ReportHandler:
    describe: DescribeHandler
    on_hide: HideHandler
    #: May this user see the object (and so report it)? A report must not reveal content.
    visible_to: Callable[[models.Model, Any], bool]


_report_handlers: dict[str, ReportHandler] = {}


def register_report_handler(
    model_label: str,
    *,
    describe: DescribeHandler,
    on_hide: HideHandler,
    visible_to: Callable[[models.Model, Any], bool],
) -> None:
    """Let users report objects of ``model_label`` (a comment, an article, a message) as
    unrelated to work, insulting or false (R-28, R-29). ``describe(obj)`` gives the queue its
    view of the object; ``on_hide(obj, moderator, note)`` takes it out of sight (inside the
    transaction of the decision); ``visible_to(obj, user)`` says who may report it."""
    app_label, dot, model_name = model_label.partition(".")
    if not dot or not app_label or not model_name:
        raise ValueError(f"model label {model_label!r} must look like 'app_label.model'")
    _report_handlers[model_label.lower()] = ReportHandler(describe, on_hide, visible_to)


def report_handler(model_label: str) -> ReportHandler | None:
    return _report_handlers.get(model_label.lower())
