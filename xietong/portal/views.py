"""The portal pages: the home page with the picture carousel and the channel blocks, channel
lists with search, articles with comments and their versions, the editor, 我的文章, 待审核,
and channel management. Thin: parse, call one selector or service, render. An article the
user may not open is a 404, like a missing one (R-11).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import prefetch_related_objects
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from xietong.core import access, classification, clock, worklist
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.core.permissions import permission_required
from xietong.files import selectors as file_selectors
from xietong.files import services as files
from xietong.files.models import StoredFile
from xietong.identity.types import AuthedRequest
from xietong.org.models import OrgUnit
from xietong.portal import forms, selectors, services
from xietong.portal.models import Article, ArticleAudience, ArticleImage, Channel
from xietong.portal.permissions import MANAGE_CHANNELS, READ, REVIEW

logger = logging.getLogger(__name__)
View = Callable[..., HttpResponse]
V = TypeVar("V", bound=Callable[..., HttpResponseBase])
PER_PAGE = 20
HOME_ITEMS = 7
GALLERY_ITEMS = 5
Status = Article.Status


def _found(view: V) -> V:
    """A ``NotFoundError`` is the 404 page, a ``PermissionDeniedError`` the 403 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except NotFoundError:
            raise Http404 from None
        except PermissionDeniedError:
            raise PermissionDenied from None

    return cast(V, wrapper)


def _page(items: Any, request: HttpRequest, size: int = PER_PAGE) -> Page[Any]:
    return Paginator(items, size).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _home_crumb() -> tuple[str, str]:
    return (_("门户资讯"), reverse("portal:home"))


def _portal_context(request: AuthedRequest, **extra: Any) -> dict[str, Any]:
    """The tool bar of every portal page: write, mine, review, manage."""
    user = request.user
    return {
        "can_write": selectors.publishing_channels(user).exists(),
        "can_review": access.can(user, REVIEW),
        "review_count": selectors.review_queue(user).count() if access.can(user, REVIEW) else 0,
        "can_manage": selectors.can_manage(user),
        **extra,
    }


# --------------------------------------------------------------------------- reading


@require_GET
@permission_required(READ)
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    channels = list(selectors.channels(user))
    listed = [channel for channel in channels if channel.kind != Channel.Kind.NOTICES]
    latest = selectors.latest_by_channel(user, [channel.pk for channel in listed], HOME_ITEMS)
    downloads = [a for c in listed if c.kind == Channel.Kind.DOWNLOADS for a in latest.get(c.pk, [])]
    prefetch_related_objects(downloads, "attachment_links__file")
    blocks = [
        (channel, latest.get(channel.pk, [])) for channel in listed if channel.kind != Channel.Kind.GALLERY
    ]
    notices_channel = next((c for c in channels if c.kind == Channel.Kind.NOTICES), None)
    return render(
        request,
        "portal/home.html",
        _portal_context(
            request,
            channels=channels,
            blocks=blocks,
            gallery=selectors.gallery(user, GALLERY_ITEMS),
            gallery_channel=next((c for c in channels if c.kind == Channel.Kind.GALLERY), None),
            notices_channel=notices_channel,
            notices=_notices_feed(user) if notices_channel is not None else None,
            breadcrumbs=[(_("门户资讯"), None)],
        ),
    )


def _notices_feed(user: Any) -> worklist.FeedSection | None:
    """The 通知公告 block shows what the notices module offers the workbench (its unread
    notices), found through the workbench registry rather than by importing that module."""
    for provider in worklist.feed_providers():
        if provider.key.startswith("notices."):
            try:
                sections: list[worklist.FeedSection] = provider.function(user, HOME_ITEMS)
            except Exception:  # one module's failure must not take the portal home down
                logger.exception("portal.home.notices_feed_failed")
                return None
            return sections[0] if sections else None
    return None


@require_GET
@permission_required(READ)
@_found
def channel(request: AuthedRequest, code: str) -> HttpResponse:
    found = selectors.channel_get(request.user, code)
    if found.kind == Channel.Kind.NOTICES:
        return redirect("notices:home")
    query = request.GET.get("q", "").strip()[:100]
    articles = selectors.channel_articles(request.user, found, query=query)
    if found.kind == Channel.Kind.DOWNLOADS:
        articles = selectors.with_attachments(articles)
    page = _page(articles, request, 12 if found.kind == Channel.Kind.GALLERY else PER_PAGE)
    return render(
        request,
        "portal/channel.html",
        _portal_context(
            request,
            channel=found,
            channels=selectors.channels(request.user),
            page=page,
            query=query,
            filter_query=_query_without_page(request),
            is_publisher=selectors.is_publisher(request.user, found),
            breadcrumbs=[_home_crumb(), (found.name, None)],
        ),
    )


@require_GET
@permission_required(READ)
def search(request: AuthedRequest) -> HttpResponse:
    """Search every channel, within what the user may read."""
    query = request.GET.get("q", "").strip()[:100]
    page = None
    if query:
        articles = selectors.search(selectors.visible_articles(request.user), query)
        page = _page(selectors.ordered(articles).select_related("channel", "author_unit"), request)
    return render(
        request,
        "portal/search.html",
        _portal_context(
            request,
            query=query,
            page=page,
            filter_query=_query_without_page(request),
            breadcrumbs=[_home_crumb(), (_("搜索"), None)],
        ),
    )


@require_GET
@login_required
@_found
def article(request: AuthedRequest, article_id: int) -> HttpResponse:
    user = request.user
    found = selectors.article_get(user, article_id)
    can = selectors.abilities(user, found)
    if can.read:
        services.record_read(user=user, article=found)
    regulation = None
    shown: Any = found
    if found.channel.kind == Channel.Kind.REGULATIONS and found.status == Status.PUBLISHED:
        regulation = selectors.regulation_state(found)
        shown = regulation.current or found
    if isinstance(shown, Article):
        links = found.attachment_links.select_related("file").order_by("order", "pk")
        attachments = [
            {"key": link.file.key, "name": link.file.name, "size": link.file.size} for link in links
        ]
    else:
        attachments = list(shown.attachments)
    return render(
        request,
        "portal/article.html",
        _portal_context(
            request,
            article=found,
            shown=shown,
            regulation=regulation,
            can=can,
            attachments=attachments,
            audience=selectors.audience_of(found) if not found.audience_everyone else [],
            comments=selectors.comments(user, found) if found.status == Status.PUBLISHED else [],
            comment_form=forms.CommentForm(),
            return_form=forms.ReturnForm(),
            classification_label=classification.label(found.classification),
            now=clock.now(),
            breadcrumbs=[
                _home_crumb(),
                (found.channel.name, found.channel.get_absolute_url()),
                (found.title, None),
            ],
        ),
    )


@require_GET
@login_required
@_found
def versions(request: AuthedRequest, article_id: int) -> HttpResponse:
    """R-32: every published version with its editor, time and note."""
    found = selectors.article_get(request.user, article_id)
    rows = selectors.versions(found)
    return render(
        request,
        "portal/versions.html",
        _portal_context(
            request,
            article=found,
            versions=rows,
            regulation=selectors.regulation_state(found)
            if found.channel.kind == Channel.Kind.REGULATIONS
            else None,
            breadcrumbs=[
                _home_crumb(),
                (found.channel.name, found.channel.get_absolute_url()),
                (found.title, found.get_absolute_url()),
                (_("版本历史"), None),
            ],
        ),
    )


@require_GET
@login_required
@_found
def version(request: AuthedRequest, article_id: int, number: int) -> HttpResponse:
    found = selectors.article_get(request.user, article_id)
    shown = selectors.version_get(found, number)
    previous = found.versions.filter(number__lt=number).order_by("-number").first()
    changes = None
    if previous is not None:
        from xietong.core.richtext import plain_text

        changes = selectors.diff(
            f"{previous.title}\n{plain_text(previous.body)}", f"{shown.title}\n{plain_text(shown.body)}"
        )
    return render(
        request,
        "portal/version.html",
        _portal_context(
            request,
            article=found,
            version=shown,
            previous=previous,
            changes=changes,
            today=clock.localdate(),
            breadcrumbs=[
                _home_crumb(),
                (found.title, found.get_absolute_url()),
                (_("版本历史"), reverse("portal:versions", args=[found.pk])),
                (_("第 %(number)s 版") % {"number": number}, None),
            ],
        ),
    )


@require_GET
@login_required
@_found
def attachment(request: AuthedRequest, article_id: int, key: uuid.UUID) -> FileResponse:
    """An attachment of the article (now or in one of its versions), for whoever may open it."""
    found = selectors.article_get(request.user, article_id)
    if str(key) not in selectors.attachment_keys(found):
        raise NotFoundError(_("文件不存在或已被删除。"))
    stored = file_selectors.get_by_key(key)
    services.attachment_downloaded(user=request.user, article=found, file=stored)
    return files.file_response(stored)


@require_GET
@login_required
@_found
def cover(request: AuthedRequest, article_id: int) -> FileResponse:
    found = selectors.article_get(request.user, article_id)
    if found.cover is None:
        raise NotFoundError(_("文件不存在或已被删除。"))
    return files.file_response(found.cover, inline=True)


@require_GET
@login_required
@_found
def image(request: AuthedRequest, key: uuid.UUID) -> FileResponse:
    """An image of the editor: for its uploader (writing), and for whoever may open an
    article that shows it."""
    stored = file_selectors.get_by_key(key)
    if stored.context != "portal.image":
        raise NotFoundError(_("文件不存在或已被删除。"))
    if stored.uploaded_by_id != request.user.pk:
        holders = ArticleImage.objects.filter(file=stored).values("article_id")
        if not selectors.accessible_articles(request.user).filter(pk__in=holders).exists():
            raise NotFoundError(_("文件不存在或已被删除。"))
    return files.file_response(stored, inline=True)


@require_POST
@login_required
@_found
def comment(request: AuthedRequest, article_id: int) -> HttpResponse:
    found = selectors.article_get(request.user, article_id)
    form = forms.CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写评论内容（不超过 1000 字）。"))
    else:
        try:
            posted = services.comment_create(
                actor=request.user, article=found, body=form.cleaned_data["body"]
            )
        except NotFoundError:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            if posted.status == posted.Status.HELD:
                messages.info(request, _("评论已提交，内容审核通过后对其他人可见。"))
            else:
                messages.success(request, _("评论已发表。"))
            return redirect(f"{found.get_absolute_url()}#comment-{posted.pk}")
    return redirect(f"{found.get_absolute_url()}#comments")


# --------------------------------------------------------------------------- writing


def _store(
    request: AuthedRequest, upload: Any, *, context: str, level: int, images_only: bool = False
) -> StoredFile:
    return files.store_upload(
        actor=request.user, upload=upload, context=context, classification=level, images_only=images_only
    )


def _input(
    request: AuthedRequest, form: forms.ArticleForm, stored: list[StoredFile]
) -> services.ArticleInput:
    """The service's input from a valid form; uploads are stored here (and listed in
    ``stored`` so that a refusal afterwards can discard them)."""
    data = form.cleaned_data
    level = data["classification"]
    everyone = data["audience"] == forms.EVERYONE
    unit_ids = {*data["companies"], *data["departments"]}
    cover: Any = services.KEEP
    if data["cover"]:
        cover = _store(request, data["cover"], context="portal.cover", level=level, images_only=True)
        stored.append(cover)
    elif data["remove_cover"]:
        cover = None
    new_files = []
    for upload in data["attachments"]:
        new_files.append(_store(request, upload, context="portal.attachment", level=level))
        stored.append(new_files[-1])
    kept: list[StoredFile] = []
    if form.article is not None:
        # The form lists the attachments with a box each: an unticked one is removed.
        kept_ids = set(data["keep_attachments"])
        links = form.article.attachment_links.select_related("file").order_by("order", "pk")
        kept = [link.file for link in links if link.file_id in kept_ids]
    unit = data.get("author_unit")
    return services.ArticleInput(
        title=data["title"],
        summary=data["summary"],
        body=data["body"],
        author_unit=OrgUnit.objects.filter(pk=unit).first() if unit else None,
        classification=level,
        audience_everyone=everyone,
        audience_units=[] if everyone else list(OrgUnit.objects.filter(pk__in=unit_ids)),
        # "This unit without the ones below" is set through the API; the form keeps it as it is.
        audience_units_only=[] if everyone or form.article is None else _units_only(form.article),
        audience_roles=[] if everyone else list(data["roles"]),
        pinned=data["pinned"],
        pinned_until=data["pinned_until"],
        publish_at=data["publish_at"],
        expire_at=data["expire_at"],
        comments_enabled=data["comments_enabled"],
        effective_from=data["effective_from"],
        cover=cover,
        attachments=[*kept, *new_files],
        note=data["note"],
    )


def _units_only(article: Article) -> list[OrgUnit]:
    rows = article.audience.filter(kind=ArticleAudience.Kind.UNIT).select_related("unit")
    return [row.unit for row in rows if row.unit is not None]


def _discard(stored: list[StoredFile]) -> None:
    for file in stored:
        files.discard(file)


@require_http_methods(["GET", "POST"])
@permission_required(READ)
@_found
def editor(request: AuthedRequest, article_id: int | None = None) -> HttpResponse:
    """Write a new article or change one: save as draft, or submit for review."""
    user = request.user
    found = selectors.article_get(user, article_id) if article_id is not None else None
    if found is not None and not selectors.abilities(user, found).edit:
        raise PermissionDeniedError(_("您不能修改这篇文章。"))
    publishing = selectors.publishing_channels(user)
    if found is not None and found.status == Status.PUBLISHED:
        channels: Any = Channel.objects.filter(pk=found.channel_id)
    else:
        channels = publishing
    if found is None and not publishing.exists():
        return render(
            request,
            "portal/not_publisher.html",
            _portal_context(request, breadcrumbs=[_home_crumb(), (_("写文章"), None)]),
            status=403,
        )
    initial: dict[str, Any] = {}
    if found is not None:
        initial = forms.ArticleForm.initial_for(found)
    else:
        chosen = publishing.filter(code=request.GET.get("channel", "")).first() or publishing.first()
        initial = {"channel": chosen, "comments_enabled": chosen.comments_enabled if chosen else True}
    form = forms.ArticleForm(
        request.POST or None,
        request.FILES or None,
        user=user,
        article=found,
        channels=channels,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        stored: list[StoredFile] = []
        submit = request.POST.get("action") == "submit"
        try:
            data = _input(request, form, stored)
            target = form.cleaned_data["channel"]
            if found is None:
                saved = services.article_create(actor=user, channel=target, data=data)
            else:
                saved = services.article_update(actor=user, article=found, data=data, channel=target)
        except DomainError as exc:
            _discard(stored)
            if isinstance(exc, NotFoundError | PermissionDeniedError) and not exc.details:
                form.add_error(None, exc.message)
            else:
                forms.show_error(form, exc)
        else:
            return _after_save(
                request, saved, submit=submit, was_published=found is not None and found.ever_published
            )
    return render(
        request,
        "portal/editor.html",
        _portal_context(
            request,
            form=form,
            article=found,
            channel_kinds_json=json.dumps({str(channel.pk): channel.kind for channel in channels}),
            now=clock.now(),
            breadcrumbs=[
                _home_crumb(),
                *([(found.title, found.get_absolute_url())] if found is not None else []),
                (_("修改文章") if found is not None else _("写文章"), None),
            ],
        ),
    )


def _after_save(request: AuthedRequest, saved: Article, *, submit: bool, was_published: bool) -> HttpResponse:
    if saved.status == Status.HELD:
        messages.warning(request, _("修改包含需审核的词语，已送内容审核，审核通过前文章暂不显示。"))
        return redirect(saved.get_absolute_url())
    if saved.status == Status.PUBLISHED:
        messages.success(request, _("已保存修改，文章已标记为“已修改”，历史版本可在版本历史中查看。"))
        return redirect(saved.get_absolute_url())
    if not submit:
        messages.success(request, _("草稿已保存。"))
        return redirect("portal:edit", article_id=saved.pk)
    try:
        submitted = services.article_submit(actor=request.user, article=saved)
    except DomainError as exc:
        messages.error(request, _("草稿已保存，但未能提交：%(reason)s") % {"reason": exc.message})
        return redirect("portal:edit", article_id=saved.pk)
    messages.success(request, _submitted_message(submitted))
    return redirect(submitted.get_absolute_url())


def _submitted_message(article: Article) -> str:
    if article.status == Status.PUBLISHED:
        if article.publish_at and article.publish_at > clock.now():
            return _("文章已审核通过，将按设定时间发布。")
        return _("文章已发布。")
    if article.status == Status.HELD:
        return _("文章包含需审核的词语，已送内容审核，通过后进入栏目审核。")
    return _("已提交，等待“%(unit)s”审核。") % {
        "unit": article.channel.owner_unit.name if article.channel.owner_unit else _("门户管理员")
    }


def _action(view: Callable[[AuthedRequest, Article], str]) -> View:
    """A POST on one article: run, show the outcome, go back to the article."""

    @wraps(view)
    @require_POST
    @login_required
    @_found
    def wrapper(request: AuthedRequest, article_id: int) -> HttpResponse:
        found = selectors.article_get(request.user, article_id)
        try:
            done = view(request, found)
        except (NotFoundError, PermissionDeniedError):
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(found.get_absolute_url())
        messages.success(request, done)
        target = request.POST.get("next", "")
        if target in (reverse("portal:review"), reverse("portal:mine")):
            return redirect(target)
        if not Article.objects.filter(pk=found.pk).exists():
            return redirect("portal:mine")
        return redirect(found.get_absolute_url())

    return wrapper


@_action
def submit(request: AuthedRequest, found: Article) -> str:
    return _submitted_message(services.article_submit(actor=request.user, article=found))


@_action
def approve(request: AuthedRequest, found: Article) -> str:
    published = services.article_approve(actor=request.user, article=found, note=request.POST.get("note", ""))
    return _submitted_message(published)


@_action
def return_article(request: AuthedRequest, found: Article) -> str:
    services.article_return(actor=request.user, article=found, note=request.POST.get("note", ""))
    return _("已退回作者。")


@_action
def withdraw(request: AuthedRequest, found: Article) -> str:
    row = services.article_withdraw(actor=request.user, article=found, reason=request.POST.get("reason", ""))
    return _("已撤回，可修改后重新提交。") if row.status == Status.DRAFT else _("文章已从门户撤下。")


@_action
def delete(request: AuthedRequest, found: Article) -> str:
    services.article_delete(actor=request.user, article=found)
    return _("草稿已删除。")


@require_POST
@permission_required(READ)
def image_upload(request: AuthedRequest) -> JsonResponse:
    """The editor's image button: store the picture, answer with its address."""
    user = request.user
    if not selectors.publishing_channels(user).exists() and not access.can(user, REVIEW):
        return JsonResponse({"error": _("只有栏目发布人可以上传图片。")}, status=403)
    upload = request.FILES.get("image")
    if upload is None:
        return JsonResponse({"error": _("请选择图片。")}, status=400)
    try:
        stored = files.store_upload(actor=user, upload=upload, context="portal.image", images_only=True)
    except DomainError as exc:
        return JsonResponse({"error": exc.message}, status=400)
    return JsonResponse({"url": reverse("portal:image", args=[stored.key]), "name": stored.name}, status=201)


# --------------------------------------------------------------------------- lists of one's work


MINE_TABS = (
    ("", _("全部")),
    (Status.DRAFT, _("草稿")),
    (Status.SUBMITTED, _("审核中")),
    (Status.PUBLISHED, _("已发布")),
    (Status.RETURNED, _("已退回")),
    (Status.WITHDRAWN, _("已撤回")),
)


@require_GET
@permission_required(READ)
def mine(request: AuthedRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    rows = selectors.my_articles(request.user, status=status)
    if status == Status.SUBMITTED:
        rows = selectors.my_articles(request.user).filter(status__in=[Status.SUBMITTED, Status.HELD])
    return render(
        request,
        "portal/mine.html",
        _portal_context(
            request,
            page=_page(rows, request),
            status=status,
            tabs=MINE_TABS,
            filter_query=_query_without_page(request),
            breadcrumbs=[_home_crumb(), (_("我的文章"), None)],
        ),
    )


@require_GET
@permission_required(REVIEW)
def review(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "portal/review.html",
        _portal_context(
            request,
            page=_page(selectors.review_queue(request.user), request),
            filter_query=_query_without_page(request),
            breadcrumbs=[_home_crumb(), (_("待审核"), None)],
        ),
    )


# --------------------------------------------------------------------------- channels


@require_GET
@permission_required(MANAGE_CHANNELS)
def channel_list(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "portal/channel_list.html",
        _portal_context(
            request,
            rows=selectors.managed_channels(request.user),
            breadcrumbs=[_home_crumb(), (_("栏目管理"), None)],
        ),
    )


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE_CHANNELS)
@_found
def channel_form(request: AuthedRequest, channel_id: int | None = None) -> HttpResponse:
    found = selectors.managed_channel_get(request.user, channel_id) if channel_id is not None else None
    initial = forms.ChannelForm.initial_for(found) if found is not None else None
    form = forms.ChannelForm(request.POST or None, channel=found, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        value = services.ChannelInput(
            name=data["name"],
            code=data.get("code") or "",
            kind=data["kind"],
            description=data["description"],
            icon=data["icon"],
            owner_unit=data["owner_unit"],
            publishers=data["publishers"],
            comments_enabled=data["comments_enabled"],
            on_workbench=data["on_workbench"],
            order=data["order"],
            is_active=data["is_active"],
        )
        try:
            if found is None:
                saved = services.channel_create(actor=request.user, data=value)
            else:
                saved = services.channel_update(actor=request.user, channel=found, data=value)
        except DomainError as exc:
            forms.show_error(form, exc)
        else:
            messages.success(request, _("栏目“%(name)s”已保存。") % {"name": saved.name})
            return redirect("portal:channel_list")
    title = _("修改栏目") if found is not None else _("新建栏目")
    return render(
        request,
        "portal/channel_form.html",
        _portal_context(
            request,
            form=form,
            channel=found,
            title=title,
            breadcrumbs=[_home_crumb(), (_("栏目管理"), reverse("portal:channel_list")), (title, None)],
        ),
    )
