"""Reads of the approval engine, always scoped to the acting user.

The inbox boxes are plain indexed queries over ``WorkItem`` (待办 / 已办 / 抄送 / 传阅) and
``Instance`` (我发起的); ``instance_visible`` answers who may read a request: its initiator,
whoever holds or held a step of it (or had it routed away to a delegate), the flow's
administrators, and holders of ``workflow.supervise`` whose data scope covers the initiator's
unit — never above their clearance (密级).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Case, Count, IntegerField, Model, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from xietong.core import access, classification, clock
from xietong.core.errors import NotFoundError
from xietong.identity.models import User
from xietong.workflow import definition, resolve
from xietong.workflow.models import (
    Action,
    Delegation,
    FlowDefinition,
    FlowVersion,
    Instance,
    InstanceState,
    Phrase,
    WorkItem,
)
from xietong.workflow.permissions import MANAGE, SUPERVISE

M = TypeVar("M", bound=Model)

BOXES = ("todo", "done", "mine", "cc", "read")
TASK_KINDS = (WorkItem.Kind.APPROVE, WorkItem.Kind.HANDLE)
#: What counts as "已办": items the user closed by their own hand.
DONE_STATES = (
    WorkItem.State.APPROVED,
    WorkItem.State.REJECTED,
    WorkItem.State.RETURNED,
    WorkItem.State.TRANSFERRED,
)


def instance_visible_queryset(user: User) -> QuerySet[Instance]:
    """The requests ``user`` may read (a sub-query friendly filter; drafts only their own)."""
    if not (user.is_authenticated and user.is_active):
        return Instance.objects.none()
    involved = WorkItem.objects.filter(Q(assignee=user) | Q(delegated_from=user)).values("instance_id")
    administered = FlowDefinition.objects.filter(admins=user).values("pk")
    condition = Q(initiator=user) | Q(pk__in=involved) | Q(definition_id__in=administered)
    supervised = access.restrict(user, SUPERVISE, Instance.objects.all(), unit_field="initiator_unit")
    if access.scope_of(user, SUPERVISE) is not None:
        condition |= Q(pk__in=supervised.values("pk"))
    if access.scope_of(user, MANAGE) is not None:
        managed = access.restrict(user, MANAGE, FlowDefinition.objects.all(), unit_field="owner_unit")
        condition |= Q(definition_id__in=managed.values("pk"))
    visible = Instance.objects.filter(condition).exclude(~Q(initiator=user), state=InstanceState.DRAFT)
    return visible.filter(classification__lte=classification.clearance_of(user))


def instance_visible(user: User, pk: Any) -> Instance:
    """The request ``pk`` if ``user`` may read it, else ``NotFoundError`` (the same for a
    missing one and a forbidden one)."""
    try:
        return (
            instance_visible_queryset(user)
            .select_related("version", "definition", "initiator", "initiator_unit")
            .get(pk=pk)
        )
    except (Instance.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("审批单不存在或无权访问。")) from None


def _items(user: User) -> QuerySet[WorkItem]:
    return WorkItem.objects.filter(
        assignee=user, instance__classification__lte=classification.clearance_of(user)
    ).select_related(
        "instance", "instance__definition", "instance__initiator", "activation", "delegated_from"
    )


@dataclass(frozen=True)
class Filters:
    """What the inbox lists can be narrowed by."""

    flow: int | None = None
    category: str = ""
    query: str = ""
    urgent: bool | None = None
    overdue: bool | None = None
    state: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _filtered(items: QuerySet[M], filters: Filters, prefix: str) -> QuerySet[M]:
    if filters.flow:
        items = items.filter(**{f"{prefix}definition_id": filters.flow})
    if filters.category:
        items = items.filter(**{f"{prefix}definition__category": filters.category})
    if filters.query:
        text = filters.query.strip()[:100]
        items = items.filter(
            Q(**{f"{prefix}title__icontains": text}) | Q(**{f"{prefix}serial__icontains": text})
        )
    if filters.urgent is not None:
        items = items.filter(**{f"{prefix}urgent": filters.urgent})
    if filters.state:
        items = items.filter(**{f"{prefix}state": filters.state})
    return items


def todo(user: User, filters: Filters = Filters()) -> QuerySet[WorkItem]:
    """待办: the user's pending approval and handling items — 急办 first, then overdue ones,
    then by deadline."""
    now = clock.now()
    items = _filtered(
        _items(user).filter(state=WorkItem.State.PENDING, kind__in=TASK_KINDS), filters, "instance__"
    )
    if filters.overdue is not None:
        items = items.filter(due_at__lt=now) if filters.overdue else items.exclude(due_at__lt=now)
    if filters.since:
        items = items.filter(created_at__gte=filters.since)
    if filters.until:
        items = items.filter(created_at__lt=filters.until)
    ordered: QuerySet[WorkItem] = items.annotate(
        is_overdue=Case(When(due_at__lt=now, then=Value(1)), default=Value(0), output_field=IntegerField())
    ).order_by("-urgent", "-is_overdue", "due_at", "created_at", "pk")
    return ordered


def done(user: User, filters: Filters = Filters()) -> QuerySet[WorkItem]:
    """已办: items the user decided (同意, 拒绝, 退回, 转交), latest first."""
    items = _filtered(_items(user).filter(state__in=DONE_STATES, kind__in=TASK_KINDS), filters, "instance__")
    if filters.since:
        items = items.filter(acted_at__gte=filters.since)
    if filters.until:
        items = items.filter(acted_at__lt=filters.until)
    return items.order_by("-acted_at", "-pk")


def mine(user: User, filters: Filters = Filters()) -> QuerySet[Instance]:
    """我发起的: the user's own requests, drafts included, latest first."""
    instances = _filtered(
        Instance.objects.filter(initiator=user).select_related("definition", "version"), filters, ""
    )
    if filters.since:
        instances = instances.filter(created_at__gte=filters.since)
    if filters.until:
        instances = instances.filter(created_at__lt=filters.until)
    return instances.order_by("-created_at", "-pk")


def to_read(user: User, kind: str, filters: Filters = Filters()) -> QuerySet[WorkItem]:
    """抄送我的 (``cc``) or 传阅 (``read``): unread first, then latest first."""
    items = _filtered(_items(user).filter(kind=kind), filters, "instance__")
    return items.annotate(
        unread=Case(
            When(state=WorkItem.State.PENDING, then=Value(1)), default=Value(0), output_field=IntegerField()
        )
    ).order_by("-unread", "-created_at", "-pk")


def inbox(user: User, box: str = "todo", filters: Filters = Filters()) -> QuerySet[Any]:
    """One of the boxes by name: "todo", "done", "cc", "read" list work items; "mine" lists
    requests."""
    if box == "todo":
        return todo(user, filters)
    if box == "done":
        return done(user, filters)
    if box == "mine":
        return mine(user, filters)
    if box == "cc":
        return to_read(user, WorkItem.Kind.CC, filters)
    if box == "read":
        return to_read(user, WorkItem.Kind.READ, filters)
    raise ValueError(f"unknown box {box!r}: one of {', '.join(BOXES)}")


def counts(user: User) -> dict[str, int]:
    """The badges: pending items (of which 急办 and overdue), unread 抄送 and 传阅, and the
    user's requests waiting for them (returned) — two queries."""
    now = clock.now()
    pending = Q(state=WorkItem.State.PENDING)
    task = pending & Q(kind__in=TASK_KINDS)
    found = WorkItem.objects.filter(
        assignee=user,
        state=WorkItem.State.PENDING,
        instance__classification__lte=classification.clearance_of(user),
    ).aggregate(
        todo=Count("pk", filter=task),
        urgent=Count("pk", filter=task & Q(urgent=True)),
        overdue=Count("pk", filter=task & Q(due_at__lt=now)),
        cc=Count("pk", filter=Q(kind=WorkItem.Kind.CC)),
        read=Count("pk", filter=Q(kind=WorkItem.Kind.READ)),
    )
    found["returned"] = Instance.objects.filter(initiator=user, state=InstanceState.RETURNED).count()
    return {key: int(value or 0) for key, value in found.items()}


def timeline(instance: Instance) -> QuerySet[Action]:
    """The request's log in order, with the people named (for the page and the print)."""
    return (
        Action.objects.filter(instance=instance)
        .select_related("actor", "target_user", "work_item")
        .order_by("pk")
    )


def items_of(instance: Instance) -> QuerySet[WorkItem]:
    """Every work item of the request, step by step."""
    return (
        WorkItem.objects.filter(instance=instance)
        .select_related("assignee", "delegated_from", "activation", "signature")
        .order_by("activation_id", "order", "pk")
    )


def my_pending_item(user: User, instance: Instance) -> WorkItem | None:
    """The item of ``instance`` the user can act on now, if any."""
    return (
        WorkItem.objects.filter(instance=instance, assignee=user, state=WorkItem.State.PENDING)
        .select_related("activation")
        .order_by("pk")
        .first()
    )


def startable_flows(user: User) -> list[FlowDefinition]:
    """The active, published flows ``user`` may start (for the "发起审批" page)."""
    flows = FlowDefinition.objects.filter(
        is_active=True, current_version__status=FlowVersion.Status.PUBLISHED
    ).select_related("current_version")
    return [
        flow
        for flow in flows
        if flow.current_version is not None and resolve.can_start(flow.current_version.flow, user)
    ]


def flow_node(instance: Instance, node_id: str) -> Mapping[str, Any] | None:
    ref = definition.node_index(instance.version.flow).get(node_id)
    return ref.node if ref is not None else None


def delegations(user: User) -> QuerySet[Delegation]:
    """The user's delegations, given and received, latest first."""
    return (
        Delegation.objects.filter(Q(principal=user) | Q(delegate=user))
        .select_related("principal", "delegate")
        .prefetch_related("definitions")
        .order_by("-starts_at")
    )


def phrases(user: User) -> QuerySet[Phrase]:
    return Phrase.objects.filter(user=user).order_by("order", "pk")


# --------------------------------------------------------------------------- response statistics


@dataclass(frozen=True)
class ResponseStats:
    """How fast people answered (R-76): items handled, median and 90th percentile response
    time in hours, the share handled within the time limit, and the items that went overdue."""

    handled: int
    median_hours: float | None
    p90_hours: float | None
    within_limit: float | None
    overdue: int


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def response_stats(
    viewer: User,
    *,
    since: dt.datetime,
    until: dt.datetime,
    user: User | None = None,
    unit_id: int | None = None,
) -> ResponseStats:
    """Response figures of ``user`` (their own, or anyone's for a supervisor) or of the
    people whose items belong to requests of ``unit_id`` (supervisors only), for items that
    reached them between ``since`` and ``until``."""
    items = WorkItem.objects.filter(kind__in=TASK_KINDS, created_at__gte=since, created_at__lt=until)
    if user is not None and user.pk == viewer.pk:
        items = items.filter(assignee=user)
    else:
        visible = access.restrict(viewer, SUPERVISE, Instance.objects.all(), unit_field="initiator_unit")
        items = items.filter(instance_id__in=visible.values("pk"))
        if user is not None:
            items = items.filter(assignee=user)
        if unit_id is not None:
            items = items.filter(instance__initiator_unit_id=unit_id)
    rows = list(
        items.filter(Q(state__in=DONE_STATES) | Q(overdue_at__isnull=False)).values_list(
            "state", "created_at", "acted_at", "due_at", "overdue_at"
        )
    )
    hours: list[float] = []
    within = 0
    overdue = 0
    for state, created, acted, due, overdue_at in rows:
        if overdue_at is not None:
            overdue += 1
        if state not in DONE_STATES or acted is None:
            continue
        hours.append((acted - created).total_seconds() / 3600)
        if due is None or acted <= due:
            within += 1
    return ResponseStats(
        handled=len(hours),
        median_hours=_percentile(hours, 0.5),
        p90_hours=_percentile(hours, 0.9),
        within_limit=within / len(hours) if hours else None,
        overdue=overdue,
    )
