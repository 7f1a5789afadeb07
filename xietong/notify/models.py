"""The notification centre's data: one ``Dispatch`` per send, one ``Notification`` per
recipient, the users' preferences, the administrators' webhooks and the log of every e-mail
and webhook delivery.

Rows are written only by ``xietong.notify.services`` ("notify through one API").
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xietong.core import clock


class Urgency(models.TextChoices):
    NORMAL = "normal", _("普通")
    #: 急办 (R-65, R-66): every channel at once, quiet hours and preferences ignored, sent again
    #: to those who have not opened it.
    URGENT = "urgent", _("急办")


class Dispatch(models.Model):
    """One send: what was said, to whom (as the sender named them), by whom, about what."""

    kind = models.CharField(_("类别"), max_length=64)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=500, blank=True)
    urgency = models.CharField(_("紧急程度"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发送人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # What the notification is about (a notice, a task …), when it is a row of some model.
    source_type = models.ForeignKey(
        ContentType,
        verbose_name=_("来源类型"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source_id = models.CharField(_("来源编号"), max_length=64, blank=True)
    #: The audience as the sender named it ("unit:12", "role:finance" …), kept for the record.
    recipients = models.JSONField(_("发送范围"), default=list)
    #: The source's 密级: recipients without that clearance are left out (R-33) and the
    #: content never leaves the platform by e-mail or webhook.
    classification = models.PositiveSmallIntegerField(_("密级"), default=0)
    recipient_count = models.PositiveIntegerField(_("接收人数"), default=0)
    withheld_count = models.PositiveIntegerField(
        _("因密级不足未发送人数"), default=0, help_text=_("发送范围内可知悉密级低于来源密级的人数")
    )
    resend_count = models.PositiveSmallIntegerField(_("再次提醒次数"), default=0)
    next_resend_at = models.DateTimeField(_("下次提醒时间"), null=True, blank=True)
    fanned_out_at = models.DateTimeField(_("推送完成时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("发送时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("通知发送")
        verbose_name_plural = _("通知发送")
        indexes = [
            # The minute job looks for urgent sends whose next reminder is due.
            models.Index(fields=["next_resend_at"], name="notify_dispatch_resend_due"),
            models.Index(fields=["source_type", "source_id"], name="notify_dispatch_source"),
            models.Index(fields=["actor", "created_at"], name="notify_dispatch_actor_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(urgency__in=["normal", "urgent"]), name="notify_dispatch_urgency"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.title}"

    @property
    def is_urgent(self) -> bool:
        return self.urgency == Urgency.URGENT


class Notification(models.Model):
    """One recipient's copy of a dispatch: their unread/read state is the read receipt (R-63)."""

    #: Bits of ``channels``: where this copy went out besides the notification centre itself.
    PUSHED = 1
    EMAILED = 2

    dispatch = models.ForeignKey(
        Dispatch,
        verbose_name=_("发送"),
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    # A copy of the dispatch's urgency: 急办 items are listed first without a join.
    urgent = models.BooleanField(_("急办"), default=False)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    channels = models.PositiveSmallIntegerField(_("已送达渠道"), default=0)
    created_at = models.DateTimeField(_("时间"), default=clock.now, editable=False)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        indexes = [
            # The bell and the unread list: (user, unread) is a prefix, newest first within it,
            # so the count reads the index alone and a page reads 20 entries whatever the total.
            models.Index(fields=["user", "read_at", "-id"], name="notify_notif_user_unread"),
            # The full list, newest first, by keyset on id.
            models.Index(fields=["user", "-id"], name="notify_notif_user_all"),
            # The 急办 block on top of the inbox: a handful of entries per user, however many
            # unread normal ones there are (partial; databases without partial indexes skip it).
            models.Index(
                fields=["user", "-id"],
                condition=Q(read_at__isnull=True, urgent=True),
                name="notify_notif_user_urgent",
            ),
        ]
        constraints = [
            # One copy per person per dispatch; also the index of a dispatch's recipients.
            models.UniqueConstraint(fields=["dispatch", "user"], name="notify_notification_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ← {self.dispatch_id}"


class Channel(models.TextChoices):
    """The channels a user chooses per kind; webhooks are per group, chosen by administrators."""

    #: The pop-up in open tabs. The notification itself is always kept in the centre.
    IN_APP = "in_app", _("站内弹窗")
    EMAIL = "email", _("邮件")


class Preference(models.Model):
    """A user's choice for one kind and channel, stored only where it differs from nothing:
    without a row the kind's default applies."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("类别"), max_length=64)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    enabled = models.BooleanField(_("开启"), default=True)

    class Meta:
        verbose_name = _("通知偏好")
        verbose_name_plural = _("通知偏好")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="notify_preference_once"),
        ]
        indexes = [models.Index(fields=["kind", "channel", "enabled"], name="notify_pref_kind_channel")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}/{self.channel}={self.enabled}"


class NotifySettings(models.Model):
    """A user's quiet hours and daily digest. Times are local (``TIME_ZONE``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="notify_settings"
    )
    quiet_start = models.TimeField(_("免打扰开始"), null=True, blank=True)
    quiet_end = models.TimeField(_("免打扰结束"), null=True, blank=True)
    digest = models.BooleanField(
        _("每日汇总"), default=False, help_text=_("普通通知每天汇总成一封邮件，不再逐条发送")
    )
    digest_hour = models.PositiveSmallIntegerField(_("汇总发送时刻"), default=8)
    last_digest_at = models.DateTimeField(_("上次汇总时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知设置")
        verbose_name_plural = _("通知设置")
        constraints = [
            models.CheckConstraint(condition=Q(digest_hour__lte=23), name="notify_settings_digest_hour"),
            models.CheckConstraint(
                condition=(Q(quiet_start__isnull=True) & Q(quiet_end__isnull=True))
                | (Q(quiet_start__isnull=False) & Q(quiet_end__isnull=False)),
                name="notify_settings_quiet_both_or_neither",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}"


class Webhook(models.Model):
    """A group robot (DingTalk, WeCom, Feishu) or another system's endpoint that receives the
    notifications of its audience, configured by the system administrator (R-66)."""

    class Format(models.TextChoices):
        DINGTALK = "dingtalk", _("钉钉群机器人")
        WECOM = "wecom", _("企业微信群机器人")
        FEISHU = "feishu", _("飞书群机器人")
        GENERIC = "generic", _("通用 JSON")

    name = models.CharField(_("名称"), max_length=64, unique=True)
    format = models.CharField(_("格式"), max_length=16, choices=Format.choices)
    url = models.URLField(_("Webhook 地址"), max_length=500)
    secret = models.CharField(
        _("签名密钥"),
        max_length=200,
        blank=True,
        help_text=_("钉钉“加签”、飞书“签名校验”的密钥；通用格式用于 X-Xietong-Signature 签名"),
    )
    # Whose notifications the group may see: only those sent to every active member of this
    # unit (and below); none given, only those sent to everyone. A group of 财务部 thus never
    # hears of an item meant for three people.
    unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("对应单位"),
        # Without its unit the robot falls back to "everyone only", the narrower audience.
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("只推送发给该单位（含下级）全体人员的通知；不选则只推送发给全员的通知"),
    )
    kinds = models.JSONField(_("通知类别"), default=list, blank=True, help_text=_("不选则推送所有类别"))
    urgent_only = models.BooleanField(_("仅推送急办"), default=False)
    quiet_start = models.TimeField(_("免打扰开始"), null=True, blank=True)
    quiet_end = models.TimeField(_("免打扰结束"), null=True, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("消息推送")
        verbose_name_plural = _("消息推送")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(quiet_start__isnull=True) & Q(quiet_end__isnull=True))
                | (Q(quiet_start__isnull=False) & Q(quiet_end__isnull=False)),
                name="notify_webhook_quiet_both_or_neither",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DeliveryLog(models.Model):
    """One e-mail or one webhook post: to whom, when due, how it went."""

    class Status(models.TextChoices):
        DEFERRED = "deferred", _("延后发送")  # quiet hours: waits for ``due_at``
        QUEUED = "queued", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("失败")
        SKIPPED = "skipped", _("未发送")

    class Channel(models.TextChoices):
        EMAIL = "email", _("邮件")
        WEBHOOK = "webhook", _("Webhook")

    dispatch = models.ForeignKey(
        Dispatch, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    webhook = models.ForeignKey(
        Webhook, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    #: The address or the webhook's name (never its URL, which holds the robot's token).
    target = models.CharField(_("目标"), max_length=254)
    #: 0 for the first send; 1, 2, 3 for the reminders of an urgent item; -1 for a digest.
    round = models.SmallIntegerField(_("轮次"), default=0)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    due_at = models.DateTimeField(_("预定发送时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    error = models.CharField(_("错误"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    DIGEST_ROUND = -1

    class Meta:
        verbose_name = _("投递记录")
        verbose_name_plural = _("投递记录")
        indexes = [
            models.Index(fields=["status", "due_at"], name="notify_delivery_due"),
            models.Index(fields=["webhook", "-id"], name="notify_delivery_webhook"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.target}: {self.status}"
