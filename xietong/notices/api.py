"""Notices over the REST API under ``/api/v1/notices/``: the same rules as the pages —
every answer comes from the visibility selector, every change from a service.

- ``GET /``, ``GET /{id}``: notices the caller may see (a recipient's own receipt included);
- ``POST /`` (publish, or save a draft), ``PATCH /{id}`` (edit after publishing),
  ``POST /{id}/publish`` (a draft), ``POST /{id}/withdraw``;
- ``POST /{id}/attachments`` (multipart), ``DELETE /{id}/attachments/{key}``: the publisher's
  files, as the editor allows them (a draft's come and go; a published notice's are only added,
  as an edit); ``GET /{id}/attachments/{key}``: a file, for whoever may see the notice;
- ``POST /{id}/read``, ``POST /{id}/receipt``: a recipient's read receipt and reply;
- ``GET /{id}/receipts``, ``GET /{id}/receipts/people``, ``POST /{id}/remind``,
  ``GET /{id}/receipts/export``: the publisher's (and the managers') view.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from xietong.core import classification
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.files import services as files
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.notices import selectors, services
from xietong.notices.models import Notice, NoticeRecipient, Reply
from xietong.notices.models import Status as NoticeStatus
from xietong.notices.schemas import (
    NoticeDetailOut,
    NoticeEditIn,
    NoticeIn,
    NoticePageOut,
    NoticeQuery,
    PeoplePageOut,
    PeopleQuery,
    ReceiptIn,
    ReceiptsOut,
    RemindOut,
    WithdrawIn,
)

router = Router(tags=["notices"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class FileRefusedError(DomainError):
    """An attachment refused (type, size, scan, name, how many): 422 with the reason at
    ``file``, like the schema's validation errors."""

    status = 422
    code = "validation_error"

    def __init__(self, message: str) -> None:
        super().__init__(message, details=[{"field": "file", "message": message}])


def _require_reader(request: AuthedRequest) -> None:
    if not selectors.can_read(request.user):
        raise PermissionDeniedError(_("您没有查看通知的权限。"))


def _person(user: User) -> dict[str, Any]:
    return {"id": user.pk, "username": user.username, "name": user.name}


def _mine(copy: NoticeRecipient | None) -> dict[str, Any] | None:
    if copy is None:
        return None
    return {
        "read_at": copy.read_at,
        "confirmed_at": copy.confirmed_at,
        "reply": copy.reply,
        "note": copy.note,
        "replied_at": copy.replied_at,
        "signed_in_at": copy.signed_in_at,
        "awaiting": copy.awaiting,
    }


def _notice(notice: Notice, copy: NoticeRecipient | None = None) -> dict[str, Any]:
    return {
        "id": notice.pk,
        "title": notice.title,
        "starts_at": notice.starts_at,
        "ends_at": notice.ends_at,
        "place": notice.place,
        "audience_summary": notice.audience_summary,
        "receipt_mode": notice.receipt_mode,
        "receipt_due": notice.receipt_due,
        "urgency": notice.urgency,
        "classification": notice.classification,
        "classification_label": classification.label(notice.classification),
        "status": notice.status,
        "publisher": _person(notice.publisher),
        "publisher_unit": notice.publisher_unit.name if notice.publisher_unit else None,
        "published_at": notice.published_at,
        "edited_at": notice.edited_at,
        "revision": notice.revision,
        "recipient_count": notice.recipient_count,
        "mine": _mine(copy),
    }


def _detail(notice: Notice, copy: NoticeRecipient | None) -> dict[str, Any]:
    return {
        **_notice(notice, copy),
        "body": notice.body,
        "body_text": notice.body_text,
        "audience": notice.audience,
        "signin_enabled": notice.signin_enabled,
        "attachments": [
            {
                "key": str(item.file.key),
                "name": item.file.name,
                "size": item.file.size,
                "content_type": item.file.content_type,
                "url": reverse("notices:attachment", args=[notice.pk, item.file.key]),
                "download_url": reverse("api:notice_attachment", args=[notice.pk, item.file.key]),
            }
            for item in selectors.attachments(notice)
        ],
    }


def _get(request: AuthedRequest, notice_id: int) -> Notice:
    _require_reader(request)
    return selectors.notice_get(request.user, notice_id)


def _managed(request: AuthedRequest, notice_id: int) -> Notice:
    _require_reader(request)
    return selectors.managed_notice(request.user, notice_id)


def _input(body: NoticeIn) -> services.NoticeInput:
    return services.NoticeInput(
        title=body.title,
        body=body.body,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        place=body.place,
        audience=body.audience,
        receipt_mode=body.receipt_mode,
        receipt_due=body.receipt_due,
        urgency=body.urgency,
        classification=body.classification,
        signin_enabled=body.signin_enabled,
    )


# --------------------------------------------------------------------------- reading


@router.get("/", response=NoticePageOut, summary="通知列表：我收到的 / 我发布的 / 本部门")
def list_notices(request: AuthedRequest, query: Query[NoticeQuery]) -> dict[str, Any]:
    _require_reader(request)
    user = request.user
    window = slice(query.offset, query.offset + query.limit)
    if query.box == "received":
        rows = selectors.received(user, query=query.q, only=query.only)
        return {"count": rows.count(), "items": [_notice(copy.notice, copy) for copy in rows[window]]}
    notices = (
        selectors.published_by(user, query=query.q)
        if query.box == "published"
        else selectors.unit_notices(user, query=query.q)
    )
    return {"count": notices.count(), "items": [_notice(notice) for notice in notices[window]]}


@router.get("/{notice_id}", response=NoticeDetailOut, summary="一条通知（不记为已读；阅读请调用 /read）")
def get_notice(request: AuthedRequest, notice_id: int) -> dict[str, Any]:
    notice = _get(request, notice_id)
    return _detail(notice, selectors.my_copy(request.user, notice))


@router.post("/{notice_id}/read", response=NoticeDetailOut, summary="阅读通知：记录阅读回执")
def read_notice(request: AuthedRequest, notice_id: int) -> dict[str, Any]:
    notice = _get(request, notice_id)
    copy = services.notice_opened(user=request.user, notice=notice)
    return _detail(notice, copy)


@router.post("/{notice_id}/receipt", response=NoticeDetailOut, summary="回执：确认已阅，或回复参加 / 不参加")
def give_receipt(request: AuthedRequest, notice_id: int, body: ReceiptIn) -> dict[str, Any]:
    notice = _get(request, notice_id)
    if body.action == "confirm":
        copy = services.receipt_confirm(user=request.user, notice=notice)
    else:
        reply = Reply.ATTEND if body.action == "attend" else Reply.DECLINE
        copy = services.receipt_reply(user=request.user, notice=notice, reply=reply, note=body.note)
    return _detail(notice, copy)


# --------------------------------------------------------------------------- writing


@router.post("/", response={201: NoticeDetailOut}, summary="发布通知（publish=false 保存草稿）")
def create_notice(request: AuthedRequest, body: NoticeIn) -> Status[dict[str, Any]]:
    _require_reader(request)
    if body.publish:
        notice = services.notice_publish(actor=request.user, data=_input(body), request=request)
    else:
        notice = services.notice_save_draft(actor=request.user, data=_input(body))
    return Status(201, _detail(selectors.notice_get(request.user, notice.pk), None))


@router.post("/{notice_id}/publish", response=NoticeDetailOut, summary="发布草稿（以提交的内容为准）")
def publish_draft(request: AuthedRequest, notice_id: int, body: NoticeIn) -> dict[str, Any]:
    draft = _get(request, notice_id)
    notice = services.notice_publish(actor=request.user, data=_input(body), notice=draft, request=request)
    return _detail(selectors.notice_get(request.user, notice.pk), None)


@router.patch(
    "/{notice_id}", response=NoticeDetailOut, summary="修改已发布的通知（保留历史版本，标注已修改）"
)
def edit_notice(request: AuthedRequest, notice_id: int, body: NoticeEditIn) -> dict[str, Any]:
    notice = _get(request, notice_id)
    data = services.NoticeInput(
        title=body.title,
        body=body.body,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        place=body.place,
        receipt_due=body.receipt_due,
    )
    updated = services.notice_update(actor=request.user, notice=notice, data=data, request=request)
    return _detail(selectors.notice_get(request.user, updated.pk), selectors.my_copy(request.user, updated))


@router.post("/{notice_id}/withdraw", response=NoticeDetailOut, summary="撤回通知")
def withdraw_notice(request: AuthedRequest, notice_id: int, body: WithdrawIn) -> dict[str, Any]:
    notice = _get(request, notice_id)
    withdrawn = services.notice_withdraw(
        actor=request.user, notice=notice, reason=body.reason, request=request
    )
    return _detail(selectors.notice_get(request.user, withdrawn.pk), None)


# --------------------------------------------------------------------------- files


def _own(request: AuthedRequest, notice_id: int) -> Notice:
    """A notice whose files the caller may change — checked before an upload is stored: its
    publisher's draft or published notice, as on the editor page."""
    notice = _get(request, notice_id)
    if notice.publisher_id != request.user.pk:
        raise PermissionDeniedError(_("只有发布人可以修改通知。"))
    if not selectors.can_publish(request.user):
        raise PermissionDeniedError(_("您没有发布通知的权限。"))
    if notice.status not in (NoticeStatus.DRAFT, NoticeStatus.PUBLISHED):
        raise DomainError(_("只有草稿和已发布的通知可以修改附件。"))
    return notice


def _as_written(notice: Notice) -> services.NoticeInput:
    """The notice's content as it stands: a change of files goes through the same service
    as saving the draft or editing the published notice, with the text unchanged."""
    return services.NoticeInput(
        title=notice.title,
        body=notice.body,
        starts_at=notice.starts_at,
        ends_at=notice.ends_at,
        place=notice.place,
        audience=list(notice.audience),
        receipt_mode=notice.receipt_mode,
        receipt_due=notice.receipt_due,
        urgency=notice.urgency,
        classification=notice.classification,
        signin_enabled=notice.signin_enabled,
    )


def _about_attachments(exc: DomainError) -> bool:
    """The service's own count of attachments (checked again under its lock) refuses this file."""
    details = exc.details if isinstance(exc.details, list) else []
    return any(isinstance(item, dict) and item.get("field") == "attachments" for item in details)


@router.post(
    "/{notice_id}/attachments",
    response={201: NoticeDetailOut},
    summary="添加附件（multipart：file）；已发布的通知追加附件即修改通知：保留历史版本并提醒相关人员",
)
def add_attachment(
    request: AuthedRequest, notice_id: int, file: File[UploadedFile]
) -> Status[dict[str, Any]]:
    notice = _own(request, notice_id)
    if len(selectors.attachments(notice)) >= services.MAX_ATTACHMENTS:
        raise FileRefusedError(_("附件不能超过 %(max)s 个。") % {"max": services.MAX_ATTACHMENTS})
    try:
        stored = files.store_upload(
            actor=request.user,
            upload=file,
            context=services.ATTACHMENT_CONTEXT,
            classification=notice.classification,
        )
    except DomainError as exc:
        raise FileRefusedError(exc.message) from None
    try:
        # Locked and read again first: what is sent back is what the notice holds at that
        # moment, so an edit made at the same time is not undone.
        with transaction.atomic():
            services.notice_lock(notice_id)
            notice = _own(request, notice_id)
            if notice.status == NoticeStatus.DRAFT:
                services.notice_save_draft(
                    actor=request.user, data=_as_written(notice), notice=notice, attachments=[stored]
                )
            else:
                services.notice_update(
                    actor=request.user,
                    notice=notice,
                    data=_as_written(notice),
                    attachments=[stored],
                    request=request,
                )
    except BaseException as exc:
        files.discard(stored)
        if isinstance(exc, DomainError) and _about_attachments(exc):
            raise FileRefusedError(exc.message) from None
        raise
    updated = selectors.notice_get(request.user, notice.pk)
    return Status(201, _detail(updated, selectors.my_copy(request.user, updated)))


@router.delete(
    "/{notice_id}/attachments/{key}",
    response=NoticeDetailOut,
    summary="删除附件（只限草稿：发布后附件只能追加，不能删除）",
)
def remove_attachment(request: AuthedRequest, notice_id: int, key: str) -> dict[str, Any]:
    with transaction.atomic():
        services.notice_lock(notice_id)
        notice = _own(request, notice_id)
        item = selectors.attachment_get(notice, key)
        if notice.status != NoticeStatus.DRAFT:
            raise DomainError(_("发布后只能追加附件，已发布的附件保留。"))
        services.notice_save_draft(
            actor=request.user, data=_as_written(notice), notice=notice, remove_attachments=[item.pk]
        )
    updated = selectors.notice_get(request.user, notice.pk)
    return _detail(updated, selectors.my_copy(request.user, updated))


@router.get(
    "/{notice_id}/attachments/{key}",
    url_name="notice_attachment",
    summary="下载附件（能看到该通知的人）；涉密通知的附件下载记入审计",
)
def download_attachment(request: AuthedRequest, notice_id: int, key: str) -> FileResponse:
    notice = _get(request, notice_id)
    item = selectors.attachment_get(notice, key)
    response = files.file_response(item.file)
    services.attachment_downloaded(actor=request.user, notice=notice, item=item, request=request)
    return response


# --------------------------------------------------------------------------- receipts


def _totals(totals: selectors.Totals) -> dict[str, int]:
    return {
        "recipients": totals.recipients,
        "read": totals.read,
        "unread": totals.unread,
        "confirmed": totals.confirmed,
        "attend": totals.attend,
        "decline": totals.decline,
        "answered": totals.answered,
        "unanswered": totals.unanswered,
        "signed_in": totals.signed_in,
    }


@router.get(
    "/{notice_id}/receipts", response=ReceiptsOut, summary="回执汇总：总数与按部门统计（发布人、通知管理员）"
)
def receipts_summary(request: AuthedRequest, notice_id: int) -> dict[str, Any]:
    notice = _managed(request, notice_id)
    return {
        "notice_id": notice.pk,
        "receipt_mode": notice.receipt_mode,
        "totals": _totals(selectors.receipt_totals(notice)),
        "units": [
            {"unit_id": row.unit_id, "name": row.name, "totals": _totals(row.totals)}
            for row in selectors.receipt_units(notice)
        ],
        "next_remind_at": selectors.next_remind_at(notice),
    }


@router.get(
    "/{notice_id}/receipts/people", response=PeoplePageOut, summary="回执明细（可按状态、部门、姓名筛选）"
)
def receipts_people(request: AuthedRequest, notice_id: int, query: Query[PeopleQuery]) -> dict[str, Any]:
    notice = _managed(request, notice_id)
    rows = selectors.receipt_people(notice, status=query.status, unit_id=query.unit, query=query.q)
    items = [
        {
            "user": _person(copy.user),
            "unit": copy.unit.name if copy.unit else None,
            "read_at": copy.read_at,
            "confirmed_at": copy.confirmed_at,
            "reply": copy.reply,
            "note": copy.note,
            "replied_at": copy.replied_at,
            "signed_in_at": copy.signed_in_at,
            "reminded_at": copy.reminded_at,
        }
        for copy in rows[query.offset : query.offset + query.limit]
    ]
    return {"count": rows.count(), "items": items}


@router.post("/{notice_id}/remind", response=RemindOut, summary="提醒未回执（或未读）人员，每 30 分钟一次")
def remind(request: AuthedRequest, notice_id: int) -> dict[str, Any]:
    notice = _managed(request, notice_id)
    count = services.receipts_remind(actor=request.user, notice=notice, request=request)
    notice.refresh_from_db()
    return {"reminded": count, "next_remind_at": selectors.next_remind_at(notice)}


@router.get("/{notice_id}/receipts/export", summary="导出回执名单（Excel）")
def export(request: AuthedRequest, notice_id: int) -> HttpResponse:
    notice = _managed(request, notice_id)
    result = services.receipts_export(actor=request.user, notice=notice, request=request)
    response = HttpResponse(result.content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{result.name}"'
    return response
