"""Approvals over the REST API under ``/api/v1/workflow/``, for people and for business
systems that submit and approve requests: the same rules as the pages — every read comes
from a selector scoped to the caller, every change from a service.

- ``GET /flows``, ``GET /flows/{id}``: the flows the caller may start, with their forms;
- ``POST /files``: upload an attachment or a handwritten signature (its key goes into the
  form data or the ``signature`` of an approval);
- ``POST /instances`` (submit, or ``draft: true`` to save a draft), ``POST /instances/{id}/submit``;
- ``GET /instances`` (the caller's own), ``GET /instances/{id}`` (any request they may read);
- ``POST /instances/{id}/withdraw|revoke|urge|resubmit|comment|circulate|terminate``;
- ``GET /items?box=todo|done|cc|read``, ``GET /counts``;
- ``POST /items/{id}/approve|reject|return|transfer|add-sign|read`` (the caller's own items).

Every change takes an idempotency key (``request_id`` in the body or the ``Idempotency-Key``
header): sent again, it is applied once and answers the request as it is. Decisions also take
the ``lock_version`` the client read: when someone changed the request since, the answer is
409 and nothing changes.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from xietong.core import access, clock
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.files import selectors as file_selectors
from xietong.files import services as file_services
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.workflow import builtin, definition, engine, formspec, selectors, services
from xietong.workflow.models import Action, Activation, FlowDefinition, Instance, WorkItem
from xietong.workflow.permissions import SUPERVISE, USE
from xietong.workflow.schemas import (
    AddSignIn,
    ApproveIn,
    CirculateIn,
    CommentIn,
    CountsOut,
    FileOut,
    FlowDetailOut,
    FlowListOut,
    InstanceDetailOut,
    InstancePageOut,
    InstanceQuery,
    ItemPageOut,
    ItemQuery,
    ReadIn,
    ReasonIn,
    RejectIn,
    ResubmitIn,
    ReturnIn,
    StartIn,
    SubmitIn,
    TransferIn,
    UrgeIn,
)

router = Router(tags=["workflow"])

UPLOAD_PURPOSES = ("attachment", "signature")


class FormInvalidError(DomainError):
    """Form data that does not fit the flow's form: one detail per field, like the schema
    validation errors of the API."""

    status = 422
    code = "validation_error"


# --------------------------------------------------------------------------- plumbing


def _require_use(request: AuthedRequest) -> User:
    if not access.can(request.user, USE):
        raise PermissionDeniedError(_("您没有使用审批的权限。"))
    return request.user


def _request_id(request: AuthedRequest, given: str | None) -> str:
    """The idempotency key: the body's ``request_id`` or the ``Idempotency-Key`` header (they
    must agree when both are sent); a fresh one when neither is."""
    header = (request.headers.get("Idempotency-Key") or "").strip()
    body = (given or "").strip()
    if header and body and header != body:
        raise DomainError(_("请求体中的 request_id 与请求头 Idempotency-Key 不一致。"))
    return body or header or f"api-{uuid.uuid4().hex}"


@contextmanager
def _form_errors() -> Iterator[None]:
    try:
        yield
    except formspec.FormDataError as error:
        details = [{"field": f"data.{key}", "message": message} for key, message in error.errors.items()]
        raise FormInvalidError(error.message, details=details) from None


@contextmanager
def _checked(instance_id: int, lock_version: int | None, request_id: str) -> Iterator[None]:
    """One transaction for the 409 check and the action after it."""
    with _form_errors(), transaction.atomic():
        services.lock_version_check(instance_id=instance_id, lock_version=lock_version, request_id=request_id)
        yield


def _users(ids: Sequence[int], what: str) -> list[User]:
    wanted = list(dict.fromkeys(ids))
    found = {user.pk: user for user in User.objects.filter(pk__in=wanted, is_active=True)}
    missing = [str(pk) for pk in wanted if pk not in found]
    if missing:
        raise DomainError(
            _("%(what)s中有不存在或已停用的人员：%(ids)s") % {"what": what, "ids": "、".join(missing)}
        )
    return [found[pk] for pk in wanted]


def _signature(key: str | None) -> StoredFile | None:
    if not key:
        return None
    try:
        return file_selectors.get_by_key(key)
    except NotFoundError:
        raise DomainError(_("签名文件不存在，请重新上传。")) from None


def _full_view(user: User, instance: Instance) -> bool:
    """Flow administrators and supervisors whose scope covers the request see every field."""
    if selectors.instance_admin(user, instance):
        return True
    if access.scope_of(user, SUPERVISE) is None:
        return False
    scoped = access.restrict(
        user, SUPERVISE, Instance.objects.filter(pk=instance.pk), unit_field="initiator_unit"
    )
    return scoped.exists()


# --------------------------------------------------------------------------- output


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": user.name}


def _flow_ref(flow: FlowDefinition) -> dict[str, Any]:
    return {"id": flow.pk, "code": flow.code, "name": flow.name}


def _flow(flow: FlowDefinition) -> dict[str, Any]:
    version = flow.current_version
    if version is None:
        raise NotFoundError(_("审批流程不存在。"))
    form = formspec.parse_form(version.form)
    return {
        "id": flow.pk,
        "code": flow.code,
        "name": flow.name,
        "category": flow.category,
        "category_label": flow.get_category_display(),
        "description": flow.description,
        "icon": flow.icon,
        "version": version.number,
        "fields": [
            {"key": spec.key, "type": spec.type, "label": spec.label, "required": spec.required}
            for spec in form.fields
            if spec.holds_value
        ],
    }


def _choose_nodes(flow: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for node in definition.iter_nodes(flow):
        spec = node.get("approvers")
        if (
            node.get("type") in definition.TASK_TYPES
            and isinstance(spec, Mapping)
            and spec.get("kind") == "initiator_chooses"
        ):
            found.append(
                {
                    "id": str(node["id"]),
                    "name": str(node.get("name") or node["id"]),
                    "multiple": bool(spec.get("multiple")),
                }
            )
    return found


def _instance(instance: Instance) -> dict[str, Any]:
    return {
        "id": instance.pk,
        "serial": instance.serial,
        "title": instance.title,
        "flow": _flow_ref(instance.definition),
        "state": instance.state,
        "state_label": instance.get_state_display(),
        "urgent": instance.urgent,
        "classification": instance.classification,
        "initiator": _person(instance.initiator),
        "current_label": instance.current_label,
        "round": instance.round,
        "lock_version": instance.lock_version,
        "created_at": instance.created_at,
        "started_at": instance.started_at,
        "finished_at": instance.finished_at,
        "updated_at": instance.updated_at,
        "url": services.link(instance),
    }


def _holder(item: WorkItem) -> dict[str, Any]:
    return {
        "item_id": item.pk,
        "user": _person(item.assignee),
        "kind": item.kind,
        "state": item.state,
        "state_label": item.get_state_display(),
        "via": item.via,
        "delegated_from": _person(item.delegated_from),
        "due_at": item.due_at,
        "acted_at": item.acted_at,
        "opinion": item.opinion,
        "signed": item.signature_id is not None,
    }


def _step(step: Activation, holders: list[WorkItem]) -> dict[str, Any]:
    return {
        "id": step.pk,
        "node_id": step.node_id,
        "node_name": step.node_name,
        "node_type": step.node_type,
        "mode": step.mode,
        "state": step.state,
        "state_label": step.get_state_display(),
        "round": step.round,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
        "holders": [_holder(item) for item in holders],
    }


def _action(action: Action) -> dict[str, Any]:
    return {
        "id": action.pk,
        "kind": action.kind,
        "kind_label": action.get_kind_display(),
        "actor": _person(action.actor),
        "target_user": _person(action.target_user),
        "from_node": action.from_node,
        "to_node": action.to_node,
        "opinion": action.opinion,
        "round": action.round,
        "created_at": action.created_at,
    }


def _display(rows: list[formspec.DisplayRow]) -> list[dict[str, Any]]:
    return [
        {
            "key": row.key,
            "label": row.label,
            "type": row.type,
            "text": row.text,
            "uppercase": row.uppercase,
            "table": (
                {
                    "columns": list(row.table.columns),
                    "rows": [list(cells) for cells in row.table.rows],
                    "sums": list(row.table.sums) if row.table.sums is not None else None,
                }
                if row.table is not None
                else None
            ),
            "files": [{"key": f.key, "name": f.name, "size": f.size} for f in row.files],
        }
        for row in rows
    ]


def _my_item(user: User, instance: Instance) -> dict[str, Any] | None:
    item = selectors.my_pending_item(user, instance)
    if item is None or (instance.state != "running" and item.kind in services.TASK_KINDS):
        return None
    item.instance = instance
    node: Mapping[str, Any] = {}
    if item.activation is not None:
        node = selectors.flow_node(instance, item.activation.node_id) or {}
    node_type = str(node.get("type") or "")
    listed = node.get("field_permissions") or {}
    is_task = item.kind in services.TASK_KINDS
    return {
        "item_id": item.pk,
        "kind": item.kind,
        "node_id": item.activation.node_id if item.activation is not None else "",
        "node_name": item.activation.node_name if item.activation is not None else "",
        "signature_required": is_task and node.get("signature") is True,
        "opinion_required": [
            action
            for action in definition.OPINION_ACTIONS.get(node_type, ())
            if is_task and engine.opinion_required(node, action)
        ],
        "editable_fields": [
            key for key, level in listed.items() if level in (formspec.EDITABLE, formspec.REQUIRED)
        ]
        if is_task
        else [],
        "return_targets": (
            [{"target": target, "label": label} for target, label in services.return_targets(item)]
            if is_task
            else []
        ),
    }


def _detail(user: User, instance: Instance) -> dict[str, Any]:
    items = list(selectors.items_of(instance))
    permissions = selectors.viewer_permissions(user, instance, items, full=_full_view(user, instance))
    form = formspec.parse_form(instance.version.form)
    by_step: dict[int, list[WorkItem]] = defaultdict(list)
    for item in items:
        if item.activation_id is not None:
            by_step[item.activation_id].append(item)
    steps = [_step(step, by_step[step.pk]) for step in selectors.activations_of(instance)]
    hidden = {key for key, level in (permissions or {}).items() if level == formspec.HIDDEN}
    return {
        **_instance(instance),
        "data": {key: value for key, value in instance.data.items() if key not in hidden},
        "display": _display(form.display(instance.data, permissions=permissions)),
        "chosen": instance.chosen if instance.initiator_id == user.pk else {},
        "current_steps": [step for step in steps if step["state"] == Activation.State.ACTIVE],
        "steps": steps,
        "timeline": [_action(action) for action in selectors.timeline(instance)],
        "my_item": _my_item(user, instance),
    }


def _answer(user: User, instance_id: int) -> dict[str, Any]:
    return _detail(user, selectors.instance_visible(user, instance_id))


def _acted(user: User, instance_id: int) -> dict[str, Any]:
    """The request after the caller's action, whose people's open pages (and workbench cards)
    are told of the change — as after an action on the request's page."""
    instance = selectors.instance_visible(user, instance_id)
    services.announce(instance)
    return _detail(user, instance)


def _item(item: WorkItem, now: Any) -> dict[str, Any]:
    instance = item.instance
    return {
        "id": item.pk,
        "kind": item.kind,
        "kind_label": item.get_kind_display(),
        "state": item.state,
        "state_label": item.get_state_display(),
        "node_name": item.activation.node_name if item.activation is not None else "",
        "urgent": item.urgent,
        "overdue": item.state == WorkItem.State.PENDING and item.due_at is not None and item.due_at < now,
        "due_at": item.due_at,
        "created_at": item.created_at,
        "acted_at": item.acted_at,
        "opinion": item.opinion,
        "delegated_from": _person(item.delegated_from),
        "instance": {
            "id": instance.pk,
            "serial": instance.serial,
            "title": instance.title,
            "flow": _flow_ref(instance.definition),
            "state": instance.state,
            "initiator": _person(instance.initiator),
            "current_label": instance.current_label,
            "lock_version": instance.lock_version,
            "url": services.link(instance),
        },
    }


# --------------------------------------------------------------------------- flows and files


@router.get("/flows", response=FlowListOut, summary="我可以发起的审批流程")
def list_flows(request: AuthedRequest) -> dict[str, Any]:
    user = _require_use(request)
    flows = [_flow(flow) for flow in selectors.startable_flows(user)]
    return {"count": len(flows), "items": flows}


@router.get("/flows/{flow_id}", response=FlowDetailOut, summary="一个可发起的流程及其当前版本的表单")
def get_flow(request: AuthedRequest, flow_id: int) -> dict[str, Any]:
    user = _require_use(request)
    flow = next((flow for flow in selectors.startable_flows(user) if flow.pk == flow_id), None)
    if flow is None or flow.current_version is None:
        raise NotFoundError(_("审批流程不存在或您不能发起。"))
    version = flow.current_version
    return {**_flow(flow), "form": version.form, "choose_nodes": _choose_nodes(version.flow)}


@router.post(
    "/files",
    response={201: FileOut},
    summary="上传附件或手写签名（multipart），返回的 key 用于表单数据或审批的 signature",
)
def upload_file(
    request: AuthedRequest,
    file: File[UploadedFile],
    purpose: Form[str] = "attachment",
    level: Form[int] = 0,
) -> Status[dict[str, Any]]:
    user = _require_use(request)
    if purpose not in UPLOAD_PURPOSES:
        raise DomainError(_("用途无效，可选：attachment（附件）、signature（手写签名）。"))
    stored = file_services.store_upload(
        actor=user,
        upload=file,
        context=f"workflow.{purpose}",
        classification=level,
        images_only=purpose == "signature",
    )
    return Status(
        201,
        {
            "key": str(stored.key),
            "name": stored.name,
            "size": stored.size,
            "content_type": stored.content_type,
        },
    )


# --------------------------------------------------------------------------- requests


@router.post(
    "/instances",
    response={201: InstanceDetailOut},
    summary="发起审批（draft=true 只保存草稿）；同一 request_id / Idempotency-Key 重发返回同一审批单",
)
def start_instance(request: AuthedRequest, body: StartIn) -> Status[dict[str, Any]]:
    user = _require_use(request)
    rid = _request_id(request, body.request_id)
    if body.flow_id is None and not body.flow_code:
        raise DomainError(_("请指定流程：flow_id 或 flow_code。"))
    flow = selectors.flow_get(pk=body.flow_id, code=body.flow_code)
    if body.flow_id is not None and body.flow_code and flow.code != body.flow_code:
        raise DomainError(_("flow_id 与 flow_code 指的不是同一个流程。"))
    if flow.code in builtin.STARTED_ELSEWHERE:
        raise DomainError(_("该流程不能直接发起：权限变更申请请用 POST /api/v1/roles/requests 提交。"))
    with _form_errors():
        if body.draft:
            instance = services.draft_save(
                actor=user,
                request_id=rid,
                flow=flow,
                data=body.data,
                title=body.title,
                urgent=body.urgent,
                level=body.level,
                chosen=body.chosen,
            )
        else:
            instance = services.instance_start(
                actor=user,
                request_id=rid,
                flow=flow,
                data=body.data,
                title=body.title,
                urgent=body.urgent,
                level=body.level,
                chosen=body.chosen,
            )
    return Status(201, _answer(user, instance.pk))


@router.post("/instances/{instance_id}/submit", response=InstanceDetailOut, summary="提交草稿")
def submit_draft(request: AuthedRequest, instance_id: int, body: SubmitIn) -> dict[str, Any]:
    user = _require_use(request)
    rid = _request_id(request, body.request_id)
    draft = selectors.instance_visible(user, instance_id)
    with _checked(draft.pk, body.lock_version, rid):
        services.instance_start(
            actor=user,
            request_id=rid,
            instance=draft,
            data=body.data,
            title=body.title,
            urgent=body.urgent,
            level=body.level,
            chosen=body.chosen,
        )
    return _acted(user, draft.pk)


@router.get("/instances", response=InstancePageOut, summary="我发起的审批（含草稿），可筛选")
def list_instances(request: AuthedRequest, query: Query[InstanceQuery]) -> dict[str, Any]:
    user = _require_use(request)
    filters = selectors.Filters(
        flow=query.flow,
        category=query.category,
        query=query.q,
        urgent=query.urgent,
        state=query.state,
        since=query.since,
        until=query.until,
    )
    rows = selectors.mine(user, filters).select_related("initiator")
    page = rows[query.offset : query.offset + query.limit]
    return {"count": rows.count(), "items": [_instance(instance) for instance in page]}


@router.get(
    "/instances/{instance_id}",
    response=InstanceDetailOut,
    summary="一张审批单：表单数据、状态、当前环节与处理人、审批记录（无权查看时 404）",
)
def get_instance(request: AuthedRequest, instance_id: int) -> dict[str, Any]:
    user = _require_use(request)
    return _answer(user, instance_id)


@router.post("/instances/{instance_id}/resubmit", response=InstanceDetailOut, summary="重新提交被退回的审批")
def resubmit_instance(request: AuthedRequest, instance_id: int, body: ResubmitIn) -> dict[str, Any]:
    user = _require_use(request)
    rid = _request_id(request, body.request_id)
    instance = selectors.instance_visible(user, instance_id)
    with _checked(instance.pk, body.lock_version, rid):
        services.resubmit(
            actor=user,
            instance=instance,
            request_id=rid,
            data=body.data,
            title=body.title,
            chosen=body.chosen,
        )
    return _acted(user, instance.pk)


@router.post("/instances/{instance_id}/withdraw", response=InstanceDetailOut, summary="撤回（发起人）")
def withdraw_instance(request: AuthedRequest, instance_id: int, body: ReasonIn) -> dict[str, Any]:
    user = _require_use(request)
    rid = _request_id(request, body.request_id)
    instance = selectors.instance_visible(user, instance_id)
    with _checked(instance.pk, body.lock_version, rid):
        services.withdraw(actor=user, instance=instance, request_id=rid, reason=body.reason)
    return _acted(user, instance.pk)


@router.post(
    "/instances/{instance_id}/revoke", response=InstanceDetailOut, summary="撤销已通过的审批（须填写原因）"
)
def revoke_instance(request: AuthedRequest, instance_id: int, body: ReasonIn) -> dict[str, Any]:
    user = _require_use(request)
    rid = _request_id(request, body.request_id)
    instance = selectors.instance_visible(user, instance_id)
    with _checked(instance.pk, body.lock_version, rid):
        services.revoke(actor=user, instance=instance, request_id=rid, reason=body.reason)
    return _acted(user, instance.pk)


@router.post(
    "/instances/{instance_id}/terminate",
    response=InstanceDetailOut,
    summary="终止审批（流程管理员，须填写原因）",
)
def terminate_instance(request: AuthedRequest, instance_id: int, body: ReasonIn) -> dict[str, Any]:
    user = _require_use(request)
    rid = _request_id(request, body.request_id)
    instance = selectors.instance_visible(user, instance_id)
    with _checked(instance.pk, body.lock_version, rid):
        services.terminate(actor=user, instance=instance, request_id=rid, reason=body.reason)
    return _acted(user, instance.pk)


@router.post("/instances/{instance_id}/urge", response=InstanceDetailOut, summary="催办（每小时最多一次）")
def urge_instance(request: AuthedRequest, instance_id: int, body: UrgeIn) -> dict[str, Any]:
    user = _require_use(request)
    rid = _request_id(request, body.request_id)
    instance = selectors.instance_visible(user, instance_id)
    services.urge(actor=user, instance=instance, request_id=rid, message=body.message)
    return _acted(user, instance.pk)


@router.post("/instances/{instance_id}/comment", response=InstanceDetailOut, summary="评论，可 @提及")
def comment_instance(request: AuthedRequest, instance_id: int, body: CommentIn) -> dict[str, Any]:
    user = _require_use(request)
    rid = _request_id(request, body.request_id)
    instance = selectors.instance_visible(user, instance_id)
    mentions = _users(body.mentions, _("提及的人员"))
    services.comment(actor=user, instance=instance, request_id=rid, text=body.text, mentions=mentions)
    return _acted(user, instance.pk)


@router.post("/instances/{instance_id}/circulate", response=InstanceDetailOut, summary="传阅给他人")
def circulate_instance(request: AuthedRequest, instance_id: int, body: CirculateIn) -> dict[str, Any]:
    user = _require_use(request)
    rid = _request_id(request, body.request_id)
    instance = selectors.instance_visible(user, instance_id)
    people = _users(body.users, _("传阅人员"))
    services.circulate(actor=user, instance=instance, request_id=rid, users=people, note=body.note)
    return _acted(user, instance.pk)


# --------------------------------------------------------------------------- work items


@router.get("/items", response=ItemPageOut, summary="待办 / 已办 / 抄送我的 / 传阅给我的")
def list_items(request: AuthedRequest, query: Query[ItemQuery]) -> dict[str, Any]:
    user = _require_use(request)
    filters = selectors.Filters(
        flow=query.flow,
        category=query.category,
        query=query.q,
        urgent=query.urgent,
        overdue=query.overdue,
        since=query.since,
        until=query.until,
    )
    rows = selectors.inbox(user, query.box, filters)
    page = rows[query.offset : query.offset + query.limit]
    now = clock.now()
    return {"count": rows.count(), "items": [_item(item, now) for item in page]}


@router.get("/counts", response=CountsOut, summary="待办数（急办、超时）、未读抄送与传阅、被退回的审批")
def get_counts(request: AuthedRequest) -> dict[str, int]:
    user = _require_use(request)
    return selectors.counts(user)


def _own_item(request: AuthedRequest, item_id: int) -> tuple[User, WorkItem]:
    user = _require_use(request)
    return user, selectors.my_item(user, item_id)


@router.post("/items/{item_id}/approve", response=InstanceDetailOut, summary="同意（办理环节：办理完成）")
def approve_item(request: AuthedRequest, item_id: int, body: ApproveIn) -> dict[str, Any]:
    user, item = _own_item(request, item_id)
    rid = _request_id(request, body.request_id)
    signature = _signature(body.signature)
    with _checked(item.instance_id, body.lock_version, rid):
        services.approve(
            actor=user, item=item, request_id=rid, opinion=body.opinion, data=body.data, signature=signature
        )
    return _acted(user, item.instance_id)


@router.post("/items/{item_id}/reject", response=InstanceDetailOut, summary="拒绝")
def reject_item(request: AuthedRequest, item_id: int, body: RejectIn) -> dict[str, Any]:
    user, item = _own_item(request, item_id)
    rid = _request_id(request, body.request_id)
    signature = _signature(body.signature)
    with _checked(item.instance_id, body.lock_version, rid):
        services.reject(actor=user, item=item, request_id=rid, opinion=body.opinion, signature=signature)
    return _acted(user, item.instance_id)


@router.post(
    "/items/{item_id}/return",
    response=InstanceDetailOut,
    summary="退回：发起人、上一节点或本轮已经过的节点（见审批单的 my_item.return_targets）",
)
def return_item(request: AuthedRequest, item_id: int, body: ReturnIn) -> dict[str, Any]:
    user, item = _own_item(request, item_id)
    rid = _request_id(request, body.request_id)
    with _checked(item.instance_id, body.lock_version, rid):
        services.return_to(actor=user, item=item, request_id=rid, target=body.target, opinion=body.opinion)
    return _acted(user, item.instance_id)


@router.post("/items/{item_id}/transfer", response=InstanceDetailOut, summary="转交他人处理")
def transfer_item(request: AuthedRequest, item_id: int, body: TransferIn) -> dict[str, Any]:
    user, item = _own_item(request, item_id)
    rid = _request_id(request, body.request_id)
    (to,) = _users([body.to], _("转交对象"))
    with _checked(item.instance_id, body.lock_version, rid):
        services.transfer(actor=user, item=item, request_id=rid, to=to, opinion=body.opinion)
    return _acted(user, item.instance_id)


@router.post("/items/{item_id}/add-sign", response=InstanceDetailOut, summary="加签：前加签、后加签、并加签")
def add_sign_item(request: AuthedRequest, item_id: int, body: AddSignIn) -> dict[str, Any]:
    user, item = _own_item(request, item_id)
    rid = _request_id(request, body.request_id)
    people = _users(body.users, _("加签人员"))
    with _checked(item.instance_id, body.lock_version, rid):
        services.add_sign(
            actor=user, item=item, request_id=rid, users=people, position=body.position, opinion=body.opinion
        )
    return _acted(user, item.instance_id)


@router.post(
    "/items/{item_id}/read", response=InstanceDetailOut, summary="抄送、传阅：标记已阅（可附阅知意见）"
)
def read_item(request: AuthedRequest, item_id: int, body: ReadIn) -> dict[str, Any]:
    user, item = _own_item(request, item_id)
    rid = _request_id(request, body.request_id)
    services.mark_read(actor=user, item=item, request_id=rid, opinion=body.opinion)
    return _acted(user, item.instance_id)
