"""Read queries of the notices, each scoped to the acting user.

Who sees a notice (the one rule behind every list, count, search, export and API answer):
a holder of ``notices.read`` whose clearance reaches its 密级, and who is

- one of its recipients, while it is published (R-61); or
- its publisher; or
- a holder of ``notices.manage`` whose data scope covers the publisher's unit (the
  综合办公室 follows the notices of its group), once it has been published.

The 三员 administrators hold no business permission and see none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from xietong.core import access, classification, clock, reads
from xietong.core.errors import NotFoundError
from xietong.files import selectors as file_selectors
from xietong.files.models import StoredFile
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
from xietong.notices.permissions import MANAGE, PUBLISH, READ

#: Reminders per notice, at most one in this interval (R-31: no flooding).
REMIND_INTERVAL = dt.timedelta(minutes=30)
PEOPLE_PAGE = 50
#: ``StoredFile.context`` of the images a notice's text shows.
IMAGE_CONTEXT = "notices.image"


def can_read(user: Any) -> bool:
    return access.can(user, READ)


def can_publish(user: Any) -> bool:
    return access.can(user, READ) and access.can(user, PUBLISH)


def can_manage_any(user: Any) -> bool:
    return access.can(user, READ) and access.can(user, MANAGE)


def _managed(user: Any, notices: QuerySet[Notice]) -> QuerySet[Notice]:
    """Published (or withdrawn) notices whose publisher's unit is in the user's
    ``notices.manage`` scope."""
    return access.restrict(
        user,
        MANAGE,
        notices.filter(status__in=[Status.PUBLISHED, Status.WITHDRAWN]),
        unit_field="publisher_unit",
    )


def visible_notices(user: Any) -> QuerySet[Notice]:
    """Every notice the user may see (see the module's rule); sub-queries only."""
    if not can_read(user):
        return Notice.objects.none()
    received = Q(
        status=Status.PUBLISHED,
        pk__in=NoticeRecipient.objects.filter(user_id=user.pk).values("notice_id"),
    )
    condition = received | Q(publisher_id=user.pk)
    if access.can(user, MANAGE):
        condition |= Q(pk__in=_managed(user, Notice.objects.all()).values("pk"))
    return Notice.objects.filter(condition, classification__lte=classification.clearance_of(user))


def notice_get(user: Any, notice_id: Any) -> Notice:
    """One notice the user may see; missing and forbidden alike are "not found" (R-11)."""
    try:
        return visible_notices(user).select_related("publisher", "publisher_unit").get(pk=notice_id)
    except (Notice.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("通知不存在或无权访问。")) from None


def can_manage(user: Any, notice: Notice) -> bool:
    """May the user follow the receipts of ``notice``, remind, export, withdraw? Its
    publisher, or a manager whose scope covers the publisher's unit — within their clearance."""
    if not can_read(user) or not classification.allows(user, notice.classification):
        return False
    if notice.publisher_id == user.pk:
        return True
    if notice.status not in (Status.PUBLISHED, Status.WITHDRAWN):
        return False
    return access.can_on(
        user, MANAGE, notice, unit=notice.publisher_unit_id, classification=notice.classification, acl=False
    )


def managed_notice(user: Any, notice_id: Any) -> Notice:
    """A notice whose receipts the user may follow; to anyone else (recipients included)
    it is "not found"."""
    notice = notice_get(user, notice_id)
    if not can_manage(user, notice) or notice.status in (Status.DRAFT, Status.PENDING):
        raise NotFoundError(_("通知不存在或无权访问。"))
    return notice


def my_copy(user: Any, notice: Notice) -> NoticeRecipient | None:
    return NoticeRecipient.objects.filter(notice_id=notice.pk, user_id=user.pk).first()


def attachments(notice: Notice) -> list[NoticeAttachment]:
    """The files listed under the notice (not the images of its text)."""
    return list(notice.attachments.filter(inline=False).select_related("file").order_by("pk"))


def attachment_get(notice: Notice, key: Any) -> NoticeAttachment:
    try:
        return notice.attachments.select_related("file").get(inline=False, file__key=key)
    except (NoticeAttachment.DoesNotExist, ValueError, ValidationError):
        raise NotFoundError(_("文件不存在或已被删除。")) from None


def image_get(user: Any, key: Any) -> StoredFile:
    """An image of a notice's text: its uploader sees it while writing; anyone else only
    through a notice they may see that shows it."""
    stored = file_selectors.get_by_key(key)
    if stored.context != IMAGE_CONTEXT:
        raise NotFoundError(_("文件不存在或已被删除。"))
    if stored.uploaded_by_id == user.pk and can_publish(user):
        return stored
    shown_in = NoticeAttachment.objects.filter(file=stored, inline=True).values("notice_id")
    if not visible_notices(user).filter(pk__in=shown_in).exists():
        raise NotFoundError(_("文件不存在或已被删除。"))
    return stored


def revisions(notice: Notice) -> list[NoticeRevision]:
    return list(notice.revisions.select_related("replaced_by").order_by("-number"))


# --------------------------------------------------------------------------- lists


def _search(rows: QuerySet[Any], query: str, prefix: str = "") -> QuerySet[Any]:
    text = query.strip()[:100]
    if not text:
        return rows
    return rows.filter(
        Q(**{f"{prefix}title__icontains": text})
        | Q(**{f"{prefix}place__icontains": text})
        | Q(**{f"{prefix}body_text__icontains": text})
        | Q(**{f"{prefix}publisher__name__icontains": text})
    )


def _received(user: Any) -> QuerySet[NoticeRecipient]:
    """The user's copies of published notices within their clearance."""
    if not can_read(user):
        return NoticeRecipient.objects.none()
    return NoticeRecipient.objects.filter(
        user_id=user.pk,
        notice__status=Status.PUBLISHED,
        notice__classification__lte=classification.clearance_of(user),
    )


def _open_for_receipt() -> Q:
    """Receipts still possible: a read confirmation always (late is shown as late), a reply
    until its deadline (the receipt deadline, else the start)."""
    return Q(notice__receipt_mode=ReceiptMode.READ) | Q(deadline__isnull=True) | Q(deadline__gt=clock.now())


def _with_deadline(rows: QuerySet[NoticeRecipient]) -> QuerySet[NoticeRecipient]:
    return rows.annotate(deadline=Coalesce("notice__receipt_due", "notice__starts_at"))


def received(user: Any, *, query: str = "", only: str = "") -> QuerySet[NoticeRecipient]:
    """我收到的: 急办 that still wants my attention first, then newest first (R-65).
    ``only``: ``unread`` or ``awaiting`` (my receipt is expected)."""
    rows = _received(user)
    if only == "unread":
        rows = rows.filter(read_at__isnull=True)
    elif only == "awaiting":
        rows = _with_deadline(rows.filter(awaiting=True)).filter(_open_for_receipt())
    rows = _search(rows, query, "notice__")
    pressing = Q(notice__urgency=Urgency.URGENT) & (Q(read_at__isnull=True) | Q(awaiting=True))
    return (
        rows.select_related("notice", "notice__publisher", "notice__publisher_unit")
        .annotate(top=Case(When(pressing, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("top", "-delivered_at", "-pk")
    )


def published_by(user: Any, *, query: str = "") -> QuerySet[Notice]:
    """我发布的: drafts and everything the user published, newest first."""
    if not can_read(user):
        return Notice.objects.none()
    rows = Notice.objects.filter(publisher_id=user.pk, classification__lte=classification.clearance_of(user))
    return _search(rows, query).select_related("publisher", "publisher_unit").order_by("-updated_at", "-pk")


def unit_notices(user: Any, *, query: str = "") -> QuerySet[Notice]:
    """本部门: the published notices of the units in the user's ``notices.manage`` scope."""
    if not can_manage_any(user):
        return Notice.objects.none()
    rows = _managed(user, Notice.objects.filter(classification__lte=classification.clearance_of(user)))
    return _search(rows, query).select_related("publisher", "publisher_unit").order_by("-published_at", "-pk")


def unread_count(user: Any) -> int:
    return _received(user).filter(read_at__isnull=True).count()


def awaiting_receipts(user: Any) -> QuerySet[NoticeRecipient]:
    """Notices awaiting my receipt that I may still give: 急办 first, then the nearest deadline."""
    rows = _with_deadline(_received(user).filter(awaiting=True)).filter(_open_for_receipt())
    return rows.select_related("notice", "notice__publisher").order_by(
        Case(
            When(notice__urgency=Urgency.URGENT, then=Value(0)), default=Value(1), output_field=IntegerField()
        ),
        Coalesce("notice__receipt_due", "notice__starts_at").asc(nulls_last=True),
        "-delivered_at",
    )


def pending_counts(user: Any) -> tuple[int, int]:
    """How many of my notices are unread, and how many await a receipt I may still give: one
    query, asked once per page by the workbench's to-do and notice cards."""

    def count() -> tuple[int, int]:
        totals = _with_deadline(_received(user)).aggregate(
            unread=Count("pk", filter=Q(read_at__isnull=True)),
            awaiting=Count("pk", filter=Q(awaiting=True) & _open_for_receipt()),
        )
        return int(totals["unread"] or 0), int(totals["awaiting"] or 0)

    return reads.once(("notices.pending", user.pk), count)


def on_day(user: Any, start: dt.datetime, end: dt.datetime) -> QuerySet[NoticeRecipient]:
    """My notices whose time overlaps [start, end) — except those I said I will not attend."""
    return (
        _received(user)
        .filter(notice__starts_at__lt=end)
        .filter(Q(notice__ends_at__gte=start) | Q(notice__ends_at__isnull=True, notice__starts_at__gte=start))
        .exclude(reply=Reply.DECLINE)
        .select_related("notice")
        .order_by("notice__starts_at")
    )


# --------------------------------------------------------------------------- receipts


@dataclass(frozen=True)
class Totals:
    recipients: int
    read: int
    confirmed: int
    attend: int
    decline: int
    answered: int
    signed_in: int
    reminded: int

    @property
    def unread(self) -> int:
        return self.recipients - self.read

    @property
    def unanswered(self) -> int:
        return self.recipients - self.answered

    def percent(self, part: int) -> int:
        return round(100 * part / self.recipients) if self.recipients else 0


def _counts(prefix: str = "") -> dict[str, Any]:
    return {
        "recipients": Count("id"),
        "read": Count("id", filter=Q(read_at__isnull=False)),
        "confirmed": Count("id", filter=Q(confirmed_at__isnull=False)),
        "attend": Count("id", filter=Q(reply=Reply.ATTEND)),
        "decline": Count("id", filter=Q(reply=Reply.DECLINE)),
        "answered": Count("id", filter=Q(confirmed_at__isnull=False) | ~Q(reply="")),
        "signed_in": Count("id", filter=Q(signed_in_at__isnull=False)),
        "reminded": Count("id", filter=Q(reminded_at__isnull=False)),
    }


def _totals(values: Mapping[str, Any]) -> Totals:
    return Totals(**{name: values[name] or 0 for name in Totals.__dataclass_fields__})


def receipt_totals(notice: Notice) -> Totals:
    """The numbers of the receipts page: one query."""
    return _totals(NoticeRecipient.objects.filter(notice=notice).aggregate(**_counts()))


@dataclass(frozen=True)
class UnitRow:
    unit_id: int | None
    name: str
    totals: Totals


def receipt_units(notice: Notice) -> list[UnitRow]:
    """The same numbers per department (each person's primary unit at publishing): one
    grouped query, departments in tree order."""
    rows = (
        NoticeRecipient.objects.filter(notice=notice)
        .order_by()
        .values("unit_id", "unit__name", "unit__path")
        .annotate(**_counts())
        .order_by("unit__path")
    )
    return [
        UnitRow(
            row["unit_id"],
            row["unit__name"] or _("（无部门）"),
            _totals(row),
        )
        for row in rows
    ]


#: The people list's filters, by what the publisher wants to know.
PEOPLE_FILTERS: dict[str, Q] = {
    "unread": Q(read_at__isnull=True),
    "read": Q(read_at__isnull=False),
    "unanswered": Q(confirmed_at__isnull=True, reply=""),
    "confirmed": Q(confirmed_at__isnull=False),
    "attend": Q(reply=Reply.ATTEND),
    "decline": Q(reply=Reply.DECLINE),
    "signed_in": Q(signed_in_at__isnull=False),
}


def receipt_people(
    notice: Notice, *, status: str = "", unit_id: int | None = None, query: str = ""
) -> QuerySet[NoticeRecipient]:
    """Everyone's receipt, by department then name; filtered by ``status`` (a key of
    ``PEOPLE_FILTERS``), a department, or a name."""
    rows = NoticeRecipient.objects.filter(notice=notice)
    if status in PEOPLE_FILTERS:
        rows = rows.filter(PEOPLE_FILTERS[status])
    if unit_id is not None:
        rows = rows.filter(unit_id=unit_id)
    text = query.strip()[:50]
    if text:
        rows = rows.filter(
            Q(user__name__icontains=text)
            | Q(user__username__istartswith=text)
            | Q(user__employee_no__istartswith=text)
        )
    return rows.select_related("user", "unit").order_by("unit__path", "user__name", "user_id")


def not_answered(notice: Notice) -> QuerySet[NoticeRecipient]:
    """Who a reminder is for: no receipt yet — or, without a receipt, not read yet."""
    rows = NoticeRecipient.objects.filter(notice=notice)
    if notice.needs_receipt:
        return rows.filter(confirmed_at__isnull=True, reply="")
    return rows.filter(read_at__isnull=True)


def next_remind_at(notice: Notice) -> dt.datetime | None:
    """When the next reminder may go out (``None``: now)."""
    if notice.last_reminded_at is None:
        return None
    moment = notice.last_reminded_at + REMIND_INTERVAL
    return moment if moment > clock.now() else None
