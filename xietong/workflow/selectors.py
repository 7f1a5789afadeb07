"""Reads of the approval engine, always scoped to the acting user.

The inbox boxes are plain indexed queries over ``WorkItem`` (待办 / 已办 / 抄送 / 传阅) and
``Instance`` (我发起的); ``instance_visible`` answers who may read a request: its initiator,
whoever holds or held a step of it (or had it routed away to a delegate), the flow's
administrators, and holders of ``workflow.supervise`` whose data scope covers the initiator's
unit — never above their clearance (密级).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Case, Count, IntegerField, Model, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from xietong.core import access, classification, clock
from xietong.core.errors import DomainError, NotFoundError
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.org.selectors import person_search
from xietong.workflow import definition, resolve
from xietong.workflow.models import (
    Action,
    Activation,
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


def administered(user: User) -> Q:
    """Requests of the flows ``user`` is named to administer: on the flow, or in the settings
    of the version the request runs on."""
    flows = FlowDefinition.objects.filter(admins=user).values("pk")
    versions = FlowVersion.objects.filter(admins=user).values("pk")
    return Q(definition_id__in=flows) | Q(version_id__in=versions)


def administered_flows(user: User) -> QuerySet[FlowDefinition]:
    """The flows ``user`` is named to administer: on the flow, or in its current version."""
    return FlowDefinition.objects.filter(Q(admins=user) | Q(current_version__admins=user)).distinct()


def instance_visible_queryset(user: User) -> QuerySet[Instance]:
    """The requests ``user`` may read (a sub-query friendly filter; drafts only their own)."""
    if not (user.is_authenticated and user.is_active):
        return Instance.objects.none()
    involved = WorkItem.objects.filter(Q(assignee=user) | Q(delegated_from=user)).values("instance_id")
    condition = Q(initiator=user) | Q(pk__in=involved) | administered(user)
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


#: What no list of work items shows: the JSON of the form and of the steps, decoded for
#: every row otherwise (the busiest inboxes pay most). Read on demand where a page needs it.
LIST_DEFERRED = (
    "instance__data",
    "instance__chosen",
    "activation__assignees",
    "activation__auto",
    "activation__detail",
)


def _items(user: User) -> QuerySet[WorkItem]:
    return (
        WorkItem.objects.filter(
            assignee=user, instance__classification__lte=classification.clearance_of(user)
        )
        .select_related(
            "instance", "instance__definition", "instance__initiator", "activation", "delegated_from"
        )
        .defer(*LIST_DEFERRED)
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


def drafts(user: User) -> QuerySet[Instance]:
    """The user's own drafts (草稿), last changed first."""
    return (
        Instance.objects.filter(initiator=user, state=InstanceState.DRAFT)
        .select_related("definition")
        .order_by("-updated_at", "-pk")
    )


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


def known_count(box: str, filters: Filters, counts: dict[str, int], *, initiator: str = "") -> int | None:
    """The length of the unfiltered 待办 list is its badge in ``counts``, already read: the
    page needs no COUNT of its own then (the busiest approvers' inbox is the one that pays)."""
    if box == "todo" and filters == Filters() and not initiator.strip():
        return counts["todo"]
    return None


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


def startable_flows_shared(user: User) -> list[FlowDefinition]:
    """What ``startable_flows`` returns, asking about each distinct ``initiators`` rule once:
    most flows share one ("everyone", a company), so the 发起审批 page costs a few queries
    however many flows there are."""
    flows = FlowDefinition.objects.filter(
        is_active=True, current_version__status=FlowVersion.Status.PUBLISHED
    ).select_related("current_version")
    answers: dict[str, bool] = {}
    found: list[FlowDefinition] = []
    for flow in flows:
        version = flow.current_version
        if version is None:
            continue
        rule = version.flow.get("initiators") if isinstance(version.flow, Mapping) else None
        key = json.dumps(rule, sort_keys=True, default=str)
        if key not in answers:
            answers[key] = resolve.can_start(version.flow, user)
        if answers[key]:
            found.append(flow)
    return found


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


# --------------------------------------------------------------------------- one request's page


def activations_of(instance: Instance) -> QuerySet[Activation]:
    """Every step the request reached, in order (for its route and its record)."""
    return Activation.objects.filter(instance=instance).order_by("pk")


@dataclass(frozen=True)
class RouteStep:
    """One step of a request's route as its page shows it: ``status`` is done / current /
    upcoming / skipped / rejected / returned / cancelled; ``activation`` the step's latest run
    in this round (None for a step still to come)."""

    node_id: str
    name: str
    type: str
    status: str
    activation: Activation | None


_STEP_STATUS: dict[str, str] = {
    Activation.State.ACTIVE: "current",
    Activation.State.COMPLETED: "done",
    Activation.State.SKIPPED: "skipped",
    Activation.State.REJECTED: "rejected",
    Activation.State.RETURNED: "returned",
    Activation.State.CANCELLED: "cancelled",
}


def route_steps(instance: Instance, activations: Iterable[Activation]) -> list[RouteStep]:
    """The approval, handling and 抄送 steps of the request's current round in route order:
    those that ran with how they ended, and — while it is open — those still to come on the
    route its data takes now (condition branches chosen as the engine would; every branch of
    a parallel node). ``activations`` is ``activations_of(instance)``, already read."""
    from xietong.workflow import conditions, formspec

    flow = instance.version.flow
    ran = [act for act in activations if act.round == instance.round]
    latest: dict[str, Activation] = {}
    for act in ran:
        latest[act.node_id] = act
    context: list[conditions.RouteContext] = []

    def branch_taken(node: Mapping[str, Any]) -> Mapping[str, Any] | None:
        act = latest.get(str(node["id"]))
        branches = [branch for branch in node.get("branches") or () if isinstance(branch, Mapping)]
        if act is not None and act.chosen_branch:
            return next((branch for branch in branches if branch.get("id") == act.chosen_branch), None)
        if not instance.is_open:
            return None
        try:
            if not context:
                form = formspec.parse_form(instance.version.form)
                context.append(
                    conditions.route_context(initiator=instance.initiator, form=form, data=instance.data)
                )
            return conditions.choose_branch(node, context[0])
        except (DomainError, KeyError, ValueError):
            return None

    steps: list[RouteStep] = []

    def walk(nodes: Iterable[Any]) -> None:
        for node in nodes:
            if not isinstance(node, Mapping):
                continue
            kind = str(node.get("type", ""))
            if kind == "condition":
                taken = branch_taken(node)
                if taken is not None:
                    walk(taken.get("nodes") or ())
                continue
            if kind == "parallel":
                for branch in node.get("branches") or ():
                    if isinstance(branch, Mapping):
                        walk(branch.get("nodes") or ())
                continue
            act = latest.get(str(node.get("id")))
            if act is None and not instance.is_open:
                continue
            steps.append(
                RouteStep(
                    node_id=str(node.get("id")),
                    name=str(node.get("name") or node.get("id")),
                    type=kind,
                    status=_STEP_STATUS.get(act.state, "done") if act is not None else "upcoming",
                    activation=act,
                )
            )

    walk(flow.get("nodes") or ())
    return steps


def my_pending_of(user: User, instance: Instance, kinds: Iterable[str]) -> WorkItem | None:
    """The user's pending item of ``instance`` among ``kinds`` (a step to act on, or a copy
    to read), if any."""
    return (
        WorkItem.objects.filter(
            instance=instance, assignee=user, state=WorkItem.State.PENDING, kind__in=list(kinds)
        )
        .select_related("activation", "delegated_from")
        .order_by("pk")
        .first()
    )


def replayed_item(user: User, instance: Instance, request_id: str) -> WorkItem | None:
    """The item of ``instance`` that ``user`` already acted on with ``request_id`` (the same
    request sent again finds what it closed), if any."""
    if not request_id:
        return None
    logged = (
        Action.objects.filter(instance=instance, request_id=request_id, actor=user, work_item__isnull=False)
        .select_related("work_item__activation")
        .first()
    )
    if logged is not None:
        return logged.work_item
    return (
        WorkItem.objects.filter(instance=instance, assignee=user, request_id=request_id)
        .select_related("activation")
        .first()
    )


def users_by_ids(ids: Iterable[int], *, active_only: bool = True) -> dict[int, User]:
    """Accounts by id: people picked on a request's page (active ones only), or the names in
    its record (``active_only=False``: people who left are still named)."""
    wanted = list(ids)
    if not wanted:
        return {}
    users = User.objects.filter(pk__in=wanted)
    if active_only:
        users = users.filter(is_active=True)
    return {user.pk: user for user in users}


def instance_admin(user: User, instance: Instance) -> bool:
    """May ``user`` intervene in the request as its flow's administrator (终止, 撤销, 催办)?"""
    from xietong.workflow.services import is_flow_admin

    return is_flow_admin(user, instance.definition, instance.version.flow)


def viewer_permissions(
    user: User, instance: Instance, items: Iterable[WorkItem], *, full: bool
) -> dict[str, str] | None:
    """The field permissions the request's form is shown to ``user`` with: None (every
    field) for its initiator and for those who see it in full (``full``: its flow's
    administrators and supervisors); else a field is hidden when it is hidden on every step
    the user holds or held — and, for someone given it only to read (传阅), when any step of
    the flow hides it."""
    if full or instance.initiator_id == user.pk:
        return None
    from xietong.workflow import formspec

    form = formspec.parse_form(instance.version.form)
    nodes = definition.node_index(instance.version.flow)
    held = {
        item.activation.node_id
        for item in items
        if item.activation is not None and (item.assignee_id == user.pk or item.delegated_from_id == user.pk)
    }
    if held:
        listed = [nodes[node_id].node.get("field_permissions") or {} for node_id in held if node_id in nodes]
        hidden = {key for key in form.keys if listed and all(p.get(key) == formspec.HIDDEN for p in listed)}
    else:
        hidden = {
            key
            for ref in nodes.values()
            for key, level in (ref.node.get("field_permissions") or {}).items()
            if level == formspec.HIDDEN
        }
    return {key: formspec.HIDDEN if key in hidden else formspec.READONLY for key in form.keys}


def instance_file(
    instance: Instance, key: Any, *, permissions: Mapping[str, str] | None = None
) -> StoredFile:
    """A file of the request — an attachment of a field the viewer may see (``permissions``
    as ``viewer_permissions`` gives them), or a handwritten signature on one of its steps —
    else ``NotFoundError``."""
    from xietong.workflow import formspec

    wanted = str(key)
    form = formspec.parse_form(instance.version.form)
    shown = {
        field_key: value
        for field_key, value in instance.data.items()
        if permissions is None or permissions.get(field_key) != formspec.HIDDEN
    }
    if wanted in form.file_keys(shown):
        found = StoredFile.objects.filter(key=wanted).first()
    else:
        found = StoredFile.objects.filter(
            key=wanted, pk__in=WorkItem.objects.filter(instance=instance).values("signature_id")
        ).first()
    if found is None:
        raise NotFoundError(_("文件不存在或无权访问。"))
    return found


# --------------------------------------------------------------------------- the inbox pages


def inbox_rows(
    user: User, box: str = "todo", filters: Filters = Filters(), *, initiator: str = ""
) -> QuerySet[Any]:
    """``inbox`` as the inbox page lists it: the date range applied to 抄送 and 传阅 too (by
    arrival), narrowed to requests whose initiator matches ``initiator`` (name, login name,
    工号 or pinyin), with the initiator's department joined for display."""
    rows = inbox(user, box, filters)
    if box == "mine":
        return rows.select_related("initiator_unit")
    if box in ("cc", "read"):
        if filters.since:
            rows = rows.filter(created_at__gte=filters.since)
        if filters.until:
            rows = rows.filter(created_at__lt=filters.until)
    if initiator.strip():
        rows = rows.filter(person_search(initiator.strip()[:50], prefix="instance__initiator__"))
    return rows.select_related("instance__initiator_unit")


def batch_allowed(node: Mapping[str, Any] | None) -> bool:
    """May an item of ``node`` be approved in a batch (批量同意)? Only on approval nodes the
    flow's designer opened to it (``"batch": true``), and only where one shared, possibly empty
    opinion satisfies the node: no opinion required to approve, no handwritten signature, no
    field the approver must fill in."""
    if node is None or node.get("type") != "approval" or node.get("batch") is not True:
        return False
    if "approve" in (node.get("opinion_required") or ()):
        return False
    if node.get("signature") is True:
        return False
    permissions = node.get("field_permissions") or {}
    return not any(mode == "required" for mode in permissions.values())


def batch_approvable(items: Iterable[WorkItem]) -> set[int]:
    """The ids among ``items`` (pending 审批 items, as ``todo`` lists them) that
    ``batch_allowed`` admits — one query for the flows of their versions, however many."""
    candidates = [
        item
        for item in items
        if item.state == WorkItem.State.PENDING
        and item.kind == WorkItem.Kind.APPROVE
        and item.activation is not None
        and item.instance.state == InstanceState.RUNNING
    ]
    if not candidates:
        return set()
    version_ids = {item.instance.version_id for item in candidates}
    flows = dict(FlowVersion.objects.filter(pk__in=version_ids).values_list("pk", "flow"))
    indexes = {pk: definition.node_index(flow) for pk, flow in flows.items()}
    allowed: set[int] = set()
    for item in candidates:
        node_id = item.activation.node_id if item.activation is not None else ""
        ref = indexes.get(item.instance.version_id, {}).get(node_id)
        if ref is not None and batch_allowed(ref.node):
            allowed.add(item.pk)
    return allowed


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


# --------------------------------------------------------------------------- flow design


def can_design(user: User) -> bool:
    """Does ``user`` hold ``workflow.manage`` anywhere (the designer pages open)?"""
    return access.can(user, MANAGE)


def managed_flows(user: User) -> QuerySet[FlowDefinition]:
    """The flows ``user`` may design: those whose owner unit lies in their ``workflow.manage``
    scope (every flow for a group-wide scope), with ``draft_count`` and ``version_count``."""
    flows = (
        FlowDefinition.objects.select_related("owner_unit", "current_version")
        .annotate(
            draft_count=Count("versions", filter=Q(versions__status=FlowVersion.Status.DRAFT)),
            version_count=Count("versions"),
        )
        .order_by("category", "name", "pk")
    )
    return access.restrict(user, MANAGE, flows, unit_field="owner_unit")


def managed_flow(user: User, pk: Any) -> FlowDefinition:
    """One flow ``user`` may design; ``NotFoundError`` otherwise."""
    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise NotFoundError(_("找不到该审批流程。")) from None
    flow = managed_flows(user).filter(pk=number).first()
    if flow is None:
        raise NotFoundError(_("找不到该审批流程。"))
    return flow


def flow_draft(flow: FlowDefinition) -> FlowVersion | None:
    """The flow's draft version (``version_save`` keeps at most one), if any."""
    return flow.versions.filter(status=FlowVersion.Status.DRAFT).order_by("-number").first()


def flow_versions(flow: FlowDefinition) -> QuerySet[FlowVersion]:
    """Every version of ``flow``, newest first, with who made and published it and
    ``instance_count``."""
    return (
        flow.versions.select_related("created_by", "published_by")
        .annotate(instance_count=Count("instances"))
        .order_by("-number")
    )


def design_owner_units(user: User) -> QuerySet[Any]:
    """The active units ``user`` may own flows for (the scope of ``workflow.manage``)."""
    from xietong.org.models import OrgUnit

    units = OrgUnit.objects.filter(is_active=True).order_by("path")
    return access.restrict(user, MANAGE, units, unit_field="pk")


# --------------------------------------------------------------------------- lookups by id


def flow_get(*, pk: int | None = None, code: str | None = None) -> FlowDefinition:
    """The flow with id ``pk`` or code ``code`` (its current version joined), else
    ``NotFoundError``; whether the user may start it is the start service's question."""
    flows = FlowDefinition.objects.select_related("current_version")
    try:
        if pk is not None:
            return flows.get(pk=pk)
        if code:
            return flows.get(code=code)
    except (FlowDefinition.DoesNotExist, ValueError, TypeError):
        pass
    raise NotFoundError(_("审批流程不存在。"))


def my_item(user: User, pk: Any) -> WorkItem:
    """The work item ``pk`` if it is ``user``'s own (in any state, within their clearance),
    else ``NotFoundError`` — the same for a missing item and someone else's."""
    try:
        return _items(user).defer(None).get(pk=pk)  # acted on: the services read it all
    except (WorkItem.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("待办事项不存在或不是您的事项。")) from None
