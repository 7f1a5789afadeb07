from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from xietong.audit import selectors
from xietong.audit.models import Event
from xietong.audit.schemas import EventOut, EventPageOut, EventQuery

router = Router(tags=["audit"])


@router.get("/events", response=EventPageOut, summary="审计记录（最新在前，按游标分页）")
def list_events(request: HttpRequest, query: Query[EventQuery]) -> dict[str, Any]:
    page = selectors.event_page(
        user=request.user, filters=query.filters(), before=query.before, limit=query.limit
    )
    return {"items": page.items, "next_before": page.older_cursor}


@router.get("/events/{event_id}", response=EventOut, summary="一条审计记录")
def get_event(request: HttpRequest, event_id: int) -> Event:
    return selectors.event_get(user=request.user, event_id=event_id)
