"""One's own approval settings: 委托 (out of office: who handles my new items while I am
away) at ``/workflow/delegations/`` and 常用意见 (opinions to pick again) at
``/workflow/phrases/``, plus the colleague search their pickers use.

Thin: ``selectors`` read, ``services.delegation_*`` and ``services.phrase_*`` write.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xietong.core import clock
from xietong.core.errors import DomainError
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.org import selectors as org_selectors
from xietong.workflow import selectors, services
from xietong.workflow.models import Delegation, FlowDefinition, Phrase
from xietong.workflow.views.inbox import require_use

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
PEOPLE_RESULTS = 8


def _crumbs(label: str) -> list[tuple[str, str | None]]:
    return [(_("审批"), reverse("workflow:inbox")), (label, None)]


def _datetime_field(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format=DATETIME_FORMAT
        ),
        error_messages={
            "required": gettext_lazy("请填写时间。"),
            "invalid": gettext_lazy("请输入有效的日期和时间。"),
        },
    )


class DelegationForm(forms.Form):
    """Parses the 委托 form; the rules (not oneself, no overlap, at most a year) are the
    service's."""

    delegate = forms.ModelChoiceField(
        label=gettext_lazy("受托人"),
        queryset=User.objects.filter(is_active=True),
        widget=forms.HiddenInput,
        error_messages={
            "required": gettext_lazy("请选择受托人。"),
            "invalid_choice": gettext_lazy("所选受托人不存在或已停用。"),
        },
    )
    starts_at = _datetime_field(gettext_lazy("开始时间"))
    ends_at = _datetime_field(gettext_lazy("结束时间"))
    flows = forms.ModelMultipleChoiceField(
        label=gettext_lazy("委托的流程"),
        queryset=FlowDefinition.objects.filter(is_active=True).order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 6}),
        help_text=gettext_lazy("不选即委托全部流程。按住 Ctrl（手机上直接点选）可多选。"),
        error_messages={"invalid_choice": gettext_lazy("所选流程不存在。")},
    )
    reason = forms.CharField(
        label=gettext_lazy("事由"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": gettext_lazy("如：出差、休假")}
        ),
        error_messages={"max_length": gettext_lazy("事由不能超过 200 个字。")},
    )
    request_id = forms.CharField(widget=forms.HiddenInput, required=False)


def _delegations_page(request: AuthedRequest, form: DelegationForm, status: int = 200) -> HttpResponse:
    now = clock.now()
    rows = list(selectors.delegations(request.user))
    chosen = form["delegate"].value()
    delegate = User.objects.filter(pk=chosen, is_active=True).first() if str(chosen or "").isdigit() else None
    return render(
        request,
        "workflow/personal_delegations.html",
        {
            "form": form,
            "given": [row for row in rows if row.principal_id == request.user.pk],
            "received": [row for row in rows if row.delegate_id == request.user.pk],
            "now": now,
            "chosen_delegate": delegate,
            "breadcrumbs": _crumbs(_("审批委托")),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def delegations(request: AuthedRequest) -> HttpResponse:
    """委托: mine (given and received) and a form to hand my new items to a colleague."""
    require_use(request)
    if request.method != "POST":
        now = timezone.localtime(clock.now()).replace(second=0, microsecond=0)
        form = DelegationForm(
            initial={
                "request_id": uuid.uuid4().hex,
                "starts_at": now,
                "ends_at": (now + dt.timedelta(days=1)).replace(hour=18, minute=0),
            }
        )
        return _delegations_page(request, form)
    form = DelegationForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.delegation_create(
                actor=request.user,
                request_id=data["request_id"] or uuid.uuid4().hex,
                delegate=data["delegate"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                flows=list(data["flows"]),
                reason=data["reason"],
            )
        except DomainError as refusal:
            form.add_error(None, refusal.message)
        else:
            messages.success(
                request,
                _("已委托 %(name)s 处理您的审批。")
                % {"name": data["delegate"].name or data["delegate"].username},
            )
            return HttpResponseRedirect(reverse("workflow:delegations"))
    return _delegations_page(request, form, status=400)


@login_required
@require_POST
def delegation_end(request: AuthedRequest, pk: int) -> HttpResponse:
    """结束委托 now (mine only; someone else's is not found)."""
    require_use(request)
    delegation = Delegation.objects.filter(pk=pk, principal=request.user).first()
    if delegation is None:
        raise Http404
    try:
        services.delegation_end(actor=request.user, delegation=delegation)
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("委托已结束，新的审批将直接交给您。"))
    return HttpResponseRedirect(reverse("workflow:delegations"))


@login_required
@require_GET
def people_search(request: AuthedRequest) -> JsonResponse:
    """Colleagues by name, pinyin, login name or 工号, within the user's address book."""
    require_use(request)
    query = request.GET.get("q", "").strip()[:50]
    if not query:
        return JsonResponse({"results": []})
    posts = org_selectors.people_search(viewer=request.user, query=query).exclude(user=request.user)
    results = [
        {
            "id": post.user_id,
            "name": post.user.name or post.user.username,
            "unit": post.unit.name,
            "position": post.position.name if post.position else "",
        }
        for post in posts[:PEOPLE_RESULTS]
    ]
    return JsonResponse({"results": results}, json_dumps_params={"ensure_ascii": False})


# --------------------------------------------------------------------------- 常用意见


class PhraseForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("常用意见"),
        max_length=services.PHRASE_MAX,
        widget=forms.TextInput(
            attrs={"class": "form-control", "placeholder": gettext_lazy("如：同意，请按规定办理。")}
        ),
        error_messages={
            "required": gettext_lazy("请填写常用意见。"),
            "max_length": gettext_lazy("常用意见不能超过 200 个字。"),
        },
    )


def _phrases_page(request: AuthedRequest, form: PhraseForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "workflow/personal_phrases.html",
        {
            "form": form,
            "phrases": list(selectors.phrases(request.user)),
            "limit": services.MAX_PHRASES,
            "breadcrumbs": _crumbs(_("常用意见")),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def phrases(request: AuthedRequest) -> HttpResponse:
    """常用意见: my list, in my order, and a box to add one."""
    require_use(request)
    if request.method != "POST":
        return _phrases_page(request, PhraseForm())
    form = PhraseForm(request.POST)
    if form.is_valid():
        try:
            services.phrase_create(actor=request.user, text=form.cleaned_data["text"])
        except DomainError as refusal:
            form.add_error("text", refusal.message)
        else:
            messages.success(request, _("已添加常用意见。"))
            return HttpResponseRedirect(reverse("workflow:phrases"))
    return _phrases_page(request, form, status=400)


def _my_phrase(request: AuthedRequest, pk: int) -> Phrase:
    phrase = selectors.phrases(request.user).filter(pk=pk).first()
    if phrase is None:
        raise Http404
    return phrase


@login_required
@require_POST
def phrase_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    require_use(request)
    services.phrase_delete(actor=request.user, phrase=_my_phrase(request, pk))
    messages.success(request, _("已删除常用意见。"))
    return HttpResponseRedirect(reverse("workflow:phrases"))


@login_required
@require_POST
def phrase_move(request: AuthedRequest, pk: int) -> HttpResponse:
    """上移 / 下移 one phrase by one place."""
    require_use(request)
    phrase = _my_phrase(request, pk)
    ids = list(selectors.phrases(request.user).values_list("pk", flat=True))
    index = ids.index(phrase.pk)
    target = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= target < len(ids):
        ids[index], ids[target] = ids[target], ids[index]
        services.phrase_reorder(actor=request.user, ids=ids)
    return HttpResponseRedirect(reverse("workflow:phrases") + f"#phrase-{phrase.pk}")
