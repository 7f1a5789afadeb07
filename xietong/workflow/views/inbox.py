"""The approvals inbox at ``/workflow/``: 待办 / 已办 / 我发起的 / 抄送我 / 传阅, each with its
count, filters kept in the pagination links, a live refresh when a workflow notification
reaches the user, and 批量同意 of the pending items whose step allows it.

Thin: ``selectors`` read, ``services.approve`` writes (one call, one transaction per item).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from xietong.core import access, clock
from xietong.core.errors import DomainError
from xietong.identity.types import AuthedRequest
from xietong.workflow import selectors, services
from xietong.workflow.models import FlowDefinition, Instance, InstanceState, WorkItem
from xietong.workflow.permissions import USE

PAGE_SIZE = 20
#: The most items one 批量同意 may carry (a page and a half of the inbox).
BATCH_MAX = 50
BOX_LABELS = {
    "todo": gettext_lazy("待办"),
    "done": gettext_lazy("已办"),
    "mine": gettext_lazy("我发起的"),
    "cc": gettext_lazy("抄送我"),
    "read": gettext_lazy("传阅"),
}


def require_use(request: AuthedRequest) -> None:
    if not access.can(request.user, USE):
        raise PermissionDenied


def instance_link(pk: int) -> str:
    """The request's page."""
    return reverse("workflow:instance", args=[pk])


def mine_link(instance: Instance) -> str:
    """A draft opens where it is edited; anything else on the request's page."""
    if instance.state == InstanceState.DRAFT:
        return reverse("workflow:draft", args=[instance.pk])
    return instance_link(instance.pk)


# --------------------------------------------------------------------------- reading the filters


@dataclass(frozen=True)
class Query:
    """The inbox's GET parameters, checked: what the page shows and what its links keep."""

    box: str
    filters: selectors.Filters
    initiator: str
    since: dt.date | None
    until: dt.date | None

    @property
    def filtered(self) -> bool:
        f = self.filters
        return bool(f.flow or f.query or f.urgent or f.overdue or self.initiator or self.since or self.until)


def _int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number > 0 else None


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def parse_query(params: Any) -> Query:
    box = params.get("box", "todo")
    if box not in selectors.BOXES:
        box = "todo"
    since, until = _date(params.get("since")), _date(params.get("until"))
    if since and until and until < since:
        since, until = until, since
    filters = selectors.Filters(
        flow=_int(params.get("flow")),
        query=params.get("q", "").strip()[:100],
        urgent=True if params.get("urgent") == "1" else None,
        overdue=True if box == "todo" and params.get("overdue") == "1" else None,
        since=_local_midnight(since) if since else None,
        until=_local_midnight(until + dt.timedelta(days=1)) if until else None,
    )
    return Query(box, filters, params.get("initiator", "").strip()[:50], since, until)


def _keep(request: AuthedRequest, *drop: str) -> str:
    """The query string without ``page`` (and ``drop``), for links that keep the filters."""
    keep = request.GET.copy()
    for key in ("page", *drop):
        keep.pop(key, None)
    return keep.urlencode()


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Row:
    """One line of a box: a work item (待办, 已办, 抄送, 传阅) or a request (我发起的)."""

    instance: Instance
    link: str
    item: WorkItem | None = None
    overdue: bool = False
    batch: bool = False
    due_text: str = ""
    unread: bool = False


def _hours_text(delta: dt.timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 1)
    if minutes < 60:
        return _("%(n)d 分钟") % {"n": minutes}
    hours = minutes // 60
    if hours < 48:
        return _("%(n)d 小时") % {"n": hours}
    return _("%(n)d 天") % {"n": hours // 24}


def due_text(due: dt.datetime | None, now: dt.datetime) -> str:
    """ "剩 3 小时" or "超时 2 天": the deadline relative to now."""
    if due is None:
        return ""
    if due < now:
        return _("已超时 %(span)s") % {"span": _hours_text(now - due)}
    return _("剩 %(span)s") % {"span": _hours_text(due - now)}


def _rows(box: str, objects: list[Any]) -> list[Row]:
    now = clock.now()
    if box == "mine":
        return [Row(instance=instance, link=mine_link(instance)) for instance in objects]
    allowed = selectors.batch_approvable(objects) if box == "todo" else set()
    rows = []
    for item in objects:
        pending = item.state == WorkItem.State.PENDING
        overdue = pending and item.due_at is not None and item.due_at < now
        rows.append(
            Row(
                instance=item.instance,
                link=instance_link(item.instance_id),
                item=item,
                overdue=overdue,
                batch=item.pk in allowed,
                due_text=due_text(item.due_at, now) if pending else "",
                unread=box in ("cc", "read") and pending,
            )
        )
    return rows


def _page(request: AuthedRequest, query: Query, counts: dict[str, int]) -> Page[Any]:
    rows = selectors.inbox_rows(request.user, query.box, query.filters, initiator=query.initiator)
    paginator = Paginator(rows, PAGE_SIZE)
    known = selectors.known_count(query.box, query.filters, counts, initiator=query.initiator)
    if known is not None:
        paginator.count = known  # a cached property: set, it is not counted again
    return paginator.get_page(request.GET.get("page"))


def _tabs(counts: dict[str, int], keep_for_tabs: str) -> list[dict[str, Any]]:
    badges = {
        "todo": counts["todo"],
        "done": 0,
        "mine": counts["returned"],
        "cc": counts["cc"],
        "read": counts["read"],
    }
    return [
        {"box": box, "label": label, "count": badges[box], "query": keep_for_tabs}
        for box, label in BOX_LABELS.items()
    ]


def _context(request: AuthedRequest, query: Query) -> dict[str, Any]:
    counts = selectors.counts(request.user)
    page = _page(request, query, counts)
    rows = _rows(query.box, list(page.object_list))
    return {
        "q": query,
        "box": query.box,
        "page": page,
        "rows": rows,
        "counts": counts,
        "tabs": _tabs(counts, _keep(request, "box", "overdue")),
        "filter_query": _keep(request),
        "any_batch": any(row.batch for row in rows),
        "live_url": f"{reverse('workflow:inbox')}?{request.GET.urlencode()}",
    }


# --------------------------------------------------------------------------- pages


@login_required
@require_GET
def inbox(request: AuthedRequest) -> HttpResponse:
    """审批 → the inbox; with ``HX-Request`` only its live part (the list and the tab counts)."""
    require_use(request)
    query = parse_query(request.GET)
    context = _context(request, query)
    if request.headers.get("HX-Request"):
        return render(request, "workflow/inbox_live.html", {**context, "oob": True})
    context.update(
        flows=FlowDefinition.objects.filter(is_active=True).only("pk", "name").order_by("name"),
        phrases=list(selectors.phrases(request.user).values_list("text", flat=True)),
        batch_request=uuid.uuid4().hex,
        start_link=reverse("workflow:start_list"),
        box_label=BOX_LABELS[query.box],
        breadcrumbs=[(_("审批"), reverse("workflow:inbox")), (BOX_LABELS[query.box], None)],
    )
    return render(request, "workflow/inbox_page.html", context)


# --------------------------------------------------------------------------- 批量同意


@dataclass(frozen=True)
class BatchResult:
    approved: list[WorkItem]
    refused: list[tuple[str, str]]


def _item_ids(values: list[str]) -> list[int]:
    ids: list[int] = []
    for value in values:
        number = _int(value)
        if number is not None and number not in ids:
            ids.append(number)
    return ids


def batch_request_id(base: str, item_id: int) -> str:
    """The idempotency key of one item of a batch: the page's key and the item."""
    return f"{base[:40]}.{item_id}"


def approve_batch(user: Any, ids: list[int], opinion: str, base: str) -> BatchResult:
    """同意 each of ``ids`` that is the user's pending item on a step that allows batch
    approval; every other id is refused with its reason. One item's refusal undoes nothing of
    the others: each approval is its own transaction."""
    mine = {item.pk: item for item in selectors.todo(user).filter(pk__in=ids)}
    allowed = selectors.batch_approvable(mine.values())
    # The same batch sent again (a double click, a resent form): what it approved then counts
    # as approved, nothing is done twice.
    missing = [pk for pk in ids if pk not in mine]
    earlier = {
        item.pk: item
        for item in selectors.done(user).filter(pk__in=missing)
        if item.request_id == batch_request_id(base, item.pk)
    }
    approved: list[WorkItem] = []
    refused: list[tuple[str, str]] = []
    for pk in ids:
        item = mine.get(pk)
        if item is None:
            if pk in earlier:
                approved.append(earlier[pk])
            else:
                refused.append((f"#{pk}", _("不是您的待办事项，或已被处理。")))
            continue
        label = item.instance.serial or item.instance.title
        if pk not in allowed:
            refused.append((label, _("该环节不允许批量同意，请打开审批单逐项处理。")))
            continue
        try:
            services.approve(actor=user, item=item, request_id=batch_request_id(base, pk), opinion=opinion)
        except DomainError as refusal:
            refused.append((label, refusal.message))
        else:
            approved.append(item)
    return BatchResult(approved, refused)


def _back(request: AuthedRequest) -> str:
    target = request.POST.get("next", "")
    if target.startswith(reverse("workflow:inbox")) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("workflow:inbox")


@login_required
@require_POST
def batch_approve(request: AuthedRequest) -> HttpResponse:
    """批量同意: one opinion for all the chosen items; reports what passed and why the rest did
    not, then back to the inbox as it was."""
    require_use(request)
    ids = _item_ids(request.POST.getlist("items"))
    back = HttpResponseRedirect(_back(request))
    if not ids:
        messages.error(request, _("请先勾选要同意的待办事项。"))
        return back
    if len(ids) > BATCH_MAX:
        messages.error(request, _("一次最多批量同意 %(max)d 项。") % {"max": BATCH_MAX})
        return back
    opinion = request.POST.get("opinion", "")
    if len(opinion) > services.OPINION_MAX:
        messages.error(request, _("意见不能超过 %(limit)d 个字。") % {"limit": services.OPINION_MAX})
        return back
    base = request.POST.get("request_id", "")
    if not services.REQUEST_ID.match(base):
        base = uuid.uuid4().hex
    result = approve_batch(request.user, ids, opinion, base)
    if result.refused:
        reasons = "；".join(f"{label}：{reason}" for label, reason in result.refused)
        messages.warning(
            request,
            _("已同意 %(done)d 项，%(left)d 项未处理：%(reasons)s")
            % {"done": len(result.approved), "left": len(result.refused), "reasons": reasons},
        )
    else:
        messages.success(request, _("已同意 %(done)d 项。") % {"done": len(result.approved)})
    return back
