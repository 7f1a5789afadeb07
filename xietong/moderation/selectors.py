"""Reads of the moderation app, scoped to what the acting user may see.

Everything here needs ``moderation.manage``. The lexicon is one for the whole group; the
review queue and the violation register follow the holder's data scope over the author's
units, and the queue hides content above the reviewer's clearance.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from xietong.core import access, clock
from xietong.identity.models import User
from xietong.moderation.models import ReviewItem, SensitiveWord, Violation, WordCategory

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
