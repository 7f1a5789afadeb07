"""The one way to notify anyone, and the other writes of the notification centre.

``notify`` is what every module calls::

    notify(recipients=["unit:12", "user:7"], kind="tasks.assigned", title="…", link="/tasks/5/")

It resolves the recipients once (one set-based query), writes one ``Notification`` per person
in batches, and leaves pushes, e-mail and webhooks to a background job that starts when the
caller's transaction commits — so a rolled-back change notifies nobody.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from xietong.audit.services import Target, record
from xietong.core import access, clock, events, outbound
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.identity.models import User
from xietong.notify import audit_actions, delivery, kinds, selectors, tasks, webhooks
from xietong.notify.models import (
    Channel,
    DeliveryLog,
    Dispatch,
    Notification,
    NotifySettings,
    Preference,
    Urgency,
    Webhook,
)
from xietong.org.access import subtree_within
from xietong.org.audience import Audience, audience_users
from xietong.org.models import OrgUnit

SEND_TO_UNITS = "notify.send_to_units"
TITLE_MAX = 200
LINK_MAX = 500

_REFERENCE = re.compile(r"^(?:(user|unit|unit_only|position):([0-9]+)|role:([a-z0-9_-]{1,64})|(everyone))$")


# --------------------------------------------------------------------------- recipients


def parse_recipients(recipients: Sequence[str]) -> Audience:
    """``["user:7", "unit:3", "unit_only:4", "role:finance", "position:2", "everyone"]`` →
    an ``Audience``. A malformed reference is a programming error (``ValueError``)."""
    if isinstance(recipients, str):
        raise TypeError('recipients must be a list of references such as ["user:7"], not one string')
    found: dict[str, set[Any]] = {
        "user": set(),
        "unit": set(),
        "unit_only": set(),
        "position": set(),
        "role": set(),
    }
    everyone = False
    for reference in recipients:
        match = _REFERENCE.match(reference.strip()) if isinstance(reference, str) else None
        if match is None:
            raise ValueError(
                f"invalid recipient {reference!r}: expected user:<id>, unit:<id>, unit_only:<id>, "
                "role:<code>, position:<id> or everyone"
            )
        prefix, number, role, all_staff = match.groups()
        if all_staff:
            everyone = True
        elif role:
            found["role"].add(role)
        else:
            found[prefix].add(int(number))
    return Audience(
        users=frozenset(found["user"]),
        units=frozenset(found["unit"]),
        units_only=frozenset(found["unit_only"]),
        roles=frozenset(found["role"]),
        positions=frozenset(found["position"]),
        everyone=everyone,
    )


def resolve_recipients(recipients: Sequence[str], *, now: dt.datetime | None = None) -> list[int]:
    """The ids of the active accounts ``recipients`` names, each once, in id order."""
    users = audience_users(parse_recipients(recipients), now=now)
    return list(users.order_by("pk").values_list("pk", flat=True))


def require_send_permission(*, actor: User, recipients: Sequence[str]) -> None:
    """R-31: sending on a person's behalf to a whole department or to everyone needs
    ``notify.send_to_units`` — for a department, within the data scope of the holder's grant
    (the whole subtree for "unit:"); for everyone, or a role or position (which span the
    company), a group-wide scope. Named people need nothing.

    For the modules whose users choose an audience themselves (notices, meetings, messages):
    call it before publishing. ``notify`` itself does not, since most notifications are the
    platform telling people about their own work.
    """
    audience = parse_recipients(recipients)
    if not (
        audience.everyone or audience.units or audience.units_only or audience.roles or audience.positions
    ):
        return
    scope = access.scope_of(actor, SEND_TO_UNITS)
    if scope is not None and scope.everything:
        return
    refused = PermissionDeniedError(
        _("向部门或全员发送通知需要“向部门或全员发送通知”权限，且范围须在您的授权范围内。")
    )
    if scope is None or audience.everyone or audience.roles or audience.positions:
        raise refused
    units = {unit.pk: unit for unit in OrgUnit.objects.filter(pk__in=[*audience.units, *audience.units_only])}
    for unit_id in audience.units:
        if unit_id not in units or not subtree_within(scope.units, units[unit_id]):
            raise refused
    for unit_id in audience.units_only:
        if unit_id not in units or not access.can_on(
            actor, SEND_TO_UNITS, None, unit=units[unit_id], acl=False
        ):
            raise refused


# --------------------------------------------------------------------------- sending


def _validated(kind: str, title: str, link: str, urgency: str) -> tuple[str, str]:
    if not kinds.KIND_CODE.match(kind) or len(kind) > kinds.MAX_LENGTH:
        raise ValueError(
            f"invalid notification kind {kind!r}: a dotted lower-case code such as 'tasks.assigned'"
        )
    if urgency not in Urgency.values:
        raise ValueError(f"invalid urgency {urgency!r}: 'normal' or 'urgent'")
    title = " ".join(_clean(title).split())
    if not title:
        raise ValueError("a notification needs a title")
    link = link.strip()
    # Links stay inside the platform: the centre links through to them after marking read,
    # and an absolute URL there would make it an open redirect. Browsers drop tabs and line
    # breaks from URLs ("/\t/evil.example" becomes "//evil.example"), so none may appear.
    if link and (
        not link.startswith("/")
        or len(link) > LINK_MAX
        or any(char.isspace() or not char.isprintable() for char in link)
        or not url_has_allowed_host_and_scheme(link, allowed_hosts=set())
    ):
        raise ValueError(f"invalid link {link!r}: a path inside the platform such as '/tasks/5/'")
    return title[:TITLE_MAX], link


def _clean(text: str) -> str:
    # PostgreSQL refuses NUL characters: a pasted one must not make the sender's change fail.
    return text.replace("\x00", "")


def _classification(source: models.Model | None) -> int:
    level = getattr(source, "classification", None) if source is not None else None
    return level if isinstance(level, int) and not isinstance(level, bool) else 0


def notify(
    *,
    recipients: Sequence[str],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    urgency: str = "normal",
    actor: User | None = None,
    source: models.Model | None = None,
) -> Dispatch:
    """Notify ``recipients`` (see ``parse_recipients``): stored at once for each active
    account they name; pushed, e-mailed and posted to webhooks by a job after commit.

    ``urgency="urgent"`` (急办) ignores preferences and quiet hours, goes out on every channel
    at once, and is sent again to those who have not opened it (R-65, R-66). When ``source``
    has a ``classification`` (密级), recipients without that clearance are left out and
    counted in ``withheld_count`` (R-33), and the content never leaves by e-mail or webhook.
    """
    title, link = _validated(kind, title, link, urgency)
    audience = parse_recipients(recipients)
    level = _classification(source)
    now = clock.now()
    source_type = ContentType.objects.get_for_model(source) if source is not None else None
    with transaction.atomic():
        # Business content never reaches the 三员 administrators, whatever the audience (AC-05).
        business = source is not None and source._meta.app_label not in access.PLATFORM_MODULES
        accounts = list(
            audience_users(audience, now=now, business=business)
            .order_by("pk")
            .values_list("pk", "clearance", "is_superuser")
        )
        cleared = [pk for pk, clearance, superuser in accounts if superuser or clearance >= level]
        urgent = urgency == Urgency.URGENT
        dispatch = Dispatch.objects.create(
            kind=kind,
            title=title,
            body=_clean(body).strip(),
            link=link,
            urgency=urgency,
            actor=actor,
            source_type=source_type,
            source_id=str(source.pk) if source is not None else "",
            recipients=sorted({reference.strip() for reference in recipients}),
            classification=level,
            recipient_count=len(cleared),
            withheld_count=len(accounts) - len(cleared),
            next_resend_at=now + delivery.resend_interval() if urgent and cleared else None,
            created_at=now,
        )
        Notification.objects.bulk_create(
            (Notification(dispatch=dispatch, user_id=pk, urgent=urgent, created_at=now) for pk in cleared),
            batch_size=delivery.ROW_BATCH,
        )
        if cleared:
            dispatch_id = dispatch.pk
            # Cached pages of the recipients (the workbench's cards) are outdated now, not
            # only when the job pushes the news to their open tabs.
            events.touched(cleared, {"notify", kind.split(".", 1)[0]})
            transaction.on_commit(lambda: tasks.fan_out(dispatch_id))
    return dispatch


def dispatch_remind(*, actor: User, dispatch_id: int | str) -> int:
    """R-63: the sender reminds those who have not read yet (a pop-up and, by their choice,
    an e-mail; an urgent item's reminder goes by e-mail regardless). Returns how many."""
    dispatch = selectors.dispatch_sent_by(actor=actor, dispatch_id=dispatch_id)
    unread = Notification.objects.filter(dispatch=dispatch, read_at__isnull=True).count()
    if not unread:
        return 0
    transaction.on_commit(lambda: tasks.remind(dispatch, 0, force_email=dispatch.is_urgent))
    return unread


# --------------------------------------------------------------------------- reading


def notification_mark_read(*, user: User, ids: Sequence[int]) -> int:
    """Mark the user's own notifications ``ids`` read; others' ids change nothing. Returns
    how many changed; the user's open tabs get the new count."""
    wanted = [int(pk) for pk in ids][:1000]
    with transaction.atomic():
        changed = Notification.objects.filter(user_id=user.pk, pk__in=wanted, read_at__isnull=True).update(
            read_at=clock.now()
        )
        if changed:
            delivery.push_count(user.pk)
    return changed


def notifications_mark_read_for_source(*, user: User, source: models.Model) -> int:
    """The user has seen ``source`` itself (opened the notice, the task …): their unread
    notifications about it — the first one, updates, reminders — are read too. Returns how
    many changed; the user's open tabs get the new count."""
    source_type = ContentType.objects.get_for_model(source)
    with transaction.atomic():
        changed = Notification.objects.filter(
            user_id=user.pk,
            read_at__isnull=True,
            dispatch__in=Dispatch.objects.filter(source_type=source_type, source_id=str(source.pk)),
        ).update(read_at=clock.now())
        if changed:
            delivery.push_count(user.pk)
    return changed


def notifications_mark_all_read(*, user: User) -> int:
    with transaction.atomic():
        changed = Notification.objects.filter(user_id=user.pk, read_at__isnull=True).update(
            read_at=clock.now()
        )
        if changed:
            delivery.push_count(user.pk)
    return changed


def notification_open(*, user: User, notification_id: int | str) -> Notification:
    """The user opens one of their notifications: it is read from now on (R-63, R-65)."""
    notification = selectors.notification_get(user, notification_id)
    if notification.read_at is None:
        notification_mark_read(user=user, ids=[notification.pk])
        notification.read_at = clock.now()
    return notification


# --------------------------------------------------------------------------- preferences


@dataclass(frozen=True)
class QuietHours:
    start: dt.time | None
    end: dt.time | None


def preferences_update(
    *,
    user: User,
    choices: Mapping[str, Mapping[str, bool]],
    quiet: QuietHours,
    digest: bool,
    digest_hour: int,
) -> None:
    """Save the user's choices (``{"tasks.assigned": {"in_app": True, "email": False}}``)
    for registered kinds, quiet hours and digest. A choice equal to the kind's default is
    stored as no row, so a later change of the default reaches everyone who never chose."""
    known = {kind.code for kind in kinds.all_kinds()}
    if (quiet.start is None) != (quiet.end is None):
        raise DomainError(_("免打扰时段需同时填写开始和结束时间。"))
    if quiet.start is not None and quiet.start == quiet.end:
        raise DomainError(_("免打扰的开始和结束时间不能相同。"))
    if not 0 <= digest_hour <= 23:
        raise DomainError(_("汇总发送时刻应在 0–23 点之间。"))
    with transaction.atomic():
        Preference.objects.filter(user=user).delete()
        Preference.objects.bulk_create(
            Preference(user=user, kind=kind, channel=channel, enabled=enabled)
            for kind, channels in choices.items()
            if kind in known
            for channel, enabled in channels.items()
            if channel in Channel.values and enabled != selectors.default_enabled(kind, channel)
        )
        NotifySettings.objects.update_or_create(
            user=user,
            defaults={
                "quiet_start": quiet.start,
                "quiet_end": quiet.end,
                "digest": digest,
                "digest_hour": digest_hour,
            },
        )


# --------------------------------------------------------------------------- webhooks


def _require_webhook_admin(actor: User, action: str, request: Any, target: Webhook | None = None) -> None:
    if not access.can(actor, selectors.MANAGE_WEBHOOKS):
        record(actor=actor, action=action, target=target, result="denied", request=request)
        raise PermissionDeniedError(_("只有系统管理员可以配置消息推送。"))


def _webhook_details(hook: Webhook) -> dict[str, Any]:
    # The URL carries the robot's token and the secret signs its messages: neither is kept
    # in the audit trail, only where the messages go.
    return {
        "name": hook.name,
        "format": hook.format,
        "host": urlsplit(hook.url).hostname or "",
        "unit": hook.unit_id,
        "kinds": hook.kinds,
        "urgent_only": hook.urgent_only,
        "is_active": hook.is_active,
        "signed": bool(hook.secret),
    }


def webhook_save(*, actor: User, webhook: Webhook, request: Any = None) -> Webhook:
    """Create or change a webhook (the caller's form has validated it, URL rules included)."""
    creating = webhook.pk is None
    action = audit_actions.WEBHOOK_CREATED if creating else audit_actions.WEBHOOK_UPDATED
    _require_webhook_admin(actor, action, request, None if creating else webhook)
    try:
        outbound.check_url(webhook.url, resolve=False)
    except outbound.OutboundRefusedError as exc:
        raise DomainError(exc.message) from None
    with transaction.atomic():
        if creating:
            webhook.created_by = actor
        webhook.save()
        record(actor=actor, action=action, target=webhook, request=request, details=_webhook_details(webhook))
    return webhook


def webhook_delete(*, actor: User, webhook: Webhook, request: Any = None) -> None:
    _require_webhook_admin(actor, audit_actions.WEBHOOK_DELETED, request, webhook)
    with transaction.atomic():
        record(
            actor=actor,
            action=audit_actions.WEBHOOK_DELETED,
            target=Target("notify.webhook", webhook.pk, webhook.name),
            request=request,
            details=_webhook_details(webhook),
        )
        webhook.delete()


def webhook_test(*, actor: User, webhook: Webhook, request: Any = None) -> delivery.WebhookResult:
    """Post a test message to the webhook now and say how it went (recorded as a delivery)."""
    _require_webhook_admin(actor, audit_actions.WEBHOOK_TESTED, request, webhook)
    now = clock.now()
    message = webhooks.Message(
        kind=kinds.TEST.code,
        title=_("测试消息"),
        body=_("这是一条来自协同办公平台的测试消息，发送人：%(name)s。")
        % {"name": actor.name or actor.username},
        link=delivery.absolute(reverse("notify:list")),
        urgency=Urgency.NORMAL,
        created_at=now,
    )
    try:
        result = delivery.post_to_webhook(webhook, message)
    except delivery.TransientDeliveryError as exc:
        result = delivery.WebhookResult(False, str(exc))
    with transaction.atomic():
        DeliveryLog.objects.create(
            channel=DeliveryLog.Channel.WEBHOOK,
            webhook=webhook,
            target=webhook.name,
            status=DeliveryLog.Status.SENT if result.ok else DeliveryLog.Status.FAILED,
            attempts=1,
            error=result.error[:500],
            created_at=now,
            sent_at=now if result.ok else None,
        )
        record(
            actor=actor,
            action=audit_actions.WEBHOOK_TESTED,
            target=webhook,
            request=request,
            result="success" if result.ok else "failure",
            details={"error": result.error},
        )
    return result
