"""The moderation API under ``/api/v1/moderation/``.

- ``POST /check``: any signed-in user — the verdict on some fields, for live hints in forms;
  nothing is recorded (storing a text goes through the owning app, which calls ``screen``).
- ``POST /reports``: any signed-in user reports an object they can see (R-28, R-29); an
  object they cannot see, or that nobody made reportable, is 404 alike.
- The lexicon (categories and words), the review queue, the report queue and the violation
  register: holders of ``moderation.manage`` only; anyone else gets 403 ``forbidden``.

Each route parses, calls one selector or service, and shapes the answer.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.moderation import selectors, services
from xietong.moderation.models import Report, ReviewItem, SensitiveWord, Violation, WordCategory
from xietong.moderation.schemas import (
    CHECK_MAX_CHARS,
    CategoryIn,
    CategoryOut,
    CheckIn,
    DecisionIn,
    ReportIn,
    ReportOut,
    ReportPageOut,
    ReportQuery,
    ReportReceiptOut,
    ReportResolveIn,
    ReviewOut,
    ReviewPageOut,
    ReviewQuery,
    SanctionIn,
    SanctionOut,
    VerdictOut,
    ViolationOut,
    ViolatorPageOut,
    ViolatorQuery,
    WordIn,
    WordOut,
    WordPageOut,
    WordPatch,
    WordQuery,
)

router = Router(tags=["moderation"])


def _require(request: AuthedRequest) -> None:
    if not selectors.can_manage(request.user):
        raise PermissionDeniedError(_("只有内容审核管理员可以执行此操作。"))


def _person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "username": user.username, "name": user.name}


def _word(row: SensitiveWord) -> dict[str, Any]:
    return {
        "id": row.pk,
        "word": row.word,
        "normalized": row.normalized,
        "category_id": row.category_id,
        "category": row.category.name,
        "action": row.action,
        "is_active": row.is_active,
        "note": row.note,
        "created_by": _person(row.created_by),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _category(request: AuthedRequest, category_id: int) -> WordCategory:
    try:
        return selectors.category_get(actor=request.user, category_id=category_id)
    except DomainError:
        message = _("分类不存在。")
        raise DomainError(message, details=[{"field": "category_id", "message": message}]) from None


def _slice(rows: QuerySet[Any], offset: int, limit: int) -> tuple[int, list[Any]]:
    return rows.count(), list(rows[offset : offset + limit])


# --------------------------------------------------------------------------- check


@router.post("/check", response=VerdictOut, summary="检测内容是否含敏感词（不记录违规）")
def check(request: AuthedRequest, body: CheckIn) -> dict[str, Any]:
    if sum(len(text) for text in body.fields.values()) > CHECK_MAX_CHARS:
        raise DomainError(_("内容过长：一次最多检测 %(max)s 个字符。") % {"max": CHECK_MAX_CHARS})
    verdict = services.check(fields=body.fields)
    return {"action": verdict.action, "words": verdict.words, "hits": [hit.as_dict() for hit in verdict.hits]}


# --------------------------------------------------------------------------- lexicon


@router.get("/categories", response=list[CategoryOut], summary="敏感词分类")
def list_categories(request: AuthedRequest) -> list[WordCategory]:
    _require(request)
    return list(selectors.categories())


@router.post("/categories", response={201: CategoryOut}, summary="新建分类")
def create_category(request: AuthedRequest, body: CategoryIn) -> Status[WordCategory]:
    _require(request)
    category = services.category_create(actor=request.user, **body.dict())
    return Status(201, category)


@router.get("/words", response=WordPageOut, summary="敏感词列表")
def list_words(request: AuthedRequest, query: Query[WordQuery]) -> dict[str, Any]:
    _require(request)
    rows = selectors.words(
        actor=request.user,
        query=query.q.strip(),
        category_id=query.category_id,
        action=query.action or "",
        active=query.is_active,
    )
    count, items = _slice(rows, query.offset, query.limit)
    return {"count": count, "items": [_word(row) for row in items]}


@router.post("/words", response={201: WordOut}, summary="添加敏感词")
def create_word(request: AuthedRequest, body: WordIn) -> Status[dict[str, Any]]:
    _require(request)
    row = services.word_create(
        actor=request.user,
        word=body.word,
        category=_category(request, body.category_id),
        action=body.action,
        note=body.note,
    )
    return Status(201, _word(row))


@router.get("/words/{word_id}", response=WordOut, summary="一个敏感词")
def get_word(request: AuthedRequest, word_id: int) -> dict[str, Any]:
    _require(request)
    return _word(selectors.word_get(actor=request.user, word_id=word_id))


@router.patch("/words/{word_id}", response=WordOut, summary="修改、停用或启用敏感词")
def update_word(request: AuthedRequest, word_id: int, body: WordPatch) -> dict[str, Any]:
    _require(request)
    row = selectors.word_get(actor=request.user, word_id=word_id)
    row = services.word_update(
        actor=request.user,
        word=row,
        text=body.word,
        category=_category(request, body.category_id) if body.category_id is not None else None,
        action=body.action,
        note=body.note,
        is_active=body.is_active,
    )
    return _word(selectors.word_get(actor=request.user, word_id=row.pk))


@router.delete("/words/{word_id}", response=WordOut, summary="停用敏感词（保留记录，不再匹配）")
def deactivate_word(request: AuthedRequest, word_id: int) -> dict[str, Any]:
    _require(request)
    row = selectors.word_get(actor=request.user, word_id=word_id)
    services.word_update(actor=request.user, word=row, is_active=False)
    return _word(selectors.word_get(actor=request.user, word_id=row.pk))


# --------------------------------------------------------------------------- review queue


def _review(item: ReviewItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "object": f"{item.model_label}#{item.object_id}",
        "context": item.context,
        "fields": item.fields,
        "hits": item.hits,
        "words": item.words,
        "classification": item.classification,
        "submitted_by": _person(item.submitted_by),
        "submitted_at": item.submitted_at,
        "status": item.status,
        "reviewed_by": _person(item.reviewed_by),
        "reviewed_at": item.reviewed_at,
        "note": item.note,
    }


@router.get("/reviews", response=ReviewPageOut, summary="送审内容（默认待审核，先提交的在前）")
def list_reviews(request: AuthedRequest, query: Query[ReviewQuery]) -> dict[str, Any]:
    _require(request)
    rows = selectors.reviews(actor=request.user, status=None if query.status == "all" else query.status)
    count, items = _slice(rows, query.offset, query.limit)
    return {"count": count, "items": [_review(item) for item in items]}


@router.get("/reviews/{item_id}", response=ReviewOut, summary="一条送审内容")
def get_review(request: AuthedRequest, item_id: int) -> dict[str, Any]:
    _require(request)
    return _review(selectors.review_get(actor=request.user, item_id=item_id))


@router.post("/reviews/{item_id}/approve", response=ReviewOut, summary="审核通过（发布）")
def approve_review(request: AuthedRequest, item_id: int, body: DecisionIn) -> dict[str, Any]:
    _require(request)
    item = selectors.review_get(actor=request.user, item_id=item_id)
    services.review_approve(actor=request.user, item=item, note=body.note)
    return _review(selectors.review_get(actor=request.user, item_id=item_id))


@router.post("/reviews/{item_id}/reject", response=ReviewOut, summary="驳回（不发布，并记录违规）")
def reject_review(request: AuthedRequest, item_id: int, body: DecisionIn) -> dict[str, Any]:
    _require(request)
    item = selectors.review_get(actor=request.user, item_id=item_id)
    services.review_reject(actor=request.user, item=item, note=body.note)
    return _review(selectors.review_get(actor=request.user, item_id=item_id))


# --------------------------------------------------------------------------- reports


def _report(row: Report) -> dict[str, Any]:
    return {
        "id": row.pk,
        "target": row.target_ref,
        "reason": row.reason,
        "reason_label": row.get_reason_display(),
        "note": row.note,
        "title": row.title,
        "excerpt": row.excerpt,
        "link": row.link,
        "author": _person(row.author),
        "classification": row.classification,
        "reporter": _person(row.reporter),
        "created_at": row.created_at,
        "status": row.status,
        "handled_by": _person(row.handled_by),
        "handled_at": row.handled_at,
        "outcome_note": row.outcome_note,
        "violation_id": row.violation_id,
        "target_reports": getattr(row, "target_reports", 1),
        "target_pending": getattr(row, "target_pending", 0),
    }


@router.post("/reports", response={201: ReportReceiptOut}, summary="举报内容")
def create_report(request: AuthedRequest, body: ReportIn) -> Status[dict[str, Any]]:
    target, _handler = selectors.report_target(ref=body.target)
    report = services.report_create(actor=request.user, target=target, reason=body.reason, note=body.note)
    return Status(
        201,
        {
            "id": report.pk,
            "target": report.target_ref,
            "reason": report.reason,
            "status": report.status,
            "created_at": report.created_at,
        },
    )


@router.get("/reports", response=ReportPageOut, summary="举报队列（默认待处理，先举报的在前）")
def list_reports(request: AuthedRequest, query: Query[ReportQuery]) -> dict[str, Any]:
    _require(request)
    rows = selectors.reports(
        actor=request.user,
        status=None if query.status == "all" else query.status,
        reason=query.reason or "",
    )
    count, items = _slice(rows, query.offset, query.limit)
    return {"count": count, "items": [_report(row) for row in items]}


@router.post("/reports/{report_id}/resolve", response=ReportOut, summary="处理举报：屏蔽或不予处理")
def resolve_report(request: AuthedRequest, report_id: int, body: ReportResolveIn) -> dict[str, Any]:
    _require(request)
    report = selectors.report_get(actor=request.user, report_id=report_id)
    resolved = services.report_resolve(
        actor=request.user,
        report=report,
        hide=body.hide,
        note=body.note,
        violation=body.violation,
        severity=body.severity,
    )
    return _report(resolved)


# --------------------------------------------------------------------------- violations


def _violation(row: Violation) -> dict[str, Any]:
    return {
        "id": row.pk,
        "user": _person(row.user),
        "source": row.source,
        "rule": row.rule,
        "context": row.context,
        "words": row.words,
        "severity": row.severity,
        "outcome": row.outcome,
        "escalation": row.escalation,
        "occurrence": row.occurrence,
        "handler": _person(row.handler),
        "reported_to": [_person(head) for head in row.reported_to.all()],
        "sanctions": [_sanction(sanction) for sanction in row.sanctions.all()],
        "created_at": row.created_at,
    }


def _sanction(row: Any) -> dict[str, Any]:
    return {
        "id": row.pk,
        "kind": row.kind,
        "kind_label": row.get_kind_display(),
        "note": row.note,
        "decided_by": _person(row.decided_by),
        "decided_at": row.decided_at,
        "effect": row.effect,
    }


@router.get("/violators", response=ViolatorPageOut, summary="违规人员及次数")
def list_violators(request: AuthedRequest, query: Query[ViolatorQuery]) -> dict[str, Any]:
    _require(request)
    count, rows = _slice(
        selectors.violators(actor=request.user, query=query.q.strip()), query.offset, query.limit
    )
    return {
        "count": count,
        "items": [
            {
                "user": {"id": row["user_id"], "username": row["user__username"], "name": row["user__name"]},
                "total": row["total"],
                "recent": row["recent"],
                "reported": row["reported"],
                "last_at": row["last_at"],
            }
            for row in rows
        ],
    }


@router.get("/violators/{user_id}/violations", response=list[ViolationOut], summary="某人的违规历史")
def list_violations(request: AuthedRequest, user_id: int) -> list[dict[str, Any]]:
    _require(request)
    person = selectors.violator_get(actor=request.user, user_id=user_id)
    return [_violation(row) for row in selectors.violation_history(actor=request.user, user_id=person.pk)]


@router.post("/violations/{violation_id}/sanctions", response={201: SanctionOut}, summary="登记处分")
def create_sanction(request: AuthedRequest, violation_id: int, body: SanctionIn) -> Status[dict[str, Any]]:
    _require(request)
    violation = selectors.violation_get(actor=request.user, violation_id=violation_id)
    sanction = services.sanction_record(
        actor=request.user, violation=violation, kind=body.kind, note=body.note
    )
    return Status(201, _sanction(sanction))
