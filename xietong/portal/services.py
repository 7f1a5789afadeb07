"""Every change of the portal: channels, articles through their review, comments, readers.

An article's life::

    draft ──submit──▶ submitted ──approve──▶ published ──withdraw (manager)──▶ withdrawn
      ▲   (held ◀─ a 送审 word: the moderation queue decides, then submitted)      │
      │                  └──return──▶ returned ──edit, submit again──┘◀────────────┘
      └──withdraw (author, before review)

Only a channel's publishers write in it (R-90). Its owner department reviews (``portal.review``
over that department); a publisher who may review the channel publishes directly, recorded as
self-approved. Every publication and every edit after it keeps a version (R-32); an edit after
publication is marked 已修改 and the channel's reviewers are told. Every text is screened
(R-27) before anything is stored; a classified article names its audience (R-34).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from xietong.audit.models import Event
from xietong.audit.services import record
from xietong.core import classification, clock, events, richtext
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.moderation import services as moderation
from xietong.notify.services import notify
from xietong.org.models import OrgUnit, Role
from xietong.org.selectors import primary_membership
from xietong.portal import audit_actions as actions
from xietong.portal import selectors
from xietong.portal.models import (
    Article,
    ArticleAttachment,
    ArticleAudience,
    ArticleImage,
    ArticleRead,
    ArticleVersion,
    Channel,
    Comment,
)

Status = Article.Status

TITLE_MAX = 200
SUMMARY_MAX = 300
BODY_MAX = 200_000
COMMENT_MAX = 1000
NOTE_MAX = 500
ATTACHMENTS_MAX = 20

CONTEXT_ARTICLE = "portal.article"
CONTEXT_COMMENT = "portal.comment"
KIND_SUBMITTED = "portal.submitted"
KIND_RETURNED = "portal.returned"
KIND_PUBLISHED = "portal.published"
KIND_EDITED = "portal.edited"
KIND_COMMENT = "portal.comment"

#: An image of the editor inside a body: ``/portal/images/<key>/``.
IMAGE_LINK = re.compile(r"/portal/images/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/")
KEEP: Literal["keep"] = "keep"


def _invalid(field_name: str, message: str) -> DomainError:
    return DomainError(message, details=[{"field": field_name, "message": message}])


# --------------------------------------------------------------------------- channels


#: The channels of a new installation (R-90), as the data migration 0002 creates them:
#: (code, name, kind, icon, on the workbench, description).
DEFAULT_CHANNELS = (
    ("tzgg", "通知公告", Channel.Kind.NOTICES, "megaphone", False, "公司及各部门发布的通知、公告"),
    ("xwdt", "新闻动态", Channel.Kind.ARTICLES, "newspaper", True, "集团及各单位的工作动态"),
    ("qywh", "企业文化", Channel.Kind.ARTICLES, "stars", False, "企业精神、先进典型与文化活动"),
    ("cyl", "创一流", Channel.Kind.ARTICLES, "trophy", False, "创建世界一流企业的举措与成果"),
    ("djgz", "党建工作", Channel.Kind.ARTICLES, "flag", True, "党建动态、主题教育与组织生活"),
    ("gzzd", "规章制度", Channel.Kind.REGULATIONS, "journal-bookmark", False, "现行有效的公司规章制度"),
    ("xxyd", "学习园地", Channel.Kind.ARTICLES, "book", False, "业务知识、政策解读与学习资料"),
    ("zcfg", "政策法规", Channel.Kind.ARTICLES, "bank", False, "国家及行业政策法规"),
    ("jjjc", "纪检监察", Channel.Kind.ARTICLES, "shield-check", False, "廉洁从业教育与纪检监察工作"),
    ("gsyb", "公司月报", Channel.Kind.ARTICLES, "calendar3", False, "公司每月生产经营情况"),
    ("tpxw", "图片新闻", Channel.Kind.GALLERY, "images", False, "图说集团"),
    ("aqjc", "安全监察", Channel.Kind.ARTICLES, "cone-striped", True, "安全生产监督检查与警示教育"),
    ("cyxz", "常用下载", Channel.Kind.DOWNLOADS, "download", False, "常用表格、模板与软件"),
)


def ensure_default_channels() -> dict[str, Channel]:
    """Create the default channels that are missing (after a test flush); returns all by code."""
    for order, (code, name, kind, icon, on_workbench, description) in enumerate(DEFAULT_CHANNELS, start=1):
        Channel.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "icon": icon,
                "on_workbench": on_workbench,
                "description": description,
                "order": order * 10,
            },
        )
    return {channel.code: channel for channel in Channel.objects.all()}


@dataclass
class ChannelInput:
    name: str
    kind: str = Channel.Kind.ARTICLES
    code: str = ""
    description: str = ""
    icon: str = "newspaper"
    owner_unit: OrgUnit | None = None
    publishers: Sequence[User] = ()
    comments_enabled: bool = True
    on_workbench: bool = False
    order: int = 100
    is_active: bool = True


_CODE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_ICON = re.compile(r"^[a-z0-9-]{1,32}$")


def _require_manager(actor: User, action: str, target: Any = None) -> None:
    if not selectors.can_manage(actor):
        message = _("只有门户管理员可以管理栏目。")
        record(
            actor=actor, action=action, target=target, result=Event.Result.DENIED, details={"reason": message}
        )
        raise PermissionDeniedError(message)


def _clean_channel(data: ChannelInput, *, channel: Channel | None) -> ChannelInput:
    name = " ".join(data.name.split())
    if not name or len(name) > 32:
        raise _invalid("name", _("请填写栏目名称（不超过 32 个字符）。"))
    others = Channel.objects.exclude(pk=channel.pk) if channel is not None else Channel.objects.all()
    if others.filter(name=name).exists():
        raise _invalid("name", _("栏目“%(name)s”已存在。") % {"name": name})
    if data.kind not in Channel.Kind.values:
        raise _invalid("kind", _("栏目类型无效。"))
    code = data.code.strip().lower() if channel is None else channel.code
    if channel is None:
        code = code or slugify(name) or ""
        if not _CODE.match(code):
            raise _invalid("code", _("编码须以小写字母开头，只含小写字母、数字和连字符，不超过 32 个字符。"))
        if Channel.objects.filter(code=code).exists():
            raise _invalid("code", _("编码“%(code)s”已被使用。") % {"code": code})
    icon = data.icon.strip() or "newspaper"
    if not _ICON.match(icon):
        raise _invalid("icon", _("图标名称无效。"))
    refused = [user for user in data.publishers if not user.is_active or not selectors.can_read(user)]
    if refused:
        names = "、".join(user.name or user.username for user in refused)
        raise _invalid(
            "publishers",
            _("%(names)s 不能作为发布人（账号已停用，或没有浏览门户的权限）。") % {"names": names},
        )
    if not 0 <= data.order <= 10_000:
        raise _invalid("order", _("排序须在 0 到 10000 之间。"))
    return ChannelInput(
        name=name,
        kind=data.kind,
        code=code,
        description=" ".join(data.description.split())[:200],
        icon=icon,
        owner_unit=data.owner_unit,
        publishers=list(data.publishers),
        comments_enabled=data.comments_enabled,
        on_workbench=data.on_workbench,
        order=data.order,
        is_active=data.is_active,
    )


def _channel_state(channel: Channel) -> dict[str, Any]:
    return {
        "name": channel.name,
        "kind": channel.kind,
        "description": channel.description,
        "icon": channel.icon,
        "owner_unit": channel.owner_unit_id,
        "publishers": sorted(channel.publishers.values_list("pk", flat=True)),
        "comments_enabled": channel.comments_enabled,
        "on_workbench": channel.on_workbench,
        "order": channel.order,
        "is_active": channel.is_active,
    }


def channel_create(*, actor: User, data: ChannelInput) -> Channel:
    _require_manager(actor, actions.CHANNEL_CREATED)
    clean = _clean_channel(data, channel=None)
    with transaction.atomic():
        now = clock.now()
        try:
            with transaction.atomic():
                channel = Channel.objects.create(
                    code=clean.code,
                    name=clean.name,
                    kind=clean.kind,
                    description=clean.description,
                    icon=clean.icon,
                    owner_unit=clean.owner_unit,
                    comments_enabled=clean.comments_enabled,
                    on_workbench=clean.on_workbench,
                    order=clean.order,
                    is_active=clean.is_active,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:  # the same name or code, created at the same moment
            raise _invalid("name", _("栏目名称或编码已存在。")) from None
        channel.publishers.set(clean.publishers)
        record(actor=actor, action=actions.CHANNEL_CREATED, target=channel, details=_channel_state(channel))
    return channel


def channel_update(*, actor: User, channel: Channel, data: ChannelInput) -> Channel:
    _require_manager(actor, actions.CHANNEL_UPDATED, channel)
    clean = _clean_channel(data, channel=channel)
    with transaction.atomic():
        row = Channel.objects.select_for_update().get(pk=channel.pk)
        before = _channel_state(row)
        row.name, row.kind, row.description, row.icon = clean.name, clean.kind, clean.description, clean.icon
        row.owner_unit = clean.owner_unit
        row.comments_enabled, row.on_workbench = clean.comments_enabled, clean.on_workbench
        row.order, row.is_active = clean.order, clean.is_active
        row.updated_at = clock.now()
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            raise _invalid("name", _("栏目名称已存在。")) from None
        row.publishers.set(clean.publishers)
        after = _channel_state(row)
        changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
        if changes:
            record(actor=actor, action=actions.CHANNEL_UPDATED, target=row, details={"changes": changes})
    return row


# --------------------------------------------------------------------------- article input


@dataclass
class ArticleInput:
    """What an author fills in. ``cover`` and ``attachments`` are stored files (uploaded
    through ``xietong.files.services.store_upload``): ``KEEP`` leaves them as they are."""

    title: str
    body: str = ""
    summary: str = ""
    author_unit: OrgUnit | None = None
    classification: int = classification.PUBLIC
    audience_everyone: bool = True
    #: Units with everything below them (a company, a department).
    audience_units: Sequence[OrgUnit] = ()
    #: Units without the units below them.
    audience_units_only: Sequence[OrgUnit] = ()
    audience_roles: Sequence[Role] = ()
    pinned: bool = False
    pinned_until: dt.datetime | None = None
    publish_at: dt.datetime | None = None
    expire_at: dt.datetime | None = None
    comments_enabled: bool | None = None
    effective_from: dt.date | None = None
    cover: StoredFile | Literal["keep"] | None = KEEP
    attachments: Sequence[StoredFile] | Literal["keep"] = KEEP
    #: 修改说明: why a published article was changed (kept with its version).
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Clean:
    title: str
    summary: str
    body: str
    body_text: str
    note: str


def _clean_text(data: ArticleInput) -> _Clean:
    title = " ".join(data.title.replace("\x00", "").split())
    if not title:
        raise _invalid("title", _("请填写标题。"))
    if len(title) > TITLE_MAX:
        raise _invalid("title", _("标题不能超过 %(max)s 个字符。") % {"max": TITLE_MAX})
    summary = " ".join(data.summary.replace("\x00", "").split())
    if len(summary) > SUMMARY_MAX:
        raise _invalid("summary", _("摘要不能超过 %(max)s 个字符。") % {"max": SUMMARY_MAX})
    if len(data.body) > BODY_MAX:
        raise _invalid("body", _("正文过长（不超过 %(max)s 个字符）。") % {"max": BODY_MAX})
    body = richtext.sanitize(data.body.replace("\x00", ""))
    if richtext.is_blank(body):
        body = ""
    return _Clean(title, summary, body, richtext.plain_text(body), " ".join(data.note.split())[:200])


def _clean_settings(actor: User, channel: Channel, data: ArticleInput) -> None:
    """The checks of one article's settings that need no database row of it."""
    if data.classification not in classification.levels():
        raise _invalid("classification", _("密级无效。"))
    if not classification.allows(actor, data.classification):
        raise _invalid("classification", _("文章密级不能高于您本人的密级。"))
    limited = bool(data.audience_units or data.audience_units_only or data.audience_roles)
    if classification.is_classified(data.classification):
        # classified content is never for everyone, and names who may see it.
        if data.audience_everyone:
            raise _invalid("audience", _("涉密文章不能对全员公开，请指定可见范围。"))
        if not limited:
            raise _invalid("audience", _("涉密文章须指定可见的单位、部门或角色。"))
    if not data.audience_everyone and not limited:
        raise _invalid("audience", _("请选择可见范围：全员，或指定的单位、部门、角色。"))
    if any(role.is_default for role in data.audience_roles) and classification.is_classified(
        data.classification
    ):
        raise _invalid("audience", _("涉密文章不能发给所有人都拥有的默认角色。"))
    if data.expire_at is not None:
        start = data.publish_at or clock.now()
        if data.expire_at <= start:
            raise _invalid("expire_at", _("下线时间须晚于发布时间。"))
    if data.pinned_until is not None and data.pinned_until <= clock.now():
        raise _invalid("pinned_until", _("置顶截止时间须晚于现在。"))
    if not isinstance(data.attachments, str) and len(data.attachments) > ATTACHMENTS_MAX:
        raise _invalid("attachments", _("附件不能超过 %(max)s 个。") % {"max": ATTACHMENTS_MAX})
    if isinstance(data.cover, StoredFile) and not data.cover.is_image:
        raise _invalid("cover", _("封面须是图片。"))
    if data.author_unit is not None and not actor.memberships.filter(unit=data.author_unit).exists():
        raise _invalid("author_unit", _("作者部门须是您任职的部门。"))


def _screen(actor: User, clean: _Clean, *, context: str = CONTEXT_ARTICLE) -> moderation.Verdict:
    """R-27, before any write: a blocking word raises ``ContentBlockedError``."""
    return moderation.screen(
        actor=actor,
        fields={"title": clean.title, "summary": clean.summary, "body": clean.body_text},
        context=context,
    )


def _held_fields(article: Article) -> dict[str, str]:
    return {"title": article.title, "summary": article.summary, "body": article.body_text}


def _apply(article: Article, clean: _Clean, data: ArticleInput) -> None:
    """Copy the clean input onto the row (not saved)."""
    article.title, article.summary, article.body, article.body_text = (
        clean.title,
        clean.summary,
        clean.body,
        clean.body_text,
    )
    article.classification = data.classification
    article.audience_everyone = data.audience_everyone
    article.pinned = data.pinned
    article.pinned_until = data.pinned_until if data.pinned else None
    article.publish_at = data.publish_at
    article.expire_at = data.expire_at
    if data.comments_enabled is not None:
        article.comments_enabled = data.comments_enabled
    article.effective_from = data.effective_from
    if data.author_unit is not None:
        article.author_unit = data.author_unit
    if not isinstance(data.cover, str):
        article.cover = data.cover


def _save_relations(article: Article, data: ArticleInput) -> None:
    """Audience, attachments and editor images of a saved article."""
    article.audience.all().delete()
    if not data.audience_everyone:
        rows = [
            ArticleAudience(article=article, kind=ArticleAudience.Kind.UNIT_TREE, unit=u)
            for u in data.audience_units
        ]
        rows += [
            ArticleAudience(article=article, kind=ArticleAudience.Kind.UNIT, unit=u)
            for u in data.audience_units_only
        ]
        rows += [
            ArticleAudience(article=article, kind=ArticleAudience.Kind.ROLE, role=r)
            for r in data.audience_roles
        ]
        ArticleAudience.objects.bulk_create(rows)
    if not isinstance(data.attachments, str):
        files = list(dict.fromkeys(data.attachments))
        ArticleAttachment.objects.filter(article=article).delete()
        ArticleAttachment.objects.bulk_create(
            [ArticleAttachment(article=article, file=file, order=index) for index, file in enumerate(files)]
        )
    keys = set(IMAGE_LINK.findall(article.body))
    if keys:
        # Never removed: an older version may still show the image.
        images = StoredFile.objects.filter(key__in=keys, context="portal.image").values_list("pk", flat=True)
        ArticleImage.objects.bulk_create(
            [ArticleImage(article=article, file_id=pk) for pk in images], ignore_conflicts=True
        )


def _channel_content_check(article: Article) -> None:
    """What a channel needs before an article is submitted."""
    kind = article.channel.kind
    if kind == Channel.Kind.GALLERY and article.cover_id is None:
        raise _invalid("cover", _("图片新闻须上传封面图片。"))
    if kind == Channel.Kind.DOWNLOADS:
        if not article.attachment_links.exists():
            raise _invalid("attachments", _("常用下载须上传至少一个附件。"))
    elif kind != Channel.Kind.GALLERY and not article.body:
        raise _invalid("body", _("请填写正文。"))
    if kind == Channel.Kind.REGULATIONS and article.effective_from is None:
        raise _invalid("effective_from", _("规章制度须填写生效日期。"))


# --------------------------------------------------------------------------- writing


def _require_publisher(actor: User, channel: Channel) -> None:
    if not channel.is_active or channel.kind == Channel.Kind.NOTICES:
        raise DomainError(_("该栏目不接受投稿。"))
    if not selectors.is_publisher(actor, channel):
        raise PermissionDeniedError(
            _("您不是“%(channel)s”栏目的发布人，不能在此栏目发布文章。请联系栏目管理部门。")
            % {"channel": channel.name}
        )


def _default_unit(actor: User) -> OrgUnit | None:
    membership = primary_membership(actor)
    return membership.unit if membership is not None else None


def article_create(*, actor: User, channel: Channel, data: ArticleInput) -> Article:
    """A new draft in ``channel`` (R-90: only its publishers)."""
    _require_publisher(actor, channel)
    clean = _clean_text(data)
    _clean_settings(actor, channel, data)
    _screen(actor, clean)
    with transaction.atomic():
        now = clock.now()
        article = Article(
            channel=channel,
            author=actor,
            author_unit=_default_unit(actor),
            comments_enabled=channel.comments_enabled,
            created_at=now,
            updated_at=now,
        )
        _apply(article, clean, data)
        article.save()
        _save_relations(article, data)
        record(
            actor=actor,
            action=actions.ARTICLE_CREATED,
            target=article,
            details={"channel": channel.code, "classification": article.classification},
        )
    return article


def article_lock(article_id: int) -> None:
    """Hold the article's row until the caller's transaction ends, before reading what a
    change is worked out from (the API's changes of one file at a time)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("article_lock needs a transaction")
    list(Article.objects.select_for_update().filter(pk=article_id).values_list("pk"))


def article_update(
    *, actor: User, article: Article, data: ArticleInput, channel: Channel | None = None
) -> Article:
    """Change an article. A draft (or a returned or withdrawn article) is its author's to
    change; a published one changes at once, keeps a version and is marked 已修改 (R-32)."""
    if article.status == Status.PUBLISHED:
        return _edit_published(actor=actor, article=article, data=data)
    if article.author_id != actor.pk:
        raise PermissionDeniedError(_("只有作者本人可以修改未发布的文章。"))
    if article.status in (Status.SUBMITTED, Status.HELD):
        raise DomainError(_("文章正在审核中，请先撤回再修改。"))
    target = channel or article.channel
    _require_publisher(actor, target)
    clean = _clean_text(data)
    _clean_settings(actor, target, data)
    _screen(actor, clean)
    with transaction.atomic():
        row = Article.objects.select_for_update().get(pk=article.pk)
        if row.status not in (Status.DRAFT, Status.RETURNED, Status.WITHDRAWN):
            raise DomainError(_("文章状态已变化，请刷新后重试。"))
        row.channel = target
        _apply(row, clean, data)
        row.updated_at = clock.now()
        row.save()
        _save_relations(row, data)
    return row


def _edit_published(*, actor: User, article: Article, data: ArticleInput) -> Article:
    if not selectors.can_edit_published(actor, article):
        raise PermissionDeniedError(_("您不能修改这篇已发布的文章。"))
    clean = _clean_text(data)
    _clean_settings(actor, article.channel, data)
    verdict = _screen(actor, clean)
    with transaction.atomic():
        row = Article.objects.select_for_update().select_related("channel").get(pk=article.pk)
        if row.status != Status.PUBLISHED:
            raise DomainError(_("文章状态已变化，请刷新后重试。"))
        now = clock.now()
        live_since = row.publish_at
        _apply(row, clean, data)
        if live_since is not None and live_since <= now:
            row.publish_at = live_since  # already out: its publication time is history
        elif row.publish_at is None or row.publish_at < now:
            row.publish_at = now
        row.updated_at = now
        if verdict.held:
            # Off the portal until the content reviewers have looked at the change.
            row.status = Status.HELD
            row.save()
            _save_relations(row, data)
            moderation.hold_for_review(
                actor=actor, target=row, fields=_held_fields(row), verdict=verdict, context=CONTEXT_ARTICLE
            )
            record(actor=actor, action=actions.ARTICLE_HELD, target=row, details={"words": verdict.words})
            return row
        row.edited_after_publish = True
        row.revision += 1
        row.save()
        _save_relations(row, data)
        # Live at once, without a submission's check: it keeps what its channel needs (a
        # picture news its cover, a download its last file).
        _channel_content_check(row)
        version = _snapshot(row, editor=actor, approved_by=None, note=clean.note)
        record(
            actor=actor,
            action=actions.ARTICLE_EDITED,
            target=row,
            details={"version": version.number, "note": clean.note},
        )
        _tell_reviewers_of_edit(row, actor)
    return row


def _snapshot(article: Article, *, editor: User, approved_by: User | None, note: str) -> ArticleVersion:
    files = ArticleAttachment.objects.filter(article=article).select_related("file").order_by("order", "pk")
    return ArticleVersion.objects.create(
        article=article,
        number=article.revision,
        title=article.title,
        summary=article.summary,
        body=article.body,
        attachments=[
            {"key": str(link.file.key), "name": link.file.name, "size": link.file.size} for link in files
        ],
        classification=article.classification,
        editor=editor,
        approved_by=approved_by,
        note=note,
        effective_from=article.effective_from if article.channel.kind == Channel.Kind.REGULATIONS else None,
        created_at=clock.now(),
    )


def article_delete(*, actor: User, article: Article) -> None:
    """An author deletes a draft that was never published (a published one keeps its history)."""
    if article.author_id != actor.pk:
        raise PermissionDeniedError(_("只有作者本人可以删除草稿。"))
    with transaction.atomic():
        row = Article.objects.select_for_update().get(pk=article.pk)
        if row.ever_published or row.status not in (Status.DRAFT, Status.RETURNED, Status.WITHDRAWN):
            raise DomainError(_("只能删除未发布过的草稿。"))
        record(actor=actor, action=actions.ARTICLE_DELETED, target=row, details={"title": row.title})
        row.delete()


# --------------------------------------------------------------------------- review


def article_submit(*, actor: User, article: Article) -> Article:
    """The author sends an article for review; a publisher who may review the channel
    publishes at once (self-approved)."""
    if article.author_id != actor.pk:
        raise PermissionDeniedError(_("只有作者本人可以提交文章。"))
    if article.status not in (Status.DRAFT, Status.RETURNED, Status.WITHDRAWN):
        raise DomainError(_("文章已提交，无需重复提交。"))
    _require_publisher(actor, article.channel)
    _channel_content_check(article)
    clean = _Clean(article.title, article.summary, article.body, article.body_text, "")
    verdict = _screen(actor, clean)
    self_review = selectors.can_review(actor, article.channel)
    with transaction.atomic():
        row = Article.objects.select_for_update().select_related("channel").get(pk=article.pk)
        if row.status not in (Status.DRAFT, Status.RETURNED, Status.WITHDRAWN):
            raise DomainError(_("文章已提交，无需重复提交。"))
        now = clock.now()
        row.submitted_at, row.updated_at = now, now
        row.review_note = ""
        if verdict.held:
            row.status = Status.HELD
            row.save()
            moderation.hold_for_review(
                actor=actor, target=row, fields=_held_fields(row), verdict=verdict, context=CONTEXT_ARTICLE
            )
            record(actor=actor, action=actions.ARTICLE_HELD, target=row, details={"words": verdict.words})
            return row
        if self_review:
            row.status = Status.SUBMITTED
            return _publish(row, reviewer=actor, note="", self_approved=True)
        row.status = Status.SUBMITTED
        row.save()
        record(
            actor=actor, action=actions.ARTICLE_SUBMITTED, target=row, details={"channel": row.channel.code}
        )
        _tell_reviewers_of_submission(row)
    return row


def _require_reviewer(actor: User, article: Article, action: str) -> None:
    if not selectors.can_review(actor, article.channel) or not classification.allows(
        actor, article.classification
    ):
        message = _("您不是“%(channel)s”栏目的审核人。") % {"channel": article.channel.name}
        record(
            actor=actor,
            action=action,
            target=article,
            result=Event.Result.DENIED,
            details={"reason": message},
        )
        raise PermissionDeniedError(message)


def article_approve(*, actor: User, article: Article, note: str = "") -> Article:
    """A reviewer of the channel publishes a submitted article (at its publication time)."""
    _require_reviewer(actor, article, actions.ARTICLE_PUBLISHED)
    with transaction.atomic():
        row = Article.objects.select_for_update().select_related("channel").get(pk=article.pk)
        if row.status != Status.SUBMITTED:
            raise DomainError(
                _("只能审核待审核的文章（当前：%(status)s）。") % {"status": row.get_status_display()}
            )
        return _publish(row, reviewer=actor, note=" ".join(note.split())[:NOTE_MAX], self_approved=False)


def _publish(row: Article, *, reviewer: User, note: str, self_approved: bool) -> Article:
    """Publish ``row`` (locked, submitted) now or at its publication time, keeping a version."""
    now = clock.now()
    if row.publish_at is None or row.publish_at < now:
        row.publish_at = now
    republished = row.ever_published
    row.status = Status.PUBLISHED
    row.published_at = row.published_at or now
    row.reviewed_by, row.reviewed_at, row.review_note = reviewer, now, note
    row.edited_after_publish = row.edited_after_publish or republished
    row.revision += 1
    row.updated_at = now
    row.save()
    version = _snapshot(
        row, editor=row.author, approved_by=reviewer, note=note or (_("重新发布") if republished else "")
    )
    record(
        actor=reviewer,
        action=actions.ARTICLE_PUBLISHED,
        target=row,
        details={
            "channel": row.channel.code,
            "version": version.number,
            "self_approved": self_approved,
            "publish_at": row.publish_at.isoformat(),
            "classification": row.classification,
        },
    )
    if not self_approved:
        _refresh_reviewers(row)
    if reviewer.pk != row.author_id:
        scheduled = row.publish_at > now
        title = (
            _("您的文章已审核通过，将于 %(time)s 发布：%(title)s")
            % {"time": timezone.localtime(row.publish_at).strftime("%Y-%m-%d %H:%M"), "title": row.title}
            if scheduled
            else _("您的文章已发布：%(title)s") % {"title": row.title}
        )
        notify(
            recipients=[f"user:{row.author_id}"],
            kind=KIND_PUBLISHED,
            title=title,
            body=note,
            link=row.get_absolute_url(),
            actor=reviewer,
            source=row,
        )
    return row


def article_return(*, actor: User, article: Article, note: str) -> Article:
    """A reviewer sends a submitted article back to its author with the reason."""
    _require_reviewer(actor, article, actions.ARTICLE_RETURNED)
    note = " ".join(note.split())[:NOTE_MAX]
    if not note:
        raise _invalid("note", _("请填写退回理由。"))
    with transaction.atomic():
        row = Article.objects.select_for_update().select_related("channel").get(pk=article.pk)
        if row.status != Status.SUBMITTED:
            raise DomainError(
                _("只能退回待审核的文章（当前：%(status)s）。") % {"status": row.get_status_display()}
            )
        _return(row, reviewer=actor, note=note)
    return row


def _return(row: Article, *, reviewer: User, note: str) -> None:
    now = clock.now()
    row.status = Status.RETURNED
    row.reviewed_by, row.reviewed_at, row.review_note, row.updated_at = reviewer, now, note, now
    row.save()
    record(actor=reviewer, action=actions.ARTICLE_RETURNED, target=row, details={"note": note})
    _refresh_reviewers(row)
    notify(
        recipients=[f"user:{row.author_id}"],
        kind=KIND_RETURNED,
        title=_("您的文章被退回：%(title)s") % {"title": row.title},
        body=_("退回理由：%(note)s") % {"note": note},
        link=row.get_absolute_url(),
        actor=reviewer,
        source=row,
    )


def article_withdraw(*, actor: User, article: Article, reason: str = "") -> Article:
    """撤回: the author takes back a submission before review (it becomes a draft again); a
    channel manager or reviewer takes a published article off the portal."""
    reason = " ".join(reason.split())[:NOTE_MAX]
    with transaction.atomic():
        row = Article.objects.select_for_update().select_related("channel").get(pk=article.pk)
        before = row.status
        if row.status in (Status.SUBMITTED, Status.HELD) and row.author_id == actor.pk:
            row.status = Status.DRAFT
            if before == Status.HELD:
                moderation.review_withdraw(actor=actor, target=row)
        elif row.status == Status.PUBLISHED and (
            selectors.can_manage(actor) or selectors.can_review(actor, row.channel)
        ):
            if not classification.allows(actor, row.classification):
                raise NotFoundError(_("文章不存在或无权查看。"))
            row.status = Status.WITHDRAWN
        else:
            record(
                actor=actor,
                action=actions.ARTICLE_WITHDRAWN,
                target=row,
                result=Event.Result.DENIED,
                details={"status": before},
            )
            raise PermissionDeniedError(
                _("作者可在审核前撤回；已发布的文章只能由栏目管理部门或门户管理员撤回。")
            )
        row.updated_at = clock.now()
        if row.status == Status.WITHDRAWN:
            row.review_note = reason
        row.save()
        record(
            actor=actor,
            action=actions.ARTICLE_WITHDRAWN,
            target=row,
            details={"from": before, "reason": reason},
        )
        if row.status == Status.WITHDRAWN and actor.pk != row.author_id:
            notify(
                recipients=[f"user:{row.author_id}"],
                kind=KIND_RETURNED,
                title=_("您的文章已被撤下：%(title)s") % {"title": row.title},
                body=_("原因：%(reason)s") % {"reason": reason} if reason else "",
                link=row.get_absolute_url(),
                actor=actor,
                source=row,
            )
    return row


def _refresh_reviewers(article: Article) -> None:
    """Once one reviewer has decided, the others' 待审核 lists change: their open workbenches
    refresh on this event (see ``core.worklist``)."""
    events.push_to_users(
        (user.pk, "portal.reviewed", {"article": article.pk})
        for user in selectors.reviewers_of(article.channel)
    )


def _tell_reviewers_of_submission(article: Article) -> None:
    reviewers = [user.pk for user in selectors.reviewers_of(article.channel) if user.pk != article.author_id]
    if not reviewers:
        return
    notify(
        recipients=[f"user:{pk}" for pk in reviewers],
        kind=KIND_SUBMITTED,
        title=_("“%(channel)s”有文章待审核：%(title)s")
        % {"channel": article.channel.name, "title": article.title},
        body=_("作者：%(author)s") % {"author": article.author.name or article.author.username},
        link=article.get_absolute_url(),
        actor=article.author,
        source=article,
    )


def _tell_reviewers_of_edit(article: Article, editor: User) -> None:
    """An edit after publication goes live at once; the channel's reviewers are told so
    that they can look at what changed (the versions page shows it)."""
    reviewers = [user.pk for user in selectors.reviewers_of(article.channel) if user.pk != editor.pk]
    if not reviewers:
        return
    notify(
        recipients=[f"user:{pk}" for pk in reviewers],
        kind=KIND_EDITED,
        title=_("已发布的文章被修改：%(title)s") % {"title": article.title},
        body=_("修改人：%(name)s，第 %(number)s 版")
        % {"name": editor.name or editor.username, "number": article.revision},
        link=f"{article.get_absolute_url()}versions/",
        actor=editor,
        source=article,
    )


# Content held by the sensitive-word lexicon: what the moderators' decision does.


def on_held_article_approved(article: Any, reviewer: Any) -> None:
    """The moderators passed the words: on to the channel's review."""
    row = Article.objects.select_for_update().select_related("channel", "author").get(pk=article.pk)
    if row.status != Status.HELD:
        return
    row.status, row.updated_at = Status.SUBMITTED, clock.now()
    row.save(update_fields=["status", "updated_at"])
    record(actor=reviewer, action=actions.ARTICLE_SUBMITTED, target=row, details={"after": "content_review"})
    _tell_reviewers_of_submission(row)


def on_held_article_rejected(article: Any, reviewer: Any, note: str) -> None:
    row = Article.objects.select_for_update().get(pk=article.pk)
    if row.status != Status.HELD:
        return
    _return(row, reviewer=reviewer, note=note or _("内容审核未通过。"))


# --------------------------------------------------------------------------- reading


def record_read(*, user: User, article: Article) -> bool:
    """Count one opening of ``article``; the first by this user also counts a reader.
    Returns whether it was the user's first."""
    with transaction.atomic():
        Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
        _row, first = ArticleRead.objects.get_or_create(article=article, user=user)
        if first:
            Article.objects.filter(pk=article.pk).update(reader_count=F("reader_count") + 1)
    article.view_count += 1
    article.reader_count += int(first)
    return first


def attachment_downloaded(*, user: User, article: Article, file: StoredFile) -> None:
    """Downloads of a classified article's attachments are audited (AC-08)."""
    if article.is_classified:
        record(
            actor=user,
            action=actions.ATTACHMENT_DOWNLOADED,
            target=article,
            details={"file": file.name, "key": str(file.key), "classification": article.classification},
        )


# --------------------------------------------------------------------------- comments


def comment_create(*, actor: User, article: Article, body: str) -> Comment:
    """A reader comments on an article they may read, when its comments are on (R-27: the
    text is screened first; a held one waits for the moderators, visible to its author)."""
    if not selectors.is_readable(actor, article):
        raise NotFoundError(_("文章不存在或无权查看。"))
    if not article.comments_enabled:
        raise DomainError(_("这篇文章已关闭评论。"))
    text = body.replace("\x00", "").strip()
    if not text:
        raise _invalid("body", _("请填写评论内容。"))
    if len(text) > COMMENT_MAX:
        raise _invalid("body", _("评论不能超过 %(max)s 个字符。") % {"max": COMMENT_MAX})
    verdict = moderation.screen(actor=actor, fields={"comment": text}, context=CONTEXT_COMMENT)
    with transaction.atomic():
        comment = Comment.objects.create(
            article=article,
            author=actor,
            body=text,
            status=Comment.Status.HELD if verdict.held else Comment.Status.VISIBLE,
            created_at=clock.now(),
        )
        if verdict.held:
            moderation.hold_for_review(
                actor=actor,
                target=comment,
                fields={"comment": text},
                verdict=verdict,
                context=CONTEXT_COMMENT,
            )
        elif actor.pk != article.author_id:
            _tell_author_of_comment(comment)
    return comment


def _tell_author_of_comment(comment: Comment) -> None:
    article = comment.article
    notify(
        recipients=[f"user:{article.author_id}"],
        kind=KIND_COMMENT,
        title=_("%(name)s 评论了您的文章：%(title)s")
        % {"name": comment.author.name or comment.author.username, "title": article.title},
        body=comment.body[:200],
        link=f"{article.get_absolute_url()}#comment-{comment.pk}",
        actor=comment.author,
        source=article,
    )


def on_held_comment_approved(comment: Any, reviewer: Any) -> None:
    updated = Comment.objects.filter(pk=comment.pk, status=Comment.Status.HELD).update(
        status=Comment.Status.VISIBLE
    )
    if updated and comment.author_id != comment.article.author_id:
        _tell_author_of_comment(Comment.objects.select_related("article", "author").get(pk=comment.pk))


def on_held_comment_rejected(comment: Any, reviewer: Any, note: str) -> None:
    Comment.objects.filter(pk=comment.pk).update(
        status=Comment.Status.HIDDEN, hidden_reason=(note or _("内容审核未通过"))[:200]
    )


def on_comment_hidden(comment: Any, moderator: Any, note: str) -> None:
    """A moderator upheld a report of the comment (R-28): out of sight, the reason kept."""
    Comment.objects.filter(pk=comment.pk).update(
        status=Comment.Status.HIDDEN, hidden_reason=(note or _("被举报，经审核屏蔽"))[:200]
    )
    record(actor=moderator, action=actions.COMMENT_HIDDEN, target=comment, details={"note": note})
