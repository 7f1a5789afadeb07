from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from xietong.notify.selectors import PAGE_SIZE


class NotificationQuery(Schema):
    unread: bool = Field(False, description="只列未读")
    before: int | None = Field(None, ge=1, description="游标：上一页返回的 next_before")
    limit: int = Field(PAGE_SIZE, ge=1, le=100)


class NotificationOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    body: str
    link: str
    urgency: str
    actor: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPageOut(Schema):
    items: list[NotificationOut]
    next_before: int | None


class CountOut(Schema):
    count: int


class MarkReadIn(Schema):
    ids: list[int] = Field(..., max_length=1000, description="要标为已读的通知编号（只对本人的通知生效）")


class MarkReadOut(Schema):
    updated: int
    count: int


class KindPreference(Schema):
    kind: str
    label: str = ""
    in_app: bool
    email: bool


class PreferencesOut(Schema):
    kinds: list[KindPreference]
    quiet_start: dt.time | None
    quiet_end: dt.time | None
    digest: bool
    digest_hour: int


class PreferencesIn(Schema):
    kinds: list[KindPreference] = Field(default_factory=list, max_length=500)
    quiet_start: dt.time | None = None
    quiet_end: dt.time | None = None
    digest: bool = False
    digest_hour: int = Field(8, ge=0, le=23)
