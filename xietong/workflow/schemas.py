"""Request and response bodies of the approvals API (``xietong.workflow.api``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

REQUEST_ID_DESCRIPTION = (
    "幂等键：1–64 个字母、数字或 _ . : -；同一请求重发时带相同的值只执行一次。"
    "也可用请求头 Idempotency-Key 传入；都不传时每次请求视为新请求。"
)
LOCK_VERSION_DESCRIPTION = "读取审批单时得到的 lock_version；若审批单已被他人修改则返回 409。"


# --------------------------------------------------------------------------- shared parts


class PersonOut(Schema):
    id: int
    username: str
    name: str


class FlowRefOut(Schema):
    id: int
    code: str
    name: str


class FieldOut(Schema):
    key: str
    type: str
    label: str
    required: bool


class ChooseNodeOut(Schema):
    id: str = Field(..., description="节点编号，作为 chosen 的键")
    name: str
    multiple: bool


class FlowOut(Schema):
    id: int
    code: str
    name: str
    category: str
    category_label: str
    description: str
    icon: str
    version: int = Field(..., description="当前发布版本号")
    fields: list[FieldOut] = Field(..., description="表单字段摘要（不含说明文字）")


class FlowDetailOut(FlowOut):
    form: dict[str, Any] = Field(..., description='当前版本的完整表单定义：{"fields": [...]}')
    choose_nodes: list[ChooseNodeOut] = Field(..., description="需要发起人自选审批人的节点")


class FlowListOut(Schema):
    count: int
    items: list[FlowOut]


# --------------------------------------------------------------------------- instances


class InstanceOut(Schema):
    id: int
    serial: str | None
    title: str
    flow: FlowRefOut
    state: str
    state_label: str
    urgent: bool
    classification: int
    initiator: PersonOut
    current_label: str = Field(..., description="当前环节")
    round: int
    lock_version: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    updated_at: dt.datetime
    url: str = Field(..., description="网页中的审批单地址")


class InstancePageOut(Schema):
    count: int
    items: list[InstanceOut]


class DisplayFileOut(Schema):
    key: str
    name: str
    size: int | None


class DisplayTableOut(Schema):
    columns: list[str]
    rows: list[list[str]]
    sums: list[str] | None


class DisplayRowOut(Schema):
    key: str
    label: str
    type: str
    text: str = Field(..., description="格式化后的值，如“¥12,345.60”")
    uppercase: str = Field(..., description="金额大写")
    table: DisplayTableOut | None
    files: list[DisplayFileOut]


class HolderOut(Schema):
    item_id: int
    user: PersonOut
    kind: str
    state: str
    state_label: str
    via: str
    delegated_from: PersonOut | None
    due_at: dt.datetime | None
    acted_at: dt.datetime | None
    opinion: str
    signed: bool = Field(..., description="是否附有手写签名")


class StepOut(Schema):
    id: int
    node_id: str
    node_name: str
    node_type: str
    mode: str
    state: str
    state_label: str
    round: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    holders: list[HolderOut]


class ActionOut(Schema):
    id: int
    kind: str
    kind_label: str
    actor: PersonOut | None
    target_user: PersonOut | None
    from_node: str
    to_node: str
    opinion: str
    round: int
    created_at: dt.datetime


class ReturnTargetOut(Schema):
    target: str
    label: str


class MyItemOut(Schema):
    """What the caller may do now on this request."""

    item_id: int
    kind: str
    node_id: str
    node_name: str
    signature_required: bool
    opinion_required: list[str] = Field(..., description="必须填写意见的操作")
    editable_fields: list[str] = Field(..., description="同意时可修改的字段")
    return_targets: list[ReturnTargetOut]


class InstanceDetailOut(InstanceOut):
    data: dict[str, Any] = Field(..., description="表单数据（对您隐藏的字段不返回）")
    display: list[DisplayRowOut]
    chosen: dict[str, list[int]]
    current_steps: list[StepOut] = Field(..., description="进行中的环节及其处理人")
    steps: list[StepOut] = Field(..., description="所有环节")
    timeline: list[ActionOut]
    my_item: MyItemOut | None = Field(None, description="您在此审批单上的待办（可操作时）")


class InstanceQuery(Schema):
    flow: int | None = Field(None, description="流程 id")
    category: str = Field("", max_length=16)
    q: str = Field("", max_length=100, description="搜索标题、审批编号")
    state: str = Field(
        "", pattern="^(|draft|running|returned|approved|rejected|withdrawn|revoked|terminated)$"
    )
    urgent: bool | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(20, ge=1, le=100)


class ActionIn(Schema):
    request_id: str | None = Field(None, max_length=64, description=REQUEST_ID_DESCRIPTION)


class DecisionIn(ActionIn):
    lock_version: int | None = Field(None, ge=0, description=LOCK_VERSION_DESCRIPTION)


class StartIn(ActionIn):
    flow_id: int | None = Field(None, description="流程 id（与 flow_code 二选一）")
    flow_code: str | None = Field(None, max_length=64, description="流程编码")
    data: dict[str, Any] = Field(default_factory=dict, description="表单数据，键为字段 key")
    title: str = Field("", max_length=200, description="标题；不填时取表单的 title 字段或自动生成")
    urgent: bool = False
    level: int = Field(0, ge=0, le=9, description="密级")
    chosen: dict[str, list[int]] = Field(
        default_factory=dict, description="自选审批人：{节点编号: [用户 id, …]}"
    )
    draft: bool = Field(False, description="true：只保存草稿，不提交")


class SubmitIn(DecisionIn):
    data: dict[str, Any] | None = Field(None, description="不传则按草稿内容提交")
    title: str = Field("", max_length=200)
    urgent: bool | None = None
    level: int | None = Field(None, ge=0, le=9)
    chosen: dict[str, list[int]] | None = None


class ResubmitIn(DecisionIn):
    data: dict[str, Any] | None = Field(None, description="修改后的表单数据；不传则不改")
    title: str | None = Field(None, max_length=200)
    chosen: dict[str, list[int]] | None = None


class ReasonIn(DecisionIn):
    reason: str = Field("", max_length=2000)


class UrgeIn(ActionIn):
    message: str = Field("", max_length=200)


class CommentIn(ActionIn):
    text: str = Field(..., max_length=2000)
    mentions: list[int] = Field(default_factory=list, max_length=50, description="@提及的用户 id")


class CirculateIn(ActionIn):
    users: list[int] = Field(..., max_length=50, description="传阅给的用户 id")
    note: str = Field("", max_length=2000)


# --------------------------------------------------------------------------- work items


class InstanceBriefOut(Schema):
    id: int
    serial: str | None
    title: str
    flow: FlowRefOut
    state: str
    initiator: PersonOut
    current_label: str
    lock_version: int
    url: str


class ItemOut(Schema):
    id: int
    kind: str
    kind_label: str
    state: str
    state_label: str
    node_name: str
    urgent: bool
    overdue: bool
    due_at: dt.datetime | None
    created_at: dt.datetime
    acted_at: dt.datetime | None
    opinion: str
    delegated_from: PersonOut | None
    instance: InstanceBriefOut


class ItemPageOut(Schema):
    count: int
    items: list[ItemOut]


class ItemQuery(Schema):
    box: str = Field("todo", pattern="^(todo|done|cc|read)$", description="待办 / 已办 / 抄送我的 / 传阅")
    flow: int | None = None
    category: str = Field("", max_length=16)
    q: str = Field("", max_length=100, description="搜索标题、审批编号")
    urgent: bool | None = None
    overdue: bool | None = Field(None, description="待办：只列超时（true）或未超时（false）")
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(20, ge=1, le=100)


class CountsOut(Schema):
    todo: int
    urgent: int
    overdue: int
    cc: int
    read: int
    returned: int = Field(..., description="我发起的、被退回待重新提交的审批")


class ApproveIn(DecisionIn):
    opinion: str = Field("", max_length=2000)
    data: dict[str, Any] | None = Field(None, description="本环节可编辑字段的新值")
    signature: str | None = Field(None, max_length=64, description="手写签名图片的文件标识（先上传）")


class RejectIn(DecisionIn):
    opinion: str = Field("", max_length=2000)
    signature: str | None = Field(None, max_length=64)


class ReturnIn(DecisionIn):
    target: str = Field(
        "initiator", max_length=32, description="initiator 发起人 / previous 上一节点 / 节点编号"
    )
    opinion: str = Field("", max_length=2000)


class TransferIn(DecisionIn):
    to: int = Field(..., description="转交给的用户 id")
    opinion: str = Field("", max_length=2000)


class AddSignIn(DecisionIn):
    users: list[int] = Field(..., min_length=1, max_length=10, description="加签人员的用户 id")
    position: str = Field(..., pattern="^(before|after|parallel)$", description="前加签 / 后加签 / 并加签")
    opinion: str = Field("", max_length=2000)


class ReadIn(ActionIn):
    opinion: str = Field("", max_length=2000, description="阅知意见")


class FileOut(Schema):
    key: str
    name: str
    size: int
    content_type: str
