"""Reads of the audit trail, each checked against ``permissions.can_read_audit``."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import asdict, dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from xietong.audit.models import Event
from xietong.audit.permissions import can_read_audit
from xietong.core.errors import NotFoundError, PermissionDeniedError
from xietong.org.models import Membership, OrgUnit

PAGE_SIZE = 50

Reader = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class EventFilters:
    """What the list, the export and the API narrow the trail down to; empty means "any"."""

    user: str = ""  # part of the username or the name
    department_id: int | None = None  # the actor's primary unit is this unit or below it
    action: str = ""  # code prefix, e.g. "identity.login"
    target_type: str = ""
    target_id: str = ""
    result: str = ""
    ip: str = ""
    since: dt.datetime | None = None  # inclusive
    until: dt.datetime | None = None  # exclusive

    def as_details(self) -> dict[str, Any]:
        """The filters in use, for the record of an export."""
        values = {k: v for k, v in asdict(self).items() if v not in ("", None)}
        return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in values.items()}


@dataclass(frozen=True)
class EventPage:
    items: list[Event]
    newer_cursor: int | None = None  # pass as ``after`` to get the page before this one
    older_cursor: int | None = None  # pass as ``before`` to get the page after this one


def _require_reader(user: Reader) -> None:
    if not can_read_audit(user):
        raise PermissionDeniedError(_("您没有查看审计日志的权限。"))


def _filtered(filters: EventFilters) -> QuerySet[Event]:
    events = Event.objects.all()
    if filters.user:
        events = events.filter(
            Q(actor_username__icontains=filters.user) | Q(actor_name__icontains=filters.user)
        )
    if filters.department_id is not None:
        path = OrgUnit.objects.filter(pk=filters.department_id).values_list("path", flat=True).first()
        if path is None:
            return events.none()
        # Actors are placed by their current primary post: an auditor asks "what did the
        # people of this department do", not where they sat at the time.
        members = Membership.objects.filter(is_primary=True, unit__path__startswith=path).values("user_id")
        events = events.filter(actor_id__in=members)
    if filters.action:
        events = events.filter(action__startswith=filters.action)
    if filters.target_type:
        events = events.filter(target_type=filters.target_type)
    if filters.target_id:
        events = events.filter(target_id=filters.target_id)
    if filters.result:
        events = events.filter(result=filters.result)
    if filters.ip:
        try:
            events = events.filter(ip=str(ipaddress.ip_address(filters.ip)))
        except ValueError:
            return events.none()  # not an address: nothing can match, and the database must not see it
    if filters.since is not None:
        events = events.filter(occurred_at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(occurred_at__lt=filters.until)
    return events


def event_list(*, user: Reader, filters: EventFilters) -> QuerySet[Event]:
    """Every matching record, newest first."""
    _require_reader(user)
    return _filtered(filters).order_by("-id")


def event_page(
    *,
    user: Reader,
    filters: EventFilters,
    before: int | None = None,
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> EventPage:
    """One page of matching records, newest first, by keyset on ``id``.

    Keyset rather than page numbers: the trail holds months of records, and counting them
    all for a page number costs more than the page itself.
    """
    _require_reader(user)
    events = _filtered(filters)
    if after is not None:
        rows = list(events.filter(id__gt=after).order_by("id")[: limit + 1])
        more_newer = len(rows) > limit
        items = rows[:limit][::-1]
        more_older = True
    else:
        if before is not None:
            events = events.filter(id__lt=before)
        rows = list(events.order_by("-id")[: limit + 1])
        more_older = len(rows) > limit
        items = rows[:limit]
        more_newer = before is not None
    if not items:
        return EventPage(items=[])
    # Coming from a neighbouring page, that page is assumed still to be there; asking the
    # database would cost one more filtered query per page.
    return EventPage(
        items=items,
        newer_cursor=items[0].pk if more_newer else None,
        older_cursor=items[-1].pk if more_older else None,
    )


def event_get(*, user: Reader, event_id: int) -> Event:
    _require_reader(user)
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        raise NotFoundError(_("审计记录不存在。"))
    return event


def department_options(*, user: Reader) -> QuerySet[OrgUnit]:
    """The units to filter by, in tree order."""
    _require_reader(user)
    units: QuerySet[OrgUnit] = OrgUnit.objects.only("id", "name", "depth", "path").order_by("path")
    return units
