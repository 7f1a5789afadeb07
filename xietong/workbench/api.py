"""The workbench over the REST API under ``/api/v1/workbench``.

- ``GET /workbench``: the signed-in user's whole workbench (to-dos by source with counts,
  today's schedule, unread notifications, feeds, shortcuts) — what a mobile client shows first.
- ``PUT /workbench/todos``: a business system upserts its users' to-dos (R-88), with a
  personal API token of its account (``Authorization: Bearer xt_…``, scope 读写) holding
  ``workbench.push_todos`` (built-in role 业务系统接入); anyone else gets 403.
- ``POST /workbench/todos/{system}/{external_id}/done`` and ``DELETE …``: handled, withdrawn.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from ninja import Router, Status

from xietong.core import clock, navigation, worklist
from xietong.identity.types import AuthedRequest
from xietong.notify import kinds as notify_kinds
from xietong.notify import selectors as notify_selectors
from xietong.workbench import selectors, services
from xietong.workbench.models import ExternalTodo
from xietong.workbench.schemas import PushedTodoOut, TodoBatchIn, TodoBatchOut, WorkbenchOut

router = Router(tags=["workbench"])

NOTIFICATIONS_SHOWN = 10


def _item(entry: selectors.SourcedItem) -> dict[str, Any]:
    item = entry.item
    return {
        "title": item.title,
        "link": item.link,
        "at": item.at,
        "due": item.due,
        "urgent": item.urgent,
        "overdue": entry.overdue,
        "detail": item.detail,
        "source": entry.provider.key,
        "source_label": str(entry.provider.label),
    }


@router.get("", response=WorkbenchOut, summary="我的工作台（待办、今日日程、未读通知、资讯、快捷入口）")
def workbench(request: AuthedRequest) -> dict[str, Any]:
    user = request.user
    board = selectors.todo_board(user)
    schedule = selectors.schedule_board(user)
    feeds = [selectors.feed_board(user, card=card) for card in (worklist.FEED_NOTICES, worklist.FEED_NEWS)]
    unread = notify_selectors.notification_list(user, unread_only=True, limit=NOTIFICATIONS_SHOWN).items
    base = reverse("notify:list")
    failed = board.failed + schedule.failed + [p for feed in feeds for p in feed.failed]
    return {
        "date": clock.localdate(),
        "todos": {
            "count": board.total,
            "urgent": board.urgent,
            "overdue": board.overdue,
            "items": [_item(entry) for entry in board.top_items],
            "sources": [
                {
                    "key": source.provider.key,
                    "label": str(source.provider.label),
                    "icon": source.provider.icon,
                    "count": source.count,
                    "more": source.more,
                    "items": [
                        _item(entry) for entry in board.items if entry.provider.key == source.provider.key
                    ],
                }
                for source in board.sources
            ],
        },
        "schedule": [
            {
                "title": a.entry.title,
                "link": a.entry.link,
                "start": a.entry.start,
                "end": a.entry.end,
                "place": a.entry.place,
                "all_day": a.entry.all_day,
                "state": a.state,
                "source": a.provider.key,
                "source_label": str(a.provider.label),
            }
            for a in schedule.appointments
        ],
        "notifications": {
            "unread": notify_selectors.unread_count(user),
            "items": [
                {
                    "id": n.pk,
                    "kind": n.dispatch.kind,
                    "kind_label": notify_kinds.label(n.dispatch.kind),
                    "title": n.dispatch.title,
                    "urgency": n.dispatch.urgency,
                    "link": f"{base}{n.pk}/",
                    "created_at": n.created_at,
                }
                for n in unread
            ],
        },
        "feeds": [
            {
                "key": block.section.key,
                "source": block.provider.key,
                "card": block.provider.card,
                "title": block.section.title,
                "more": block.section.more,
                "count": block.section.count,
                "links": [link.__dict__ for link in block.section.links],
            }
            for feed in feeds
            for block in feed.blocks
        ],
        "shortcuts": selectors.shortcuts_for(user),
        "modules": [
            {
                "slug": m.slug,
                "label": str(m.label),
                "icon": m.icon,
                "url": m.url,
                "description": str(m.description),
            }
            for _title, entries in navigation.modules_for(user)
            for m in entries
            if m.slug != "workbench"
        ],
        "unavailable": [str(provider.label) for provider in failed],
    }


@router.put("/todos", response=TodoBatchOut, summary="业务系统推送待办（按外部编号新建或更新，逐条返回结果）")
def push_todos(request: AuthedRequest, body: TodoBatchIn) -> dict[str, Any]:
    outcome = services.todos_push(
        actor=request.user,
        system=body.system,
        system_name=body.system_name,
        items=[services.TodoInput(**item.dict()) for item in body.items],
        request=request,
    )
    return {
        "system": outcome.system,
        "created": outcome.count("created"),
        "updated": outcome.count("updated"),
        "held": outcome.count("held"),
        "failed": outcome.count("failed"),
        "results": [result.__dict__ for result in outcome.results],
    }


def _pushed(row: ExternalTodo) -> dict[str, Any]:
    return {
        "id": row.pk,
        "system": row.system,
        "external_id": row.external_id,
        "user": row.user.username,
        "title": row.title,
        "link": row.link,
        "due_at": row.due_at,
        "urgent": row.urgent,
        "review": row.review,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "done_at": row.done_at,
    }


@router.post(
    "/todos/{system}/{external_id}/done", response=PushedTodoOut, summary="待办已办结（从工作台移除）"
)
def todo_done(request: AuthedRequest, system: str, external_id: str) -> dict[str, Any]:
    row = services.todo_done(actor=request.user, system=system, external_id=external_id, request=request)
    return _pushed(row)


@router.delete("/todos/{system}/{external_id}", response={204: None}, summary="撤回待办")
def todo_delete(request: AuthedRequest, system: str, external_id: str) -> Status[None]:
    services.todo_delete(actor=request.user, system=system, external_id=external_id, request=request)
    return Status(204, None)
