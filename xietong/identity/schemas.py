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
