"""收文 services: 签收, 登记 (收文号), 初审 (退回), 拟办, 批办, 承办, 传阅, 催办 and 办结
(条例 第二十四条; domain notes §2.3–§2.5).

Each service is one transaction with a row lock on the document; every step appends a
``DocumentEvent`` (业务行为, 行为时间, 机构人员名称 — GB/T 18894 process metadata) and notifies
the people who act next. ``deliver`` is called by the 分发 of an outgoing document inside its
own transaction and opens none of its own beyond a savepoint.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xietong.core import access, classification, clock, events
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.documents import rules
from xietong.documents.models import (
    Channel,
    Circulation,
    Distribution,
    DocType,
    DocumentEvent,
    Handling,
    IncomingCounter,
    IncomingDocument,
    IncomingState,
    Urgency,
)
from xietong.documents.permissions import CLERK
from xietong.identity.models import User
from xietong.moderation import services as moderation
from xietong.notify.services import notify
from xietong.org.models import Membership, OrgUnit

# Notification kinds (registered in ``incoming_wiring``).
KIND_ARRIVED = "documents.incoming.arrived"
KIND_TODO = "documents.incoming.todo"
KIND_CIRCULATED = "documents.incoming.circulated"
KIND_URGED = "documents.incoming.urged"
KIND_OVERDUE = "documents.incoming.overdue"
KIND_RETURNED = "documents.incoming.returned"
KIND_CONCLUDED = "documents.incoming.concluded"

#: Pushed to the clerks of a receiving unit when a document enters or leaves their shared
#: queue (待签收, 待拟办, 待办结): their open pages and cached workbench cards follow.
EVENT_QUEUE = "documents.incoming"

#: 催办 of one handling at most once an hour; overdue reminders once a day.
URGE_INTERVAL = dt.timedelta(hours=1)
OVERDUE_INTERVAL = dt.timedelta(days=1)

TEXT_MAX = 2000
_COPY_NO = re.compile(r"^\d{6}$")  # 份号: six digits (9704 §7.2.1)


T = TypeVar("T")


class IncomingInvalidError(DomainError):
    """Input that does not fit: one detail per field (422 on the API, errors next to fields
    on the pages)."""

    status = 422
    code = "validation_error"


class StaleError(DomainError):
    """Someone changed the document since the caller read it."""

    status = 409
    code = "conflict"


# The idempotency key of the current call (API and forms), stored on its events.
_REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("incoming_request_id", default="")


@contextmanager
def request(request_id: str | None) -> Iterator[None]:
    """Run a service under an idempotency key: its events carry it (see ``seen``)."""
    token = _REQUEST_ID.set(request_id or "")
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)


def seen(actor: User, document_id: Any, request_id: str | None) -> bool:
    """Was a step on this document already done by ``actor`` under ``request_id``?"""
    if not request_id:
        return False
    return DocumentEvent.objects.filter(
        incoming_id=document_id, actor_id=actor.pk, detail__request_id=request_id
    ).exists()


def _invalid(field: str, message: str) -> IncomingInvalidError:
    return IncomingInvalidError(message, details=[{"field": field, "message": message}])


def link_of(document: IncomingDocument | int) -> str:
    pk = document if isinstance(document, int) else document.pk
    return reverse("documents:incoming_detail", args=[pk])


# --------------------------------------------------------------------------- shared pieces


def normalise_doc_no(value: str) -> str:
    """The 来文字号 in its strict form ``国办发〔2024〕12号``; empty stays empty. A number that
    cannot be read as a 发文字号 is refused, naming the field."""
    text = (value or "").strip()
    if not text:
        return ""
    parsed = rules.parse_doc_no(text, lenient=True)
    if parsed is None or not 1900 <= parsed.year <= 2099:
        raise _invalid("sender_doc_no", _("来文字号格式不正确，应如“国办发〔2024〕12号”。"))
    return str(parsed)


def clerks_of(unit: OrgUnit | int) -> list[User]:
    """The active holders of ``documents.clerk`` whose data scope covers ``unit``.

    Two queries find the candidates (the roles that carry the permission, then the accounts
    holding one of them directly or through a post); each candidate's scope is then checked
    by the access layer itself, so that every scope kind (本部门, 本公司, 指定部门 …) counts
    exactly as it does everywhere else. Clerks are few per organisation."""
    from xietong.org.models import Role

    role_ids = [pk for pk, perms in Role.objects.values_list("pk", "permissions") if CLERK in (perms or [])]
    if not role_ids:
        return []
    now = clock.now()
    from django.db.models import Q

    live = Q(role_grants__expires_at__isnull=True) | Q(role_grants__expires_at__gt=now)
    by_post = Q(
        memberships__position__role_grants__role_id__in=role_ids,
    ) & (
        Q(memberships__position__role_grants__expires_at__isnull=True)
        | Q(memberships__position__role_grants__expires_at__gt=now)
    )
    candidates = (
        User.objects.filter(is_active=True)
        .filter((Q(role_grants__role_id__in=role_ids) & live) | by_post)
        .distinct()
        .order_by("pk")
    )
    if not isinstance(unit, OrgUnit):
        # Read once here: a subtree scope would otherwise read the unit's path per candidate.
        found = OrgUnit.objects.filter(pk=unit).first()
        if found is None:
            return []
        unit = found
    return [user for user in candidates if access.can_on(user, CLERK, None, unit=unit, acl=False)]


def is_clerk(user: User, unit: OrgUnit | int) -> bool:
    return access.can_on(user, CLERK, None, unit=unit, acl=False)


def heads_of(unit_ids: Iterable[int]) -> list[int]:
    return list(
        Membership.objects.filter(unit_id__in=list(unit_ids), is_head=True, user__is_active=True)
        .values_list("user_id", flat=True)
        .distinct()
    )


def acts_for_unit(user: User, unit: OrgUnit | int) -> bool:
    """A 承办 unit acts through its head and its clerks; its members read."""
    unit_id = unit.pk if isinstance(unit, OrgUnit) else unit
    if Membership.objects.filter(user_id=user.pk, unit_id=unit_id, is_head=True).exists():
        return True
    return is_clerk(user, unit_id)


def _unit_actors(unit_ids: Iterable[int]) -> list[int]:
    ids = set(heads_of(unit_ids))
    for unit_id in unit_ids:
        ids.update(user.pk for user in clerks_of(unit_id))
    return sorted(ids)


def _actor_unit(actor: User) -> str:
    membership = (
        Membership.objects.filter(user_id=actor.pk)
        .order_by("-is_primary", "pk")
        .select_related("unit")
        .first()
    )
    return membership.unit.name if membership is not None else ""


def _event(
    document: IncomingDocument,
    actor: User | None,
    action: str,
    *,
    opinion: str = "",
    detail: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> DocumentEvent:
    detail = dict(detail or {})
    if _REQUEST_ID.get() and "request_id" not in detail:
        detail["request_id"] = _REQUEST_ID.get()
    return DocumentEvent.objects.create(
        incoming=document,
        action=action,
        actor=actor,
        actor_name=(actor.name or actor.username) if actor is not None else _("系统"),
        actor_unit=_actor_unit(actor) if actor is not None else "",
        at=at or clock.now(),
        opinion=opinion,
        detail=detail,
    )


def _send(
    document: IncomingDocument,
    user_ids: Iterable[int],
    kind: str,
    title: str,
    *,
    actor: User | None,
    body: str = "",
) -> None:
    ids = sorted({pk for pk in user_ids if pk is not None and (actor is None or pk != actor.pk)})
    if not ids:
        return
    notify(
        recipients=[f"user:{pk}" for pk in ids],
        kind=kind,
        title=title[:200],
        body=body,
        link=link_of(document),
        urgency="urgent" if document.urgency == Urgency.VERY_URGENT else "normal",
        actor=actor,
        source=document,
    )


def _queue_changed(document: IncomingDocument, clerks: Iterable[User] | None = None) -> None:
    """The document entered or left the shared queue of its receiving unit's clerks: each
    clerk cleared for it is told (the actor too, for their other tabs), after commit, and
    their cached workbench cards are outdated at once. ``clerks``: ``clerks_of`` the
    receiving unit when the caller has it already."""
    if clerks is None:
        clerks = clerks_of(document.receiving_unit_id)
    ids = sorted({user.pk for user in clerks if classification.allows(user, document.classification)})
    events.push_to_users((pk, EVENT_QUEUE, {"document": document.pk}) for pk in ids)


def _screen(actor: User, fields: Mapping[str, str], context: str) -> None:
    """The content rules (R-27): a word that would hold a text refuses it here."""
    texts = {key: value for key, value in fields.items() if value}
    if not texts:
        return
    verdict = moderation.screen(actor=actor, fields=texts, context=context)
    if verdict.held:
        words = "、".join(f"“{word}”" for word in verdict.words_with("hold"))
        raise DomainError(_("内容包含需审核的词语：%(words)s，请修改后再提交。") % {"words": words})


def _text(value: str | None, field: str, label: str, *, required: bool = False, limit: int = TEXT_MAX) -> str:
    text = (value or "").strip()
    if required and not text:
        raise _invalid(field, _("请填写%(label)s。") % {"label": label})
    if len(text) > limit:
        raise _invalid(field, _("%(label)s不能超过 %(n)s 个字。") % {"label": label, "n": limit})
    return text


def _lock(document_id: Any, lock_version: int | None = None) -> IncomingDocument:
    try:
        document = IncomingDocument.objects.select_for_update().get(pk=document_id)
    except (IncomingDocument.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("收文不存在或无权访问。")) from None
    if lock_version is not None and lock_version != document.lock_version:
        raise StaleError(_("该收文已被他人处理，请刷新后重试。"))
    return document


def _cleared(actor: User, document: IncomingDocument) -> None:
    if not classification.allows(actor, document.classification):
        raise NotFoundError(_("收文不存在或无权访问。"))


def _require_clerk(actor: User, document: IncomingDocument) -> None:
    _cleared(actor, document)
    if not is_clerk(actor, document.receiving_unit_id):
        raise PermissionDeniedError(_("只有收文单位的公文管理员可以办理此步骤。"))


def _state(document: IncomingDocument, *states: str) -> None:
    if document.state not in states:
        raise DomainError(
            _("收文当前状态为“%(state)s”，不能办理此步骤。") % {"state": document.get_state_display()}
        )


def _save(document: IncomingDocument, *fields: str) -> None:
    document.lock_version += 1
    document.save(update_fields=[*fields, "lock_version"])


def _number(document: IncomingDocument, now: dt.datetime) -> None:
    """收文号 收〔2026〕15号: gap-free per receiving unit and year, taken under the counter's
    row lock at 登记 (条例 第二十四条(二))."""
    year = timezone.localtime(now).year
    IncomingCounter.objects.get_or_create(unit_id=document.receiving_unit_id, year=year)
    counter = IncomingCounter.objects.select_for_update().get(unit_id=document.receiving_unit_id, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    document.recv_year = year
    document.recv_seq = counter.last
    # Stored as the register writes it, whatever the clerk's language.
    document.recv_no = f"收〔{year}〕{counter.last}号"


def _active_users(ids: Sequence[Any], field: str, label: str, level: int) -> list[User]:
    """Chosen people: active, and cleared for the document's 密级 (never sent beyond it)."""
    try:
        wanted = sorted({int(pk) for pk in ids})
    except (TypeError, ValueError):
        raise _invalid(field, _("%(label)s无效。") % {"label": label}) from None
    users = list(User.objects.filter(pk__in=wanted, is_active=True))
    if len(users) != len(wanted):
        raise _invalid(field, _("%(label)s中有无效或已停用的账号。") % {"label": label})
    uncleared = [u.name or u.username for u in users if not classification.allows(u, level)]
    if uncleared:
        raise _invalid(
            field,
            _("%(names)s 的密级权限低于本文密级，不能送其办理或阅知。") % {"names": "、".join(uncleared)},
        )
    return users


def _sender_people(document: IncomingDocument) -> list[int]:
    """The drafter and the clerks of the sending unit, when it came over the platform."""
    source = document.source
    if source is None:
        return []
    ids = {source.drafter_id}
    unit_id = source.drafting_unit_id or getattr(source.organ, "unit_id", None)
    if unit_id is not None:
        ids.update(user.pk for user in clerks_of(unit_id))
    return sorted(pk for pk in ids if pk is not None)


def _request_seen(actor: User, action: str, request_id: str | None) -> IncomingDocument | None:
    """An idempotent repeat: the document an earlier call with this key produced."""
    if not request_id:
        return None
    event = (
        DocumentEvent.objects.filter(
            actor_id=actor.pk, action=action, detail__request_id=request_id, incoming__isnull=False
        )
        .select_related("incoming")
        .first()
    )
    return event.incoming if event is not None else None


# --------------------------------------------------------------------------- arrival


def deliver(*, distribution: Distribution, actor: User) -> IncomingDocument:
    """The copy ``distribution`` arrives at its unit as a PENDING 收文 (待签收), and the
    unit's clerks are told. Runs inside the caller's transaction (分发); delivering the same
    copy twice answers the 收文 made the first time."""
    existing = IncomingDocument.objects.filter(distribution_id=distribution.pk).first()
    if existing is not None:
        return existing
    source = distribution.document
    organ = source.organ
    now = clock.now()
    with transaction.atomic():  # a savepoint inside the caller's transaction
        document = IncomingDocument.objects.create(
            receiving_unit_id=distribution.unit_id,
            source=source,
            distribution=distribution,
            channel=Channel.ELECTRONIC,
            sender_org=organ.name if organ is not None else "",
            sender_doc_no=source.doc_no,
            title=source.title,
            doc_type=source.doc_type,
            classification=source.classification,
            urgency=source.urgency,
            date_written=source.date_written,
            copies=1,
            copy_no=distribution.copy_no,
            state=IncomingState.PENDING,
            created_at=now,
        )
        _event(document, actor, "送达", detail={"distribution": distribution.pk}, at=now)
        # No queue event: this notice reaches every cleared clerk of the unit but the actor
        # (its page refreshes on it, its cached cards are outdated), and the 分发's audit
        # record outdates the actor's own.
        _send(
            document,
            (user.pk for user in clerks_of(distribution.unit_id)),
            KIND_ARRIVED,
            _("待签收公文：%(title)s") % {"title": document.title},
            actor=actor,
            body=document.sender_org,
        )
    return document


def register_paper(
    *,
    actor: User,
    unit: OrgUnit | int,
    sender_org: str,
    title: str,
    sender_doc_no: str = "",
    doc_type: str = "",
    classification_level: int = 0,
    urgency: str = "",
    date_written: dt.date | None = None,
    channel: str = Channel.CONFIDENTIAL,
    copies: int = 1,
    copy_no: str = "",
    scan: Any = None,
    request_id: str | None = None,
) -> IncomingDocument:
    """A clerk registers a paper or external document by hand: 签收 and 登记 at once, with
    the scan (required for paper) and a 收文号 (条例 第二十四条(一)(二))."""
    unit_id = unit.pk if isinstance(unit, OrgUnit) else int(unit)
    if not is_clerk(actor, unit_id):
        raise PermissionDeniedError(_("只有收文单位的公文管理员可以登记收文。"))
    repeat = _request_seen(actor, "登记", request_id)
    if repeat is not None:
        return repeat
    # Every field is checked before the form is answered, so that all its errors show at once.
    problems: list[dict[str, str]] = []

    def checked(check: Callable[[], T], fallback: T) -> T:
        try:
            return check()
        except IncomingInvalidError as refusal:
            problems.extend(refusal.details)
            return fallback

    def refuse(field: str, message: str) -> None:
        problems.extend(_invalid(field, message).details)

    sender_org = checked(lambda: _text(sender_org, "sender_org", _("来文单位"), required=True, limit=100), "")
    title = checked(lambda: _text(title, "title", _("标题"), required=True, limit=200), "")
    doc_no = checked(lambda: normalise_doc_no(sender_doc_no), "")
    if doc_type and doc_type not in DocType.values:
        refuse("doc_type", _("文种无效。"))
    if urgency not in Urgency.values:
        refuse("urgency", _("紧急程度无效。"))
    if channel not in Channel.values:
        refuse("channel", _("来文方式无效。"))
    if classification_level not in classification.levels():
        refuse("classification", _("密级无效。"))
    elif not classification.allows(actor, classification_level):
        refuse("classification", _("您的密级权限低于所填密级，不能登记该收文。"))
    if not isinstance(copies, int) or copies < 1 or copies > 9999:
        refuse("copies", _("份数应为 1 至 9999。"))
    copy_no = (copy_no or "").strip()
    if copy_no and not _COPY_NO.match(copy_no):
        refuse("copy_no", _("份号应为 6 位数字。"))
    if date_written is not None and date_written > timezone.localdate():
        refuse("date_written", _("成文日期不能晚于今天。"))
    if scan is None and channel != Channel.ELECTRONIC:
        refuse("scan", _("纸质来文须上传扫描件。"))
    if problems:
        raise IncomingInvalidError(problems[0]["message"], details=problems)
    _screen(actor, {"title": title, "sender_org": sender_org}, "documents.incoming")

    stored = None
    if scan is not None:
        from xietong.files.services import store_upload

        stored = store_upload(
            actor=actor, upload=scan, context="documents.incoming_scan", classification=classification_level
        )
    now = clock.now()
    with transaction.atomic():
        OrgUnit.objects.filter(pk=unit_id).values_list("pk", flat=True).get()
        document = IncomingDocument(
            receiving_unit_id=unit_id,
            channel=channel,
            sender_org=sender_org,
            sender_doc_no=doc_no,
            title=title,
            doc_type=doc_type,
            classification=classification_level,
            urgency=urgency,
            date_written=date_written,
            copies=copies,
            copy_no=copy_no,
            scan=stored,
            state=IncomingState.REGISTERED,
            received_at=now,
            received_by=actor,
            created_at=now,
        )
        _number(document, now)
        document.save()
        _event(document, actor, "签收", at=now)
        _event(
            document,
            actor,
            "登记",
            detail={"recv_no": document.recv_no, "request_id": request_id or ""},
            at=now,
        )
        _queue_changed(document)
    return document


def sign_for(*, actor: User, document_id: Any, lock_version: int | None = None) -> IncomingDocument:
    """签收 a document that came over the platform, recording the time; an electronic one is
    登记'd (numbered) at once (条例 第二十四条(一)(二))."""
    with transaction.atomic():
        document = _lock(document_id, lock_version)
        _require_clerk(actor, document)
        _state(document, IncomingState.PENDING)
        now = clock.now()
        document.received_at = now
        document.received_by = actor
        document.state = IncomingState.REGISTERED
        _number(document, now)
        _save(document, "received_at", "received_by", "state", "recv_year", "recv_seq", "recv_no")
        _event(document, actor, "签收", at=now)
        _event(document, actor, "登记", detail={"recv_no": document.recv_no}, at=now)
        _queue_changed(document)
    return document


def return_to_sender(
    *, actor: User, document_id: Any, reason: str, lock_version: int | None = None
) -> IncomingDocument:
    """初审 fails: the document goes back to the sender with the reasons (条例 第二十四条(三))."""
    reason = _text(reason, "reason", _("退回理由"), required=True, limit=500)
    with transaction.atomic():
        document = _lock(document_id, lock_version)
        _require_clerk(actor, document)
        _state(document, IncomingState.PENDING, IncomingState.REGISTERED)
        _screen(actor, {"reason": reason}, "documents.incoming")
        document.state = IncomingState.RETURNED
        document.result = reason
        document.closed_at = clock.now()
        document.closed_by = actor
        _save(document, "state", "result", "closed_at", "closed_by")
        _event(document, actor, "退回", opinion=reason)
        _send(
            document,
            _sender_people(document),
            KIND_RETURNED,
            _("来文被退回：%(title)s") % {"title": document.title},
            actor=actor,
            body=reason,
        )
        _queue_changed(document)
    return document


def propose(
    *,
    actor: User,
    document_id: Any,
    proposal: str,
    for_reading: bool = False,
    leader_id: int | None = None,
    reader_ids: Sequence[int] = (),
    lock_version: int | None = None,
) -> IncomingDocument:
    """拟办: a 批办性 document goes to the chosen leader (→ PROPOSED); a 阅知性 one is
    circulated to its readers at once (→ CIRCULATING) (条例 第二十四条(四))."""
    proposal = _text(proposal, "proposal", _("拟办意见"), required=True)
    with transaction.atomic():
        document = _lock(document_id, lock_version)
        _require_clerk(actor, document)
        _state(document, IncomingState.REGISTERED)
        _screen(actor, {"proposal": proposal}, "documents.incoming")
        document.proposal = proposal
        document.for_reading = bool(for_reading)
        if for_reading:
            if not reader_ids:
                raise _invalid("readers", _("阅知性公文请选择传阅人。"))
            readers = _active_users(reader_ids, "readers", _("传阅人"), document.classification)
            document.state = IncomingState.CIRCULATING
            _save(document, "proposal", "for_reading", "state")
            _event(document, actor, "拟办", opinion=proposal, detail={"for_reading": True})
            _add_readers(document, readers, actor)
        else:
            if not leader_id:
                raise _invalid("leader", _("请选择批办领导。"))
            (leader,) = _active_users([leader_id], "leader", _("批办领导"), document.classification)
            document.leader = leader
            document.state = IncomingState.PROPOSED
            _save(document, "proposal", "for_reading", "leader", "state")
            _event(
                document,
                actor,
                "拟办",
                opinion=proposal,
                detail={"leader": leader.pk, "leader_name": leader.name or leader.username},
            )
            _send(
                document,
                [leader.pk],
                KIND_TODO,
                _("请批办：%(title)s") % {"title": document.title},
                actor=actor,
                body=proposal,
            )
        _queue_changed(document)
    return document


def _parse_deadline(value: Any, index: int) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time(18, 0))
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise _invalid(f"handlings.{index}.deadline", _("办理时限格式不正确。")) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def instruct(
    *,
    actor: User,
    document_id: Any,
    instruction: str,
    handlings: Sequence[Mapping[str, Any]] = (),
    reader_ids: Sequence[int] = (),
    lock_version: int | None = None,
) -> IncomingDocument:
    """批办 by the leader asked: the 批示 and the 承办 units with their deadlines (→ HANDLING),
    or, with readers only, a 批示 to circulate (→ CIRCULATING). With two or more units exactly
    one is the 主办; 紧急公文 must carry a deadline (条例 第二十四条(五)(六))."""
    instruction = _text(instruction, "instruction", _("领导批示"), required=True)
    with transaction.atomic():
        document = _lock(document_id, lock_version)
        _cleared(actor, document)
        _state(document, IncomingState.PROPOSED)
        if document.leader_id != actor.pk:
            raise PermissionDeniedError(_("只有被请示的领导可以批办。"))
        if not handlings and not reader_ids:
            raise _invalid("handlings", _("请指定承办部门或传阅人。"))
        now = clock.now()
        rows: list[Handling] = []
        seen: set[int] = set()
        for index, entry in enumerate(handlings):
            try:
                unit_id = int(entry.get("unit_id") or 0)
            except (TypeError, ValueError):
                unit_id = 0
            if not unit_id:
                raise _invalid(f"handlings.{index}.unit", _("请选择承办部门。"))
            if unit_id in seen:
                raise _invalid(f"handlings.{index}.unit", _("承办部门重复。"))
            seen.add(unit_id)
            deadline = _parse_deadline(entry.get("deadline"), index)
            if deadline is None and document.urgency in (Urgency.URGENT, Urgency.VERY_URGENT):
                raise _invalid(f"handlings.{index}.deadline", _("紧急公文必须注明办理时限。"))
            if deadline is not None and deadline <= now:
                raise _invalid(f"handlings.{index}.deadline", _("办理时限应晚于现在。"))
            rows.append(
                Handling(
                    document=document, unit_id=unit_id, is_lead=bool(entry.get("is_lead")), deadline=deadline
                )
            )
        units = dict(OrgUnit.objects.filter(pk__in=seen, is_active=True).values_list("pk", "name"))
        for index, row in enumerate(rows):
            if row.unit_id not in units:
                raise _invalid(f"handlings.{index}.unit", _("承办部门不存在或已停用。"))
        if len(rows) == 1:
            rows[0].is_lead = True
        elif len(rows) >= 2 and sum(row.is_lead for row in rows) != 1:
            raise _invalid("handlings", _("两个以上部门承办时，须明确一个主办部门。"))
        readers = (
            _active_users(reader_ids, "readers", _("传阅人"), document.classification) if reader_ids else []
        )
        _screen(actor, {"instruction": instruction}, "documents.incoming")

        document.instruction = instruction
        document.instructed_at = now
        lead = next((row for row in rows if row.is_lead), None)
        document.deadline = lead.deadline if lead is not None else None
        document.state = IncomingState.HANDLING if rows else IncomingState.CIRCULATING
        _save(document, "instruction", "instructed_at", "deadline", "state")
        Handling.objects.bulk_create(rows)
        _event(
            document,
            actor,
            "批办",
            opinion=instruction,
            detail={
                "handlings": [
                    {
                        "unit": row.unit_id,
                        "unit_name": units[row.unit_id],
                        "lead": row.is_lead,
                        "deadline": row.deadline.isoformat() if row.deadline else None,
                    }
                    for row in rows
                ]
            },
            at=now,
        )
        if rows:
            _send(
                document,
                _unit_actors([row.unit_id for row in rows]),
                KIND_TODO,
                _("请承办：%(title)s") % {"title": document.title},
                actor=actor,
                body=instruction,
            )
        if readers:
            _add_readers(document, readers, actor)
        if not rows:
            # Circulated only: it waits for the clerks' 办结 from now on.
            _queue_changed(document)
    return document


def handling_done(
    *, actor: User, document_id: Any, handling_id: Any, result: str, lock_version: int | None = None
) -> Handling:
    """A 承办 unit's head or clerk records what was done; when the 主办 is done the clerk may
    conclude (办结)."""
    result = _text(result, "result", _("办理情况"), required=True)
    with transaction.atomic():
        document = _lock(document_id, lock_version)
        _cleared(actor, document)
        _state(document, IncomingState.HANDLING)
        handling = Handling.objects.select_related("unit").filter(document=document, pk=handling_id).first()
        if handling is None:
            raise NotFoundError(_("承办记录不存在。"))
        if not acts_for_unit(actor, handling.unit_id):
            raise PermissionDeniedError(_("只有承办部门的负责人或公文管理员可以登记办理情况。"))
        if handling.done_at is not None:
            raise DomainError(_("该部门已登记办理情况。"))
        _screen(actor, {"result": result}, "documents.incoming")
        handling.result = result
        handling.done_at = clock.now()
        handling.done_by = actor
        handling.save(update_fields=["result", "done_at", "done_by"])
        _save(document)
        _event(
            document,
            actor,
            "承办",
            opinion=result,
            detail={"unit": handling.unit_id, "unit_name": handling.unit.name, "lead": handling.is_lead},
        )
        # The last open handling done puts the document in the clerks' 待办结.
        last = not Handling.objects.filter(document=document, done_at__isnull=True).exists()
        clerks = clerks_of(document.receiving_unit_id) if handling.is_lead or last else []
        if handling.is_lead:
            _send(
                document,
                (user.pk for user in clerks),
                KIND_TODO,
                _("主办部门已办理完毕，请办结：%(title)s") % {"title": document.title},
                actor=actor,
                body=result,
            )
        if last:
            _queue_changed(document, clerks)
    return handling


def _add_readers(document: IncomingDocument, readers: Sequence[User], actor: User) -> list[Circulation]:
    already = set(Circulation.objects.filter(document=document).values_list("reader_id", flat=True))
    fresh = [user for user in readers if user.pk not in already]
    if not fresh:
        return []
    now = clock.now()
    rows = Circulation.objects.bulk_create(
        [Circulation(document=document, reader=user, sent_by=actor, sent_at=now) for user in fresh]
    )
    _event(
        document,
        actor,
        "传阅",
        detail={"readers": [u.pk for u in fresh], "names": [u.name or u.username for u in fresh]},
        at=now,
    )
    _send(
        document,
        [user.pk for user in fresh],
        KIND_CIRCULATED,
        _("请阅：%(title)s") % {"title": document.title},
        actor=actor,
    )
    return rows


def circulate(
    *, actor: User, document_id: Any, reader_ids: Sequence[int], lock_version: int | None = None
) -> list[Circulation]:
    """传阅: add readers at any step after 签收 (a per-reader ledger keeps where it is)."""
    if not reader_ids:
        raise _invalid("readers", _("请选择传阅人。"))
    with transaction.atomic():
        document = _lock(document_id, lock_version)
        _cleared(actor, document)
        if not (is_clerk(actor, document.receiving_unit_id) or document.leader_id == actor.pk):
            raise PermissionDeniedError(_("只有公文管理员或批办领导可以传阅。"))
        _state(
            document,
            IncomingState.REGISTERED,
            IncomingState.PROPOSED,
            IncomingState.HANDLING,
            IncomingState.CIRCULATING,
            IncomingState.CONCLUDED,
        )
        readers = _active_users(reader_ids, "readers", _("传阅人"), document.classification)
        rows = _add_readers(document, readers, actor)
        if rows:
            _save(document)
    return rows


def mark_read(*, actor: User, document_id: Any, comment: str = "") -> Circulation:
    """The reader has read it, with an optional comment or 批示."""
    comment = _text(comment, "comment", _("阅批意见"))
    with transaction.atomic():
        document = _lock(document_id)
        _cleared(actor, document)
        row = Circulation.objects.select_for_update().filter(document=document, reader_id=actor.pk).first()
        if row is None:
            raise PermissionDeniedError(_("本文未传阅给您。"))
        if row.read_at is not None:
            raise DomainError(_("您已阅毕本文。"))
        _screen(actor, {"comment": comment}, "documents.incoming")
        row.read_at = clock.now()
        row.comment = comment
        row.save(update_fields=["read_at", "comment"])
        _event(document, actor, "阅文", opinion=comment)
    return row


def urge(*, actor: User, document_id: Any, handling_id: Any) -> Handling:
    """催办 an open handling: its head and clerks are reminded, at most once an hour."""
    with transaction.atomic():
        document = _lock(document_id)
        _cleared(actor, document)
        if not (is_clerk(actor, document.receiving_unit_id) or document.leader_id == actor.pk):
            raise PermissionDeniedError(_("只有公文管理员或批办领导可以催办。"))
        _state(document, IncomingState.HANDLING)
        handling = Handling.objects.select_for_update().filter(document=document, pk=handling_id).first()
        if handling is None:
            raise NotFoundError(_("承办记录不存在。"))
        if handling.done_at is not None:
            raise DomainError(_("该部门已办理完毕，无需催办。"))
        now = clock.now()
        if handling.reminded_at is not None and now - handling.reminded_at < URGE_INTERVAL:
            raise DomainError(_("一小时内已催办过该部门，请稍后再催。"))
        handling.reminded_at = now
        handling.save(update_fields=["reminded_at"])
        unit_name = OrgUnit.objects.filter(pk=handling.unit_id).values_list("name", flat=True).first() or ""
        _event(document, actor, "催办", detail={"unit": handling.unit_id, "unit_name": unit_name}, at=now)
        _send(
            document,
            _unit_actors([handling.unit_id]),
            KIND_URGED,
            _("催办：%(title)s") % {"title": document.title},
            actor=actor,
        )
    return handling


def conclude(
    *, actor: User, document_id: Any, result: str, lock_version: int | None = None
) -> IncomingDocument:
    """办结: the clerk records the result once every 承办 unit is done (or the reading is
    over); the sender is told when it came over the platform (条例 第二十四条(九))."""
    result = _text(result, "result", _("办理结果"), required=True)
    with transaction.atomic():
        document = _lock(document_id, lock_version)
        _require_clerk(actor, document)
        _state(document, IncomingState.HANDLING, IncomingState.CIRCULATING)
        if Handling.objects.filter(document=document, done_at__isnull=True).exists():
            raise DomainError(_("尚有承办部门未办理完毕，不能办结。"))
        _screen(actor, {"result": result}, "documents.incoming")
        document.result = result
        document.state = IncomingState.CONCLUDED
        document.closed_at = clock.now()
        document.closed_by = actor
        _save(document, "result", "state", "closed_at", "closed_by")
        _event(document, actor, "办结", opinion=result)
        _send(
            document,
            _sender_people(document),
            KIND_CONCLUDED,
            _("来文已办结：%(title)s") % {"title": document.title},
            actor=actor,
            body=result,
        )
        _queue_changed(document)
    return document


# --------------------------------------------------------------------------- overdue


def remind_overdue(*, now: dt.datetime | None = None) -> int:
    """Remind every open handling past its deadline, and the receiving clerks, once a day.
    Each handling is checked again under its lock, so overlapping runs remind once."""
    now = now or clock.now()
    due = list(
        Handling.objects.filter(
            done_at__isnull=True,
            deadline__lt=now,
            document__state=IncomingState.HANDLING,
        )
        .exclude(reminded_at__gt=now - OVERDUE_INTERVAL)
        .values_list("pk", flat=True)
    )
    reminded = 0
    for pk in due:
        with transaction.atomic():
            handling = (
                Handling.objects.select_for_update()
                .select_related("document", "unit")
                .filter(pk=pk, done_at__isnull=True)
                .first()
            )
            if handling is None or (
                handling.reminded_at is not None and now - handling.reminded_at < OVERDUE_INTERVAL
            ):
                continue
            handling.reminded_at = now
            handling.save(update_fields=["reminded_at"])
            document = handling.document
            _event(
                document,
                None,
                "催办",
                detail={"unit": handling.unit_id, "unit_name": handling.unit.name, "overdue": True},
                at=now,
            )
            people = set(_unit_actors([handling.unit_id]))
            people.update(user.pk for user in clerks_of(document.receiving_unit_id))
            _send(
                document,
                people,
                KIND_OVERDUE,
                _("办理超时：%(title)s") % {"title": document.title},
                actor=None,
                body=handling.unit.name,
            )
            reminded += 1
    return reminded
