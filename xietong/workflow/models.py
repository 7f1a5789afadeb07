"""The approval engine's data (issue #5, R-74…R-81).

A flow is designed as a ``FlowDefinition`` whose ``FlowVersion`` rows hold the form and the
flow JSON; publishing a version makes it the one new requests start on, while running
instances finish on the version they started with. A request is an ``Instance``; each step it
reaches is an ``Activation`` of a node of the flow tree; each person asked to act on a step
holds a ``WorkItem`` — the inbox is a plain indexed query over those. Everything that
happens is appended to ``Action``, the instance's log.

Write through ``xietong.workflow.services`` only: the services keep the rows of one instance
consistent with each other under the instance's row lock.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xietong.core import clock


class Category(models.TextChoices):
    REQUEST = "request", _("请示批复")
    LIAISON = "liaison", _("联系单")
    CONTRACT = "contract", _("合同")
    SEAL = "seal", _("用印")
    PERSONNEL = "personnel", _("人事")
    FINANCE = "finance", _("财务")
    ADMINISTRATION = "administration", _("行政")
    OTHER = "other", _("其他")


class FlowDefinition(models.Model):
    """A kind of request people can start (请示, 联系单, 合同会审 …) and its published version."""

    code = models.SlugField(_("编码"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    category = models.CharField(_("分类"), max_length=16, choices=Category.choices, default=Category.OTHER)
    description = models.CharField(_("说明"), max_length=500, blank=True)
    #: A bootstrap-icons name, e.g. ``file-earmark-text``.
    icon = models.CharField(_("图标"), max_length=64, blank=True)
    owner_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("归口部门"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    #: 流程管理员: may terminate this flow's instances and revoke approved ones at any time.
    admins = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("流程管理员"), blank=True, related_name="administered_flows"
    )
    is_active = models.BooleanField(_("启用"), default=True)
    current_version = models.ForeignKey(
        "FlowVersion",
        verbose_name=_("当前版本"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    updated_at = models.DateTimeField(_("修改时间"), default=clock.now)

    class Meta:
        verbose_name = _("审批流程")
        verbose_name_plural = _("审批流程")
        ordering = ["category", "name"]

    def __str__(self) -> str:
        return self.name


class FlowVersion(models.Model):
    """One version of a flow's form and route. Published versions are never edited: a change
    is a new version, so that every instance keeps the rules it started under."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        RETIRED = "retired", _("已停用")

    definition = models.ForeignKey(
        FlowDefinition, verbose_name=_("流程"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("版本号"))
    form = models.JSONField(_("表单"), default=dict)
    flow = models.JSONField(_("流程"), default=dict)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发布人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    #: The 流程管理员 named in this version's settings (``admin_user_ids``), kept as rows when
    #: it is published, so that they find the requests that run on it.
    admins = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("本版本的流程管理员"), blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("流程版本")
        verbose_name_plural = _("流程版本")
        ordering = ["definition", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "number"], name="workflow_version_number_unique"),
            models.UniqueConstraint(
                fields=["definition"],
                condition=Q(status="published"),
                name="workflow_version_one_published",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.definition_id} v{self.number}"


class InstanceState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    RUNNING = "running", _("审批中")
    RETURNED = "returned", _("已退回")
    APPROVED = "approved", _("已通过")
    REJECTED = "rejected", _("已拒绝")
    WITHDRAWN = "withdrawn", _("已撤回")
    REVOKED = "revoked", _("已撤销")
    TERMINATED = "terminated", _("已终止")


#: The states in which an instance still waits for someone.
OPEN_STATES = (InstanceState.RUNNING, InstanceState.RETURNED)
#: The states that end an instance (撤销 follows 通过, so approved is final too until revoked).
FINAL_STATES = (
    InstanceState.APPROVED,
    InstanceState.REJECTED,
    InstanceState.WITHDRAWN,
    InstanceState.REVOKED,
    InstanceState.TERMINATED,
)


class SerialCounter(models.Model):
    """The last serial number given on one day (``SP-20261129`` → 17), locked while counting."""

    prefix = models.CharField(max_length=32, unique=True)
    value = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("审批编号计数")
        verbose_name_plural = _("审批编号计数")

    def __str__(self) -> str:
        return f"{self.prefix}:{self.value}"


class Instance(models.Model):
    """One request: its form data and where it stands."""

    version = models.ForeignKey(
        FlowVersion, verbose_name=_("流程版本"), on_delete=models.PROTECT, related_name="instances"
    )
    #: Copied from the version, so that lists filter by flow without a join.
    definition = models.ForeignKey(
        FlowDefinition, verbose_name=_("流程"), on_delete=models.PROTECT, related_name="instances"
    )
    #: ``SP-20261129-0001``, given when the request is first submitted (drafts have none).
    serial = models.CharField(_("审批编号"), max_length=32, unique=True, null=True, blank=True)
    title = models.CharField(_("标题"), max_length=200)
    initiator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发起人"), on_delete=models.PROTECT, related_name="+"
    )
    #: The initiator's primary unit when the request was submitted (supervision scopes use it).
    initiator_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("发起部门"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    data = models.JSONField(_("表单数据"), default=dict)
    #: Approvers the initiator picked for ``initiator_chooses`` nodes: ``{node id: [user ids]}``.
    chosen = models.JSONField(_("自选审批人"), default=dict)
    urgent = models.BooleanField(_("急办"), default=False)
    classification = models.PositiveSmallIntegerField(_("密级"), default=0)
    state = models.CharField(
        _("状态"), max_length=16, choices=InstanceState.choices, default=InstanceState.DRAFT
    )
    #: Resubmission counter: 0 for the first submission, +1 for each resubmission after 退回.
    round = models.PositiveIntegerField(_("轮次"), default=0)
    #: The node that returned the request to its initiator (the 直达 resubmission goes there).
    resume_node_id = models.CharField(_("退回节点"), max_length=32, blank=True)
    #: Set by 转交 / 加签 / 退回 in the current round: approvals must then be given again
    #: rather than de-duplicated (§4.1 自动去重 (c)).
    dedup_blocked = models.BooleanField(_("禁止自动去重"), default=False)
    #: The nodes waiting now, for lists: ids and a readable line of their names.
    current_node_ids = models.JSONField(_("当前节点"), default=list)
    current_label = models.CharField(_("当前环节"), max_length=200, blank=True)
    #: The idempotency key of the request that created this row (draft save or start).
    create_request_id = models.CharField(max_length=64, blank=True)
    #: Raised by every change: a client that sends the value it read is refused when someone
    #: else changed the request meanwhile (optimistic concurrency on top of the row lock).
    lock_version = models.PositiveIntegerField(_("版本"), default=0)
    #: 补录 (R-81): decided offline in an exceptional case and registered afterwards; its
    #: ``BACKFILL`` action names who decided, when, why it was offline, and the scans.
    backfilled = models.BooleanField(_("补录"), default=False)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    started_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("修改时间"), default=clock.now)

    class Meta:
        verbose_name = _("审批单")
        verbose_name_plural = _("审批单")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["initiator", "create_request_id"],
                condition=~Q(create_request_id=""),
                name="workflow_instance_create_request_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["initiator", "state", "created_at"], name="workflow_instance_mine"),
            models.Index(fields=["definition", "state"], name="workflow_instance_flow_state"),
            models.Index(fields=["initiator_unit", "state"], name="workflow_instance_unit_state"),
        ]

    def __str__(self) -> str:
        return self.serial or self.title

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class Activation(models.Model):
    """One node reached by one instance in one round (a node re-run after 退回 gets a new row)."""

    class State(models.TextChoices):
        ACTIVE = "active", _("进行中")
        COMPLETED = "completed", _("已完成")
        REJECTED = "rejected", _("已拒绝")
        SKIPPED = "skipped", _("已跳过")
        CANCELLED = "cancelled", _("已取消")
        RETURNED = "returned", _("已退回")

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="activations")
    node_id = models.CharField(_("节点"), max_length=32)
    #: approval / handle / cc / condition / parallel, copied from the node.
    node_type = models.CharField(_("节点类型"), max_length=16)
    node_name = models.CharField(_("节点名称"), max_length=100, blank=True)
    #: The branch-node and branch ids above the node, joined with "/".
    branch_path = models.CharField(_("分支路径"), max_length=500, blank=True)
    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.ACTIVE)
    #: sequential / all / any for approval and handle nodes.
    mode = models.CharField(_("审批方式"), max_length=16, blank=True)
    #: The planned approvers in order (``[user id, …]``); sequential nodes open them one by one.
    assignees = models.JSONField(_("审批人"), default=list)
    #: Per planned approver, why they were approved automatically (``{user id: reason}``).
    auto = models.JSONField(_("自动处理"), default=dict)
    #: Condition nodes: the branch taken; parallel nodes: ``done`` lists the finished branches.
    chosen_branch = models.CharField(_("所选分支"), max_length=32, blank=True)
    detail = models.JSONField(_("详情"), default=dict)
    #: The approval or handling step that actually ran just before this one (for 退回上一节点
    #: and for de-duplication of consecutive approvals).
    previous = models.ForeignKey(
        "self", verbose_name=_("上一环节"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    round = models.PositiveIntegerField(_("轮次"), default=0)
    started_at = models.DateTimeField(_("开始时间"), default=clock.now)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("流程环节")
        verbose_name_plural = _("流程环节")
        ordering = ["pk"]
        indexes = [models.Index(fields=["instance", "state"], name="workflow_activation_state")]

    def __str__(self) -> str:
        return f"{self.instance_id}:{self.node_id}#{self.round}"


class WorkItem(models.Model):
    """One person's part in a step: a vote (审批), a task (办理), or something to read (抄送, 传阅)."""

    class Kind(models.TextChoices):
        APPROVE = "approve", _("审批")
        HANDLE = "handle", _("办理")
        CC = "cc", _("抄送")
        READ = "read", _("传阅")

    class State(models.TextChoices):
        PENDING = "pending", _("待处理")
        APPROVED = "approved", _("已同意")
        REJECTED = "rejected", _("已拒绝")
        RETURNED = "returned", _("已退回")
        TRANSFERRED = "transferred", _("已转交")
        ADDED_WAIT = "added_wait", _("等待加签")
        CANCELLED = "cancelled", _("已取消")
        AUTO_APPROVED = "auto_approved", _("自动通过")
        DONE = "done", _("已阅")

    class AutoReason(models.TextChoices):
        DEDUP = "dedup", _("审批人去重")
        EMPTY = "empty", _("审批人为空")
        TIMEOUT = "timeout", _("超时自动处理")
        RULE = "rule", _("规则自动处理")
        SELF = "self", _("发起人本人审批")

    class Via(models.TextChoices):
        """How the item reached its holder."""

        PLAN = "", _("流程指定")
        TRANSFER = "transfer", _("转交")
        ADD_BEFORE = "add_before", _("前加签")
        ADD_AFTER = "add_after", _("后加签")
        ADD_PARALLEL = "add_parallel", _("并加签")
        ADMIN = "admin", _("审批人为空，转审批管理员")
        CIRCULATE = "circulate", _("传阅")

    activation = models.ForeignKey(
        Activation, on_delete=models.CASCADE, null=True, blank=True, related_name="items"
    )
    #: Copied from the activation so that the inbox needs no join.
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="items")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("处理人"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, default=Kind.APPROVE)
    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.PENDING)
    auto_reason = models.CharField(_("自动处理原因"), max_length=16, choices=AutoReason.choices, blank=True)
    #: The place in a sequential (依次) node; the same for a transferred item and its successor.
    order = models.PositiveIntegerField(_("顺序"), default=0)
    via = models.CharField(_("来源"), max_length=16, choices=Via.choices, blank=True, default=Via.PLAN)
    #: The item this one came from (转交 / 加签), for the record.
    origin = models.ForeignKey(
        "self", verbose_name=_("来源事项"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: For 加签: the item that added this one (transfers keep it). The added people act as a
    #: 会签 group; a 前加签 anchor waits for them and then comes back to its holder.
    anchor = models.ForeignKey(
        "self",
        verbose_name=_("加签发起事项"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    #: 委托: the principal this item was routed away from ("X 代 Y").
    delegated_from = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("委托人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    due_at = models.DateTimeField(_("办理时限"), null=True, blank=True)
    urgent = models.BooleanField(_("急办"), default=False)
    created_at = models.DateTimeField(_("到达时间"), default=clock.now)
    acted_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    opinion = models.TextField(_("意见"), blank=True)
    signature = models.ForeignKey(
        "files.StoredFile",
        verbose_name=_("手写签名"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)
    #: When the overdue item was reported (to its holder, and up to their head if escalated).
    overdue_at = models.DateTimeField(_("超时时间"), null=True, blank=True)
    escalated = models.BooleanField(_("已上报"), default=False)
    #: The idempotency key of the action that closed this item.
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("待办事项")
        verbose_name_plural = _("待办事项")
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["assignee", "state", "urgent", "due_at"], name="workflow_item_todo"),
            models.Index(fields=["assignee", "state", "acted_at"], name="workflow_item_done"),
            models.Index(fields=["instance", "state"], name="workflow_item_instance"),
            models.Index(fields=["state", "due_at"], name="workflow_item_sla"),
            models.Index(fields=["delegated_from", "state"], name="workflow_item_delegated"),
        ]

    def __str__(self) -> str:
        return f"{self.instance_id}:{self.assignee_id}:{self.state}"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING


class Action(models.Model):
    """The append-only log of one instance: every human and automatic step, in order."""

    class Kind(models.TextChoices):
        START = "start", _("提交")
        APPROVE = "approve", _("同意")
        REJECT = "reject", _("拒绝")
        RETURN = "return", _("退回")
        RESUBMIT = "resubmit", _("重新提交")
        WITHDRAW = "withdraw", _("撤回")
        REVOKE = "revoke", _("撤销")
        TERMINATE = "terminate", _("终止")
        TRANSFER = "transfer", _("转交")
        ADD_SIGN_BEFORE = "add_sign_before", _("前加签")
        ADD_SIGN_AFTER = "add_sign_after", _("后加签")
        ADD_SIGN_PARALLEL = "add_sign_parallel", _("并加签")
        URGE = "urge", _("催办")
        COMMENT = "comment", _("评论")
        CC = "cc", _("抄送")
        READ = "read", _("已阅")
        CIRCULATE = "circulate", _("传阅")
        AUTO_APPROVE = "auto_approve", _("自动通过")
        SKIP = "skip", _("自动跳过")
        DELEGATE = "delegate", _("委托")
        TIMEOUT_REMIND = "timeout_remind", _("超时提醒")
        ESCALATE = "escalate", _("超时上报")
        FINISH = "finish", _("流程结束")
        #: A supervisor moved a pending item to another person (改派, 批量移交).
        REASSIGN = "reassign", _("改派")
        #: A matter decided offline, registered afterwards (补录, R-81).
        BACKFILL = "backfill", _("补录")

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="actions")
    work_item = models.ForeignKey(
        WorkItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: None for what the engine did by itself (自动通过, 跳过, 超时).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(_("操作"), max_length=24, choices=Kind.choices)
    from_node = models.CharField(_("所在节点"), max_length=32, blank=True)
    to_node = models.CharField(_("目标节点"), max_length=32, blank=True)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("相关人员"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    opinion = models.TextField(_("意见"), blank=True)
    #: SHA-256 of the form data as it was at this step (§4.1 de-duplication, and the record).
    data_hash = models.CharField(_("数据摘要"), max_length=64, blank=True)
    details = models.JSONField(_("详情"), default=dict)
    round = models.PositiveIntegerField(_("轮次"), default=0)
    created_at = models.DateTimeField(_("时间"), default=clock.now)
    #: The client's idempotency key: the same request sent twice is applied once.
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("审批记录")
        verbose_name_plural = _("审批记录")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "request_id"],
                condition=~Q(request_id=""),
                name="workflow_action_request_unique",
            ),
        ]
        indexes = [models.Index(fields=["instance", "kind", "created_at"], name="workflow_action_kind")]

    def __str__(self) -> str:
        return f"{self.instance_id}:{self.kind}"


class Delegation(models.Model):
    """委托 (out of office): new items of ``principal`` go to ``delegate`` between the two
    times, for the listed flows (none listed: every flow)."""

    principal = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("委托人"), on_delete=models.CASCADE, related_name="+"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("受托人"), on_delete=models.CASCADE, related_name="+"
    )
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    definitions = models.ManyToManyField(
        FlowDefinition, verbose_name=_("委托的流程"), blank=True, related_name="+"
    )
    reason = models.CharField(_("事由"), max_length=200, blank=True)
    is_active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("审批委托")
        verbose_name_plural = _("审批委托")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="workflow_delegation_period"
            ),
            models.UniqueConstraint(
                fields=["principal", "request_id"],
                condition=~Q(request_id=""),
                name="workflow_delegation_request_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["principal", "is_active", "ends_at"], name="workflow_delegation_active")
        ]

    def __str__(self) -> str:
        return f"{self.principal_id}→{self.delegate_id}"


class Phrase(models.Model):
    """常用意见: a user's own opinion snippets, offered when they approve."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(_("意见"), max_length=200)
    order = models.PositiveIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("常用意见")
        verbose_name_plural = _("常用意见")
        ordering = ["user", "order", "pk"]

    def __str__(self) -> str:
        return self.text


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("放假")
    WORKDAY = "workday", _("调休上班")


class CalendarDay(models.Model):
    """An exception to the working week for counting working hours: a public holiday on a
    weekday (放假), or a weekend day worked in exchange for one (调休上班). Maintained by the
    flow administrators from the State Council's yearly holiday notice."""

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=DayKind.choices)
    name = models.CharField(_("名称"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("节假日安排")
        verbose_name_plural = _("节假日安排")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"
