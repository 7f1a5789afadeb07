"""Notices (通知): what, when, where and for whom (R-61, R-62), the receipts each recipient
gives (R-63, R-64), the revisions of a notice edited after publishing (R-32) and its files.

A notice is written once per publisher; at publishing, one ``NoticeRecipient`` row per
person in its audience is written in bulk — that row is the person's copy: read, confirmed,
replied, signed in. Write through ``xietong.notices.services`` only.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xietong.core import classification, clock


class Status(models.TextChoices):
    DRAFT = "draft", _("草稿")
    #: Held by the content rules until a moderator approves it.
    PENDING = "pending", _("待审核")
    PUBLISHED = "published", _("已发布")
    WITHDRAWN = "withdrawn", _("已撤回")


class ReceiptMode(models.TextChoices):
    NONE = "none", _("无需回执")
    #: 确认已阅: the recipient confirms having read it.
    READ = "read", _("阅读确认")
    #: 参加 / 不参加 with a note (R-64).
    ATTEND = "attend", _("参加回执")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("普通")
    #: 急办 (R-65, R-66): on top and red, pushed at once on every channel.
    URGENT = "urgent", _("急办")


class Reply(models.TextChoices):
    ATTEND = "attend", _("参加")
    DECLINE = "decline", _("不参加")


#: Sign-in opens this long before the notice's time (people arrive early).
SIGNIN_OPENS_BEFORE = dt.timedelta(hours=1)


class Notice(models.Model):
    title = models.CharField(_("通知事项"), max_length=200)
    #: Sanitised HTML (``core.richtext.sanitize``): rendered as stored.
    body = models.TextField(_("正文"), blank=True)
    #: The words of the body, for search, e-mail and the API's summaries.
    body_text = models.TextField(_("正文纯文本"), blank=True, editable=False)
    starts_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    ends_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    place = models.CharField(_("地点"), max_length=200, blank=True)
    #: The 相关人员 as the publisher named them: ``["unit:3", "user:7", "everyone"]``.
    audience = models.JSONField(_("发送范围"), default=list, blank=True)
    #: The same in words, for lists ("综合办公室、张伟").
    audience_summary = models.CharField(_("相关人员"), max_length=500, blank=True)
    receipt_mode = models.CharField(
        _("回执方式"), max_length=8, choices=ReceiptMode.choices, default=ReceiptMode.NONE
    )
    receipt_due = models.DateTimeField(_("回执截止时间"), null=True, blank=True)
    urgency = models.CharField(_("紧急程度"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    classification = models.PositiveSmallIntegerField(
        _("密级"), choices=classification.choices, default=classification.INTERNAL
    )
    publisher = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发布人"), on_delete=models.PROTECT, related_name="+"
    )
    #: The publisher's primary unit when writing it: where the 综合办公室's scope applies.
    publisher_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("发布部门"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("更新时间"), default=clock.now)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    #: 1 at first; each edit after publishing keeps the previous text as a revision (R-32).
    revision = models.PositiveIntegerField(_("版本"), default=1)
    #: Set by an edit after publishing: the notice is shown as 已修改.
    edited_at = models.DateTimeField(_("修改时间"), null=True, blank=True)
    signin_enabled = models.BooleanField(_("现场签到"), default=False)
    #: The secret of the sign-in QR code: only those on site see it.
    signin_token = models.CharField(_("签到码"), max_length=64, blank=True)
    recipient_count = models.PositiveIntegerField(_("接收人数"), default=0)
    #: People of the audience left out for want of clearance (R-33).
    withheld_count = models.PositiveIntegerField(_("因密级不足未发送人数"), default=0)
    last_reminded_at = models.DateTimeField(_("上次提醒时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        indexes = [
            models.Index(fields=["publisher", "-created_at"], name="notices_notice_publisher"),
            models.Index(fields=["publisher_unit", "status", "-published_at"], name="notices_notice_unit"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True)
                | Q(starts_at__isnull=True)
                | Q(ends_at__gte=models.F("starts_at")),
                name="notices_notice_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "pending", "published", "withdrawn"]),
                name="notices_notice_status",
            ),
            models.CheckConstraint(
                condition=Q(receipt_mode__in=["none", "read", "attend"]), name="notices_notice_receipt_mode"
            ),
            models.CheckConstraint(
                condition=Q(urgency__in=["normal", "urgent"]), name="notices_notice_urgency"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_urgent(self) -> bool:
        return self.urgency == Urgency.URGENT

    @property
    def is_published(self) -> bool:
        return self.status == Status.PUBLISHED

    @property
    def edited(self) -> bool:
        """已修改: changed after it was published (R-32)."""
        return self.edited_at is not None

    @property
    def needs_receipt(self) -> bool:
        return self.receipt_mode != ReceiptMode.NONE

    @property
    def reply_deadline(self) -> dt.datetime | None:
        """Until when a reply 参加/不参加 may be given or changed: the receipt deadline, or
        the start of the event. A read confirmation is accepted late (and shown as late)."""
        if self.receipt_mode == ReceiptMode.ATTEND:
            return self.receipt_due or self.starts_at
        return None

    def signin_window(self) -> tuple[dt.datetime, dt.datetime] | None:
        """When on-site sign-in is open: from an hour before the start to the end (or the end
        of the start's day when no end is given)."""
        if not self.signin_enabled or self.starts_at is None:
            return None
        if self.ends_at is not None:
            closes = self.ends_at
        else:
            local = timezone.localtime(self.starts_at)
            closes = local.replace(hour=23, minute=59, second=59, microsecond=0)
        return self.starts_at - SIGNIN_OPENS_BEFORE, closes

    def signin_open(self, now: dt.datetime | None = None) -> bool:
        window = self.signin_window()
        moment = now or clock.now()
        return window is not None and self.is_published and window[0] <= moment <= window[1]


class NoticeRecipient(models.Model):
    """One person's copy of a published notice: their read receipt (R-63), their confirmation
    or reply (R-64), their on-site sign-in."""

    notice = models.ForeignKey(
        Notice, verbose_name=_("通知"), on_delete=models.CASCADE, related_name="recipients", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    #: The person's primary unit when the notice was published: the publisher's table counts
    #: by it, and a later transfer does not move an old receipt.
    unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("部门"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    #: When the notice reached them (its publishing time): "my notices, newest first".
    delivered_at = models.DateTimeField(_("送达时间"), default=clock.now)
    #: A receipt is still expected from this person (cleared by the receipt or a withdrawal).
    awaiting = models.BooleanField(_("待回执"), default=False)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    reply = models.CharField(_("回复"), max_length=8, choices=Reply.choices, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    replied_at = models.DateTimeField(_("回复时间"), null=True, blank=True)
    signed_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知接收人")
        verbose_name_plural = _("通知接收人")
        constraints = [
            # One copy per person; also the index of a notice's recipients.
            models.UniqueConstraint(fields=["notice", "user"], name="notices_recipient_once"),
            models.CheckConstraint(
                condition=Q(reply__in=["", "attend", "decline"]), name="notices_recipient_reply"
            ),
        ]
        indexes = [
            # 我收到的, newest first; and the unread ones (the workbench's list and count).
            models.Index(fields=["user", "-delivered_at"], name="notices_rcpt_user_time"),
            models.Index(fields=["user", "read_at", "-delivered_at"], name="notices_rcpt_user_unread"),
            # Awaiting my receipt: a handful of entries per person, however many notices.
            models.Index(
                fields=["user", "-delivered_at"],
                condition=Q(awaiting=True),
                name="notices_rcpt_user_awaiting",
            ),
            # The publisher's table per department.
            models.Index(fields=["notice", "unit"], name="notices_rcpt_notice_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ← {self.notice_id}"

    @property
    def answered(self) -> bool:
        return self.confirmed_at is not None or bool(self.reply)


class NoticeRevision(models.Model):
    """The text of a notice as it was before an edit after publishing (R-32)."""

    notice = models.ForeignKey(
        Notice, verbose_name=_("通知"), on_delete=models.CASCADE, related_name="revisions"
    )
    number = models.PositiveIntegerField(_("版本"))
    title = models.CharField(_("通知事项"), max_length=200)
    body = models.TextField(_("正文"), blank=True)
    starts_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    ends_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    place = models.CharField(_("地点"), max_length=200, blank=True)
    receipt_due = models.DateTimeField(_("回执截止时间"), null=True, blank=True)
    #: When this version was published (or written by the previous edit).
    written_at = models.DateTimeField(_("版本时间"))
    #: When it was replaced, and by whom.
    replaced_at = models.DateTimeField(_("修改时间"), default=clock.now)
    replaced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("修改人"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("通知历史版本")
        verbose_name_plural = _("通知历史版本")
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["notice", "number"], name="notices_revision_once")]

    def __str__(self) -> str:
        return f"{self.notice_id} v{self.number}"


class NoticeAttachment(models.Model):
    """A file of a notice (stored, scanned and served by ``xietong.files``): an attachment
    listed under the text, or an image the editor put into the text (``inline``)."""

    notice = models.ForeignKey(
        Notice, verbose_name=_("通知"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.ForeignKey(
        "files.StoredFile", verbose_name=_("文件"), on_delete=models.PROTECT, related_name="+"
    )
    inline = models.BooleanField(_("正文图片"), default=False)
    added_at = models.DateTimeField(_("添加时间"), default=clock.now)

    class Meta:
        verbose_name = _("通知附件")
        verbose_name_plural = _("通知附件")
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["notice", "file"], name="notices_attachment_once")]

    def __str__(self) -> str:
        return f"{self.notice_id}: {self.file_id}"
