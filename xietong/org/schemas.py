"""Request and response bodies of the organisation API (``xietong.org.api``)."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class UnitRef(Schema):
    id: int
    code: str
    name: str


class PersonRef(Schema):
    id: int
    username: str
    name: str


class UnitNodeOut(Schema):
    id: int
    parent_id: int | None = Field(None, description="最近的可见上级单位；为空表示顶层")
    depth: int = Field(description="在可见树中的层级，顶层为 0")
    code: str
    name: str
    short_name: str
    kind: str = Field(description="group（集团）、company（公司）或 department（部门）")
    is_active: bool
    members: int = Field(description="在职人员数（本单位，不含下级）")
    hit: bool = Field(False, description="是否匹配搜索条件 q")


class UnitTreeOut(Schema):
    items: list[UnitNodeOut]
    hits: int


class UnitOut(Schema):
    id: int
    code: str
    name: str
    short_name: str
    kind: str
    is_active: bool
    ancestors: list[UnitRef] = Field(description="上级单位，自顶向下")
    children: list[UnitRef]
    heads: list[PersonRef]
    contact: PersonRef | None = Field(None, description="平台联系人（本单位或最近的上级单位指定的专人）")


class PostOut(Schema):
    unit: UnitRef
    position: str | None
    is_primary: bool
    is_head: bool


class MemberOut(Schema):
    id: int = Field(description="账号编号")
    username: str
    name: str
    employee_no: str | None
    email: str
    mobile: str
    unit: UnitRef
    position: str | None
    is_head: bool
    is_primary: bool


class MemberPageOut(Schema):
    items: list[MemberOut]
    count: int
    page: int
    pages: int


class PersonCardOut(Schema):
    id: int
    username: str
    name: str
    employee_no: str | None
    email: str
    mobile: str
    posts: list[PostOut]
    unit_path: list[UnitRef]
    heads: list[PersonRef] = Field(description="主岗所在单位的负责人")
    contact: PersonRef | None


class AccountOut(Schema):
    id: int
    username: str
    name: str
    employee_no: str | None
    email: str
    mobile: str
    is_active: bool
    status: str = Field(description="active 在职、suspended 暂停使用、departed 已离职、disabled 已停用")
    unit: UnitRef | None
    position: str | None
    is_head: bool


class AccountPageOut(Schema):
    items: list[AccountOut]
    count: int
    page: int
    pages: int


class AccountCreateIn(Schema):
    username: str = Field(max_length=64)
    name: str = Field(max_length=64)
    unit_id: int
    position_id: int | None = None
    employee_no: str = Field("", max_length=32)
    email: str = Field("", max_length=254)
    mobile: str = Field("", max_length=20)


class AccountCreatedOut(Schema):
    account: AccountOut
    initial_password: str = Field(description="一次性初始密码：只在此返回一次，首次登录必须修改")


class AccountUpdateIn(Schema):
    """Fields left out keep their value."""

    name: str | None = Field(None, max_length=64)
    employee_no: str | None = Field(None, max_length=32)
    email: str | None = Field(None, max_length=254)
    mobile: str | None = Field(None, max_length=20)


class TransferIn(Schema):
    unit_id: int
    position_id: int | None = None
    reason: str = Field("", max_length=200)


class ReasonIn(Schema):
    reason: str = Field("", max_length=200)


class DepartIn(Schema):
    successor_id: int = Field(description="工作交接人的账号编号")
    reason: str = Field("", max_length=200)


class ChangeOut(Schema):
    id: int
    kind: str
    created_at: dt.datetime
    from_unit: UnitRef | None
    to_unit: UnitRef | None
    reason: str
    review_status: str
    details: dict[str, object]


class HandoverOut(Schema):
    name: str
    label: str
    moved: int
    failed: bool


class DepartureOut(Schema):
    account: AccountOut
    change: ChangeOut
    sessions_ended: int
    tokens_revoked: int
    handover: list[HandoverOut]


class ImportProblemOut(Schema):
    sheet: str = Field(description="“组织机构”或“人员”")
    row: int = Field(description="Excel 中的行号")
    key: str = Field(description="该行的编码或用户名")
    errors: list[str]


class ImportedAccountOut(Schema):
    id: int
    username: str
    name: str
    initial_password: str


class ImportReportOut(Schema):
    ok: bool = Field(description="全部行校验通过")
    dry_run: bool
    imported: bool = Field(description="已导入（全部行正确且不是仅校验）")
    unit_rows: int
    user_rows: int
    problems: list[ImportProblemOut]
    units_created: list[str]
    accounts: list[ImportedAccountOut] = Field(description="新账号及其一次性初始密码，只返回这一次")
