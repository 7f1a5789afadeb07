"""One request's page at ``/workflow/instances/<pk>/``: the form as filed, its route and record,
and every action the reader may take on it — 同意 / 不同意 / 退回 / 转交 / 加签 / 已阅 for the
holder of a step, 催办 / 撤回 / 撤销 / 重新提交 / 传阅 for the initiator, 终止 for the flow's
administrators, 评论 for anyone who reads it; the print view; the request's files.

Thin: ``selectors`` read (the request only if ``instance_visible`` lets the reader see it),
``services`` write; each action posts its own form with an idempotency key and redirects
back with a message, or shows the page again with the service's refusal. Other readers'
open pages hear of the change through ``services.announce``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse, Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from xietong.core import access, clock
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.files import services as files
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.workflow import engine, formspec, formwidgets, hooks, selectors, services
from xietong.workflow.models import Action, Instance, InstanceState, WorkItem
from xietong.workflow.permissions import SUPERVISE, USE

SIGNATURE_CONTEXT = "workflow.signature"
#: A drawn signature as the pad posts it (a PNG data URL); larger ones are refused.
SIGNATURE_MAX_BYTES = 512 * 1024
_DATA_URL = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\s]+)")
MAX_PICKED = 50

ITEM_ACTIONS = ("approve", "reject", "return", "transfer", "add_sign", "read")
REQUEST_ACTIONS = ("withdraw", "revoke", "urge", "resubmit", "circulate", "terminate", "comment")
ACTIONS = (*ITEM_ACTIONS, *REQUEST_ACTIONS)

#: How each kind of log entry is shown: icon and tone.
KIND_STYLE: Mapping[str, tuple[str, str]] = {
    Action.Kind.START: ("send", "primary"),
    Action.Kind.APPROVE: ("check-circle-fill", "success"),
    Action.Kind.REJECT: ("x-circle-fill", "danger"),
    Action.Kind.RETURN: ("arrow-return-left", "warning"),
    Action.Kind.RESUBMIT: ("arrow-repeat", "primary"),
    Action.Kind.WITHDRAW: ("arrow-counterclockwise", "secondary"),
    Action.Kind.REVOKE: ("slash-circle", "danger"),
    Action.Kind.TERMINATE: ("stop-circle-fill", "danger"),
    Action.Kind.TRANSFER: ("arrow-right-circle", "info"),
    Action.Kind.ADD_SIGN_BEFORE: ("person-plus", "info"),
    Action.Kind.ADD_SIGN_AFTER: ("person-plus", "info"),
    Action.Kind.ADD_SIGN_PARALLEL: ("person-plus", "info"),
    Action.Kind.URGE: ("bell", "warning"),
    Action.Kind.COMMENT: ("chat-left-text", "secondary"),
    Action.Kind.CC: ("envelope", "secondary"),
    Action.Kind.READ: ("eye", "secondary"),
    Action.Kind.CIRCULATE: ("share", "secondary"),
    Action.Kind.AUTO_APPROVE: ("magic", "success"),
    Action.Kind.SKIP: ("skip-forward", "secondary"),
    Action.Kind.DELEGATE: ("person-check", "secondary"),
    Action.Kind.TIMEOUT_REMIND: ("alarm", "warning"),
    Action.Kind.ESCALATE: ("exclamation-triangle", "danger"),
    Action.Kind.FINISH: ("flag-fill", "primary"),
}
STATE_TONE: Mapping[str, str] = {
    InstanceState.DRAFT: "secondary",
    InstanceState.RUNNING: "primary",
    InstanceState.RETURNED: "warning",
    InstanceState.APPROVED: "success",
    InstanceState.REJECTED: "danger",
    InstanceState.WITHDRAWN: "secondary",
    InstanceState.REVOKED: "secondary",
    InstanceState.TERMINATED: "dark",
}
AUTO_REASONS: Mapping[str, str] = {value: str(label) for value, label in WorkItem.AutoReason.choices}


# --------------------------------------------------------------------------- reading the request


def _require_use(request: AuthedRequest) -> None:
    if not access.can(request.user, USE):
        raise PermissionDenied


def _visible(request: AuthedRequest, pk: int) -> Instance:
    _require_use(request)
    try:
        return selectors.instance_visible(request.user, pk)
    except NotFoundError:
        raise Http404 from None


def _name(user: User | None) -> str:
    if user is None:
        return _("系统")
    return user.name or user.username


@dataclass
class Entry:
    """One line of the record as the page shows it."""

    action: Action
    icon: str
    tone: str
    actor: str
    verb: str
    detail: str = ""
    opinion: str = ""
    signature: StoredFile | None = None
    on_behalf: str = ""
    ago: str = ""
    #: The scans of a 补录 (``{"key", "name"}``), served by ``workflow:backfill_file``.
    files: list[dict[str, str]] = field(default_factory=list)


def _ago(moment: dt.datetime, now: dt.datetime) -> str:
    """How long ago, in words, for the last month; "" beyond (the date says it)."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return _("刚刚")
    if seconds < 3600:
        return _("%(count)d 分钟前") % {"count": seconds // 60}
    if seconds < 86400:
        return _("%(count)d 小时前") % {"count": seconds // 3600}
    if seconds < 30 * 86400:
        return _("%(count)d 天前") % {"count": seconds // 86400}
    return ""


@dataclass
class Step:
    """One step of the progress strip."""

    name: str
    status: str
    people: list[str] = field(default_factory=list)
    when: dt.datetime | None = None


def _entries(
    instance: Instance,
    actions: list[Action],
    items: list[WorkItem],
    node_names: Mapping[str, str],
    people: Mapping[int, User],
) -> list[Entry]:
    by_item = {item.pk: item for item in items}
    now = clock.now()

    def names(ids: Any) -> str:
        if not isinstance(ids, list):
            return ""
        return "、".join(_name(people.get(pk)) for pk in ids if isinstance(pk, int) and pk in people)

    entries: list[Entry] = []
    for action in actions:
        icon, tone = KIND_STYLE.get(action.kind, ("dot", "secondary"))
        item = by_item.get(action.work_item_id) if action.work_item_id else None
        step = node_names.get(action.from_node, "")
        verb = action.get_kind_display()
        detail = ""
        details = action.details if isinstance(action.details, dict) else {}
        if action.kind == Action.Kind.APPROVE and item is not None and item.kind == WorkItem.Kind.HANDLE:
            verb = _("办理完成")
        elif action.kind == Action.Kind.REJECT:
            verb = _("不同意") if action.actor_id else _("超时自动拒绝")
        elif action.kind == Action.Kind.RETURN:
            target = node_names.get(action.to_node, action.to_node) if action.to_node else _("发起人")
            detail = _("退回至：%(target)s") % {"target": target}
        elif action.kind == Action.Kind.TRANSFER:
            detail = _("转交给 %(name)s") % {"name": _name(action.target_user)}
        elif action.kind in (
            Action.Kind.ADD_SIGN_BEFORE,
            Action.Kind.ADD_SIGN_AFTER,
            Action.Kind.ADD_SIGN_PARALLEL,
        ):
            detail = _("加签：%(names)s") % {"names": names(details.get("users"))}
        elif action.kind == Action.Kind.CC:
            detail = _("抄送给 %(names)s") % {"names": names(details.get("recipients"))}
        elif action.kind == Action.Kind.CIRCULATE:
            detail = _("传阅给 %(names)s") % {"names": names(details.get("users"))}
        elif action.kind == Action.Kind.COMMENT and details.get("mentions"):
            detail = _("提到了 %(names)s") % {"names": names(details.get("mentions"))}
        elif action.kind == Action.Kind.AUTO_APPROVE:
            reason = AUTO_REASONS.get(str(details.get("reason", "")), "")
            detail = _("%(name)s：%(reason)s") % {"name": _name(action.target_user), "reason": reason}
        elif action.kind == Action.Kind.SKIP:
            detail = _("审批人为空，自动跳过")
        elif action.kind == Action.Kind.DELEGATE:
            detail = _("由 %(name)s 代为处理") % {"name": _name(action.target_user)}
        elif action.kind in (Action.Kind.TIMEOUT_REMIND, Action.Kind.ESCALATE):
            detail = _name(action.target_user)
        elif action.kind == Action.Kind.REASSIGN:
            detail = _("%(old)s 的事项改派给 %(new)s") % {
                "old": names([details.get("from_user")]),
                "new": _name(action.target_user),
            }
        elif action.kind == Action.Kind.BACKFILL:
            outcome = str(details.get("outcome", ""))
            decided = dt.datetime.fromisoformat(
                str(details.get("decided_at") or action.created_at.isoformat())
            )
            detail = _("线下决定：%(name)s 于 %(when)s %(outcome)s；意见：%(opinion)s") % {
                "name": _name(action.target_user),
                "when": timezone.localtime(decided).strftime("%Y-%m-%d %H:%M"),
                "outcome": InstanceState(outcome).label if outcome in InstanceState.values else "",
                "opinion": details.get("decision_opinion") or _("（无）"),
            }
        elif action.kind == Action.Kind.FINISH:
            result = str(details.get("result", ""))
            detail = str(InstanceState(result).label) if result in InstanceState.values else ""
        if step and action.kind not in (Action.Kind.START, Action.Kind.RESUBMIT, Action.Kind.FINISH):
            detail = f"{step} · {detail}" if detail else str(step)
        on_behalf = ""
        if item is not None and item.delegated_from_id and item.delegated_from is not None:
            on_behalf = _("代 %(name)s") % {"name": _name(item.delegated_from)}
        entries.append(
            Entry(
                action=action,
                icon=icon,
                tone=tone,
                actor=_name(action.actor) if action.actor_id else _("系统"),
                verb=str(verb),
                detail=str(detail),
                opinion=action.opinion,
                signature=item.signature if item is not None and action.actor_id else None,
                on_behalf=str(on_behalf),
                ago=_ago(action.created_at, now),
                files=[
                    {"key": str(entry.get("key")), "name": str(entry.get("name", ""))}
                    for entry in details.get("attachments", [])
                    if action.kind == Action.Kind.BACKFILL and isinstance(entry, dict)
                ],
            )
        )
    return entries


def _steps(instance: Instance, route: list[selectors.RouteStep], items: list[WorkItem]) -> list[Step]:
    by_activation: dict[int, list[WorkItem]] = {}
    for item in items:
        if item.activation_id is not None:
            by_activation.setdefault(item.activation_id, []).append(item)
    steps = [
        Step(name=_("发起"), status="done", people=[_name(instance.initiator)], when=instance.started_at)
    ]
    for step in route:
        people: list[str] = []
        when = None
        act = step.activation
        if act is not None:
            held = by_activation.get(act.pk, [])
            if step.status == "current":
                wanted = [i for i in held if i.state in (WorkItem.State.PENDING, WorkItem.State.ADDED_WAIT)]
            else:
                wanted = [
                    i for i in held if i.state not in (WorkItem.State.CANCELLED, WorkItem.State.TRANSFERRED)
                ]
            people = list(dict.fromkeys(_name(i.assignee) for i in wanted))
            when = act.finished_at
        steps.append(Step(name=step.name, status=step.status, people=people, when=when))
    if not instance.is_open and instance.state != InstanceState.DRAFT:
        status = "done" if instance.state == InstanceState.APPROVED else "stopped"
        steps.append(Step(name=instance.get_state_display(), status=status, when=instance.finished_at))
    else:
        steps.append(Step(name=_("结束"), status="upcoming"))
    return steps


def _opinion_required(node: Mapping[str, Any] | None, action: str) -> bool:
    return node is not None and engine.opinion_required(node, action)


def _page(
    request: AuthedRequest,
    instance: Instance,
    *,
    failed: str = "",
    error: str = "",
    posted: QueryDict | None = None,
    field_errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the page shows to this reader: a fixed number of queries, however long
    the record."""
    user = request.user
    items = list(selectors.items_of(instance))
    activations = list(selectors.activations_of(instance))
    actions = list(selectors.timeline(instance))
    mine = next(
        (
            item
            for item in items
            if item.assignee_id == user.pk
            and item.state == WorkItem.State.PENDING
            and item.kind in services.TASK_KINDS
        ),
        None,
    )
    reading = next(
        (
            item
            for item in items
            if item.assignee_id == user.pk
            and item.state == WorkItem.State.PENDING
            and item.kind in services.READ_KINDS
        ),
        None,
    )
    admin = selectors.instance_admin(user, instance)
    full = admin or access.can(user, SUPERVISE)
    permissions = selectors.viewer_permissions(user, instance, items, full=full)
    form = formspec.parse_form(instance.version.form)
    rows = form.display(instance.data, permissions=permissions)
    node_names = {act.node_id: act.node_name for act in activations}
    mentioned: set[int] = set()
    for action in actions:
        details = action.details if isinstance(action.details, dict) else {}
        for key in ("users", "recipients", "mentions"):
            ids = details.get(key)
            if isinstance(ids, list):
                mentioned.update(pk for pk in ids if isinstance(pk, int))
        if isinstance(details.get("from_user"), int):  # 改派
            mentioned.add(details["from_user"])
    people = selectors.users_by_ids(mentioned, active_only=False)
    entries = _entries(instance, actions, items, node_names, people)
    steps = _steps(instance, selectors.route_steps(instance, activations), items)
    holders = list(
        dict.fromkeys(
            _name(item.assignee)
            for item in items
            if item.state == WorkItem.State.PENDING and item.kind in services.TASK_KINDS
        )
    )
    initiator = instance.initiator_id == user.pk
    involved = initiator or any(
        item.assignee_id == user.pk and item.kind in services.TASK_KINDS for item in items
    )
    node: Mapping[str, Any] | None = None
    task = mine is not None and instance.state == InstanceState.RUNNING
    return_targets: list[tuple[str, str]] = []
    edit_fields: list[formwidgets.Widget] = []
    if mine is not None and mine.activation is not None:
        node = selectors.flow_node(instance, mine.activation.node_id)
    if task and mine is not None:
        mine.instance = instance
        return_targets = services.return_targets(mine)
        listed = (node or {}).get("field_permissions") or {}
        if any(level in (formspec.EDITABLE, formspec.REQUIRED) for level in listed.values()):
            editable = formspec.fill_permissions(form, listed)
            values = formwidgets.read_posted(form, posted, permissions=editable) if posted else instance.data
            if posted:
                values = {**instance.data, **values}
            edit_fields = [
                widget
                for widget in formwidgets.fields_for(
                    form, values, permissions=editable, errors=_errors(field_errors)
                )
                if not widget.readonly and widget.type != "description"
            ]
    resubmit_fields: list[formwidgets.Widget] = []
    if initiator and instance.state == InstanceState.RETURNED:
        values = formwidgets.read_posted(form, posted) if posted and failed == "resubmit" else instance.data
        resubmit_fields = formwidgets.fields_for(form, values, errors=_errors(field_errors))
    finished_at = instance.finished_at
    revoke_until = engine.revoke_deadline(finished_at) if finished_at is not None else None
    now = clock.now()
    return {
        "instance": instance,
        "related": hooks.related(instance),
        "state_tone": STATE_TONE.get(instance.state, "secondary"),
        "rows": rows,
        "entries": entries,
        "steps": steps,
        "holders": holders,
        "stamp": actions[-1].pk if actions else 0,
        "mine": mine,
        "reading": reading,
        "mine_overdue": mine is not None and mine.due_at is not None and mine.due_at < now,
        "task": task,
        "node": node,
        "is_handle": node is not None and node.get("type") == "handle",
        "needs_signature": bool(node and node.get("signature") is True),
        "opinion_required": {
            action: _opinion_required(node, action) for action in ("approve", "reject", "return", "transfer")
        },
        "return_targets": return_targets,
        "edit_fields": edit_fields,
        "phrases": list(selectors.phrases(user)) if task else [],
        "phrases_link": reverse("workflow:phrases"),
        "people_link": reverse("workflow:people_search"),
        "initiator": initiator,
        "admin": admin,
        "can_withdraw": initiator and instance.is_open,
        "can_urge": (initiator or admin) and instance.state == InstanceState.RUNNING,
        "can_revoke": (initiator or admin) and instance.state == InstanceState.APPROVED,
        "revoke_until": revoke_until,
        "revoke_late": revoke_until is not None and now > revoke_until and not admin,
        "can_resubmit": initiator and instance.state == InstanceState.RETURNED,
        "resubmit_fields": resubmit_fields,
        "can_circulate": (involved or admin) and instance.state != InstanceState.DRAFT,
        "can_terminate": admin and instance.is_open,
        "can_comment": instance.state != InstanceState.DRAFT,
        "failed": failed,
        "error": error,
        "posted": posted,
        "request_id": uuid.uuid4().hex,
        "breadcrumbs": [
            (_("审批"), reverse("workflow:inbox")),
            (instance.serial or instance.title, None),
        ],
    }


def _errors(field_errors: Mapping[str, str] | None) -> dict[str, list[str]] | None:
    return formwidgets.error_map(field_errors) if field_errors else None


@login_required
@require_GET
def detail(request: AuthedRequest, pk: int) -> HttpResponse:
    """The request: its form, route and record, and what the reader may do with it."""
    instance = _visible(request, pk)
    if instance.state == InstanceState.DRAFT:
        return redirect("workflow:draft", instance_id=instance.pk)
    return render(request, "workflow/instance_detail.html", _page(request, instance))


# --------------------------------------------------------------------------- acting on it


def _posted_int(post: QueryDict, name: str) -> int | None:
    value = post.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _picked(post: QueryDict, name: str) -> list[User]:
    """The people chosen in a picker, in the order chosen."""
    raw = [value.strip() for value in post.getlist(name) if value.strip()]
    if len(raw) > MAX_PICKED:
        raise DomainError(_("一次最多选择 %(max)d 人。") % {"max": MAX_PICKED})
    if not all(value.isdigit() for value in raw):
        raise DomainError(_("所选人员无效，请重新选择。"))
    ids = list(dict.fromkeys(int(value) for value in raw))
    found = selectors.users_by_ids(ids)
    if len(found) != len(ids):
        raise DomainError(_("所选人员不存在或已停用，请重新选择。"))
    return [found[pk] for pk in ids]


def _signature(request: AuthedRequest, instance: Instance) -> StoredFile | None:
    """The drawn signature (a PNG data URL from the pad) stored and scanned as an image, or
    None when nothing was drawn."""
    raw = request.POST.get("signature", "").strip()
    if not raw:
        return None
    match = _DATA_URL.fullmatch(raw)
    if match is None or len(raw) > SIGNATURE_MAX_BYTES * 4 // 3 + 64:
        raise DomainError(_("签名图片无效，请清除后重新签名。"))
    try:
        content = base64.b64decode(match.group(1), validate=False)
    except (binascii.Error, ValueError):
        raise DomainError(_("签名图片无效，请清除后重新签名。")) from None
    upload = SimpleUploadedFile(_("手写签名.png"), content, content_type="image/png")
    return files.store_upload(
        actor=request.user,
        upload=upload,
        context=SIGNATURE_CONTEXT,
        classification=instance.classification,
        images_only=True,
    )


@dataclass
class _Call:
    """What one action needs: the reader, the request, the item they act on, the posted form."""

    request: AuthedRequest
    instance: Instance
    item: WorkItem | None
    request_id: str
    post: QueryDict

    @property
    def actor(self) -> User:
        return self.request.user

    @property
    def opinion(self) -> str:
        return self.post.get("opinion", "")

    @property
    def held(self) -> WorkItem:
        if self.item is None:
            raise PermissionDenied
        return self.item


def _do_approve(call: _Call) -> str:
    item = call.held
    data = None
    form = formspec.parse_form(call.instance.version.form)
    node = selectors.flow_node(call.instance, item.activation.node_id) if item.activation else None
    listed = (node or {}).get("field_permissions") or {}
    if any(level in (formspec.EDITABLE, formspec.REQUIRED) for level in listed.values()):
        editable = formspec.fill_permissions(form, listed)
        data = {**call.instance.data, **formwidgets.read_posted(form, call.post, permissions=editable)}
    signature = _signature(call.request, call.instance)
    try:
        services.approve(
            actor=call.actor,
            item=item,
            request_id=call.request_id,
            opinion=call.opinion,
            data=data,
            signature=signature,
            lock_version=_posted_int(call.post, "lock_version"),
        )
    except BaseException:
        if signature is not None:
            files.discard(signature)
        raise
    if item.kind == WorkItem.Kind.HANDLE:
        return _("已办理完成。")
    return _("已同意。")


def _do_reject(call: _Call) -> str:
    signature = _signature(call.request, call.instance)
    try:
        services.reject(
            actor=call.actor,
            item=call.held,
            request_id=call.request_id,
            opinion=call.opinion,
            signature=signature,
        )
    except BaseException:
        if signature is not None:
            files.discard(signature)
        raise
    return _("已提交不同意意见，审批已结束。")


def _do_return(call: _Call) -> str:
    target = call.post.get("target", "") or services.INITIATOR
    services.return_to(
        actor=call.actor, item=call.held, request_id=call.request_id, target=target, opinion=call.opinion
    )
    return _("已退回。")


def _do_transfer(call: _Call) -> str:
    picked = _picked(call.post, "to")
    if len(picked) != 1:
        raise DomainError(_("请选择一位转交人。"))
    services.transfer(
        actor=call.actor, item=call.held, request_id=call.request_id, to=picked[0], opinion=call.opinion
    )
    return _("已转交给 %(name)s。") % {"name": _name(picked[0])}


def _do_add_sign(call: _Call) -> str:
    picked = _picked(call.post, "users")
    services.add_sign(
        actor=call.actor,
        item=call.held,
        request_id=call.request_id,
        users=picked,
        position=call.post.get("position", ""),
        opinion=call.opinion,
    )
    return _("已加签：%(names)s。") % {"names": "、".join(_name(person) for person in picked)}


def _do_read(call: _Call) -> str:
    services.mark_read(actor=call.actor, item=call.held, request_id=call.request_id, opinion=call.opinion)
    return _("已阅。")


def _do_withdraw(call: _Call) -> str:
    services.withdraw(
        actor=call.actor,
        instance=call.instance,
        request_id=call.request_id,
        reason=call.post.get("reason", ""),
    )
    return _("审批已撤回。")


def _do_revoke(call: _Call) -> str:
    services.revoke(
        actor=call.actor,
        instance=call.instance,
        request_id=call.request_id,
        reason=call.post.get("reason", ""),
    )
    return _("审批已撤销，已通知参与审批的人员。")


def _do_urge(call: _Call) -> str:
    services.urge(
        actor=call.actor,
        instance=call.instance,
        request_id=call.request_id,
        message=call.post.get("message", ""),
    )
    return _("已催办，当前处理人会收到提醒。")


def _do_resubmit(call: _Call) -> str:
    form = formspec.parse_form(call.instance.version.form)
    data = formwidgets.read_posted(form, call.post) if call.post.get("edited") == "1" else None
    services.resubmit(
        actor=call.actor,
        instance=call.instance,
        request_id=call.request_id,
        data=data,
        lock_version=_posted_int(call.post, "lock_version"),
    )
    return _("已重新提交。")


def _do_circulate(call: _Call) -> str:
    picked = _picked(call.post, "users")
    created = services.circulate(
        actor=call.actor,
        instance=call.instance,
        request_id=call.request_id,
        users=picked,
        note=call.post.get("note", ""),
    )
    if not created:
        return _("所选人员已在传阅中。")
    return _("已传阅给 %(count)d 人。") % {"count": len(created)}


def _do_terminate(call: _Call) -> str:
    services.terminate(
        actor=call.actor,
        instance=call.instance,
        request_id=call.request_id,
        reason=call.post.get("reason", ""),
    )
    return _("审批已终止。")


def _do_comment(call: _Call) -> str:
    services.comment(
        actor=call.actor,
        instance=call.instance,
        request_id=call.request_id,
        text=call.post.get("text", ""),
        mentions=_picked(call.post, "mentions"),
    )
    return _("评论已发表。")


HANDLERS: Mapping[str, Callable[[_Call], str]] = {
    "approve": _do_approve,
    "reject": _do_reject,
    "return": _do_return,
    "transfer": _do_transfer,
    "add_sign": _do_add_sign,
    "read": _do_read,
    "withdraw": _do_withdraw,
    "revoke": _do_revoke,
    "urge": _do_urge,
    "resubmit": _do_resubmit,
    "circulate": _do_circulate,
    "terminate": _do_terminate,
    "comment": _do_comment,
}


@login_required
@require_POST
def act(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    """One action on the request. A step's action needs the reader's own pending item (or,
    for the same request sent again, the item it closed); the service decides the rest."""
    instance = _visible(request, pk)
    handler = HANDLERS.get(action)
    if handler is None:
        raise Http404
    request_id = request.POST.get("request_id", "")
    item: WorkItem | None = None
    if action in ITEM_ACTIONS:
        kinds = services.READ_KINDS if action == "read" else services.TASK_KINDS
        item = selectors.my_pending_of(request.user, instance, kinds)
        if item is None and request_id:
            item = selectors.replayed_item(request.user, instance, request_id)
        if item is None:
            raise PermissionDenied
    call = _Call(request=request, instance=instance, item=item, request_id=request_id, post=request.POST)
    try:
        message = handler(call)
    except PermissionDeniedError:
        raise PermissionDenied from None
    except NotFoundError:
        raise Http404 from None
    except formspec.FormDataError as exc:
        return _refused(request, instance, action, exc.message, field_errors=exc.errors)
    except DomainError as exc:
        return _refused(request, instance, action, exc.message)
    services.announce(instance)
    messages.success(request, message)
    return redirect("workflow:instance", pk=instance.pk)


def _refused(
    request: AuthedRequest,
    instance: Instance,
    action: str,
    message: str,
    *,
    field_errors: Mapping[str, str] | None = None,
) -> HttpResponse:
    """The page again, as it stands now, with the refusal beside the form that was sent and
    what was typed kept."""
    fresh = selectors.instance_visible(request.user, instance.pk)
    context = _page(
        request, fresh, failed=action, error=message, posted=request.POST, field_errors=field_errors
    )
    return render(request, "workflow/instance_detail.html", context, status=400)


# --------------------------------------------------------------------------- print and files


@login_required
@require_GET
def print_view(request: AuthedRequest, pk: int) -> HttpResponse:
    """The request on one A4 sheet: the form as a table and the approval record."""
    instance = _visible(request, pk)
    items = list(selectors.items_of(instance))
    full = selectors.instance_admin(request.user, instance) or access.can(request.user, SUPERVISE)
    permissions = selectors.viewer_permissions(request.user, instance, items, full=full)
    form = formspec.parse_form(instance.version.form)
    decisions = [
        item
        for item in items
        if item.kind in services.TASK_KINDS
        and item.acted_at is not None
        and item.state
        in (
            WorkItem.State.APPROVED,
            WorkItem.State.REJECTED,
            WorkItem.State.RETURNED,
            WorkItem.State.TRANSFERRED,
            WorkItem.State.AUTO_APPROVED,
        )
    ]
    decisions.sort(key=lambda item: (item.acted_at or instance.created_at, item.pk))
    services.printed(actor=request.user, instance=instance, request=request)
    return render(
        request,
        "workflow/instance_print.html",
        {
            "instance": instance,
            "rows": form.display(instance.data, permissions=permissions),
            "decisions": decisions,
            "printed_at": timezone.localtime(clock.now()),
            "printed_by": _name(request.user),
        },
    )


@login_required
@require_GET
def file(request: AuthedRequest, pk: int, key: uuid.UUID) -> FileResponse:
    """An attachment of a field the reader may see, or a signature on the request; the
    download of a classified one is audited."""
    instance = _visible(request, pk)
    items: Iterable[WorkItem] = selectors.items_of(instance)
    full = selectors.instance_admin(request.user, instance) or access.can(request.user, SUPERVISE)
    permissions = selectors.viewer_permissions(request.user, instance, items, full=full)
    try:
        stored = selectors.instance_file(instance, key, permissions=permissions)
        signature = stored.context == SIGNATURE_CONTEXT
        response = files.file_response(stored, inline=signature)
    except NotFoundError:
        raise Http404 from None
    if not signature:
        services.file_downloaded(actor=request.user, instance=instance, stored=stored, request=request)
    return response
