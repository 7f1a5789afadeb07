"""Content rules (R-27, R-28, R-29, R-128, R-129): the sensitive-word lexicon, content held
for review, users' reports of content, and the violation register with its sanctions.

Write through ``xietong.moderation.services`` only: every lexicon change must also change
the lexicon version, or running processes keep matching against the old words.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from xietong.core import clock


class Action(models.TextChoices):
    """What a match does to the text."""

    BLOCK = "block", _("拦截")
    HOLD = "hold", _("送审")


class WordCategory(models.Model):
    """A kind of sensitive word (政治敏感, 违法违规, 涉密词汇, 低俗辱骂, 广告 …)."""

    name = models.CharField(_("名称"), max_length=32, unique=True)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    #: What a new word of this category does unless the administrator says otherwise.
    default_action = models.CharField(
        _("默认处理方式"), max_length=8, choices=Action.choices, default=Action.BLOCK
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("敏感词分类")
        verbose_name_plural = _("敏感词分类")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class SensitiveWord(models.Model):
    """One word of the lexicon. ``normalized`` is the word as the matcher folds it
    (``matcher.normalize``): two spellings that fold alike are one word."""

    word = models.CharField(_("敏感词"), max_length=100)
    normalized = models.CharField(_("归一化形式"), max_length=100, unique=True)
    category = models.ForeignKey(
        WordCategory, verbose_name=_("分类"), on_delete=models.PROTECT, related_name="words"
    )
    action = models.CharField(_("处理方式"), max_length=8, choices=Action.choices, default=Action.BLOCK)
    is_active = models.BooleanField(_("启用"), default=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("添加人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("添加时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("修改时间"), default=clock.now)

    class Meta:
        verbose_name = _("敏感词")
        verbose_name_plural = _("敏感词")
        ordering = ["-pk"]
        indexes = [
            # The lexicon page filters by status, category and action; the matcher loads the
            # active words.
            models.Index(fields=["is_active", "category"], name="moderation_word_active_cat"),
            models.Index(fields=["action"], name="moderation_word_action"),
        ]

    def __str__(self) -> str:
        return self.word


class LexiconVersion(models.Model):
    """One row: a random token that changes with every lexicon change, in the same
    transaction. Each process compares it with the token its compiled matcher was built
    from (``xietong.moderation.lexicon``)."""

    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("词库版本")
        verbose_name_plural = _("词库版本")

    def __str__(self) -> str:
        return self.token


class ReviewItem(models.Model):
    """Content held for review: a snapshot of the held fields and the words that held them.

    The object stays where its app keeps it, in that app's pending state; the item names it
    by app label, model and primary key, and the handler its app registered
    (``moderation.registry``) publishes or refuses it when a reviewer decides.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已通过")
        REJECTED = "rejected", _("已驳回")
        #: Deleted or submitted again by its author before anyone decided.
        WITHDRAWN = "withdrawn", _("已撤回")

    app_label = models.CharField(_("应用"), max_length=100)
    model_name = models.CharField(_("对象类型"), max_length=100)
    object_id = models.CharField(_("对象编号"), max_length=64)
    context = models.CharField(_("场景"), max_length=100)
    fields = models.JSONField(_("送审内容"), default=dict)
    hits = models.JSONField(_("命中"), default=list)
    words = models.JSONField(_("命中的敏感词"), default=list)
    #: The object's 密级, copied so that the queue shows it only to cleared reviewers.
    classification = models.PositiveSmallIntegerField(_("密级"), default=0)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("提交人"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("提交时间"), default=clock.now)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    note = models.CharField(_("审核意见"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("待审内容")
        verbose_name_plural = _("待审内容")
        indexes = [
            models.Index(fields=["status", "submitted_at"], name="moderation_review_queue"),
            models.Index(fields=["app_label", "model_name", "object_id"], name="moderation_review_target"),
        ]

    def __str__(self) -> str:
        return f"{self.model_label}#{self.object_id}"

    @property
    def model_label(self) -> str:
        return f"{self.app_label}.{self.model_name}"


class Violation(models.Model):
    """One entry of the violation register (R-128): who, which rule, the evidence, how grave,
    who handled it, and what followed (a warning, a report to the department heads)."""

    class Source(models.TextChoices):
        MODERATION = "moderation", _("内容审核")
        SECURITY = "security", _("安全告警")
        MANUAL = "manual", _("人工登记")

    class Severity(models.TextChoices):
        MINOR = "minor", _("轻微")
        GENERAL = "general", _("一般")
        SERIOUS = "serious", _("严重")

    class Outcome(models.TextChoices):
        """What happened to the content."""

        BLOCKED = "blocked", _("拦截")
        REJECTED = "rejected", _("审核驳回")
        #: Reported by a user, and hidden by a moderator (R-28, R-29).
        HIDDEN = "hidden", _("举报屏蔽")
        RECORDED = "recorded", _("登记")

    class Escalation(models.TextChoices):
        NONE = "none", _("记录")
        WARNING = "warning", _("警示本人")
        REPORTED = "reported", _("通报部门负责人")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("违规人"), on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    rule = models.CharField(_("违反的规定"), max_length=100)
    context = models.CharField(_("场景"), max_length=100, blank=True)
    words = models.JSONField(_("敏感词"), default=list)
    #: Excerpts around each hit (never the whole text) and what else documents the case.
    evidence = models.JSONField(_("证据"), default=list)
    link = models.CharField(_("证据链接"), max_length=500, blank=True)
    description = models.TextField(_("情况说明"), blank=True)
    severity = models.CharField(_("情节"), max_length=16, choices=Severity.choices)
    outcome = models.CharField(_("处理结果"), max_length=16, choices=Outcome.choices)
    escalation = models.CharField(
        _("后续处理"), max_length=16, choices=Escalation.choices, default=Escalation.NONE
    )
    #: The how-manyth violation of this person in the counting window, this one included.
    occurrence = models.PositiveIntegerField(_("期内次数"), default=1)
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("为空表示系统自动处理"),
    )
    reported_to = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("通报对象"), blank=True, related_name="+"
    )
    review_item = models.ForeignKey(
        ReviewItem,
        verbose_name=_("审核记录"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="violations",
    )
    created_at = models.DateTimeField(_("发生时间"), default=clock.now)

    class Meta:
        verbose_name = _("违规记录")
        verbose_name_plural = _("违规记录")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # A person's history and the count in the window; the register by date.
            models.Index(fields=["user", "created_at"], name="moderation_violation_user"),
            models.Index(fields=["created_at"], name="moderation_violation_time"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.rule} {self.created_at:%Y-%m-%d}"


class Sanction(models.Model):
    """The sanction decided for one violation, from the fixed catalogue of the rule books
    (R-129). 停职 and 辞退 also switch the account off."""

    class Kind(models.TextChoices):
        VERBAL_WARNING = "verbal_warning", _("口头警告")
        WRITTEN_WARNING = "written_warning", _("书面警告")
        FINE = "fine", _("罚款")
        DEMOTION = "demotion", _("降职")
        SUSPENSION = "suspension", _("停职")
        DISMISSAL = "dismissal", _("辞退（解除劳动合同）")

    violation = models.ForeignKey(
        Violation, verbose_name=_("违规记录"), on_delete=models.PROTECT, related_name="sanctions"
    )
    kind = models.CharField(_("处分"), max_length=16, choices=Kind.choices)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("登记时间"), default=clock.now)
    #: What the platform did to the account (sessions ended, tokens revoked), for the record.
    effect = models.JSONField(_("平台处置"), default=dict, blank=True)

    class Meta:
        verbose_name = _("处分")
        verbose_name_plural = _("处分")
        ordering = ["decided_at", "pk"]

    def __str__(self) -> str:
        return self.get_kind_display()


class Report(models.Model):
    """A user's report (举报) of a message, a post or a comment (R-28, R-29).

    Like ``ReviewItem``, the report names its object by app label, model and primary key; the
    handler its app registered (``registry.register_report_handler``) describes the object,
    says who may report it and hides it. The snapshot is what the reporter saw when they
    reported: the moderator judges that, even if the author edits or deletes the object
    afterwards, and even if the moderator may not open the object itself (the 三员 hold no
    business permission).
    """

    class Reason(models.TextChoices):
        UNRELATED = "unrelated", _("与工作无关")
        ABUSE = "abuse", _("辱骂攻击")
        FALSE = "false", _("诽谤不实")
        SECRET = "secret", _("泄密")
        OTHER = "other", _("其他")

    class Status(models.TextChoices):
        PENDING = "pending", _("待处理")
        HIDDEN = "hidden", _("已屏蔽")
        DISMISSED = "dismissed", _("不予处理")

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("举报人"), on_delete=models.PROTECT, related_name="+"
    )
    app_label = models.CharField(_("应用"), max_length=100)
    model_name = models.CharField(_("对象类型"), max_length=100)
    object_id = models.CharField(_("对象编号"), max_length=64)
    reason = models.CharField(_("举报原因"), max_length=16, choices=Reason.choices)
    note = models.CharField(_("补充说明"), max_length=500, blank=True)
    # The snapshot (``registry.Reported``).
    title = models.CharField(_("标题"), max_length=200, blank=True)
    excerpt = models.TextField(_("内容摘录"), blank=True)
    link = models.CharField(_("链接"), max_length=500, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("作者"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    #: The content's 密级: the queue shows the report only to cleared moderators.
    classification = models.PositiveSmallIntegerField(_("密级"), default=0)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    outcome_note = models.CharField(_("处理意见"), max_length=500, blank=True)
    #: The violation of the author recorded with the decision, if the moderator recorded one.
    violation = models.ForeignKey(
        Violation,
        verbose_name=_("违规记录"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports",
    )
    created_at = models.DateTimeField(_("举报时间"), default=clock.now)

    class Meta:
        verbose_name = _("举报")
        verbose_name_plural = _("举报")
        indexes = [
            models.Index(fields=["status", "created_at"], name="moderation_report_queue"),
            models.Index(fields=["app_label", "model_name", "object_id"], name="moderation_report_target"),
            # The rate limit counts one person's reports of the last hour.
            models.Index(fields=["reporter", "created_at"], name="moderation_report_reporter"),
        ]
        constraints = [
            # One open report per person and object: reporting again adds nothing.
            models.UniqueConstraint(
                fields=["reporter", "app_label", "model_name", "object_id"],
                condition=models.Q(status="pending"),
                name="moderation_report_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model_label}#{self.object_id}"

    @property
    def model_label(self) -> str:
        return f"{self.app_label}.{self.model_name}"

    @property
    def target_ref(self) -> str:
        """The reference the report button posts: ``app_label.model:pk``."""
        return f"{self.model_label}:{self.object_id}"
