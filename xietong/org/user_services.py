"""The life of an account, as the administrators see it: hire (create), edit, transfer,
suspend and resume, departure. One function per use case; each checks ``org.manage_users``
over the account (``guards.manageable_account``: a 部门管理员 only inside their subtree,
R-16), runs in one transaction, writes a ``PersonnelChange`` row and an audit record.

- A new account gets a one-time initial password from identity (R-06), returned once to
  show to the administrator and never stored or audited in clear (R-02).
- A hire or a transfer opens a permission review for the security administrator (R-13);
  roles granted to positions follow the new post at once (R-09), so the old post's
  permissions end with the transfer (R-15).
- Suspension (disciplinary) and departure switch the account off at once and end its
  sessions and API tokens (R-15); a suspension can be lifted, a departure cannot.
- A departure hands the leaver's open work to a successor through ``org.handover``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from xietong.audit.services import record
from xietong.core import access, clock
from xietong.core.errors import DomainError, NotFoundError
from xietong.identity import services as identity_services
from xietong.identity.models import User, fold_username, is_reserved_username
from xietong.org import guards, handover, selectors, sessions
from xietong.org.models import Membership, OrgUnit, PersonnelChange, Position, StaffProfile

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
EMPLOYEE_NO_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
MOBILE_PATTERN = re.compile(r"^\+?[0-9][0-9 -]{4,18}[0-9]$")
NAME_MAX = 64
REASON_MAX = 200


# --------------------------------------------------------------------------- field rules


def username_error(value: str) -> str | None:
    """Why a (folded) login name is not acceptable, or None."""
    if not value:
        return _("请填写用户名。")
    if not USERNAME_PATTERN.match(value):
        return _("用户名应为 2–64 位小写字母、数字或“.”“_”“-”，并以字母或数字开头。")
    if is_reserved_username(value):
        return _("“%(v)s”是系统保留的用户名，不能使用。") % {"v": value}
    return None


def name_error(value: str) -> str | None:
    if not value:
        return _("请填写姓名。")
    if len(value) > NAME_MAX:
        return _("姓名不能超过 %(limit)d 个字。") % {"limit": NAME_MAX}
    return None


def employee_no_error(value: str) -> str | None:
    if value and not EMPLOYEE_NO_PATTERN.match(value):
        return _("工号只能由字母、数字、“-”和“_”组成，最长 32 位。")
    return None


def email_error(value: str) -> str | None:
    if not value:
        return None
    try:
        validate_email(value)
    except ValidationError:
        return _("电子邮箱格式不正确。")
    return None


def mobile_error(value: str) -> str | None:
    if value and not MOBILE_PATTERN.match(value):
        return _("手机号码格式不正确。")
    return None


@dataclass(frozen=True)
class AccountFields:
    """Typed-in account fields, normalised: spaces trimmed, login name folded."""

    username: str
    name: str
    employee_no: str
    email: str
    mobile: str

    @classmethod
    def of(cls, *, username: str = "", name: str, employee_no: str, email: str, mobile: str) -> AccountFields:
        return cls(
            username=fold_username(username),
            name=" ".join(name.split()),
            employee_no=employee_no.strip(),
            email=email.strip().lower(),
            mobile=mobile.strip(),
        )

    def errors(self, *, with_username: bool) -> list[dict[str, str]]:
        checks = [
            ("name", name_error(self.name)),
            ("employee_no", employee_no_error(self.employee_no)),
            ("email", email_error(self.email)),
            ("mobile", mobile_error(self.mobile)),
        ]
        if with_username:
            checks.insert(0, ("username", username_error(self.username)))
        return [{"field": name, "message": message} for name, message in checks if message]


def _invalid(errors: list[dict[str, str]]) -> DomainError:
    return DomainError(errors[0]["message"], details=errors)


def _uniqueness_errors(fields: AccountFields, *, exclude: User | None) -> list[dict[str, str]]:
    """Login name and 工号 are unique regardless of letter case."""
    errors = []
    others = User.objects.all() if exclude is None else User.objects.exclude(pk=exclude.pk)
    if exclude is None and others.filter(username__iexact=fields.username).exists():
        errors.append({"field": "username", "message": _("用户名“%(v)s”已被使用。") % {"v": fields.username}})
    if fields.employee_no and others.filter(employee_no__iexact=fields.employee_no).exists():
        errors.append(
            {"field": "employee_no", "message": _("工号“%(v)s”已被使用。") % {"v": fields.employee_no}}
        )
    return errors


def _clean_reason(reason: str, *, required: bool) -> str:
    value = " ".join(reason.split())
    if required and not value:
        raise DomainError(_("请填写原因。"), details=[{"field": "reason", "message": _("请填写原因。")}])
    if len(value) > REASON_MAX:
        raise DomainError(_("原因不能超过 %(limit)d 个字。") % {"limit": REASON_MAX})
    return value


def _profile(user: User) -> StaffProfile:
    profile, _created = StaffProfile.objects.select_for_update().get_or_create(user=user)
    return profile


def _post_details(unit: OrgUnit | None, position: Position | None) -> dict[str, Any]:
    return {
        "unit": unit.code if unit is not None else None,
        "unit_name": unit.name if unit is not None else None,
        "position": position.name if position is not None else None,
    }


# --------------------------------------------------------------------------- hire and edit


@dataclass(frozen=True)
class CreatedAccount:
    user: User
    #: The one-time initial password: show it once, never store it.
    password: str


def user_create(
    *,
    actor: User,
    username: str,
    name: str,
    unit: OrgUnit,
    position: Position | None = None,
    employee_no: str = "",
    email: str = "",
    mobile: str = "",
    request: HttpRequest | None = None,
) -> CreatedAccount:
    """Open an account with a primary post in ``unit`` and a one-time initial password."""
    guards.require_manage_users(actor, guards.USER_CREATED, None, request)
    guards.require_unit_in_scope(actor, unit, guards.USER_CREATED, unit, request)
    fields = AccountFields.of(
        username=username, name=name, employee_no=employee_no, email=email, mobile=mobile
    )
    errors = fields.errors(with_username=True)
    if errors:
        raise _invalid(errors)
    try:
        with transaction.atomic():
            return _create(actor=actor, fields=fields, unit=unit, position=position, request=request)
    except IntegrityError:  # the same name taken by a parallel request
        raise DomainError(_("用户名或工号已被使用。")) from None


def _create(
    *,
    actor: User,
    fields: AccountFields,
    unit: OrgUnit,
    position: Position | None,
    request: HttpRequest | None,
) -> CreatedAccount:
    unit = OrgUnit.objects.get(pk=unit.pk)
    if not unit.is_active:
        raise DomainError(
            _("所选单位已撤销。"), details=[{"field": "unit", "message": _("所选单位已撤销。")}]
        )
    errors = _uniqueness_errors(fields, exclude=None)
    if errors:
        raise _invalid(errors)
    user = User(
        username=fields.username,
        name=fields.name,
        employee_no=fields.employee_no or None,
        email=fields.email,
        mobile=fields.mobile,
        date_joined=clock.now(),
    )
    user.set_unusable_password()
    user.save()
    Membership.objects.create(user=user, unit=unit, position=position, is_primary=True)
    password = identity_services.one_time_password(user)
    identity_services.user_set_initial_password(user=user, password=password)
    PersonnelChange.objects.create(
        user=user,
        kind=PersonnelChange.Kind.HIRE,
        to_unit=unit,
        to_position=position,
        actor=actor,
        created_at=clock.now(),
        review_status=PersonnelChange.Review.PENDING,
    )
    record(
        actor=actor,
        action=guards.USER_CREATED,
        target=user,
        request=request,
        details={
            "username": user.username,
            "name": user.name,
            "employee_no": user.employee_no,
            **_post_details(unit, position),
        },
    )
    return CreatedAccount(user=user, password=password)


def user_update(
    *,
    actor: User,
    user: User,
    name: str,
    employee_no: str = "",
    email: str = "",
    mobile: str = "",
    request: HttpRequest | None = None,
) -> User:
    """Change an account's name, 工号 and contact details. The login name stays: it is what
    people sign in with and what records name."""
    user = guards.manageable_account(actor, user.pk, guards.USER_UPDATED, request)
    fields = AccountFields.of(name=name, employee_no=employee_no, email=email, mobile=mobile)
    errors = fields.errors(with_username=False)
    if errors:
        raise _invalid(errors)
    try:
        with transaction.atomic():
            user = User.objects.select_for_update().get(pk=user.pk)
            errors = _uniqueness_errors(fields, exclude=user)
            if errors:
                raise _invalid(errors)
            names = ("name", "employee_no", "email", "mobile")
            before = {key: getattr(user, key) for key in names}
            user.name = fields.name
            user.employee_no = fields.employee_no or None
            user.email = fields.email
            user.mobile = fields.mobile
            after = {key: getattr(user, key) for key in names}
            changed = [key for key in names if before[key] != after[key]]
            if not changed:
                return user
            user.save(update_fields=changed)
            record(
                actor=actor,
                action=guards.USER_UPDATED,
                target=user,
                request=request,
                details={
                    "changes": {key: [before[key], after[key]] for key in changed},
                },
            )
    except IntegrityError:
        raise DomainError(_("工号已被使用。")) from None
    return user


# --------------------------------------------------------------------------- transfer


def user_transfer(
    *,
    actor: User,
    user: User,
    unit: OrgUnit,
    position: Position | None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> PersonnelChange:
    """Move the account's primary post to ``unit`` / ``position``.

    The old post's position-bound roles end and the new post's begin at once; the account's
    personal grants are left to the security administrator's review, which this opens
    (R-13). Headship of the old unit ends; a platform-contact designation ends where the
    new post is outside that unit.
    """
    user = guards.manageable_account(actor, user.pk, guards.USER_TRANSFERRED, request)
    guards.require_unit_in_scope(actor, unit, guards.USER_TRANSFERRED, user, request)
    reason = _clean_reason(reason, required=False)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        unit = OrgUnit.objects.get(pk=unit.pk)
        if not unit.is_active:
            raise DomainError(_("所选单位已撤销。"))
        profile = _profile(user)
        if profile.status == StaffProfile.Status.DEPARTED:
            raise DomainError(_("该人员已离职，不能调动。"))
        posts = (
            Membership.objects.select_for_update(of=("self",))
            .filter(user=user)
            .select_related("unit", "position")
        )
        primary = next((post for post in posts if post.is_primary), None)
        old_unit = primary.unit if primary is not None else None
        old_position = primary.position if primary is not None else None
        same_unit = old_unit is not None and old_unit.pk == unit.pk
        same_position = (old_position.pk if old_position else None) == (position.pk if position else None)
        if same_unit and same_position:
            raise DomainError(_("调动前后的单位和岗位相同。"))
        concurrent = next((post for post in posts if post.unit_id == unit.pk and not post.is_primary), None)
        if concurrent is not None:
            # Already a concurrent post there: it becomes the primary one, the old one ends.
            if primary is not None:
                primary.delete()
            concurrent.is_primary, concurrent.position, concurrent.is_head = True, position, False
            concurrent.save(update_fields=["is_primary", "position", "is_head"])
        elif primary is not None:
            primary.unit, primary.position = unit, position
            primary.is_head = primary.is_head and same_unit
            primary.save(update_fields=["unit", "position", "is_head"])
        else:
            Membership.objects.create(user=user, unit=unit, position=position, is_primary=True)
        # A contact answers for a unit from inside it.
        left = [
            contact_unit
            for contact_unit in OrgUnit.objects.filter(contact=user)
            if not Membership.objects.filter(user=user, unit__path__startswith=contact_unit.path).exists()
        ]
        OrgUnit.objects.filter(pk__in=[u.pk for u in left]).update(contact=None)
        change = PersonnelChange.objects.create(
            user=user,
            kind=PersonnelChange.Kind.TRANSFER,
            from_unit=old_unit,
            to_unit=unit,
            from_position=old_position,
            to_position=position,
            reason=reason,
            actor=actor,
            created_at=clock.now(),
            review_status=PersonnelChange.Review.PENDING,
            details={"contact_cleared": sorted(u.code for u in left)},
        )
        record(
            actor=actor,
            action=guards.USER_TRANSFERRED,
            target=user,
            request=request,
            details={
                "from": _post_details(old_unit, old_position),
                "to": _post_details(unit, position),
                "reason": reason,
                "change_id": change.pk,
                "contact_cleared": sorted(u.code for u in left),
            },
        )
    access.forget(user)
    return change


# --------------------------------------------------------------------------- suspend, resume


def _switch_off(user: User, actor: User, request: HttpRequest | None) -> dict[str, int]:
    """Stop the account now: no sign-in, no open session, no API token."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    return {
        "sessions_ended": sessions.end_sessions(user, actor=actor, request=request),
        "tokens_revoked": sessions.revoke_tokens(user, actor=actor, request=request),
    }


def user_suspend(*, actor: User, user: User, reason: str, request: HttpRequest | None = None) -> User:
    """A disciplinary suspension (R-15): sign-in refused and sessions ended until resumed."""
    user = guards.manageable_account(actor, user.pk, guards.USER_SUSPENDED, request)
    reason = _clean_reason(reason, required=True)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        profile = _profile(user)
        if profile.status == StaffProfile.Status.DEPARTED:
            raise DomainError(_("该人员已离职。"))
        if profile.status == StaffProfile.Status.SUSPENDED:
            raise DomainError(_("该账号已暂停使用。"))
        stopped = _switch_off(user, actor, request)
        profile.status, profile.status_changed_at = StaffProfile.Status.SUSPENDED, clock.now()
        profile.save(update_fields=["status", "status_changed_at"])
        change = PersonnelChange.objects.create(
            user=user,
            kind=PersonnelChange.Kind.SUSPEND,
            reason=reason,
            actor=actor,
            created_at=clock.now(),
            details=stopped,
        )
        record(
            actor=actor,
            action=guards.USER_SUSPENDED,
            target=user,
            request=request,
            details={"reason": reason, "change_id": change.pk, **stopped},
        )
    access.forget(user)
    return user


def user_resume(*, actor: User, user: User, reason: str = "", request: HttpRequest | None = None) -> User:
    """Lift a suspension, or switch on an account disabled another way (e.g. dormant). The
    account signs in with its existing password; a departed account stays off."""
    user = guards.manageable_account(actor, user.pk, guards.USER_RESUMED, request)
    reason = _clean_reason(reason, required=False)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        profile = _profile(user)
        if profile.status == StaffProfile.Status.DEPARTED:
            raise DomainError(_("已离职的账号不能恢复；如重新入职，请新建账号。"))
        if user.is_active and profile.status == StaffProfile.Status.ACTIVE:
            raise DomainError(_("该账号正常使用中，无需恢复。"))
        previous = profile.status
        user.is_active = True
        user.save(update_fields=["is_active"])
        profile.status, profile.status_changed_at = StaffProfile.Status.ACTIVE, clock.now()
        profile.save(update_fields=["status", "status_changed_at"])
        change = PersonnelChange.objects.create(
            user=user,
            kind=PersonnelChange.Kind.RESUME,
            reason=reason,
            actor=actor,
            created_at=clock.now(),
            details={"previous_status": previous},
        )
        record(
            actor=actor,
            action=guards.USER_RESUMED,
            target=user,
            request=request,
            details={"reason": reason, "previous_status": previous, "change_id": change.pk},
        )
    access.forget(user)
    return user


# --------------------------------------------------------------------------- departure


@dataclass(frozen=True)
class Departure:
    change: PersonnelChange
    handed_over: list[handover.Outcome] = field(default_factory=list)
    sessions_ended: int = 0
    tokens_revoked: int = 0


def _successor(actor: User, successor: User | None, user: User) -> User:
    if successor is None:
        raise DomainError(
            _("请指定工作交接人。"), details=[{"field": "successor", "message": _("请指定工作交接人。")}]
        )
    if successor.pk == user.pk:
        raise DomainError(_("交接人不能是离职人员本人。"))
    # The successor receives the leaver's open work: someone the administrator answers for.
    try:
        found = selectors.manageable_user_get(actor=actor, user_id=successor.pk)
    except NotFoundError:
        raise DomainError(_("交接人不存在或不在您的管理范围内。")) from None
    if not found.is_active:
        raise DomainError(_("交接人的账号已停用。"))
    return found


def user_depart(
    *,
    actor: User,
    user: User,
    successor: User | None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Departure:
    """Record a departure (离职): the account is switched off at once, its sessions and
    tokens end (R-15), its headships end, and its open work goes to ``successor`` through
    every registered handover handler; the counts are audited. Posts stay on record, so
    that the leaver's department still shows in history and administration."""
    user = guards.manageable_account(actor, user.pk, guards.USER_DEPARTED, request)
    successor = _successor(actor, successor, user)
    reason = _clean_reason(reason, required=False)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        profile = _profile(user)
        if profile.status == StaffProfile.Status.DEPARTED:
            raise DomainError(_("该人员已办理离职。"))
        stopped = _switch_off(user, actor, request)
        profile.status, profile.status_changed_at = StaffProfile.Status.DEPARTED, clock.now()
        profile.save(update_fields=["status", "status_changed_at"])
        heads_ended = sorted(
            Membership.objects.filter(user=user, is_head=True).values_list("unit__code", flat=True)
        )
        Membership.objects.filter(user=user, is_head=True).update(is_head=False)
        contact_of = sorted(OrgUnit.objects.filter(contact=user).values_list("code", flat=True))
        OrgUnit.objects.filter(contact=user).update(contact=None)
        outcomes = handover.hand_over(user, successor)
        moved = {o.name: o.moved for o in outcomes if not o.failed}
        failed = [o.name for o in outcomes if o.failed]
        details: dict[str, Any] = {
            **stopped,
            "handover": moved,
            "handover_failed": failed,
            "heads_ended": heads_ended,
            "contact_cleared": contact_of,
        }
        primary = Membership.objects.filter(user=user, is_primary=True).select_related("unit").first()
        change = PersonnelChange.objects.create(
            user=user,
            kind=PersonnelChange.Kind.DEPART,
            from_unit=primary.unit if primary is not None else None,
            successor=successor,
            reason=reason,
            actor=actor,
            created_at=clock.now(),
            details=details,
        )
        record(
            actor=actor,
            action=guards.USER_DEPARTED,
            target=user,
            request=request,
            details={
                "reason": reason,
                "successor": successor.username,
                "change_id": change.pk,
                **details,
            },
        )
    access.forget(user)
    return Departure(change, outcomes, stopped["sessions_ended"], stopped["tokens_revoked"])


# --------------------------------------------------------------------------- review


def change_review(
    *, actor: User, change: PersonnelChange, note: str = "", request: HttpRequest | None = None
) -> PersonnelChange:
    """The security administrator confirms that the account's permissions fit its new post
    (after revoking what does not, on the role pages)."""
    if not access.can(actor, guards.REVIEW_CHANGES):
        raise guards.deny(
            actor, guards.CHANGE_REVIEWED, change, _("只有安全管理员可以复核权限。"), request=request
        )
    change = selectors.review_get(actor=actor, change_id=change.pk)
    if change.user_id == actor.pk:
        raise guards.deny(
            actor, guards.CHANGE_REVIEWED, change, _("不能复核自己的人事变动。"), request=request
        )
    note = " ".join(note.split())[:REASON_MAX]
    with transaction.atomic():
        change = PersonnelChange.objects.select_for_update().get(pk=change.pk)
        if change.review_status != PersonnelChange.Review.PENDING:
            raise DomainError(_("该变动已复核。"))
        change.review_status = PersonnelChange.Review.DONE
        change.reviewed_by, change.reviewed_at, change.review_note = actor, clock.now(), note
        change.save(update_fields=["review_status", "reviewed_by", "reviewed_at", "review_note"])
        record(
            actor=actor,
            action=guards.CHANGE_REVIEWED,
            target=change.user,
            request=request,
            details={"change_id": change.pk, "kind": change.kind, "note": note},
        )
    return change
