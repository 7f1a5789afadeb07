import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema

from xietong.core import access


class MeOut(Schema):
    id: int
    username: str
    name: str
    employee_no: str | None
    email: str
    must_change_password: bool
    clearance: int
    permissions: list[str] = Field(..., description="当前用户持有的功能权限代码")

    @staticmethod
    def resolve_permissions(user: Any) -> list[str]:
        return sorted(access.grants_of(user).codenames)


class UnlockIn(Schema):
    username: str = Field(..., min_length=1, max_length=150, description="要解锁的用户名或工号")


class UnlockOut(Schema):
    username: str
    unlocked: bool


class PasswordPolicyOut(Schema):
    profile: Literal["dengbao", "asvs"]
    min_length: int
    require_classes: bool
    expiry_days: int = Field(..., description="0 表示永不过期")
    warn_days: int
    history_count: int = Field(..., description="含当前密码；0 表示不检查")
    min_change_interval_hours: int
    updated_at: dt.datetime | None
    updated_by: str | None = Field(None, description="最后修改人的用户名")


class PasswordPolicyIn(Schema):
    """The whole policy; a value left out takes the default of the chosen profile."""

    profile: Literal["dengbao", "asvs"]
    min_length: int | None = Field(None, description="8–128；asvs 至少 12")
    require_classes: bool | None = None
    expiry_days: int | None = Field(None, description="0–365，0 表示永不过期；asvs 必须为 0")
    warn_days: int | None = Field(None, description="0–60，小于有效期")
    history_count: int | None = Field(None, description="0–24；asvs 必须为 0")
    min_change_interval_hours: int | None = Field(None, description="0–168；asvs 必须为 0")


class ApiTokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(..., description="令牌开头几位，用于区分")
    scope: Literal["read", "write"]
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    last_used_ip: str | None
    revoked_at: dt.datetime | None
    status: Literal["active", "expired", "revoked"]


class ApiTokenIn(Schema):
    name: str = Field(..., min_length=1, max_length=64)
    scope: Literal["read", "write"] = "read"
    days: int = Field(90, ge=1, le=365, description="有效期（天），默认 90，最长 365")


class ApiTokenCreatedOut(ApiTokenOut):
    token: str = Field(..., description="令牌本身，仅此一次返回，请妥善保存")


class SessionOut(Schema):
    id: int
    device: str
    ip: str | None
    created_at: dt.datetime
    last_seen: dt.datetime
    current: bool
