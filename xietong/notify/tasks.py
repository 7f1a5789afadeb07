"""Background jobs of the notification centre: the fan-out of each dispatch, the e-mail and
webhook sends with retries, and the minute jobs (quiet hours ended, urgent reminders) and
the digest job. Thin: the work is in ``xietong.notify.delivery``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from xietong.core import clock
from xietong.notify import delivery
from xietong.notify.models import Dispatch

logger = logging.getLogger(__name__)

#: A send that cannot reach its server is tried again this many times, after 30 s, 1, 2 and
#: 4 minutes (the delay doubles each time, see ``_back_off``).
RETRIES = 4
RETRY_DELAY = 30


def _back_off(task: Any) -> None:
    # Huey waits ``task.retry_delay`` before the next try; doubling it per failed try turns its
    # fixed delay into an exponential back-off. ``task.retries`` counts the tries left.
    if task is not None:
        task.retry_delay = RETRY_DELAY * 2 ** (RETRIES - task.retries)


def _last_attempt(task: Any) -> bool:
    return task is None or not task.retries


@db_task(retries=RETRIES, retry_delay=RETRY_DELAY, context=True)  # type: ignore[untyped-decorator]
def send_emails(log_ids: list[int], task: Any = None) -> int:
    try:
        return delivery.send_emails(log_ids, last_attempt=_last_attempt(task))
    except delivery.TransientDeliveryError:
        _back_off(task)
        raise


@db_task(retries=RETRIES, retry_delay=RETRY_DELAY, context=True)  # type: ignore[untyped-decorator]
def send_webhook(log_id: int, task: Any = None) -> str:
    try:
        return delivery.send_webhook(log_id, last_attempt=_last_attempt(task))
    except delivery.TransientDeliveryError:
        _back_off(task)
        raise


def enqueue(emails: Sequence[int], webhooks: Sequence[int]) -> None:
    for chunk in delivery.chunks(emails, delivery.EMAIL_BATCH):
        send_emails(chunk)
    for log_id in webhooks:
        send_webhook(log_id)


@db_task()  # type: ignore[untyped-decorator]
def fan_out(dispatch_id: int) -> int:
    """Everything after the rows are written: pushes to open tabs, then e-mail and webhook
    deliveries (each send its own retried job). Returns the number of pushes."""
    # Claimed once: a job delivered twice (a worker restarted mid-way) does not send twice.
    if not Dispatch.objects.filter(pk=dispatch_id, fanned_out_at__isnull=True).update(
        fanned_out_at=clock.now()
    ):
        return 0
    dispatch = Dispatch.objects.get(pk=dispatch_id)
    pushed = delivery.push(dispatch)
    enqueue(delivery.plan_email(dispatch), delivery.plan_webhooks(dispatch))
    return pushed


def remind(dispatch: Dispatch, round_: int, *, force_email: bool = False) -> int:
    """Tell those who have not read ``dispatch`` about it again: a pop-up and an e-mail (an urgent item's
    reminders go by e-mail to all of them, R-65; a sender's reminder of a normal item by
    each user's choice). Webhooks are not posted again: a group is not a person who has or
    has not read."""
    pushed = delivery.push(dispatch, unread_only=True, round_=round_)
    enqueue(delivery.plan_email(dispatch, unread_only=True, round_=round_, force=force_email), [])
    return pushed


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
@lock_task("notify-urgent-reminders")  # type: ignore[untyped-decorator]
def resend_urgent() -> int:
    """R-65: every minute, urgent items whose reminder is due go again to those who have not
    opened them, up to three times, ``XIETONG_URGENT_RESEND_MINUTES`` apart."""
    reminded = 0
    for reminder in delivery.claim_urgent_reminders(clock.now()):
        reminded += remind(reminder.dispatch, reminder.round)
        logger.info(
            "notify.urgent.reminded",
            extra={
                "dispatch": reminder.dispatch.pk,
                "round": reminder.round,
                "unread": reminder.unread,
            },
        )
    return reminded


@db_periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
@lock_task("notify-deferred")  # type: ignore[untyped-decorator]
def deliver_deferred() -> int:
    """E-mails and webhook posts held back by quiet hours go out when those end."""
    due = delivery.release_deferred(clock.now())
    enqueue(due.emails, due.webhooks)
    return len(due.emails) + len(due.webhooks)


# Every ten minutes: each user's digest hour is local and whole, so it is sent within ten
# minutes of it, and a run missed while the jobs were down is made up by the next.
@db_periodic_task(crontab(minute="*/10"))  # type: ignore[untyped-decorator]
@lock_task("notify-digests")  # type: ignore[untyped-decorator]
def send_digests() -> int:
    return delivery.send_digests(clock.now())
