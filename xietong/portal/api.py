"""The portal over the REST API, under ``/api/v1/portal/``.

Reading needs ``portal.read`` (the default role): lists and details answer only with what
the user may see (``selectors.visible_articles``), a hidden article is a 404 like a missing
one. Writing follows the same services as the pages: only a channel's publishers create
articles in it, its reviewers approve or return them.

Files: whoever may change an article (as ``PUT /articles/{id}``) adds or removes its
attachments and replaces or removes its cover, one file per call (multipart ``file``). Each
upload goes through ``files.store_upload`` like the editor's, then the article is saved through
``services.article_update`` with everything else as it is. A refused file or file change is a
422 naming the field (like the notices API), and leaves nothing stored. Whoever may open the
article downloads its files, audited as on the pages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from django.db import transaction
from django.db.models import QuerySet
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from xietong.core import access
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.files import selectors as file_selectors
from xietong.files import services as files
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.identity.types import AuthedRequest
from xietong.org.models import OrgUnit, Role
from xietong.portal import selectors, services
from xietong.portal.models import Article, ArticleAudience, ArticleVersion, Channel, Comment
from xietong.portal.permissions import READ
from xietong.portal.schemas import (
    ArticleIn,
    ArticleOut,
    ArticlePageOut,
    ArticleQuery,
    ChannelOut,
    CommentIn,
    CommentOut,
    NoteIn,
    VersionOut,
    WithdrawIn,
)

router = Router(tags=["portal"])


def _require_reader(request: AuthedRequest) -> None:
    if not access.can(request.user, READ):
        raise PermissionDeniedError(_("您没有浏览门户的权限。"))


def _person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "username": user.username, "name": user.name}


def _ref(obj: OrgUnit | Role | None) -> dict[str, Any] | None:
    return None if obj is None else {"id": obj.pk, "name": obj.name}


def _summary(article: Article) -> dict[str, Any]:
    return {
        "id": article.pk,
        "channel": article.channel.code,
        "title": article.title,
        "summary": article.summary,
        "author_unit": _ref(article.author_unit),
        "classification": article.classification,
        "pinned": bool(getattr(article, "pin", article.pinned_now())),
        "publish_at": article.publish_at,
        "edited_after_publish": article.edited_after_publish,
        "reader_count": article.reader_count,
        "has_cover": article.cover_id is not None,
        "url": article.get_absolute_url(),
    }


def _detail(article: Article) -> dict[str, Any]:
    links = article.attachment_links.select_related("file").order_by("order", "pk")
    return {
        **_summary(article),
        "body": article.body,
        "status": article.status,
        "audience_everyone": article.audience_everyone,
        "audience": [
            {"kind": row.kind, "unit": _ref(row.unit), "role": _ref(row.role)}
            for row in selectors.audience_of(article)
        ],
        "author": _person(article.author),
        "pinned_until": article.pinned_until,
        "expire_at": article.expire_at,
        "published_at": article.published_at,
        "comments_enabled": article.comments_enabled,
        "effective_from": article.effective_from,
        "revision": article.revision,
        "view_count": article.view_count,
        "review_note": article.review_note,
        "reviewed_by": _person(article.reviewed_by),
        "reviewed_at": article.reviewed_at,
        "attachments": [
            {
                "key": str(link.file.key),
                "name": link.file.name,
                "size": link.file.size,
                "url": reverse("portal:attachment", args=[article.pk, link.file.key]),
                "download_url": reverse("api:portal_attachment", args=[article.pk, link.file.key]),
            }
            for link in links
        ],
    }


def _input(body: ArticleIn) -> services.ArticleInput:
    def units(ids: list[int]) -> list[OrgUnit]:
        found = list(OrgUnit.objects.filter(pk__in=ids))
        if len(found) != len(set(ids)):
            raise DomainError(_("可见范围中有不存在的单位。"), details=[{"field": "audience", "message": ""}])
        return found

    roles = list(Role.objects.filter(pk__in=body.audience_role_ids))
    if len(roles) != len(set(body.audience_role_ids)):
        raise DomainError(_("可见范围中有不存在的角色。"))
    return services.ArticleInput(
        title=body.title,
        summary=body.summary,
        body=body.body,
        classification=body.classification,
        audience_everyone=body.audience_everyone,
        audience_units=units(body.audience_unit_ids),
        audience_units_only=units(body.audience_unit_only_ids),
        audience_roles=roles,
        pinned=body.pinned,
        pinned_until=body.pinned_until,
        publish_at=body.publish_at,
        expire_at=body.expire_at,
        comments_enabled=body.comments_enabled,
        effective_from=body.effective_from,
        note=body.note,
    )


def _channel_for_writing(request: AuthedRequest, code: str) -> Channel:
    channel = selectors.publishing_channels(request.user).filter(code=code).first()
    if channel is None:
        found = selectors.channels(request.user).filter(code=code).first()
        if found is None:
            raise DomainError(_("栏目不存在。"), details=[{"field": "channel", "message": _("栏目不存在。")}])
        raise PermissionDeniedError(
            _("您不是“%(channel)s”栏目的发布人，不能在此栏目发布文章。请联系栏目管理部门。")
            % {"channel": found.name}
        )
    return channel


def _get(request: AuthedRequest, article_id: int) -> Article:
    return selectors.article_get(request.user, article_id)


def _slice(rows: QuerySet[Any], offset: int, limit: int) -> tuple[int, list[Any]]:
    return rows.count(), list(rows[offset : offset + limit])


# --------------------------------------------------------------------------- reading


@router.get("/channels", response=list[ChannelOut], summary="栏目")
def list_channels(request: AuthedRequest) -> list[dict[str, Any]]:
    _require_reader(request)
    user = request.user
    publishing = set(selectors.publishing_channels(user).values_list("pk", flat=True))
    reviewing = set(selectors.reviewable_channels(user).values_list("pk", flat=True))
    return [
        {
            "id": channel.pk,
            "code": channel.code,
            "name": channel.name,
            "kind": channel.kind,
            "description": channel.description,
            "icon": channel.icon,
            "owner_unit": _ref(channel.owner_unit),
            "comments_enabled": channel.comments_enabled,
            "on_workbench": channel.on_workbench,
            "can_publish": channel.pk in publishing,
            "can_review": channel.pk in reviewing,
        }
        for channel in selectors.channels(user).select_related("owner_unit")
    ]


@router.get("/articles", response=ArticlePageOut, summary="文章列表（仅本人可见的，置顶在前、最新在前）")
def list_articles(request: AuthedRequest, query: Query[ArticleQuery]) -> dict[str, Any]:
    _require_reader(request)
    articles = selectors.visible_articles(request.user)
    if query.channel:
        articles = articles.filter(channel__code=query.channel)
    if query.q.strip():
        articles = selectors.search(articles, query.q)
    rows = selectors.ordered(articles).select_related("channel", "author_unit")
    count, items = _slice(rows, query.offset, query.limit)
    return {"count": count, "items": [_summary(article) for article in items]}


@router.get("/articles/{article_id}", response=ArticleOut, summary="一篇文章（读者打开即计阅读）")
def get_article(request: AuthedRequest, article_id: int) -> dict[str, Any]:
    article = _get(request, article_id)
    if article.status == Article.Status.PUBLISHED and selectors.is_readable(request.user, article):
        services.record_read(user=request.user, article=article)
    return _detail(article)


@router.get("/articles/{article_id}/versions", response=list[VersionOut], summary="版本历史（R-32）")
def list_versions(request: AuthedRequest, article_id: int) -> list[ArticleVersion]:
    return selectors.versions(_get(request, article_id))


@router.get("/review", response=ArticlePageOut, summary="待我审核的文章")
def review_queue(request: AuthedRequest, query: Query[ArticleQuery]) -> dict[str, Any]:
    rows = selectors.review_queue(request.user)
    if query.channel:
        rows = rows.filter(channel__code=query.channel)
    count, items = _slice(rows, query.offset, query.limit)
    return {"count": count, "items": [_summary(article) for article in items]}


# --------------------------------------------------------------------------- writing


@router.post("/articles", response={201: ArticleOut}, summary="新建草稿（仅栏目发布人）")
def create_article(request: AuthedRequest, body: ArticleIn) -> Status[dict[str, Any]]:
    _require_reader(request)
    channel = _channel_for_writing(request, body.channel)
    article = services.article_create(actor=request.user, channel=channel, data=_input(body))
    return Status(201, _detail(_get(request, article.pk)))


@router.put(
    "/articles/{article_id}",
    response=ArticleOut,
    summary="修改文章（草稿由作者修改；已发布的修改后标注“已修改”）",
)
def update_article(request: AuthedRequest, article_id: int, body: ArticleIn) -> dict[str, Any]:
    article = _get(request, article_id)
    channel = None
    if article.status != Article.Status.PUBLISHED and body.channel != article.channel.code:
        channel = _channel_for_writing(request, body.channel)
    services.article_update(actor=request.user, article=article, data=_input(body), channel=channel)
    return _detail(_get(request, article_id))


@router.post("/articles/{article_id}/submit", response=ArticleOut, summary="提交审核")
def submit_article(request: AuthedRequest, article_id: int) -> dict[str, Any]:
    services.article_submit(actor=request.user, article=_get(request, article_id))
    return _detail(_get(request, article_id))


@router.post("/articles/{article_id}/approve", response=ArticleOut, summary="审核通过并发布")
def approve_article(request: AuthedRequest, article_id: int, body: NoteIn) -> dict[str, Any]:
    services.article_approve(actor=request.user, article=_get(request, article_id), note=body.note)
    return _detail(_get(request, article_id))


@router.post("/articles/{article_id}/return", response=ArticleOut, summary="退回作者（须填写理由）")
def return_article(request: AuthedRequest, article_id: int, body: NoteIn) -> dict[str, Any]:
    services.article_return(actor=request.user, article=_get(request, article_id), note=body.note)
    return _detail(_get(request, article_id))


@router.post(
    "/articles/{article_id}/withdraw", response=ArticleOut, summary="撤回（作者在审核前）或撤下（管理部门）"
)
def withdraw_article(request: AuthedRequest, article_id: int, body: WithdrawIn) -> dict[str, Any]:
    services.article_withdraw(actor=request.user, article=_get(request, article_id), reason=body.reason)
    return _detail(_get(request, article_id))


# --------------------------------------------------------------------------- comments


def _comment(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "author": _person(comment.author),
        "body": comment.body,
        "status": comment.status,
        "created_at": comment.created_at,
    }


@router.get("/articles/{article_id}/comments", response=list[CommentOut], summary="评论")
def list_comments(request: AuthedRequest, article_id: int) -> list[dict[str, Any]]:
    article = _get(request, article_id)
    return [_comment(comment) for comment in selectors.comments(request.user, article)]


@router.post("/articles/{article_id}/comments", response={201: CommentOut}, summary="发表评论")
def create_comment(request: AuthedRequest, article_id: int, body: CommentIn) -> Status[dict[str, Any]]:
    comment = services.comment_create(actor=request.user, article=_get(request, article_id), body=body.body)
    return Status(201, _comment(comment))


# --------------------------------------------------------------------------- files


class FileRefusedError(DomainError):
    """A file refused (type, size, scan, name) or a file change the article's rules refuse
    (how many, a channel's cover): 422 with the reason at its field, like the schema's
    validation errors."""

    status = 422
    code = "validation_error"

    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message, details=[{"field": field, "message": message}])


def _for_editing(request: AuthedRequest, article_id: int) -> Article:
    """The article, if the caller may change it: asked before anything is uploaded."""
    article = _get(request, article_id)
    if not selectors.abilities(request.user, article).edit:
        raise PermissionDeniedError(_("您不能修改这篇文章。"))
    return article


def _store(request: AuthedRequest, article: Article, upload: UploadedFile, *, cover: bool) -> StoredFile:
    try:
        return files.store_upload(
            actor=request.user,
            upload=upload,
            context="portal.cover" if cover else "portal.attachment",
            classification=article.classification,
            images_only=cover,
        )
    except DomainError as exc:
        raise FileRefusedError(exc.message) from None


def _attachments(article: Article) -> list[StoredFile]:
    links = article.attachment_links.select_related("file").order_by("order", "pk")
    return [link.file for link in links]


def _save_files(
    request: AuthedRequest,
    article_id: int,
    *,
    note: str,
    stored: StoredFile | None = None,
    cover: StoredFile | Literal["keep"] | None = services.KEEP,
    attachments: Callable[[list[StoredFile]], list[StoredFile]] | None = None,
) -> None:
    """Save the article with only its files changed (``attachments`` turns its current files
    into the new ones), everything else sent back as it is (``note`` goes into the version
    history of a published article). The article is locked and read again first: what is
    sent back is what it holds at that moment, so two changes made at once both count and
    neither brings back the text the other replaced. ``stored``, the file uploaded for the
    change, is discarded if the change fails."""
    try:
        with transaction.atomic():
            services.article_lock(article_id)
            article = _for_editing(request, article_id)
            services.article_update(
                actor=request.user,
                article=article,
                data=_as_sent(
                    article,
                    note=note,
                    cover=cover,
                    attachments=services.KEEP if attachments is None else attachments(_attachments(article)),
                ),
            )
    except BaseException as exc:
        if stored is not None:
            files.discard(stored)
        if type(exc) is DomainError and exc.details:
            # A field error of the service (too many attachments, say), not a refusal of the
            # caller or of the text.
            raise FileRefusedError(exc.message, exc.details[0]["field"]) from None
        raise


def _as_sent(
    article: Article,
    *,
    note: str,
    cover: StoredFile | Literal["keep"] | None,
    attachments: Sequence[StoredFile] | Literal["keep"],
) -> services.ArticleInput:
    """The article's input as it stands, with these files."""
    rows = selectors.audience_of(article)
    # A pin that has run out is no pin: sent back, its past end would be refused.
    pinned = article.pinned_now()
    return services.ArticleInput(
        title=article.title,
        summary=article.summary,
        body=article.body,
        classification=article.classification,
        audience_everyone=article.audience_everyone,
        audience_units=[r.unit for r in rows if r.kind == ArticleAudience.Kind.UNIT_TREE and r.unit],
        audience_units_only=[r.unit for r in rows if r.kind == ArticleAudience.Kind.UNIT and r.unit],
        audience_roles=[r.role for r in rows if r.kind == ArticleAudience.Kind.ROLE and r.role],
        pinned=pinned,
        pinned_until=article.pinned_until if pinned else None,
        publish_at=article.publish_at,
        expire_at=article.expire_at,
        effective_from=article.effective_from,
        cover=cover,
        attachments=attachments,
        note=note,
    )


def _attachment_of(article: Article, key: str) -> StoredFile:
    """A current attachment of the article by its key; 404 for any other key."""
    wanted = file_selectors.get_by_key(key).key
    found = next((file for file in _attachments(article) if file.key == wanted), None)
    if found is None:
        raise NotFoundError(_("文件不存在或已被删除。"))
    return found


@router.post(
    "/articles/{article_id}/attachments",
    response={201: ArticleOut},
    summary="上传附件（multipart 字段 file；追加在已有附件之后）",
)
def add_attachment(
    request: AuthedRequest, article_id: int, file: File[UploadedFile]
) -> Status[dict[str, Any]]:
    article = _for_editing(request, article_id)
    stored = _store(request, article, file, cover=False)
    _save_files(
        request,
        article_id,
        note=_("添加附件：%(name)s") % {"name": stored.name},
        stored=stored,
        attachments=lambda current: [*current, stored],
    )
    return Status(201, _detail(_get(request, article_id)))


@router.delete(
    "/articles/{article_id}/attachments/{key}",
    response=ArticleOut,
    summary="删除附件（历史版本中的仍可下载）",
)
def delete_attachment(request: AuthedRequest, article_id: int, key: str) -> dict[str, Any]:
    removed = _attachment_of(_for_editing(request, article_id), key)
    _save_files(
        request,
        article_id,
        note=_("删除附件：%(name)s") % {"name": removed.name},
        attachments=lambda current: [file for file in current if file.pk != removed.pk],
    )
    return _detail(_get(request, article_id))


@router.get(
    "/articles/{article_id}/attachments/{key}",
    url_name="portal_attachment",
    summary="下载附件（含历史版本的附件；涉密文章的附件下载记入审计）",
)
def download_attachment(request: AuthedRequest, article_id: int, key: str) -> HttpResponseBase:
    article = _get(request, article_id)
    stored = file_selectors.get_by_key(key)
    if str(stored.key) not in selectors.attachment_keys(article):
        raise NotFoundError(_("文件不存在或已被删除。"))
    services.attachment_downloaded(user=request.user, article=article, file=stored)
    return files.file_response(stored)


@router.post(
    "/articles/{article_id}/cover",
    response=ArticleOut,
    summary="上传封面（multipart 字段 file；PNG、JPEG、GIF 或 WebP 图片，替换原封面）",
)
def upload_cover(request: AuthedRequest, article_id: int, file: File[UploadedFile]) -> dict[str, Any]:
    article = _for_editing(request, article_id)
    stored = _store(request, article, file, cover=True)
    _save_files(request, article_id, note=_("更换封面"), stored=stored, cover=stored)
    return _detail(_get(request, article_id))


@router.delete("/articles/{article_id}/cover", response=ArticleOut, summary="删除封面")
def delete_cover(request: AuthedRequest, article_id: int) -> dict[str, Any]:
    article = _for_editing(request, article_id)
    if article.cover_id is None:
        raise NotFoundError(_("文件不存在或已被删除。"))
    _save_files(request, article_id, note=_("删除封面"), cover=None)
    return _detail(_get(request, article_id))


@router.get("/articles/{article_id}/cover", summary="封面图片")
def download_cover(request: AuthedRequest, article_id: int) -> HttpResponseBase:
    article = _get(request, article_id)
    if article.cover is None:
        raise NotFoundError(_("文件不存在或已被删除。"))
    return files.file_response(article.cover, inline=True)
