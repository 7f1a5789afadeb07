"""Permission change requests (R-14, R-17): ask for a role with a reason; the security
administrator approves — which grants it — or rejects.

Who may ask:

- every active user, for themself;
- a department head (``Membership.is_head``), for a member of their department: someone whose
  primary post lies in a unit they head or below it (sub-companies excepted — a subsidiary has
  heads of its own). The scope asked for must stay inside that department too: the head's
  word covers their own department, nothing beyond it (R-17).

三员 roles are not requestable: they are appointed (``xietong assign_role`` or a grant by the
security administrator), never asked for; default roles are held by everyone already.

Who decides: holders of ``identity.manage_roles`` over the subject's account, never for a
request they filed or one for themself (four eyes). Approval calls ``services.role_grant``
as the approver, so every rule of a grant made by hand — 三员分立, the approver's own scope,
no grant to oneself — applies unchanged; if it refuses, the request stays pending and the
refusal is shown and audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import IntegrityError, models, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xietong.audit import actions as audit_actions
from xietong.audit.models import Event
from xietong.audit.services import record
from xietong.core import access, clock
from xietong.core.access import TRIAD, UnitRule
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.identity.models import User
from xietong.org import services
from xietong.org.access import OrgAccessProvider, rule_covers, subtree_within
from xietong.org.models import DataScope, Membership, OrgUnit, PermissionRequest, Role, RoleGrant

MANAGE_ROLES = services.MANAGE_ROLES

REQUEST_CREATED = "org.permission_request.created"
REQUEST_APPROVED = "org.permission_request.approved"
REQUEST_APPROVAL_FAILED = "org.permission_request.approval_failed"
REQUEST_REJECTED = "org.permission_request.rejected"
REQUEST_CANCELLED = "org.permission_request.cancelled"
REQUEST_REVOKED = "org.permission_request.revoked"

audit_actions.register(REQUEST_CREATED, gettext_lazy("提交权限申请"))
audit_actions.register(REQUEST_APPROVED, gettext_lazy("批准权限申请"))
audit_actions.register(REQUEST_APPROVAL_FAILED, gettext_lazy("批准权限申请未成功"))
audit_actions.register(REQUEST_REJECTED, gettext_lazy("驳回权限申请"))
audit_actions.register(REQUEST_CANCELLED, gettext_lazy("撤回权限申请"))
audit_actions.register(REQUEST_REVOKED, gettext_lazy("撤销已批准的权限申请"))

REASON_MAX = 500
NOTE_MAX = 500

# Scopes a department head may ask for on a member's behalf: each can be checked against
# the department. 本公司 and 全集团 reach beyond any department by definition.
_HEAD_SCOPES = {DataScope.SELF, DataScope.DEPARTMENT, DataScope.DEPARTMENT_TREE, DataScope.LISTED}
_COMPANY_KINDS = (OrgUnit.Kind.COMPANY, OrgUnit.Kind.GROUP)


def _deny(
    actor: User, action: str, target: models.Model | None, message: str, request: HttpRequest | None
) -> PermissionDeniedError:
    """Record a refused attempt and return the error to raise (as ``org.services`` does)."""
    record(
        actor=actor,
        action=action,
        target=target,
        result=Event.Result.DENIED,
        request=request,
        details={"reason": message},
    )
    return PermissionDeniedError(message)


# --------------------------------------------------------------------------- reads


def requestable_roles() -> QuerySet[Role]:
    """The roles one may ask for: neither 三员 (appointed, not requested) nor default roles."""
    return Role.objects.exclude(admin_tier__in=TRIAD).filter(is_default=False)


def department_rules(head: User) -> frozenset[UnitRule]:
    """The units ``head`` answers for: each unit they head and everything below it, except
    the sub-companies there. Two queries; empty for someone who heads nothing."""
    headed = list(
        OrgUnit.objects.filter(memberships__user=head, memberships__is_head=True, is_active=True)
        .values_list("pk", "path")
        .distinct()
    )
    if not headed:
        return frozenset()
    companies = list(OrgUnit.objects.filter(kind__in=_COMPANY_KINDS).values_list("path", flat=True))
    return frozenset(
        UnitRule(
            pk, path, subtree=True, excluded=tuple(c for c in companies if c.startswith(path) and c != path)
        )
        for pk, path in headed
    )


def request_subjects(requester: User) -> QuerySet[User]:
    """The accounts ``requester`` may file a request for: themself, and the active members of
    the departments they head (primary post inside)."""
    rules = department_rules(requester)
    mine = Q(pk=requester.pk)
    if not rules:
        return User.objects.filter(mine, is_active=True)
    members = Membership.objects.filter(is_primary=True).filter(
        OrgAccessProvider().unit_filter(rules, "unit")
    )
    return User.objects.filter(mine | Q(pk__in=members.values("user_id")), is_active=True).order_by(
        "name", "username"
    )


def _with_relations(requests: QuerySet[PermissionRequest]) -> QuerySet[PermissionRequest]:
    """What every list shows, loaded in a fixed number of queries whatever the row count."""
    unit = Membership.objects.filter(user=OuterRef("subject_id"), is_primary=True).values("unit__name")[:1]
    return (
        requests.annotate(subject_unit_name=Subquery(unit))
        .select_related("requester", "subject", "role", "decided_by")
        .prefetch_related("units")
    )


def requests_for_review(*, actor: User, status: str | None = None) -> QuerySet[PermissionRequest]:
    """Requests a role manager may decide: those whose subject's primary post is inside the
    manager's ``identity.manage_roles`` scope (everything, for the built-in 安全管理员)."""
    primary = Membership.objects.filter(user=OuterRef("subject_id"), is_primary=True).values("unit_id")[:1]
    rows = PermissionRequest.objects.annotate(subject_unit_id=Subquery(primary))
    if status:
        rows = rows.filter(status=status)
    return _with_relations(access.restrict(actor, MANAGE_ROLES, rows, unit_field="subject_unit_id"))


def request_for_review(*, actor: User, pk: int | str) -> PermissionRequest:
    """One request a role manager may decide; ``NotFoundError`` alike for missing and foreign."""
    try:
        return requests_for_review(actor=actor).get(pk=pk)
    except (PermissionRequest.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("对象不存在或无权访问。")) from None


def requests_of(user: User) -> QuerySet[PermissionRequest]:
    """Requests the user filed or that name them: what ``我的权限`` shows."""
    return _with_relations(PermissionRequest.objects.filter(Q(requester=user) | Q(subject=user)))


def request_visible_to(*, user: User, pk: int | str) -> PermissionRequest:
    """One request its requester, its subject or a role manager over it may read."""
    try:
        return requests_of(user).get(pk=pk)
    except (PermissionRequest.DoesNotExist, ValueError, TypeError):
        return request_for_review(actor=user, pk=pk)


def pending_count(*, actor: User) -> int:
    return requests_for_review(actor=actor, status=PermissionRequest.Status.PENDING).count()


# --------------------------------------------------------------------------- create


def _head_scope_error(
    rules: frozenset[UnitRule], subject: User, scope: str, units: list[OrgUnit]
) -> str | None:
    """Why a head may not ask for this on a member's behalf, or None (R-17)."""
    memberships = list(Membership.objects.select_related("unit").filter(user=subject))
    posts = [post.unit for post in memberships]
    primary = next((post.unit for post in memberships if post.is_primary), None)
    if primary is None or not any(rule_covers(rule, primary.path) for rule in rules):
        return _("只能为本部门的人员申请权限。")
    if scope not in _HEAD_SCOPES:
        return _("为本部门人员申请的数据范围不能超出本部门。")
    # Relative scopes start from every post of the member: a concurrent post elsewhere would
    # carry the grant out of the department.
    if scope == DataScope.DEPARTMENT:
        inside = all(any(rule_covers(rule, unit.path) for rule in rules) for unit in posts)
    elif scope == DataScope.DEPARTMENT_TREE:
        inside = all(subtree_within(rules, unit) for unit in posts)
    elif scope == DataScope.LISTED:
        inside = all(subtree_within(rules, unit) for unit in units)
    else:
        inside = True
    if not inside:
        return _("为本部门人员申请的数据范围不能超出本部门。")
    return None


def permission_request_create(
    *,
    actor: User,
    subject: User,
    role: Role,
    scope: str,
    units: Iterable[OrgUnit] = (),
    reason: str,
    request: HttpRequest | None = None,
) -> PermissionRequest:
    """File a request for ``subject`` (the actor, or a member of a department they head)."""
    unit_list = list(units)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请填写申请理由。"))
    if len(reason) > REASON_MAX:
        raise DomainError(_("申请理由不能超过 %(max)s 个字。") % {"max": REASON_MAX})
    if subject.pk != actor.pk:
        problem = _head_scope_error(department_rules(actor), subject, scope, unit_list)
        if problem is not None:
            raise _deny(actor, REQUEST_CREATED, subject, problem, request)
    if not subject.is_active:
        raise DomainError(_("该账号已停用，不能申请权限。"))
    if role.is_triad:
        raise DomainError(_("三员角色由组织任命，不能通过申请获得。"))
    if role.is_default:
        raise DomainError(_("每个账号都已拥有该角色，无需申请。"))
    # The same scope rules as a grant, so that nothing is approved only to fail on form.
    services._validate_scope(scope, unit_list, None)
    if RoleGrant.objects.filter(user=subject, role=role).exists():
        raise DomainError(_("%(user)s 已拥有“%(role)s”角色。") % {"user": subject, "role": role.name})
    try:
        with transaction.atomic():
            pending = PermissionRequest.objects.select_for_update().filter(
                subject=subject, role=role, status=PermissionRequest.Status.PENDING
            )
            if pending.exists():
                raise DomainError(_("已有一份同一角色的申请在等待审批。"))
            row = PermissionRequest.objects.create(
                requester=actor,
                subject=subject,
                role=role,
                role_name=role.name,
                scope=scope,
                reason=reason,
                created_at=clock.now(),
            )
            if unit_list:
                row.units.set(unit_list)
            record(
                actor=actor,
                action=REQUEST_CREATED,
                target=row,
                request=request,
                details={
                    "request_id": row.pk,
                    "subject": subject.username,
                    "role": role.code,
                    "scope": scope,
                    "units": sorted(unit.code for unit in unit_list),
                    "reason": reason,
                },
            )
            for callback in list(_filed_callbacks):
                callback(row)
            return row
    except IntegrityError:  # a twin filed at the same moment won the unique constraint
        raise DomainError(_("已有一份同一角色的申请在等待审批。")) from None


# --------------------------------------------------------------------------- decisions


def _lock_pending(permission_request: PermissionRequest) -> PermissionRequest:
    """The request, locked for the rest of the transaction, if still pending: two managers
    deciding at once get one decision (AC-09)."""
    # Only this row is locked: its role may be gone (an outer join PostgreSQL cannot lock).
    row = (
        PermissionRequest.objects.select_for_update(of=("self",))
        .select_related("role", "subject", "requester")
        .get(pk=permission_request.pk)
    )
    if row.status != PermissionRequest.Status.PENDING:
        raise DomainError(
            _("该申请已处理（%(status)s），不能再次处理。") % {"status": row.get_status_display()}
        )
    return row


def _authorize_decision(
    actor: User, action: str, permission_request: PermissionRequest, request: HttpRequest | None
) -> None:
    if not access.can(actor, MANAGE_ROLES):
        raise _deny(actor, action, permission_request, _("只有安全管理员可以审批权限申请。"), request)
    if actor.pk in (permission_request.requester_id, permission_request.subject_id):
        raise _deny(actor, action, permission_request, _("不能审批自己提交的或为自己申请的权限。"), request)
    try:
        request_for_review(actor=actor, pk=permission_request.pk)
    except NotFoundError:
        raise _deny(actor, action, permission_request, _("该申请不在您的审批范围内。"), request) from None


def permission_request_approve(
    *,
    actor: User,
    permission_request: PermissionRequest,
    note: str = "",
    request: HttpRequest | None = None,
) -> PermissionRequest:
    """Approve, and grant the role as asked through ``services.role_grant`` (R-14).

    If the grant is refused, nothing changes: the request stays pending, the refusal is
    audited as a failed approval and raised to the caller.
    """
    _authorize_decision(actor, REQUEST_APPROVED, permission_request, request)
    note = (note or "").strip()[:NOTE_MAX]
    failure: DomainError | None = None
    with transaction.atomic():
        row = _lock_pending(permission_request)
        if row.role is None:
            failure = DomainError(_("申请的角色已被删除，只能驳回。"))
        else:
            try:
                # A savepoint: a refused grant rolls back alone, the request stays as it was.
                with transaction.atomic():
                    grant = services.role_grant(
                        actor=actor,
                        role=row.role,
                        user=row.subject,
                        scope=row.scope,
                        units=list(row.units.all()),
                        reason=(_("权限申请 #%(id)s：%(reason)s") % {"id": row.pk, "reason": row.reason})[
                            :200
                        ],
                    )
            except DomainError as exc:
                failure = exc
            else:
                row.status = PermissionRequest.Status.APPROVED
                row.decided_by = actor
                row.decided_at = clock.now()
                row.decision_note = note
                row.grant = grant
                row.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "grant"])
                record(
                    actor=actor,
                    action=REQUEST_APPROVED,
                    target=row,
                    request=request,
                    details={
                        "request_id": row.pk,
                        "subject": row.subject.username,
                        "role": row.role.code,
                        "scope": row.scope,
                        "grant_id": grant.pk,
                        "note": note,
                    },
                )
                return row
    # Recorded after the rollback of the refused grant, so that the record itself is kept.
    assert failure is not None  # noqa: S101  # every other way out of the block returned or raised
    record(
        actor=actor,
        action=REQUEST_APPROVAL_FAILED,
        target=permission_request,
        result=Event.Result.DENIED if isinstance(failure, PermissionDeniedError) else Event.Result.FAILURE,
        request=request,
        details={"request_id": permission_request.pk, "reason": failure.message},
    )
    raise failure


def permission_request_reject(
    *,
    actor: User,
    permission_request: PermissionRequest,
    note: str,
    request: HttpRequest | None = None,
) -> PermissionRequest:
    """Turn the request down; the requester is owed a reason, so the note is mandatory."""
    _authorize_decision(actor, REQUEST_REJECTED, permission_request, request)
    note = (note or "").strip()
    if not note:
        raise DomainError(_("请填写驳回理由。"))
    if len(note) > NOTE_MAX:
        raise DomainError(_("处理意见不能超过 %(max)s 个字。") % {"max": NOTE_MAX})
    with transaction.atomic():
        row = _lock_pending(permission_request)
        row.status = PermissionRequest.Status.REJECTED
        row.decided_by = actor
        row.decided_at = clock.now()
        row.decision_note = note
        row.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        record(
            actor=actor,
            action=REQUEST_REJECTED,
            target=row,
            request=request,
            details={"request_id": row.pk, "subject": row.subject.username, "note": note},
        )
        return row


def permission_request_cancel(
    *, actor: User, permission_request: PermissionRequest, request: HttpRequest | None = None
) -> PermissionRequest:
    """Withdraw a pending request; only the one who filed it may."""
    if permission_request.requester_id != actor.pk:
        raise _deny(actor, REQUEST_CANCELLED, permission_request, _("只能撤回自己提交的申请。"), request)
    with transaction.atomic():
        row = _lock_pending(permission_request)
        row.status = PermissionRequest.Status.CANCELLED
        row.decided_by = actor
        row.decided_at = clock.now()
        row.save(update_fields=["status", "decided_by", "decided_at"])
        record(
            actor=actor,
            action=REQUEST_CANCELLED,
            target=row,
            request=request,
            details={"request_id": row.pk, "subject": row.subject.username},
        )
        return row


# --------------------------------------------------------------------------- approval flows
#
# R-14 lets an approval flow decide requests (``xietong.workflow.permission_flow``): a filed
# request starts the flow, and the flow's outcome comes back here. ``org`` imports no business
# module, so the flow registers itself through ``on_filed`` and calls
# ``permission_request_decide_by_flow``. The flow stands in for the security administrator's
# decision, never for org's rules: the grant is made here, re-checked when the flow ends.

_filed_callbacks: list[Callable[[PermissionRequest], object]] = []


def on_filed(callback: Callable[[PermissionRequest], object]) -> None:
    """Call ``callback(request)`` inside the transaction that files each request."""
    if callback not in _filed_callbacks:
        _filed_callbacks.append(callback)


def _flow_grant_error(row: PermissionRequest, approver: User | None) -> str | None:
    """Why an approved flow may not grant this request now, or None."""
    if approver is None or not approver.is_active:
        return _("流程未经有效的审批人批准。")
    if approver.pk in (row.requester_id, row.subject_id):
        return _("不能审批自己提交的或为自己申请的权限。")
    if row.role is None:
        return _("申请的角色已被删除。")
    if row.role.admin_tier != Role.AdminTier.NONE or row.role.is_default:
        return _("管理员角色只能由安全管理员授予，不能经审批流程自动授权。")
    if not row.subject.is_active:
        return _("该账号已停用，不能授权。")
    return None


def permission_request_decide_by_flow(
    *, permission_request_id: int, outcome: str, actor: User | None, note: str = "", reference: str = ""
) -> PermissionRequest | None:
    """Apply the end of the request's approval flow: ``outcome`` "approved" grants the role as
    ``actor`` (the person whose approval ended the flow), "rejected" turns it down,
    "cancelled" withdraws it. A request decided meanwhile is left alone (None).

    A grant the org rules refuse now — an administrator role, a second administrator tier
    (三员分立), a holder gone or already holding the role — is not made: the refusal is
    audited and the request stays pending for the security administrator to decide."""
    note = (note or "").strip()[:NOTE_MAX]
    failure: str | None = None
    with transaction.atomic():
        try:
            row = _lock_pending(PermissionRequest(pk=permission_request_id))
        except (DomainError, PermissionRequest.DoesNotExist):
            return None
        details = {"request_id": row.pk, "subject": row.subject.username, "flow": reference, "note": note}
        if outcome != "approved":
            row.status = (
                PermissionRequest.Status.REJECTED
                if outcome == "rejected"
                else PermissionRequest.Status.CANCELLED
            )
            row.decided_by = actor
            row.decided_at = clock.now()
            row.decision_note = note
            row.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
            action = REQUEST_REJECTED if outcome == "rejected" else REQUEST_CANCELLED
            record(actor=actor, action=action, target=row, details=details)
            return row
        failure = _flow_grant_error(row, actor)
        if failure is None and actor is not None and row.role is not None:
            try:
                with transaction.atomic():
                    units = list(row.units.all())
                    services._validate_scope(row.scope, units, None)
                    grant = services._create_grant(
                        actor=actor,
                        role=row.role,
                        user=row.subject,
                        position=None,
                        scope=row.scope,
                        units=units,
                        overrides={},
                        expires_at=None,
                        reason=(_("权限申请 #%(id)s：%(reason)s") % {"id": row.pk, "reason": row.reason})[
                            :200
                        ],
                    )
            except DomainError as exc:
                failure = exc.message
            else:
                row.status = PermissionRequest.Status.APPROVED
                row.decided_by = actor
                row.decided_at = clock.now()
                row.decision_note = note
                row.grant = grant
                row.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "grant"])
                record(
                    actor=actor,
                    action=REQUEST_APPROVED,
                    target=row,
                    details={**details, "role": row.role.code, "scope": row.scope, "grant_id": grant.pk},
                )
                return row
    # Recorded after the rollback of the refused grant, so that the record itself is kept.
    record(
        actor=actor,
        action=REQUEST_APPROVAL_FAILED,
        target=row,
        result=Event.Result.FAILURE,
        details={**details, "reason": failure},
    )
    return None


def permission_request_revoke_by_flow(
    *, permission_request_id: int, actor: User | None, note: str = "", reference: str = ""
) -> PermissionRequest | None:
    """The approval that granted the request was 撤销 (revoked) in its flow: the grant it made
    is taken back and the request marked 已撤销. A request that was not approved (the grant was
    refused when the flow ended, or it was decided on the org page) is withdrawn instead, as
    before; one decided otherwise is left alone (None)."""
    with transaction.atomic():
        row = (
            PermissionRequest.objects.select_for_update(of=("self",))
            .select_related("grant", "subject")
            .filter(pk=permission_request_id)
            .first()
        )
        if row is None or row.status != PermissionRequest.Status.APPROVED:
            return permission_request_decide_by_flow(
                permission_request_id=permission_request_id,
                outcome="cancelled",
                actor=actor,
                note=note,
                reference=reference,
            )
        note = (note or "").strip()[:NOTE_MAX]
        grant_id = row.grant_id
        if row.grant is not None:
            services.role_revoke_by_flow(
                grant=row.grant,
                actor=actor,
                reason=(_("权限申请 #%(id)s 的审批已撤销：%(note)s") % {"id": row.pk, "note": note})[:200],
            )
        row.status = PermissionRequest.Status.REVOKED
        row.decision_note = note
        row.save(update_fields=["status", "decision_note"])
        record(
            actor=actor,
            action=REQUEST_REVOKED,
            target=row,
            details={
                "request_id": row.pk,
                "subject": row.subject.username,
                "flow": reference,
                "note": note,
                "grant_id": grant_id,
            },
        )
        return row
