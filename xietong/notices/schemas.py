from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class NoticeQuery(Schema):
    box: str = Field(
        "received", pattern="^(received|published|unit)$", description="我收到的 / 我发布的 / 本部门"
    )
    q: str = Field("", max_length=100, description="搜索标题、地点、正文、发布人")
    only: str = Field("", pattern="^(|unread|awaiting)$", description="我收到的：只列未读或待回执")
    offset: int = Field(0, ge=0)
    limit: int = Field(20, ge=1, le=100)


class PersonOut(Schema):
    id: int
    username: str
    name: str


class MyReceiptOut(Schema):
    read_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    reply: str
    note: str
    replied_at: dt.datetime | None
    signed_in_at: dt.datetime | None
    awaiting: bool


class NoticeOut(Schema):
    id: int
    title: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    place: str
    audience_summary: str
    receipt_mode: str
    receipt_due: dt.datetime | None
    urgency: str
    classification: int
    classification_label: str
    status: str
    publisher: PersonOut
    publisher_unit: str | None
    published_at: dt.datetime | None
    edited_at: dt.datetime | None
    revision: int
    recipient_count: int
    mine: MyReceiptOut | None = None


class AttachmentOut(Schema):
    key: str
    name: str
    size: int
    content_type: str
    url: str = Field(..., description="网页中的下载地址（登录会话）")
    download_url: str = Field(..., description="接口下载地址：GET /api/v1/notices/{id}/attachments/{key}")


class NoticeDetailOut(NoticeOut):
    body: str
    body_text: str
    audience: list[str]
    signin_enabled: bool
    attachments: list[AttachmentOut]


class NoticePageOut(Schema):
    count: int
    items: list[NoticeOut]


class NoticeIn(Schema):
    title: str = Field("", max_length=200)
    body: str = Field("", max_length=100_000, description="HTML（保存前按白名单清理）")
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    place: str = Field("", max_length=200)
    audience: list[str] = Field(
        default_factory=list, max_length=500, description='相关人员：["user:7", "unit:3", "everyone"]'
    )
    receipt_mode: str = Field("none", description="none 无需回执 / read 阅读确认 / attend 参加回执")
    receipt_due: dt.datetime | None = None
    urgency: str = Field("normal", description="normal / urgent（急办）")
    classification: int = Field(1, ge=0, le=9)
    signin_enabled: bool = False
    publish: bool = Field(True, description="false：只保存草稿")


class NoticeEditIn(Schema):
    title: str = Field(..., max_length=200)
    body: str = Field(..., max_length=100_000)
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None = None
    place: str = Field(..., max_length=200)
    receipt_due: dt.datetime | None = None


class WithdrawIn(Schema):
    reason: str = Field("", max_length=200)


class ReceiptIn(Schema):
    action: str = Field(
        ...,
        pattern="^(confirm|attend|decline)$",
        description="confirm 确认已阅 / attend 参加 / decline 不参加",
    )
    note: str = Field("", max_length=200)


class TotalsOut(Schema):
    recipients: int
    read: int
    unread: int
    confirmed: int
    attend: int
    decline: int
    answered: int
    unanswered: int
    signed_in: int


class UnitTotalsOut(Schema):
    unit_id: int | None
    name: str
    totals: TotalsOut


class ReceiptsOut(Schema):
    notice_id: int
    receipt_mode: str
    totals: TotalsOut
    units: list[UnitTotalsOut]
    next_remind_at: dt.datetime | None


class PeopleQuery(Schema):
    status: str = Field("", pattern="^(|unread|read|unanswered|confirmed|attend|decline|signed_in)$")
    unit: int | None = None
    q: str = Field("", max_length=50)
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class PersonReceiptOut(Schema):
    user: PersonOut
    unit: str | None
    read_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    reply: str
    note: str
    replied_at: dt.datetime | None
    signed_in_at: dt.datetime | None
    reminded_at: dt.datetime | None


class PeoplePageOut(Schema):
    count: int
    items: list[PersonReceiptOut]


class RemindOut(Schema):
    reminded: int
    next_remind_at: dt.datetime | None
