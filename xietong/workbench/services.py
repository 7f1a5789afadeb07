"""The writes of the workbench: the administrator's shortcuts to business systems, and the
to-dos that business systems push through the integration API (R-88).

Pushing, from a business system's API account (built-in role ``integration``)::

    todos_push(actor=erp_account, system="erp", system_name="ERP 系统", items=[TodoInput(...)])

upserts each item by (system, external_id): unknown users and bad items are reported one by
one without failing the rest. Titles go through the content rules; a new item notifies its
user (kind ``workbench.todo``), so the bell and the open workbench update at once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xietong.audit.models import Event
from xietong.audit.services import Target, record
from xietong.core import access, clock, events
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.identity.models import User
from xietong.moderation import services as moderation
from xietong.notify.services import notify
from xietong.org.models import OrgUnit, Role
from xietong.workbench import audit_actions, cache, icons, selectors
from xietong.workbench.models import ExternalTodo, Shortcut

MANAGE = selectors.MANAGE_SHORTCUTS
PUSH = selectors.PUSH_TODOS
#: The notification a new pushed to-do sends its user.
KIND_TODO = "workbench.todo"
#: Pushed to the user's open tabs whenever their pushed to-dos change.
EVENT_TODOS = "workbench.todos"
MODERATION_CONTEXT = "workbench.todo"
BATCH_MAX = 200

NAME_MAX = 32
DESCRIPTION_MAX = 100
URL_MAX = 500
TITLE_MAX = 200
DETAIL_MAX = 500
SYSTEM_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# No whitespace and no "/": the id is a segment of the done/delete address.
EXTERNAL_ID = re.compile(r"^[^\s/]{1,128}$")

_http_url = URLValidator(schemes=["http", "https"])

#: What a push again may change of an item (not its system, id, first pusher or creation).
PUSHED_FIELDS = [
    "user",
    "system_name",
    "title",
    "detail",
    "link",
    "due_at",
    "urgent",
    "review",
    "updated_at",
    "done_at",
]


# --------------------------------------------------------------------------- addresses


def _printable(text: str) -> bool:
    return all(char.isprintable() and not char.isspace() for char in text)


def clean_shortcut_url(raw: str) -> str:
    """An http(s) address, or a path inside the platform (``/portal/``). Anything else —
    ``javascript:``, ``//host``, blanks, control characters — is refused in Chinese."""
    url = (raw or "").strip()
    refused = DomainError(
        _("访问地址须以 http:// 或 https:// 开头，或为以 / 开头的站内路径（如 /portal/）。"),
        details=[{"field": "url", "message": _("访问地址格式不正确。")}],
    )
    if not url:
        raise DomainError(_("请填写访问地址。"), details=[{"field": "url", "message": _("请填写访问地址。")}])
    if len(url) > URL_MAX:
        message = _("访问地址不能超过 %(max)d 个字符。") % {"max": URL_MAX}
        raise DomainError(message, details=[{"field": "url", "message": message}])
    if not _printable(url):
        raise refused
    if url.startswith("/"):
        # "//host" and "/\host" are read by browsers as another site.
        if url.startswith("//") or url.startswith("/\\"):
            raise refused
        return url
    try:
        _http_url(url)
    except ValidationError:
        raise refused from None
    return url


def clean_todo_link(raw: str) -> str:
    link = (raw or "").strip()
    if not link or len(link) > URL_MAX or not _printable(link):
        raise DomainError(_("办理地址须为以 http:// 或 https:// 开头的完整网址（不超过 500 个字符）。"))
    try:
        _http_url(link)
    except ValidationError:
        raise DomainError(
            _("办理地址须为以 http:// 或 https:// 开头的完整网址（不超过 500 个字符）。")
        ) from None
    return link


def _one_line(text: str | None) -> str:
    # PostgreSQL refuses NUL; titles are one line.
    return " ".join(str(text or "").replace("\x00", "").split())


# --------------------------------------------------------------------------- shortcuts


def _deny(actor: Any, action: str, target: Shortcut | None, request: Any) -> PermissionDeniedError:
    record(actor=actor, action=action, target=target, result=Event.Result.DENIED, request=request)
    return PermissionDeniedError(_("只有系统管理员可以管理工作台快捷入口。"))


def _require_manage(actor: Any, action: str, target: Shortcut | None = None, request: Any = None) -> None:
    if not access.can(actor, MANAGE):
        raise _deny(actor, action, target, request)


def _shortcut_details(shortcut: Shortcut, units: Iterable[OrgUnit], roles: Iterable[Role]) -> dict[str, Any]:
    return {
        "name": shortcut.name,
        # The host only: an address may carry a single sign-on ticket or a token.
        "host": urlsplit(shortcut.url).hostname or shortcut.url.split("?", 1)[0],
        "icon": shortcut.icon,
        "audience": shortcut.audience,
        "units": sorted(unit.pk for unit in units),
        "roles": sorted(role.code for role in roles),
        "order": shortcut.order,
        "open_in_new_tab": shortcut.open_in_new_tab,
        "is_active": shortcut.is_active,
    }


def _validate_shortcut(shortcut: Shortcut, units: Sequence[OrgUnit], roles: Sequence[Role]) -> None:
    errors: list[dict[str, str]] = []
    shortcut.name = _one_line(shortcut.name)
    shortcut.description = _one_line(shortcut.description)
    if not shortcut.name:
        errors.append({"field": "name", "message": _("请填写名称。")})
    elif len(shortcut.name) > NAME_MAX:
        errors.append({"field": "name", "message": _("名称不能超过 %(max)d 个字符。") % {"max": NAME_MAX}})
    if len(shortcut.description) > DESCRIPTION_MAX:
        errors.append(
            {"field": "description", "message": _("说明不能超过 %(max)d 个字符。") % {"max": DESCRIPTION_MAX}}
        )
    try:
        shortcut.url = clean_shortcut_url(shortcut.url)
    except DomainError as exc:
        errors.append({"field": "url", "message": exc.message})
    if not icons.is_known(shortcut.icon):
        errors.append({"field": "icon", "message": _("请从列表中选择图标。")})
    if shortcut.audience not in Shortcut.Audience.values:
        errors.append({"field": "audience", "message": _("请选择可见范围。")})
    elif shortcut.audience == Shortcut.Audience.CHOSEN and not units and not roles:
        errors.append(
            {"field": "units", "message": _("请至少选择一个可见部门或角色，或将可见范围设为全员。")}
        )
    if errors:
        raise DomainError(errors[0]["message"], details=errors)


def shortcut_save(
    *,
    actor: User,
    shortcut: Shortcut,
    units: Sequence[OrgUnit] = (),
    roles: Sequence[Role] = (),
    request: Any = None,
) -> Shortcut:
    """Create or change a shortcut with its audience (units with their sub-units, roles)."""
    creating = shortcut.pk is None
    action = audit_actions.SHORTCUT_CREATED if creating else audit_actions.SHORTCUT_UPDATED
    _require_manage(actor, action, None if creating else shortcut, request)
    _validate_shortcut(shortcut, units, roles)
    if shortcut.audience == Shortcut.Audience.EVERYONE:
        units, roles = (), ()
    with transaction.atomic():
        if creating:
            shortcut.created_by = actor
            last = Shortcut.objects.aggregate(last=Max("order"))["last"]
            shortcut.order = (last or 0) + 10
        shortcut.save()
        shortcut.units.set(units)
        shortcut.roles.set(roles)
        record(
            actor=actor,
            action=action,
            target=shortcut,
            request=request,
            details=_shortcut_details(shortcut, units, roles),
        )
        cache.changed_for_everyone_on_commit(cache.SHORTCUTS)
    return shortcut


def shortcut_delete(*, actor: User, shortcut: Shortcut, request: Any = None) -> None:
    _require_manage(actor, audit_actions.SHORTCUT_DELETED, shortcut, request)
    with transaction.atomic():
        record(
            actor=actor,
            action=audit_actions.SHORTCUT_DELETED,
            target=Target("workbench.shortcut", shortcut.pk, shortcut.name),
            request=request,
            details=_shortcut_details(shortcut, shortcut.units.all(), shortcut.roles.all()),
        )
        shortcut.delete()
        cache.changed_for_everyone_on_commit(cache.SHORTCUTS)


def shortcut_move(*, actor: User, shortcut: Shortcut, up: bool, request: Any = None) -> bool:
    """Swap the shortcut with its neighbour above (``up``) or below; returns whether it moved.
    The whole list is numbered 10, 20, 30 … again, so that equal numbers never tie."""
    _require_manage(actor, audit_actions.SHORTCUT_MOVED, shortcut, request)
    with transaction.atomic():
        rows = list(Shortcut.objects.select_for_update().order_by("order", "pk"))
        index = next((i for i, row in enumerate(rows) if row.pk == shortcut.pk), None)
        if index is None:
            raise NotFoundError(_("快捷入口不存在。"))
        other = index - 1 if up else index + 1
        if not 0 <= other < len(rows):
            return False
        rows[index], rows[other] = rows[other], rows[index]
        for position, row in enumerate(rows, start=1):
            row.order = position * 10
        Shortcut.objects.bulk_update(rows, ["order"])
        record(
            actor=actor,
            action=audit_actions.SHORTCUT_MOVED,
            target=shortcut,
            request=request,
            details={"name": shortcut.name, "position": other + 1},
        )
        cache.changed_for_everyone_on_commit(cache.SHORTCUTS)
    return True


# --------------------------------------------------------------------------- pushed to-dos


@dataclass(frozen=True)
class TodoInput:
    """One pushed item as the business system describes it."""

    external_id: str
    user: str
    title: str
    link: str
    detail: str = ""
    due_at: dt.datetime | None = None
    urgent: bool = False
    done: bool = False


@dataclass(frozen=True)
class PushResult:
    external_id: str
    #: created, updated, held (waiting for the content review) or failed.
    status: str
    id: int | None = None
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class PushOutcome:
    system: str
    results: list[PushResult]

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)


class PushConflictError(DomainError):
    """Another push of the same item was stored first: nothing of this one was; send it again."""

    status = 409
    code = "conflict"


class _ItemError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _require_push(actor: Any, action: str, request: Any = None) -> None:
    if not access.can(actor, PUSH):
        record(actor=actor, action=action, result=Event.Result.DENIED, request=request)
        raise PermissionDeniedError(_("只有业务系统接入账号（持有“向工作台推送待办”权限）可以推送待办。"))


def clean_system(system: str) -> str:
    system = (system or "").strip()
    if not SYSTEM_CODE.match(system):
        raise DomainError(
            _("业务系统编码须为 1–32 位小写字母、数字、下划线或连字符，以字母或数字开头（如 erp、hr-oa）。"),
            details=[{"field": "system", "message": _("业务系统编码格式不正确。")}],
        )
    return system


@dataclass(frozen=True)
class _Clean:
    external_id: str
    user_ref: str
    title: str
    detail: str
    link: str
    due_at: dt.datetime | None
    urgent: bool
    done: bool


def _clean_item(item: TodoInput) -> _Clean:
    external_id = str(item.external_id or "").strip()
    if not EXTERNAL_ID.match(external_id):
        raise _ItemError("invalid", _("外部编号须为 1–128 个字符，不能含空白或“/”。"))
    title = _one_line(item.title)
    if not title:
        raise _ItemError("invalid", _("请填写待办标题。"))
    if len(title) > TITLE_MAX:
        raise _ItemError("invalid", _("待办标题不能超过 %(max)d 个字符。") % {"max": TITLE_MAX})
    detail = _one_line(item.detail)
    if len(detail) > DETAIL_MAX:
        raise _ItemError("invalid", _("说明不能超过 %(max)d 个字符。") % {"max": DETAIL_MAX})
    try:
        link = clean_todo_link(item.link)
    except DomainError as exc:
        raise _ItemError("invalid", exc.message) from None
    due_at = item.due_at
    if due_at is not None and timezone.is_naive(due_at):
        due_at = timezone.make_aware(due_at)  # a time without offset is Beijing time
    user_ref = str(item.user or "").strip()
    if not user_ref or len(user_ref) > 64:
        raise _ItemError("unknown_user", _("请指定办理人（用户名或工号）。"))
    return _Clean(external_id, user_ref, title, detail, link, due_at, bool(item.urgent), bool(item.done))


def _resolve_users(actor: User, refs: set[str]) -> dict[str, User]:
    """The active accounts named by user name (any case) or employee number, within the data
    scope of the actor's push permission: one query. A user name wins over an employee
    number that happens to read the same."""
    if not refs:
        return {}
    candidates = access.restrict(
        actor,
        PUSH,
        User.objects.filter(is_active=True),
        unit_field="memberships__unit",
        owner_field="pk",
    )
    rows = list(
        candidates.annotate(login=Lower("username")).filter(
            Q(login__in={ref.lower() for ref in refs}) | Q(employee_no__in=refs)
        )
    )
    by_login = {user.username.lower(): user for user in rows}
    by_number = {user.employee_no: user for user in rows if user.employee_no}
    found: dict[str, User] = {}
    for ref in refs:
        user = by_login.get(ref.lower()) or by_number.get(ref)
        if user is not None:
            found[ref] = user
    return found


#: New to-dos of one push listed by title in a grouped notification; the rest are counted.
GROUP_LISTED = 10


def _notify_one(row: ExternalTodo, actor: User | None) -> None:
    body = row.detail
    if row.due_at is not None:
        due = timezone.localtime(row.due_at).strftime("%Y-%m-%d %H:%M")
        body = (body + "\n" if body else "") + _("办理期限：%(due)s") % {"due": due}
    notify(
        recipients=[f"user:{row.user_id}"],
        kind=KIND_TODO,
        title=_("【%(system)s】%(title)s") % {"system": row.source_label, "title": row.title},
        body=body,
        link=reverse("workbench:todo_open", args=[row.pk]),
        urgency="urgent" if row.urgent else "normal",
        actor=actor,
        source=row,
    )


def _notify_many(user_id: int, rows: Sequence[ExternalTodo], actor: User | None) -> None:
    lines = [f"· {row.title}" for row in rows[:GROUP_LISTED]]
    if len(rows) > GROUP_LISTED:
        lines.append(_("……共 %(count)d 条") % {"count": len(rows)})
    notify(
        recipients=[f"user:{user_id}"],
        kind=KIND_TODO,
        title=_("【%(system)s】您有 %(count)d 条新待办")
        % {"system": rows[0].source_label, "count": len(rows)},
        body="\n".join(lines),
        link=reverse("workbench:todos"),
        actor=actor,
    )


def _notify_new(rows: Sequence[ExternalTodo], actor: User | None) -> None:
    """Tell each user of their new to-dos: an urgent one on its own (急办 is pushed and sent
    again until read, R-65); the others one by one, or — a system syncing a backlog — in one
    notification per user, so that a batch does not bury the bell."""
    grouped: dict[int, list[ExternalTodo]] = {}
    for row in rows:
        if row.urgent:
            _notify_one(row, actor)
        else:
            grouped.setdefault(row.user_id, []).append(row)
    for user_id, group in grouped.items():
        if len(group) == 1:
            _notify_one(group[0], actor)
        else:
            _notify_many(user_id, group, actor)


def _push_changed(user_ids: Iterable[int]) -> None:
    users = sorted(set(user_ids))
    # The users' cached cards are outdated by this module's own change, whatever becomes of
    # the push (which outdates them as well).
    cache.changed_for_on_commit(users, {"workbench"})
    events.push_to_users([(user_id, EVENT_TODOS, {}) for user_id in users])


def todos_push(
    *,
    actor: User,
    system: str,
    items: Sequence[TodoInput],
    system_name: str = "",
    request: Any = None,
) -> PushOutcome:
    """Create or update ``items`` of ``system`` (R-88), each by its external id.

    Each item names its user by user name or employee number; an unknown or inactive user,
    one outside the account's data scope, a bad field, a blocked word, or an item that another
    account pushed is reported for that item, and the rest are stored. ``done=True`` closes
    an item (it leaves the workbench); pushing it again without opens it again. A new open
    item notifies its user; a title held by the content rules waits for the reviewer.
    """
    _require_push(actor, audit_actions.TODOS_PUSHED, request)
    system = clean_system(system)
    system_name = _one_line(system_name)[:NAME_MAX]
    if not items:
        raise DomainError(_("请至少提交一条待办。"))
    if len(items) > BATCH_MAX:
        raise DomainError(_("一次最多推送 %(max)d 条待办，请分批提交。") % {"max": BATCH_MAX})

    results: dict[int, PushResult] = {}
    cleaned: dict[int, _Clean] = {}
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            clean = _clean_item(item)
            if clean.external_id in seen:
                raise _ItemError("duplicate", _("同一批次中外部编号重复，已忽略后一条。"))
        except _ItemError as exc:
            results[index] = PushResult(
                str(item.external_id or "")[:128], "failed", code=exc.code, message=exc.message
            )
            continue
        seen.add(clean.external_id)
        cleaned[index] = clean

    users = _resolve_users(actor, {clean.user_ref for clean in cleaned.values()})
    existing = {
        row.external_id: row
        for row in ExternalTodo.objects.filter(
            system=system, external_id__in=[clean.external_id for clean in cleaned.values()]
        )
    }
    # A to-do handed to someone else leaves the first person's page too.
    previous_users = {row.user_id for row in existing.values()}
    verdicts: dict[int, moderation.Verdict] = {}
    for index, clean in list(cleaned.items()):
        failure: _ItemError | None = None
        row = existing.get(clean.external_id)
        if clean.user_ref not in users:
            failure = _ItemError(
                "unknown_user",
                _("用户“%(user)s”不存在、已停用或不在本账号的推送范围内。") % {"user": clean.user_ref},
            )
        elif row is not None and row.pushed_by_id not in (None, actor.pk):
            failure = _ItemError("forbidden", _("该待办由其他接口账号推送，本账号不能修改。"))
        else:
            try:
                # Before the writes: a refusal records a violation that must not roll back.
                verdicts[index] = moderation.screen(
                    actor=actor,
                    fields={"title": clean.title, "detail": clean.detail},
                    context=MODERATION_CONTEXT,
                )
            except moderation.ContentBlockedError as exc:
                failure = _ItemError(exc.code, exc.message)
        if failure is not None:
            results[index] = PushResult(
                clean.external_id, "failed", code=failure.code, message=failure.message
            )
            del cleaned[index]

    now = clock.now()
    created: list[tuple[int, ExternalTodo]] = []
    updated: list[tuple[int, ExternalTodo]] = []
    for index, clean in cleaned.items():
        held = verdicts[index].held
        row = existing.get(clean.external_id) or ExternalTodo(
            system=system, external_id=clean.external_id, pushed_by=actor, created_at=now
        )
        row.user = users[clean.user_ref]
        row.system_name = system_name or row.system_name
        row.title, row.detail, row.link = clean.title, clean.detail, clean.link
        row.due_at, row.urgent, row.updated_at = clean.due_at, clean.urgent, now
        row.review = ExternalTodo.Review.PENDING if held else ExternalTodo.Review.PUBLISHED
        if clean.done:
            row.done_at = row.done_at or now
        else:
            row.done_at = None
        (updated if row.pk else created).append((index, row))

    new_indexes = {index for index, _row in created}
    try:
        with transaction.atomic():
            if created:
                ExternalTodo.objects.bulk_create([row for _index, row in created])
                if any(row.pk is None for _index, row in created):  # MySQL returns no ids
                    ids = dict(
                        ExternalTodo.objects.filter(
                            system=system, external_id__in=[row.external_id for _index, row in created]
                        ).values_list("external_id", "pk")
                    )
                    for _index, row in created:
                        row.pk = ids[row.external_id]
            if updated:
                ExternalTodo.objects.bulk_update([row for _index, row in updated], PUSHED_FIELDS)
            for index, row in created + updated:
                if verdicts[index].held:
                    moderation.hold_for_review(
                        actor=actor,
                        target=row,
                        fields={"title": row.title, "detail": row.detail},
                        verdict=verdicts[index],
                        context=MODERATION_CONTEXT,
                    )
                    results[index] = PushResult(row.external_id, "held", id=row.pk)
                else:
                    status = "created" if index in new_indexes else "updated"
                    results[index] = PushResult(row.external_id, status, id=row.pk)
            _notify_new([row for index, row in created if row.visible], actor)
            touched = {row.user_id for _index, row in created + updated}
            _push_changed(touched | (previous_users if updated else set()))
            outcome = PushOutcome(system, [results[index] for index in range(len(items))])
            record(
                actor=actor,
                action=audit_actions.TODOS_PUSHED,
                target=Target("workbench.system", system, system_name or system),
                request=request,
                details={
                    "system": system,
                    "created": outcome.count("created"),
                    "updated": outcome.count("updated"),
                    "held": outcome.count("held"),
                    "failed": outcome.count("failed"),
                    "external_ids": [result.external_id for result in outcome.results][:50],
                },
            )
    except IntegrityError:
        # Two pushes created the same (system, external_id) at once and the other one won:
        # nothing of this one was stored (notifications and pushes go out on commit only).
        raise PushConflictError(_("同一待办正被同时推送，本次未保存，请重新提交。")) from None
    return outcome


def _pushed(actor: User, system: str, external_id: str) -> ExternalTodo:
    """An item this account pushed; another account's looks the same as a missing one."""
    rows = ExternalTodo.objects.select_related("user").select_for_update(of=("self",))
    row = rows.filter(system=system, external_id=external_id).first()
    if row is None or row.pushed_by_id not in (None, actor.pk):
        raise NotFoundError(_("待办不存在。"))
    return row


def todo_done(*, actor: User, system: str, external_id: str, request: Any = None) -> ExternalTodo:
    """The business system says the item is handled: it leaves the user's workbench."""
    _require_push(actor, audit_actions.TODO_DONE, request)
    with transaction.atomic():
        row = _pushed(actor, system, external_id)
        if row.done_at is None:
            now = clock.now()
            ExternalTodo.objects.filter(pk=row.pk).update(done_at=now, updated_at=now)
            row.done_at = row.updated_at = now
            _push_changed([row.user_id])
    return row


def todo_delete(*, actor: User, system: str, external_id: str, request: Any = None) -> None:
    """The business system withdraws the item (cancelled, sent in error)."""
    _require_push(actor, audit_actions.TODO_DELETED, request)
    with transaction.atomic():
        row = _pushed(actor, system, external_id)
        record(
            actor=actor,
            action=audit_actions.TODO_DELETED,
            target=Target("workbench.externaltodo", row.pk, row.title),
            request=request,
            details={"system": system, "external_id": external_id, "user": row.user_id},
        )
        row.delete()
        _push_changed([row.user_id])


# --------------------------------------------------------------------------- review of held titles


def on_review_approved(obj: Any, reviewer: Any) -> None:
    """A held title was approved: the to-do appears, and its user is told as for a new one."""
    row = ExternalTodo.objects.select_for_update().get(pk=obj.pk)
    ExternalTodo.objects.filter(pk=row.pk).update(review=ExternalTodo.Review.PUBLISHED)
    row.review = ExternalTodo.Review.PUBLISHED
    if row.done_at is None:
        _notify_new([row], row.pushed_by)
        _push_changed([row.user_id])


def on_review_rejected(obj: Any, reviewer: Any, note: str) -> None:
    ExternalTodo.objects.filter(pk=obj.pk).update(review=ExternalTodo.Review.REJECTED)
