"""Read queries of the notification centre. Each is about the acting user's own notifications
(nobody reads another person's), or, for a sender, the read receipts of their own sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from xietong.core import access, reads
from xietong.core.errors import NotFoundError
from xietong.identity.models import User
from xietong.notify import kinds
from xietong.notify.models import (
    Channel,
    DeliveryLog,
    Dispatch,
    Notification,
    NotifySettings,
    Preference,
    Webhook,
)

PAGE_SIZE = 20
#: The bell shows "99+" above this, so it need not count further.
BELL_LIMIT = 100
MANAGE_WEBHOOKS = "notify.manage_webhooks"


def unread_count(user: Any) -> int:
    """How many of the user's notifications are unread: one count on an index prefix."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def bell_count(user: Any) -> int:
    """The bell's number: exact up to ``BELL_LIMIT``, which is all "99+" needs, so that the
    one query of every page stops early for someone with thousands unread."""
    if not getattr(user, "is_authenticated", False):
        return 0
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True).order_by()
    # The workbench's 通知 card shows the same number as the bell: one count per page.
    return reads.once(("notify.bell", user.pk), unread[:BELL_LIMIT].count)


def unread_counts(user_ids: QuerySet[Any]) -> dict[int, int]:
    """Unread counts of many users at once (``user_ids`` a sub-query of ids): one query."""
    rows = (
        Notification.objects.filter(user_id__in=user_ids, read_at__isnull=True)
        .order_by()
        .values("user_id")
        .annotate(n=Count("id"))
        .values_list("user_id", "n")
    )
    return dict(rows)


@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    older_cursor: int | None = None  # pass as ``before`` for the next page


def _own(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(user_id=user.pk).select_related("dispatch", "dispatch__actor")


def notification_list(
    user: Any, *, unread_only: bool = False, before: int | None = None, limit: int = PAGE_SIZE
) -> NotificationPage:
    """One page of the user's notifications, newest first, by keyset on id: one query,
    whatever the number of rows."""
    rows = _own(user)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    if before is not None:
        rows = rows.filter(id__lt=before)
    items = list(rows.order_by("-id")[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    return NotificationPage(items=items, older_cursor=items[-1].pk if more and items else None)


def urgent_unread(user: Any, *, limit: int = 10) -> list[Notification]:
    """The user's unread 急办 items, newest first, for the top of the inbox (R-65)."""
    rows = _own(user).filter(read_at__isnull=True, urgent=True)
    return list(rows.order_by("-id")[:limit])


def notification_get(user: Any, notification_id: int | str) -> Notification:
    """One of the user's own notifications; another person's is "not found" (R-11)."""
    try:
        return _own(user).get(pk=notification_id)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("通知不存在。")) from None


# --------------------------------------------------------------------------- preferences


@dataclass(frozen=True)
class KindChoice:
    code: str
    label: str
    description: str
    in_app: bool
    email: bool


@dataclass(frozen=True)
class Preferences:
    kinds: list[KindChoice]
    settings: NotifySettings


def default_enabled(kind: str, channel: str) -> bool:
    if channel == Channel.EMAIL:
        return kinds.get_kind(kind).email_default
    return True


def preferences_get(user: User) -> Preferences:
    """The user's choice for each registered kind and channel, with quiet hours and digest."""
    chosen = {
        (kind, channel): enabled
        for kind, channel, enabled in Preference.objects.filter(user=user).values_list(
            "kind", "channel", "enabled"
        )
    }
    rows = [
        KindChoice(
            code=kind.code,
            label=str(kind.label),
            description=str(kind.description),
            in_app=chosen.get((kind.code, Channel.IN_APP), default_enabled(kind.code, Channel.IN_APP)),
            email=chosen.get((kind.code, Channel.EMAIL), default_enabled(kind.code, Channel.EMAIL)),
        )
        for kind in kinds.all_kinds()
    ]
    found = NotifySettings.objects.filter(user=user).first()
    return Preferences(kinds=rows, settings=found or NotifySettings(user=user))


def opted_out(kind: str, channel: str) -> Q:
    """A condition on ``User`` rows: those who will not hear of ``kind`` by ``channel``,
    by their own choice or by the kind's default."""
    if default_enabled(kind, channel):
        return Q(
            pk__in=Preference.objects.filter(kind=kind, channel=channel, enabled=False).values("user_id")
        )
    return ~Q(pk__in=Preference.objects.filter(kind=kind, channel=channel, enabled=True).values("user_id"))


# --------------------------------------------------------------------------- read receipts


@dataclass(frozen=True)
class Receipts:
    dispatch: Dispatch
    read: int
    unread: int
    unread_users: list[User]


def dispatch_receipts(*, actor: User, dispatch_id: int | str, limit: int = 200) -> Receipts:
    """R-63: who has read a send and who has not, for its sender only."""
    dispatch = _sent_by(actor, dispatch_id)
    counts = Notification.objects.filter(dispatch=dispatch).aggregate(
        read=Count("id", filter=Q(read_at__isnull=False)), unread=Count("id", filter=Q(read_at__isnull=True))
    )
    waiting = User.objects.filter(
        pk__in=Notification.objects.filter(dispatch=dispatch, read_at__isnull=True).values("user_id")
    ).order_by("name", "pk")[:limit]
    return Receipts(dispatch, counts["read"] or 0, counts["unread"] or 0, list(waiting))


def _sent_by(actor: User, dispatch_id: int | str) -> Dispatch:
    dispatches = Dispatch.objects.all()
    if not actor.is_superuser:
        dispatches = dispatches.filter(actor_id=actor.pk)
    try:
        return dispatches.get(pk=dispatch_id)
    except (Dispatch.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("发送记录不存在或无权查看。")) from None


def dispatch_sent_by(*, actor: User, dispatch_id: int | str) -> Dispatch:
    return _sent_by(actor, dispatch_id)


# --------------------------------------------------------------------------- webhooks


def webhooks(*, actor: User) -> QuerySet[Webhook]:
    if not access.can(actor, MANAGE_WEBHOOKS):
        return Webhook.objects.none()
    return Webhook.objects.select_related("unit").order_by("name")


def webhook_get(*, actor: User, webhook_id: int | str) -> Webhook:
    try:
        return webhooks(actor=actor).get(pk=webhook_id)
    except (Webhook.DoesNotExist, ValueError, TypeError):
        raise NotFoundError(_("消息推送不存在。")) from None


def webhook_deliveries(*, actor: User, webhook: Webhook, limit: int = 20) -> list[DeliveryLog]:
    if not access.can(actor, MANAGE_WEBHOOKS):
        return []
    return list(webhook.deliveries.select_related("dispatch").order_by("-id")[:limit])
