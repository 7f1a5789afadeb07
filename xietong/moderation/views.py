"""The moderation pages (内容审核): the lexicon, the test box, the review queue, the report
queue and the violation register. Every page needs ``moderation.manage``, except filing a
report (any signed-in user); each view parses, calls one selector or service, and renders."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xietong.core.errors import DomainError
from xietong.core.permissions import permission_required
from xietong.identity.types import AuthedRequest
from xietong.moderation import highlight, selectors, services
from xietong.moderation.forms import (
    CategoryForm,
    DecisionForm,
    ImportForm,
    ReportDecisionForm,
    ReportFilterForm,
    ReportForm,
    SanctionForm,
    TryForm,
    ViolationForm,
    WordFilterForm,
    WordForm,
)
from xietong.moderation.models import Report, ReviewItem, SensitiveWord

MANAGE = selectors.MANAGE
PAGE_SIZE = 50
REVIEW_PAGE_SIZE = 20
EXCERPT_CONTEXT = 60  # characters shown around each match in the queue
TRY_DISPLAY_MAX = 20_000  # characters of a tested text shown highlighted


def _page(request: HttpRequest, rows: Any, size: int = PAGE_SIZE) -> Any:
    return Paginator(rows, size).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _context(request: AuthedRequest, tab: str, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "tab": tab,
        "pending_count": selectors.pending_count(actor=request.user),
        "report_count": selectors.report_pending_count(actor=request.user),
        "breadcrumbs": [(_("内容审核"), reverse("moderation:words")), (title, None)],
        **extra,
    }


def _back(request: HttpRequest, default: str) -> str:
    """The ``next`` field when it points back into this site, else ``default``."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _form_errors(form: Any, exc: DomainError) -> None:
    """Put a service's refusal on the form: on the field it names, else on the form."""
    placed = False
    for detail in exc.details or []:
        name = detail.get("field") if isinstance(detail, dict) else None
        if name in form.fields:
            form.add_error(name, detail.get("message") or exc.message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


# --------------------------------------------------------------------------- lexicon


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def words(request: AuthedRequest) -> HttpResponse:
    """The lexicon: search and filter, add one word, add a category."""
    word_form = WordForm(request.POST if "add_word" in request.POST else None, prefix="new")
    category_form = CategoryForm(request.POST if "add_category" in request.POST else None, prefix="cat")
    if request.method == "POST":
        try:
            if "add_word" in request.POST and word_form.is_valid():
                data = word_form.cleaned_data
                row = services.word_create(
                    actor=request.user,
                    word=data["word"],
                    category=data["category"],
                    action=data["action"] or None,
                    note=data["note"],
                )
                messages.success(request, _("已添加敏感词“%(word)s”。") % {"word": row.word})
                return redirect(request.get_full_path())
            if "add_category" in request.POST and category_form.is_valid():
                data = category_form.cleaned_data
                category = services.category_create(actor=request.user, **data)
                messages.success(request, _("已新建分类“%(name)s”。") % {"name": category.name})
                return redirect(request.get_full_path())
        except DomainError as exc:
            _form_errors(word_form if "add_word" in request.POST else category_form, exc)
    filter_form = WordFilterForm(request.GET or None)
    rows = selectors.words(actor=request.user, **filter_form.filters())
    return render(
        request,
        "moderation/words.html",
        _context(
            request,
            "words",
            _("敏感词库"),
            filter_form=filter_form,
            word_form=word_form,
            category_form=category_form,
            page=_page(request, rows),
            filter_query=_query_without_page(request),
            filtered=any(v for k, v in request.GET.items() if k != "page"),
            categories=selectors.categories(),
        ),
    )


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def word_edit(request: AuthedRequest, word_id: int) -> HttpResponse:
    row = selectors.word_get(actor=request.user, word_id=word_id)
    initial = {"word": row.word, "category": row.category, "action": row.action, "note": row.note}
    form = WordForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.word_update(
                actor=request.user,
                word=row,
                text=data["word"],
                category=data["category"],
                action=data["action"] or data["category"].default_action,
                note=data["note"],
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("moderation:words")
    return render(
        request, "moderation/word_form.html", _context(request, "words", _("修改敏感词"), form=form, row=row)
    )


@permission_required(MANAGE)
@require_POST
def word_toggle(request: AuthedRequest, word_id: int) -> HttpResponse:
    """Deactivate (kept for the record, no longer matched) or activate again."""
    row = selectors.word_get(actor=request.user, word_id=word_id)
    active = request.POST.get("active") == "1"
    try:
        services.word_update(actor=request.user, word=row, is_active=active)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        done = _("已启用“%(word)s”。") if active else _("已停用“%(word)s”。")
        messages.success(request, done % {"word": row.word})
    return redirect(_back(request, reverse("moderation:words")))


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def words_import(request: AuthedRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text = services.decode_word_file(upload.read())
            result = services.words_import(
                actor=request.user,
                lines=text.splitlines(),
                category=form.cleaned_data["category"],
                action=form.cleaned_data["action"] or None,
                source=upload.name,
            )
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(
                request,
                _("导入完成：新增 %(created)s 个，已存在 %(duplicates)s 个，无效 %(invalid)s 行。")
                % {
                    "created": result.created,
                    "duplicates": len(result.duplicates),
                    "invalid": len(result.invalid),
                },
            )
    return render(
        request,
        "moderation/import.html",
        _context(request, "words", _("批量导入"), form=form, result=result),
    )


def _csv_rows(rows: Iterable[SensitiveWord]) -> Iterable[list[str]]:
    yield [_("敏感词"), _("分类"), _("处理方式"), _("状态"), _("备注"), _("添加人"), _("添加时间")]
    for row in rows:
        yield [
            row.word,
            row.category.name,
            row.get_action_display(),
            _("启用") if row.is_active else _("已停用"),
            row.note,
            (row.created_by.name or row.created_by.username) if row.created_by else "",
            timezone.localtime(row.created_at).strftime("%Y-%m-%d %H:%M"),
        ]


@permission_required(MANAGE)
def words_export(request: AuthedRequest) -> HttpResponse:
    """The filtered lexicon as CSV (UTF-8 with BOM, so that Excel reads the Chinese)."""
    filters = WordFilterForm(request.GET or None).filters()
    rows = list(selectors.words(actor=request.user, **filters))
    services.lexicon_exported(actor=request.user, count=len(rows), filters=filters)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    for line in _csv_rows(rows):
        # A leading = + - @ would make a spreadsheet run the cell as a formula.
        writer.writerow(["'" + cell if cell[:1] in "=+-@" and cell else cell for cell in line])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="sensitive-words-{stamp}.csv"'
    return response


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def try_text(request: AuthedRequest) -> HttpResponse:
    """试一试: paste a text, see what the lexicon in force finds. Records nothing."""
    form = TryForm(request.POST or None)
    verdict = None
    pieces: list[highlight.Segment] = []
    truncated = False
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["text"]
        verdict = services.check(fields={"text": text})
        shown = text[:TRY_DISPLAY_MAX]
        truncated = len(text) > len(shown)
        pieces = highlight.segments(shown, [hit.as_dict() for hit in verdict.hits if hit.end <= len(shown)])
    return render(
        request,
        "moderation/try.html",
        _context(request, "try", _("试一试"), form=form, verdict=verdict, pieces=pieces, truncated=truncated),
    )


# --------------------------------------------------------------------------- review queue


@permission_required(MANAGE)
def reviews(request: AuthedRequest) -> HttpResponse:
    status = request.GET.get("status", ReviewItem.Status.PENDING)
    if status not in ReviewItem.Status.values and status != "all":
        status = ReviewItem.Status.PENDING
    page = _page(
        request,
        selectors.reviews(actor=request.user, status=None if status == "all" else status),
        REVIEW_PAGE_SIZE,
    )
    items = [
        (item, highlight.field_segments(item.fields, item.hits, context=EXCERPT_CONTEXT))
        for item in page.object_list
    ]
    return render(
        request,
        "moderation/reviews.html",
        _context(
            request,
            "reviews",
            _("内容审核"),
            page=page,
            items=items,
            status=status,
            statuses=[*ReviewItem.Status.choices, ("all", _("全部"))],
            filter_query=_query_without_page(request),
        ),
    )


@permission_required(MANAGE)
@require_POST
def review_decide(request: AuthedRequest, item_id: int) -> HttpResponse:
    item = selectors.review_get(actor=request.user, item_id=item_id)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    approve = request.POST.get("decision") == "approve"
    try:
        if approve:
            services.review_approve(actor=request.user, item=item, note=note)
        else:
            services.review_reject(actor=request.user, item=item, note=note)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已审核通过。") if approve else _("已驳回，并记录违规。"))
    return redirect(_back(request, reverse("moderation:reviews")))


# --------------------------------------------------------------------------- reports


@login_required
@require_POST
def report_create(request: AuthedRequest) -> HttpResponse:
    """The report button's form (``moderation/_report_button.html``): file the report and go
    back to the page it was on."""
    back = _back(request, reverse("workbench:home"))
    form = ReportForm(request.POST)
    if not form.is_valid():
        problems = [str(error) for name in ("reason", "note") for error in form.errors.get(name, [])]
        messages.error(request, problems[0] if problems else _("提交的数据有误，请重试。"))
        return redirect(back)
    data = form.cleaned_data
    try:
        target, _handler = selectors.report_target(ref=data["target"])
        services.report_create(actor=request.user, target=target, reason=data["reason"], note=data["note"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已提交举报，管理员会尽快处理"))
    return redirect(back)


@permission_required(MANAGE)
def reports(request: AuthedRequest) -> HttpResponse:
    """举报: reports of content, the oldest pending first, each with its snapshot."""
    filter_form = ReportFilterForm(request.GET or None)
    filters = filter_form.filters()
    page = _page(request, selectors.reports(actor=request.user, **filters), REVIEW_PAGE_SIZE)
    return render(
        request,
        "moderation/reports.html",
        _context(
            request,
            "reports",
            _("举报"),
            page=page,
            status=filters["status"] or "all",
            reason=filters["reason"],
            statuses=[*Report.Status.choices, ("all", _("全部"))],
            filter_form=filter_form,
            decision_form=ReportDecisionForm(),
            filter_query=_query_without_page(request),
        ),
    )


@permission_required(MANAGE)
@require_POST
def report_resolve(request: AuthedRequest, report_id: int) -> HttpResponse:
    report = selectors.report_get(actor=request.user, report_id=report_id)
    form = ReportDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择处理方式。"))
        return redirect(_back(request, reverse("moderation:reports")))
    data = form.cleaned_data
    hide = data["decision"] == "hide"
    try:
        services.report_resolve(
            actor=request.user,
            report=report,
            hide=hide,
            note=data["note"],
            violation=data["violation"],
            severity=data["severity"] or None,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if hide:
            done = _("已屏蔽该内容，举报人将收到处理结果。")
        else:
            done = _("已处理：不予处理，举报人将收到处理结果。")
        if hide and data["violation"]:
            done += _("已为作者登记违规。")
        messages.success(request, done)
    return redirect(_back(request, reverse("moderation:reports")))


# --------------------------------------------------------------------------- violations


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def violations(request: AuthedRequest) -> HttpResponse:
    """The register, one row per person (R-128); find a person to enter a violation by hand."""
    query = request.GET.get("q", "").strip()[:64]
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        person = selectors.violator_by_username(actor=request.user, username=username) if username else None
        if person is None:
            message = _("找不到用户名为“%(username)s”的人员，或不在您的管理范围内。")
            messages.error(request, message % {"username": username})
            return redirect("moderation:violations")
        return redirect("moderation:violator", user_id=person.pk)
    return render(
        request,
        "moderation/violations.html",
        _context(
            request,
            "violations",
            _("违规记录"),
            page=_page(request, selectors.violators(actor=request.user, query=query)),
            q=query,
            window_days=selectors.WINDOW_DAYS,
            report_from=services.REPORT_FROM,
            filter_query=_query_without_page(request),
        ),
    )


@permission_required(MANAGE)
@require_http_methods(["GET", "POST"])
def violator(request: AuthedRequest, user_id: int) -> HttpResponse:
    """One person's history with its sanctions; enter a violation by hand (R-128, R-129)."""
    person = selectors.violator_get(actor=request.user, user_id=user_id)
    form = ViolationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.violation_record(actor=request.user, user=person, **form.cleaned_data)
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已登记违规。"))
            return redirect("moderation:violator", user_id=person.pk)
    history = list(selectors.violation_history(actor=request.user, user_id=person.pk))
    return render(
        request,
        "moderation/violator.html",
        _context(
            request,
            "violations",
            person.name or person.username,
            person=person,
            history=history,
            recent=sum(1 for v in history if v.created_at >= selectors.window_start()),
            window_days=selectors.WINDOW_DAYS,
            form=form,
            sanction_form=SanctionForm(),
        ),
    )


@permission_required(MANAGE)
@require_POST
def sanction_add(request: AuthedRequest, violation_id: int) -> HttpResponse:
    violation = selectors.violation_get(actor=request.user, violation_id=violation_id)
    form = SanctionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择处分类型。"))
    else:
        try:
            sanction = services.sanction_record(actor=request.user, violation=violation, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            done = _("已登记处分“%(kind)s”。") % {"kind": sanction.get_kind_display()}
            if sanction.effect.get("account_disabled"):
                done += _("该账号已停用，登录会话和访问令牌均已失效。")
            messages.success(request, done)
    return redirect("moderation:violator", user_id=violation.user_id)
