"""Reads of the moderation app, scoped to what the acting user may see.

Everything here needs ``moderation.manage``, except ``report_target`` (any signed-in user
reporting an object). The lexicon is one for the whole group; the review queue, the report
queue and the violation register follow the holder's data scope over the author's units,
and the queues hide content above the moderator's clearance.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from xietong.core import access, clock
from xietong.core.errors import NotFoundError
from xietong.identity.models import User
from xietong.moderation import registry
from xietong.moderation.models import Report, ReviewItem, SensitiveWord, Violation, WordCategory

MANAGE = "moderation.manage"

#: Violations counted for warnings and reports: the last 90 days.
WINDOW_DAYS = 90


def window_start() -> dt.datetime:
    return clock.now() - dt.timedelta(days=WINDOW_DAYS)


def can_manage(user: Any) -> bool:
    return access.can(user, MANAGE)


# --------------------------------------------------------------------------- lexicon


def words(
    *,
    actor: User,
    query: str = "",
    category_id: int | None = None,
    action: str = "",
    active: bool | None = None,
) -> QuerySet[SensitiveWord]:
    if not can_manage(actor):
        return SensitiveWord.objects.none()
    rows = SensitiveWord.objects.select_related("category", "created_by")
    if query:
        rows = rows.filter(
            Q(word__icontains=query) | Q(normalized__icontains=query) | Q(note__icontains=query)
        )
    if category_id is not None:
        rows = rows.filter(category_id=category_id)
    if action:
        rows = rows.filter(action=action)
    if active is not None:
        rows = rows.filter(is_active=active)
    return rows.order_by("-pk")


def word_get(*, actor: User, word_id: object) -> SensitiveWord:
    return access.get_visible(actor, MANAGE, words(actor=actor), word_id)


def categories() -> QuerySet[WordCategory]:
    """Every category with its number of active words."""
    return WordCategory.objects.annotate(
        active_words=Count("words", filter=Q(words__is_active=True))
    ).order_by("pk")


def category_get(*, actor: User, category_id: object) -> WordCategory:
    return access.get_visible(actor, MANAGE, WordCategory.objects.all(), category_id)


# --------------------------------------------------------------------------- review queue


def reviews(*, actor: User, status: str | None = ReviewItem.Status.PENDING) -> QuerySet[ReviewItem]:
    """Review items the actor may decide: oldest first while pending, newest first otherwise."""
    rows = access.restrict(
        actor,
        MANAGE,
        ReviewItem.objects.all(),
        unit_field="submitted_by__memberships__unit",
        classification_field="classification",
    ).select_related("submitted_by", "reviewed_by")
    if status:
        rows = rows.filter(status=status)
    if status == ReviewItem.Status.PENDING:
        return rows.order_by("submitted_at", "pk")
    return rows.order_by("-submitted_at", "-pk")


def review_get(*, actor: User, item_id: object) -> ReviewItem:
    return access.get_visible(actor, MANAGE, reviews(actor=actor, status=None), item_id)


def pending_count(*, actor: User) -> int:
    return reviews(actor=actor).count()


# --------------------------------------------------------------------------- reports


def report_target(*, ref: str) -> tuple[models.Model, registry.ReportHandler]:
    """The object a report button names (``"app_label.model:pk"``) and its handler.

    ``NotFoundError`` alike for a malformed reference, a model nobody made reportable and a
    missing object; whether the user may see the object is the service's check
    (``services.report_create``)."""
    label, colon, pk = str(ref).strip().rpartition(":")
    handler = registry.report_handler(label) if colon and pk else None
    missing = NotFoundError(_("对象不存在或无权访问。"))
    if handler is None:
        raise missing
    try:
        model = apps.get_model(label)
        obj = model._default_manager.filter(pk=pk).first()
    except (LookupError, ValueError, TypeError, ValidationError):
        raise missing from None
    if obj is None:
        raise missing
    return obj, handler


def _reports_on_same_target(**status: str) -> Subquery:
    same = Report.objects.filter(
        app_label=OuterRef("app_label"),
        model_name=OuterRef("model_name"),
        object_id=OuterRef("object_id"),
        **status,
    )
    counted = same.order_by().values("app_label").annotate(n=Count("pk")).values("n")
    return Subquery(counted, output_field=IntegerField())


def _handleable(actor: User, rows: QuerySet[Report]) -> QuerySet[Report]:
    return access.restrict(
        actor, MANAGE, rows, unit_field="author__memberships__unit", classification_field="classification"
    )


def reports(*, actor: User, status: str | None = Report.Status.PENDING, reason: str = "") -> QuerySet[Report]:
    """Reports the actor may handle (the author in their data scope, the content within
    their clearance): oldest first while pending, newest first otherwise. Each row carries
    ``target_reports`` (every report of the same object) and ``target_pending``."""
    rows = _handleable(actor, Report.objects.all()).select_related(
        "reporter", "author", "handled_by", "violation"
    )
    if status:
        rows = rows.filter(status=status)
    if reason:
        rows = rows.filter(reason=reason)
    rows = rows.annotate(
        target_reports=Coalesce(_reports_on_same_target(), 0),
        target_pending=Coalesce(_reports_on_same_target(status=Report.Status.PENDING), 0),
    )
    if status == Report.Status.PENDING:
        return rows.order_by("created_at", "pk")
    return rows.order_by("-created_at", "-pk")


def report_get(*, actor: User, report_id: object) -> Report:
    return access.get_visible(actor, MANAGE, reports(actor=actor, status=None), report_id)


def pending_reports(*, actor: User) -> QuerySet[Report]:
    """The pending reports the actor may handle, oldest first, without the queue's counts."""
    pending = Report.objects.filter(status=Report.Status.PENDING)
    return _handleable(actor, pending).order_by("created_at", "pk")


def report_pending_count(*, actor: User) -> int:
    return pending_reports(actor=actor).count()


def moderators_of(report: Report, *, limit: int = 100) -> list[User]:
    """The active holders of ``moderation.manage`` who see ``report`` in their queue (their
    data scope covers the author, their clearance the content): the people to tell."""
    from xietong.org.audience import Audience, audience_users  # org sits above moderation
    from xietong.org.models import Role

    codes = frozenset(
        code for code, permissions in Role.objects.values_list("code", "permissions") if MANAGE in permissions
    )
    holders = audience_users(Audience(roles=codes)) if codes else User.objects.none()
    candidates = (holders | User.objects.filter(is_superuser=True, is_active=True)).distinct()
    # Few people moderate; each is checked the way the queue filters.
    return [
        person
        for person in candidates.order_by("pk")[:limit]
        if _handleable(person, Report.objects.filter(pk=report.pk)).exists()
    ]


# --------------------------------------------------------------------------- violations


def violations(*, actor: User, user_id: int | None = None) -> QuerySet[Violation]:
    rows = access.restrict(actor, MANAGE, Violation.objects.all(), unit_field="user__memberships__unit")
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    return rows.select_related("user", "handler", "review_item").order_by("-created_at", "-pk")


def violation_get(*, actor: User, violation_id: object) -> Violation:
    return access.get_visible(actor, MANAGE, violations(actor=actor), violation_id)


def violation_history(*, actor: User, user_id: int) -> QuerySet[Violation]:
    """One person's violations with their sanctions and report recipients (three queries
    whatever their number)."""
    return violations(actor=actor, user_id=user_id).prefetch_related("sanctions__decided_by", "reported_to")


def violators(*, actor: User, query: str = "") -> QuerySet[Any]:
    """One row per person with violations: totals, the count in the window, the last date."""
    rows = violations(actor=actor)
    if query:
        rows = rows.filter(
            Q(user__name__icontains=query)
            | Q(user__username__icontains=query)
            | Q(user__employee_no__icontains=query)
        )
    return (
        rows.order_by()
        .values("user_id", "user__username", "user__name", "user__is_active")
        .annotate(
            total=Count("pk"),
            recent=Count("pk", filter=Q(created_at__gte=window_start())),
            reported=Count("pk", filter=Q(escalation=Violation.Escalation.REPORTED)),
            last_at=Max("created_at"),
        )
        .order_by("-last_at", "user_id")
    )


def violator_get(*, actor: User, user_id: object) -> User:
    """A person in the actor's scope, whose history they may read and add to (404 alike for
    a missing and a forbidden one)."""
    return access.get_visible(actor, MANAGE, User.objects.all(), user_id, unit_field="memberships__unit")


def violator_by_username(*, actor: User, username: str) -> User | None:
    rows = access.restrict(
        actor, MANAGE, User.objects.filter(username__iexact=username.strip()), unit_field="memberships__unit"
    )
    return rows.first()
