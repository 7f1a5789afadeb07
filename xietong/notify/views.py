"""Pages of the notification centre: the list, one notification, preferences, the read
receipts of a send, and the administrators' webhooks. Thin: selectors read, services write."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xietong.core.errors import DomainError, NotFoundError
from xietong.core.permissions import permission_required
from xietong.identity.types import AuthedRequest
from xietong.notify import delivery, forms, kinds, selectors, services
from xietong.notify.models import Webhook

MANAGE = selectors.MANAGE_WEBHOOKS


def _crumbs(*extra: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("通知中心"), reverse("notify:list")), *extra]


def _cursor(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@login_required
def notification_list(request: AuthedRequest) -> HttpResponse:
    unread_only = request.GET.get("filter") == "unread"
    before = _cursor(request.GET.get("before"))
    page = selectors.notification_list(request.user, unread_only=unread_only, before=before)
    # 急办 items lead the first page; further down they appear in their place again.
    urgent = selectors.urgent_unread(request.user) if before is None else []
    return render(
        request,
        "notify/list.html",
        {
            "page": page,
            "rows": [(item, kinds.label(item.dispatch.kind)) for item in page.items],
            "urgent": [(item, kinds.label(item.dispatch.kind)) for item in urgent],
            "unread_only": unread_only,
            "unread_total": selectors.unread_count(request.user),
            "breadcrumbs": _crumbs(),
        },
    )


@login_required
def notification_open(request: AuthedRequest, notification_id: int) -> HttpResponse:
    """Opening a notification reads it, then leads to what it is about. Marking on GET is
    safe here: the session cookie is SameSite=Lax, so another site cannot make the browser
    "open" one, and opening is what the user did."""
    try:
        notification = services.notification_open(user=request.user, notification_id=notification_id)
    except NotFoundError:
        raise Http404 from None
    dispatch = notification.dispatch
    if dispatch.link and request.GET.get("view") != "1":
        return redirect(dispatch.link)
    return render(
        request,
        "notify/detail.html",
        {
            "item": notification,
            "kind_label": kinds.label(dispatch.kind),
            "breadcrumbs": _crumbs((dispatch.title, None)),
        },
    )


@login_required
@require_POST
def mark_all_read(request: AuthedRequest) -> HttpResponse:
    changed = services.notifications_mark_all_read(user=request.user)
    if changed:
        messages.success(request, _("已将 %(count)d 条通知标为已读。") % {"count": changed})
    return redirect("notify:list")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: AuthedRequest) -> HttpResponse:
    current = selectors.preferences_get(request.user)
    form = forms.PreferencesForm(request.POST or None, preferences=current)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.preferences_update(
                user=request.user,
                choices=form.choices(),
                quiet=services.QuietHours(data["quiet_start"], data["quiet_end"]),
                digest=data["digest"],
                digest_hour=data["digest_hour"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("通知设置已保存。"))
            return redirect("notify:preferences")
    return render(
        request,
        "notify/preferences.html",
        {"form": form, "breadcrumbs": _crumbs((_("通知设置"), None))},
    )


@login_required
@require_http_methods(["GET", "POST"])
def receipts(request: AuthedRequest, dispatch_id: int) -> HttpResponse:
    """R-63: the sender sees who has read and who has not, and reminds the latter."""
    try:
        found = selectors.dispatch_receipts(actor=request.user, dispatch_id=dispatch_id)
    except NotFoundError:
        raise Http404 from None
    if request.method == "POST":
        reminded = services.dispatch_remind(actor=request.user, dispatch_id=dispatch_id)
        messages.success(request, _("已提醒 %(count)d 位未读人员。") % {"count": reminded})
        return redirect("notify:receipts", dispatch_id=dispatch_id)
    return render(
        request,
        "notify/receipts.html",
        {
            "receipts": found,
            "deliveries": delivery.deliveries_for(found.dispatch),
            "breadcrumbs": _crumbs((_("阅读情况"), None)),
        },
    )


# --------------------------------------------------------------------------- webhooks


def _admin_context(**extra: object) -> dict[str, object]:
    crumbs = [(_("系统管理"), None), (_("消息推送"), reverse("notify:webhooks"))]
    return {"nav_active": "notify_webhooks", "breadcrumbs": crumbs, **extra}


@permission_required(MANAGE)
def webhook_list(request: AuthedRequest) -> HttpResponse:
    hooks = list(selectors.webhooks(actor=request.user))
    return render(request, "notify/webhooks.html", _admin_context(webhooks=hooks))


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def webhook_edit(request: AuthedRequest, webhook_id: int | None = None) -> HttpResponse:
    try:
        hook = selectors.webhook_get(actor=request.user, webhook_id=webhook_id) if webhook_id else Webhook()
    except NotFoundError:
        raise Http404 from None
    form = forms.WebhookForm(request.POST or None, instance=hook)
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_save(actor=request.user, webhook=form.save(commit=False), request=request)
        except DomainError as exc:
            form.add_error("url", exc.message)
        else:
            messages.success(request, _("消息推送“%(name)s”已保存。") % {"name": hook.name})
            return redirect("notify:webhooks")
    deliveries = selectors.webhook_deliveries(actor=request.user, webhook=hook) if hook.pk else []
    return render(
        request,
        "notify/webhook_form.html",
        _admin_context(form=form, webhook=hook, deliveries=deliveries),
    )


@permission_required(MANAGE)
@require_POST
def webhook_delete(request: AuthedRequest, webhook_id: int) -> HttpResponse:
    try:
        hook = selectors.webhook_get(actor=request.user, webhook_id=webhook_id)
    except NotFoundError:
        raise Http404 from None
    services.webhook_delete(actor=request.user, webhook=hook, request=request)
    messages.success(request, _("消息推送“%(name)s”已删除。") % {"name": hook.name})
    return redirect("notify:webhooks")


@permission_required(MANAGE)
@require_POST
def webhook_test(request: AuthedRequest, webhook_id: int) -> HttpResponse:
    try:
        hook = selectors.webhook_get(actor=request.user, webhook_id=webhook_id)
    except NotFoundError:
        raise Http404 from None
    result = services.webhook_test(actor=request.user, webhook=hook, request=request)
    if result.ok:
        messages.success(request, _("测试消息已发送到“%(name)s”。") % {"name": hook.name})
    else:
        messages.error(request, _("测试消息发送失败：%(error)s") % {"error": result.error})
    return redirect("notify:webhook_edit", webhook_id=hook.pk)
