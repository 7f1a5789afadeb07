"""The notification centre over the REST API: the user's own notifications and preferences."""

from __future__ import annotations

from typing import Any

from ninja import Query, Router

from xietong.identity.types import AuthedRequest
from xietong.notify import kinds, selectors, services
from xietong.notify.models import Notification
from xietong.notify.schemas import (
    CountOut,
    MarkReadIn,
    MarkReadOut,
    NotificationPageOut,
    NotificationQuery,
    PreferencesIn,
    PreferencesOut,
)

router = Router(tags=["notify"])


def _item(notification: Notification) -> dict[str, Any]:
    dispatch = notification.dispatch
    return {
        "id": notification.pk,
        "kind": dispatch.kind,
        "kind_label": kinds.label(dispatch.kind),
        "title": dispatch.title,
        "body": dispatch.body,
        "link": dispatch.link,
        "urgency": dispatch.urgency,
        "actor": dispatch.actor.name if dispatch.actor else None,
        "created_at": notification.created_at,
        "read_at": notification.read_at,
    }


@router.get("/", response=NotificationPageOut, summary="我的通知（最新在前，按游标分页）")
def list_notifications(request: AuthedRequest, query: Query[NotificationQuery]) -> dict[str, Any]:
    page = selectors.notification_list(
        request.user, unread_only=query.unread, before=query.before, limit=query.limit
    )
    return {"items": [_item(item) for item in page.items], "next_before": page.older_cursor}


@router.get("/unread-count", response=CountOut, summary="未读通知数")
def unread_count(request: AuthedRequest) -> dict[str, int]:
    return {"count": selectors.unread_count(request.user)}


@router.post("/read", response=MarkReadOut, summary="将通知标为已读（只对本人的通知生效）")
def mark_read(request: AuthedRequest, payload: MarkReadIn) -> dict[str, int]:
    updated = services.notification_mark_read(user=request.user, ids=payload.ids)
    return {"updated": updated, "count": selectors.unread_count(request.user)}


@router.post("/read-all", response=MarkReadOut, summary="全部标为已读")
def mark_all_read(request: AuthedRequest) -> dict[str, int]:
    updated = services.notifications_mark_all_read(user=request.user)
    return {"updated": updated, "count": 0}


def _preferences(request: AuthedRequest) -> dict[str, Any]:
    found = selectors.preferences_get(request.user)
    return {
        "kinds": [
            {"kind": row.code, "label": row.label, "in_app": row.in_app, "email": row.email}
            for row in found.kinds
        ],
        "quiet_start": found.settings.quiet_start,
        "quiet_end": found.settings.quiet_end,
        "digest": found.settings.digest,
        "digest_hour": found.settings.digest_hour,
    }


@router.get("/preferences", response=PreferencesOut, summary="我的通知设置")
def get_preferences(request: AuthedRequest) -> dict[str, Any]:
    return _preferences(request)


@router.put("/preferences", response=PreferencesOut, summary="修改通知设置（未列出的类别恢复默认）")
def put_preferences(request: AuthedRequest, payload: PreferencesIn) -> dict[str, Any]:
    services.preferences_update(
        user=request.user,
        choices={row.kind: {"in_app": row.in_app, "email": row.email} for row in payload.kinds},
        quiet=services.QuietHours(payload.quiet_start, payload.quiet_end),
        digest=payload.digest,
        digest_hour=payload.digest_hour,
    )
    return _preferences(request)
