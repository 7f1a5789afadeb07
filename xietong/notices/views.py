"""The notice pages: the lists, writing and editing, one notice with its receipt, the
publisher's receipts page (live), reminders, the Excel export and on-site sign-in.
Thin: selectors read, services write."""

from __future__ import annotations

import json
import uuid
from typing import Any

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xietong.core import classification, clock
from xietong.core.errors import DomainError, NotFoundError
from xietong.files import services as files
from xietong.files.models import StoredFile
from xietong.identity.types import AuthedRequest
from xietong.notices import selectors, services
from xietong.notices.forms import NoticeForm, ReplyForm, WithdrawForm
from xietong.notices.models import Notice, NoticeRecipient, ReceiptMode, Status
from xietong.org import selectors as org_selectors

PAGE_SIZE = 20
SEARCH_RESULTS = 8


def _crumbs(*extra: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("通知公告"), reverse("notices:home")), *extra]


def _require_reader(request: AuthedRequest) -> None:
    if not selectors.can_read(request.user):
        raise PermissionDenied


def _visible(request: AuthedRequest, notice_id: int) -> Notice:
    _require_reader(request)
    try:
        return selectors.notice_get(request.user, notice_id)
    except NotFoundError:
        raise Http404 from None


def _managed(request: AuthedRequest, notice_id: int) -> Notice:
    _require_reader(request)
    try:
        return selectors.managed_notice(request.user, notice_id)
    except NotFoundError:
        raise Http404 from None


def _form_errors(form: Any, exc: DomainError) -> None:
    """Put a service's refusal on the form: on the field it names, else on the form."""
    placed = False
    for detail in exc.details or []:
        name = detail.get("field") if isinstance(detail, dict) else None
        if name == "urgency":
            name = "urgent"
        if name in form.fields:
            form.add_error(name, detail.get("message") or exc.message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


# --------------------------------------------------------------------------- lists


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    """通知公告: 我收到的 / 我发布的 / 本部门, with a search box."""
    _require_reader(request)
    user = request.user
    box = request.GET.get("box", "received")
    manager = selectors.can_manage_any(user)
    if box not in ("received", "published", "unit") or (box == "unit" and not manager):
        box = "received"
    query = request.GET.get("q", "").strip()[:100]
    only = request.GET.get("only", "")
    if only not in ("unread", "awaiting"):
        only = ""
    rows: Any
    if box == "received":
        rows = selectors.received(user, query=query, only=only)
    elif box == "published":
        rows = selectors.published_by(user, query=query)
    else:
        rows = selectors.unit_notices(user, query=query)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    rows_with_progress: list[tuple[Notice, dict[str, int] | None]] = []
    if box != "received":
        progress = _progress([notice.pk for notice in page.object_list])
        rows_with_progress = [(notice, progress.get(notice.pk)) for notice in page.object_list]
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(
        request,
        "notices/list.html",
        {
            "box": box,
            "only": only,
            "query": query,
            "page": page,
            "rows": rows_with_progress,
            "manager": manager,
            "can_publish": selectors.can_publish(user),
            "unread_total": selectors.unread_count(user),
            "awaiting_total": selectors.awaiting_receipts(user).count(),
            "filter_query": keep.urlencode(),
            "breadcrumbs": _crumbs(),
        },
    )


def _progress(notice_ids: list[int]) -> dict[int, dict[str, int]]:
    """Read and answered counts of one page of notices: one grouped query."""
    rows = (
        NoticeRecipient.objects.filter(notice_id__in=notice_ids)
        .order_by()
        .values("notice_id")
        .annotate(
            read=Count("id", filter=Q(read_at__isnull=False)),
            done=Count("id", filter=Q(confirmed_at__isnull=False) | ~Q(reply="")),
        )
    )
    return {row["notice_id"]: {"read": row["read"], "answered": row["done"]} for row in rows}


# --------------------------------------------------------------------------- writing


def _audience_json(request: AuthedRequest, references: list[str]) -> str:
    choices, _bad = services.audience_choices(request.user, references)
    return json.dumps(
        [{"ref": choice.reference, "label": choice.label, "kind": choice.kind} for choice in choices],
        ensure_ascii=False,
    )


def _quick_picks(request: AuthedRequest) -> list[dict[str, str]]:
    """本部门 and 全体员工 as one-click choices (the service still checks the permission)."""
    picks = []
    membership = org_selectors.primary_membership(request.user)
    if membership is not None:
        picks.append({"ref": f"unit:{membership.unit_id}", "label": membership.unit.name, "kind": "unit"})
    picks.append({"ref": "everyone", "label": _("全体员工"), "kind": "everyone"})
    return picks


def _form_page(request: AuthedRequest, form: NoticeForm, notice: Notice | None, title: str) -> HttpResponse:
    references = form["audience"].value() or []
    return render(
        request,
        "notices/form.html",
        {
            "form": form,
            "notice": notice,
            "attachments": selectors.attachments(notice) if notice is not None else [],
            "page_title": title,
            "audience_json": _audience_json(request, list(references)),
            "quick_picks": json.dumps(_quick_picks(request), ensure_ascii=False),
            "breadcrumbs": _crumbs((title, None)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def create(request: AuthedRequest) -> HttpResponse:
    if not selectors.can_publish(request.user):
        raise PermissionDenied
    form = NoticeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, None)
        if saved is not None:
            return saved
    return _form_page(request, form, None, _("发布通知"))


def _store_files(request: AuthedRequest, form: NoticeForm) -> list[StoredFile] | None:
    """Check, scan and store the chosen files before the notice is saved (``None``: refused,
    the reason is on the form)."""
    uploads = request.FILES.getlist("attachments")
    if len(uploads) > services.MAX_ATTACHMENTS:
        form.add_error("attachments", _("附件不能超过 %(max)s 个。") % {"max": services.MAX_ATTACHMENTS})
        return None
    level = form.cleaned_data.get("classification")
    if form.published is not None:
        level = form.published.classification
    stored: list[StoredFile] = []
    try:
        for upload in uploads:
            stored.append(
                files.store_upload(
                    actor=request.user,
                    upload=upload,
                    context=services.ATTACHMENT_CONTEXT,
                    classification=level if isinstance(level, int) else classification.INTERNAL,
                )
            )
    except DomainError as exc:
        _discard(stored)
        form.add_error("attachments", exc.message)
        return None
    return stored


def _discard(stored: list[StoredFile]) -> None:
    for item in stored:
        files.discard(item)


def _removed(request: AuthedRequest) -> list[int]:
    return [int(value) for value in request.POST.getlist("remove_attachment") if value.isdigit()][:100]


def _save(request: AuthedRequest, form: NoticeForm, draft: Notice | None) -> HttpResponse | None:
    """Publish or keep as draft, as the button pressed says; ``None`` when refused."""
    data = form.to_input()
    stored = _store_files(request, form)
    if stored is None:
        return None
    try:
        if request.POST.get("action") == "draft":
            notice = services.notice_save_draft(
                actor=request.user,
                data=data,
                notice=draft,
                attachments=stored,
                remove_attachments=_removed(request),
            )
            messages.success(request, _("草稿已保存。"))
            return redirect("notices:edit", notice_id=notice.pk)
        notice = services.notice_publish(
            actor=request.user,
            data=data,
            notice=draft,
            attachments=stored,
            remove_attachments=_removed(request),
            request=request,
        )
    except DomainError as exc:
        _discard(stored)
        _form_errors(form, exc)
        return None
    if notice.status == Status.PENDING:
        messages.warning(request, _("通知含需审核的内容，已提交审核，审核通过后自动发布。"))
    else:
        messages.success(
            request,
            _("通知已发布，共 %(count)s 人。") % {"count": notice.recipient_count}
            + (
                _("另有 %(held)s 人因密级不足未发送。") % {"held": notice.withheld_count}
                if notice.withheld_count
                else ""
            ),
        )
    return redirect("notices:detail", notice_id=notice.pk)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: AuthedRequest, notice_id: int) -> HttpResponse:
    """A draft: the whole form. A published notice: its text, time, place and deadline (R-32)."""
    notice = _visible(request, notice_id)
    if notice.publisher_id != request.user.pk or notice.status not in (Status.DRAFT, Status.PUBLISHED):
        raise Http404
    published = notice if notice.status == Status.PUBLISHED else None
    form = NoticeForm(
        request.POST or None, user=request.user, published=published, initial=NoticeForm.initial_for(notice)
    )
    if request.method == "POST" and form.is_valid():
        if published is None:
            saved = _save(request, form, notice)
            if saved is not None:
                return saved
        else:
            # After publication files may only be added (R-32: what was sent stays readable).
            stored = _store_files(request, form)
            if stored is not None:
                try:
                    services.notice_update(
                        actor=request.user,
                        notice=notice,
                        data=form.to_input(),
                        attachments=stored,
                        request=request,
                    )
                except DomainError as exc:
                    _discard(stored)
                    _form_errors(form, exc)
                else:
                    messages.success(request, _("通知已修改，已通知相关人员；原内容保留在历史版本中。"))
                    return redirect("notices:detail", notice_id=notice.pk)
    title = _("修改通知") if published else _("编辑草稿")
    return _form_page(request, form, notice, title)


@login_required
@require_POST
def delete_draft(request: AuthedRequest, notice_id: int) -> HttpResponse:
    notice = _visible(request, notice_id)
    try:
        services.notice_delete_draft(actor=request.user, notice=notice)
    except (DomainError, NotFoundError) as exc:
        messages.error(request, exc.message)
        return redirect("notices:detail", notice_id=notice.pk)
    messages.success(request, _("草稿已删除。"))
    return redirect(reverse("notices:home") + "?box=published")


@login_required
@require_GET
def audience_search(request: AuthedRequest) -> JsonResponse:
    """The audience picker's suggestions: departments and people matching ``q`` (name,
    pinyin, code), within what the user may see in the address book."""
    if not selectors.can_publish(request.user):
        raise PermissionDenied
    query = request.GET.get("q", "").strip()[:50]
    results: list[dict[str, str]] = []
    if query:
        units = org_selectors.visible_units(viewer=request.user).filter(org_selectors.unit_search(query))
        for unit_id, name in units.order_by("path").values_list("pk", "name")[:SEARCH_RESULTS]:
            results.append(
                {"ref": f"unit:{unit_id}", "label": name, "kind": "unit", "detail": _("含下级单位")}
            )
        posts = org_selectors.directory(viewer=request.user).filter(
            org_selectors.person_search(query, prefix="user__"), is_primary=True
        )
        for post in posts.order_by("user__name", "user_id")[:SEARCH_RESULTS]:
            results.append(
                {
                    "ref": f"user:{post.user_id}",
                    "label": post.user.name,
                    "kind": "user",
                    "detail": post.unit.name,
                }
            )
    return JsonResponse({"results": results}, json_dumps_params={"ensure_ascii": False})


# --------------------------------------------------------------------------- one notice


@login_required
def detail(request: AuthedRequest, notice_id: int) -> HttpResponse:
    """One notice: opening it is the read receipt (R-63); the receipt buttons for a
    recipient, the publisher's tools for whoever may follow it."""
    notice = _visible(request, notice_id)
    copy = services.notice_opened(user=request.user, notice=notice)
    manage = selectors.can_manage(request.user, notice)
    now = clock.now()
    deadline = notice.reply_deadline
    reply_form = ReplyForm(initial={"reply": copy.reply, "note": copy.note} if copy else None)
    return render(
        request,
        "notices/detail.html",
        {
            "notice": notice,
            "copy": copy,
            "manage": manage,
            "owner": notice.publisher_id == request.user.pk,
            "reply_form": reply_form,
            "reply_open": deadline is None or now <= deadline,
            "deadline": deadline or notice.receipt_due,
            "confirm_late": notice.receipt_due is not None and now > notice.receipt_due,
            "revisions": selectors.revisions(notice) if notice.edited else [],
            "attachments": selectors.attachments(notice),
            "totals": selectors.receipt_totals(notice) if manage and notice.status != Status.DRAFT else None,
            "withdraw_form": WithdrawForm(),
            "breadcrumbs": _crumbs((notice.title, None)),
        },
    )


@login_required
@require_POST
def receipt(request: AuthedRequest, notice_id: int) -> HttpResponse:
    """确认已阅, or 参加 / 不参加 with a note."""
    notice = _visible(request, notice_id)
    try:
        if notice.receipt_mode == ReceiptMode.READ:
            services.receipt_confirm(user=request.user, notice=notice)
            messages.success(request, _("已确认阅读。"))
        else:
            form = ReplyForm(request.POST)
            if not form.is_valid():
                raise DomainError(_("请选择参加或不参加。"))
            copy = services.receipt_reply(
                user=request.user,
                notice=notice,
                reply=form.cleaned_data["reply"],
                note=form.cleaned_data["note"],
            )
            messages.success(request, _("已回复：%(reply)s。") % {"reply": copy.get_reply_display()})
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("notices:detail", notice_id=notice.pk)


@login_required
@require_POST
def withdraw(request: AuthedRequest, notice_id: int) -> HttpResponse:
    notice = _visible(request, notice_id)
    form = WithdrawForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.notice_withdraw(actor=request.user, notice=notice, reason=reason, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("通知已撤回，相关人员已收到撤回提醒。"))
    return redirect("notices:detail", notice_id=notice.pk)


# --------------------------------------------------------------------------- receipts


def _receipts_context(request: HttpRequest, notice: Notice) -> dict[str, Any]:
    status = request.GET.get("status", "")
    if status not in selectors.PEOPLE_FILTERS:
        status = ""
    unit_id: int | None
    try:
        unit_id = int(request.GET["unit"]) if request.GET.get("unit") else None
    except ValueError:
        unit_id = None
    query = request.GET.get("q", "").strip()[:50]
    people = selectors.receipt_people(notice, status=status, unit_id=unit_id, query=query)
    page = Paginator(people, selectors.PEOPLE_PAGE).get_page(request.GET.get("page"))
    keep = request.GET.copy()
    keep.pop("page", None)
    units = selectors.receipt_units(notice)
    totals = selectors.receipt_totals(notice)
    return {
        "notice": notice,
        "totals": totals,
        # Who a reminder would reach: no receipt yet, or (without a receipt) not read yet.
        "waiting": totals.unanswered if notice.needs_receipt else totals.unread,
        "units": units,
        "status": status,
        "unit_id": unit_id,
        "unit_name": next((row.name for row in units if row.unit_id == unit_id), ""),
        "query": query,
        "page": page,
        "filter_query": keep.urlencode(),
        "next_remind_at": selectors.next_remind_at(notice),
        "now": clock.now(),
    }


@login_required
def receipts(request: AuthedRequest, notice_id: int) -> HttpResponse:
    """The publisher's view of who has read, confirmed or replied, per department, live."""
    notice = _managed(request, notice_id)
    context = _receipts_context(request, notice)
    context["breadcrumbs"] = _crumbs(
        (notice.title, reverse("notices:detail", args=[notice.pk])), (_("回执情况"), None)
    )
    context["signin_open"] = notice.signin_open()
    return render(request, "notices/receipts.html", context)


@login_required
def receipts_live(request: AuthedRequest, notice_id: int) -> HttpResponse:
    """The live part of the receipts page, fetched again on each ``notices.receipt`` event."""
    notice = _managed(request, notice_id)
    return render(request, "notices/_receipts_live.html", _receipts_context(request, notice))


@login_required
@require_POST
def remind(request: AuthedRequest, notice_id: int) -> HttpResponse:
    notice = _managed(request, notice_id)
    try:
        count = services.receipts_remind(actor=request.user, notice=notice, request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if count:
            messages.success(request, _("已提醒 %(count)s 位未回执人员。") % {"count": count})
        else:
            messages.info(request, _("所有人员均已回执，无需提醒。"))
    return redirect("notices:receipts", notice_id=notice.pk)


@login_required
def export(request: AuthedRequest, notice_id: int) -> HttpResponse:
    notice = _managed(request, notice_id)
    result = services.receipts_export(actor=request.user, notice=notice, request=request)
    response = HttpResponse(
        result.content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{result.name}"'
    return response


# --------------------------------------------------------------------------- sign-in


def _qr_svg(text: str) -> str:
    """A QR code as inline SVG, drawn here: nothing leaves the intranet."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    svg: str = image.to_string(encoding="unicode")
    return svg


@login_required
def signin_code(request: AuthedRequest, notice_id: int) -> HttpResponse:
    """The QR code to show on site (a screen or a printout), with the live count."""
    notice = _managed(request, notice_id)
    if not notice.signin_enabled or not notice.signin_token or notice.status != Status.PUBLISHED:
        raise Http404
    url = request.build_absolute_uri(reverse("notices:signin", args=[notice.pk, notice.signin_token]))
    return render(
        request,
        "notices/signin_code.html",
        {
            "notice": notice,
            "qr_svg": _qr_svg(url),
            "signin_url": url,
            "window": notice.signin_window(),
            "totals": selectors.receipt_totals(notice),
            "breadcrumbs": _crumbs(
                (notice.title, reverse("notices:detail", args=[notice.pk])), (_("签到二维码"), None)
            ),
        },
    )


@login_required
def signin_count(request: AuthedRequest, notice_id: int) -> HttpResponse:
    notice = _managed(request, notice_id)
    return render(request, "notices/_signin_count.html", {"totals": selectors.receipt_totals(notice)})


@login_required
@require_http_methods(["GET", "POST"])
def signin(request: AuthedRequest, notice_id: int, token: str) -> HttpResponse:
    """What the QR code opens on the attendee's phone: one button, 签到."""
    notice = _visible(request, notice_id)
    if not notice.signin_enabled or token != notice.signin_token:
        raise Http404
    copy = selectors.my_copy(request.user, notice)
    error = ""
    if request.method == "POST":
        try:
            copy = services.signin(user=request.user, notice=notice, token=token)
        except NotFoundError:
            raise Http404 from None
        except DomainError as exc:
            error = exc.message
    return render(
        request,
        "notices/signin.html",
        {
            "notice": notice,
            "copy": copy,
            "error": error,
            "open": notice.signin_open(),
            "window": notice.signin_window(),
            "breadcrumbs": _crumbs(
                (notice.title, reverse("notices:detail", args=[notice.pk])), (_("现场签到"), None)
            ),
        },
    )


# --------------------------------------------------------------------------- files


@login_required
def attachment(request: AuthedRequest, notice_id: int, key: uuid.UUID) -> FileResponse:
    """An attachment, for whoever may read the notice; the download of a classified one is
    audited."""
    notice = _visible(request, notice_id)
    try:
        item = selectors.attachment_get(notice, key)
        response = files.file_response(item.file)
    except NotFoundError:
        raise Http404 from None
    services.attachment_downloaded(actor=request.user, notice=notice, item=item, request=request)
    return response


@login_required
@require_POST
def image_upload(request: AuthedRequest) -> JsonResponse:
    """The editor's image button: store the picture, answer with its address."""
    if not selectors.can_publish(request.user):
        return JsonResponse({"error": _("您没有发布通知的权限。")}, status=403)
    upload = request.FILES.get("image")
    if upload is None:
        return JsonResponse({"error": _("请选择图片。")}, status=400)
    try:
        stored = files.store_upload(
            actor=request.user, upload=upload, context=services.IMAGE_CONTEXT, images_only=True
        )
    except DomainError as exc:
        return JsonResponse({"error": exc.message}, status=400)
    return JsonResponse({"url": reverse("notices:image", args=[stored.key]), "name": stored.name}, status=201)


@login_required
def image(request: AuthedRequest, key: uuid.UUID) -> FileResponse:
    """An image of a notice's text: for its uploader (writing), and for whoever may read a
    notice that shows it."""
    _require_reader(request)
    try:
        stored = selectors.image_get(request.user, key)
        return files.file_response(stored, inline=True)
    except NotFoundError:
        raise Http404 from None
