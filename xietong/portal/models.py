"""The portal (门户资讯): channels (栏目), their articles with review and revision history,
comments and readers.

A channel belongs to a department (its owner unit), which reviews what its publishers
submit. An article's readers are narrowed by its audience (everyone, or companies,
departments and roles) and its 密级; ``xietong.portal.selectors.visible_articles`` is the one
filter every list, count, search and feed uses. Write through ``xietong.portal.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from xietong.core import classification, clock


class Channel(models.Model):
    """A 栏目: a list of articles with its own publishers, reviewed by its owner department."""

    class Kind(models.TextChoices):
        ARTICLES = "articles", _("文章")
        NOTICES = "notices", _("通知公告")
        REGULATIONS = "regulations", _("规章制度")
        GALLERY = "gallery", _("图片新闻")
        DOWNLOADS = "downloads", _("常用下载")

    code = models.SlugField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=32, unique=True)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, default=Kind.ARTICLES)
    description = models.CharField(_("简介"), max_length=200, blank=True)
    #: A bootstrap-icons name shown beside the channel's name.
    icon = models.CharField(_("图标"), max_length=32, default="newspaper")
    #: The department that manages the channel and reviews its articles (归口管理部门).
    owner_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("管理部门"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    publishers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("发布人"), blank=True, related_name="portal_channels"
    )
    comments_enabled = models.BooleanField(_("允许评论"), default=True, help_text=_("新文章的默认设置"))
    on_workbench = models.BooleanField(_("显示在工作台"), default=False)
    order = models.PositiveSmallIntegerField(_("排序"), default=100)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now)

    class Meta:
        verbose_name = _("栏目")
        verbose_name_plural = _("栏目")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("portal:channel", args=[self.code])


class Article(models.Model):
    """One article of a channel: the working copy with its review state, and — once
    published — what readers see. Every publication and every edit after it leaves an
    ``ArticleVersion`` (R-32)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        HELD = "held", _("内容审核中")
        SUBMITTED = "submitted", _("待审核")
        PUBLISHED = "published", _("已发布")
        RETURNED = "returned", _("已退回")
        WITHDRAWN = "withdrawn", _("已撤回")

    channel = models.ForeignKey(
        Channel, verbose_name=_("栏目"), on_delete=models.PROTECT, related_name="articles"
    )
    title = models.CharField(_("标题"), max_length=200)
    summary = models.CharField(_("摘要"), max_length=300, blank=True)
    #: Sanitised HTML (``core.richtext.sanitize``), rendered as is.
    body = models.TextField(_("正文"), blank=True)
    #: The words of the body, for search and moderation.
    body_text = models.TextField(_("正文文本"), blank=True, editable=False)
    cover = models.ForeignKey(
        "files.StoredFile",
        verbose_name=_("封面"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    attachments = models.ManyToManyField(
        "files.StoredFile", verbose_name=_("附件"), through="ArticleAttachment", related_name="+", blank=True
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("作者"), on_delete=models.PROTECT, related_name="+"
    )
    author_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("作者部门"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    classification = models.PositiveSmallIntegerField(
        _("密级"), choices=classification.choices, default=classification.PUBLIC
    )
    #: Everyone who may read the portal; otherwise only the ``ArticleAudience`` rows.
    audience_everyone = models.BooleanField(_("全员可见"), default=True)
    pinned = models.BooleanField(_("置顶"), default=False)
    pinned_until = models.DateTimeField(_("置顶截止"), null=True, blank=True)
    #: Visible from then on (定时发布); set to the moment of approval when not in the future.
    publish_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    expire_at = models.DateTimeField(_("下线时间"), null=True, blank=True)
    comments_enabled = models.BooleanField(_("允许评论"), default=True)
    #: Every opening of the page.
    view_count = models.PositiveIntegerField(_("浏览次数"), default=0)
    #: Distinct readers (``ArticleRead`` rows), kept here so that lists need no count.
    reader_count = models.PositiveIntegerField(_("阅读人数"), default=0)
    #: The first publication.
    published_at = models.DateTimeField(_("首次发布时间"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    review_note = models.CharField(_("审核意见"), max_length=500, blank=True)
    #: 已修改: changed after its first publication (R-32).
    edited_after_publish = models.BooleanField(_("发布后修改过"), default=False)
    #: The number of the latest ``ArticleVersion`` (0: never published).
    revision = models.PositiveIntegerField(_("版本号"), default=0)
    #: 规章制度: the date from which the working copy takes effect once published.
    effective_from = models.DateField(_("生效日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now)

    class Meta:
        verbose_name = _("文章")
        verbose_name_plural = _("文章")
        ordering = ["-publish_at", "-pk"]
        indexes = [
            # A channel's list: published, then by publication time.
            models.Index(fields=["channel", "status", "publish_at"], name="portal_article_channel_list"),
            models.Index(fields=["status", "publish_at"], name="portal_article_status_time"),
            models.Index(fields=["author", "status", "updated_at"], name="portal_article_author"),
            models.Index(fields=["status", "channel", "submitted_at"], name="portal_article_review"),
            # The live pins of the workbench's channels: few rows, found without the channel lists.
            models.Index(
                F("channel"), F("publish_at").desc(), name="portal_article_pinned", condition=Q(pinned=True)
            ),
        ]
        constraints = [
            # a classified article names its audience; it is never for everyone.
            models.CheckConstraint(
                condition=Q(classification__lt=classification.CLASSIFIED_FROM) | Q(audience_everyone=False),
                name="portal_article_classified_not_everyone",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("portal:article", args=[self.pk])

    @property
    def ever_published(self) -> bool:
        return self.published_at is not None

    def pinned_now(self) -> bool:
        return self.pinned and (self.pinned_until is None or self.pinned_until > clock.now())

    @property
    def is_classified(self) -> bool:
        return classification.is_classified(self.classification)


class ArticleAttachment(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="attachment_links")
    file = models.ForeignKey("files.StoredFile", on_delete=models.PROTECT, related_name="+")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("文章附件")
        verbose_name_plural = _("文章附件")
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["article", "file"], name="portal_attachment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id}:{self.file_id}"


class ArticleImage(models.Model):
    """An image of the editor placed in an article's body: the link that lets a reader of the
    article (and of its older versions: links are never removed) load it."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    file = models.ForeignKey("files.StoredFile", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "article"], name="portal_image_unique")]

    def __str__(self) -> str:
        return f"{self.article_id}:{self.file_id}"


class ArticleAudience(models.Model):
    """One part of a limited audience: a unit with everything below it (a company or a
    department), a unit alone, or the holders of a role."""

    class Kind(models.TextChoices):
        UNIT_TREE = "unit_tree", _("单位及下级")
        UNIT = "unit", _("仅本单位")
        ROLE = "role", _("角色")

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="audience")
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("单位"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    role = models.ForeignKey(
        "org.Role", verbose_name=_("角色"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("可见范围")
        verbose_name_plural = _("可见范围")
        indexes = [
            models.Index(fields=["unit", "kind"], name="portal_audience_unit"),
            models.Index(fields=["role"], name="portal_audience_role"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="role") & Q(role__isnull=False) & Q(unit__isnull=True))
                | (Q(kind__in=["unit_tree", "unit"]) & Q(unit__isnull=False) & Q(role__isnull=True)),
                name="portal_audience_kind_matches_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.unit_id or self.role_id}"


class ArticleVersion(models.Model):
    """A snapshot of an article as published: one per publication and per edit after it
    (R-32). For 规章制度 each version carries the date it takes effect."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    title = models.CharField(_("标题"), max_length=200)
    summary = models.CharField(_("摘要"), max_length=300, blank=True)
    body = models.TextField(_("正文"), blank=True)
    #: ``[{"key": "<uuid>", "name": "…", "size": 123}]``, in order.
    attachments = models.JSONField(_("附件"), default=list, blank=True)
    classification = models.PositiveSmallIntegerField(_("密级"), default=classification.PUBLIC)
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("修改人"), on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("修改说明"), max_length=200, blank=True)
    effective_from = models.DateField(_("生效日期"), null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("文章版本")
        verbose_name_plural = _("文章版本")
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="portal_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"


class Comment(models.Model):
    class Status(models.TextChoices):
        VISIBLE = "visible", _("已发布")
        HELD = "held", _("审核中")
        HIDDEN = "hidden", _("已屏蔽")

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("评论人"), on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField(_("内容"), max_length=1000)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.VISIBLE)
    hidden_reason = models.CharField(_("屏蔽原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("评论")
        verbose_name_plural = _("评论")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["article", "status", "created_at"], name="portal_comment_list")]

    def __str__(self) -> str:
        return self.body[:30]

    @property
    def hidden(self) -> bool:
        return self.status == self.Status.HIDDEN

    # What a moderator's queue and the report button need of any reported object.
    @property
    def classification(self) -> int:
        return self.article.classification


class ArticleRead(models.Model):
    """A reader's first opening of an article: readers are counted once each."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    first_read_at = models.DateTimeField(_("首次阅读时间"), default=clock.now)

    class Meta:
        verbose_name = _("阅读记录")
        verbose_name_plural = _("阅读记录")
        constraints = [models.UniqueConstraint(fields=["article", "user"], name="portal_read_unique")]

    def __str__(self) -> str:
        return f"{self.article_id}:{self.user_id}"
