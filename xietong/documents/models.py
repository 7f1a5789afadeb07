"""公文 (official documents, issue #6): outgoing and incoming documents, their numbers, their
process record and the archive.

The rules come from 《党政机关公文处理工作条例》 (条例) and GB/T 9704-2012 (9704) for the
documents, DA/T 22-2015 and GB/T 18894-2016 for the archive; ``docs/architecture`` and the
domain notes cite them. The approval steps of an outgoing document (核稿, 会签, 审核, 签发) run on
the approval engine; the office's steps after 签发 (复核, 登记, 用印, 分发) and the whole of
收文 are states of these rows, each change appended to ``DocumentEvent``.

Write through the services of this app only (``outgoing``, ``incoming``, ``numbering``,
``archive``): they keep numbers gap-free under row locks and log every step.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from xietong.core import clock


class DocType(models.TextChoices):
    """The 15 文种 of 条例 第八条."""

    JUEYI = "jueyi", pgettext_lazy("文种", "决议")
    JUEDING = "jueding", pgettext_lazy("文种", "决定")
    MINGLING = "mingling", pgettext_lazy("文种", "命令")
    GONGBAO = "gongbao", pgettext_lazy("文种", "公报")
    GONGGAO = "gonggao", pgettext_lazy("文种", "公告")
    TONGGAO = "tonggao", pgettext_lazy("文种", "通告")
    YIJIAN = "yijian", pgettext_lazy("文种", "意见")
    TONGZHI = "tongzhi", pgettext_lazy("文种", "通知")
    TONGBAO = "tongbao", pgettext_lazy("文种", "通报")
    BAOGAO = "baogao", pgettext_lazy("文种", "报告")
    QINGSHI = "qingshi", pgettext_lazy("文种", "请示")
    PIFU = "pifu", pgettext_lazy("文种", "批复")
    YIAN = "yian", pgettext_lazy("文种", "议案")
    HAN = "han", pgettext_lazy("文种", "函")
    JIYAO = "jiyao", pgettext_lazy("文种", "纪要")


class Direction(models.TextChoices):
    """行文方向: 上行文 go to a superior and must name their 签发人 (条例 第九条(六))."""

    UP = "up", _("上行文")
    PEER = "peer", _("平行文")
    DOWN = "down", _("下行文")


class Urgency(models.TextChoices):
    """紧急程度 (9704 §7.2.3)."""

    NORMAL = "", _("普通")
    URGENT = "jiaji", _("加急")
    VERY_URGENT = "teji", _("特急")


class LayoutKind(models.TextChoices):
    """The formats of 9704: the 文件 format, and the special 信函, 命令 and 纪要 formats (§10)."""

    WENJIAN = "wenjian", _("文件格式")
    XINHAN = "xinhan", _("信函格式")
    MINGLING = "mingling", _("命令格式")
    JIYAO = "jiyao", _("纪要格式")


class IssuingOrgan(models.Model):
    """A 发文机关 and its 机关代字: ``代字〔年份〕序号号`` numbers run per organ and year."""

    unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("机关"), on_delete=models.PROTECT, related_name="issuing_organs"
    )
    #: 机关代字, e.g. 协同办发 (Chinese characters only, 9704 §7.2.4).
    code = models.CharField(_("机关代字"), max_length=20, unique=True)
    #: 发文机关署名: the organ's full name or 规范化简称, as on its seal.
    name = models.CharField(_("发文机关署名"), max_length=100)
    #: 发文机关标志: the red header, e.g. 协同集团有限公司文件.
    mark = models.CharField(_("发文机关标志"), max_length=100)
    #: 印发机关 of the 版记, usually the organ's office.
    print_org = models.CharField(_("印发机关"), max_length=100)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("发文机关")
        verbose_name_plural = _("发文机关")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class NumberCounter(models.Model):
    """The last 序号 given by an organ in a year, locked (``SELECT … FOR UPDATE``) while numbering."""

    organ = models.ForeignKey(IssuingOrgan, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("发文字号计数")
        verbose_name_plural = _("发文字号计数")
        constraints = [models.UniqueConstraint(fields=["organ", "year"], name="documents_counter_organ_year")]

    def __str__(self) -> str:
        return f"{self.organ_id}/{self.year}: {self.last}"


class OutgoingState(models.TextChoices):
    DRAFT = "draft", _("起草")
    REVIEWING = "reviewing", _("审批中")  # 核稿 → 会签 → 审核 → 签发 on the approval engine
    SIGNED = "signed", _("已签发")  # waits for 复核
    RESIGNING = "resigning", _("复审中")  # a substantive change after 签发 went back to the signer
    CHECKED = "checked", _("已复核")  # waits for 登记
    REGISTERED = "registered", _("已登记")  # numbered, waits for 用印
    SEALED = "sealed", _("已用印")  # waits for 分发
    DISTRIBUTED = "distributed", _("已分发")
    ARCHIVED = "archived", _("已归档")
    CANCELLED = "cancelled", _("已作废")
    REVOKED = "revoked", pgettext_lazy("公文状态", "已撤销")  # void from the start
    ABOLISHED = "abolished", _("已废止")  # void from the date of abolition


class OutgoingDocument(models.Model):
    """One 发文: the 公文 elements of 条例 第九条 and where the document stands."""

    organ = models.ForeignKey(
        IssuingOrgan, verbose_name=_("发文机关"), on_delete=models.PROTECT, related_name="documents"
    )
    doc_type = models.CharField(_("文种"), max_length=16, choices=DocType.choices, default=DocType.TONGZHI)
    direction = models.CharField(
        _("行文方向"), max_length=8, choices=Direction.choices, default=Direction.DOWN
    )
    layout_kind = models.CharField(
        _("版式"), max_length=16, choices=LayoutKind.choices, default=LayoutKind.WENJIAN
    )
    title = models.CharField(_("标题"), max_length=200)
    classification = models.PositiveSmallIntegerField(_("密级"), default=0)
    #: 保密期限: ``5年``, ``6个月``, ``长期`` or ``公布前``; required from 普通商密 up.
    secret_term = models.CharField(_("保密期限"), max_length=16, blank=True)
    urgency = models.CharField(_("紧急程度"), max_length=8, choices=Urgency.choices, blank=True, default="")
    #: 主送机关 as printed (names joined by 、); the units are those the document is sent to.
    main_recipients = models.CharField(_("主送机关"), max_length=500, blank=True)
    main_units = models.ManyToManyField(
        "org.OrgUnit", verbose_name=_("主送单位"), related_name="+", blank=True
    )
    cc_recipients = models.CharField(_("抄送机关"), max_length=500, blank=True)
    cc_units = models.ManyToManyField("org.OrgUnit", verbose_name=_("抄送单位"), related_name="+", blank=True)
    #: 正文, sanitised rich text; or an uploaded DOCX (``body_docx``) whose text it then holds.
    body = models.TextField(_("正文"), blank=True)
    body_docx = models.ForeignKey(
        "files.StoredFile",
        verbose_name=_("正文文件"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("附注"), max_length=200, blank=True)
    print_org = models.CharField(_("印发机关"), max_length=100, blank=True)
    print_date = models.DateField(_("印发日期"), null=True, blank=True)
    #: 成文日期: the 签发 date (joint documents: the last signer's), never the print date.
    date_written = models.DateField(_("成文日期"), null=True, blank=True)
    #: 签发人 as recorded at 签发 (条例 第二十二条: 意见、姓名、完整日期):
    #: ``[{"id": 1, "name": "张三", "opinion": "同意", "at": "2026-11-29T09:30:00+08:00"}]``.
    signers = models.JSONField(_("签发人"), default=list, blank=True)
    copies = models.PositiveIntegerField(_("印制份数"), default=0)
    #: 发文字号, assigned at 登记 and never reused: 协同办发〔2026〕12号.
    doc_no_year = models.PositiveSmallIntegerField(_("文号年份"), null=True, blank=True)
    doc_no_seq = models.PositiveIntegerField(_("文号序号"), null=True, blank=True)
    doc_no = models.CharField(_("发文字号"), max_length=64, blank=True, db_index=True)
    state = models.CharField(
        _("状态"), max_length=16, choices=OutgoingState.choices, default=OutgoingState.DRAFT
    )
    #: The approval-engine request of the current approval round (核稿 … 签发, or 复审).
    instance = models.ForeignKey(
        "workflow.Instance",
        verbose_name=_("审批单"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    drafter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("拟稿人"), on_delete=models.PROTECT, related_name="+"
    )
    drafting_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("拟稿部门"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    #: The number of the current text version (``TextVersion``).
    version = models.PositiveIntegerField(_("版本"), default=1)
    lock_version = models.PositiveIntegerField(default=0)
    #: The final layout, made at 登记 (the 正本) and kept for 分发 and the archive.
    pdf = models.ForeignKey(
        "files.StoredFile",
        verbose_name=_("版式文件"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("修改时间"), default=clock.now)
    signed_at = models.DateTimeField(_("签发时间"), null=True, blank=True)
    registered_at = models.DateTimeField(_("登记时间"), null=True, blank=True)
    distributed_at = models.DateTimeField(_("分发时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("发文")
        verbose_name_plural = _("发文")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organ", "doc_no_year", "doc_no_seq"],
                condition=Q(doc_no_seq__isnull=False),
                name="documents_outgoing_unique_number",
            )
        ]
        indexes = [
            models.Index(fields=["state", "-id"], name="documents_out_state"),
            models.Index(fields=["drafter", "-id"], name="documents_out_drafter"),
            models.Index(fields=["organ", "doc_no_year", "doc_no_seq"], name="documents_out_number"),
        ]

    def __str__(self) -> str:
        return self.title


class OutgoingAttachment(models.Model):
    """附件, in their order; the 附件说明 is derived from their titles (9704 §7.3.3)."""

    document = models.ForeignKey(OutgoingDocument, on_delete=models.CASCADE, related_name="attachments")
    seq = models.PositiveSmallIntegerField(_("序号"))
    title = models.CharField(_("附件名称"), max_length=200)
    file = models.ForeignKey(
        "files.StoredFile", verbose_name=_("文件"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["document", "seq"]
        constraints = [models.UniqueConstraint(fields=["document", "seq"], name="documents_attachment_seq")]

    def __str__(self) -> str:
        return self.title


class TextVersion(models.Model):
    """Every version of a document's text with who changed what (痕迹): never updated."""

    document = models.ForeignKey(OutgoingDocument, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"), blank=True)
    #: The other elements at that version (主送, 抄送, 附注, 附件 titles …).
    elements = models.JSONField(_("要素"), default=dict)
    #: The names of the elements this version changed from the one before.
    changed = models.JSONField(_("修改内容"), default=list)
    #: A change of substance after 签发 sends the document back to its signer (条例 第二十五条).
    substantive = models.BooleanField(_("实质性修改"), default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("修改人"), on_delete=models.PROTECT, related_name="+"
    )
    author_name = models.CharField(_("修改人姓名"), max_length=64)
    reason = models.CharField(_("修改说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), default=clock.now)

    class Meta:
        verbose_name = _("正文版本")
        verbose_name_plural = _("正文版本")
        ordering = ["document", "number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="documents_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.document_id} v{self.number}"


class VoidedNumber(models.Model):
    """A 发文字号 declared void: recorded in the 发文登记簿, never given again."""

    organ = models.ForeignKey(IssuingOrgan, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    seq = models.PositiveIntegerField()
    doc_no = models.CharField(_("发文字号"), max_length=64)
    document = models.ForeignKey(
        OutgoingDocument, on_delete=models.SET_NULL, null=True, blank=True, related_name="voided_numbers"
    )
    reason = models.CharField(_("作废原因"), max_length=200)
    voided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    voided_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("作废文号")
        verbose_name_plural = _("作废文号")
        constraints = [
            models.UniqueConstraint(fields=["organ", "year", "seq"], name="documents_voided_number")
        ]

    def __str__(self) -> str:
        return self.doc_no


class RecipientKind(models.TextChoices):
    MAIN = "main", _("主送")
    CC = "cc", _("抄送")


class Distribution(models.Model):
    """One copy of an outgoing document sent to a unit; it arrives there as a 收文."""

    document = models.ForeignKey(OutgoingDocument, on_delete=models.CASCADE, related_name="distributions")
    unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("收文单位"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(
        _("类别"), max_length=8, choices=RecipientKind.choices, default=RecipientKind.MAIN
    )
    #: 份号: six digits, required for classified documents (9704 §7.2.1).
    copy_no = models.CharField(_("份号"), max_length=6, blank=True)
    sent_at = models.DateTimeField(_("分发时间"), default=clock.now)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("分发记录")
        verbose_name_plural = _("分发记录")
        constraints = [
            models.UniqueConstraint(fields=["document", "unit"], name="documents_distribution_unit")
        ]

    def __str__(self) -> str:
        return f"{self.document_id} → {self.unit_id}"


class Channel(models.TextChoices):
    """How an incoming document arrived (收文登记簿)."""

    ELECTRONIC = "electronic", _("电子公文系统")
    CONFIDENTIAL = "confidential", _("机要")
    EXCHANGE = "exchange", _("交换站")
    POST = "post", _("邮寄")
    MEETING = "meeting", _("会议带回")
    OTHER = "other", _("其他")


class IncomingState(models.TextChoices):
    PENDING = "pending", _("待签收")  # distributed on the platform, not yet signed for
    REGISTERED = "registered", _("已登记")  # 签收 and 登记 done, waits for 拟办 (初审)
    PROPOSED = "proposed", _("待批办")  # 拟办意见 given, waits for the leader
    HANDLING = "handling", _("承办中")
    CIRCULATING = "circulating", _("传阅中")
    CONCLUDED = "concluded", _("已办结")
    ARCHIVED = "archived", _("已归档")
    RETURNED = "returned", _("已退回来文单位")


class IncomingDocument(models.Model):
    """One 收文 of a receiving unit, from its 签收 to 办结 (条例 第二十四条)."""

    receiving_unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("收文单位"), on_delete=models.PROTECT, related_name="+"
    )
    #: 收文号 per receiving unit and year: 收〔2026〕15号, given at 登记.
    recv_year = models.PositiveSmallIntegerField(_("收文年份"), null=True, blank=True)
    recv_seq = models.PositiveIntegerField(_("收文序号"), null=True, blank=True)
    recv_no = models.CharField(_("收文号"), max_length=32, blank=True)
    #: The outgoing document it was distributed from, when it came over the platform.
    source = models.ForeignKey(
        OutgoingDocument,
        verbose_name=_("来文"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incoming",
    )
    distribution = models.OneToOneField(
        Distribution, on_delete=models.PROTECT, null=True, blank=True, related_name="incoming"
    )
    channel = models.CharField(
        _("来文方式"), max_length=16, choices=Channel.choices, default=Channel.ELECTRONIC
    )
    sender_org = models.CharField(_("来文单位"), max_length=100)
    sender_doc_no = models.CharField(_("来文字号"), max_length=64, blank=True)
    title = models.CharField(_("标题"), max_length=200)
    doc_type = models.CharField(_("文种"), max_length=16, choices=DocType.choices, blank=True)
    classification = models.PositiveSmallIntegerField(_("密级"), default=0)
    urgency = models.CharField(_("紧急程度"), max_length=8, choices=Urgency.choices, blank=True, default="")
    date_written = models.DateField(_("成文日期"), null=True, blank=True)
    copies = models.PositiveIntegerField(_("份数"), default=1)
    copy_no = models.CharField(_("份号"), max_length=6, blank=True)
    #: The scan of a paper document (or the file of an external electronic one).
    scan = models.ForeignKey(
        "files.StoredFile",
        verbose_name=_("扫描件"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    state = models.CharField(
        _("状态"), max_length=16, choices=IncomingState.choices, default=IncomingState.PENDING
    )
    #: 阅知性 documents are circulated; 批办性 ones go to a leader for 批办 and are handled.
    for_reading = models.BooleanField(_("阅知性"), default=False)
    received_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("签收人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    proposal = models.TextField(_("拟办意见"), blank=True)
    #: The leader asked for 批办, and the 批示 they gave.
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("批办领导"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    instruction = models.TextField(_("领导批示"), blank=True)
    instructed_at = models.DateTimeField(_("批办时间"), null=True, blank=True)
    deadline = models.DateTimeField(_("办理时限"), null=True, blank=True)
    result = models.TextField(_("办理结果"), blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("办结人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    lock_version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("收文")
        verbose_name_plural = _("收文")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["receiving_unit", "recv_year", "recv_seq"],
                condition=Q(recv_seq__isnull=False),
                name="documents_incoming_unique_number",
            )
        ]
        indexes = [
            models.Index(fields=["receiving_unit", "state", "-id"], name="documents_in_unit_state"),
            models.Index(fields=["state", "deadline"], name="documents_in_deadline"),
        ]

    def __str__(self) -> str:
        return self.title


class IncomingCounter(models.Model):
    """The last 收文 序号 of a receiving unit in a year (locked while numbering)."""

    unit = models.ForeignKey("org.OrgUnit", on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "year"], name="documents_incoming_counter")]

    def __str__(self) -> str:
        return f"{self.unit_id}/{self.year}: {self.last}"


class Handling(models.Model):
    """承办: one department's part in handling a 收文 (主办 or 协办), with its deadline."""

    document = models.ForeignKey(IncomingDocument, on_delete=models.CASCADE, related_name="handlings")
    unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("承办部门"), on_delete=models.PROTECT, related_name="+"
    )
    is_lead = models.BooleanField(_("主办"), default=False)
    deadline = models.DateTimeField(_("办理时限"), null=True, blank=True)
    result = models.TextField(_("办理情况"), blank=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    #: When it was last reminded (催办 and overdue reminders are rate-limited by it).
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("承办")
        verbose_name_plural = _("承办")
        constraints = [models.UniqueConstraint(fields=["document", "unit"], name="documents_handling_unit")]
        indexes = [models.Index(fields=["unit", "done_at"], name="documents_handling_open")]

    def __str__(self) -> str:
        return f"{self.document_id} → {self.unit_id}"


class Circulation(models.Model):
    """传阅 ledger: who a document went to, when they read it and what they wrote."""

    document = models.ForeignKey(IncomingDocument, on_delete=models.CASCADE, related_name="circulations")
    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("传阅人"), on_delete=models.PROTECT, related_name="+"
    )
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(_("送阅时间"), default=clock.now)
    read_at = models.DateTimeField(_("阅毕时间"), null=True, blank=True)
    comment = models.TextField(_("阅批意见"), blank=True)

    class Meta:
        verbose_name = _("传阅")
        verbose_name_plural = _("传阅")
        constraints = [
            models.UniqueConstraint(fields=["document", "reader"], name="documents_circulation_reader")
        ]
        indexes = [models.Index(fields=["reader", "read_at"], name="documents_circulation_open")]

    def __str__(self) -> str:
        return f"{self.document_id} → {self.reader_id}"


class DocumentEvent(models.Model):
    """The process record of a document (业务行为, 行为时间, 机构人员名称 — GB/T 18894 process
    metadata), appended by the services and never changed; the archive package carries it."""

    outgoing = models.ForeignKey(
        OutgoingDocument, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    incoming = models.ForeignKey(
        IncomingDocument, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    #: 起草, 核稿, 会签, 审核, 签发, 复核, 登记, 用印, 分发, 签收, 拟办, 批办, 承办, 传阅, 催办, 办结, 归档 …
    action = models.CharField(_("业务行为"), max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(_("人员"), max_length=64)
    actor_unit = models.CharField(_("机构"), max_length=100, blank=True)
    at = models.DateTimeField(_("行为时间"), default=clock.now)
    opinion = models.TextField(_("意见"), blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["outgoing", "at"], name="documents_event_out"),
            models.Index(fields=["incoming", "at"], name="documents_event_in"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.actor_name}"


class Retention(models.TextChoices):
    """保管期限 (DA/T 22-2015; 国家档案局令第10号)."""

    PERMANENT = "Y", _("永久")
    THIRTY = "D30", _("定期30年")
    TEN = "D10", _("定期10年")


class ArchiveConfig(models.Model):
    """The archive's settings (one row): the 全宗号 and the default 保管期限 per 文种."""

    fonds_no = models.CharField(_("全宗号"), max_length=4, default="X001")
    fonds_name = models.CharField(_("全宗名称"), max_length=100, blank=True)
    #: ``{"tongzhi": "D30", …}``; a 文种 not listed gets ``DEFAULT_RETENTION``.
    retention_by_type = models.JSONField(_("各文种保管期限"), default=dict, blank=True)

    class Meta:
        verbose_name = _("档案设置")
        verbose_name_plural = _("档案设置")

    def __str__(self) -> str:
        return self.fonds_no


class ArchiveCounter(models.Model):
    """The last 件号 in the lowest class (年度, 保管期限, 机构) — gap-free, locked while numbering."""

    year = models.PositiveSmallIntegerField()
    retention = models.CharField(max_length=4, choices=Retention.choices)
    org_code = models.CharField(max_length=3, blank=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["year", "retention", "org_code"], name="documents_archive_counter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.year}-{self.retention}-{self.org_code}: {self.last}"


class ArchiveItem(models.Model):
    """One 件 of 文书档案 with its 档号 ``全宗号-WS·年度-保管期限-机构-件号`` (DA/T 22-2015)."""

    archival_code = models.CharField(_("档号"), max_length=40, unique=True)
    fonds_no = models.CharField(_("全宗号"), max_length=4)
    category = models.CharField(_("门类"), max_length=2, default="WS")
    year = models.PositiveSmallIntegerField(_("年度"))
    retention = models.CharField(_("保管期限"), max_length=4, choices=Retention.choices)
    org_code = models.CharField(_("机构代码"), max_length=3, blank=True)
    item_no = models.PositiveIntegerField(_("件号"))
    title = models.CharField(_("题名"), max_length=200)
    doc_no = models.CharField(_("文号"), max_length=64, blank=True)
    responsible = models.CharField(_("责任者"), max_length=100)
    date = models.DateField(_("日期"))
    classification = models.PositiveSmallIntegerField(_("密级"), default=0)
    pages = models.PositiveIntegerField(_("页数"), default=0)
    remarks = models.CharField(_("备注"), max_length=200, blank=True)
    outgoing = models.OneToOneField(
        OutgoingDocument, on_delete=models.PROTECT, null=True, blank=True, related_name="archive_item"
    )
    incoming = models.OneToOneField(
        IncomingDocument, on_delete=models.PROTECT, null=True, blank=True, related_name="archive_item"
    )
    #: The process record and the document's elements at 归档, as archived (metadata of the package).
    metadata = models.JSONField(_("元数据"), default=dict)
    #: SHA-256 over the components' checksums in order: the fixity of the package as a whole.
    package_sha256 = models.CharField(_("包校验值"), max_length=64)
    archived_at = models.DateTimeField(_("归档时间"), default=clock.now)
    archived_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(_("最近校验时间"), null=True, blank=True)
    verified_ok = models.BooleanField(_("校验通过"), null=True, blank=True)

    class Meta:
        verbose_name = _("档案")
        verbose_name_plural = _("档案")
        ordering = ["-year", "retention", "org_code", "item_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["fonds_no", "year", "retention", "org_code", "item_no"],
                name="documents_archive_item_no",
            )
        ]

    def __str__(self) -> str:
        return self.archival_code


class ArchiveComponent(models.Model):
    """A file of a 件, in the DA/T 22 order (处理单 first, 正本 before 定稿, 正文 before 附件)."""

    item = models.ForeignKey(ArchiveItem, on_delete=models.CASCADE, related_name="components")
    seq = models.PositiveSmallIntegerField(_("件内顺序号"))
    role = models.CharField(_("类别"), max_length=16)  # 处理单, 正本, 定稿, 附件, 来文, 扫描件 …
    file = models.ForeignKey("files.StoredFile", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("文件名"), max_length=255)
    format = models.CharField(_("格式"), max_length=128)
    size = models.PositiveBigIntegerField(_("大小"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)

    class Meta:
        verbose_name = _("档案组件")
        verbose_name_plural = _("档案组件")
        ordering = ["item", "seq"]
        constraints = [models.UniqueConstraint(fields=["item", "seq"], name="documents_component_seq")]

    def __str__(self) -> str:
        return self.name
