"""How a dispatch reaches people beyond the notification centre: live pushes to open tabs,
e-mail and webhooks, with quiet hours, the daily digest and the reminders of urgent items.

Called by the jobs in ``xietong.notify.tasks``; every function reads and writes sets of rows
(a fixed number of queries per dispatch or per batch), never one query per recipient.

The time rules: quiet hours and digest hours are local times (``TIME_ZONE``); "now" is always
``clock.now()``, so tests move it.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Count, F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from xietong.core import classification, clock, events, outbound
from xietong.identity.models import User
from xietong.notify import kinds, selectors, webhooks
from xietong.notify.models import (
    Channel,
    DeliveryLog,
    Dispatch,
    Notification,
    NotifySettings,
    Urgency,
    Webhook,
)
from xietong.org.audience import Audience, audience_users

logger = logging.getLogger(__name__)

#: Rows per INSERT, and recipients per e-mail job (one SMTP connection each).
ROW_BATCH = 2000
EMAIL_BATCH = 100
#: How many times an urgent item is sent again to those who have not opened it (R-65).
URGENT_RESENDS = 3

EVENT_NEW = "notify.new"
EVENT_COUNT = "notify.count"


class TransientDeliveryError(Exception):
    """The receiver could not be reached now (connection, 5xx, rate limit): try again later."""


# --------------------------------------------------------------------------- time rules


def quiet_until(now: dt.datetime, start: dt.time | None, end: dt.time | None) -> dt.datetime | None:
    """When the quiet period around ``now`` ends (UTC), or ``None`` when ``now`` is not quiet.

    ``start``–``end`` are local times and may wrap midnight (22:00–07:00); equal times mean no
    quiet hours.
    """
    if start is None or end is None or start == end:
        return None
    local = timezone.localtime(now)
    moment = local.time()
    inside = start <= moment < end if start < end else (moment >= start or moment < end)
    if not inside:
        return None
    day = local.date() if moment < end else local.date() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, end)).astimezone(dt.UTC)


def resend_interval() -> dt.timedelta:
    return dt.timedelta(minutes=settings.XIETONG_URGENT_RESEND_MINUTES)


# --------------------------------------------------------------------------- content


def absolute(link: str) -> str:
    return f"{settings.XIETONG_SITE_URL}{link}" if link.startswith("/") else link


def _classified(dispatch: Dispatch) -> bool:
    return classification.is_classified(dispatch.classification)


def _prefix(dispatch: Dispatch, round_: int) -> str:
    if round_ > 0:
        return _("【急办·第 %(n)d 次提醒】") % {"n": round_}
    return _("【急办】") if dispatch.is_urgent else ""


def _open_path(notification_id: int) -> str:
    # The list's URL plus the id: what reverse("notify:open") gives, without a reverse() per
    # recipient of a large send.
    return f"{reverse('notify:list')}{notification_id}/"


def email_content(dispatch: Dispatch, round_: int) -> tuple[str, str]:
    """Subject and text of the e-mail of one dispatch. A classified source's content never
    leaves the platform (R-33): the e-mail only says that there is something to read."""
    link = absolute(dispatch.link or reverse("notify:list"))
    if _classified(dispatch):
        subject = _("【协同办公】%(prefix)s您有一条涉密通知") % {"prefix": _prefix(dispatch, round_)}
        body = _("您有一条涉密通知，内容不通过邮件发送，请登录协同办公平台查看：\n%(link)s") % {"link": link}
    else:
        subject = _("【协同办公】%(prefix)s%(title)s") % {
            "prefix": _prefix(dispatch, round_),
            "title": dispatch.title,
        }
        parts = [dispatch.title]
        if dispatch.body:
            parts.append(dispatch.body)
        parts.append(_("查看详情：%(link)s") % {"link": link})
        body = "\n\n".join(parts)
    footer = _("此邮件由协同办公平台自动发送，请勿直接回复。可在“通知设置”中选择哪些通知发送邮件。")
    return subject, f"{body}\n\n——\n{footer}"


def _message(dispatch: Dispatch, round_: int) -> webhooks.Message:
    return webhooks.Message(
        kind=dispatch.kind,
        title=dispatch.title,
        body=dispatch.body,
        link=absolute(dispatch.link) if dispatch.link else "",
        urgency=dispatch.urgency,
        created_at=dispatch.created_at,
        prefix=_prefix(dispatch, round_),
    )


# --------------------------------------------------------------------------- live pushes


def _copies(dispatch: Dispatch, unread_only: bool) -> QuerySet[Notification]:
    # A reminder goes to those who have not read *when it is sent*, as a filter rather than a
    # list of ids: one opened in the meantime is not reminded, and no IN list grows with the
    # audience.
    copies = Notification.objects.filter(dispatch=dispatch)
    return copies.filter(read_at__isnull=True) if unread_only else copies


def push(dispatch: Dispatch, *, unread_only: bool = False, round_: int = 0) -> int:
    """Tell the open tabs of the recipients (of those who have not read it, for a reminder)
    about the dispatch, each with their new unread count: a ``notify.new`` event (a pop-up),
    or only ``notify.count`` for those who turned the pop-up of this kind off. Urgent items pop up
    for everyone. Four queries and one batch of pushes, whatever the number of recipients."""
    copies = _copies(dispatch, unread_only)
    pairs = list(copies.values_list("user_id", "id"))
    if not pairs:
        return 0
    recipients = copies.values("user_id")
    counts = selectors.unread_counts(recipients)
    muted: set[int] = set()
    if not dispatch.is_urgent:
        muted = set(
            User.objects.filter(pk__in=recipients)
            .filter(selectors.opted_out(dispatch.kind, Channel.IN_APP))
            .values_list("pk", flat=True)
        )
    item = {
        "kind": dispatch.kind,
        "kind_label": kinds.label(dispatch.kind),
        "title": dispatch.title,
        "urgency": dispatch.urgency,
        "round": round_,
    }
    base = reverse("notify:list")  # once, not a reverse() per recipient
    batch: list[tuple[int, str, dict[str, Any]]] = []
    for user_id, notification_id in pairs:
        count = counts.get(user_id, 0)
        if user_id in muted:
            batch.append((user_id, EVENT_COUNT, {"count": count}))
        else:
            batch.append(
                (
                    user_id,
                    EVENT_NEW,
                    {**item, "id": notification_id, "link": f"{base}{notification_id}/", "count": count},
                )
            )
    events.push_to_users(batch)
    copies.update(channels=F("channels").bitor(Notification.PUSHED))
    return len(batch)


def push_count(user_id: int) -> None:
    """The user's other tabs learn the new count (after a mark-read), on commit."""
    count = Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()
    events.push_to_user(user_id, EVENT_COUNT, {"count": count})


# --------------------------------------------------------------------------- e-mail


def plan_email(
    dispatch: Dispatch, *, unread_only: bool = False, round_: int = 0, force: bool = False
) -> list[int]:
    """Write one e-mail delivery per recipient who should get one, and return the ids of those
    to send now; the rest wait for the end of their quiet hours (``DEFERRED``).

    Urgent items (and ``force``, a sender's reminder of an urgent item) go to everyone with an
    address at once; other items follow each user's choice for the kind, their digest and
    their quiet hours.
    """
    copies = _copies(dispatch, unread_only)
    people = User.objects.filter(pk__in=copies.values("user_id"), is_active=True).exclude(email="")
    urgent = dispatch.is_urgent or force
    if not urgent:
        people = people.exclude(selectors.opted_out(dispatch.kind, Channel.EMAIL))
        # Those who chose the daily digest hear of normal items there (send_digests).
        people = people.exclude(notify_settings__digest=True)
    rows = people.values_list("pk", "email", "notify_settings__quiet_start", "notify_settings__quiet_end")
    now = clock.now()
    logs = []
    for user_id, email, quiet_start, quiet_end in rows:
        due = None if urgent else quiet_until(now, quiet_start, quiet_end)
        logs.append(
            DeliveryLog(
                dispatch=dispatch,
                channel=DeliveryLog.Channel.EMAIL,
                user_id=user_id,
                target=email[:254],
                round=round_,
                status=DeliveryLog.Status.DEFERRED if due else DeliveryLog.Status.QUEUED,
                due_at=due,
                created_at=now,
            )
        )
    created = DeliveryLog.objects.bulk_create(logs, batch_size=ROW_BATCH)
    return _queued(created, dispatch, DeliveryLog.Channel.EMAIL, round_, now)


def _queued(
    created: list[DeliveryLog], dispatch: Dispatch, channel: str, round_: int, now: dt.datetime
) -> list[int]:
    """The ids of the queued deliveries just written. MySQL returns no ids from a bulk insert:
    there they are read back by what this plan wrote (its dispatch, channel, round and time)."""
    if not created or getattr(created[0], "pk", None) is not None:
        return [log.pk for log in created if log.status == DeliveryLog.Status.QUEUED]
    rows = DeliveryLog.objects.filter(
        dispatch=dispatch, channel=channel, round=round_, created_at=now, status=DeliveryLog.Status.QUEUED
    )
    return list(rows.order_by("pk").values_list("pk", flat=True))


def chunks(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _fail(log_ids: Iterable[int], error: str) -> None:
    DeliveryLog.objects.filter(pk__in=list(log_ids)).update(
        status=DeliveryLog.Status.FAILED, error=error[:500], attempts=F("attempts") + 1
    )


def send_emails(log_ids: Sequence[int], *, last_attempt: bool = True) -> int:
    """Send the queued e-mails ``log_ids`` over one SMTP connection; returns how many went.

    A refusal of one address fails that e-mail only. A lost connection leaves the rest
    queued and raises ``TransientDeliveryError`` for the job to retry — unless this was the
    last attempt, when they are marked failed.
    """
    logs = list(
        DeliveryLog.objects.filter(pk__in=list(log_ids), status=DeliveryLog.Status.QUEUED)
        .select_related("dispatch")
        .order_by("pk")
    )
    if not logs:
        return 0
    connection = get_connection()
    try:
        connection.open()
    except (OSError, smtplib.SMTPException) as exc:
        return _connection_lost([log.pk for log in logs], exc, last_attempt)
    sent: list[DeliveryLog] = []
    try:
        for index, log in enumerate(logs):
            assert log.dispatch is not None  # noqa: S101  (digests are sent by send_digests)
            subject, body = email_content(log.dispatch, log.round)
            message = EmailMessage(subject, body, None, [log.target], connection=connection)
            try:
                message.send()
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                _fail([log.pk], f"{type(exc).__name__}: {exc}")
            except (OSError, smtplib.SMTPException) as exc:
                _record_sent(sent)
                return len(sent) + _connection_lost([other.pk for other in logs[index:]], exc, last_attempt)
            else:
                sent.append(log)
    finally:
        try:
            connection.close()
        except (OSError, smtplib.SMTPException):
            logger.info("notify.email.close_failed")
    _record_sent(sent)
    return len(sent)


def _connection_lost(log_ids: list[int], exc: BaseException, last_attempt: bool) -> int:
    error = f"{type(exc).__name__}: {exc}"[:500]
    if last_attempt:
        _fail(log_ids, error)
        logger.warning("notify.email.failed", extra={"count": len(log_ids), "error": error})
        return 0
    DeliveryLog.objects.filter(pk__in=log_ids).update(error=error, attempts=F("attempts") + 1)
    raise TransientDeliveryError(error)


def _record_sent(logs: list[DeliveryLog]) -> None:
    if not logs:
        return
    now = clock.now()
    DeliveryLog.objects.filter(pk__in=[log.pk for log in logs]).update(
        status=DeliveryLog.Status.SENT, sent_at=now, error="", attempts=F("attempts") + 1
    )
    by_dispatch: dict[int, list[int]] = {}
    for log in logs:
        if log.dispatch_id is not None and log.user_id is not None:
            by_dispatch.setdefault(log.dispatch_id, []).append(log.user_id)
    for dispatch_id, user_ids in by_dispatch.items():
        Notification.objects.filter(dispatch_id=dispatch_id, user_id__in=user_ids).update(
            channels=F("channels").bitor(Notification.EMAILED)
        )


# --------------------------------------------------------------------------- webhooks


def webhook_covers(hook: Webhook, dispatch: Dispatch) -> bool:
    """May the group of ``hook`` hear of ``dispatch``? Only when it went to every active member
    of the hook's unit (and below), or to everyone when the hook names no unit — so that a
    group never learns of an item meant for a few of its members."""
    audience = Audience(units=frozenset({hook.unit_id})) if hook.unit_id else Audience(everyone=True)
    members = audience_users(audience)
    if not members.exists():
        return False
    told = Notification.objects.filter(dispatch=dispatch).values("user_id")
    return not members.exclude(pk__in=told).exists()


def plan_webhooks(dispatch: Dispatch, *, round_: int = 0) -> list[int]:
    """Write one delivery per webhook that should hear of the dispatch; return those due now.

    Normal items go to the webhooks whose kinds include theirs (all kinds when none are
    chosen), not "urgent only", outside the webhook's quiet hours; urgent items to every
    active webhook at once (R-66). A classified source never leaves the platform (R-33).
    """
    if _classified(dispatch):
        return []
    now = clock.now()
    logs = []
    for hook in Webhook.objects.filter(is_active=True).order_by("pk"):
        if not dispatch.is_urgent and (hook.urgent_only or (hook.kinds and dispatch.kind not in hook.kinds)):
            continue
        if not webhook_covers(hook, dispatch):
            continue
        due = None if dispatch.is_urgent else quiet_until(now, hook.quiet_start, hook.quiet_end)
        logs.append(
            DeliveryLog(
                dispatch=dispatch,
                channel=DeliveryLog.Channel.WEBHOOK,
                webhook=hook,
                target=hook.name,
                round=round_,
                status=DeliveryLog.Status.DEFERRED if due else DeliveryLog.Status.QUEUED,
                due_at=due,
                created_at=now,
            )
        )
    created = DeliveryLog.objects.bulk_create(logs)
    return _queued(created, dispatch, DeliveryLog.Channel.WEBHOOK, round_, now)


@dataclass(frozen=True)
class WebhookResult:
    ok: bool
    error: str = ""


def post_to_webhook(hook: Webhook, message: webhooks.Message) -> WebhookResult:
    """One request to ``hook``; ``TransientDeliveryError`` when it is worth trying again."""
    outgoing = webhooks.build(hook.format, hook.url, hook.secret, message, clock.now())
    try:
        response = outbound.post_json(
            outgoing.url, outgoing.payload, headers=outgoing.headers, body=outgoing.body
        )
    except outbound.OutboundRefusedError as exc:
        return WebhookResult(False, exc.message)
    except httpx.HTTPError as exc:
        raise TransientDeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientDeliveryError(f"HTTP {response.status_code}")
    if response.is_redirect:
        return WebhookResult(False, _("对方返回重定向，按外部访问规则不予跟随。"))
    ok, error = webhooks.accepted(hook.format, response)
    return WebhookResult(ok, error)


def send_webhook(log_id: int, *, last_attempt: bool = True) -> str:
    """Post one queued webhook delivery; returns its status."""
    log = DeliveryLog.objects.select_related("dispatch", "webhook").filter(pk=log_id).first()
    if log is None or log.status != DeliveryLog.Status.QUEUED:
        return log.status if log is not None else DeliveryLog.Status.SKIPPED
    hook, dispatch = log.webhook, log.dispatch
    if hook is None or not hook.is_active or dispatch is None:
        DeliveryLog.objects.filter(pk=log.pk).update(status=DeliveryLog.Status.SKIPPED)
        return DeliveryLog.Status.SKIPPED
    try:
        result = post_to_webhook(hook, _message(dispatch, log.round))
    except TransientDeliveryError as exc:
        if last_attempt:
            _fail([log.pk], str(exc))
            return DeliveryLog.Status.FAILED
        DeliveryLog.objects.filter(pk=log.pk).update(error=str(exc)[:500], attempts=F("attempts") + 1)
        raise
    if not result.ok:
        _fail([log.pk], result.error)
        logger.warning("notify.webhook.refused", extra={"webhook": hook.pk, "error": result.error})
        return DeliveryLog.Status.FAILED
    DeliveryLog.objects.filter(pk=log.pk).update(
        status=DeliveryLog.Status.SENT, sent_at=clock.now(), error="", attempts=F("attempts") + 1
    )
    return DeliveryLog.Status.SENT


# --------------------------------------------------------------------------- the minute jobs


@dataclass(frozen=True)
class Due:
    emails: list[int]
    webhooks: list[int]


def release_deferred(now: dt.datetime) -> Due:
    """Deliveries whose quiet hours are over become queued; returns them. Claimed by a
    conditional update, so two runs never send one twice; in batches, so that the 07:00 end of
    everyone's quiet hours does not become one statement with tens of thousands of ids."""
    emails: list[int] = []
    hooks: list[int] = []
    due = DeliveryLog.objects.filter(status=DeliveryLog.Status.DEFERRED, due_at__lte=now)
    while True:
        batch = list(due.order_by("pk").values_list("pk", "channel")[:ROW_BATCH])
        if not batch:
            break
        with transaction.atomic():
            claimed = set(
                DeliveryLog.objects.filter(
                    pk__in=[pk for pk, _channel in batch], status=DeliveryLog.Status.DEFERRED
                )
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)
            )
            DeliveryLog.objects.filter(pk__in=claimed).update(status=DeliveryLog.Status.QUEUED)
        emails += [pk for pk, channel in batch if pk in claimed and channel == DeliveryLog.Channel.EMAIL]
        hooks += [pk for pk, channel in batch if pk in claimed and channel == DeliveryLog.Channel.WEBHOOK]
        if len(batch) < ROW_BATCH:
            break
    return Due(emails, hooks)


@dataclass(frozen=True)
class Reminder:
    dispatch: Dispatch
    round: int
    unread: int


def claim_urgent_reminders(now: dt.datetime) -> list[Reminder]:
    """Urgent dispatches whose next reminder is due (R-65), each claimed for this run.

    Idempotent: the claim is an update conditional on the round it read, so a second run in
    the same minute (or a second worker) finds nothing to do; a dispatch that everyone has
    opened stops being reminded.
    """
    reminders = []
    due = Dispatch.objects.filter(
        urgency=Urgency.URGENT, next_resend_at__isnull=False, next_resend_at__lte=now
    ).order_by("pk")
    for dispatch in due:
        unread = Notification.objects.filter(dispatch=dispatch, read_at__isnull=True).count()
        round_ = dispatch.resend_count + 1
        last = round_ >= URGENT_RESENDS or not unread
        claimed = Dispatch.objects.filter(pk=dispatch.pk, resend_count=dispatch.resend_count).update(
            resend_count=F("resend_count") + (1 if unread else 0),
            next_resend_at=None if last else now + resend_interval(),
        )
        if claimed and unread:
            dispatch.resend_count = round_
            reminders.append(Reminder(dispatch, round_, unread))
    return reminders


# --------------------------------------------------------------------------- the daily digest


def digest_due(now: dt.datetime) -> list[NotifySettings]:
    """Users with the digest on whose digest hour has come today and who have not had today's."""
    local = timezone.localtime(now)
    due = []
    for chosen in NotifySettings.objects.filter(digest=True, user__is_active=True).exclude(user__email=""):
        slot = timezone.make_aware(dt.datetime.combine(local.date(), dt.time(chosen.digest_hour)))
        if now >= slot and (chosen.last_digest_at is None or chosen.last_digest_at < slot):
            due.append(chosen)
    return due


def send_digests(now: dt.datetime) -> int:
    """One e-mail per due user listing their unread normal notifications since the last digest
    (at most a day back) whose kind they take by e-mail. Returns the e-mails sent."""
    due = digest_due(now)
    if not due:
        return 0
    since = {chosen.user_id: chosen.last_digest_at or now - dt.timedelta(days=1) for chosen in due}
    earliest = min(since.values())
    rows = (
        Notification.objects.filter(
            user_id__in=list(since), read_at__isnull=True, urgent=False, created_at__gte=earliest
        )
        .select_related("dispatch", "user")
        .order_by("user_id", "-id")
    )
    items: dict[int, list[Notification]] = {}
    for row in rows:
        if row.created_at >= since[row.user_id]:
            items.setdefault(row.user_id, []).append(row)
    opted_out = {
        (user_id, kind)
        for kind in {row.dispatch.kind for rows_ in items.values() for row in rows_}
        for user_id in User.objects.filter(pk__in=list(items))
        .filter(selectors.opted_out(kind, Channel.EMAIL))
        .values_list("pk", flat=True)
    }
    sent = 0
    connection = get_connection()
    for chosen in due:
        # Claimed first: a second run (or worker) in the same hour finds it done.
        claimed = NotifySettings.objects.filter(pk=chosen.pk, last_digest_at=chosen.last_digest_at).update(
            last_digest_at=now
        )
        if not claimed:
            continue
        mine = [
            row
            for row in items.get(chosen.user_id, [])
            if (chosen.user_id, row.dispatch.kind) not in opted_out
        ]
        if not mine:
            continue
        user = mine[0].user
        subject, body = digest_content(mine, now)
        log = DeliveryLog(
            channel=DeliveryLog.Channel.EMAIL,
            user=user,
            target=user.email[:254],
            round=DeliveryLog.DIGEST_ROUND,
            attempts=1,
            created_at=now,
        )
        try:
            EmailMessage(subject, body, None, [user.email], connection=connection).send()
        except (OSError, smtplib.SMTPException) as exc:
            log.status, log.error = DeliveryLog.Status.FAILED, f"{type(exc).__name__}: {exc}"[:500]
        else:
            log.status, log.sent_at = DeliveryLog.Status.SENT, now
            sent += 1
        log.save()
    return sent


def digest_content(rows: list[Notification], now: dt.datetime) -> tuple[str, str]:
    day = timezone.localtime(now).strftime("%Y-%m-%d")
    subject = _("【协同办公】每日通知汇总（%(day)s，%(count)d 条未读）") % {"day": day, "count": len(rows)}
    lines = []
    for index, row in enumerate(rows, start=1):
        dispatch = row.dispatch
        when = timezone.localtime(row.created_at).strftime("%m-%d %H:%M")
        title = _("涉密通知，请登录平台查看") if _classified(dispatch) else dispatch.title
        lines.append(
            f"{index}. [{kinds.label(dispatch.kind)}] {title}（{when}）\n   {absolute(_open_path(row.pk))}"
        )
    footer = _("此邮件由协同办公平台每日自动发送。可在“通知设置”中关闭每日汇总。")
    body = _("您好，以下通知尚未阅读：") + "\n\n" + "\n".join(lines) + f"\n\n——\n{footer}"
    return subject, body


def deliveries_for(dispatch: Dispatch) -> dict[str, int]:
    """Delivery counts of a dispatch as ``{"email.sent": n, …}`` (for the sender's page)."""
    rows = (
        DeliveryLog.objects.filter(dispatch=dispatch)
        .order_by()
        .values("channel", "status")
        .annotate(n=Count("id"))
        .values_list("channel", "status", "n")
    )
    return {f"{channel}.{status}": n for channel, status, n in rows}
