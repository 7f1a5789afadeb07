"""Every change to notices: writing and publishing (R-61, R-62), editing after publishing
(R-32), withdrawing, the recipients' receipts and sign-in (R-63, R-64), reminders and the
export of the receipt list. One function per use case, permission checked, audited.

Publishing writes one ``NoticeRecipient`` per person in bulk and notifies the same audience
through ``notify`` — a fixed number of queries however many people it reaches.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xietong.audit.services import record
from xietong.core import access, classification, clock, events, richtext
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.files import selectors as file_selectors
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.moderation import services as moderation
from xietong.notices import audit_actions, exports, selectors
from xietong.notices.models import (
    Notice,
    NoticeAttachment,
    NoticeRecipient,
    NoticeRevision,
    ReceiptMode,
    Reply,
    Status,
    Urgency,
)
from xietong.notices.permissions import PUBLISH
from xietong.notify import services as notify_services
from xietong.org import builtin
from xietong.org import selectors as org_selectors
from xietong.org.audience import Audience, audience_users

TITLE_MAX = 200
PLACE_MAX = 200
NOTE_MAX = 200
REASON_MAX = 200
BODY_MAX = 100_000
ROW_BATCH = 2000
REMIND_INTERVAL = selectors.REMIND_INTERVAL
#: A new notice may be about something earlier today, not about last week (a mistyped date).
PAST_GRACE = dt.timedelta(hours=12)
#: The references a notice's audience may use: named people, units with their sub-units, all staff.
_AUDIENCE_REFERENCE = re.compile(r"^(?:(user|unit):([0-9]{1,18})|(everyone))$")
#: Classification marks written into a text (【机密】, 秘密★1年 …): the notice must carry
#: at least that level (R-33) rather than go out as 内部.
_CLASSIFIED_MARK = re.compile(
    r"【\s*(绝密|机密|秘密|核心商密|普通商密)\s*】|(绝密|机密|秘密|核心商密|普通商密)\s*★"
)
#: The 三员 administrators read no business content (AC-05): never recipients of a notice.
_ADMINISTRATOR_ROLES = frozenset({builtin.SYSTEM_ADMIN, builtin.SECURITY_ADMIN, builtin.AUDIT_ADMIN})

KIND_PUBLISHED = "notices.published"
KIND_UPDATED = "notices.updated"
KIND_WITHDRAWN = "notices.withdrawn"
KIND_REMINDER = "notices.reminder"
KIND_REJECTED = "notices.rejected"
#: The live event the publisher's receipts page listens for.
EVENT_RECEIPT = "notices.receipt"
MODERATION_CONTEXT = "notices.notice"
ATTACHMENT_CONTEXT = "notices.attachment"
IMAGE_CONTEXT = selectors.IMAGE_CONTEXT
MAX_ATTACHMENTS = 10
MAX_IMAGES = 30
_IMAGE_URL = re.compile(
    r"/notices/images/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/"
)


@dataclass(frozen=True)
class NoticeInput:
    """What a publisher writes (the form and the API fill it)."""

    title: str = ""
    #: HTML from the editor; sanitised here.
    body: str = ""
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    place: str = ""
    #: References: ``user:<id>``, ``unit:<id>`` (with its sub-units), ``everyone``.
    audience: Sequence[str] = field(default_factory=list)
    receipt_mode: str = ReceiptMode.NONE
    receipt_due: dt.datetime | None = None
    urgency: str = Urgency.NORMAL
    classification: int = classification.INTERNAL
    signin_enabled: bool = False


@dataclass(frozen=True)
class _Clean:
    title: str
    body: str
    body_text: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    place: str
    audience: list[str]
    audience_summary: str
    receipt_mode: str
    receipt_due: dt.datetime | None
    urgency: str
    classification: int
    signin_enabled: bool


class _Errors:
    """Field errors collected in one pass, raised together: the form shows each at its field."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, name: str, message: str) -> None:
        if not any(item["field"] == name for item in self.items):
            self.items.append({"field": name, "message": message})

    def raise_any(self) -> None:
        if self.items:
            raise DomainError(self.items[0]["message"], details=self.items)


def _field_error(name: str, message: str) -> DomainError:
    return DomainError(message, details=[{"field": name, "message": message}])


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------- audience


@dataclass(frozen=True)
class AudienceChoice:
    """One chosen reference with its label, for the form's chips and the summary."""

    reference: str
    label: str
    kind: str  # user / unit / everyone


def audience_choices(viewer: User, references: Sequence[str]) -> tuple[list[AudienceChoice], list[str]]:
    """The labelled choices of ``references`` (two queries at most), and the references that
    are malformed or name no active person or no unit the viewer may see."""
    user_ids: list[int] = []
    unit_ids: list[int] = []
    wanted: list[tuple[str, str, int]] = []
    bad: list[str] = []
    for raw in dict.fromkeys(str(reference).strip() for reference in references):
        match = _AUDIENCE_REFERENCE.match(raw)
        if match is None:
            bad.append(raw)
            continue
        kind, number, everyone = match.groups()
        if everyone:
            wanted.append(("everyone", raw, 0))
            continue
        (user_ids if kind == "user" else unit_ids).append(int(number))
        wanted.append((kind, raw, int(number)))
    people: dict[int, str] = {}
    if user_ids:
        people = dict(User.objects.filter(pk__in=user_ids, is_active=True).values_list("pk", "name"))
    units: dict[int, str] = {}
    if unit_ids:
        visible = org_selectors.visible_units(viewer=viewer).filter(pk__in=unit_ids)
        units = dict(visible.values_list("pk", "name"))
    choices: list[AudienceChoice] = []
    for kind, reference, number in wanted:
        if kind == "everyone":
            choices.append(AudienceChoice(reference, _("全体员工"), kind))
        elif kind == "user" and number in people:
            choices.append(AudienceChoice(reference, people[number], kind))
        elif kind == "unit" and number in units:
            choices.append(AudienceChoice(reference, units[number], kind))
        else:
            bad.append(reference)
    return choices, bad


def _summary(choices: Sequence[AudienceChoice]) -> str:
    """ "综合办公室、财务部、张伟" — everyone first, units, then people; cut with 等 N 项."""
    order = {"everyone": 0, "unit": 1, "user": 2}
    labels = [choice.label for choice in sorted(choices, key=lambda c: order[c.kind])]
    text = "、".join(labels)
    if len(text) <= 480:
        return text
    shown: list[str] = []
    for label in labels:
        if len("、".join([*shown, label])) > 440:
            break
        shown.append(label)
    return _("%(names)s 等 %(count)s 项") % {"names": "、".join(shown), "count": len(labels)}


def _recipients(notice: Notice, now: dt.datetime) -> tuple[list[tuple[int, int | None]], int]:
    """The people a notice reaches, with their primary unit, and how many of its audience
    were left out for want of clearance (R-33). One query for the units' paths, one for the
    people, however many: the 三员 administrators are left out (they read no notices)."""
    audience = notify_services.parse_recipients(notice.audience)
    administrators = audience_users(Audience(roles=_ADMINISTRATOR_ROLES), now=now).values("pk")
    people = org_selectors.with_primary_unit(
        audience_users(audience, now=now).exclude(pk__in=administrators)
    ).order_by()
    cleared: list[tuple[int, int | None]] = []
    withheld = 0
    level = notice.classification
    # ``primary_unit_id`` is the annotation of ``with_primary_unit``.
    fields = ("pk", "clearance", "is_superuser", "primary_unit_id")
    for pk, clearance, superuser, unit_id in people.values_list(*fields):
        if superuser or clearance >= level:
            cleared.append((pk, unit_id))
        else:
            withheld += 1
    return cleared, withheld


# --------------------------------------------------------------------------- validation


def _clean(
    actor: User, data: NoticeInput, *, publishing: bool, now: dt.datetime, published: Notice | None = None
) -> _Clean:
    """Check what the publisher wrote; every error is collected, named by its field.

    ``published``: the notice being edited after publishing — its audience, receipt mode,
    密级 and urgency stay, and a deadline it already had need not lie ahead."""
    if published is not None:
        data = replace(
            data,
            audience=list(published.audience),
            receipt_mode=published.receipt_mode,
            urgency=published.urgency,
            classification=published.classification,
            signin_enabled=published.signin_enabled,
        )
    errors = _Errors()
    title = " ".join((data.title or "").replace("\x00", "").split())
    if not title:
        errors.add("title", _("请填写通知事项（标题）。"))
    elif len(title) > TITLE_MAX:
        errors.add("title", _("通知事项不能超过 %(max)s 个字。") % {"max": TITLE_MAX})
    body = richtext.sanitize((data.body or "").replace("\x00", ""))
    if len(body) > BODY_MAX:
        errors.add("body", _("正文过长：不能超过 %(max)s 个字符。") % {"max": BODY_MAX})
    elif publishing and richtext.is_blank(body):
        errors.add("body", _("请填写通知正文。"))
    place = " ".join((data.place or "").replace("\x00", "").split())
    if len(place) > PLACE_MAX:
        errors.add("place", _("地点不能超过 %(max)s 个字。") % {"max": PLACE_MAX})
    elif publishing and not place:
        errors.add("place", _("请填写地点（如会议室、线上、全公司）。"))
    starts_at, ends_at = data.starts_at, data.ends_at
    if publishing and starts_at is None:
        errors.add("starts_at", _("请填写时间。"))
    elif publishing and published is None and starts_at is not None and starts_at < now - PAST_GRACE:
        errors.add("starts_at", _("时间已过，请检查日期是否填写正确。"))
    if starts_at is not None and ends_at is not None and ends_at < starts_at:
        errors.add("ends_at", _("结束时间不能早于开始时间。"))

    mode = data.receipt_mode or ReceiptMode.NONE
    if mode not in ReceiptMode.values:
        errors.add("receipt_mode", _("请选择回执方式。"))
        mode = ReceiptMode.NONE
    due = data.receipt_due if mode != ReceiptMode.NONE else None
    if due is not None:
        unchanged = published is not None and due == published.receipt_due
        if publishing and due <= now and not unchanged:
            errors.add("receipt_due", _("回执截止时间已过，请重新选择。"))
        elif mode == ReceiptMode.ATTEND and starts_at is not None and due > starts_at:
            errors.add("receipt_due", _("参加回执的截止时间不能晚于开始时间。"))
    urgency = data.urgency or Urgency.NORMAL
    if urgency not in Urgency.values:
        errors.add("urgency", _("请选择紧急程度。"))
    level = data.classification
    if level not in classification.levels():
        errors.add("classification", _("请选择密级。"))
    elif published is None and level > classification.clearance_of(actor):
        errors.add("classification", _("通知的密级不能高于您本人的可知悉密级。"))
    elif not classification.is_classified(level):
        mark = _CLASSIFIED_MARK.search(f"{title}\n{richtext.plain_text(body)}")
        if mark is not None:
            errors.add(
                "classification",
                _("内容标有密级标识“%(mark)s”，请将密级设为相应级别，涉密内容须指定知悉范围。")
                % {"mark": mark.group(1) or mark.group(2)},
            )

    if published is not None:
        audience, summary = list(published.audience), published.audience_summary
    else:
        choices, bad = audience_choices(actor, data.audience or [])
        if bad:
            errors.add("audience", _("相关人员中有不存在或已停用的人员、部门，请重新选择。"))
        elif publishing and not choices:
            errors.add("audience", _("请选择相关人员（人员或部门）。"))
        elif classification.is_classified(level) and any(choice.kind == "everyone" for choice in choices):
            errors.add("audience", _("涉密通知须指定具体的人员或部门，不能发给全体员工。"))
        audience, summary = [choice.reference for choice in choices], _summary(choices)
    errors.raise_any()
    return _Clean(
        title=title,
        body=body,
        body_text=richtext.plain_text(body),
        starts_at=starts_at,
        ends_at=ends_at,
        place=place,
        audience=audience,
        audience_summary=summary,
        receipt_mode=mode,
        receipt_due=due,
        urgency=urgency,
        classification=level,
        signin_enabled=bool(data.signin_enabled),
    )


def _screen(actor: User, clean: _Clean) -> moderation.Verdict:
    """Content rules before anything is stored (R-27): a blocking word raises here."""
    return moderation.screen(
        actor=actor,
        fields={"title": clean.title, "body": clean.body_text, "place": clean.place},
        context=MODERATION_CONTEXT,
    )


def _require_publisher(actor: User) -> None:
    access.require(actor, PUBLISH, _("您没有发布通知的权限。"))


def _require_audience(actor: User, references: Sequence[str], request: HttpRequest | None) -> None:
    """R-31: a department or all staff needs ``notify.send_to_units`` over it."""
    try:
        notify_services.require_send_permission(actor=actor, recipients=references)
    except PermissionDeniedError:
        with transaction.atomic():
            record(
                actor=actor,
                action=audit_actions.PUBLISHED,
                result="denied",
                request=request,
                details={"audience": list(references), "reason": "notify.send_to_units"},
            )
        raise


def _apply(notice: Notice, clean: _Clean, now: dt.datetime) -> None:
    for name in (
        "title", "body", "body_text", "starts_at", "ends_at", "place", "audience", "audience_summary",
        "receipt_mode", "receipt_due", "urgency", "classification", "signin_enabled",
    ):  # fmt: skip
        setattr(notice, name, getattr(clean, name))
    notice.updated_at = now


def _new_notice(actor: User, now: dt.datetime) -> Notice:
    membership = org_selectors.primary_membership(actor)
    return Notice(
        publisher=actor,
        publisher_unit=membership.unit if membership is not None else None,
        created_at=now,
    )


def _own_draft(actor: User, notice: Notice) -> Notice:
    """The actor's own draft (or notice returned by review), locked for the change."""
    try:
        locked = Notice.objects.select_for_update().get(pk=notice.pk, publisher_id=actor.pk)
    except Notice.DoesNotExist:
        raise NotFoundError(_("通知不存在或无权访问。")) from None
    if locked.status != Status.DRAFT:
        raise DomainError(_("只有草稿可以这样修改；已发布的通知请使用“修改”。"))
    return locked


# --------------------------------------------------------------------------- files


def _images_in(body: str) -> list[str]:
    """The keys of the notice images the body shows, each once."""
    return list(dict.fromkeys(match.lower() for match in _IMAGE_URL.findall(body)))[:MAX_IMAGES]


def _link_files(notice: Notice, *, added: Sequence[StoredFile], removed: Sequence[int]) -> list[str]:
    """Attach ``added`` (stored for this notice by ``files.store_upload``), drop ``removed``
    (attachment ids, before publishing only), and link the images its body shows, so that
    whoever may read the notice may load them. Returns the names of the files added."""
    published = notice.status != Status.DRAFT
    if removed and not published:
        NoticeAttachment.objects.filter(notice=notice, inline=False, pk__in=list(removed)).delete()
    current = NoticeAttachment.objects.filter(notice=notice, inline=False).count()
    if current + len(added) > MAX_ATTACHMENTS:
        raise _field_error("attachments", _("附件不能超过 %(max)s 个。") % {"max": MAX_ATTACHMENTS})
    for stored in added:
        if stored.context != ATTACHMENT_CONTEXT or stored.uploaded_by_id != notice.publisher_id:
            raise ValueError("attach files stored for notices by the publisher")
    NoticeAttachment.objects.bulk_create(NoticeAttachment(notice=notice, file=stored) for stored in added)

    keys = _images_in(notice.body)
    images = []
    for key in keys:
        try:
            stored = file_selectors.get_by_key(key)
        except NotFoundError:
            continue
        # Only the publisher's own uploads to notices: a body cannot borrow another file.
        if stored.context == IMAGE_CONTEXT and stored.uploaded_by_id == notice.publisher_id:
            images.append(stored)
    linked = NoticeAttachment.objects.filter(notice=notice, inline=True)
    if not published:
        # A published notice keeps every image it has shown: its earlier revisions show them.
        linked.exclude(file__in=[image.pk for image in images]).delete()
    known = set(linked.values_list("file_id", flat=True))
    NoticeAttachment.objects.bulk_create(
        NoticeAttachment(notice=notice, file=image, inline=True) for image in images if image.pk not in known
    )
    return [stored.name for stored in added]


# --------------------------------------------------------------------------- writing


def notice_lock(notice_id: int) -> None:
    """Hold the notice's row until the caller's transaction ends, before reading what a
    change is worked out from (the API's changes of one file at a time)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notice_lock needs a transaction")
    list(Notice.objects.select_for_update().filter(pk=notice_id).values_list("pk"))


def notice_save_draft(
    *,
    actor: User,
    data: NoticeInput,
    notice: Notice | None = None,
    attachments: Sequence[StoredFile] = (),
    remove_attachments: Sequence[int] = (),
) -> Notice:
    """Keep what the publisher has written so far, unpublished (only the title is needed).
    ``attachments``: files stored by ``files.store_upload`` for this notice."""
    _require_publisher(actor)
    now = clock.now()
    clean = _clean(actor, data, publishing=False, now=now)
    _screen(actor, clean)  # a held word is checked again when publishing
    with transaction.atomic():
        target = _own_draft(actor, notice) if notice is not None else _new_notice(actor, now)
        _apply(target, clean, now)
        target.save()
        _link_files(target, added=attachments, removed=remove_attachments)
    return target


def notice_delete_draft(*, actor: User, notice: Notice) -> None:
    with transaction.atomic():
        _own_draft(actor, notice).delete()


def notice_publish(
    *,
    actor: User,
    data: NoticeInput,
    notice: Notice | None = None,
    attachments: Sequence[StoredFile] = (),
    remove_attachments: Sequence[int] = (),
    request: HttpRequest | None = None,
) -> Notice:
    """Publish a notice (a new one, or the actor's draft ``notice``) to its audience: the
    form refuses one without 事项, 正文, 时间, 地点 or 相关人员 (R-62), a department or all
    staff needs the right to send to them (R-31). Held content waits for a moderator."""
    _require_publisher(actor)
    now = clock.now()
    clean = _clean(actor, data, publishing=True, now=now)
    _require_audience(actor, clean.audience, request)
    verdict = _screen(actor, clean)
    with transaction.atomic():
        target = _own_draft(actor, notice) if notice is not None else _new_notice(actor, now)
        _apply(target, clean, now)
        target.save()
        _link_files(target, added=attachments, removed=remove_attachments)
        if verdict.held:
            target.status = Status.PENDING
            target.save()
            moderation.hold_for_review(
                actor=actor,
                target=target,
                fields={"title": clean.title, "body": clean.body_text, "place": clean.place},
                verdict=verdict,
                context=MODERATION_CONTEXT,
            )
            return target
        _deliver(target, now=now, request=request)
    return target


def _notice_link(notice: Notice) -> str:
    return reverse("notices:detail", args=[notice.pk])


def _notify_body(notice: Notice) -> str:
    lines = []
    if notice.starts_at is not None:
        when = _local(notice.starts_at)
        if notice.ends_at is not None:
            when += " — " + _local(notice.ends_at)
        lines.append(_("时间：%(when)s") % {"when": when})
    if notice.place:
        lines.append(_("地点：%(place)s") % {"place": notice.place})
    if notice.receipt_mode == ReceiptMode.READ:
        lines.append(_("请阅读后确认。"))
    elif notice.receipt_mode == ReceiptMode.ATTEND:
        lines.append(_("请回复是否参加。"))
    if notice.receipt_due is not None:
        lines.append(_("回执截止：%(due)s") % {"due": _local(notice.receipt_due)})
    return "\n".join(lines)


def _deliver(notice: Notice, *, now: dt.datetime, request: HttpRequest | None) -> None:
    """Publish ``notice`` (saved, in this transaction): one row per recipient in batches,
    then the notification to the same audience (急办 on every channel at once, R-65, R-66)."""
    people, withheld = _recipients(notice, now)
    if not people:
        raise _field_error("audience", _("相关人员中没有可接收通知的人员。"))
    notice.status = Status.PUBLISHED
    notice.published_at = now
    notice.recipient_count = len(people)
    notice.withheld_count = withheld
    if notice.signin_enabled and not notice.signin_token:
        notice.signin_token = secrets.token_urlsafe(16)
    notice.save()
    awaiting = notice.needs_receipt
    NoticeRecipient.objects.bulk_create(
        (
            NoticeRecipient(notice=notice, user_id=pk, unit_id=unit_id, delivered_at=now, awaiting=awaiting)
            for pk, unit_id in people
        ),
        batch_size=ROW_BATCH,
    )
    notify_services.notify(
        recipients=notice.audience,
        kind=KIND_PUBLISHED,
        title=notice.title,
        body=_notify_body(notice),
        link=_notice_link(notice),
        urgency=notice.urgency,
        actor=notice.publisher,
        source=notice,
    )
    record(
        actor=notice.publisher,
        action=audit_actions.PUBLISHED,
        target=notice,
        request=request,
        details={
            "audience": notice.audience,
            "recipients": len(people),
            "withheld": withheld,
            "classification": notice.classification,
            "urgency": notice.urgency,
            "receipt_mode": notice.receipt_mode,
        },
    )


# --------------------------------------------------------------------------- review


def on_review_approved(obj: Any, reviewer: Any) -> None:
    """A moderator let held content through: the notice goes out now, as its publisher's."""
    notice = Notice.objects.select_for_update().get(pk=obj.pk)
    if notice.status != Status.PENDING:
        raise DomainError(_("该通知已不在待审核状态。"))
    _deliver(notice, now=clock.now(), request=None)


def on_review_rejected(obj: Any, reviewer: Any, note: str) -> None:
    """Back to the publisher as a draft, told why."""
    notice = Notice.objects.select_for_update().get(pk=obj.pk)
    if notice.status != Status.PENDING:
        raise DomainError(_("该通知已不在待审核状态。"))
    notice.status = Status.DRAFT
    notice.updated_at = clock.now()
    notice.save(update_fields=["status", "updated_at"])
    notify_services.notify(
        recipients=[f"user:{notice.publisher_id}"],
        kind=KIND_REJECTED,
        title=_("通知未通过审核：%(title)s") % {"title": notice.title},
        body=note or _("请修改后重新发布。"),
        link=reverse("notices:edit", args=[notice.pk]),
        source=notice,
    )
    record(actor=reviewer, action=audit_actions.REJECTED, target=notice, details={"note": note})


# --------------------------------------------------------------------------- after publishing


_EDITABLE = ("title", "body", "starts_at", "ends_at", "place", "receipt_due")


def notice_update(
    *,
    actor: User,
    notice: Notice,
    data: NoticeInput,
    attachments: Sequence[StoredFile] = (),
    request: HttpRequest | None = None,
) -> Notice:
    """Edit a published notice (R-32): the previous text is kept as a revision, the notice is
    marked 已修改, and its recipients are told; receipts already given stay. Its audience,
    receipt mode, 密级 and urgency stay as published (withdraw and publish anew to change them)."""
    _require_publisher(actor)
    if notice.publisher_id != actor.pk:
        raise PermissionDeniedError(_("只有发布人可以修改通知。"))
    if notice.status != Status.PUBLISHED:
        raise DomainError(_("只有已发布的通知可以这样修改。"))
    now = clock.now()
    clean = _clean(actor, data, publishing=True, now=now, published=notice)
    changed = [name for name in _EDITABLE if getattr(clean, name) != getattr(notice, name)]
    if attachments:
        changed.append("attachments")
    if not changed:
        raise DomainError(_("内容没有变化。"))
    verdict = _screen(actor, clean)
    if verdict.held:
        raise DomainError(
            _("修改后的内容含需审核的词语：%(words)s。已发布的通知不能送审，请修改后再保存。")
            % {"words": "、".join(f"“{word}”" for word in verdict.words)}
        )
    with transaction.atomic():
        locked = Notice.objects.select_for_update().get(pk=notice.pk)
        if locked.status != Status.PUBLISHED or locked.revision != notice.revision:
            raise DomainError(_("通知已被修改或撤回，请刷新后重试。"))
        NoticeRevision.objects.create(
            notice=locked,
            number=locked.revision,
            title=locked.title,
            body=locked.body,
            starts_at=locked.starts_at,
            ends_at=locked.ends_at,
            place=locked.place,
            receipt_due=locked.receipt_due,
            written_at=locked.edited_at or locked.published_at or locked.created_at,
            replaced_at=now,
            replaced_by=actor,
        )
        _apply(locked, clean, now)
        locked.revision += 1
        locked.edited_at = now
        locked.save()
        added = _link_files(locked, added=attachments, removed=())
        notify_services.notify(
            recipients=locked.audience,
            kind=KIND_UPDATED,
            title=_("通知已更新：%(title)s") % {"title": locked.title},
            body=_notify_body(locked),
            link=_notice_link(locked),
            urgency=locked.urgency,
            actor=actor,
            source=locked,
        )
        record(
            actor=actor,
            action=audit_actions.UPDATED,
            target=locked,
            request=request,
            details={
                "revision": locked.revision,
                "changed": changed,
                **({"attachments": added} if added else {}),
            },
        )
    return locked


def notice_withdraw(
    *, actor: User, notice: Notice, reason: str = "", request: HttpRequest | None = None
) -> Notice:
    """撤回: the notice leaves its recipients' lists and to-dos; they are told. Its publisher
    and the managers in scope still see it, with the receipts given until then."""
    if not selectors.can_manage(actor, notice):
        raise PermissionDeniedError(_("只有发布人或通知管理员可以撤回通知。"))
    reason = " ".join(reason.replace("\x00", "").split())
    if len(reason) > REASON_MAX:
        raise _field_error("reason", _("撤回说明不能超过 %(max)s 个字。") % {"max": REASON_MAX})
    if reason:
        moderation.screen(actor=actor, fields={"reason": reason}, context=MODERATION_CONTEXT)
    now = clock.now()
    with transaction.atomic():
        locked = Notice.objects.select_for_update().get(pk=notice.pk)
        if locked.status != Status.PUBLISHED:
            raise DomainError(_("只有已发布的通知可以撤回。"))
        locked.status = Status.WITHDRAWN
        locked.withdrawn_at = now
        locked.updated_at = now
        locked.save(update_fields=["status", "withdrawn_at", "updated_at"])
        NoticeRecipient.objects.filter(notice=locked, awaiting=True).update(awaiting=False)
        notify_services.notify(
            recipients=locked.audience,
            kind=KIND_WITHDRAWN,
            title=_("通知已撤回：%(title)s") % {"title": locked.title},
            body=reason or _("发布人已撤回该通知，无需再处理。"),
            actor=actor,
            source=locked,
        )
        record(
            actor=actor,
            action=audit_actions.WITHDRAWN,
            target=locked,
            request=request,
            details={"reason": reason},
        )
    return locked


# --------------------------------------------------------------------------- receipts


def _push_receipt(notice: Notice, user: User, what: str) -> None:
    """Tell the publisher's receipt page, and the recipient's other tabs (their workbench's
    to-dos), that a receipt changed."""
    data = {"notice": notice.pk, "user": user.pk, "what": what}
    events.push_to_users([(notice.publisher_id, EVENT_RECEIPT, data), (user.pk, EVENT_RECEIPT, data)])


def _my_copy_locked(user: User, notice: Notice) -> NoticeRecipient:
    """The user's copy of a published notice they may see, locked for the change."""
    selectors.notice_get(user, notice.pk)  # the same rule as every page: not found otherwise
    try:
        copy = NoticeRecipient.objects.select_for_update().get(notice_id=notice.pk, user_id=user.pk)
    except NoticeRecipient.DoesNotExist:
        raise DomainError(_("您不是该通知的相关人员，无需回执。")) from None
    if notice.status != Status.PUBLISHED:
        raise DomainError(_("该通知已撤回。"))
    return copy


def notice_opened(*, user: User, notice: Notice) -> NoticeRecipient | None:
    """The user opened the notice: the first time sets their read receipt (R-63), and their
    notifications about it are read from now on. Returns their copy (none for the publisher
    or a manager who is no recipient)."""
    if notice.status != Status.PUBLISHED:
        return None
    now = clock.now()
    with transaction.atomic():
        first = NoticeRecipient.objects.filter(
            notice_id=notice.pk, user_id=user.pk, read_at__isnull=True
        ).update(read_at=now)
        copy = NoticeRecipient.objects.filter(notice_id=notice.pk, user_id=user.pk).first()
        if copy is None:
            return None
        notify_services.notifications_mark_read_for_source(user=user, source=notice)
        if first:
            _push_receipt(notice, user, "read")
    return copy


def receipt_confirm(*, user: User, notice: Notice) -> NoticeRecipient:
    """确认已阅 (R-63). Accepted after the deadline too, and shown as late."""
    now = clock.now()
    with transaction.atomic():
        copy = _my_copy_locked(user, notice)
        if notice.receipt_mode != ReceiptMode.READ:
            raise DomainError(_("该通知不需要阅读确认。"))
        if copy.confirmed_at is not None:
            return copy
        copy.read_at = copy.read_at or now
        copy.confirmed_at = now
        copy.awaiting = False
        copy.save(update_fields=["read_at", "confirmed_at", "awaiting"])
        _push_receipt(notice, user, "confirm")
    return copy


def receipt_reply(*, user: User, notice: Notice, reply: str, note: str = "") -> NoticeRecipient:
    """参加 / 不参加 with a note (R-64); may be changed until the deadline."""
    if reply not in Reply.values:
        raise _field_error("reply", _("请选择参加或不参加。"))
    note = " ".join(note.replace("\x00", "").split())
    if len(note) > NOTE_MAX:
        raise _field_error("note", _("备注不能超过 %(max)s 个字。") % {"max": NOTE_MAX})
    if reply == Reply.DECLINE and not note:
        raise _field_error("note", _("不参加请填写原因。"))
    if note:
        moderation.screen(actor=user, fields={"note": note}, context="notices.reply")
    now = clock.now()
    with transaction.atomic():
        copy = _my_copy_locked(user, notice)
        if notice.receipt_mode != ReceiptMode.ATTEND:
            raise DomainError(_("该通知不需要回复是否参加。"))
        deadline = notice.reply_deadline
        if deadline is not None and now > deadline:
            raise DomainError(
                _("回执已于 %(deadline)s 截止，不能再提交或修改。") % {"deadline": _local(deadline)}
            )
        copy.read_at = copy.read_at or now
        copy.reply = reply
        copy.note = note
        copy.replied_at = now
        copy.awaiting = False
        copy.save(update_fields=["read_at", "reply", "note", "replied_at", "awaiting"])
        _push_receipt(notice, user, reply)
    return copy


def signin(*, user: User, notice: Notice, token: str) -> NoticeRecipient:
    """现场签到 by the QR code on site (R-64): the attendance list is who signed in."""
    if (
        not notice.signin_enabled
        or not notice.signin_token
        or not secrets.compare_digest(str(token), notice.signin_token)
    ):
        raise NotFoundError(_("签到码无效。"))
    now = clock.now()
    with transaction.atomic():
        copy = _my_copy_locked(user, notice)
        window = notice.signin_window()
        if window is None or not window[0] <= now <= window[1]:
            raise DomainError(
                _("不在签到时间内（%(opens)s 至 %(closes)s）。")
                % {"opens": _local(window[0]), "closes": _local(window[1])}
                if window
                else _("该通知未开启现场签到。")
            )
        if copy.signed_in_at is not None:
            return copy
        copy.read_at = copy.read_at or now
        copy.signed_in_at = now
        fields = ["read_at", "signed_in_at"]
        if notice.receipt_mode == ReceiptMode.ATTEND and not copy.reply:
            # Being there answers the question.
            copy.reply, copy.replied_at, copy.awaiting = Reply.ATTEND, now, False
            fields += ["reply", "replied_at", "awaiting"]
        copy.save(update_fields=fields)
        _push_receipt(notice, user, "signin")
    return copy


# --------------------------------------------------------------------------- publisher's tools


def receipts_remind(*, actor: User, notice: Notice, request: HttpRequest | None = None) -> int:
    """提醒未回执人员 (R-63): those who have not confirmed or replied — or, without a receipt,
    not read — are notified again; once per ``REMIND_INTERVAL`` per notice. Returns how many."""
    if not selectors.can_manage(actor, notice):
        raise PermissionDeniedError(_("只有发布人或通知管理员可以提醒。"))
    now = clock.now()
    with transaction.atomic():
        locked = Notice.objects.select_for_update().get(pk=notice.pk)
        if locked.status != Status.PUBLISHED:
            raise DomainError(_("只有已发布的通知可以提醒。"))
        next_at = selectors.next_remind_at(locked)
        if next_at is not None and now < next_at:
            raise DomainError(
                _("每 %(minutes)s 分钟只能提醒一次，下次可在 %(time)s 之后提醒。")
                % {
                    "minutes": int(REMIND_INTERVAL.total_seconds() // 60),
                    "time": timezone.localtime(next_at).strftime("%H:%M"),
                }
            )
        waiting = selectors.not_answered(locked)
        user_ids = list(waiting.order_by("user_id").values_list("user_id", flat=True))
        if not user_ids:
            return 0
        if locked.needs_receipt:
            title = _("请尽快回执：%(title)s") % {"title": locked.title}
        else:
            title = _("请及时阅读：%(title)s") % {"title": locked.title}
        if locked.receipt_due is not None:
            body = _("回执截止：%(due)s") % {"due": _local(locked.receipt_due)}
        else:
            body = _notify_body(locked)
        for start in range(0, len(user_ids), ROW_BATCH):
            notify_services.notify(
                recipients=[f"user:{pk}" for pk in user_ids[start : start + ROW_BATCH]],
                kind=KIND_REMINDER,
                title=title,
                body=body,
                link=_notice_link(locked),
                urgency=locked.urgency,
                actor=actor,
                source=locked,
            )
        waiting.update(reminded_at=now)
        locked.last_reminded_at = now
        locked.save(update_fields=["last_reminded_at"])
        record(
            actor=actor,
            action=audit_actions.REMINDED,
            target=locked,
            request=request,
            details={"count": len(user_ids)},
        )
    return len(user_ids)


@dataclass(frozen=True)
class Export:
    content: bytes
    name: str
    rows: int


def receipts_export(*, actor: User, notice: Notice, request: HttpRequest | None = None) -> Export:
    """The receipt list as an Excel workbook (a summary per department and everyone's
    receipt), audited: it names people and what they answered."""
    if not selectors.can_manage(actor, notice):
        raise PermissionDeniedError(_("只有发布人或通知管理员可以导出回执。"))
    content, rows = exports.workbook(notice)
    with transaction.atomic():
        record(
            actor=actor,
            action=audit_actions.EXPORTED,
            target=notice,
            request=request,
            details={"rows": rows, "classification": notice.classification},
        )
    stamp = timezone.localtime(clock.now()).strftime("%Y%m%d-%H%M")
    return Export(content, f"notice-{notice.pk}-receipts-{stamp}.xlsx", rows)


def attachment_downloaded(
    *, actor: User, notice: Notice, item: NoticeAttachment, request: HttpRequest | None = None
) -> None:
    """The download of a classified notice's attachment is audited (R-33)."""
    if not classification.is_classified(max(notice.classification, item.file.classification)):
        return
    with transaction.atomic():
        record(
            actor=actor,
            action=audit_actions.DOWNLOADED,
            target=notice,
            request=request,
            details={
                "file": item.file.name,
                "sha256": item.file.sha256,
                "classification": notice.classification,
            },
        )
