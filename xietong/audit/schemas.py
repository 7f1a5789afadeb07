from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any, Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import field_validator

from xietong.audit.selectors import PAGE_SIZE, EventFilters


class EventQuery(Schema):
    user: str = Field("", max_length=64, description="用户名或姓名包含")
    department: int | None = Field(None, ge=1, description="组织单元编号：操作人主岗在该单元或其下级")
    action: str = Field("", max_length=100, description="操作代码前缀，如 identity.login")
    target_type: str = Field("", max_length=100, description="对象类型，如 identity.user")
    target_id: str = Field("", max_length=64, description="对象编号")
    result: Literal["success", "failure", "denied"] | None = None
    ip: str = Field("", max_length=45, description="IP 地址")
    since: dt.datetime | None = Field(None, description="起始时间（含）；无时区时按 Asia/Shanghai")
    until: dt.datetime | None = Field(None, description="截止时间（不含）")
    before: int | None = Field(None, ge=1, description="游标：上一页返回的 next_before")
    limit: int = Field(PAGE_SIZE, ge=1, le=200)

    @field_validator("ip")
    @classmethod
    def _valid_ip(cls, value: str) -> str:
        if value:
            try:
                return str(ipaddress.ip_address(value.strip()))
            except ValueError:
                raise ValueError("不是有效的 IP 地址") from None
        return value

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and timezone.is_naive(value):
            return timezone.make_aware(value)
        return value

    def filters(self) -> EventFilters:
        return EventFilters(
            user=self.user.strip(),
            department_id=self.department,
            action=self.action.strip(),
            target_type=self.target_type.strip(),
            target_id=self.target_id.strip(),
            result=self.result or "",
            ip=self.ip,
            since=self.since,
            until=self.until,
        )


class EventOut(Schema):
    id: int
    occurred_at: dt.datetime
    actor_id: int | None
    actor_username: str
    actor_name: str
    ip: str | None
    user_agent: str
    request_id: str
    action: str
    target_type: str
    target_id: str
    target_label: str
    result: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class EventPageOut(Schema):
    items: list[EventOut]
    next_before: int | None = Field(None, description="下一页（更早记录）的游标；为空表示没有更多")
