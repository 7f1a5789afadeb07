"""Request and response bodies of the moderation API (``xietong.moderation.api``)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

ActionName = Literal["block", "hold"]

#: A check accepts up to this many characters in all: about a megabyte of Chinese (the
#: benchmark's size), and under Django's 2.5 MB request limit even as escaped JSON.
CHECK_MAX_CHARS = 300_000


class CategoryOut(Schema):
    id: int
    name: str
    description: str
    default_action: ActionName
    active_words: int = Field(0, description="启用的敏感词数")


class CategoryIn(Schema):
    name: str = Field(..., min_length=1, max_length=32)
    description: str = Field("", max_length=200)
    default_action: ActionName = "block"


class PersonRef(Schema):
    id: int
    username: str
    name: str


class WordOut(Schema):
    id: int
    word: str
    normalized: str = Field(description="归一化形式：匹配时实际比较的写法")
    category_id: int
    category: str
    action: ActionName
    is_active: bool
    note: str
    created_by: PersonRef | None
    created_at: dt.datetime
    updated_at: dt.datetime


class WordPageOut(Schema):
    count: int
    items: list[WordOut]


class WordQuery(Schema):
    q: str = Field("", max_length=100, description="敏感词或备注包含")
    category_id: int | None = None
    action: ActionName | None = None
    is_active: bool | None = None
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


class WordIn(Schema):
    word: str = Field(..., min_length=1, max_length=100)
    category_id: int
    action: ActionName | None = Field(None, description="省略时按分类的默认处理方式")
    note: str = Field("", max_length=200)


class WordPatch(Schema):
    """Only the fields sent are changed; ``is_active: false`` stops matching the word."""

    word: str | None = Field(None, min_length=1, max_length=100)
    category_id: int | None = None
    action: ActionName | None = None
    note: str | None = Field(None, max_length=200)
    is_active: bool | None = None


class CheckIn(Schema):
    fields: dict[str, str] = Field(
        ...,
        description='待检测的各项内容，如 {"title": "…", "body": "…"}；各项分别匹配',
        max_length=50,
    )


class HitOut(Schema):
    field: str
    word: str
    category: str
    action: ActionName
    start: int = Field(description="在该项原文中的起始位置（字符）")
    end: int
    text: str = Field(description="原文中命中的片段（含夹在中间的空格、符号）")


class VerdictOut(Schema):
    action: Literal["allow", "hold", "block"] = Field(
        description="allow 可直接保存；hold 保存后须送审；block 将被拒绝"
    )
    words: list[str]
    hits: list[HitOut]


class ReviewOut(Schema):
    id: int
    object: str = Field(description="被审对象：app_label.model#id")
    context: str
    fields: dict[str, str]
    hits: list[HitOut]
    words: list[str]
    classification: int
    submitted_by: PersonRef
    submitted_at: dt.datetime
    status: Literal["pending", "approved", "rejected", "withdrawn"]
    reviewed_by: PersonRef | None
    reviewed_at: dt.datetime | None
    note: str


class ReviewPageOut(Schema):
    count: int
    items: list[ReviewOut]


class ReviewQuery(Schema):
    status: Literal["pending", "approved", "rejected", "withdrawn", "all"] = "pending"
    limit: int = Field(20, ge=1, le=200)
    offset: int = Field(0, ge=0)


class DecisionIn(Schema):
    note: str = Field("", max_length=500)


class ViolatorOut(Schema):
    user: PersonRef
    total: int
    recent: int = Field(description="近 90 天内的次数")
    reported: int = Field(description="通报部门负责人的次数")
    last_at: dt.datetime


class ViolatorPageOut(Schema):
    count: int
    items: list[ViolatorOut]


class ViolatorQuery(Schema):
    q: str = Field("", max_length=64)
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0)


class SanctionOut(Schema):
    id: int
    kind: str
    kind_label: str
    note: str
    decided_by: PersonRef
    decided_at: dt.datetime
    effect: dict[str, object]


class ViolationOut(Schema):
    id: int
    user: PersonRef
    source: str
    rule: str
    context: str
    words: list[str]
    severity: str
    outcome: str
    escalation: str
    occurrence: int
    handler: PersonRef | None
    reported_to: list[PersonRef]
    sanctions: list[SanctionOut]
    created_at: dt.datetime


class SanctionIn(Schema):
    kind: Literal["verbal_warning", "written_warning", "fine", "demotion", "suspension", "dismissal"]
    note: str = Field("", max_length=500)


ReasonName = Literal["unrelated", "abuse", "false", "secret", "other"]
ReportStatusName = Literal["pending", "hidden", "dismissed"]


class ReportIn(Schema):
    target: str = Field(
        ..., min_length=3, max_length=200, description="被举报对象：app_label.model:pk，如 portal.comment:12"
    )
    reason: ReasonName = Field(
        description="unrelated 与工作无关；abuse 辱骂攻击；false 诽谤不实；secret 泄密；other 其他"
    )
    note: str = Field("", max_length=500)


class ReportReceiptOut(Schema):
    """What the reporter gets back: their report, not the moderators' view of it."""

    id: int
    target: str
    reason: ReasonName
    status: ReportStatusName
    created_at: dt.datetime


class ReportOut(Schema):
    id: int
    target: str = Field(description="被举报对象：app_label.model:pk")
    reason: ReasonName
    reason_label: str
    note: str
    title: str = Field(description="举报时举报人看到的标题")
    excerpt: str = Field(description="举报时举报人看到的内容摘录")
    link: str
    author: PersonRef | None
    classification: int
    reporter: PersonRef
    created_at: dt.datetime
    status: ReportStatusName
    handled_by: PersonRef | None
    handled_at: dt.datetime | None
    outcome_note: str
    violation_id: int | None
    target_reports: int = Field(description="同一对象的举报总数")
    target_pending: int = Field(description="同一对象待处理的举报数")


class ReportPageOut(Schema):
    count: int
    items: list[ReportOut]


class ReportQuery(Schema):
    status: Literal["pending", "hidden", "dismissed", "all"] = "pending"
    reason: ReasonName | None = None
    limit: int = Field(20, ge=1, le=200)
    offset: int = Field(0, ge=0)


class ReportResolveIn(Schema):
    hide: bool = Field(description="true 屏蔽该内容；false 不予处理")
    note: str = Field("", max_length=500)
    violation: bool = Field(False, description="同时为作者登记违规（仅屏蔽时）")
    severity: Literal["minor", "general", "serious"] | None = Field(None, description="省略时按违规次数定级")
