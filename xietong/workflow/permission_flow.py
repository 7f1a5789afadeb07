"""权限变更申请 as an approval flow (R-14): the org permission request is decided by the
built-in flow ``permission-change`` (部门负责人 → 综合办公室), and applied on approval.

One source of truth: the org ``PermissionRequest``. People file requests where they always
did — “我的权限” (or the org API) — and ``org.requests.permission_request_create`` keeps every
rule of filing (a reason, R-17's department bounds, no 三员 or default roles, one pending
request per role). The flow form cannot pick a role and would have to repeat those rules, so
it never creates requests: filing one starts the flow (``on_filed``) as the requester, with
the request copied into the form for the approvers to read.

When the flow ends, ``org.requests.permission_request_decide_by_flow`` applies the outcome:

- 通过: the role is granted as the approver whose approval ended the flow, audited. Org
  re-checks the grant at that moment — no 三员 or other administrator role, no second
  administrator tier on one account (三员分立), no approver deciding their own request, the
  account still active and not holding the role already. A refused grant is not made, the
  refusal is audited, and the request stays pending for the security administrator; the
  request of the flow stays 已通过 as the approvers decided.
- 拒绝: the request is turned down with the opinion given.
- 撤回, 终止, and 撤销 of a request whose grant was refused: the request is withdrawn.

A request decided meanwhile on the security administrator's page is left as decided. An
instance whose form does not match its org request exactly — one started by hand with a
made-up request number, say — changes nothing: approvers only ever grant what they read.
When the flow is switched off or not published, filing works as before: the security
administrator decides on the org page.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from xietong.core.errors import DomainError
from xietong.identity.models import User
from xietong.org import requests as org_requests
from xietong.org.models import DataScope, PermissionRequest
from xietong.workflow import builtin, hooks, services
from xietong.workflow.models import (
    Action,
    Activation,
    FlowDefinition,
    FlowVersion,
    Instance,
    InstanceState,
    WorkItem,
)

logger = logging.getLogger(__name__)

CODE = builtin.PERMISSION
#: The fields of the form that must equal the org request for its outcome to apply.
CHECKED = ("request_no", "subject", "role", "scope", "units")


def request_key(permission_request: PermissionRequest | int) -> str:
    """The idempotency key of the request that starts the flow for ``permission_request``."""
    pk = permission_request if isinstance(permission_request, int) else permission_request.pk
    return f"org-permission-request-{pk}"


def form_data(permission_request: PermissionRequest) -> dict[str, Any]:
    """The org request as the flow's form shows it."""
    role = permission_request.role
    units = sorted(permission_request.units.all(), key=lambda unit: unit.code)
    return {
        "request_no": permission_request.pk,
        "subject": permission_request.subject_id,
        "role": f"{role.name}（{role.code}）" if role is not None else permission_request.role_name,
        "scope": str(DataScope(permission_request.scope).label),
        "units": "、".join(unit.name for unit in units),
        "reason": permission_request.reason,
    }


class _NobodyToAsk(Exception):
    """The flow ended as it started: no step found anyone to decide. Rolls the start back."""


def start_for(permission_request: PermissionRequest) -> Instance | None:
    """Start the flow for a request just filed; None when the flow is not in use, or finds
    nobody at all to ask (then the security administrator decides on the org page, as
    without the flow)."""
    flow = FlowDefinition.objects.filter(code=CODE, is_active=True).select_related("current_version").first()
    if (
        flow is None
        or flow.current_version is None
        or flow.current_version.status != FlowVersion.Status.PUBLISHED
    ):
        return None
    requester = permission_request.requester
    if requester is None:
        return None
    subject = permission_request.subject
    title = _("权限变更申请：%(subject)s 申请“%(role)s”") % {
        "subject": subject.name or subject.username,
        "role": permission_request.role_name,
    }
    try:
        with transaction.atomic():
            instance = services.instance_start(
                actor=requester,
                flow=flow,
                data=form_data(permission_request),
                title=title,
                request_id=request_key(permission_request),
            )
            if instance.state != InstanceState.RUNNING:
                raise _NobodyToAsk
            return instance
    except DomainError as error:
        logger.info("permission request %s left to the org page: %s", permission_request.pk, error.message)
    except _NobodyToAsk:
        logger.info(
            "permission request %s left to the org page: the flow found no approver", permission_request.pk
        )
    return None


def _number(value: Any) -> int | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return int(number) if number == number.to_integral_value() else None


def linked_request(instance: Instance) -> PermissionRequest | None:
    """The org request ``instance`` decides: filed by its initiator, and shown by its form
    exactly as it is; else None."""
    pk = _number(instance.data.get("request_no"))
    if pk is None:
        return None
    row = (
        PermissionRequest.objects.select_related("role", "subject")
        .prefetch_related("units")
        .filter(pk=pk, requester_id=instance.initiator_id)
        .first()
    )
    if row is None:
        return None
    expected = form_data(row)
    shown = {**instance.data, "request_no": pk, "subject": _number(instance.data.get("subject"))}
    for key in CHECKED:
        if (shown.get(key) or "") != (expected[key] or ""):
            return None
    return row


def _decider(instance: Instance, kind: str) -> tuple[User | None, str]:
    """Who gave the last ``kind`` decision of the request, by hand, and their opinion."""
    action = (
        Action.objects.filter(instance=instance, kind=kind, actor__isnull=False)
        .select_related("actor")
        .order_by("-pk")
        .first()
    )
    return (action.actor, action.opinion) if action is not None else (None, "")


def _all_by_hand(instance: Instance) -> bool:
    """Did a person decide every step? A step skipped for want of an approver (nobody holds
    the 权限审核 role, say) or approved by the engine is no decision to grant on."""
    skipped = Activation.objects.filter(
        instance=instance, node_type__in=("approval", "handle"), state=Activation.State.SKIPPED
    )
    automatic = WorkItem.objects.filter(instance=instance, state=WorkItem.State.AUTO_APPROVED)
    return not skipped.exists() and not automatic.exists()


def finished(instance: Instance, actor: User | None) -> None:
    """``hooks.on_finished`` callback: bring the org request in line with the flow's end."""
    row = linked_request(instance)
    if row is None:
        return
    reference = instance.serial or str(instance.pk)
    if instance.state == InstanceState.APPROVED:
        approver, opinion = _decider(instance, Action.Kind.APPROVE) if _all_by_hand(instance) else (None, "")
        org_requests.permission_request_decide_by_flow(
            permission_request_id=row.pk,
            outcome="approved",
            actor=approver,
            note=opinion,
            reference=reference,
        )
    elif instance.state == InstanceState.REJECTED:
        rejecter, opinion = _decider(instance, Action.Kind.REJECT)
        org_requests.permission_request_decide_by_flow(
            permission_request_id=row.pk,
            outcome="rejected",
            actor=rejecter or actor,
            note=opinion,
            reference=reference,
        )
    elif instance.state == InstanceState.REVOKED:
        _revoker, reason = _decider(instance, Action.Kind.REVOKE)
        org_requests.permission_request_revoke_by_flow(
            permission_request_id=row.pk, actor=actor, note=reason, reference=reference
        )
    else:
        org_requests.permission_request_decide_by_flow(
            permission_request_id=row.pk, outcome="cancelled", actor=actor, reference=reference
        )


def register() -> None:
    org_requests.on_filed(start_for)
    hooks.on_finished(CODE, finished)
