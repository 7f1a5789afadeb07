"""发文 pages: 公文首页, the list, the draft form, the document page with the actions the viewer
may take, the version history with a word-level diff (痕迹), the process record, and the
PDF/DOCX downloads (audited for classified documents).

Thin: ``selectors_outgoing`` read, ``outgoing`` writes.
"""

from __future__ import annotations

import datetime as dt
import difflib
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from xietong.core import access, classification, clock, richtext
from xietong.core.errors import DomainError, NotFoundError
from xietong.documents import outgoing, rules, selectors_outgoing
from xietong.documents.models import (
    Direction,
    DocType,
    DocumentEvent,
    IssuingOrgan,
    LayoutKind,
    OutgoingDocument,
    OutgoingState,
    TextVersion,
    Urgency,
)
from xietong.documents.permissions import USE
from xietong.documents.views import crumbs
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.org.models import OrgUnit

PAGE_SIZE = 20


def _require_use(request: AuthedRequest) -> User:
    if not access.can(request.user, USE):
        raise PermissionDenied
    return request.user


def _get(user: User, pk: int) -> OutgoingDocument:
    try:
        return selectors_outgoing.get(user, pk)
    except NotFoundError:
        raise Http404 from None


def _rid(request: AuthedRequest) -> str:
    return (request.POST.get("request_id") or f"page-{uuid.uuid4().hex}")[:64]


# --------------------------------------------------------------------------- home and list


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    user = _require_use(request)
    try:
        from xietong.documents.templatetags import documents_incoming  # noqa: F401

        incoming_ready = True
    except ImportError:
        incoming_ready = False
    return render(
        request,
        "documents/home.html",
        {
            "office": selectors_outgoing.clerk_todo(user).select_related("organ")[:20],
            "returned": selectors_outgoing.returned_drafts(user).select_related("organ")[:20],
            "drafts": selectors_outgoing.drafts(user).select_related("organ")[:20],
            "incoming_ready": incoming_ready,
        },
    )


@login_required
def outgoing_list(request: AuthedRequest) -> HttpResponse:
    user = _require_use(request)
    params = request.GET
    try:
        organ = int(params.get("organ") or 0) or None
        year = int(params.get("year") or 0) or None
    except ValueError:
        organ = year = None
    filters = selectors_outgoing.Filters(
        state=params.get("state", "") if params.get("state", "") in OutgoingState.values else "",
        doc_type=params.get("doc_type", "") if params.get("doc_type", "") in DocType.values else "",
        organ=organ,
        year=year,
        q=params.get("q", "").strip(),
        box=params.get("box", "") if params.get("box", "") in ("mine", "todo") else "",
    )
    page = Paginator(selectors_outgoing.search(user, filters), PAGE_SIZE).get_page(params.get("page"))
    return render(
        request,
        "documents/outgoing_list.html",
        {
            "breadcrumbs": crumbs((_("发文"), None)),
            "page": page,
            "filters": filters,
            "states": OutgoingState.choices,
            "doc_types": DocType.choices,
            "organs": IssuingOrgan.objects.filter(is_active=True),
        },
    )


# --------------------------------------------------------------------------- the draft form


class DraftForm(forms.Form):
    organ = forms.ModelChoiceField(queryset=IssuingOrgan.objects.none(), label=gettext_lazy("发文机关"))
    doc_type = forms.ChoiceField(choices=DocType.choices, label=gettext_lazy("文种"))
    direction = forms.ChoiceField(choices=Direction.choices, label=gettext_lazy("行文方向"), required=False)
    layout_kind = forms.ChoiceField(choices=LayoutKind.choices, label=gettext_lazy("版式"), required=False)
    title = forms.CharField(max_length=200, label=gettext_lazy("标题"))
    main_recipients = forms.CharField(max_length=500, required=False, label=gettext_lazy("主送机关"))
    main_units = forms.ModelMultipleChoiceField(
        queryset=OrgUnit.objects.all(), required=False, label=gettext_lazy("主送单位")
    )
    cc_recipients = forms.CharField(max_length=500, required=False, label=gettext_lazy("抄送机关"))
    cc_units = forms.ModelMultipleChoiceField(
        queryset=OrgUnit.objects.all(), required=False, label=gettext_lazy("抄送单位")
    )
    classification = forms.TypedChoiceField(coerce=int, choices=(), label=gettext_lazy("密级"))
    secret_term = forms.CharField(max_length=16, required=False, label=gettext_lazy("保密期限"))
    urgency = forms.ChoiceField(choices=Urgency.choices, required=False, label=gettext_lazy("紧急程度"))
    body = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 12}), label=gettext_lazy("正文")
    )
    body_docx = forms.FileField(required=False, label=gettext_lazy("或上传正文（DOCX）"))
    note = forms.CharField(max_length=200, required=False, label=gettext_lazy("附注"))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attachment_errors: list[str] = []
        organ_field: Any = self.fields["organ"]
        organ_field.queryset = IssuingOrgan.objects.filter(is_active=True)
        organ_field.label_from_instance = lambda organ: f"{organ.name}（{organ.code}）"
        level_field: Any = self.fields["classification"]
        for bound in self.fields.values():
            widget = bound.widget
            css = "form-select" if isinstance(widget, forms.Select | forms.SelectMultiple) else "form-control"
            widget.attrs.setdefault("class", css)
        level_field.choices = [
            (level, label) for level, label in classification.choices() if classification.allows(user, level)
        ]


def _attachments_in(
    request: AuthedRequest, document: OutgoingDocument | None
) -> list[outgoing.AttachmentIn] | None:
    """Attachments from the form: ``attachment_id`` / ``attachment_title`` rows in order
    (the kept ones), then ``new_attachment`` files with ``new_attachment_title``."""
    ids = request.POST.getlist("attachment_id")
    titles = request.POST.getlist("attachment_title")
    uploads = request.FILES.getlist("new_attachment")
    new_titles = request.POST.getlist("new_attachment_title")
    if document is None and not uploads:
        return None
    items: list[outgoing.AttachmentIn] = []
    for pk, title in zip(ids, titles, strict=False):
        if pk.isdigit():
            items.append(outgoing.AttachmentIn(title=title, id=int(pk)))
    for number, upload in enumerate(uploads):
        given = new_titles[number].strip() if number < len(new_titles) else ""
        name = given or (upload.name or "").rsplit(".", 1)[0]
        items.append(outgoing.AttachmentIn(title=name, upload=upload))
    return items


def _draft_in(form: DraftForm, request: AuthedRequest, document: OutgoingDocument | None) -> outgoing.DraftIn:
    data = form.cleaned_data
    return outgoing.DraftIn(
        organ_id=data["organ"].pk,
        doc_type=data["doc_type"],
        direction=data.get("direction") or "",
        layout_kind=data.get("layout_kind") or None,
        title=data["title"],
        classification=data["classification"],
        secret_term=data.get("secret_term") or "",
        urgency=data.get("urgency") or "",
        main_recipients=data.get("main_recipients") or "",
        main_unit_ids=[unit.pk for unit in data.get("main_units") or ()],
        cc_recipients=data.get("cc_recipients") or "",
        cc_unit_ids=[unit.pk for unit in data.get("cc_units") or ()],
        body=None if data.get("body_docx") else data.get("body") or "",
        body_docx=data.get("body_docx"),
        note=data.get("note") or "",
        attachments=_attachments_in(request, document),
        lock_version=int(request.POST["lock_version"])
        if request.POST.get("lock_version", "").isdigit()
        else None,
    )


def _field_errors(form: DraftForm, error: DomainError) -> None:
    if isinstance(error, rules.FieldErrors):
        for key, messages_of in error.errors.items():
            if key == "attachments":
                # Not a form field: shown beside the attachment list.
                form.attachment_errors.extend(messages_of)
                continue
            target = key if key in form.fields else None
            for message in messages_of:
                form.add_error(target, message)
    else:
        form.add_error(None, error.message)


def _form_page(
    request: AuthedRequest,
    form: DraftForm,
    document: OutgoingDocument | None,
    *,
    recheck: bool = False,
) -> HttpResponse:
    names = {code: names[0] for code, names in rules.TYPE_NAMES.items()}
    directions = {code: str(value) for code, value in rules.DEFAULT_DIRECTION.items()}
    if recheck and document is not None:
        crumb = (_("修改后复核"), None)
        trail = crumbs(
            (_("发文"), reverse("documents:outgoing_list")),
            (document.title, reverse("documents:outgoing_detail", args=[document.pk])),
            crumb,
        )
    else:
        trail = crumbs(
            (_("发文"), reverse("documents:outgoing_list")),
            (_("修改公文") if document else _("起草公文"), None),
        )
    return render(
        request,
        "documents/outgoing_form.html",
        {
            "breadcrumbs": trail,
            "form": form,
            "document": document,
            "attachments": list(document.attachments.order_by("seq")) if document else [],
            "type_names": names,
            "directions": directions,
            "recheck": recheck,
            "signer_names": "、".join(
                entry.get("name", "") for entry in document.signers if entry.get("name")
            )
            if recheck and document is not None
            else "",
            "substantive_fields": sorted(outgoing.SUBSTANTIVE),
            # Sent back with the form: a second click of the same form is applied once.
            "request_id": (request.POST.get("request_id") or f"page-{uuid.uuid4().hex}")[:64],
        },
        status=400 if form.errors or form.attachment_errors else 200,
    )


@login_required
def outgoing_new(request: AuthedRequest) -> HttpResponse:
    user = _require_use(request)
    if request.method == "POST":
        form = DraftForm(request.POST, request.FILES, user=user)
        if form.is_valid():
            try:
                document = outgoing.draft_create(
                    actor=user, data=_draft_in(form, request, None), request_id=_rid(request)
                )
            except DomainError as error:
                _field_errors(form, error)
            else:
                messages.success(request, _("草稿已保存。"))
                return HttpResponseRedirect(reverse("documents:outgoing_detail", args=[document.pk]))
    else:
        organ = IssuingOrgan.objects.filter(is_active=True).first()
        form = DraftForm(
            user=user,
            initial={
                "organ": organ,
                "doc_type": DocType.TONGZHI,
                "direction": Direction.DOWN,
                "classification": 0,
            },
        )
    return _form_page(request, form, None)


def _initial(document: OutgoingDocument) -> dict[str, Any]:
    return {
        "organ": document.organ,
        "doc_type": document.doc_type,
        "direction": document.direction,
        "layout_kind": document.layout_kind,
        "title": document.title,
        "main_recipients": document.main_recipients,
        "main_units": list(document.main_units.all()),
        "cc_recipients": document.cc_recipients,
        "cc_units": list(document.cc_units.all()),
        "classification": document.classification,
        "secret_term": document.secret_term,
        "urgency": document.urgency,
        "body": document.body,
        "note": document.note,
    }


@login_required
def outgoing_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    user = _require_use(request)
    document = _get(user, pk)
    if document.drafter_id != user.pk or document.state != OutgoingState.DRAFT:
        raise PermissionDenied
    if request.method == "POST":
        form = DraftForm(request.POST, request.FILES, user=user)
        if form.is_valid():
            try:
                outgoing.draft_update(
                    actor=user,
                    document=document,
                    data=_draft_in(form, request, document),
                    request_id=_rid(request),
                )
            except DomainError as error:
                _field_errors(form, error)
            else:
                messages.success(request, _("草稿已保存。"))
                return HttpResponseRedirect(reverse("documents:outgoing_detail", args=[document.pk]))
    else:
        form = DraftForm(user=user, initial=_initial(document))
    return _form_page(request, form, document)


# --------------------------------------------------------------------------- 复核 with corrections


class RecheckForm(DraftForm):
    """The draft form for the clerk at 复核, with the 修改说明 a correction needs."""

    reason = forms.CharField(
        max_length=200,
        required=False,
        label=gettext_lazy("修改说明"),
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("说明改了什么、为什么改")}),
    )


def _same_body(posted: str, current: str) -> bool:
    """The posted 正文 says what is stored (line endings and blank space aside)."""
    if richtext.sanitize(posted.replace("\x00", "")) == current:
        return True

    def lines(markup: str) -> list[str]:
        return [line.strip() for line in richtext.plain_text(markup).splitlines() if line.strip()]

    return lines(posted) == lines(current)


def _corrections(
    form: RecheckForm, request: AuthedRequest, document: OutgoingDocument
) -> outgoing.DraftIn | None:
    """Only what the clerk changed: a field sent back as it was must not count as a change
    (a re-posted 正文 would otherwise send the document to 复审 for nothing)."""
    data = form.cleaned_data
    full = _draft_in(form, request, document)
    changes = outgoing.DraftIn(lock_version=full.lock_version)
    found = False
    plain = {
        "doc_type": document.doc_type,
        "direction": document.direction,
        "layout_kind": document.layout_kind,
        "title": document.title,
        "classification": document.classification,
        "secret_term": document.secret_term,
        "urgency": document.urgency,
        "main_recipients": document.main_recipients,
        "cc_recipients": document.cc_recipients,
        "note": document.note,
    }
    for key, current in plain.items():
        value = getattr(full, key)
        if key in ("direction", "layout_kind") and not value:
            continue  # left empty: keep the document's
        if value != current:
            setattr(changes, key, value)
            found = True
    if full.organ_id != document.organ_id:
        changes.organ_id = full.organ_id
        found = True
    for key, field_name in (("main_unit_ids", "main_units"), ("cc_unit_ids", "cc_units")):
        wanted = getattr(full, key) or []
        if sorted(wanted) != sorted(getattr(document, field_name).values_list("pk", flat=True)):
            setattr(changes, key, wanted)
            found = True
    if data.get("body_docx"):
        changes.body_docx = full.body_docx
        found = True
    elif not _same_body(full.body or "", document.body):
        changes.body = full.body
        found = True
    current_attachments = [(a.pk, a.title) for a in document.attachments.order_by("seq")]
    wanted_attachments = full.attachments or []
    if (
        any(item.upload is not None for item in wanted_attachments)
        or [(item.id, item.title.strip()) for item in wanted_attachments] != current_attachments
    ):
        changes.attachments = wanted_attachments
        found = True
    return changes if found else None


@login_required
def outgoing_recheck_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    """复核 with corrections (条例 第二十五条(一)): the organ's clerk corrects the signed document;
    a change of substance goes back to the signer for 复审, anything else is 已复核 at once."""
    user = _require_use(request)
    document = _get(user, pk)
    if not outgoing.is_clerk_of(user, document):
        raise PermissionDenied
    if document.state != OutgoingState.SIGNED:
        given = request.POST.get("request_id", "") if request.method == "POST" else ""
        if given and DocumentEvent.objects.filter(outgoing=document, detail__request_id=given[:64]).exists():
            # The same form sent again after it was applied: show the outcome.
            return HttpResponseRedirect(reverse("documents:outgoing_detail", args=[document.pk]))
        raise PermissionDenied
    if request.method == "POST":
        form = RecheckForm(request.POST, request.FILES, user=user)
        if form.is_valid():
            changes = _corrections(form, request, document)
            reason = form.cleaned_data.get("reason") or ""
            if changes is not None and not reason:
                form.add_error("reason", _("修改了公文内容，请填写修改说明。"))
            else:
                try:
                    document = outgoing.recheck(
                        actor=user, document=document, data=changes, reason=reason, request_id=_rid(request)
                    )
                except DomainError as error:
                    _field_errors(form, error)
                else:
                    if document.state == OutgoingState.RESIGNING:
                        messages.success(request, _("已修改，公文已送原签发人复审。"))
                    else:
                        messages.success(request, _("复核完成。"))
                    return HttpResponseRedirect(reverse("documents:outgoing_detail", args=[document.pk]))
    else:
        form = RecheckForm(user=user, initial=_initial(document))
    return _form_page(request, form, document, recheck=True)


# --------------------------------------------------------------------------- the document page


def word_diff(before: str, after: str) -> SafeString:
    """A word-level (character-level for Chinese) diff: deletions struck, insertions marked."""
    old = richtext.plain_text(before)
    new = richtext.plain_text(after)
    parts: list[str] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(escape(old[a1:a2]))
            continue
        if op in ("delete", "replace"):
            parts.append(f"<del>{escape(old[a1:a2])}</del>")
        if op in ("insert", "replace"):
            parts.append(f"<ins>{escape(new[b1:b2])}</ins>")
    return mark_safe("".join(parts).replace("\n", "<br>"))  # noqa: S308 - every part is escaped


def _versions(document: OutgoingDocument) -> list[dict[str, Any]]:
    rows: list[TextVersion] = selectors_outgoing.versions(document)
    result = []
    previous: TextVersion | None = None
    for version in rows:
        result.append(
            {
                "version": version,
                "diff": word_diff(previous.body, version.body) if previous is not None else None,
                "title_diff": word_diff(previous.title, version.title)
                if previous is not None and previous.title != version.title
                else None,
            }
        )
        previous = version
    return list(reversed(result))


def _actions(user: User, document: OutgoingDocument) -> dict[str, bool]:
    drafter = document.drafter_id == user.pk
    clerk = outgoing.is_clerk_of(user, document)
    state = document.state
    return {
        "edit": drafter and state == OutgoingState.DRAFT,
        "submit": drafter and state == OutgoingState.DRAFT,
        "cancel": drafter and state == OutgoingState.DRAFT,
        "recheck": clerk and state == OutgoingState.SIGNED,
        "register": clerk and state == OutgoingState.CHECKED,
        "void_number": clerk and state in (OutgoingState.REGISTERED, OutgoingState.SEALED),
        "seal": clerk and state == OutgoingState.REGISTERED,
        "distribute": clerk and state == OutgoingState.SEALED,
        "revoke": clerk and state == OutgoingState.DISTRIBUTED,
        "abolish": clerk and state == OutgoingState.DISTRIBUTED,
    }


@login_required
def outgoing_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    user = _require_use(request)
    document = _get(user, pk)
    outgoing.viewed(actor=user, document=document, request=request)
    actions = _actions(user, document)
    return render(
        request,
        "documents/outgoing_detail.html",
        {
            "breadcrumbs": crumbs((_("发文"), reverse("documents:outgoing_list")), (document.title, None)),
            "document": document,
            "actions": actions,
            "any_action": any(actions.values()),
            "attachments": list(document.attachments.select_related("file").order_by("seq")),
            "attachment_note": rules.attachment_note([a.title for a in document.attachments.order_by("seq")]),
            "main_units": list(document.main_units.all()),
            "cc_units": list(document.cc_units.all()),
            "secret_mark": rules.secret_mark(document.classification, document.secret_term),
            "date_written": rules.format_date(document.date_written),
            "upward": rules.is_upward(document.doc_type, document.direction),
            "versions": _versions(document),
            "events": selectors_outgoing.events(document),
            "distributions": list(document.distributions.select_related("unit").order_by("pk")),
            "units": OrgUnit.objects.order_by("path") if actions["distribute"] else [],
            "people": User.objects.filter(is_active=True).order_by("name")[:500] if actions["submit"] else [],
            "today": clock.localdate(),
            "default_copies": max(1, document.main_units.count() + document.cc_units.count()),
        },
    )


def pdf_response(request: Any, user: User, document: OutgoingDocument, *, inline: bool) -> HttpResponseBase:
    """The 正本 PDF (stored at 登记) or, before that, a preview; audited when classified."""
    from xietong.files import services as file_services

    outgoing.downloaded(actor=user, document=document, what="pdf", request=request)
    if document.pdf is not None and not inline:
        return file_services.file_response(document.pdf)
    try:
        content = _read(document.pdf) if document.pdf is not None else outgoing.render_preview_pdf(document)
    except DomainError as error:
        return HttpResponse(error.message, status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(content, content_type="application/pdf")
    name = file_services.content_disposition(f"{document.doc_no or document.title}.pdf", inline=inline)
    response["Content-Disposition"] = name.replace("attachment", "inline") if inline else name
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = (
        "private, no-store" if classification.is_classified(document.classification) else "private"
    )
    return response


def _read(stored: Any) -> bytes:
    from django.core.files.storage import default_storage

    with default_storage.open(stored.blob, "rb") as handle:
        data: bytes = handle.read()
    return data


@login_required
def outgoing_pdf(request: AuthedRequest, pk: int) -> HttpResponseBase:
    user = _require_use(request)
    document = _get(user, pk)
    return pdf_response(request, user, document, inline=request.GET.get("inline") == "1")


@login_required
def outgoing_docx(request: AuthedRequest, pk: int) -> HttpResponse:
    from xietong.files import services as file_services

    user = _require_use(request)
    document = _get(user, pk)
    try:
        content = outgoing.render_docx(document)
    except DomainError as error:
        return HttpResponse(error.message, status=503, content_type="text/plain; charset=utf-8")
    outgoing.downloaded(actor=user, document=document, what="docx", request=request)
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    response["Content-Disposition"] = file_services.content_disposition(
        f"{document.doc_no or document.title}.docx", inline=False
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = (
        "private, no-store" if classification.is_classified(document.classification) else "private"
    )
    return response


# --------------------------------------------------------------------------- actions


def _act(request: AuthedRequest, pk: int, call: Any, done: str) -> HttpResponse:
    user = _require_use(request)
    document = _get(user, pk)
    try:
        call(user, document)
    except rules.FieldErrors as error:
        for messages_of in error.errors.values():
            for message in messages_of:
                messages.error(request, message)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return HttpResponseRedirect(reverse("documents:outgoing_detail", args=[pk]))


def _ids(request: AuthedRequest, key: str) -> list[int]:
    return [int(value) for value in request.POST.getlist(key) if value.isdigit()]


@login_required
@require_POST
def outgoing_submit(request: AuthedRequest, pk: int) -> HttpResponse:
    signer = request.POST.get("signer", "")
    return _act(
        request,
        pk,
        lambda user, document: outgoing.submit(
            actor=user,
            document=document,
            signer=int(signer) if signer.isdigit() else None,
            countersigners=_ids(request, "countersigners"),
            request_id=_rid(request),
        ),
        _("已送审。"),
    )


@login_required
@require_POST
def outgoing_recheck(request: AuthedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda user, document: outgoing.recheck(
            actor=user, document=document, reason=request.POST.get("reason", ""), request_id=_rid(request)
        ),
        _("复核完成。"),
    )


@login_required
@require_POST
def outgoing_register(request: AuthedRequest, pk: int) -> HttpResponse:
    copies = request.POST.get("copies", "")
    return _act(
        request,
        pk,
        lambda user, document: outgoing.register(
            actor=user,
            document=document,
            copies=int(copies) if copies.isdigit() else 0,
            request_id=_rid(request),
        ),
        _("已登记编号。"),
    )


@login_required
@require_POST
def outgoing_void_number(request: AuthedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda user, document: outgoing.void_number(
            actor=user, document=document, reason=request.POST.get("reason", ""), request_id=_rid(request)
        ),
        _("文号已作废，请重新登记。"),
    )


@login_required
@require_POST
def outgoing_seal(request: AuthedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda user, document: outgoing.seal(actor=user, document=document, request_id=_rid(request)),
        _("已用印。"),
    )


@login_required
@require_POST
def outgoing_distribute(request: AuthedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda user, document: outgoing.distribute(
            actor=user,
            document=document,
            main_unit_ids=_ids(request, "main_units"),
            cc_unit_ids=_ids(request, "cc_units"),
            request_id=_rid(request),
        ),
        _("已分发。"),
    )


@login_required
@require_POST
def outgoing_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda user, document: outgoing.cancel(
            actor=user, document=document, reason=request.POST.get("reason", ""), request_id=_rid(request)
        ),
        _("草稿已作废。"),
    )


@login_required
@require_POST
def outgoing_revoke(request: AuthedRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda user, document: outgoing.revoke(
            actor=user, document=document, reason=request.POST.get("reason", ""), request_id=_rid(request)
        ),
        _("公文已撤销。"),
    )


@login_required
@require_POST
def outgoing_abolish(request: AuthedRequest, pk: int) -> HttpResponse:
    def call(user: User, document: OutgoingDocument) -> Any:
        try:
            day = dt.date.fromisoformat(request.POST.get("on", "")) if request.POST.get("on") else None
        except ValueError:
            raise rules.FieldErrors({"on": [_("废止日期无效。")]}) from None
        return outgoing.abolish(
            actor=user,
            document=document,
            reason=request.POST.get("reason", ""),
            on=day,
            request_id=_rid(request),
        )

    return _act(request, pk, call, _("公文已废止。"))
