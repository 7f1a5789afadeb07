"""发文 services: 起草 → (核稿, 会签, 审核, 签发 on the approval engine) → 复核 → 登记 → 用印 → 分发,
and 作废 / 撤销 / 废止 (条例 第十九条 to 第二十六条).

Each service is one transaction with the document's row locked, appends a ``DocumentEvent``
(the process record of GB/T 18894), and audits what is security-relevant (numbering, voiding,
sealing, distributing, revoking). Retries of a step are recognised by their ``request_id``.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xietong.audit.services import record
from xietong.core import access, classification, clock, richtext
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.documents import audit_actions, flows, incoming, numbering, rules
from xietong.documents import layout as layout_package
from xietong.documents.layout.spec import DocumentLayout
from xietong.documents.models import (
    Direction,
    Distribution,
    DocType,
    DocumentEvent,
    IssuingOrgan,
    LayoutKind,
    OutgoingAttachment,
    OutgoingDocument,
    OutgoingState,
    RecipientKind,
    TextVersion,
    Urgency,
)
from xietong.documents.permissions import CLERK, USE
from xietong.files import services as file_services
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.moderation import services as moderation
from xietong.notify.services import notify
from xietong.org.models import OrgUnit
from xietong.org.selectors import primary_membership
from xietong.workflow import services as workflow
from xietong.workflow.models import Action, FlowDefinition, Instance, InstanceState

CONTEXT = "documents.outgoing"
TITLE_MAX = 200
RECIPIENTS_MAX = 500
NOTE_MAX = 200
#: Elements whose change after 签发 is one of substance: back to the signer (条例 第二十五条(一)).
SUBSTANTIVE = frozenset({"title", "body", "main_recipients", "attachments", "doc_type", "classification"})

# Notification kinds (registered in ``outgoing_wiring``).
KIND_RETURNED = "documents.outgoing.returned"
KIND_SIGNED = "documents.outgoing.signed"
KIND_WAITING = "documents.outgoing.waiting"


# --------------------------------------------------------------------------- input


@dataclass
class AttachmentIn:
    """One 附件 in the order wanted: an existing one (``id``), or a new ``upload``."""

    title: str
    id: int | None = None
    upload: UploadedFile[bytes] | None = None


@dataclass
class DraftIn:
    """The elements a drafter (or the clerk at 复核) fills in. ``None`` leaves a value as it is."""

    organ_id: int | None = None
    doc_type: str | None = None
    direction: str | None = None
    layout_kind: str | None = None
    title: str | None = None
    classification: int | None = None
    secret_term: str | None = None
    urgency: str | None = None
    main_recipients: str | None = None
    main_unit_ids: list[int] | None = None
    cc_recipients: str | None = None
    cc_unit_ids: list[int] | None = None
    body: str | None = None
    body_docx: UploadedFile[bytes] | None = None
    note: str | None = None
    attachments: list[AttachmentIn] | None = None
    lock_version: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def link(document: OutgoingDocument) -> str:
    return reverse("documents:outgoing_detail", args=[document.pk])


def _name(user: User | None) -> str:
    if user is None:
        return _("系统")
    return user.name or user.username


def _unit_name(user: User | None) -> str:
    if user is None:
        return ""
    membership = primary_membership(user)
    return membership.unit.name if membership is not None else ""


def _event(
    document: OutgoingDocument,
    action: str,
    actor: User | None,
    *,
    opinion: str = "",
    at: dt.datetime | None = None,
    **detail: Any,
) -> DocumentEvent:
    return DocumentEvent.objects.create(
        outgoing=document,
        action=action,
        actor=actor,
        actor_name=_name(actor),
        actor_unit=_unit_name(actor),
        at=at or clock.now(),
        opinion=opinion,
        detail=detail,
    )


def _replayed(document: OutgoingDocument, request_id: str | None) -> bool:
    """A step already applied with this key (a retry of the same click)."""
    if not request_id:
        return False
    return DocumentEvent.objects.filter(outgoing=document, detail__request_id=request_id).exists()


def _lock(document: OutgoingDocument | int) -> OutgoingDocument:
    pk: int = document.pk if isinstance(document, OutgoingDocument) else document
    try:
        return (
            OutgoingDocument.objects.select_for_update(of=("self",))
            .select_related("organ", "drafter")
            .get(pk=pk)
        )
    except OutgoingDocument.DoesNotExist:
        raise NotFoundError(_("公文不存在或无权访问。")) from None


def _audit(actor: User | None, action: str, document: OutgoingDocument, **details: Any) -> None:
    record(actor=actor, action=action, target=document, details={"doc_no": document.doc_no, **details})


def _state(document: OutgoingDocument, *allowed: str) -> None:
    if document.state not in allowed:
        raise DomainError(
            _("公文当前状态为“%(state)s”，不能执行此操作。") % {"state": OutgoingState(document.state).label}
        )


def _check_lock_version(document: OutgoingDocument, lock_version: int | None) -> None:
    if lock_version is not None and lock_version != document.lock_version:
        raise DomainError(_("公文已被他人修改，请刷新页面后重试。"))


def is_clerk_of(user: User, document: OutgoingDocument) -> bool:
    """公文管理员 whose scope covers the issuing organ's unit."""
    return access.can_on(
        user, CLERK, None, unit=document.organ.unit_id, classification=document.classification
    )


def _require_clerk(user: User, document: OutgoingDocument) -> None:
    if not is_clerk_of(user, document):
        raise PermissionDeniedError(_("只有发文机关的公文管理员可以办理此步骤。"))


def _require_drafter(user: User, document: OutgoingDocument) -> None:
    if document.drafter_id != user.pk:
        raise PermissionDeniedError(_("只有拟稿人可以修改或提交草稿。"))


def _text(value: str | None, *, limit: int, label: str, errors: dict[str, list[str]], key: str) -> str:
    text = (value or "").replace("\x00", "").strip()
    if len(text) > limit:
        errors.setdefault(key, []).append(
            _("%(label)s不能超过 %(limit)d 个字。") % {"label": label, "limit": limit}
        )
    return text


def _docx_text(upload: UploadedFile[bytes]) -> str:
    """The paragraphs of an uploaded DOCX as the body (one ``<p>`` each)."""
    import docx  # python-docx

    upload.seek(0)
    try:
        parsed = docx.Document(io.BytesIO(upload.read()))
    except Exception:
        raise rules.FieldErrors({"body_docx": [_("正文文件无法读取，请上传 Word（.docx）文件。")]}) from None
    finally:
        upload.seek(0)
    from django.utils.html import escape

    paragraphs = [p.text.strip() for p in parsed.paragraphs if p.text.strip()]
    return "".join(f"<p>{escape(text)}</p>" for text in paragraphs)


def _units(ids: Sequence[int] | None, key: str, errors: dict[str, list[str]]) -> list[OrgUnit] | None:
    if ids is None:
        return None
    wanted = list(dict.fromkeys(int(pk) for pk in ids))
    found = {unit.pk: unit for unit in OrgUnit.objects.filter(pk__in=wanted)}
    if len(found) != len(wanted):
        errors.setdefault(key, []).append(_("所选单位不存在或已撤销。"))
        return None
    return [found[pk] for pk in wanted]


def _paragraphs(body: str) -> tuple[str, ...]:
    text = richtext.plain_text(body or "")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _snapshot(document: OutgoingDocument) -> dict[str, Any]:
    """The elements one ``TextVersion`` keeps (and what ``changed`` compares)."""
    return {
        "title": document.title,
        "body": document.body,
        "organ": document.organ_id,
        "doc_type": document.doc_type,
        "direction": document.direction,
        "layout_kind": document.layout_kind,
        "classification": document.classification,
        "secret_term": document.secret_term,
        "urgency": document.urgency,
        "main_recipients": document.main_recipients,
        "main_units": sorted(document.main_units.values_list("pk", flat=True)),
        "cc_recipients": document.cc_recipients,
        "cc_units": sorted(document.cc_units.values_list("pk", flat=True)),
        "note": document.note,
        "attachments": [
            {"title": title, "file": file_id}
            for title, file_id in document.attachments.order_by("seq").values_list("title", "file_id")
        ],
    }


def _version(
    document: OutgoingDocument,
    actor: User,
    changed: Sequence[str],
    *,
    substantive: bool = False,
    reason: str = "",
) -> TextVersion:
    snapshot = _snapshot(document)
    number = (document.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    document.version = number
    elements = {key: value for key, value in snapshot.items() if key not in ("title", "body")}
    return TextVersion.objects.create(
        document=document,
        number=number,
        title=document.title,
        body=document.body,
        elements=elements,
        changed=list(changed),
        substantive=substantive,
        author=actor,
        author_name=_name(actor),
        reason=reason[:200],
    )


def _screen(actor: User, data: DraftIn) -> None:
    """The content rules on what a person wrote (R-27); held words are refused like the
    approval texts, since a document cannot wait in the review queue."""
    texts = {
        "title": data.title or "",
        "body": richtext.plain_text(data.body or "") if data.body else "",
        "main_recipients": data.main_recipients or "",
        "cc_recipients": data.cc_recipients or "",
        "note": data.note or "",
        "attachments": "\n".join(item.title for item in data.attachments or ()),
    }
    texts = {key: value for key, value in texts.items() if value}
    if not texts:
        return
    verdict = moderation.screen(actor=actor, fields=texts, context=CONTEXT)
    if verdict.held:
        words = "、".join(f"“{word}”" for word in verdict.words_with("hold"))
        raise DomainError(_("内容包含需审核的词语：%(words)s，请修改后再提交。") % {"words": words})


def _organ(organ_id: int | None, errors: dict[str, list[str]]) -> IssuingOrgan | None:
    if organ_id is None:
        return None
    organ = IssuingOrgan.objects.filter(pk=organ_id, is_active=True).first()
    if organ is None:
        errors.setdefault("organ", []).append(_("发文机关不存在或已停用。"))
    return organ


def _apply(actor: User, document: OutgoingDocument, data: DraftIn, *, creating: bool) -> list[str]:
    """Write ``data`` onto the (locked) document; returns the names of the elements changed.
    Raises ``FieldErrors`` (nothing written) for bad input."""
    errors: dict[str, list[str]] = {}
    before = {} if creating else _snapshot(document)
    organ = _organ(data.organ_id, errors)
    if organ is not None:
        document.organ = organ
    if data.doc_type is not None:
        if data.doc_type not in DocType.values:
            errors.setdefault("doc_type", []).append(_("请选择文种。"))
        else:
            document.doc_type = data.doc_type
    if data.direction is not None:
        if data.direction and data.direction not in Direction.values:
            errors.setdefault("direction", []).append(_("行文方向无效。"))
        else:
            document.direction = data.direction or rules.default_direction(document.doc_type)
    elif creating:
        document.direction = rules.default_direction(document.doc_type)
    document.direction = rules.effective_direction(document.doc_type, document.direction)
    if data.layout_kind is not None:
        if data.layout_kind not in LayoutKind.values:
            errors.setdefault("layout_kind", []).append(_("版式无效。"))
        else:
            document.layout_kind = data.layout_kind
    elif creating:
        special: dict[str, str] = {
            DocType.HAN: LayoutKind.XINHAN,
            DocType.JIYAO: LayoutKind.JIYAO,
            DocType.MINGLING: LayoutKind.MINGLING,
        }
        document.layout_kind = special.get(document.doc_type, LayoutKind.WENJIAN)
    if data.title is not None:
        document.title = _text(data.title, limit=TITLE_MAX, label=_("标题"), errors=errors, key="title")
        if not document.title:
            errors.setdefault("title", []).append(_("请填写标题。"))
    if data.classification is not None:
        level = data.classification
        if level not in classification.levels():
            errors.setdefault("classification", []).append(_("密级无效。"))
        elif not classification.allows(actor, level):
            errors.setdefault("classification", []).append(_("不能起草高于您本人可知悉密级的公文。"))
        else:
            document.classification = level
    if data.secret_term is not None:
        document.secret_term = _text(
            data.secret_term, limit=16, label=_("保密期限"), errors=errors, key="secret_term"
        )
    term_error = rules.secret_term_error(document.classification, document.secret_term)
    if term_error and (data.secret_term is not None or data.classification is not None):
        errors.setdefault("secret_term", []).append(term_error)
    if data.urgency is not None:
        if data.urgency not in Urgency.values:
            errors.setdefault("urgency", []).append(_("紧急程度无效。"))
        else:
            document.urgency = data.urgency
    if data.main_recipients is not None:
        document.main_recipients = _text(
            data.main_recipients,
            limit=RECIPIENTS_MAX,
            label=_("主送机关"),
            errors=errors,
            key="main_recipients",
        )
    if data.cc_recipients is not None:
        document.cc_recipients = _text(
            data.cc_recipients, limit=RECIPIENTS_MAX, label=_("抄送机关"), errors=errors, key="cc_recipients"
        )
    if data.note is not None:
        document.note = _text(data.note, limit=NOTE_MAX, label=_("附注"), errors=errors, key="note")
    main_units = _units(data.main_unit_ids, "main_units", errors)
    cc_units = _units(data.cc_unit_ids, "cc_units", errors)
    if data.body_docx is not None:
        document.body = richtext.sanitize(_docx_text(data.body_docx))
    elif data.body is not None:
        document.body = richtext.sanitize(data.body.replace("\x00", ""))
    if data.attachments is not None:
        for item in data.attachments:
            message = rules.attachment_title_error(item.title)
            if message:
                errors.setdefault("attachments", []).append(message)
    if errors:
        raise rules.FieldErrors(errors)
    if creating:
        document.save()
    if data.body_docx is not None:
        document.body_docx = file_services.store_upload(
            actor=actor, upload=data.body_docx, context=CONTEXT, classification=document.classification
        )
    if main_units is not None:
        document.main_units.set(main_units)
    if cc_units is not None:
        document.cc_units.set(cc_units)
    if data.attachments is not None:
        _set_attachments(actor, document, data.attachments)
    document.updated_at = clock.now()
    document.save()
    after = _snapshot(document)
    if creating:
        return [key for key, value in after.items() if value not in ("", [], None, 0)]
    return [key for key, value in after.items() if before.get(key) != value]


def _set_attachments(actor: User, document: OutgoingDocument, items: Sequence[AttachmentIn]) -> None:
    existing = {attachment.pk: attachment for attachment in document.attachments.all()}
    kept: list[tuple[str, StoredFile | int]] = []
    for item in items:
        if item.id is not None:
            attachment = existing.get(item.id)
            if attachment is None:
                raise rules.FieldErrors({"attachments": [_("附件不存在。")]})
            kept.append((item.title.strip(), attachment.file_id))
        elif item.upload is not None:
            stored = file_services.store_upload(
                actor=actor, upload=item.upload, context=CONTEXT, classification=document.classification
            )
            kept.append((item.title.strip(), stored))
        else:
            raise rules.FieldErrors({"attachments": [_("请上传附件文件。")]})
    # Rewritten in the new order: seq is unique per document.
    document.attachments.all().delete()
    OutgoingAttachment.objects.bulk_create(
        OutgoingAttachment(
            document=document,
            seq=number,
            title=title,
            **({"file": stored} if isinstance(stored, StoredFile) else {"file_id": stored}),
        )
        for number, (title, stored) in enumerate(kept, start=1)
    )


def fields_of(document: OutgoingDocument) -> dict[str, Any]:
    """The document as ``rules.check_outgoing`` reads it."""
    return {
        "doc_type": document.doc_type,
        "direction": document.direction,
        "title": document.title,
        "main_recipients": document.main_recipients,
        "main_units": list(document.main_units.values_list("pk", flat=True)),
        "body": richtext.plain_text(document.body),
        "classification": document.classification,
        "secret_term": document.secret_term,
        "attachments": list(document.attachments.order_by("seq").values_list("title", flat=True)),
        "signers": document.signers,
    }


# --------------------------------------------------------------------------- 起草


def draft_create(*, actor: User, data: DraftIn, request_id: str = "") -> OutgoingDocument:
    """A new draft by ``actor`` (拟稿人); the first ``TextVersion``."""
    access.require(actor, USE)
    if request_id:
        existing = OutgoingDocument.objects.filter(
            drafter=actor, events__action="起草", events__detail__request_id=request_id
        ).first()
        if existing is not None:
            return existing
    if data.organ_id is None:
        raise rules.FieldErrors({"organ": [_("请选择发文机关。")]})
    if not data.title:
        raise rules.FieldErrors({"title": [_("请填写标题。")]})
    _screen(actor, data)
    membership = primary_membership(actor)
    with transaction.atomic():
        document = OutgoingDocument(
            drafter=actor,
            drafting_unit=membership.unit if membership is not None else None,
            title="",
            doc_type=data.doc_type or DocType.TONGZHI,
        )
        changed = _apply(actor, document, data, creating=True)
        _version(document, actor, changed)
        document.save(update_fields=["version"])
        _event(document, "起草", actor, request_id=request_id)
    return document


def draft_update(
    *, actor: User, document: OutgoingDocument, data: DraftIn, request_id: str = ""
) -> OutgoingDocument:
    """The drafter changes the draft; a change appends a ``TextVersion`` (痕迹)."""
    _screen(actor, data)
    with transaction.atomic():
        locked = _lock(document)
        _require_drafter(actor, locked)
        _state(locked, OutgoingState.DRAFT)
        _check_lock_version(locked, data.lock_version)
        changed = _apply(actor, locked, data, creating=False)
        if changed:
            _version(locked, actor, changed)
            locked.lock_version += 1
            locked.save(update_fields=["version", "lock_version"])
            _event(locked, "修改", actor, changed=changed, request_id=request_id)
    return locked


# --------------------------------------------------------------------------- 送审 (the engine)


def _summary(document: OutgoingDocument) -> str:
    lines = [
        _("文种：%(value)s") % {"value": rules.type_label(document.doc_type)},
        _("行文方向：%(value)s") % {"value": Direction(document.direction).label},
        _("主送：%(value)s") % {"value": document.main_recipients or "—"},
    ]
    if document.cc_recipients:
        lines.append(_("抄送：%(value)s") % {"value": document.cc_recipients})
    if classification.is_classified(document.classification):
        lines.append(
            _("密级：%(value)s") % {"value": rules.secret_mark(document.classification, document.secret_term)}
        )
    return "\n".join(lines)


def _flow(code: str) -> FlowDefinition:
    flow = FlowDefinition.objects.filter(code=code).select_related("current_version").first()
    if flow is None:
        raise DomainError(_("发文审批流程未安装，请联系管理员。"))
    return flow


def _key(prefix: str, document: OutgoingDocument, request_id: str) -> str:
    """The engine's idempotency key: one per document and step, bounded to 64 characters."""
    import hashlib

    digest = hashlib.sha256(request_id.encode()).hexdigest()[:16]
    return f"{prefix}-{document.pk}-{digest}"


def submit(
    *,
    actor: User,
    document: OutgoingDocument,
    signer: User | int | None,
    countersigners: Sequence[User | int] = (),
    request_id: str,
) -> OutgoingDocument:
    """送审: validate every rule, start 核稿 → 会签 → 审核 → 签发 on the engine (条例 第二十条)."""
    with transaction.atomic():
        locked = _lock(document)
        _require_drafter(actor, locked)
        if _replayed(locked, request_id):
            return locked
        _state(locked, OutgoingState.DRAFT)
        errors = rules.check_outgoing({**fields_of(locked), "organ_code": locked.organ.code})
        signer_id = getattr(signer, "pk", signer)
        if not signer_id:
            errors.setdefault("signer", []).append(_("请选择签发人。"))
        rules.require(errors)
        data = {
            "document": locked.pk,
            "doc_type": rules.type_label(locked.doc_type),
            "summary": _summary(locked),
            "link": link(locked),
            "countersigners": [getattr(user, "pk", user) for user in countersigners],
            "checkers": [user.pk for user in clerks_of(locked)],
            "signer": signer_id,
        }
        returned = locked.instance
        if returned is not None and returned.state == InstanceState.RETURNED:
            # Sent back to the drafter (退回发起人) and edited: the same request goes on.
            instance = workflow.resubmit(
                actor=actor,
                instance=returned,
                data=data,
                title=locked.title,
                request_id=_key("doc-resubmit", locked, request_id),
            )
        else:
            instance = workflow.instance_start(
                actor=actor,
                flow=_flow(flows.OUTGOING),
                data=data,
                title=locked.title,
                urgent=bool(locked.urgency),
                level=locked.classification,
                request_id=_key("doc-out", locked, request_id),
            )
        locked.instance = instance
        locked.state = OutgoingState.REVIEWING
        locked.lock_version += 1
        locked.save(update_fields=["instance", "state", "lock_version"])
        _event(locked, "送审", actor, request_id=request_id, instance=instance.pk)
        if instance.state == InstanceState.APPROVED:
            # Every step skipped or approved by the engine at once.
            _finished(instance, actor)
            locked.refresh_from_db()
    return locked


def _signers(instance: Instance, node_id: str) -> list[dict[str, Any]]:
    """The 签发 of ``node_id``: 意见、姓名、完整日期 (条例 第二十二条) from the engine's log."""
    actions = (
        Action.objects.filter(
            instance=instance, kind=Action.Kind.APPROVE, from_node=node_id, actor__isnull=False
        )
        .select_related("actor")
        .order_by("pk")
    )
    return [
        {
            "id": action.actor_id,
            "name": _name(action.actor),
            "opinion": action.opinion,
            "at": timezone.localtime(action.created_at).isoformat(),
        }
        for action in actions
    ]


def _log_steps(document: OutgoingDocument, instance: Instance) -> None:
    """The engine's decisions, each as a step of the process record (核稿, 会签, 审核, 签发),
    once: a request sent back and resubmitted is logged at the return and again at its end."""
    logged = {
        detail.get("engine_action")
        for detail in DocumentEvent.objects.filter(outgoing=document).values_list("detail", flat=True)
    }
    actions = (
        Action.objects.filter(
            instance=instance, kind__in=(Action.Kind.APPROVE, Action.Kind.REJECT, Action.Kind.RETURN)
        )
        .exclude(pk__in=[pk for pk in logged if isinstance(pk, int)])
        .select_related("actor")
        .order_by("pk")
    )
    for action in actions:
        name = flows.NODE_ACTIONS.get(action.from_node, action.from_node or _("审批"))
        if action.kind != Action.Kind.APPROVE:
            name = f"{name}{_('退回')}"
        _event(
            document,
            name[:16],
            action.actor,
            opinion=action.opinion,
            at=action.created_at,
            node=action.from_node,
            engine_action=action.pk,
        )


def _last_opinion(instance: Instance) -> str:
    action = (
        Action.objects.filter(
            instance=instance,
            kind__in=(Action.Kind.REJECT, Action.Kind.WITHDRAW, Action.Kind.TERMINATE, Action.Kind.REVOKE),
        )
        .order_by("-pk")
        .first()
    )
    return action.opinion if action is not None else ""


def _finished(instance: Instance, actor: User | None) -> None:
    """Engine hook: the approval round of a document ended."""
    document = OutgoingDocument.objects.select_for_update().filter(instance=instance).first()
    if document is None:
        return
    code = instance.definition.code
    if code == flows.OUTGOING and document.state != OutgoingState.REVIEWING:
        return
    if code == flows.RESIGN and document.state != OutgoingState.RESIGNING:
        return
    _log_steps(document, instance)
    now = clock.now()
    if instance.state == InstanceState.APPROVED:
        node = flows.NODE_SIGN if code == flows.OUTGOING else flows.NODE_RESIGN
        signed = _signers(instance, node)
        if code == flows.RESIGN:
            # The original signers stay; the one who re-signed gets the new opinion and date.
            by_id = {entry["id"]: entry for entry in signed}
            previous = [by_id.pop(entry.get("id"), entry) for entry in document.signers]
            signed = previous + list(by_id.values())
        document.signers = signed
        last = max(
            (dt.datetime.fromisoformat(entry["at"]) for entry in signed if entry.get("at")), default=now
        )
        # 成文日期 = the 签发 date (joint documents: the last signer's) — 条例 第二十二条.
        document.date_written = timezone.localtime(last).date()
        document.signed_at = last
        document.state = OutgoingState.SIGNED
        document.lock_version += 1
        document.save(update_fields=["signers", "date_written", "signed_at", "state", "lock_version"])
        notify(
            recipients=[f"user:{document.drafter_id}"],
            kind=KIND_SIGNED,
            title=_("公文已签发：%(title)s") % {"title": document.title},
            link=link(document),
            actor=actor,
            source=document,
        )
        _notify_clerks(document, _("待复核公文：%(title)s") % {"title": document.title}, actor)
    else:
        reason = _last_opinion(instance)
        document.state = OutgoingState.DRAFT
        document.lock_version += 1
        document.save(update_fields=["state", "lock_version"])
        _event(
            document,
            "退回拟稿人",
            actor,
            opinion=reason,
            outcome=instance.state,
            flow=code,
        )
        notify(
            recipients=[f"user:{document.drafter_id}"],
            kind=KIND_RETURNED,
            title=_("公文被退回：%(title)s") % {"title": document.title},
            body=reason,
            link=link(document),
            actor=actor,
            source=document,
        )


def on_finished(instance: Instance, actor: User | None) -> None:
    """``workflow.hooks.on_finished`` callback for both flows."""
    _finished(instance, actor)


def on_returned(instance: Instance, actor: User | None) -> None:
    """``workflow.hooks.on_returned`` callback of 发文审批: an approver sent the document back
    to its drafter (退回发起人); it is a draft again, to be corrected and sent once more — the
    same request goes on from there (``submit``)."""
    document = OutgoingDocument.objects.select_for_update().filter(instance=instance).first()
    if document is None or document.state != OutgoingState.REVIEWING:
        return
    _log_steps(document, instance)
    action = Action.objects.filter(instance=instance, kind=Action.Kind.RETURN).order_by("-pk").first()
    document.state = OutgoingState.DRAFT
    document.lock_version += 1
    document.save(update_fields=["state", "lock_version"])
    _event(
        document,
        "退回拟稿人",
        actor,
        opinion=action.opinion if action is not None else "",
        outcome=instance.state,
        flow=instance.definition.code,
    )


def on_resubmitted(instance: Instance, actor: User | None) -> None:
    """``workflow.hooks.on_resubmitted`` callback of 发文审批: the drafter submitted the
    returned request again from the approvals page — the document is under approval again."""
    document = OutgoingDocument.objects.select_for_update().filter(instance=instance).first()
    if document is None or document.state != OutgoingState.DRAFT:
        return
    document.state = OutgoingState.REVIEWING
    document.lock_version += 1
    document.save(update_fields=["state", "lock_version"])
    _event(document, "重新送审", actor, instance=instance.pk)


def clerks_of(document: OutgoingDocument) -> list[User]:
    """The active 公文管理员 whose scope covers the issuing organ's unit and who may read the
    document (密级)."""
    return [
        user
        for user in incoming.clerks_of(document.organ.unit_id)
        if classification.allows(user, document.classification)
    ]


def _notify_clerks(document: OutgoingDocument, title: str, actor: User | None) -> None:
    ids = [user.pk for user in clerks_of(document)]
    if ids:
        notify(
            recipients=[f"user:{pk}" for pk in ids],
            kind=KIND_WAITING,
            title=title,
            link=link(document),
            actor=actor,
            source=document,
        )


# --------------------------------------------------------------------------- 复核


def recheck(
    *,
    actor: User,
    document: OutgoingDocument,
    data: DraftIn | None = None,
    reason: str = "",
    request_id: str,
) -> OutgoingDocument:
    """复核 (条例 第二十五条(一)): the clerk checks and may still correct the document. A change
    of substance goes back to the original signer (复审); otherwise the document is 已复核."""
    if data is not None:
        _screen(actor, data)
    with transaction.atomic():
        locked = _lock(document)
        _require_clerk(actor, locked)
        if _replayed(locked, request_id):
            return locked
        _state(locked, OutgoingState.SIGNED)
        if data is not None:
            _check_lock_version(locked, data.lock_version)
        changed = _apply(actor, locked, data, creating=False) if data is not None else []
        substantive = sorted(set(changed) & SUBSTANTIVE)
        if changed:
            errors = rules.check_outgoing({**fields_of(locked), "organ_code": locked.organ.code})
            rules.require(errors)
            _version(locked, actor, changed, substantive=bool(substantive), reason=reason)
        if substantive:
            signer_id = next((entry.get("id") for entry in reversed(locked.signers) if entry.get("id")), None)
            if signer_id is None:
                raise DomainError(_("找不到原签发人，无法送复审。"))
            instance = workflow.instance_start(
                actor=actor,
                flow=_flow(flows.RESIGN),
                data={
                    "document": locked.pk,
                    "changes": "、".join(substantive),
                    "link": link(locked),
                    "signer": signer_id,
                },
                title=_("复审：%(title)s") % {"title": locked.title},
                level=locked.classification,
                request_id=_key("doc-resign", locked, request_id),
            )
            locked.instance = instance
            locked.state = OutgoingState.RESIGNING
        else:
            locked.state = OutgoingState.CHECKED
        locked.lock_version += 1
        locked.save()
        _event(
            locked,
            "复核",
            actor,
            opinion=reason,
            request_id=request_id,
            changed=changed,
            substantive=substantive,
        )
        if substantive and locked.instance is not None and locked.instance.state == InstanceState.APPROVED:
            _finished(locked.instance, actor)
            locked.refresh_from_db()
    return locked


# --------------------------------------------------------------------------- 登记, 用印


def _renderer(name: str) -> Any:
    """``layout.render_pdf`` / ``layout.render_docx``, looked up when called."""
    function = getattr(layout_package, name, None)
    if function is None:
        raise DomainError(_("版式生成组件不可用，请联系管理员。"))
    return function


def _store_pdf(actor: User, document: OutgoingDocument, *, sealed: bool) -> StoredFile:
    content: bytes = _renderer("render_pdf")(layout_of(document, sealed=sealed))
    name = f"{document.doc_no or document.title}.pdf"
    return file_services.store_generated(
        content=content,
        name=name,
        content_type="application/pdf",
        context=CONTEXT,
        classification=document.classification,
        actor=actor,
    )


def register(
    *,
    actor: User,
    document: OutgoingDocument,
    copies: int,
    print_date: dt.date | None = None,
    request_id: str,
) -> OutgoingDocument:
    """登记 (条例 第二十五条(二)): the 发文字号 from the organ's gap-free sequence, 印制份数,
    印发机关 and date; the 正本 PDF is made."""
    with transaction.atomic():
        locked = _lock(document)
        _require_clerk(actor, locked)
        if _replayed(locked, request_id):
            return locked
        _state(locked, OutgoingState.CHECKED)
        errors = rules.check_register(fields_of(locked))
        if not isinstance(copies, int) or isinstance(copies, bool) or not 1 <= copies <= 9999:
            errors.setdefault("copies", []).append(_("印制份数须为 1 至 9999 之间的整数。"))
        rules.require(errors)
        today = clock.localdate()
        year = today.year
        seq = numbering.allocate(locked.organ, year)
        locked.doc_no_year = year
        locked.doc_no_seq = seq
        locked.doc_no = rules.format_doc_no(locked.organ.code, year, seq)
        locked.copies = copies
        locked.print_org = locked.organ.print_org
        locked.print_date = print_date or today
        locked.registered_at = clock.now()
        locked.pdf = _store_pdf(actor, locked, sealed=False)
        locked.state = OutgoingState.REGISTERED
        locked.lock_version += 1
        locked.save()
        _event(locked, "登记", actor, request_id=request_id, doc_no=locked.doc_no, copies=copies)
        _audit(actor, audit_actions.OUTGOING_REGISTERED, locked, copies=copies)
    return locked


def void_number(
    *, actor: User, document: OutgoingDocument, reason: str, request_id: str = ""
) -> OutgoingDocument:
    """作废 the number of a registered, not yet distributed document: recorded, never reused;
    the document goes back to 已复核 to be registered again."""
    with transaction.atomic():
        locked = _lock(document)
        _require_clerk(actor, locked)
        if _replayed(locked, request_id):
            return locked
        _state(locked, OutgoingState.REGISTERED, OutgoingState.SEALED)
        voided = numbering.void(document=locked, reason=reason, actor=actor)
        locked.doc_no = ""
        locked.doc_no_year = None
        locked.doc_no_seq = None
        locked.pdf = None
        locked.registered_at = None
        locked.state = OutgoingState.CHECKED
        locked.lock_version += 1
        locked.save()
        _event(locked, "作废文号", actor, opinion=voided.reason, request_id=request_id, doc_no=voided.doc_no)
        _audit(
            actor, audit_actions.OUTGOING_NUMBER_VOIDED, locked, voided=voided.doc_no, reason=voided.reason
        )
    return locked


def seal(*, actor: User, document: OutgoingDocument, request_id: str = "") -> OutgoingDocument:
    """用印 (条例 第二十五条(三)): the 正本 again with the seal over 署名 and 日期."""
    with transaction.atomic():
        locked = _lock(document)
        _require_clerk(actor, locked)
        if _replayed(locked, request_id):
            return locked
        _state(locked, OutgoingState.REGISTERED)
        locked.pdf = _store_pdf(actor, locked, sealed=True)
        locked.state = OutgoingState.SEALED
        locked.lock_version += 1
        locked.save()
        _event(locked, "用印", actor, request_id=request_id)
        _audit(actor, audit_actions.OUTGOING_SEALED, locked)
    return locked


# --------------------------------------------------------------------------- 分发


def _deliver(distribution: Distribution, actor: User) -> None:
    """Hand one copy to the receiving unit's 收文 (pending, its clerks notified)."""
    incoming.deliver(distribution=distribution, actor=actor)


def distribute(
    *,
    actor: User,
    document: OutgoingDocument,
    main_unit_ids: Sequence[int] | None = None,
    cc_unit_ids: Sequence[int] | None = None,
    request_id: str,
) -> OutgoingDocument:
    """分发 (条例 第二十五条(四)) to the 主送 and 抄送 units; 份号 for classified documents."""
    with transaction.atomic():
        locked = _lock(document)
        _require_clerk(actor, locked)
        if _replayed(locked, request_id):
            return locked
        _state(locked, OutgoingState.SEALED)
        errors: dict[str, list[str]] = {}

        def chosen(ids: Sequence[int] | None, default: Any, key: str) -> list[OrgUnit]:
            # The units picked on the page, else those the document names.
            wanted = ids if ids is not None else list(default.values_list("pk", flat=True))
            return _units(wanted, key, errors) or []

        main = chosen(main_unit_ids, locked.main_units, "main_units")
        cc = chosen(cc_unit_ids, locked.cc_units, "cc_units")
        main_ids = {unit.pk for unit in main}
        cc = [unit for unit in cc if unit.pk not in main_ids]
        targets = [(unit, RecipientKind.MAIN) for unit in main] + [(unit, RecipientKind.CC) for unit in cc]
        if not errors and not targets:
            errors.setdefault("main_units", []).append(_("请选择分发的单位。"))
        if locked.copies and len(targets) > locked.copies:
            errors.setdefault("main_units", []).append(
                _("分发单位（%(count)d 个）多于印制份数（%(copies)d 份）。")
                % {"count": len(targets), "copies": locked.copies}
            )
        rules.require(errors)
        classified = classification.is_classified(locked.classification)
        now = clock.now()
        rows = Distribution.objects.bulk_create(
            Distribution(
                document=locked,
                unit=unit,
                kind=kind,
                # 份号: six digits per printed copy (9704 §7.2.1).
                copy_no=f"{number:06d}" if classified else "",
                sent_at=now,
                sent_by=actor,
            )
            for number, (unit, kind) in enumerate(targets, start=1)
        )
        if any(row.pk is None for row in rows):
            rows = list(Distribution.objects.filter(document=locked).order_by("pk"))
        for row in rows:
            _deliver(row, actor)
        locked.state = OutgoingState.DISTRIBUTED
        locked.distributed_at = now
        locked.lock_version += 1
        locked.save()
        _event(
            locked,
            "分发",
            actor,
            request_id=request_id,
            units=[unit.name for unit, _kind in targets],
        )
        _audit(actor, audit_actions.OUTGOING_DISTRIBUTED, locked, units=[unit.pk for unit, _kind in targets])
    return locked


# --------------------------------------------------------------------------- 作废, 撤销, 废止


def cancel(
    *, actor: User, document: OutgoingDocument, reason: str = "", request_id: str = ""
) -> OutgoingDocument:
    """拟稿人作废 a draft (never sent for approval, or returned)."""
    with transaction.atomic():
        locked = _lock(document)
        _require_drafter(actor, locked)
        if _replayed(locked, request_id):
            return locked
        _state(locked, OutgoingState.DRAFT)
        returned = locked.instance
        if returned is not None and returned.state == InstanceState.RETURNED:
            # The request sent back with it is given up too, not left waiting in 我发起的.
            workflow.withdraw(
                actor=actor,
                instance=returned,
                request_id=_key("doc-cancel", locked, request_id or str(locked.lock_version)),
                reason=_("公文草稿已作废"),
            )
        locked.state = OutgoingState.CANCELLED
        locked.lock_version += 1
        locked.save(update_fields=["state", "lock_version"])
        _event(locked, "作废", actor, opinion=reason.strip()[:200], request_id=request_id)
    return locked


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise rules.FieldErrors({"reason": [_("请填写原因。")]})
    if len(text) > 200:
        raise rules.FieldErrors({"reason": [_("原因不能超过 200 个字。")]})
    return text


def revoke(*, actor: User, document: OutgoingDocument, reason: str, request_id: str = "") -> OutgoingDocument:
    """撤销: the document is void from the start (自始无效)."""
    text = _reason(reason)
    with transaction.atomic():
        locked = _lock(document)
        _require_clerk(actor, locked)
        if _replayed(locked, request_id):
            return locked
        _state(locked, OutgoingState.DISTRIBUTED)
        locked.state = OutgoingState.REVOKED
        locked.lock_version += 1
        locked.save(update_fields=["state", "lock_version"])
        _event(locked, "撤销", actor, opinion=text, request_id=request_id)
        _audit(actor, audit_actions.OUTGOING_REVOKED, locked, reason=text)
    return locked


def abolish(
    *, actor: User, document: OutgoingDocument, reason: str, on: dt.date | None = None, request_id: str = ""
) -> OutgoingDocument:
    """废止: the document stops being effective from ``on`` (default today)."""
    text = _reason(reason)
    day = on or clock.localdate()
    with transaction.atomic():
        locked = _lock(document)
        _require_clerk(actor, locked)
        if _replayed(locked, request_id):
            return locked
        _state(locked, OutgoingState.DISTRIBUTED)
        if locked.date_written and day < locked.date_written:
            raise rules.FieldErrors({"on": [_("废止日期不能早于成文日期。")]})
        locked.state = OutgoingState.ABOLISHED
        locked.lock_version += 1
        locked.save(update_fields=["state", "lock_version"])
        _event(locked, "废止", actor, opinion=text, request_id=request_id, on=day.isoformat())
        _audit(actor, audit_actions.OUTGOING_ABOLISHED, locked, reason=text, on=day.isoformat())
    return locked


# --------------------------------------------------------------------------- layout


def layout_of(document: OutgoingDocument, *, sealed: bool | None = None) -> DocumentLayout:
    """What the PDF/DOCX prints for ``document`` (9704 §7)."""
    organ = document.organ
    if document.layout_kind == LayoutKind.JIYAO:
        issuer_mark = organ.mark.removesuffix("文件") + "纪要" if organ.mark.endswith("文件") else organ.mark
    else:
        issuer_mark = organ.mark
    upward = rules.is_upward(document.doc_type, document.direction)
    titles = [attachment.title for attachment in document.attachments.order_by("seq")]
    return DocumentLayout(
        layout_kind=document.layout_kind,
        issuer_mark=issuer_mark,
        title=document.title,
        paragraphs=_paragraphs(document.body),
        doc_no=document.doc_no,
        secret_mark=rules.secret_mark(document.classification, document.secret_term),
        urgency=str(Urgency(document.urgency).label) if document.urgency else "",
        signers=tuple(entry.get("name", "") for entry in document.signers) if upward else (),
        main_recipients=document.main_recipients,
        attachments=tuple(titles),
        signature_org=organ.name,
        date_written=document.date_written,
        sealed=document.state in (OutgoingState.SEALED, OutgoingState.DISTRIBUTED)
        if sealed is None
        else sealed,
        note=document.note,
        cc=document.cc_recipients,
        print_org=document.print_org or organ.print_org,
        print_date=document.print_date,
    )


# --------------------------------------------------------------------------- downloads


def downloaded(*, actor: User, document: OutgoingDocument, what: str, request: Any = None) -> None:
    """Audit a view, download or print of a classified document (R-33)."""
    if classification.is_classified(document.classification):
        record(
            actor=actor,
            action=audit_actions.OUTGOING_DOWNLOADED,
            target=document,
            request=request,
            details={"what": what, "doc_no": document.doc_no},
        )


def viewed(*, actor: User, document: OutgoingDocument, request: Any = None) -> None:
    if classification.is_classified(document.classification):
        record(
            actor=actor, action=audit_actions.OUTGOING_VIEWED, target=document, request=request, details={}
        )


def render_docx(document: OutgoingDocument) -> bytes:
    content: bytes = _renderer("render_docx")(layout_of(document))
    return content


def render_preview_pdf(document: OutgoingDocument) -> bytes:
    """The PDF of a document not yet registered (a preview; nothing stored)."""
    content: bytes = _renderer("render_pdf")(layout_of(document))
    return content
