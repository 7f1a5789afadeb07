"""Content rules: the one API through which every app checks user-written text (R-27),
the review of held content, users' reports of content (R-28, R-29), the lexicon, and the
violation register with its sanctions (R-128, R-129).

How an app stores a text (a title, a body, a comment, the name of an upload)::

    from xietong.moderation import services as moderation

    verdict = moderation.screen(actor=user, fields={"title": title, "body": body}, context="portal.article")
    # a blocking word raised ContentBlockedError (400 content_blocked, the words named) here
    with transaction.atomic():
        article = Article.objects.create(..., status=PENDING if verdict.held else PUBLISHED)
        if verdict.held:
            moderation.hold_for_review(
                actor=user, target=article, fields=..., verdict=verdict, context="portal.article"
            )

and, once at start-up, ``registry.register_review_handler("portal.article", on_approve=…,
on_reject=…)``. Call ``screen`` before opening your own transaction: the violation it records
on a refusal must not roll back with the refused write.

Reports: an app makes its objects reportable with ``registry.register_report_handler``;
``report_create`` files a user's report, ``report_resolve`` hides the object (or not) for
every pending report of it at once, and may record a violation of the author.

Repeated breaches: each block, and each rejection of held content, is a violation. The
first in 90 days is recorded as a warning to the author, who is told in the notification
centre; from the third in 90 days on, the author's department heads
(``org.selectors.managers_of``) are told there, and by e-mail as their preferences say.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from django.apps import apps
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xietong.audit import actions as audit_actions
from xietong.audit.models import Event
from xietong.audit.services import record
from xietong.core import access, clock
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.identity import services as identity_services
from xietong.identity.models import User, UserSession
from xietong.moderation import lexicon, registry, selectors
from xietong.moderation.matcher import BLOCK, HOLD, Hit, normalize
from xietong.moderation.models import (
    Action,
    Report,
    ReviewItem,
    Sanction,
    SensitiveWord,
    Violation,
    WordCategory,
)
from xietong.org import selectors as org_selectors

logger = logging.getLogger(__name__)

MANAGE = selectors.MANAGE
ALLOW: Literal["allow"] = "allow"

#: The rule a sensitive word breaks (seed-rules.md): 不得发布违法、违规、低俗、虚假等信息.
RULE_CONTENT = "R-27"
#: Notification kinds (registered in ``ModerationConfig.ready``).
KIND_WARNING = "moderation.warning"
KIND_REPORT = "moderation.report"
#: A user reported content (to the moderators), and what became of it (to the reporters).
#: ("moderation.report" already names the report of repeated violations to department heads.)
KIND_REPORT_RECEIVED = "moderation.report_received"
KIND_REPORT_RESOLVED = "moderation.report_resolved"
#: From this many violations in the window on, the department heads are told.
REPORT_FROM = 3
WORD_MAX = 100
IMPORT_MAX_LINES = 50_000
EXCERPT_CONTEXT = 20  # characters kept on each side of a hit as evidence
EVIDENCE_MAX = 20  # hits kept as evidence per violation

WORD_CREATED = "moderation.word.created"
WORD_UPDATED = "moderation.word.updated"
WORDS_IMPORTED = "moderation.word.imported"
LEXICON_EXPORTED = "moderation.word.exported"
CATEGORY_CREATED = "moderation.category.created"
CATEGORY_UPDATED = "moderation.category.updated"
CONTENT_BLOCKED = "moderation.content.blocked"
CONTENT_HELD = "moderation.content.held"
REVIEW_APPROVED = "moderation.review.approved"
REVIEW_REJECTED = "moderation.review.rejected"
REVIEW_WITHDRAWN = "moderation.review.withdrawn"
VIOLATION_RECORDED = "moderation.violation.recorded"
SANCTION_RECORDED = "moderation.sanction.recorded"
REPORT_CREATED = "moderation.report.created"
REPORT_HIDDEN = "moderation.report.hidden"
REPORT_DISMISSED = "moderation.report.dismissed"

for _code, _label in (
    (WORD_CREATED, gettext_lazy("新增敏感词")),
    (WORD_UPDATED, gettext_lazy("修改敏感词")),
    (WORDS_IMPORTED, gettext_lazy("批量导入敏感词")),
    (LEXICON_EXPORTED, gettext_lazy("导出敏感词库")),
    (CATEGORY_CREATED, gettext_lazy("新建敏感词分类")),
    (CATEGORY_UPDATED, gettext_lazy("修改敏感词分类")),
    (CONTENT_BLOCKED, gettext_lazy("拦截含敏感词的内容")),
    (CONTENT_HELD, gettext_lazy("内容送审")),
    (REVIEW_APPROVED, gettext_lazy("审核通过")),
    (REVIEW_REJECTED, gettext_lazy("审核驳回")),
    (REVIEW_WITHDRAWN, gettext_lazy("撤回待审内容")),
    (VIOLATION_RECORDED, gettext_lazy("登记违规")),
    (SANCTION_RECORDED, gettext_lazy("登记处分")),
    (REPORT_CREATED, gettext_lazy("举报内容")),
    (REPORT_HIDDEN, gettext_lazy("处理举报：屏蔽内容")),
    (REPORT_DISMISSED, gettext_lazy("处理举报：不予处理")),
):
    audit_actions.register(_code, _label)


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    """What the lexicon says about a set of fields: ``allow``, ``hold`` (store it pending and
    call ``hold_for_review``) or ``block`` (refused)."""

    action: Literal["allow", "hold", "block"]
    hits: list[Hit] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return self.action == HOLD

    @property
    def blocked(self) -> bool:
        return self.action == BLOCK

    @property
    def words(self) -> list[str]:
        """The distinct words found, in order of first appearance."""
        return list(dict.fromkeys(hit.word for hit in self.hits))

    def words_with(self, action: str) -> list[str]:
        return list(dict.fromkeys(hit.word for hit in self.hits if hit.action == action))


def _quoted(words: Iterable[str]) -> str:
    return "、".join(f"“{word}”" for word in words)


class ContentBlockedError(DomainError):
    """The text contains a blocking word: refused, nothing stored. ``details`` lists each
    blocking word per field: ``{"field", "word", "category"}``."""

    status = 400
    code = "content_blocked"

    def __init__(self, verdict: Verdict, *, violation: Violation | None = None) -> None:
        blocking = [hit for hit in verdict.hits if hit.action == BLOCK]
        message = _("内容包含敏感词：%(words)s，请修改后再提交。") % {
            "words": _quoted(verdict.words_with(BLOCK))
        }
        if violation is not None:
            message += _consequence(violation)
        details = [
            {"field": f, "word": w, "category": c}
            for f, w, c in dict.fromkeys((hit.field, hit.word, hit.category) for hit in blocking)
        ]
        super().__init__(message, details=details)
        self.verdict = verdict
        self.violation = violation


def _consequence(violation: Violation) -> str:
    if violation.escalation == Violation.Escalation.WARNING:
        return _("此次违规已记录，请遵守平台内容管理规定。")
    if violation.escalation == Violation.Escalation.REPORTED:
        return _("此次违规已记录（%(days)s 天内第 %(count)s 次），已通报您的部门负责人。") % {
            "days": selectors.WINDOW_DAYS,
            "count": violation.occurrence,
        }
    return _("此次违规已记录（%(days)s 天内第 %(count)s 次），累计 %(limit)s 次将通报部门负责人。") % {
        "days": selectors.WINDOW_DAYS,
        "count": violation.occurrence,
        "limit": REPORT_FROM,
    }


def check(*, fields: Mapping[str, str | None]) -> Verdict:
    """The verdict on ``fields`` (name → text), each field matched on its own; records
    nothing. For live hints in forms; to store a text, use ``screen``."""
    matcher = lexicon.current()
    hits: list[Hit] = []
    for name, text in fields.items():
        if text:
            hits.extend(matcher.find(str(text), field=name))
    actions = {hit.action for hit in hits}
    if BLOCK in actions:
        return Verdict(BLOCK, hits)
    if HOLD in actions:
        return Verdict(HOLD, hits)
    return Verdict(ALLOW, hits)


def screen(*, actor: Any, fields: Mapping[str, str | None], context: str) -> Verdict:
    """Check user-written text before it is stored (R-27).

    ``context`` names where the text goes, e.g. ``"portal.article"``. A blocking word
    records a violation of ``actor``, writes the audit trail, and raises
    ``ContentBlockedError``; otherwise the verdict is returned — ``held`` means: store the
    object in its pending state and call ``hold_for_review``.
    """
    verdict = check(fields=fields)
    if not verdict.blocked:
        return verdict
    violation = None
    if actor is not None and actor.is_authenticated:
        blocking = [hit for hit in verdict.hits if hit.action == BLOCK]
        with transaction.atomic():
            violation = _record_violation(
                user=actor,
                source=Violation.Source.MODERATION,
                rule=RULE_CONTENT,
                context=context,
                words=verdict.words_with(BLOCK),
                evidence=_evidence(fields, blocking),
                outcome=Violation.Outcome.BLOCKED,
                handler=None,
            )
            record(
                actor=actor,
                action=CONTENT_BLOCKED,
                target=violation,
                result=Event.Result.DENIED,
                details={
                    "context": context,
                    "words": violation.words,
                    "fields": sorted({hit.field for hit in blocking}),
                    "occurrence": violation.occurrence,
                    "escalation": violation.escalation,
                },
            )
    raise ContentBlockedError(verdict, violation=violation)


def _evidence(fields: Mapping[str, str | None], hits: Iterable[Hit]) -> list[dict[str, Any]]:
    """An excerpt around each hit — enough to judge the case, not the whole text."""
    evidence = []
    for hit in list(hits)[:EVIDENCE_MAX]:
        text = str(fields.get(hit.field) or "")
        start = max(0, hit.start - EXCERPT_CONTEXT)
        evidence.append(
            {
                "field": hit.field,
                "word": hit.word,
                "category": hit.category,
                "excerpt": text[start : hit.end + EXCERPT_CONTEXT],
                "offset": hit.start - start,
                "length": hit.end - hit.start,
            }
        )
    return evidence


# --------------------------------------------------------------------------- violations


def _grade(occurrence: int) -> str:
    if occurrence >= REPORT_FROM:
        return Violation.Severity.SERIOUS
    if occurrence == 2:
        return Violation.Severity.GENERAL
    return Violation.Severity.MINOR


def _record_violation(
    *,
    user: User,
    source: str,
    rule: str,
    context: str,
    words: list[str],
    evidence: list[dict[str, Any]],
    outcome: str,
    handler: User | None,
    severity: str | None = None,
    description: str = "",
    link: str = "",
    review_item: ReviewItem | None = None,
) -> Violation:
    """Add one violation to the register, graded by how many the person has in the window,
    and escalate: a warning on the first, a report to the department heads from the third."""
    occurrence = Violation.objects.filter(user=user, created_at__gte=selectors.window_start()).count() + 1
    if occurrence >= REPORT_FROM:
        escalation = Violation.Escalation.REPORTED
    elif occurrence == 1:
        escalation = Violation.Escalation.WARNING
    else:
        escalation = Violation.Escalation.NONE
    violation = Violation.objects.create(
        user=user,
        source=source,
        rule=rule,
        context=context,
        words=words,
        evidence=evidence,
        link=link,
        description=description,
        severity=severity or _grade(occurrence),
        outcome=outcome,
        escalation=escalation,
        occurrence=occurrence,
        handler=handler,
        review_item=review_item,
        created_at=clock.now(),
    )
    if escalation == Violation.Escalation.REPORTED:
        heads = list(org_selectors.managers_of(user))
        if heads:
            violation.reported_to.set(heads)
            _notify_heads(violation, heads)
        else:
            logger.warning("moderation.violation.no_head", extra={"user_id": user.pk})
    elif escalation == Violation.Escalation.WARNING:
        _notify_warning(violation)
    return violation


def _notify_warning(violation: Violation) -> None:
    """The first violation in the window: the author is warned in the notification centre."""
    from xietong.notify.services import notify  # notify sits above moderation in the layers

    notify(
        recipients=[f"user:{violation.user_id}"],
        kind=KIND_WARNING,
        title=_("违规提醒：您提交的内容违反了平台内容管理规定"),
        body=_summary(violation)
        + "\n\n"
        + _("此次违规已记录。%(days)s 天内累计 %(limit)s 次将通报您的部门负责人。")
        % {"days": selectors.WINDOW_DAYS, "limit": REPORT_FROM},
    )


def _notify_heads(violation: Violation, heads: list[User]) -> None:
    """From the third violation in the window on, the department heads are told (R-127)."""
    from xietong.notify.services import notify  # notify sits above moderation in the layers

    user = violation.user
    notify(
        recipients=[f"user:{head.pk}" for head in heads],
        kind=KIND_REPORT,
        title=_("违规通报：%(name)s %(days)s 天内第 %(count)s 次违规")
        % {"name": user.name or user.username, "days": selectors.WINDOW_DAYS, "count": violation.occurrence},
        body=_summary(violation) + "\n\n" + _("请按公司相关规定加强对本部门人员在平台上的行为管理。"),
    )


def _summary(violation: Violation) -> str:
    user = violation.user
    lines = [
        _("人员：%(name)s（%(username)s）") % {"name": user.name or user.username, "username": user.username},
        _("时间：%(time)s") % {"time": timezone.localtime(violation.created_at).strftime("%Y-%m-%d %H:%M")},
        _("违反规定：%(rule)s") % {"rule": violation.rule},
        _("处理结果：%(outcome)s") % {"outcome": violation.get_outcome_display()},
    ]
    if violation.context:
        lines.append(_("场景：%(context)s") % {"context": violation.context})
    if violation.words:
        lines.append(_("敏感词：%(words)s") % {"words": _quoted(violation.words)})
    return "\n".join(lines)


def violation_record(
    *,
    actor: User,
    user: User,
    rule: str,
    severity: str,
    description: str,
    link: str = "",
    source: str = Violation.Source.MANUAL,
) -> Violation:
    """Enter a violation by hand, or from a security alert (R-128)."""
    _require(actor, VIOLATION_RECORDED, user)
    if selectors.violator_by_username(actor=actor, username=user.username) is None:
        raise NotFoundError(_("对象不存在或无权访问。"))
    if user.pk == actor.pk:
        raise DomainError(_("不能为本人登记违规。"))
    rule = " ".join(rule.split())[:100]
    description = description.strip()
    errors = []
    if not rule:
        errors.append({"field": "rule", "message": _("请填写违反的规定。")})
    if not description:
        errors.append({"field": "description", "message": _("请填写情况说明。")})
    if severity not in Violation.Severity.values:
        errors.append({"field": "severity", "message": _("请选择情节。")})
    if source not in (Violation.Source.MANUAL, Violation.Source.SECURITY):
        errors.append({"field": "source", "message": _("来源无效。")})
    if errors:
        raise DomainError(errors[0]["message"], details=errors)
    with transaction.atomic():
        violation = _record_violation(
            user=user,
            source=source,
            rule=rule,
            context="",
            words=[],
            evidence=[],
            outcome=Violation.Outcome.RECORDED,
            handler=actor,
            severity=severity,
            description=description,
            link=link.strip()[:500],
        )
        record(
            actor=actor,
            action=VIOLATION_RECORDED,
            target=violation,
            details={"user": user.username, "rule": rule, "severity": severity, "source": source},
        )
    return violation


def sanction_record(*, actor: User, violation: Violation, kind: str, note: str = "") -> Sanction:
    """Record the sanction decided for a violation and apply its platform effect (R-129):
    停职 and 辞退 switch the account off at once — no sign-in, sessions ended, API tokens
    revoked. A suspension is lifted, and a dismissal completed (work handed over), by the
    system administrator on the account pages."""
    _require(actor, SANCTION_RECORDED, violation)
    violation = selectors.violation_get(actor=actor, violation_id=violation.pk)
    if kind not in Sanction.Kind.values:
        message = _("请选择处分类型。")
        raise DomainError(message, details=[{"field": "kind", "message": message}])
    user = violation.user
    if user.pk == actor.pk:
        raise DomainError(_("不能为本人登记处分。"))
    switch_off = kind in (Sanction.Kind.SUSPENSION, Sanction.Kind.DISMISSAL)
    if switch_off and access.is_administrator(user):
        # A moderator must not be able to lock out the administrators who oversee them.
        raise DomainError(_("管理员账号的停职、辞退须由系统管理员在账号管理中办理。"))
    with transaction.atomic():
        effect: dict[str, Any] = {}
        if switch_off:
            effect = _switch_off(user, actor)
        sanction = Sanction.objects.create(
            violation=violation,
            kind=kind,
            note=note.strip()[:500],
            decided_by=actor,
            decided_at=clock.now(),
            effect=effect,
        )
        record(
            actor=actor,
            action=SANCTION_RECORDED,
            target=user,
            details={"violation_id": violation.pk, "kind": kind, "note": sanction.note, **effect},
        )
    access.forget(user)
    return sanction


def _switch_off(user: User, actor: User) -> dict[str, Any]:
    disabled = User.objects.filter(pk=user.pk, is_active=True).update(is_active=False)
    user.is_active = False
    return {
        "account_disabled": bool(disabled),
        "sessions_ended": identity_services.user_sessions_end(
            user=user, actor=actor, reason=UserSession.EndReason.ACCOUNT_DISABLED
        ),
        "tokens_revoked": identity_services.user_tokens_revoke(user=user, actor=actor),
    }


# --------------------------------------------------------------------------- review


def hold_for_review(
    *, actor: Any, target: models.Model, fields: Mapping[str, str | None], verdict: Verdict, context: str
) -> ReviewItem:
    """Put saved, still unpublished ``target`` in the review queue with a snapshot of its
    held ``fields``. A pending item of the same object (an earlier submission) is withdrawn."""
    if not verdict.held:
        raise ValueError("only a held verdict goes to review")
    if target.pk is None:
        raise ValueError("save the held object before holding it for review")
    label = registry.model_label(target)
    if registry.review_handler(label) is None:
        raise LookupError(f"no review handler registered for {label}")
    level = getattr(target, "classification", 0)
    now = clock.now()
    with transaction.atomic():
        _pending_of(target).update(
            status=ReviewItem.Status.WITHDRAWN, reviewed_at=now, note=_("已被再次提交的内容取代。")
        )
        app_label, model_name = label.split(".", 1)
        item = ReviewItem.objects.create(
            app_label=app_label,
            model_name=model_name,
            object_id=str(target.pk),
            context=context,
            fields={name: str(text) for name, text in fields.items() if text},
            hits=[hit.as_dict() for hit in verdict.hits],
            words=verdict.words,
            classification=level if isinstance(level, int) else 0,
            submitted_by=actor,
            submitted_at=now,
        )
        record(
            actor=actor,
            action=CONTENT_HELD,
            target=item,
            details={"context": context, "object": f"{label}#{target.pk}", "words": item.words},
        )
    return item


def _pending_of(target: models.Model) -> models.QuerySet[ReviewItem]:
    app_label, model_name = registry.model_label(target).split(".", 1)
    return ReviewItem.objects.filter(
        app_label=app_label,
        model_name=model_name,
        object_id=str(target.pk),
        status=ReviewItem.Status.PENDING,
    )


def review_withdraw(*, actor: Any, target: models.Model) -> int:
    """Take ``target`` out of the queue (its author deleted it); returns how many items."""
    with transaction.atomic():
        items = list(_pending_of(target).select_for_update())
        for item in items:
            item.status, item.reviewed_at, item.note = (
                ReviewItem.Status.WITHDRAWN,
                clock.now(),
                _("内容已删除。"),
            )
            item.save(update_fields=["status", "reviewed_at", "note"])
            record(actor=actor, action=REVIEW_WITHDRAWN, target=item)
    return len(items)


def review_approve(*, actor: User, item: ReviewItem, note: str = "") -> ReviewItem:
    """Publish held content: its app's ``on_approve`` runs in this transaction."""
    return _decide(actor=actor, item=item, approve=True, note=note)


def review_reject(*, actor: User, item: ReviewItem, note: str = "") -> ReviewItem:
    """Refuse held content: its app's ``on_reject`` runs in this transaction, and the author
    gets a violation (graded and escalated like a blocked text)."""
    return _decide(actor=actor, item=item, approve=False, note=note)


def _target(item: ReviewItem) -> models.Model | None:
    try:
        model = apps.get_model(item.app_label, item.model_name)
        return model._default_manager.filter(pk=item.object_id).first()  # type: ignore[no-any-return]
    except (LookupError, ValueError, TypeError):
        return None


def _decide(*, actor: User, item: ReviewItem, approve: bool, note: str) -> ReviewItem:
    action = REVIEW_APPROVED if approve else REVIEW_REJECTED
    _require(actor, action, item)
    item = selectors.review_get(actor=actor, item_id=item.pk)
    if item.submitted_by_id == actor.pk:
        raise DomainError(_("不能审核本人提交的内容。"))
    handler = registry.review_handler(item.model_label)
    if handler is None:
        raise DomainError(_("该类内容尚未接入审核处理，暂不能审核。"))
    note = note.strip()[:500]
    gone = False
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().select_related("submitted_by").get(pk=item.pk)
        if item.status != ReviewItem.Status.PENDING:
            raise DomainError(_("该内容已处理：%(status)s。") % {"status": item.get_status_display()})
        target = _target(item)
        item.reviewed_by, item.reviewed_at = actor, clock.now()
        details: dict[str, Any] = {"context": item.context, "object": f"{item.model_label}#{item.object_id}"}
        if target is None:
            gone = True
            item.status, item.note = ReviewItem.Status.WITHDRAWN, _("内容已删除。")
            item.save(update_fields=["status", "reviewed_by", "reviewed_at", "note"])
            record(actor=actor, action=REVIEW_WITHDRAWN, target=item, details=details)
        else:
            if approve:
                handler.on_approve(target, actor)
                item.status = ReviewItem.Status.APPROVED
            else:
                handler.on_reject(target, actor, note)
                item.status = ReviewItem.Status.REJECTED
            item.note = note
            item.save(update_fields=["status", "reviewed_by", "reviewed_at", "note"])
            if not approve:
                violation = _record_violation(
                    user=item.submitted_by,
                    source=Violation.Source.MODERATION,
                    rule=RULE_CONTENT,
                    context=item.context,
                    words=list(item.words),
                    evidence=_evidence(item.fields, [_hit(h) for h in item.hits]),
                    outcome=Violation.Outcome.REJECTED,
                    handler=actor,
                    review_item=item,
                )
                details.update(violation_id=violation.pk, escalation=violation.escalation)
            record(actor=actor, action=action, target=item, details={**details, "note": note})
    if gone:
        raise DomainError(_("该内容已被作者删除，已移出审核队列。"))
    return item


def _hit(data: Mapping[str, Any]) -> Hit:
    return Hit(
        str(data.get("field", "")),
        str(data.get("word", "")),
        str(data.get("category", "")),
        str(data.get("action", "")),
        int(data.get("start", 0)),
        int(data.get("end", 0)),
        str(data.get("text", "")),
    )


# --------------------------------------------------------------------------- reports

#: Reports one person may file in an hour: plenty for real use, too few to flood the queue.
REPORTS_PER_HOUR = 20
REPORT_NOTE_MAX = 500
REPORT_EXCERPT_MAX = 1000
#: The rule a report's reason names, for the violation register (seed-rules.md).
REPORT_RULES: dict[str, str] = {
    Report.Reason.UNRELATED: "R-28",
    Report.Reason.ABUSE: "R-29",
    Report.Reason.FALSE: "R-29",
    Report.Reason.SECRET: "R-33",
    Report.Reason.OTHER: "R-27",
}


class ReportLimitError(DomainError):
    """Too many reports in the last hour (R-31): 429 in the API."""

    status = 429
    code = "rate_limited"


def _not_found() -> NotFoundError:
    return NotFoundError(_("对象不存在或无权访问。"))


def _internal_link(link: str) -> str:
    """A handler's link, kept only when it is a path inside the platform."""
    link = str(link or "").strip()[:500]
    if link.startswith("/") and url_has_allowed_host_and_scheme(link, allowed_hosts=set()):
        return link
    return ""


def _same_target(report: Report) -> models.QuerySet[Report]:
    return Report.objects.filter(
        app_label=report.app_label, model_name=report.model_name, object_id=report.object_id
    )


def report_create(*, actor: User, target: models.Model, reason: str, note: str = "") -> Report:
    """File ``actor``'s report of ``target`` (R-28, R-29) and tell the moderators.

    The object must have a report handler and be visible to the actor (else
    ``NotFoundError``, which says nothing about whether it exists); one pending report per
    person and object; at most ``REPORTS_PER_HOUR`` an hour (``ReportLimitError``). The note
    goes through ``screen`` like any other text: a blocking word refuses it; a held one is
    kept, since only moderators read it and a report often has to quote what it reports.
    """
    if actor is None or not actor.is_authenticated or target.pk is None:
        raise _not_found()
    label = registry.model_label(target)
    handler = registry.report_handler(label)
    if handler is None or not handler.visible_to(target, actor):
        raise _not_found()
    errors = []
    if reason not in Report.Reason.values:
        errors.append({"field": "reason", "message": _("请选择举报原因。")})
    note = note.strip()
    if len(note) > REPORT_NOTE_MAX:
        errors.append(
            {"field": "note", "message": _("补充说明不能超过 %(max)s 个字符。") % {"max": REPORT_NOTE_MAX}}
        )
    if errors:
        raise DomainError(errors[0]["message"], details=errors)
    seen = handler.describe(target)
    author = seen.author if getattr(seen.author, "pk", None) is not None else None
    if author is not None and author.pk == actor.pk:
        raise DomainError(_("不能举报本人发布的内容。"))
    app_label, model_name = label.split(".", 1)
    mine = Report.objects.filter(
        reporter=actor, app_label=app_label, model_name=model_name, object_id=str(target.pk)
    )
    if mine.filter(status=Report.Status.PENDING).exists():
        raise _already_reported()
    since = clock.now() - dt.timedelta(hours=1)
    if Report.objects.filter(reporter=actor, created_at__gte=since).count() >= REPORTS_PER_HOUR:
        message = _("举报过于频繁：每小时最多举报 %(max)s 次，请稍后再试。") % {"max": REPORTS_PER_HOUR}
        record(
            actor=actor,
            action=REPORT_CREATED,
            result=Event.Result.DENIED,
            details={"object": f"{label}#{target.pk}", "reason": "rate_limited"},
        )
        raise ReportLimitError(message)
    if note:
        screen(actor=actor, fields={"note": note}, context="moderation.report")
    level = seen.classification if isinstance(seen.classification, int) else 0
    with transaction.atomic():
        try:
            with transaction.atomic():
                report = Report.objects.create(
                    reporter=actor,
                    app_label=app_label,
                    model_name=model_name,
                    object_id=str(target.pk),
                    reason=reason,
                    note=note,
                    title=" ".join(str(seen.title or "").split())[:200],
                    excerpt=str(seen.excerpt or "").strip()[:REPORT_EXCERPT_MAX],
                    link=_internal_link(seen.link),
                    author=author,
                    classification=max(0, level),
                    created_at=clock.now(),
                )
        except IntegrityError:  # the same person's second click, at the same moment
            raise _already_reported() from None
        record(
            actor=actor,
            action=REPORT_CREATED,
            target=report,
            details={"object": f"{label}#{target.pk}", "reason": reason},
        )
        # Moderators hear of an object once; more reports of it only raise its count in the queue.
        if not _same_target(report).filter(status=Report.Status.PENDING).exclude(pk=report.pk).exists():
            _notify_moderators(report)
    return report


def _already_reported() -> DomainError:
    return DomainError(_("您已举报过该内容，管理员正在处理，处理后会通知您。"))


def _notify_moderators(report: Report) -> None:
    from xietong.notify.services import notify  # notify sits above moderation in the layers

    moderators = [
        person.pk
        for person in selectors.moderators_of(report)
        if person.pk not in (report.reporter_id, report.author_id)
    ]
    if not moderators:
        logger.warning("moderation.report.no_moderator", extra={"report_id": report.pk})
        return
    reason = report.get_reason_display()
    title = report.title or report.excerpt[:40] or report.model_label
    lines = [
        _("举报原因：%(reason)s") % {"reason": reason},
        _("被举报内容：%(title)s") % {"title": title},
    ]
    if report.author is not None:
        lines.append(_("作者：%(name)s") % {"name": report.author.name or report.author.username})
    notify(
        recipients=[f"user:{pk}" for pk in moderators],
        kind=KIND_REPORT_RECEIVED,
        title=_("收到举报（%(reason)s）：%(title)s") % {"reason": reason, "title": title[:60]},
        body="\n".join(lines) + "\n\n" + _("请在“内容审核 → 举报”中核查处理。"),
        link=reverse("moderation:reports"),
        # A leak cannot wait for the next time someone looks at the queue.
        urgency="urgent" if report.reason == Report.Reason.SECRET else "normal",
        source=report,
    )


def _report_object(report: Report) -> models.Model | None:
    try:
        model = apps.get_model(report.app_label, report.model_name)
        return model._default_manager.filter(pk=report.object_id).first()  # type: ignore[no-any-return]
    except (LookupError, ValueError, TypeError):
        return None


def report_resolve(
    *,
    actor: User,
    report: Report,
    hide: bool,
    note: str = "",
    violation: bool = False,
    severity: str | None = None,
) -> Report:
    """Decide a report, and with it every pending report of the same object: hide the object
    (its app's ``on_hide`` runs in this transaction: raising ``DomainError`` there cancels the
    decision) or leave it. With ``violation`` the author also gets a violation in the register,
    graded by their count in the window unless ``severity`` says otherwise. The reporters are
    told the outcome."""
    action = REPORT_HIDDEN if hide else REPORT_DISMISSED
    _require(actor, action, report)
    report = selectors.report_get(actor=actor, report_id=report.pk)
    if report.author_id is not None and report.author_id == actor.pk:
        raise DomainError(_("不能处理针对本人内容的举报，请由其他管理员处理。"))
    note = note.strip()[:REPORT_NOTE_MAX]
    if violation and not hide:
        raise DomainError(_("不予处理的举报不能登记违规。"))
    if violation and report.author is None:
        raise DomainError(_("该内容没有可登记违规的作者。"))
    if severity and severity not in Violation.Severity.values:
        raise DomainError(_("请选择情节。"), details=[{"field": "severity", "message": _("请选择情节。")}])
    handler = registry.report_handler(report.model_label)
    if hide and handler is None:
        raise DomainError(_("该类内容尚未接入举报处理，暂不能屏蔽。"))
    with transaction.atomic():
        pending = list(
            _same_target(report)
            .select_for_update()
            .filter(status=Report.Status.PENDING)
            .select_related("reporter")
            .order_by("pk")
        )
        if report.pk not in {row.pk for row in pending}:
            current = Report.objects.get(pk=report.pk)
            raise DomainError(_("该举报已处理：%(status)s。") % {"status": current.get_status_display()})
        target = _report_object(report)
        if hide and target is not None and handler is not None:
            handler.on_hide(target, actor, note)
        recorded = None
        if violation and report.author is not None:
            recorded = _record_violation(
                user=report.author,
                source=Violation.Source.MODERATION,
                rule=REPORT_RULES.get(report.reason, RULE_CONTENT),
                context=report.model_label,
                words=[],
                evidence=[
                    {
                        "field": report.title or report.model_label,
                        "word": "",
                        "category": report.get_reason_display(),
                        "excerpt": report.excerpt[:200],
                        "offset": 0,
                        "length": 0,
                    }
                ],
                outcome=Violation.Outcome.HIDDEN,
                handler=actor,
                severity=severity or None,
                description=_("经 %(count)s 人举报（%(reason)s），核实后屏蔽。%(note)s")
                % {"count": len(pending), "reason": report.get_reason_display(), "note": note},
                link=report.link,
            )
        status = Report.Status.HIDDEN if hide else Report.Status.DISMISSED
        Report.objects.filter(pk__in=[row.pk for row in pending]).update(
            status=status, handled_by=actor, handled_at=clock.now(), outcome_note=note, violation=recorded
        )
        details: dict[str, Any] = {
            "object": f"{report.model_label}#{report.object_id}",
            "reports": [row.pk for row in pending],
            "note": note,
        }
        if target is None:
            details["gone"] = True
        if recorded is not None:
            details.update(violation_id=recorded.pk, escalation=recorded.escalation)
        record(actor=actor, action=action, target=report, details=details)
        _notify_reporters(report, pending, hide=hide, note=note)
    return selectors.report_get(actor=actor, report_id=report.pk)


def _notify_reporters(report: Report, reports: list[Report], *, hide: bool, note: str) -> None:
    from xietong.notify.services import notify  # notify sits above moderation in the layers

    title = report.title or report.excerpt[:40] or report.model_label
    lines = [_("被举报内容：%(title)s") % {"title": title}]
    if hide:
        lines.append(_("处理结果：经核实，相关内容已屏蔽。"))
    else:
        lines.append(_("处理结果：经核查，暂未发现违反平台规定的情况，不予处理。"))
    if note:
        lines.append(_("处理意见：%(note)s") % {"note": note})
    notify(
        recipients=sorted({f"user:{row.reporter_id}" for row in reports}),
        kind=KIND_REPORT_RESOLVED,
        title=_("您的举报已处理：%(outcome)s") % {"outcome": _("相关内容已屏蔽") if hide else _("不予处理")},
        body="\n".join(lines) + "\n\n" + _("感谢您维护平台秩序。"),
        link="" if hide else _internal_link(report.link),
        source=report,
    )


# --------------------------------------------------------------------------- lexicon


def _deny(actor: Any, action: str, target: models.Model | None, message: str) -> PermissionDeniedError:
    """Audit a refused attempt, and return the error to raise."""
    record(actor=actor, action=action, target=target, result=Event.Result.DENIED, details={"reason": message})
    return PermissionDeniedError(message)


def _require(actor: Any, action: str, target: models.Model | None = None) -> None:
    if not access.can(actor, MANAGE):
        raise _deny(actor, action, target, _("只有内容审核管理员可以执行此操作。"))


def _clean_word(raw: str) -> tuple[str, str]:
    """The word as it will be shown (inner whitespace collapsed) and its folded key."""
    word = " ".join(str(raw).split())
    if not word:
        raise DomainError(_("请输入敏感词。"), details=[{"field": "word", "message": _("请输入敏感词。")}])
    if len(word) > WORD_MAX:
        message = _("敏感词不能超过 %(max)s 个字符。") % {"max": WORD_MAX}
        raise DomainError(message, details=[{"field": "word", "message": message}])
    key = normalize(word)
    if not key:
        message = _("“%(word)s”只由空格、标点或符号组成，不能作为敏感词。") % {"word": word}
        raise DomainError(message, details=[{"field": "word", "message": message}])
    if len(key) > WORD_MAX:
        message = _("敏感词不能超过 %(max)s 个字符。") % {"max": WORD_MAX}
        raise DomainError(message, details=[{"field": "word", "message": message}])
    return word, key


def _clean_action(action: str | None, category: WordCategory) -> str:
    action = action or category.default_action
    if action not in Action.values:
        message = _("处理方式无效。")
        raise DomainError(message, details=[{"field": "action", "message": message}])
    return action


def _duplicate(word: str, existing: SensitiveWord) -> DomainError:
    message = _("敏感词“%(word)s”已在词库中（“%(existing)s”，%(state)s）。") % {
        "word": word,
        "existing": existing.word,
        "state": _("启用") if existing.is_active else _("已停用"),
    }
    return DomainError(message, details=[{"field": "word", "message": message}])


def category_create(
    *, actor: User, name: str, description: str = "", default_action: str = BLOCK
) -> WordCategory:
    _require(actor, CATEGORY_CREATED)
    name = " ".join(name.split())
    if not name or len(name) > 32:
        message = _("请填写分类名称（不超过 32 个字符）。")
        raise DomainError(message, details=[{"field": "name", "message": message}])
    if default_action not in Action.values:
        raise DomainError(_("处理方式无效。"))
    if WordCategory.objects.filter(name=name).exists():
        message = _("分类“%(name)s”已存在。") % {"name": name}
        raise DomainError(message, details=[{"field": "name", "message": message}])
    with transaction.atomic():
        category = WordCategory.objects.create(
            name=name, description=description.strip()[:200], default_action=default_action
        )
        record(
            actor=actor, action=CATEGORY_CREATED, target=category, details={"default_action": default_action}
        )
    return category


def word_create(
    *, actor: User, word: str, category: WordCategory, action: str | None = None, note: str = ""
) -> SensitiveWord:
    """Add one word; ``action`` defaults to the category's."""
    _require(actor, WORD_CREATED)
    text, key = _clean_word(word)
    action = _clean_action(action, category)
    with transaction.atomic():
        existing = SensitiveWord.objects.filter(normalized=key).first()
        if existing is not None:
            raise _duplicate(text, existing)
        try:
            with transaction.atomic():
                now = clock.now()
                row = SensitiveWord.objects.create(
                    word=text,
                    normalized=key,
                    category=category,
                    action=action,
                    note=note.strip()[:200],
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:  # added by someone else at the same moment
            raise _duplicate(text, SensitiveWord.objects.get(normalized=key)) from None
        lexicon.changed()
        record(
            actor=actor,
            action=WORD_CREATED,
            target=row,
            details={"category": category.name, "action": action},
        )
    return row


def word_update(
    *,
    actor: User,
    word: SensitiveWord,
    text: str | None = None,
    category: WordCategory | None = None,
    action: str | None = None,
    note: str | None = None,
    is_active: bool | None = None,
) -> SensitiveWord:
    """Change a word; only the arguments given change. Deactivating keeps the row (and the
    history of what was matched) but stops matching it."""
    _require(actor, WORD_UPDATED, word)
    changes: dict[str, Any] = {}
    with transaction.atomic():
        row = SensitiveWord.objects.select_for_update().select_related("category").get(pk=word.pk)
        if text is not None:
            new_text, key = _clean_word(text)
            if key != row.normalized:
                existing = SensitiveWord.objects.filter(normalized=key).exclude(pk=row.pk).first()
                if existing is not None:
                    raise _duplicate(new_text, existing)
            if new_text != row.word:
                changes["word"] = [row.word, new_text]
                row.word, row.normalized = new_text, key
        if category is not None and category.pk != row.category_id:
            changes["category"] = [row.category.name, category.name]
            row.category = category
        if action is not None:
            action = _clean_action(action, row.category)
            if action != row.action:
                changes["action"] = [row.action, action]
                row.action = action
        if note is not None and note.strip()[:200] != row.note:
            changes["note"] = [row.note, note.strip()[:200]]
            row.note = note.strip()[:200]
        if is_active is not None and is_active != row.is_active:
            changes["is_active"] = [row.is_active, is_active]
            row.is_active = is_active
        if not changes:
            return row
        row.updated_at = clock.now()
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            raise _duplicate(row.word, SensitiveWord.objects.get(normalized=row.normalized)) from None
        lexicon.changed()
        record(actor=actor, action=WORD_UPDATED, target=row, details={"changes": changes})
    return row


@dataclass
class ImportResult:
    created: int = 0
    duplicates: list[str] = field(default_factory=list)
    #: (line number, the line, why it was skipped)
    invalid: list[tuple[int, str, str]] = field(default_factory=list)


def decode_word_file(data: bytes) -> str:
    """A text file as saved by Notepad or Excel on a Chinese Windows: UTF-8 (with or without
    BOM) or GB18030/GBK."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError(_("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的文本文件。"))


def words_import(
    *, actor: User, lines: Iterable[str], category: WordCategory, action: str | None = None, source: str = ""
) -> ImportResult:
    """Add one word per line (blank lines and lines starting with # are skipped); words
    already in the lexicon, in any spelling that folds alike, are reported and left as they
    are. One audit record for the whole file."""
    _require(actor, WORDS_IMPORTED)
    return _import(actor=actor, lines=lines, category=category, action=action, source=source)


def words_import_by_system(
    *, lines: Iterable[str], category: WordCategory, action: str | None = None, source: str = ""
) -> ImportResult:
    """The same, with no acting administrator: the ``moderation_import`` command, run by the
    operator on the server (audited as the system)."""
    return _import(actor=None, lines=lines, category=category, action=action, source=source)


def _import(
    *, actor: User | None, lines: Iterable[str], category: WordCategory, action: str | None, source: str
) -> ImportResult:
    action = _clean_action(action, category)
    result = ImportResult()
    wanted: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if number > IMPORT_MAX_LINES:
            raise DomainError(_("一次最多导入 %(max)s 行。") % {"max": IMPORT_MAX_LINES})
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            word, key = _clean_word(text)
        except DomainError as exc:
            result.invalid.append((number, text[:WORD_MAX], exc.message))
            continue
        if key in wanted:
            result.duplicates.append(word)
        else:
            wanted[key] = word
    with transaction.atomic():
        keys = list(wanted)
        for start in range(0, len(keys), 500):
            for key in SensitiveWord.objects.filter(normalized__in=keys[start : start + 500]).values_list(
                "normalized", flat=True
            ):
                result.duplicates.append(wanted.pop(key))
        now = clock.now()
        SensitiveWord.objects.bulk_create(
            [
                SensitiveWord(
                    word=word,
                    normalized=key,
                    category=category,
                    action=action,
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                )
                for key, word in wanted.items()
            ],
            batch_size=500,
        )
        result.created = len(wanted)
        if result.created:
            lexicon.changed()
        record(
            actor=actor,
            action=WORDS_IMPORTED,
            details={
                "source": source,
                "category": category.name,
                "action": action,
                "created": result.created,
                "duplicates": len(result.duplicates),
                "invalid": len(result.invalid),
            },
        )
    return result


def lexicon_exported(*, actor: User, count: int, filters: Mapping[str, Any]) -> None:
    """Audit an export of the lexicon (the list itself is sensitive)."""
    _require(actor, LEXICON_EXPORTED)
    record(actor=actor, action=LEXICON_EXPORTED, details={"count": count, "filters": dict(filters)})
