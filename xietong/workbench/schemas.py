from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from xietong.workbench.services import BATCH_MAX


class TodoIn(Schema):
    external_id: str = Field(..., description="待办在业务系统中的编号（同一系统内唯一，不含空白和“/”）")
    user: str = Field(..., description="办理人：用户名或工号")
    title: str = Field(..., description="标题（不超过 200 字）")
    link: str = Field(..., description="办理地址：http:// 或 https:// 开头的完整网址")
    detail: str = Field("", description="说明，如申请人、金额（不超过 500 字）")
    due_at: dt.datetime | None = Field(None, description="办理期限（ISO 8601；不带时区时按北京时间）")
    urgent: bool = Field(False, description="急办：排在工作台最前并立即提醒")
    done: bool = Field(False, description="已办结：从工作台移除")


class TodoBatchIn(Schema):
    system: str = Field(..., description="业务系统编码，如 erp、hr-oa（小写字母、数字、_ 或 -）")
    system_name: str = Field("", description="业务系统名称，显示在待办旁，如“ERP 系统”")
    items: list[TodoIn] = Field(..., description=f"待办，一次最多 {BATCH_MAX} 条")


class TodoResultOut(Schema):
    external_id: str
    status: str = Field(..., description="created / updated / held（待内容审核）/ failed")
    id: int | None = None
    code: str = ""
    message: str = ""


class TodoBatchOut(Schema):
    system: str
    created: int
    updated: int
    held: int
    failed: int
    results: list[TodoResultOut]


class PushedTodoOut(Schema):
    id: int
    system: str
    external_id: str
    user: str
    title: str
    link: str
    due_at: dt.datetime | None
    urgent: bool
    review: str
    created_at: dt.datetime
    updated_at: dt.datetime
    done_at: dt.datetime | None


class WorkItemOut(Schema):
    title: str
    link: str
    at: dt.datetime | None
    due: dt.datetime | None
    urgent: bool
    overdue: bool
    detail: str
    source: str
    source_label: str


class TodoSourceOut(Schema):
    key: str
    label: str
    icon: str
    count: int
    more: str
    items: list[WorkItemOut]


class TodosOut(Schema):
    count: int
    urgent: int
    overdue: int
    items: list[WorkItemOut] = Field(..., description="各来源合并：急办在前，其次超期，再按时间从新到旧")
    sources: list[TodoSourceOut]


class ScheduleEntryOut(Schema):
    title: str
    link: str
    start: dt.datetime
    end: dt.datetime | None
    place: str
    all_day: bool
    state: str = Field(..., description="past / now / later")
    source: str
    source_label: str


class FeedLinkOut(Schema):
    title: str
    link: str
    at: dt.datetime | None
    tag: str
    urgent: bool


class FeedSectionOut(Schema):
    key: str
    source: str
    card: str = Field(..., description="notices（通知）或 news（最新资讯）")
    title: str
    more: str
    count: int | None
    links: list[FeedLinkOut]


class NotificationBriefOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    urgency: str
    link: str
    created_at: dt.datetime


class NotificationsOut(Schema):
    unread: int
    items: list[NotificationBriefOut]


class ShortcutOut(Schema):
    id: int
    name: str
    description: str
    url: str
    icon: str
    open_in_new_tab: bool


class ModuleOut(Schema):
    slug: str
    label: str
    icon: str
    url: str
    description: str


class WorkbenchOut(Schema):
    date: dt.date
    todos: TodosOut
    schedule: list[ScheduleEntryOut]
    notifications: NotificationsOut
    feeds: list[FeedSectionOut]
    shortcuts: list[ShortcutOut]
    modules: list[ModuleOut]
    unavailable: list[str] = Field(..., description="暂时无法加载的模块（已跳过）")
