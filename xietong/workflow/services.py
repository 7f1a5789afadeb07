"""Every change of the approval engine: designing flows, starting requests, and each action
on them (同意, 拒绝, 退回, 转交, 加签, 撤回, 撤销, 终止, 催办, 评论, 传阅, 委托).

Each action on a request runs in one transaction that first locks the request's row
(``select_for_update``), so that two people acting at the same moment give one consistent
outcome: the second sees the first's result and is refused with a clear message. Each takes a
``request_id`` (the client's idempotency key): the same request sent again returns the
request as it is and changes nothing.

The decisions are ``engine``'s pure functions; ``_Run`` below applies them to the rows of
one request — it enters nodes, opens and closes work items, moves on when a node completes —
and collects the notifications, which go out at the end of the action.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from xietong.audit.services import record
from xietong.core import access, classification, clock, events
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.moderation import services as moderation
from xietong.notify.services import notify
from xietong.org.models import OrgUnit
from xietong.org.selectors import managers_of, primary_membership
from xietong.workflow import audit_actions, conditions, definition, engine, formspec, hooks, resolve, sla
from xietong.workflow.models import (
    FINAL_STATES,
    Action,
    Activation,
    Category,
    Delegation,
    FlowDefinition,
    FlowVersion,
    Instance,
    InstanceState,
    Phrase,
    SerialCounter,
    WorkItem,
)
from xietong.workflow.permissions import MANAGE

REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
TITLE_MAX = 200
OPINION_MAX = 2000
COMMENT_MAX = 2000
MAX_ADDED = 10
MAX_CIRCULATE = 50
MAX_PHRASES = 30
PHRASE_MAX = 200
LINK = "/workflow/instances/{pk}/"

TASK_KINDS = (WorkItem.Kind.APPROVE, WorkItem.Kind.HANDLE)
READ_KINDS = (WorkItem.Kind.CC, WorkItem.Kind.READ)
ACTIVE_ITEM_STATES = (WorkItem.State.PENDING, WorkItem.State.ADDED_WAIT)
#: Human decisions on a step: once one is given, a "strict" flow can no longer be withdrawn.
DECISIONS = (
    Action.Kind.APPROVE,
    Action.Kind.REJECT,
    Action.Kind.RETURN,
    Action.Kind.TRANSFER,
    Action.Kind.ADD_SIGN_BEFORE,
    Action.Kind.ADD_SIGN_AFTER,
    Action.Kind.ADD_SIGN_PARALLEL,
)


# --------------------------------------------------------------------------- small helpers


def link(instance: Instance) -> str:
    """Where a request is read (the page of the UI layer)."""
    return LINK.format(pk=instance.pk)


def _request_id(value: Any) -> str:
    if not isinstance(value, str) or not REQUEST_ID.match(value):
        raise DomainError(_("请求编号无效：须为 1 至 64 个字母、数字或 _ . : - 组成的字符串。"))
    return value


def _text(value: Any, *, limit: int, what: str) -> str:
    text = str(value or "").replace("\x00", "").strip()
    if len(text) > limit:
        raise DomainError(_("%(what)s不能超过 %(limit)d 个字。") % {"what": what, "limit": limit})
    return text


def _screen(actor: User, fields: Mapping[str, str], context: str) -> None:
    """The content rules (R-27). An opinion or a request cannot wait in the review queue
    while the flow runs on, so a word that would hold a text refuses it here."""
    texts = {key: value for key, value in fields.items() if value}
    if not texts:
        return
    verdict = moderation.screen(actor=actor, fields=texts, context=context)
    if verdict.held:
        words = "、".join(f"“{word}”" for word in verdict.words_with("hold"))
        raise DomainError(_("内容包含需审核的词语：%(words)s，请修改后再提交。") % {"words": words})


def _texts_of(data: Mapping[str, Any]) -> dict[str, str]:
    """The strings of form data (table cells included), for the content rules."""
    found: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, str):
            found[key] = value
        elif isinstance(value, list):
            cells = [
                cell
                for row in value
                for cell in (row.values() if isinstance(row, Mapping) else [row])
                if isinstance(cell, str)
            ]
            if cells:
                found[key] = "\n".join(cells)
    return found


def _jsonable(value: Any) -> Any:
    """Form data as JSON stores it: decimals as strings ("1234.50"), dates in ISO form."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _names(users: Iterable[User]) -> str:
    return "、".join(user.name or user.username for user in users)


def _active_users(ids: Iterable[int]) -> list[User]:
    wanted = list(dict.fromkeys(ids))
    found = {user.pk: user for user in User.objects.filter(pk__in=wanted, is_active=True)}
    return [found[pk] for pk in wanted if pk in found]


def _lock(instance_id: int) -> Instance:
    """The request's row, locked until the end of the transaction (the one point where two
    simultaneous actions on it are put in line)."""
    try:
        return (
            Instance.objects.select_for_update(of=("self",))
            .select_related("version", "definition", "initiator")
            .get(pk=instance_id)
        )
    except Instance.DoesNotExist:
        raise NotFoundError(_("审批单不存在。")) from None


def _replayed(instance: Instance, request_id: str, actor: User, kinds: Sequence[str]) -> bool:
    """Has this request already been applied? Then the caller returns without a change. A key
    reused for another action, or by someone else, is refused."""
    done = Action.objects.filter(instance=instance, request_id=request_id).first()
    if done is None:
        return False
    if done.kind not in kinds or done.actor_id != actor.pk:
        raise DomainError(_("请求编号已被其他操作使用，请刷新页面后重试。"))
    return True


def _check_lock_version(instance: Instance, lock_version: int | None) -> None:
    if lock_version is not None and lock_version != instance.lock_version:
        raise DomainError(_("审批单已被他人修改，请刷新页面后重试。"))


def _save(instance: Instance, *fields: str) -> None:
    instance.lock_version += 1
    instance.updated_at = clock.now()
    instance.save(update_fields=[*fields, "lock_version", "updated_at"])


def _urgency(instance: Instance) -> str:
    return "urgent" if instance.urgent else "normal"


def _notify(
    instance: Instance,
    user_ids: Iterable[int],
    kind: str,
    title: str,
    *,
    body: str = "",
    actor: User | None = None,
) -> None:
    recipients = [f"user:{pk}" for pk in dict.fromkeys(user_ids)]
    if recipients:
        notify(
            recipients=recipients,
            kind=kind,
            title=title,
            body=body,
            link=link(instance),
            urgency=_urgency(instance),
            actor=actor,
            source=instance,
        )


def _audit(actor: User | None, action: str, instance: Instance, **details: Any) -> None:
    record(
        actor=actor,
        action=action,
        target=instance,
        details={"serial": instance.serial, "title": instance.title, **details},
    )


def is_flow_admin(user: User, flow_definition: FlowDefinition, flow: Mapping[str, Any] | None = None) -> bool:
    """流程管理员: named on the flow (or in its settings' ``admin_user_ids``), or holding
    ``workflow.manage`` where the flow's owner unit lies."""
    if not (user.is_authenticated and user.is_active):
        return False
    if flow is not None and user.pk in engine.settings_for(flow).admin_user_ids:
        return True
    if flow_definition.admins.filter(pk=user.pk).exists():
        return True
    return access.can_on(user, MANAGE, flow_definition, unit=flow_definition.owner_unit_id, acl=False)


def _can_view(user: User, instance: Instance) -> bool:
    from xietong.workflow import selectors

    return selectors.instance_visible_queryset(user).filter(pk=instance.pk).exists()


# --------------------------------------------------------------------------- the run of a request


@dataclass
class _Outbox:
    """Notifications collected while an action runs, sent once at its end."""

    todo: dict[int, str] = field(default_factory=dict)
    cc: set[int] = field(default_factory=set)


class _Run:
    """Applies the engine's decisions to one locked request."""

    def __init__(self, instance: Instance, *, actor: User | None) -> None:
        self.instance = instance
        self.actor = actor
        self.flow: dict[str, Any] = instance.version.flow
        self.index = definition.node_index(self.flow)
        self.now = clock.now()
        self.outbox = _Outbox()
        self._form: formspec.FormSpec | None = None
        self._context: conditions.RouteContext | None = None
        self._branch_nodes: dict[str, Activation] = {}
        #: The state the request had when this action began (``hooks.finished`` on a change).
        self._entry_state = instance.state

    # ------------------------------------------------------------------ reads

    @property
    def form(self) -> formspec.FormSpec:
        if self._form is None:
            self._form = formspec.parse_form(self.instance.version.form)
        return self._form

    @property
    def context(self) -> conditions.RouteContext:
        if self._context is None:
            self._context = conditions.route_context(
                initiator=self.instance.initiator, form=self.form, data=self.instance.data
            )
        return self._context

    def data_changed(self) -> None:
        self._context = None

    def node(self, node_id: str) -> dict[str, Any]:
        return self.index[node_id].node

    def hash(self) -> str:
        return engine.data_hash(self.instance.data)

    def log(
        self,
        kind: str,
        *,
        actor: User | None = None,
        item: WorkItem | None = None,
        node_id: str = "",
        to_node: str = "",
        target: User | int | None = None,
        opinion: str = "",
        request_id: str = "",
        **details: Any,
    ) -> Action:
        return Action.objects.create(
            instance=self.instance,
            work_item=item,
            actor=actor,
            kind=kind,
            from_node=node_id,
            to_node=to_node,
            target_user_id=target.pk if isinstance(target, User) else target,
            opinion=opinion,
            data_hash=self.hash(),
            details=details,
            round=self.instance.round,
            created_at=self.now,
            request_id=request_id,
        )

    # ------------------------------------------------------------------ navigation

    def go(self, step: engine.Step, previous: Activation | None) -> None:
        if self.instance.state != InstanceState.RUNNING:
            return
        if isinstance(step, engine.Enter):
            self.enter(step.node_id, previous)
        elif isinstance(step, engine.BranchDone):
            self.branch_done(step.node_id, step.branch_id, previous)
        else:
            self.finish(InstanceState.APPROVED)

    def activation(self, node: Mapping[str, Any], previous: Activation | None, **fields: Any) -> Activation:
        ref = self.index[str(node["id"])]
        return Activation.objects.create(
            instance=self.instance,
            node_id=node["id"],
            node_type=node.get("type", ""),
            node_name=str(node.get("name") or "")[:100],
            branch_path="/".join(ref.path)[:500],
            previous=previous,
            round=self.instance.round,
            started_at=self.now,
            **fields,
        )

    def enter(self, node_id: str, previous: Activation | None) -> None:
        node = self.node(node_id)
        kind = node.get("type")
        if kind in engine.TASK_TYPES:
            self.enter_task(node, previous)
        elif kind == "cc":
            self.enter_cc(node, previous)
        elif kind == "condition":
            chosen = conditions.choose_branch(node, self.context)
            act = self.activation(node, previous, chosen_branch=chosen["id"])
            self._branch_nodes[node_id] = act
            self.go(engine.branch_entry(node, chosen["id"]), previous)
        else:
            act = self.activation(node, previous, detail={"done": []})
            self._branch_nodes[node_id] = act
            for branch_id in engine.branch_ids(node):
                self.go(engine.branch_entry(node, branch_id), previous)

    def branch_node(self, node_id: str) -> Activation:
        act = self._branch_nodes.get(node_id)
        if act is None or act.state != Activation.State.ACTIVE:
            act = Activation.objects.get(
                instance=self.instance, node_id=node_id, state=Activation.State.ACTIVE
            )
            self._branch_nodes[node_id] = act
        return act

    def branch_done(self, node_id: str, branch_id: str, previous: Activation | None) -> None:
        act = self.branch_node(node_id)
        node = self.node(node_id)
        if node.get("type") == "parallel":
            done = [*act.detail.get("done", []), branch_id]
            act.detail = {**act.detail, "done": done}
            if not engine.join_complete(node, done):
                act.save(update_fields=["detail"])
                return
        act.state = Activation.State.COMPLETED
        act.finished_at = self.now
        act.save(update_fields=["detail", "state", "finished_at"])
        self.go(engine.step_after(self.index, node_id), previous)

    def cleared(self, user_ids: Sequence[int]) -> tuple[list[int], list[int]]:
        """Those of ``user_ids`` cleared for the request's 密级, and those who are not."""
        level = self.instance.classification
        if not user_ids or level <= 0:
            return list(user_ids), []
        allowed = set(User.objects.filter(pk__in=user_ids, clearance__gte=level).values_list("pk", flat=True))
        return [pk for pk in user_ids if pk in allowed], [pk for pk in user_ids if pk not in allowed]

    def resolve(self, spec: Mapping[str, Any], node_id: str) -> list[int]:
        return resolve.resolve_approvers(
            spec,
            initiator=self.instance.initiator,
            data=self.instance.data,
            chosen=self.instance.chosen.get(node_id, []),
            now=self.now,
            form=self.form,
        )

    def enter_cc(self, node: dict[str, Any], previous: Activation | None) -> None:
        recipients, withheld = self.cleared(self.resolve(node.get("recipients") or {}, node["id"]))
        act = self.activation(
            node,
            previous,
            state=Activation.State.COMPLETED,
            finished_at=self.now,
            assignees=recipients,
            detail={"withheld": withheld} if withheld else {},
        )
        for user_id in recipients:
            WorkItem.objects.create(
                activation=act,
                instance=self.instance,
                assignee_id=user_id,
                kind=WorkItem.Kind.CC,
                urgent=self.instance.urgent,
                created_at=self.now,
            )
        self.outbox.cc.update(recipients)
        self.log(Action.Kind.CC, node_id=node["id"], recipients=recipients)
        self.go(engine.step_after(self.index, node["id"]), previous)

    def dedup_candidates(
        self, node: Mapping[str, Any], previous: Activation | None, settings: engine.Settings
    ) -> set[int]:
        if previous is None or previous.node_id not in self.index:
            return set()
        if not engine.dedup_allowed(
            settings=settings,
            previous_node=self.node(previous.node_id),
            node=node,
            blocked=self.instance.dedup_blocked,
        ):
            return set()
        items = list(
            WorkItem.objects.filter(activation=previous, kind=WorkItem.Kind.APPROVE).values_list(
                "pk", "assignee_id", "state", "auto_reason", "via", "anchor_id", "delegated_from_id"
            )
        )
        hashes = dict(
            Action.objects.filter(
                work_item_id__in=[row[0] for row in items],
                kind__in=(Action.Kind.APPROVE, Action.Kind.AUTO_APPROVE),
            ).values_list("work_item_id", "data_hash")
        )
        return engine.dedup_people(
            (
                engine.PastApproval(
                    user_id=assignee,
                    state=state,
                    auto_reason=auto_reason,
                    # People added by 加签 or acting for someone else never de-duplicate.
                    via=via or ("added" if anchor or delegated else ""),
                    data_hash=hashes.get(pk, ""),
                )
                for pk, assignee, state, auto_reason, via, anchor, delegated in items
            ),
            self.hash(),
        )

    def enter_task(self, node: dict[str, Any], previous: Activation | None) -> None:
        node_id = str(node["id"])
        settings = engine.settings_for(self.flow, node)
        resolved, withheld = self.cleared(self.resolve(node.get("approvers") or {}, node_id))
        admins = list(settings.admin_user_ids) or list(
            self.instance.definition.admins.filter(is_active=True).values_list("pk", flat=True)
        )
        mode = str(definition.setting(self.flow, "mode", node))
        plan = engine.plan_assignees(
            resolved,
            node_type=str(node.get("type")),
            initiator_id=self.instance.initiator_id,
            settings=settings,
            dedup_ok=self.dedup_candidates(node, previous, settings),
            admin_ids=self.cleared(admins)[0],
            mode=mode,
        )
        detail: dict[str, Any] = {}
        if withheld:
            detail["withheld"] = withheld
        if plan.via:
            detail["via"] = plan.via
        if any(planned.auto == "dedup" for planned in plan.assignees):
            detail["hash"] = self.hash()
        act = self.activation(
            node,
            previous,
            mode=mode,
            assignees=[planned.user_id for planned in plan.assignees],
            auto={str(planned.user_id): planned.auto for planned in plan.assignees if planned.auto},
            detail=detail,
        )
        if plan.empty:
            act.state = Activation.State.SKIPPED
            act.finished_at = self.now
            act.save(update_fields=["state", "finished_at"])
            self.log(Action.Kind.SKIP, node_id=node_id, reason="empty", withheld=withheld)
            # A skipped step ran nobody: the one before stays "the previous step".
            self.go(engine.step_after(self.index, node_id), previous)
            return
        if act.mode != "sequential":
            delegates = self.delegates(act.assignees)
            for order, planned in enumerate(plan.assignees):
                self.open(
                    act, planned.user_id, order=order, auto=planned.auto, via=plan.via, delegates=delegates
                )
        self.settle(act)

    # ------------------------------------------------------------------ items

    def delegates(self, user_ids: Sequence[int]) -> dict[int, int]:
        """委托 in force now for this flow: principal → delegate (one hop, never a chain)."""
        if not user_ids:
            return {}
        rows = (
            Delegation.objects.filter(
                principal_id__in=list(user_ids),
                is_active=True,
                starts_at__lte=self.now,
                ends_at__gt=self.now,
                delegate__is_active=True,
            )
            .filter(Q(definitions__isnull=True) | Q(definitions=self.instance.definition_id))
            .order_by("starts_at")
            .values_list("principal_id", "delegate_id")
        )
        found = dict(rows)
        cleared = set(self.cleared(list(found.values()))[0])
        return {principal: delegate for principal, delegate in found.items() if delegate in cleared}

    def open(
        self,
        act: Activation,
        user_id: int,
        *,
        order: int,
        auto: str = "",
        via: str = "",
        anchor: WorkItem | None = None,
        origin: WorkItem | None = None,
        delegates: Mapping[int, int] | None = None,
    ) -> WorkItem:
        """Give ``user_id`` an item on ``act`` — approved at once when ``auto`` says so."""
        node = self.node(act.node_id)
        kind = WorkItem.Kind.HANDLE if node.get("type") == "handle" else WorkItem.Kind.APPROVE
        if delegates is None:
            delegates = self.delegates([user_id]) if not auto else {}
        assignee = user_id if auto else delegates.get(user_id, user_id)
        item = WorkItem.objects.create(
            activation=act,
            instance=self.instance,
            assignee_id=assignee,
            delegated_from_id=user_id if assignee != user_id else None,
            kind=kind,
            order=order,
            via=via,
            anchor=anchor,
            origin=origin,
            urgent=self.instance.urgent,
            created_at=self.now,
            due_at=None if auto else sla.due_at(self.now, self.flow, node, urgent=self.instance.urgent),
        )
        if auto:
            item.state = WorkItem.State.AUTO_APPROVED
            item.auto_reason = auto
            item.acted_at = self.now
            item.save(update_fields=["state", "auto_reason", "acted_at"])
            self.log(Action.Kind.AUTO_APPROVE, item=item, node_id=act.node_id, target=user_id, reason=auto)
        else:
            self.outbox.todo[assignee] = node.get("type", "approval")
            if item.delegated_from_id:
                self.log(
                    Action.Kind.DELEGATE, item=item, node_id=act.node_id, target=assignee, principal=user_id
                )
        return item

    def settle(self, act: Activation) -> None:
        """Apply what ``engine.evaluate`` says of ``act`` until nothing changes, then move on
        if the step passed."""
        while act.state == Activation.State.ACTIVE:
            items = list(act.items.filter(kind__in=TASK_KINDS).order_by("pk"))
            verdict = engine.evaluate(
                act.mode,
                len(act.assignees),
                [engine.ItemFact(item.pk, item.state, item.order, item.anchor_id) for item in items],
            )
            by_id = {item.pk: item for item in items}
            for pk in verdict.cancel:
                self.close(by_id[pk], WorkItem.State.CANCELLED)
            for pk in verdict.resume:
                item = by_id[pk]
                item.state = WorkItem.State.PENDING
                item.due_at = sla.due_at(
                    self.now, self.flow, self.node(act.node_id), urgent=self.instance.urgent
                )
                item.reminded_at = item.overdue_at = None
                item.save(update_fields=["state", "due_at", "reminded_at", "overdue_at"])
                self.outbox.todo[item.assignee_id] = self.node(act.node_id).get("type", "approval")
            if verdict.outcome == "passed":
                self.complete(act, Activation.State.COMPLETED)
                self.go(engine.step_after(self.index, act.node_id), act)
                return
            if verdict.open_order is None:
                return
            user_id = act.assignees[verdict.open_order]
            auto = act.auto.get(str(user_id), "")
            if auto == "dedup" and act.detail.get("hash") != self.hash():
                auto = ""  # someone earlier in this 依次 step changed the data: approve again
            self.open(act, user_id, order=verdict.open_order, auto=auto, via=act.detail.get("via", ""))

    def close(self, item: WorkItem, state: str, *, request_id: str = "") -> None:
        item.state = state
        item.acted_at = self.now
        item.request_id = request_id
        item.save(update_fields=["state", "acted_at", "request_id"])

    def complete(self, act: Activation, state: str) -> None:
        act.state = state
        act.finished_at = self.now
        act.save(update_fields=["state", "finished_at"])

    # ------------------------------------------------------------------ stopping

    def stop_all(self, *, activation_state: str = Activation.State.CANCELLED) -> list[int]:
        """Cancel every open step and item (the request ends, or goes back); the holders whose
        items were cancelled are returned, to be told."""
        holders = list(
            WorkItem.objects.filter(
                instance=self.instance, kind__in=TASK_KINDS, state__in=ACTIVE_ITEM_STATES
            ).values_list("assignee_id", flat=True)
        )
        WorkItem.objects.filter(
            instance=self.instance, kind__in=TASK_KINDS, state__in=ACTIVE_ITEM_STATES
        ).update(state=WorkItem.State.CANCELLED, acted_at=self.now)
        Activation.objects.filter(instance=self.instance, state=Activation.State.ACTIVE).update(
            state=activation_state, finished_at=self.now
        )
        self._branch_nodes.clear()
        return holders

    def finish(self, state: str) -> None:
        """End the request. Approval comes only when every step has completed, so nothing is
        open then; the other endings cancel what is open (``stop_all``) before they get here."""
        instance = self.instance
        instance.state = state
        instance.finished_at = self.now
        self.log(Action.Kind.FINISH, result=state)
        if state == InstanceState.APPROVED:
            _notify(
                instance,
                [instance.initiator_id],
                "workflow.approved",
                _("审批已通过：%(title)s") % {"title": instance.title},
            )

    def jump(self, target: str) -> None:
        """Run on from ``target`` (退回 to an earlier node, or 直达 resubmission): fresh steps
        for the branch nodes around it, the other branches of a parallel node from their start."""
        latest = Activation.objects.filter(instance=self.instance, node_id=target).order_by("-pk").first()
        previous = latest.previous if latest is not None else None
        pairs = engine.ancestors(self.index, target)
        for node_id, branch_id in pairs:
            node = self.node(node_id)
            if node.get("type") == "condition":
                self._branch_nodes[node_id] = self.activation(node, previous, chosen_branch=branch_id)
            else:
                self._branch_nodes[node_id] = self.activation(node, previous, detail={"done": []})
        for node_id, branch_id in pairs:
            node = self.node(node_id)
            if node.get("type") == "parallel":
                for other in engine.branch_ids(node):
                    if other != branch_id:
                        self.go(engine.branch_entry(node, other), previous)
        self.go(engine.Enter(target), previous)

    # ------------------------------------------------------------------ the end of an action

    def wrap_up(self) -> None:
        """Refresh the request's "current step" line and send what was collected."""
        instance = self.instance
        waiting = list(
            Activation.objects.filter(
                instance=instance, state=Activation.State.ACTIVE, node_type__in=engine.TASK_TYPES
            )
            .order_by("pk")
            .values_list("node_id", "node_name")
        )
        instance.current_node_ids = [node_id for node_id, _name in waiting]
        instance.current_label = "、".join(dict.fromkeys(name for _id, name in waiting))[:200]
        _save(
            instance,
            "state",
            "finished_at",
            "current_node_ids",
            "current_label",
            "round",
            "resume_node_id",
            "dedup_blocked",
            "data",
        )
        handle = [pk for pk, kind in self.outbox.todo.items() if kind == "handle"]
        approve = [pk for pk, kind in self.outbox.todo.items() if kind != "handle"]
        initiator = instance.initiator.name or instance.initiator.username
        body = _("发起人：%(name)s") % {"name": initiator}
        if instance.state == InstanceState.RUNNING:
            _notify(
                instance,
                approve,
                "workflow.todo",
                _("待审批：%(title)s") % {"title": instance.title},
                body=body,
            )
            _notify(
                instance,
                handle,
                "workflow.todo",
                _("待办理：%(title)s") % {"title": instance.title},
                body=body,
            )
        _notify(
            instance,
            self.outbox.cc,
            "workflow.cc",
            _("抄送：%(title)s") % {"title": instance.title},
            body=body,
        )
        self.outbox = _Outbox()
        if instance.state != self._entry_state and instance.state in FINAL_STATES:
            self._entry_state = instance.state
            hooks.finished(instance, self.actor)


def _ended(run: _Run, holders: Iterable[int], title: str, *, exclude: int | None = None) -> None:
    people = [pk for pk in dict.fromkeys(holders) if pk != exclude]
    _notify(run.instance, people, "workflow.finished", title)


# --------------------------------------------------------------------------- flows


def _require_manage(actor: User, owner_unit: OrgUnit | int | None = None) -> None:
    if not access.can_on(actor, MANAGE, None, unit=owner_unit, acl=False):
        raise PermissionDeniedError(_("您没有管理审批流程的权限。"))


def _clean_definition_fields(
    *, code: str, name: str, category: str, description: str, icon: str
) -> dict[str, str]:
    code = (code or "").strip()
    if not re.fullmatch(r"[a-z][a-z0-9_-]{1,63}", code):
        raise DomainError(_("流程编码须以小写字母开头，只含小写字母、数字、下划线和连字符，2 至 64 个字符。"))
    name = _text(name, limit=100, what=_("流程名称"))
    if not name:
        raise DomainError(_("请填写流程名称。"))
    if category not in Category.values:
        raise DomainError(_("流程分类无效。"))
    if icon and not re.fullmatch(r"[a-z0-9-]{1,64}", icon):
        raise DomainError(_("图标名称无效。"))
    return {
        "code": code,
        "name": name,
        "category": category,
        "description": _text(description, limit=500, what=_("流程说明")),
        "icon": icon,
    }


def definition_create(
    *,
    actor: User,
    code: str,
    name: str,
    category: str = Category.OTHER,
    description: str = "",
    icon: str = "",
    owner_unit: OrgUnit | None = None,
    admins: Sequence[User] = (),
) -> FlowDefinition:
    """A new flow, without a version yet (``version_save`` then ``version_publish``)."""
    _require_manage(actor, owner_unit)
    fields = _clean_definition_fields(
        code=code, name=name, category=category, description=description, icon=icon
    )
    _screen(actor, {"name": fields["name"], "description": fields["description"]}, "workflow.flow")
    with transaction.atomic():
        if FlowDefinition.objects.filter(code=fields["code"]).exists():
            raise DomainError(_("流程编码“%(code)s”已被使用。") % {"code": fields["code"]})
        flow = FlowDefinition.objects.create(owner_unit=owner_unit, **fields)
        flow.admins.set([admin.pk for admin in admins])
        record(actor=actor, action=audit_actions.FLOW_CREATED, target=flow, details={"code": flow.code})
    return flow


def definition_update(
    *,
    actor: User,
    flow: FlowDefinition,
    name: str | None = None,
    category: str | None = None,
    description: str | None = None,
    icon: str | None = None,
    is_active: bool | None = None,
    admins: Sequence[User] | None = None,
) -> FlowDefinition:
    """Change a flow's name, category, description, icon, administrators, or switch it off
    (running requests go on; nobody can start new ones)."""
    _require_manage(actor, flow.owner_unit_id)
    fields = _clean_definition_fields(
        code=flow.code,
        name=flow.name if name is None else name,
        category=flow.category if category is None else category,
        description=flow.description if description is None else description,
        icon=flow.icon if icon is None else icon,
    )
    _screen(actor, {"name": fields["name"], "description": fields["description"]}, "workflow.flow")
    with transaction.atomic():
        locked = FlowDefinition.objects.select_for_update().get(pk=flow.pk)
        for key in ("name", "category", "description", "icon"):
            setattr(locked, key, fields[key])
        if is_active is not None:
            locked.is_active = is_active
        locked.updated_at = clock.now()
        locked.save()
        if admins is not None:
            locked.admins.set([admin.pk for admin in admins])
        record(
            actor=actor,
            action=audit_actions.FLOW_UPDATED,
            target=locked,
            details={
                "is_active": locked.is_active,
                "admins": None if admins is None else [a.pk for a in admins],
            },
        )
    return locked


def version_save(
    *, actor: User, flow: FlowDefinition, form: Mapping[str, Any], route: Mapping[str, Any]
) -> FlowVersion:
    """Save the designer's work as the flow's draft version (one draft at a time). Drafts may
    be incomplete; ``version_publish`` checks them."""
    _require_manage(actor, flow.owner_unit_id)
    if not isinstance(form, Mapping) or not isinstance(route, Mapping):
        raise DomainError(_("表单和流程必须是对象。"))
    with transaction.atomic():
        FlowDefinition.objects.select_for_update().get(pk=flow.pk)
        draft = flow.versions.filter(status=FlowVersion.Status.DRAFT).order_by("-number").first()
        if draft is None:
            number = (flow.versions.aggregate(top=Max("number"))["top"] or 0) + 1
            draft = FlowVersion(definition=flow, number=number, created_by=actor)
        draft.form = dict(form)
        draft.flow = dict(route)
        draft.save()
        record(actor=actor, action=audit_actions.VERSION_SAVED, target=flow, details={"number": draft.number})
    return draft


def version_publish(*, actor: User, version: FlowVersion) -> FlowVersion:
    """Check the draft version in full (form, route, and what it names) and make it the one
    new requests start on. The version published before is retired; requests running on it
    finish on it."""
    flow = version.definition
    _require_manage(actor, flow.owner_unit_id)
    if version.status != FlowVersion.Status.DRAFT:
        raise DomainError(_("只有草稿版本可以发布。"))
    form = formspec.parse_form(version.form)
    problems = definition.validate_definition(version.flow, form)
    if not problems:
        problems = resolve.reference_problems(version.flow)
    if problems:
        raise definition.DefinitionError(problems)
    with transaction.atomic():
        locked_flow = FlowDefinition.objects.select_for_update().get(pk=flow.pk)
        locked = FlowVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != FlowVersion.Status.DRAFT:
            raise DomainError(_("该版本已被他人发布或停用。"))
        now = clock.now()
        locked_flow.versions.filter(status=FlowVersion.Status.PUBLISHED).update(
            status=FlowVersion.Status.RETIRED
        )
        locked.status = FlowVersion.Status.PUBLISHED
        locked.published_by = actor
        locked.published_at = now
        locked.save(update_fields=["status", "published_by", "published_at"])
        locked.admins.set(
            User.objects.filter(pk__in=engine.settings_for(locked.flow).admin_user_ids, is_active=True)
        )
        locked_flow.current_version = locked
        locked_flow.updated_at = now
        locked_flow.save(update_fields=["current_version", "updated_at"])
        record(
            actor=actor,
            action=audit_actions.VERSION_PUBLISHED,
            target=locked_flow,
            details={"number": locked.number},
        )
    return locked


# --------------------------------------------------------------------------- drafts and start


def _startable(actor: User, flow: FlowDefinition) -> FlowVersion:
    version = flow.current_version
    if not flow.is_active or version is None or version.status != FlowVersion.Status.PUBLISHED:
        raise DomainError(_("该审批流程未启用或尚未发布。"))
    if not resolve.can_start(version.flow, actor):
        raise PermissionDeniedError(_("您不在“%(name)s”的发起人范围内。") % {"name": flow.name})
    return version


def _title(title: str, data: Mapping[str, Any], flow: FlowDefinition, actor: User) -> str:
    text = _text(title, limit=TITLE_MAX, what=_("标题"))
    if not text and isinstance(data.get("title"), str):
        text = data["title"].strip()[:TITLE_MAX]
    if not text:
        text = f"{flow.name}-{actor.name or actor.username}-{clock.localdate():%Y%m%d}"[:TITLE_MAX]
    return text


def _classification(actor: User, level: int) -> int:
    if not isinstance(level, int) or isinstance(level, bool) or level not in classification.levels():
        raise DomainError(_("密级无效。"))
    if not classification.allows(actor, level):
        raise DomainError(_("不能发起高于您本人可知悉密级的审批。"))
    return level


def _attachments_allowed(
    actor: User, form: formspec.FormSpec, data: Mapping[str, Any], previous: Mapping[str, Any]
) -> None:
    """Attachments — in fields and in table rows alike — are files the person uploaded
    themselves, or already on the request."""
    wanted = form.file_keys(data) - form.file_keys(previous)
    if not wanted:
        return
    own = {
        str(key)
        for key in StoredFile.objects.filter(key__in=list(wanted), uploaded_by=actor).values_list(
            "key", flat=True
        )
    }
    if wanted - own:
        raise DomainError(_("附件不存在或不是您上传的文件，请重新上传。"))


def _clean_data(
    actor: User,
    version: FlowVersion,
    data: Mapping[str, Any],
    *,
    partial: bool = False,
    previous: Mapping[str, Any] | None = None,
    permissions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    form = formspec.parse_form(version.form)
    cleaned = form.clean(dict(data), permissions=permissions, previous=previous, partial=partial)
    _attachments_allowed(actor, form, cleaned, previous or {})
    result: dict[str, Any] = _jsonable(cleaned)
    return result


def _next_serial(now: dt.datetime) -> str:
    prefix = f"SP-{timezone.localtime(now):%Y%m%d}"
    counter, _created = SerialCounter.objects.select_for_update().get_or_create(prefix=prefix)
    counter.value += 1
    counter.save(update_fields=["value"])
    return f"{prefix}-{counter.value:04d}"


def draft_save(
    *,
    actor: User,
    request_id: str,
    flow: FlowDefinition | None = None,
    instance: Instance | None = None,
    data: Mapping[str, Any],
    title: str = "",
    urgent: bool = False,
    level: int = 0,
    chosen: Mapping[str, Sequence[int]] | None = None,
    lock_version: int | None = None,
) -> Instance:
    """Save a request as a draft (草稿): a new one for ``flow``, or ``instance`` again. Data is
    checked without the required fields (``partial``)."""
    rid = _request_id(request_id)
    if (flow is None) == (instance is None):
        raise ValueError("draft_save needs exactly one of flow and instance")
    _screen(actor, {"title": title, **_texts_of(data)}, "workflow.instance")
    with transaction.atomic():
        if flow is not None:
            existing = Instance.objects.filter(initiator=actor, create_request_id=rid).first()
            if existing is not None:
                return existing
            version = _startable(actor, flow)
            clean = _clean_data(actor, version, data, partial=True)
            try:
                with transaction.atomic():
                    return Instance.objects.create(
                        version=version,
                        definition=flow,
                        title=_title(title, clean, flow, actor),
                        initiator=actor,
                        data=clean,
                        chosen=_chosen_map(chosen),
                        urgent=bool(urgent),
                        classification=_classification(actor, level),
                        create_request_id=rid,
                    )
            except IntegrityError:
                return Instance.objects.get(initiator=actor, create_request_id=rid)
        if instance is None:
            raise ValueError("draft_save needs exactly one of flow and instance")
        locked = _lock(instance.pk)
        if locked.initiator_id != actor.pk:
            raise NotFoundError(_("审批单不存在。"))
        if locked.state != InstanceState.DRAFT:
            raise DomainError(_("只有草稿可以这样保存，已提交的审批请使用重新提交。"))
        _check_lock_version(locked, lock_version)
        version = _startable(actor, locked.definition)
        locked.version = version
        locked.data = _clean_data(actor, version, data, partial=True, previous=locked.data)
        locked.title = _title(title, locked.data, locked.definition, actor)
        locked.chosen = _chosen_map(chosen)
        locked.urgent = bool(urgent)
        locked.classification = _classification(actor, level)
        _save(locked, "version", "data", "title", "chosen", "urgent", "classification")
        return locked


def draft_delete(*, actor: User, instance: Instance) -> None:
    """Delete one of the actor's drafts (草稿), which nobody else has seen."""
    with transaction.atomic():
        locked = _lock(instance.pk)
        if locked.initiator_id != actor.pk:
            raise NotFoundError(_("审批单不存在。"))
        if locked.state != InstanceState.DRAFT:
            raise DomainError(_("只有草稿可以删除。"))
        locked.delete()


def _chosen_map(chosen: Mapping[str, Sequence[int]] | None) -> dict[str, list[int]]:
    if chosen is None:
        return {}
    if not isinstance(chosen, Mapping):
        raise DomainError(_("自选审批人格式无效。"))
    result: dict[str, list[int]] = {}
    for node_id, picks in chosen.items():
        values = [picks] if isinstance(picks, int | str) else list(picks or ())
        ids: list[int] = []
        for value in values:
            try:
                ids.append(int(value))
            except (TypeError, ValueError):
                raise DomainError(_("自选审批人格式无效。")) from None
        result[str(node_id)] = ids
    return result


def _check_chosen(run: _Run) -> None:
    """The initiator's picks for the ``initiator_chooses`` nodes the request will reach."""
    instance = run.instance
    checked: dict[str, list[int]] = {}
    for node_id in _predicted_route(run):
        node = run.node(node_id)
        spec = node.get("approvers")
        if (
            node.get("type") in engine.TASK_TYPES
            and isinstance(spec, Mapping)
            and spec.get("kind") == "initiator_chooses"
        ):
            try:
                checked[node_id] = resolve.check_chosen(
                    spec,
                    initiator=instance.initiator,
                    data=instance.data,
                    chosen=instance.chosen.get(node_id, []),
                    form=run.form,
                )
            except DomainError as error:
                raise DomainError(
                    _("“%(node)s”：%(problem)s")
                    % {"node": node.get("name") or node_id, "problem": error.message}
                ) from None
    instance.chosen = checked


def _predicted_route(run: _Run) -> list[str]:
    """The nodes the request reaches with its data as it is: condition branches chosen now,
    every parallel branch (for checking the picks at start, and for a preview)."""
    found: list[str] = []

    def walk(nodes: Iterable[Mapping[str, Any]]) -> None:
        for node in nodes:
            found.append(str(node["id"]))
            if node.get("type") == "condition":
                walk(conditions.choose_branch(node, run.context).get("nodes") or ())
            elif node.get("type") == "parallel":
                for branch in node.get("branches") or ():
                    walk(branch.get("nodes") or ())

    walk(run.flow.get("nodes") or ())
    return found


def instance_start(
    *,
    actor: User,
    request_id: str,
    flow: FlowDefinition | None = None,
    instance: Instance | None = None,
    data: Mapping[str, Any] | None = None,
    title: str = "",
    urgent: bool | None = None,
    level: int | None = None,
    chosen: Mapping[str, Sequence[int]] | None = None,
    lock_version: int | None = None,
) -> Instance:
    """Submit a request (提交): a new one for ``flow``, or the draft ``instance``. The data
    is checked against the form, the initiator against the flow's ``initiators`` rule, and
    the first steps are opened."""
    rid = _request_id(request_id)
    if (flow is None) == (instance is None):
        raise ValueError("instance_start needs exactly one of flow and instance")
    if data is not None:
        _screen(actor, {"title": title, **_texts_of(data)}, "workflow.instance")
    with transaction.atomic():
        if flow is not None:
            existing = Instance.objects.filter(initiator=actor, create_request_id=rid).first()
            if existing is not None:
                if not Action.objects.filter(
                    instance=existing, request_id=rid, kind=Action.Kind.START
                ).exists():
                    raise DomainError(_("请求编号已被其他操作使用，请刷新页面后重试。"))
                return existing
            version = _startable(actor, flow)
            try:
                with transaction.atomic():
                    locked = Instance.objects.create(
                        version=version,
                        definition=flow,
                        title=flow.name,
                        initiator=actor,
                        create_request_id=rid,
                    )
            except IntegrityError:
                return Instance.objects.get(initiator=actor, create_request_id=rid)
            locked = _lock(locked.pk)
            source: Mapping[str, Any] = data or {}
        elif instance is not None:
            locked = _lock(instance.pk)
            if locked.initiator_id != actor.pk:
                raise NotFoundError(_("审批单不存在。"))
            if _replayed(locked, rid, actor, [Action.Kind.START]):
                return locked
            if locked.state != InstanceState.DRAFT:
                raise DomainError(_("该审批已提交。"))
            _check_lock_version(locked, lock_version)
            version = _startable(actor, locked.definition)
            locked.version = version
            source = locked.data if data is None else data
            if data is None:
                _screen(actor, {"title": title, **_texts_of(source)}, "workflow.instance")
        locked.data = _clean_data(actor, version, source, previous=locked.data)
        # Starting a draft keeps what the draft says unless the call says otherwise.
        locked.title = _title(
            title or (locked.title if instance is not None else ""), locked.data, locked.definition, actor
        )
        if chosen is not None or instance is None:
            locked.chosen = _chosen_map(chosen)
        if urgent is not None:
            locked.urgent = bool(urgent)
        locked.classification = _classification(actor, locked.classification if level is None else level)
        now = clock.now()
        membership = primary_membership(actor)
        locked.initiator_unit_id = membership.unit_id if membership is not None else None
        locked.serial = _next_serial(now)
        locked.state = InstanceState.RUNNING
        locked.started_at = now
        run = _Run(locked, actor=actor)
        _check_chosen(run)
        run.log(Action.Kind.START, actor=actor, request_id=rid)
        run.go(engine.first_step(run.flow), None)
        locked.save(
            update_fields=[
                "version",
                "title",
                "chosen",
                "urgent",
                "classification",
                "initiator_unit",
                "serial",
                "started_at",
            ]
        )
        run.wrap_up()
        _audit(
            actor, audit_actions.INSTANCE_STARTED, locked, flow=locked.definition.code, urgent=locked.urgent
        )
        return locked


@dataclass(frozen=True)
class RouteStep:
    """One step a request would reach (流程预览): its node, and who would act on it or be
    copied. ``chooses``: the initiator picks the approvers (``initiator_chooses``), ``multiple``
    whether more than one; ``approvers`` then names the valid picks so far."""

    node_id: str
    name: str
    type: str
    approvers: tuple[str, ...]
    chooses: bool = False
    multiple: bool = False
    picked: tuple[int, ...] = ()

    @property
    def picked_named(self) -> list[tuple[int, str]]:
        """The picks with their names (``approvers`` names them in the same order)."""
        return list(zip(self.picked, self.approvers, strict=False))


def _preview_data(form: formspec.FormSpec, data: Mapping[str, Any]) -> dict[str, Any]:
    """The data as a draft would keep it, the fields with wrong values left out (twice at
    most: values left after the first pass were accepted once already)."""
    source = dict(data) if isinstance(data, Mapping) else {}
    for _attempt in range(2):
        try:
            return form.clean(source, partial=True)
        except formspec.FormDataError as error:
            for key in error.errors:
                source.pop(key.split(".", 1)[0], None)
    return form.clean({}, partial=True)


def predict_route(
    *,
    actor: User,
    flow: FlowDefinition,
    data: Mapping[str, Any],
    chosen: Mapping[str, Sequence[int]] | None = None,
) -> list[RouteStep]:
    """The steps (审批, 办理, 抄送) a request of ``flow`` with ``data`` would go through if
    ``actor`` submitted it now, and who each names, in route order: condition branches as the
    data decides today, every branch of a parallel node. Writes nothing. Values the form
    refuses are treated as empty; wrong picks are dropped. Raises what ``instance_start``
    raises when ``actor`` may not start ``flow``."""
    version = _startable(actor, flow)
    form = formspec.parse_form(version.form)
    try:
        picks = _chosen_map(chosen)
    except DomainError:
        picks = {}
    draft = Instance(
        version=version, definition=flow, initiator=actor, data=_preview_data(form, data), chosen=picks
    )
    run = _Run(draft, actor=actor)
    steps: list[tuple[Mapping[str, Any], list[int]]] = []
    for node_id in _predicted_route(run):
        reached = run.node(node_id)
        kind = reached.get("type")
        if kind in engine.TASK_TYPES:
            steps.append((reached, run.resolve(reached.get("approvers") or {}, node_id)))
        elif kind == "cc":
            steps.append((reached, run.resolve(reached.get("recipients") or {}, node_id)))
    wanted = {pk for _node, ids in steps for pk in ids}
    names = dict(User.objects.filter(pk__in=wanted).values_list("pk", "name")) if wanted else {}
    route: list[RouteStep] = []
    for node, ids in steps:
        spec = node.get("approvers")
        chooses = isinstance(spec, Mapping) and spec.get("kind") == "initiator_chooses"
        route.append(
            RouteStep(
                node_id=str(node["id"]),
                name=str(node.get("name") or ""),
                type=str(node.get("type")),
                approvers=tuple(names.get(pk, "") for pk in ids),
                chooses=chooses,
                multiple=chooses and isinstance(spec, Mapping) and spec.get("multiple") is True,
                picked=tuple(ids) if chooses else (),
            )
        )
    return route


def choosable_approvers(
    *, actor: User, flow: FlowDefinition, node_id: str, data: Mapping[str, Any] | None = None
) -> list[int] | None:
    """Whom ``actor`` may pick on the ``initiator_chooses`` node ``node_id`` of ``flow``: the
    ids of its ``among`` rule, or None when any active account will do. ``NotFoundError``
    when the node is not such a node."""
    version = _startable(actor, flow)
    ref = definition.node_index(version.flow).get(node_id)
    spec = ref.node.get("approvers") if ref is not None else None
    if not isinstance(spec, Mapping) or spec.get("kind") != "initiator_chooses":
        raise NotFoundError(_("审批节点不存在。"))
    among = spec.get("among")
    if not isinstance(among, Mapping):
        return None
    form = formspec.parse_form(version.form)
    return resolve.resolve_approvers(among, initiator=actor, data=_preview_data(form, data or {}), form=form)


# --------------------------------------------------------------------------- work item actions


def _pending_item(
    actor: User, item: WorkItem, instance: Instance, *, kinds: Sequence[str] = TASK_KINDS
) -> WorkItem:
    """The actor's own pending item, re-read under the request's lock; refused otherwise."""
    current = WorkItem.objects.select_related("activation").get(pk=item.pk)
    if current.assignee_id != actor.pk:
        raise PermissionDeniedError(_("这不是您的待办事项。"))
    if current.kind not in kinds:
        raise DomainError(_("此事项不能这样处理。"))
    if current.state != WorkItem.State.PENDING:
        messages: dict[str, str] = {
            WorkItem.State.CANCELLED: _("该审批已被他人处理或已撤回，无需再操作。"),
            WorkItem.State.TRANSFERRED: _("您已将此事项转交他人。"),
            WorkItem.State.ADDED_WAIT: _("您已加签，请等待加签人处理完毕。"),
        }
        raise DomainError(messages.get(current.state, _("您已处理过此事项。")))
    if instance.state != InstanceState.RUNNING:
        raise DomainError(_("该审批已结束或已退回，无需再操作。"))
    return current


def _opinion(node: Mapping[str, Any], action: str, opinion: str) -> str:
    text = _text(opinion, limit=OPINION_MAX, what=_("意见"))
    if not text and engine.opinion_required(node, action):
        raise DomainError(_("请填写意见。"))
    return text


def _signature(actor: User, node: Mapping[str, Any], signature: StoredFile | None) -> StoredFile | None:
    if signature is None:
        if node.get("signature") is True:
            raise DomainError(_("此环节需要手写签名。"))
        return None
    if signature.uploaded_by_id != actor.pk or not signature.is_image:
        raise DomainError(_("签名须是您本人上传的图片。"))
    return signature


def _step_of(item: WorkItem) -> Activation:
    if item.activation is None:
        raise DomainError(_("此事项不能这样处理。"))
    return item.activation


def _item_start(
    actor: User, item: WorkItem, rid: str, kinds: Sequence[str]
) -> tuple[Instance, WorkItem | None]:
    instance = _lock(item.instance_id)
    if _replayed(instance, rid, actor, kinds):
        return instance, None
    return instance, _pending_item(actor, item, instance)


def approve(
    *,
    actor: User,
    item: WorkItem,
    request_id: str,
    opinion: str = "",
    data: Mapping[str, Any] | None = None,
    signature: StoredFile | None = None,
    lock_version: int | None = None,
) -> Instance:
    """同意 (or 办理完成 on a 办理 node). ``data`` carries the fields the node lets its holder
    edit; the others keep their value whatever is sent."""
    rid = _request_id(request_id)
    _screen(actor, {"opinion": opinion, **_texts_of(data or {})}, "workflow.opinion")
    with transaction.atomic():
        instance, current = _item_start(actor, item, rid, [Action.Kind.APPROVE])
        if current is None:
            return instance
        _check_lock_version(instance, lock_version)
        run = _Run(instance, actor=actor)
        act = _step_of(current)
        node = run.node(act.node_id)
        text = _opinion(node, "approve", opinion)
        current.signature = _signature(actor, node, signature)
        changed = _apply_edits(run, actor, node, data)
        current.opinion = text
        run.close(current, WorkItem.State.APPROVED, request_id=rid)
        current.save(update_fields=["opinion", "signature"])
        run.log(
            Action.Kind.APPROVE,
            actor=actor,
            item=current,
            node_id=act.node_id,
            opinion=text,
            request_id=rid,
            edited=changed,
        )
        run.settle(act)
        run.wrap_up()
        _audit(
            actor,
            audit_actions.ITEM_APPROVED,
            instance,
            node=act.node_id,
            item=current.pk,
            state=instance.state,
        )
        return instance


def _apply_edits(
    run: _Run, actor: User, node: Mapping[str, Any], data: Mapping[str, Any] | None
) -> list[str]:
    """The fields this node lets its holder edit or requires, checked with the form; the
    keys whose value changed."""
    listed = node.get("field_permissions") or {}
    if not any(mode in (formspec.EDITABLE, formspec.REQUIRED) for mode in listed.values()):
        return []
    permissions = formspec.fill_permissions(run.form, listed)
    before = run.instance.data
    cleaned = _clean_data(
        actor,
        run.instance.version,
        dict(before if data is None else data),
        previous=before,
        permissions=permissions,
    )
    changed = sorted(key for key in set(cleaned) | set(before) if cleaned.get(key) != before.get(key))
    if changed:
        run.instance.data = cleaned
        run.data_changed()
    return changed


def reject(
    *,
    actor: User,
    item: WorkItem,
    request_id: str,
    opinion: str = "",
    signature: StoredFile | None = None,
) -> Instance:
    """拒绝: the request ends as rejected (the initiator may copy it into a new one)."""
    rid = _request_id(request_id)
    _screen(actor, {"opinion": opinion}, "workflow.opinion")
    with transaction.atomic():
        instance, current = _item_start(actor, item, rid, [Action.Kind.REJECT])
        if current is None:
            return instance
        run = _Run(instance, actor=actor)
        act = _step_of(current)
        node = run.node(act.node_id)
        if node.get("type") != "approval":
            raise DomainError(_("办理环节不能拒绝，如有问题请退回。"))
        text = _opinion(node, "reject", opinion)
        current.signature = _signature(actor, node, signature)
        current.opinion = text
        run.close(current, WorkItem.State.REJECTED, request_id=rid)
        current.save(update_fields=["opinion", "signature"])
        run.log(
            Action.Kind.REJECT, actor=actor, item=current, node_id=act.node_id, opinion=text, request_id=rid
        )
        run.complete(act, Activation.State.REJECTED)
        holders = run.stop_all()
        run.finish(InstanceState.REJECTED)
        run.wrap_up()
        _notify(
            instance,
            [instance.initiator_id],
            "workflow.rejected",
            _("审批被拒绝：%(title)s") % {"title": instance.title},
            body=text,
            actor=actor,
        )
        _ended(run, holders, _("审批已结束：%(title)s") % {"title": instance.title}, exclude=actor.pk)
        _audit(actor, audit_actions.ITEM_REJECTED, instance, node=act.node_id, item=current.pk)
        return instance


INITIATOR = "initiator"
PREVIOUS = "previous"


def return_targets(item: WorkItem) -> list[tuple[str, str]]:
    """Where ``item``'s holder may send the request back: ``(target, label)`` — the initiator,
    the step that actually ran before, and every earlier step of this round."""
    act = item.activation
    if act is None:
        return []
    instance = item.instance
    flow = instance.version.flow
    index = definition.node_index(flow)
    run_ids = set(
        Activation.objects.filter(
            instance=instance, round=instance.round, state=Activation.State.COMPLETED
        ).values_list("node_id", flat=True)
    )
    targets = [(INITIATOR, _("发起人"))]
    if act.previous is not None:
        targets.append((PREVIOUS, _("上一节点（%(name)s）") % {"name": act.previous.node_name}))
    targets.extend(
        (node_id, str(index[node_id].node.get("name") or node_id))
        for node_id in engine.return_targets(flow, index, act.node_id, run_ids)
    )
    return targets


def return_to(
    *,
    actor: User,
    item: WorkItem,
    request_id: str,
    target: str = INITIATOR,
    opinion: str = "",
) -> Instance:
    """退回: to the initiator (who edits and resubmits), to the step that ran just before
    (``"previous"``), or to an earlier step of this round (its node id)."""
    rid = _request_id(request_id)
    _screen(actor, {"opinion": opinion}, "workflow.opinion")
    with transaction.atomic():
        instance, current = _item_start(actor, item, rid, [Action.Kind.RETURN])
        if current is None:
            return instance
        run = _Run(instance, actor=actor)
        act = _step_of(current)
        node = run.node(act.node_id)
        text = _opinion(node, "return", opinion)
        allowed = dict(return_targets(current))
        if target == PREVIOUS:
            if act.previous is None:
                raise DomainError(_("没有可退回的上一节点，请选择退回发起人。"))
            destination = act.previous.node_id
        elif target in allowed:
            destination = target
        else:
            raise DomainError(_("不能退回到所选节点。"))
        current.opinion = text
        run.close(current, WorkItem.State.RETURNED, request_id=rid)
        current.save(update_fields=["opinion"])
        run.complete(act, Activation.State.RETURNED)
        holders = run.stop_all()
        instance.dedup_blocked = True
        run.log(
            Action.Kind.RETURN,
            actor=actor,
            item=current,
            node_id=act.node_id,
            to_node="" if destination == INITIATOR else destination,
            opinion=text,
            request_id=rid,
        )
        if destination == INITIATOR:
            instance.state = InstanceState.RETURNED
            instance.resume_node_id = act.node_id
        else:
            run.jump(destination)
        run.wrap_up()
        if destination == INITIATOR:
            hooks.returned(instance, actor)
        title = _("审批被退回：%(title)s") % {"title": instance.title}
        if destination == INITIATOR:
            _notify(instance, [instance.initiator_id], "workflow.returned", title, body=text, actor=actor)
        _ended(run, holders, _("审批已退回：%(title)s") % {"title": instance.title}, exclude=actor.pk)
        _audit(actor, audit_actions.ITEM_RETURNED, instance, node=act.node_id, target=destination)
        return instance


def transfer(*, actor: User, item: WorkItem, request_id: str, to: User, opinion: str = "") -> Instance:
    """转交: the item moves to ``to``, who becomes its holder; the actor no longer holds it."""
    rid = _request_id(request_id)
    _screen(actor, {"opinion": opinion}, "workflow.opinion")
    with transaction.atomic():
        instance, current = _item_start(actor, item, rid, [Action.Kind.TRANSFER])
        if current is None:
            return instance
        run = _Run(instance, actor=actor)
        act = _step_of(current)
        node = run.node(act.node_id)
        text = _opinion(node, "transfer", opinion)
        _check_newcomers(run, act, [to], actor)
        current.opinion = text
        run.close(current, WorkItem.State.TRANSFERRED, request_id=rid)
        current.save(update_fields=["opinion"])
        new = run.open(
            act,
            to.pk,
            order=current.order,
            via=WorkItem.Via.TRANSFER,
            anchor=current.anchor,
            origin=current,
        )
        instance.dedup_blocked = True
        run.log(
            Action.Kind.TRANSFER,
            actor=actor,
            item=current,
            node_id=act.node_id,
            target=to,
            opinion=text,
            request_id=rid,
            new_item=new.pk,
        )
        run.wrap_up()
        _audit(actor, audit_actions.ITEM_TRANSFERRED, instance, node=act.node_id, to=to.pk)
        return instance


def _check_people(people: Sequence[User], level: int) -> None:
    """People brought into a request by hand (转交, 加签, 传阅, 委托) must be able to take
    part: active accounts that are not 三员 administrators (AC-05), cleared for its 密级."""
    eligible = set(
        resolve.resolve_approvers(
            {"kind": "users", "ids": [person.pk for person in people]}, initiator=people[0], data={}
        )
    )
    for person in people:
        if person.pk not in eligible:
            raise DomainError(_("%(name)s 的账号已停用或不能参与审批。") % {"name": person.name})
        if not classification.allows(person, level):
            raise DomainError(_("%(name)s 的可知悉密级低于本审批单的密级。") % {"name": person.name})


def _check_newcomers(run: _Run, act: Activation, people: Sequence[User], actor: User) -> None:
    if not people:
        raise DomainError(_("请选择人员。"))
    if len({person.pk for person in people}) != len(people):
        raise DomainError(_("所选人员有重复。"))
    if any(person.pk == actor.pk for person in people):
        raise DomainError(_("不能选择您本人。"))
    _check_people(people, run.instance.classification)
    holding = set(
        WorkItem.objects.filter(activation=act, state__in=ACTIVE_ITEM_STATES).values_list(
            "assignee_id", flat=True
        )
    )
    busy = [person for person in people if person.pk in holding]
    if busy:
        raise DomainError(_("%(names)s 已在处理此环节。") % {"names": _names(busy)})


ADD_KINDS = {
    "before": (Action.Kind.ADD_SIGN_BEFORE, WorkItem.Via.ADD_BEFORE),
    "after": (Action.Kind.ADD_SIGN_AFTER, WorkItem.Via.ADD_AFTER),
    "parallel": (Action.Kind.ADD_SIGN_PARALLEL, WorkItem.Via.ADD_PARALLEL),
}


def add_sign(
    *,
    actor: User,
    item: WorkItem,
    request_id: str,
    users: Sequence[User],
    position: str,
    opinion: str = "",
) -> Instance:
    """加签 (§4.1): ``before`` — they approve first, then the item comes back to the actor;
    ``after`` — the actor approves now and they approve after; ``parallel`` — they approve
    together with the actor. The added people act as a 会签 group."""
    rid = _request_id(request_id)
    if position not in ADD_KINDS:
        raise DomainError(_("加签方式无效，可选：前加签、后加签、并加签。"))
    action_kind, via = ADD_KINDS[position]
    _screen(actor, {"opinion": opinion}, "workflow.opinion")
    with transaction.atomic():
        instance, current = _item_start(actor, item, rid, [action_kind])
        if current is None:
            return instance
        run = _Run(instance, actor=actor)
        act = _step_of(current)
        node = run.node(act.node_id)
        if node.get("type") != "approval":
            raise DomainError(_("只有审批环节可以加签。"))
        if len(users) > MAX_ADDED:
            raise DomainError(_("一次最多加签 %(max)d 人。") % {"max": MAX_ADDED})
        _check_newcomers(run, act, users, actor)
        text = (
            _opinion(node, "approve", opinion)
            if position == "after"
            else _text(opinion, limit=OPINION_MAX, what=_("意见"))
        )
        current.opinion = text
        if position == "before":
            current.state = WorkItem.State.ADDED_WAIT
            current.save(update_fields=["state", "opinion"])
        elif position == "after":
            run.close(current, WorkItem.State.APPROVED, request_id=rid)
            current.save(update_fields=["opinion"])
        else:
            current.save(update_fields=["opinion"])
        delegates = run.delegates([person.pk for person in users])
        for person in users:
            run.open(
                act,
                person.pk,
                order=current.order,
                via=via,
                anchor=current,
                origin=current,
                delegates=delegates,
            )
        instance.dedup_blocked = True
        run.log(
            action_kind,
            actor=actor,
            item=current,
            node_id=act.node_id,
            opinion=text,
            request_id=rid,
            users=[person.pk for person in users],
        )
        run.settle(act)
        run.wrap_up()
        _audit(
            actor,
            audit_actions.ITEM_ADD_SIGNED,
            instance,
            node=act.node_id,
            position=position,
            users=[p.pk for p in users],
        )
        return instance


# --------------------------------------------------------------------------- the initiator's actions


def _own_instance(actor: User, instance: Instance, rid: str, kinds: Sequence[str]) -> tuple[Instance, bool]:
    locked = _lock(instance.pk)
    if locked.initiator_id != actor.pk:
        raise PermissionDeniedError(_("只有发起人可以这样操作。"))
    return locked, _replayed(locked, rid, actor, kinds)


def resubmit(
    *,
    actor: User,
    instance: Instance,
    request_id: str,
    data: Mapping[str, Any] | None = None,
    title: str | None = None,
    chosen: Mapping[str, Sequence[int]] | None = None,
    lock_version: int | None = None,
) -> Instance:
    """重新提交 a returned request, edited: from the first step (``return_resume`` "restart")
    or straight to the step that returned it ("direct")."""
    rid = _request_id(request_id)
    _screen(actor, {"title": title or "", **_texts_of(data or {})}, "workflow.instance")
    with transaction.atomic():
        locked, replay = _own_instance(actor, instance, rid, [Action.Kind.RESUBMIT])
        if replay:
            return locked
        if locked.state != InstanceState.RETURNED:
            raise DomainError(_("只有被退回的审批可以重新提交。"))
        _check_lock_version(locked, lock_version)
        if data is not None:
            locked.data = _clean_data(actor, locked.version, data, previous=locked.data)
        if title is not None:
            locked.title = _title(title, locked.data, locked.definition, actor)
        if chosen is not None:
            locked.chosen = _chosen_map(chosen)
        run = _Run(locked, actor=actor)
        locked.state = InstanceState.RUNNING
        locked.round += 1
        locked.dedup_blocked = False
        _check_chosen(run)
        run.log(Action.Kind.RESUBMIT, actor=actor, request_id=rid)
        settings = engine.settings_for(run.flow)
        resume = locked.resume_node_id
        locked.resume_node_id = ""
        if settings.return_resume == "direct" and resume in run.index:
            run.jump(resume)
        else:
            run.go(engine.first_step(run.flow), None)
        locked.save(update_fields=["title", "chosen"])
        run.wrap_up()
        if locked.state == InstanceState.RUNNING:
            hooks.resubmitted(locked, actor)
        _audit(actor, audit_actions.INSTANCE_RESUBMITTED, locked, round=locked.round)
        return locked


def withdraw(*, actor: User, instance: Instance, request_id: str, reason: str = "") -> Instance:
    """撤回 by the initiator: in a "strict" flow only while no approver has acted in this
    round; in a "lenient" one any time before the result. A returned request may always be
    given up."""
    rid = _request_id(request_id)
    text = _text(reason, limit=OPINION_MAX, what=_("撤回原因"))
    _screen(actor, {"reason": text}, "workflow.opinion")
    with transaction.atomic():
        locked, replay = _own_instance(actor, instance, rid, [Action.Kind.WITHDRAW])
        if replay:
            return locked
        run = _Run(locked, actor=actor)
        acted = Action.objects.filter(
            instance=locked, round=locked.round, kind__in=DECISIONS, actor__isnull=False
        ).exists()
        refusal = engine.withdraw_refusal(
            mode=engine.settings_for(run.flow).withdraw, state=locked.state, someone_acted=acted
        )
        if refusal == "finished":
            raise DomainError(_("该审批已结束，不能撤回。"))
        if refusal == "acted":
            raise DomainError(_("已有审批人处理，不能撤回；如需撤回，请联系审批人退回。"))
        holders = run.stop_all()
        run.log(Action.Kind.WITHDRAW, actor=actor, opinion=text, request_id=rid)
        run.finish(InstanceState.WITHDRAWN)
        run.wrap_up()
        _ended(run, holders, _("审批已被发起人撤回：%(title)s") % {"title": locked.title})
        _audit(actor, audit_actions.INSTANCE_WITHDRAWN, locked, reason=text)
        return locked


def _participants(instance: Instance) -> list[int]:
    return list(
        WorkItem.objects.filter(instance=instance, kind__in=TASK_KINDS)
        .exclude(state=WorkItem.State.CANCELLED)
        .values_list("assignee_id", flat=True)
        .distinct()
    )


def revoke(*, actor: User, instance: Instance, request_id: str, reason: str) -> Instance:
    """撤销 an approved request: by its initiator within ``engine.REVOKE_DAYS`` days of the
    approval, or by a flow administrator. Everyone who took part is told."""
    rid = _request_id(request_id)
    text = _text(reason, limit=OPINION_MAX, what=_("撤销原因"))
    if not text:
        raise DomainError(_("请填写撤销原因。"))
    _screen(actor, {"reason": text}, "workflow.opinion")
    with transaction.atomic():
        locked = _lock(instance.pk)
        if _replayed(locked, rid, actor, [Action.Kind.REVOKE]):
            return locked
        admin = is_flow_admin(actor, locked.definition, locked.version.flow)
        if locked.initiator_id != actor.pk and not admin:
            raise PermissionDeniedError(_("只有发起人或流程管理员可以撤销。"))
        if locked.state != InstanceState.APPROVED:
            raise DomainError(_("只有已通过的审批可以撤销。"))
        now = clock.now()
        deadline = engine.revoke_deadline(locked.finished_at or now)
        if not admin and now > deadline:
            raise DomainError(
                _("已超过撤销期限（%(deadline)s），请联系流程管理员。") % {"deadline": _local(deadline)}
            )
        run = _Run(locked, actor=actor)
        run.log(Action.Kind.REVOKE, actor=actor, opinion=text, request_id=rid, by_admin=admin)
        locked.state = InstanceState.REVOKED
        locked.finished_at = now
        run.wrap_up()
        _ended(
            run,
            [locked.initiator_id, *_participants(locked)],
            _("审批已撤销：%(title)s") % {"title": locked.title},
            exclude=actor.pk,
        )
        _audit(actor, audit_actions.INSTANCE_REVOKED, locked, reason=text, by_admin=admin)
        return locked


def terminate(*, actor: User, instance: Instance, request_id: str, reason: str) -> Instance:
    """终止 (强制结束) by a flow administrator."""
    rid = _request_id(request_id)
    text = _text(reason, limit=OPINION_MAX, what=_("终止原因"))
    if not text:
        raise DomainError(_("请填写终止原因。"))
    with transaction.atomic():
        locked = _lock(instance.pk)
        if _replayed(locked, rid, actor, [Action.Kind.TERMINATE]):
            return locked
        if not is_flow_admin(actor, locked.definition, locked.version.flow):
            raise PermissionDeniedError(_("只有流程管理员可以终止审批。"))
        if locked.state not in (InstanceState.RUNNING, InstanceState.RETURNED):
            raise DomainError(_("该审批已结束。"))
        run = _Run(locked, actor=actor)
        holders = run.stop_all()
        run.log(Action.Kind.TERMINATE, actor=actor, opinion=text, request_id=rid)
        run.finish(InstanceState.TERMINATED)
        run.wrap_up()
        _ended(
            run,
            [locked.initiator_id, *holders],
            _("审批已被管理员终止：%(title)s") % {"title": locked.title},
            exclude=actor.pk,
        )
        _audit(actor, audit_actions.INSTANCE_TERMINATED, locked, reason=text)
        return locked


def urge(*, actor: User, instance: Instance, request_id: str, message: str = "") -> Instance:
    """催办: tell the current holders again, at most once an hour per request."""
    rid = _request_id(request_id)
    text = _text(message, limit=200, what=_("催办留言"))
    _screen(actor, {"message": text}, "workflow.opinion")
    with transaction.atomic():
        locked = _lock(instance.pk)
        if _replayed(locked, rid, actor, [Action.Kind.URGE]):
            return locked
        if locked.initiator_id != actor.pk and not is_flow_admin(
            actor, locked.definition, locked.version.flow
        ):
            raise PermissionDeniedError(_("只有发起人或流程管理员可以催办。"))
        if locked.state != InstanceState.RUNNING:
            raise DomainError(_("只有审批中的事项可以催办。"))
        now = clock.now()
        last = (
            Action.objects.filter(instance=locked, kind=Action.Kind.URGE)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        allowed_at = engine.next_urge_at(last, now)
        if allowed_at is not None:
            raise DomainError(
                _("催办过于频繁，每小时最多一次，请于 %(time)s 后再试。") % {"time": _local(allowed_at)}
            )
        holders = list(
            WorkItem.objects.filter(instance=locked, kind__in=TASK_KINDS, state=WorkItem.State.PENDING)
            .values_list("assignee_id", flat=True)
            .distinct()
        )
        run = _Run(locked, actor=actor)
        run.log(Action.Kind.URGE, actor=actor, opinion=text, request_id=rid, holders=holders)
        _save(locked)
        _notify(
            locked,
            holders,
            "workflow.urge",
            _("催办：%(title)s") % {"title": locked.title},
            body=text or _("%(name)s 催您尽快处理。") % {"name": actor.name},
            actor=actor,
        )
        _audit(actor, audit_actions.INSTANCE_URGED, locked, holders=holders)
        return locked


# --------------------------------------------------------------------------- everyone concerned


def comment(
    *, actor: User, instance: Instance, request_id: str, text: str, mentions: Sequence[User] = ()
) -> Action:
    """评论 on a request, by anyone who can read it; those @mentioned (who must be able to
    read it too — else circulate it to them first) are notified."""
    rid = _request_id(request_id)
    body = _text(text, limit=COMMENT_MAX, what=_("评论"))
    if not body:
        raise DomainError(_("请填写评论内容。"))
    _screen(actor, {"text": body}, "workflow.comment")
    with transaction.atomic():
        locked = _lock(instance.pk)
        if not _can_view(actor, locked) or locked.state == InstanceState.DRAFT:
            raise NotFoundError(_("审批单不存在。"))
        done = Action.objects.filter(instance=locked, request_id=rid).first()
        if done is not None:
            if done.kind != Action.Kind.COMMENT or done.actor_id != actor.pk:
                raise DomainError(_("请求编号已被其他操作使用，请刷新页面后重试。"))
            return done
        blind = [person for person in mentions if not _can_view(person, locked)]
        if blind:
            raise DomainError(
                _("%(names)s 无权查看此审批，不能提及；可先传阅给他们。") % {"names": _names(blind)}
            )
        run = _Run(locked, actor=actor)
        mentioned = [person.pk for person in mentions if person.pk != actor.pk]
        action = run.log(Action.Kind.COMMENT, actor=actor, opinion=body, request_id=rid, mentions=mentioned)
        _notify(
            locked,
            mentioned,
            "workflow.mention",
            _("%(name)s 在审批中提到了您：%(title)s") % {"name": actor.name, "title": locked.title},
            body=body[:200],
            actor=actor,
        )
        return action


def mark_read(*, actor: User, item: WorkItem, request_id: str, opinion: str = "") -> WorkItem:
    """已阅: a 抄送 or 传阅 item read (with an optional 阅知意见)."""
    rid = _request_id(request_id)
    text = _text(opinion, limit=OPINION_MAX, what=_("意见"))
    _screen(actor, {"opinion": text}, "workflow.opinion")
    with transaction.atomic():
        locked = _lock(item.instance_id)
        current = WorkItem.objects.get(pk=item.pk)
        if current.assignee_id != actor.pk:
            raise PermissionDeniedError(_("这不是您的待阅事项。"))
        if current.kind not in READ_KINDS:
            raise DomainError(_("此事项不能这样处理。"))
        if current.state == WorkItem.State.DONE:
            return current
        run = _Run(locked, actor=actor)
        current.opinion = text
        run.close(current, WorkItem.State.DONE, request_id=rid)
        current.save(update_fields=["opinion"])
        run.log(Action.Kind.READ, actor=actor, item=current, opinion=text)
        return current


def circulate(
    *, actor: User, instance: Instance, request_id: str, users: Sequence[User], note: str = ""
) -> list[WorkItem]:
    """传阅: give people a request to read (the initiator, those who hold or held a step of
    it, or a flow administrator may)."""
    rid = _request_id(request_id)
    text = _text(note, limit=OPINION_MAX, what=_("传阅说明"))
    _screen(actor, {"note": text}, "workflow.opinion")
    with transaction.atomic():
        locked = _lock(instance.pk)
        if _replayed(locked, rid, actor, [Action.Kind.CIRCULATE]):
            return list(WorkItem.objects.filter(instance=locked, kind=WorkItem.Kind.READ, request_id=rid))
        involved = (
            locked.initiator_id == actor.pk
            or WorkItem.objects.filter(instance=locked, assignee=actor, kind__in=TASK_KINDS).exists()
        )
        if not involved and not is_flow_admin(actor, locked.definition, locked.version.flow):
            raise PermissionDeniedError(_("只有发起人、审批人或流程管理员可以传阅。"))
        if locked.state == InstanceState.DRAFT:
            raise DomainError(_("草稿不能传阅。"))
        if not users:
            raise DomainError(_("请选择传阅人员。"))
        if len(users) > MAX_CIRCULATE:
            raise DomainError(_("一次最多传阅 %(max)d 人。") % {"max": MAX_CIRCULATE})
        _check_people(users, locked.classification)
        unread = set(
            WorkItem.objects.filter(
                instance=locked, kind=WorkItem.Kind.READ, state=WorkItem.State.PENDING
            ).values_list("assignee_id", flat=True)
        )
        now = clock.now()
        created = [
            WorkItem.objects.create(
                instance=locked,
                assignee=person,
                kind=WorkItem.Kind.READ,
                via=WorkItem.Via.CIRCULATE,
                urgent=locked.urgent,
                created_at=now,
                request_id=rid,
            )
            for person in dict.fromkeys(users)
            if person.pk not in unread
        ]
        run = _Run(locked, actor=actor)
        run.log(
            Action.Kind.CIRCULATE,
            actor=actor,
            opinion=text,
            request_id=rid,
            users=[i.assignee_id for i in created],
        )
        _notify(
            locked,
            [item.assignee_id for item in created],
            "workflow.cc",
            _("传阅：%(title)s") % {"title": locked.title},
            body=text,
            actor=actor,
        )
        _audit(actor, audit_actions.INSTANCE_CIRCULATED, locked, users=[i.assignee_id for i in created])
        return created


# --------------------------------------------------------------------------- delegation and phrases


def delegation_create(
    *,
    actor: User,
    request_id: str,
    delegate: User,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    flows: Sequence[FlowDefinition] = (),
    reason: str = "",
) -> Delegation:
    """委托: the actor's new approval items go to ``delegate`` between the two times, for
    ``flows`` (none: every flow). The record shows "X 代 Y"; the actor keeps seeing them."""
    rid = _request_id(request_id)
    text = _text(reason, limit=200, what=_("委托事由"))
    _screen(actor, {"reason": text}, "workflow.delegation")
    if delegate.pk == actor.pk:
        raise DomainError(_("不能委托给自己。"))
    _check_people([delegate], 0)
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise DomainError(_("委托时间无效。"))
    if ends_at <= starts_at:
        raise DomainError(_("委托结束时间须晚于开始时间。"))
    if ends_at <= clock.now():
        raise DomainError(_("委托结束时间须晚于现在。"))
    if ends_at - starts_at > dt.timedelta(days=366):
        raise DomainError(_("委托期限不能超过一年。"))
    with transaction.atomic():
        User.objects.select_for_update().get(pk=actor.pk)  # one delegation change at a time per person
        existing = Delegation.objects.filter(principal=actor, request_id=rid).first()
        if existing is not None:
            return existing
        overlapping = Delegation.objects.filter(
            principal=actor, is_active=True, starts_at__lt=ends_at, ends_at__gt=starts_at
        ).prefetch_related("definitions")
        wanted = {flow.pk for flow in flows}
        for other in overlapping:
            theirs = {flow.pk for flow in other.definitions.all()}
            if not wanted or not theirs or wanted & theirs:
                raise DomainError(_("该时段内已有委托，请先结束原委托。"))
        if Delegation.objects.filter(
            principal=delegate, delegate=actor, is_active=True, starts_at__lt=ends_at, ends_at__gt=starts_at
        ).exists():
            raise DomainError(_("对方在该时段已委托给您，不能相互委托。"))
        delegation = Delegation.objects.create(
            principal=actor,
            delegate=delegate,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=text,
            request_id=rid,
        )
        delegation.definitions.set(list(wanted))
        record(
            actor=actor,
            action=audit_actions.DELEGATION_CREATED,
            target=delegation,
            details={"delegate": delegate.pk, "flows": sorted(wanted), "from": starts_at, "to": ends_at},
        )
    return delegation


def delegation_end(*, actor: User, delegation: Delegation) -> Delegation:
    """End a delegation now. Items already with the delegate stay there."""
    with transaction.atomic():
        locked = Delegation.objects.select_for_update().get(pk=delegation.pk)
        if locked.principal_id != actor.pk:
            raise PermissionDeniedError(_("只有委托人可以结束委托。"))
        if not locked.is_active:
            return locked
        now = clock.now()
        locked.is_active = False
        if locked.ends_at > now:
            locked.ends_at = max(now, locked.starts_at + dt.timedelta(seconds=1))
        locked.save(update_fields=["is_active", "ends_at"])
        record(actor=actor, action=audit_actions.DELEGATION_ENDED, target=locked, details={})
    return locked


def phrase_create(*, actor: User, text: str) -> Phrase:
    """常用意见: keep an opinion to pick again later."""
    body = _text(text, limit=PHRASE_MAX, what=_("常用意见"))
    if not body:
        raise DomainError(_("请填写常用意见。"))
    _screen(actor, {"text": body}, "workflow.phrase")
    with transaction.atomic():
        User.objects.select_for_update().get(pk=actor.pk)
        mine = Phrase.objects.filter(user=actor)
        if mine.count() >= MAX_PHRASES:
            raise DomainError(_("常用意见最多 %(max)d 条。") % {"max": MAX_PHRASES})
        if mine.filter(text=body).exists():
            raise DomainError(_("已有相同的常用意见。"))
        order = (mine.aggregate(top=Max("order"))["top"] or 0) + 1
        return Phrase.objects.create(user=actor, text=body, order=order)


def phrase_delete(*, actor: User, phrase: Phrase) -> None:
    if phrase.user_id != actor.pk:
        raise NotFoundError(_("常用意见不存在。"))
    phrase.delete()


def phrase_reorder(*, actor: User, ids: Sequence[int]) -> None:
    """Put the actor's phrases in the order of ``ids`` (others keep their place after them)."""
    with transaction.atomic():
        mine = {phrase.pk: phrase for phrase in Phrase.objects.select_for_update().filter(user=actor)}
        ordered = [mine[pk] for pk in dict.fromkeys(ids) if pk in mine]
        ordered += [
            phrase
            for pk, phrase in sorted(mine.items(), key=lambda pair: pair[1].order)
            if phrase not in ordered
        ]
        for position, phrase in enumerate(ordered, start=1):
            phrase.order = position
        Phrase.objects.bulk_update(ordered, ["order"])


# --------------------------------------------------------------------------- the request's page


#: The event the open pages of a request listen for: ``{"instance": pk, "stamp": last log id}``.
INSTANCE_EVENT = "workflow.instance"


def announce(instance: Instance) -> None:
    """Tell the open pages of the request's people — its initiator and whoever holds, held
    or had routed away a step or a copy of it — that it changed, once the transaction
    commits. The event names the request and its latest log entry only: each page fetches
    what its reader may see."""
    stamp = Action.objects.filter(instance=instance).aggregate(top=Max("pk"))["top"] or 0
    people = {instance.initiator_id}
    for assignee, principal in WorkItem.objects.filter(instance=instance).values_list(
        "assignee_id", "delegated_from_id"
    ):
        people.add(assignee)
        if principal is not None:
            people.add(principal)
    events.push_to_users(
        (user_id, INSTANCE_EVENT, {"instance": instance.pk, "stamp": stamp}) for user_id in sorted(people)
    )


def file_downloaded(
    *, actor: User, instance: Instance, stored: StoredFile, request: HttpRequest | None = None
) -> None:
    """The download of a classified request's attachment (or of a classified file) is audited."""
    level = max(instance.classification, stored.classification)
    if not classification.is_classified(level):
        return
    with transaction.atomic():
        record(
            actor=actor,
            action=audit_actions.FILE_DOWNLOADED,
            target=instance,
            request=request,
            details={
                "serial": instance.serial,
                "file": stored.name,
                "sha256": stored.sha256,
                "classification": level,
            },
        )


def printed(*, actor: User, instance: Instance, request: HttpRequest | None = None) -> None:
    """Printing a classified request is audited."""
    if not classification.is_classified(instance.classification):
        return
    with transaction.atomic():
        record(
            actor=actor,
            action=audit_actions.INSTANCE_PRINTED,
            target=instance,
            request=request,
            details={
                "serial": instance.serial,
                "title": instance.title,
                "classification": instance.classification,
            },
        )


# --------------------------------------------------------------------------- deadlines (R-76, R-65)


@dataclass
class SweepResult:
    reminded: int = 0
    overdue: int = 0
    escalated: int = 0
    auto_approved: int = 0
    auto_rejected: int = 0


def sla_due_items(now: dt.datetime) -> list[int]:
    """The pending items that need a reminder or an overdue step now (one indexed query)."""
    return list(
        WorkItem.objects.filter(
            kind__in=TASK_KINDS,
            state=WorkItem.State.PENDING,
            due_at__isnull=False,
            instance__state=InstanceState.RUNNING,
        )
        .filter(
            Q(reminded_at__isnull=True, due_at__lte=now + sla.REMIND_BEFORE)
            | Q(overdue_at__isnull=True, due_at__lte=now)
        )
        .order_by("due_at")
        .values_list("pk", flat=True)[:1000]
    )


def sla_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Remind before the deadline, and act after it per the node's ``on_timeout``: remind,
    escalate to the holder's head, approve or reject (logged as automatic). 急办 requests
    are always escalated (R-65). Each item in its own transaction, checked again under the
    request's lock: running twice does nothing twice."""
    now = now or clock.now()
    result = SweepResult()
    for pk in sla_due_items(now):
        with transaction.atomic():
            _sweep_item(pk, now, result)
    return result


def _sweep_item(pk: int, now: dt.datetime, result: SweepResult) -> None:
    row = WorkItem.objects.filter(pk=pk).values_list("instance_id", flat=True).first()
    if row is None:
        return
    instance = _lock(row)
    item = WorkItem.objects.select_related("activation", "assignee").get(pk=pk)
    if item.state != WorkItem.State.PENDING or instance.state != InstanceState.RUNNING or item.due_at is None:
        return
    act = _step_of(item)
    run = _Run(instance, actor=None)
    node = run.node(act.node_id)
    title = instance.title
    if now < item.due_at:
        if item.reminded_at is None and now >= sla.remind_at(item.created_at, item.due_at):
            item.reminded_at = now
            item.save(update_fields=["reminded_at"])
            _notify(
                instance,
                [item.assignee_id],
                "workflow.overdue",
                _("即将超时：%(title)s") % {"title": title},
                body=_("请于 %(due)s 前处理。") % {"due": _local(item.due_at)},
            )
            result.reminded += 1
        return
    if item.overdue_at is not None:
        return
    item.overdue_at = now
    item.reminded_at = item.reminded_at or now
    item.save(update_fields=["overdue_at", "reminded_at"])
    result.overdue += 1
    settings = engine.settings_for(run.flow, node)
    on_timeout = settings.on_timeout
    if on_timeout == "reject" and node.get("type") != "approval":
        on_timeout = "remind"
    if on_timeout == "approve":
        run.close(item, WorkItem.State.AUTO_APPROVED)
        item.auto_reason = WorkItem.AutoReason.TIMEOUT
        item.save(update_fields=["auto_reason"])
        run.log(
            Action.Kind.AUTO_APPROVE,
            item=item,
            node_id=act.node_id,
            target=item.assignee_id,
            reason="timeout",
        )
        run.settle(act)
        run.wrap_up()
        announce(instance)
        _audit(None, audit_actions.ITEM_TIMED_OUT, instance, node=act.node_id, item=pk, outcome="approve")
        result.auto_approved += 1
        return
    if on_timeout == "reject":
        run.close(item, WorkItem.State.REJECTED)
        item.auto_reason = WorkItem.AutoReason.TIMEOUT
        item.save(update_fields=["auto_reason"])
        run.log(Action.Kind.REJECT, item=item, node_id=act.node_id, target=item.assignee_id, reason="timeout")
        run.complete(act, Activation.State.REJECTED)
        holders = run.stop_all()
        run.finish(InstanceState.REJECTED)
        run.wrap_up()
        _notify(
            instance,
            [instance.initiator_id],
            "workflow.rejected",
            _("审批超时未处理，已自动拒绝：%(title)s") % {"title": title},
        )
        _ended(run, holders, _("审批已结束：%(title)s") % {"title": title})
        announce(instance)
        _audit(None, audit_actions.ITEM_TIMED_OUT, instance, node=act.node_id, item=pk, outcome="reject")
        result.auto_rejected += 1
        return
    _notify(
        instance,
        [item.assignee_id],
        "workflow.overdue",
        _("已超时：%(title)s") % {"title": title},
        body=_("办理时限为 %(due)s，请尽快处理。") % {"due": _local(item.due_at)},
    )
    run.log(Action.Kind.TIMEOUT_REMIND, item=item, node_id=act.node_id, target=item.assignee_id)
    if on_timeout == "escalate" or instance.urgent:
        heads = list(managers_of(item.assignee).values_list("pk", flat=True))
        item.escalated = True
        item.save(update_fields=["escalated"])
        holder = item.assignee.name or item.assignee.username
        _notify(
            instance,
            heads,
            "workflow.overdue",
            _("下属审批超时：%(title)s") % {"title": title},
            body=_("%(name)s 的审批事项已超过办理时限（%(due)s）。")
            % {"name": holder, "due": _local(item.due_at)},
        )
        run.log(Action.Kind.ESCALATE, item=item, node_id=act.node_id, target=item.assignee_id, heads=heads)
        result.escalated += 1
    _save(instance)


# --------------------------------------------------------------------------- optimistic concurrency


class StaleVersionError(DomainError):
    """The client acted on a request as it read it, and someone changed it since."""

    status = 409
    code = "conflict"


def lock_version_check(*, instance_id: int, lock_version: int | None, request_id: str = "") -> None:
    """Inside the caller's transaction, before an action on the request: lock its row and
    refuse with ``StaleVersionError`` (409) when ``lock_version`` is given and is not the
    current one. A retry of an action already applied (same ``request_id``) passes, so that
    the action answers it as it was. The lock is held to the end of the transaction, so that
    the action that follows sees the version that was checked."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_version_check must run inside transaction.atomic()")
    found = Instance.objects.select_for_update().filter(pk=instance_id).values_list("lock_version", flat=True)
    current = found.first()
    if current is None:
        raise NotFoundError(_("审批单不存在。"))
    if lock_version is None or lock_version == current:
        return
    if request_id and (
        Action.objects.filter(instance_id=instance_id, request_id=request_id).exists()
        or WorkItem.objects.filter(instance_id=instance_id, request_id=request_id).exists()
    ):
        return
    raise StaleVersionError(_("审批单已被他人修改，请刷新后重试。"), details={"lock_version": current})


# --------------------------------------------------------------------------- interventions (改派, 移交)


def can_intervene(user: User, instance: Instance) -> bool:
    """May ``user`` reassign the pending items of ``instance``: a flow administrator of its
    flow, or a holder of ``workflow.supervise`` whose data scope covers the initiator's unit
    (never above their clearance)."""
    from xietong.workflow.permissions import SUPERVISE

    if not (user.is_authenticated and user.is_active):
        return False
    if access.can_on(
        user,
        SUPERVISE,
        None,
        unit=instance.initiator_unit_id,
        classification=instance.classification,
        acl=False,
    ):
        return True
    return classification.allows(user, instance.classification) and is_flow_admin(
        user, instance.definition, instance.version.flow
    )


def reassign(*, actor: User, item: WorkItem, to: User, reason: str, request_id: str) -> Instance:
    """改派: a supervisor moves a pending approval or handling item to ``to`` (the holder is
    away, has left, or is the wrong person). The item closes as transferred and ``to`` gets
    a new one at the same place in the step; both people are told, the action is logged on
    the request and audited. ``transfer`` is the holder's own 转交; this is the
    administrator's."""
    rid = _request_id(request_id)
    text = _text(reason, limit=OPINION_MAX, what=_("改派原因"))
    if not text:
        raise DomainError(_("请填写改派原因。"))
    _screen(actor, {"reason": text}, "workflow.opinion")
    with transaction.atomic():
        instance = _lock(item.instance_id)
        if _replayed(instance, rid, actor, [Action.Kind.REASSIGN]):
            return instance
        if not can_intervene(actor, instance):
            raise PermissionDeniedError(_("只有流程管理员或有督办权限的人员可以改派。"))
        current = WorkItem.objects.select_related("activation", "assignee").get(pk=item.pk)
        if current.kind not in TASK_KINDS:
            raise DomainError(_("只有审批和办理事项可以改派。"))
        if current.state != WorkItem.State.PENDING:
            raise DomainError(_("该事项已处理或不再等待处理，无需改派。"))
        if instance.state != InstanceState.RUNNING:
            raise DomainError(_("该审批已结束或已退回，无需改派。"))
        if current.assignee_id == to.pk:
            raise DomainError(_("该事项已由 %(name)s 处理，请选择其他人员。") % {"name": to.name})
        act = _step_of(current)
        _check_people([to], instance.classification)
        holding = WorkItem.objects.filter(activation=act, state__in=ACTIVE_ITEM_STATES, assignee=to)
        if holding.exists():
            raise DomainError(_("%(names)s 已在处理此环节。") % {"names": to.name})
        run = _Run(instance, actor=actor)
        current.opinion = text
        run.close(current, WorkItem.State.TRANSFERRED, request_id=rid)
        current.save(update_fields=["opinion"])
        new = run.open(
            act,
            to.pk,
            order=current.order,
            via=WorkItem.Via.TRANSFER,
            anchor=current.anchor,
            origin=current,
        )
        instance.dedup_blocked = True
        run.log(
            Action.Kind.REASSIGN,
            actor=actor,
            item=current,
            node_id=act.node_id,
            target=to,
            opinion=text,
            request_id=rid,
            from_user=current.assignee_id,
            new_item=new.pk,
        )
        run.wrap_up()
        _notify(
            instance,
            [current.assignee_id],
            "workflow.finished",
            _("您的待办已由管理员改派：%(title)s") % {"title": instance.title},
            body=_("已改派给 %(name)s。原因：%(reason)s") % {"name": to.name, "reason": text},
            actor=actor,
        )
        _audit(
            actor,
            audit_actions.ITEM_REASSIGNED,
            instance,
            node=act.node_id,
            item=current.pk,
            from_user=current.assignee_id,
            to=to.pk,
            reason=text,
        )
        return instance


@dataclass
class HandoverResult:
    """What ``handover`` did: the items moved, and those it could not move with the reason."""

    moved: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    #: Pending items of the person outside the actor's reach (left where they are).
    out_of_scope: int = 0


def handover_items(actor: User, from_user: User) -> list[WorkItem]:
    """The pending approval and handling items of ``from_user`` that ``actor`` may reassign."""
    items = list(
        WorkItem.objects.filter(
            assignee=from_user,
            state=WorkItem.State.PENDING,
            kind__in=TASK_KINDS,
            instance__state=InstanceState.RUNNING,
        )
        .select_related("instance", "instance__definition", "instance__version", "activation")
        .order_by("created_at", "pk")
    )
    return [item for item in items if can_intervene(actor, item.instance)]


def handover(*, actor: User, from_user: User, to_user: User, reason: str, request_id: str) -> HandoverResult:
    """批量移交: every pending item of ``from_user`` (a leaver, a long absence) within the
    actor's reach goes to ``to_user`` — each by ``reassign`` in a transaction of its own, so
    that one refusal (``to_user`` already holds that step, lacks the 密级 …) leaves the others
    moved. Running it again with the same ``request_id`` moves nothing twice."""
    rid = _request_id(request_id)
    if from_user.pk == to_user.pk:
        raise DomainError(_("移交人和接收人不能是同一人。"))
    text = _text(reason, limit=OPINION_MAX, what=_("移交原因"))
    if not text:
        raise DomainError(_("请填写移交原因。"))
    if not access.can_any(actor, ("workflow.supervise", MANAGE)):
        raise PermissionDeniedError(_("只有流程管理员或有督办权限的人员可以移交待办。"))
    _check_people([to_user], 0)
    result = HandoverResult()
    every = WorkItem.objects.filter(
        assignee=from_user,
        state=WorkItem.State.PENDING,
        kind__in=TASK_KINDS,
        instance__state=InstanceState.RUNNING,
    ).count()
    items = handover_items(actor, from_user)
    result.out_of_scope = every - len(items)
    prefix = rid[: 63 - 12]
    for item in items:
        try:
            reassign(actor=actor, item=item, to=to_user, reason=text, request_id=f"{prefix}:{item.pk}")
        except DomainError as error:
            result.failed.append((item.pk, error.message))
        else:
            result.moved.append(item.pk)
    with transaction.atomic():
        record(
            actor=actor,
            action=audit_actions.ITEMS_HANDED_OVER,
            target=to_user,
            details={
                "from_user": from_user.pk,
                "to_user": to_user.pk,
                "reason": text,
                "moved": result.moved,
                "failed": [pk for pk, _message in result.failed],
                "out_of_scope": result.out_of_scope,
            },
        )
    if result.moved:
        notify(
            recipients=[f"user:{to_user.pk}"],
            kind="workflow.todo",
            title=_("%(name)s 的 %(count)d 项审批待办已移交给您")
            % {"name": from_user.name, "count": len(result.moved)},
            body=text,
            link="/workflow/",
            actor=actor,
        )
    return result


# --------------------------------------------------------------------------- 补录 (R-81)

BACKFILL_OUTCOMES = (InstanceState.APPROVED, InstanceState.REJECTED)
MAX_BACKFILL_FILES = 20


def backfill(
    *,
    actor: User,
    flow: FlowDefinition,
    request_id: str,
    data: Mapping[str, Any],
    decided_by: User,
    decided_at: dt.datetime,
    reason: str,
    attachments: Sequence[StoredFile],
    outcome: str = InstanceState.APPROVED,
    opinion: str = "",
    initiator: User | None = None,
    title: str = "",
    level: int = 0,
) -> Instance:
    """补录: register a matter of ``flow`` that was decided offline in an exceptional case —
    by ``decided_by`` at ``decided_at``, with ``outcome`` (通过 or 拒绝) — as a finished
    request marked ``backfilled``. A reason and at least one attachment (the signed paper
    scanned) are compulsory; the form data is checked like any request's. Only the flow's
    administrators may do it. The log names the registrant and the decider apart: the
    decision is never shown as taken in the system; the decider gets a copy to read."""
    rid = _request_id(request_id)
    if not is_flow_admin(actor, flow, flow.current_version.flow if flow.current_version else None):
        raise PermissionDeniedError(_("只有流程管理员可以补录该流程的审批。"))
    text = _text(reason, limit=OPINION_MAX, what=_("补录原因"))
    if not text:
        raise DomainError(_("请填写补录原因：说明为何未在线上办理。"))
    note = _text(opinion, limit=OPINION_MAX, what=_("审批意见"))
    if outcome not in BACKFILL_OUTCOMES:
        raise DomainError(_("审批结果无效。"))
    files = list(attachments)
    if not files:
        raise DomainError(_("请上传至少一个附件（线下审批单的扫描件）。"))
    if len(files) > MAX_BACKFILL_FILES:
        raise DomainError(_("附件不能超过 %(max)d 个。") % {"max": MAX_BACKFILL_FILES})
    if any(stored.uploaded_by_id != actor.pk for stored in files):
        raise DomainError(_("附件不存在或不是您上传的文件，请重新上传。"))
    if decided_at.tzinfo is None:
        raise DomainError(_("审批时间无效。"))
    now = clock.now()
    if decided_at > now:
        raise DomainError(_("审批时间不能晚于现在。"))
    person = initiator or actor
    _check_people([decided_by], 0)
    if not (person.is_active and decided_by.is_active):
        raise DomainError(_("发起人或审批人的账号已停用。"))
    _screen(actor, {"title": title, "reason": text, "opinion": note, **_texts_of(data)}, "workflow.instance")
    with transaction.atomic():
        existing = Instance.objects.filter(
            create_request_id=rid,
            backfilled=True,
            actions__kind=Action.Kind.BACKFILL,
            actions__actor=actor,
        ).first()
        if existing is not None:
            return existing
        version = flow.current_version
        if version is None or version.status != FlowVersion.Status.PUBLISHED:
            raise DomainError(_("该审批流程尚未发布。"))
        clean = _clean_data(actor, version, data)
        membership = primary_membership(person)
        try:
            with transaction.atomic():
                instance = Instance.objects.create(
                    version=version,
                    definition=flow,
                    title=_title(title, clean, flow, person),
                    initiator=person,
                    initiator_unit_id=membership.unit_id if membership is not None else None,
                    data=clean,
                    classification=_classification(actor, level),
                    state=outcome,
                    backfilled=True,
                    serial=_next_serial(now),
                    create_request_id=rid,
                    created_at=now,
                    started_at=decided_at,
                    finished_at=decided_at,
                    updated_at=now,
                )
        except IntegrityError:
            raise DomainError(_("请求编号已被其他操作使用，请刷新页面后重试。")) from None
        if not classification.allows(decided_by, instance.classification):
            raise DomainError(_("%(name)s 的可知悉密级低于本审批单的密级。") % {"name": decided_by.name})
        run = _Run(instance, actor=actor)
        run.log(
            Action.Kind.BACKFILL,
            actor=actor,
            target=decided_by,
            opinion=text,
            request_id=rid,
            decided_at=decided_at.isoformat(),
            outcome=str(outcome),
            decision_opinion=note,
            attachments=[{"key": str(stored.key), "name": stored.name} for stored in files],
        )
        run.log(Action.Kind.FINISH, result=str(outcome))
        WorkItem.objects.create(
            instance=instance,
            assignee=decided_by,
            kind=WorkItem.Kind.CC,
            created_at=now,
        )
        _notify(
            instance,
            [pk for pk in (person.pk, decided_by.pk) if pk != actor.pk],
            "workflow.cc",
            _("已补录线下审批：%(title)s") % {"title": instance.title},
            body=_("补录人：%(name)s。原因：%(reason)s") % {"name": actor.name, "reason": text},
            actor=actor,
        )
        _audit(
            actor,
            audit_actions.INSTANCE_BACKFILLED,
            instance,
            flow=flow.code,
            decided_by=decided_by.pk,
            decided_at=decided_at.isoformat(),
            outcome=str(outcome),
            reason=text,
            files=[stored.sha256 for stored in files],
        )
        return instance


def backfill_files(instance: Instance) -> list[StoredFile]:
    """The scans registered with a 补录 request, in the order given."""
    action = Action.objects.filter(instance=instance, kind=Action.Kind.BACKFILL).order_by("pk").first()
    if action is None:
        return []
    keys = [
        str(entry.get("key")) for entry in action.details.get("attachments", []) if isinstance(entry, dict)
    ]
    found = {str(stored.key): stored for stored in StoredFile.objects.filter(key__in=keys)}
    return [found[key] for key in keys if key in found]


# --------------------------------------------------------------------------- the holiday calendar

#: 放假 / 调休上班 as the State Council's notice words them, and a few other spellings.
_DAY_WORDS = {
    "放假": "holiday",
    "休息": "holiday",
    "休": "holiday",
    "holiday": "holiday",
    "调休上班": "workday",
    "上班": "workday",
    "补班": "workday",
    "班": "workday",
    "workday": "workday",
}
_DATE_RANGE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})(?:\s*(?:~|至|—|--)\s*(\d{4}-\d{1,2}-\d{1,2}))?$")
CALENDAR_NAME_MAX = 40
CALENDAR_IMPORT_MAX_LINES = 400


@dataclass(frozen=True)
class CalendarEntry:
    date: dt.date
    kind: str
    name: str


def _calendar_date(text: str) -> dt.date:
    try:
        year, month, day = (int(part) for part in text.split("-"))
        return dt.date(year, month, day)
    except ValueError:
        raise DomainError(_("日期“%(text)s”无效。") % {"text": text}) from None


def _calendar_entry_check(day: dt.date, kind: str) -> None:
    if not 2000 <= day.year <= 2100:
        raise DomainError(_("日期 %(day)s 超出范围。") % {"day": day.isoformat()})
    if kind == "workday" and day.weekday() < 5:
        raise DomainError(_("%(day)s 本是工作日，无需登记调休上班。") % {"day": day.isoformat()})


def calendar_parse(text: str) -> list[CalendarEntry]:
    """The lines of an import: ``日期[至日期] [名称] 放假|调休上班`` — e.g. ``2027-01-01 元旦
    放假``, ``2027-10-01~2027-10-07 国庆节 放假``, ``2027-02-07 调休上班``; blank lines and
    lines starting with ``#`` are skipped. Every bad line is reported (``details``: line
    number and message) and nothing is returned then."""
    entries: list[CalendarEntry] = []
    problems: list[dict[str, Any]] = []
    seen: dict[dt.date, int] = {}
    lines = str(text or "").replace("\x00", "").splitlines()
    if len(lines) > CALENDAR_IMPORT_MAX_LINES:
        raise DomainError(_("一次最多导入 %(max)d 行。") % {"max": CALENDAR_IMPORT_MAX_LINES})
    for number, raw in enumerate(lines, start=1):
        line = raw.replace("\u3000", " ").strip()
        if not line or line.startswith("#"):
            continue
        line = re.sub(r"\s*(~|至|—|--)\s*", r"\1", line)
        parts = line.split()
        try:
            if len(parts) < 2:
                raise DomainError(_("格式应为“日期 名称 放假”或“日期 调休上班”。"))
            match = _DATE_RANGE.match(parts[0])
            if match is None:
                raise DomainError(_("日期“%(text)s”无效，应为 2027-01-01 的形式。") % {"text": parts[0]})
            kind = _DAY_WORDS.get(parts[-1].lower())
            if kind is None:
                raise DomainError(
                    _("最后一项应为“放假”或“调休上班”，而不是“%(text)s”。") % {"text": parts[-1]}
                )
            name = " ".join(parts[1:-1])
            if len(name) > CALENDAR_NAME_MAX:
                raise DomainError(_("名称不能超过 %(max)d 个字。") % {"max": CALENDAR_NAME_MAX})
            first = _calendar_date(match.group(1))
            last = _calendar_date(match.group(2)) if match.group(2) else first
            if last < first or (last - first).days > 31:
                raise DomainError(_("日期范围无效（须从前到后，最长 32 天）。"))
            day = first
            found: list[CalendarEntry] = []
            while day <= last:
                # A holiday range names the weekend days in it too; a 调休上班 range only
                # concerns the weekend days.
                if not (kind == "workday" and match.group(2) and day.weekday() < 5):
                    _calendar_entry_check(day, kind)
                    if day in seen:
                        raise DomainError(
                            _("%(day)s 与第 %(line)d 行重复。") % {"day": day.isoformat(), "line": seen[day]}
                        )
                    found.append(CalendarEntry(day, kind, name))
                day += dt.timedelta(days=1)
        except DomainError as error:
            problems.append({"line": number, "text": raw.strip()[:100], "message": error.message})
            continue
        for entry in found:
            seen[entry.date] = number
        entries.extend(found)
    if problems:
        raise DomainError(
            _("有 %(count)d 行无法识别，未导入任何日期，请修改后重试。") % {"count": len(problems)},
            details=problems,
        )
    if not entries:
        raise DomainError(_("没有可导入的日期。"))
    return entries


def _calendar_audit(actor: User, **details: Any) -> None:
    from xietong.audit.services import Target

    record(
        actor=actor,
        action=audit_actions.CALENDAR_CHANGED,
        target=Target("workflow.calendar", "calendar", _("节假日安排")),
        details=details,
    )


def calendar_import(*, actor: User, text: str) -> list[CalendarEntry]:
    """Import the lines of the year's holiday notice (``calendar_parse``): all of them, or
    none when one is bad. A date already in the calendar takes the new line's values."""
    from xietong.workflow.models import CalendarDay

    access.require(actor, MANAGE, _("只有流程管理员可以维护节假日安排。"))
    entries = calendar_parse(text)
    with transaction.atomic():
        existing = {day.date: day for day in CalendarDay.objects.filter(date__in=[e.date for e in entries])}
        changed = []
        for entry in entries:
            row = existing.get(entry.date)
            if row is None:
                continue
            row.kind, row.name = entry.kind, entry.name
            changed.append(row)
        CalendarDay.objects.bulk_update(changed, ["kind", "name"])
        CalendarDay.objects.bulk_create(
            [CalendarDay(date=e.date, kind=e.kind, name=e.name) for e in entries if e.date not in existing]
        )
        _calendar_audit(
            actor,
            operation="import",
            count=len(entries),
            first=min(e.date for e in entries).isoformat(),
            last=max(e.date for e in entries).isoformat(),
        )
    return entries


def calendar_set(*, actor: User, date: dt.date, kind: str, name: str = "") -> Any:
    """Add one exception (or change the one of that date)."""
    from xietong.workflow.models import CalendarDay, DayKind

    access.require(actor, MANAGE, _("只有流程管理员可以维护节假日安排。"))
    if kind not in DayKind.values:
        raise DomainError(_("类型无效：应为放假或调休上班。"))
    text = _text(name, limit=CALENDAR_NAME_MAX, what=_("名称"))
    _calendar_entry_check(date, kind)
    with transaction.atomic():
        row, _created = CalendarDay.objects.update_or_create(date=date, defaults={"kind": kind, "name": text})
        _calendar_audit(actor, operation="set", date=date.isoformat(), kind=kind, name=text)
    return row


def calendar_delete(*, actor: User, date: dt.date) -> None:
    from xietong.workflow.models import CalendarDay

    access.require(actor, MANAGE, _("只有流程管理员可以维护节假日安排。"))
    with transaction.atomic():
        deleted, _rows = CalendarDay.objects.filter(date=date).delete()
        if not deleted:
            raise NotFoundError(_("该日期不在节假日安排中。"))
        _calendar_audit(actor, operation="delete", date=date.isoformat())
