"""Request and response bodies of the 收文 API (``xietong.documents.api_incoming``)."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

REQUEST_ID_DESCRIPTION = "幂等键：同一请求重发时带相同的值只执行一次；也可用请求头 Idempotency-Key 传入。"
LOCK_VERSION_DESCRIPTION = "读取收文时得到的 lock_version；若收文已被他人修改则返回 409。"


class PersonOut(Schema):
    id: int
    name: str


class IncomingOut(Schema):
    id: int
    recv_no: str
    title: str
    sender_org: str
    sender_doc_no: str
    doc_type: str
    classification: int
    urgency: str
    state: str
    state_label: str
    channel: str
    received_at: dt.datetime | None
    deadline: dt.datetime | None
    overdue: bool
    created_at: dt.datetime


class IncomingPageOut(Schema):
    count: int
    items: list[IncomingOut]


class HandlingOut(Schema):
    id: int
    unit_id: int
    unit_name: str
    is_lead: bool
    deadline: dt.datetime | None
    overdue: bool
    result: str
    done_at: dt.datetime | None
    done_by: PersonOut | None


class CirculationOut(Schema):
    reader: PersonOut
    sent_at: dt.datetime
    read_at: dt.datetime | None
    comment: str


class EventOut(Schema):
    action: str
    actor_name: str
    actor_unit: str
    at: dt.datetime
    opinion: str


class AbilitiesOut(Schema):
    sign: bool
    return_to_sender: bool
    propose: bool
    instruct: bool
    circulate: bool
    read: bool
    conclude: bool
    handle: list[int]
    urge: list[int]


class IncomingDetailOut(IncomingOut):
    receiving_unit_id: int
    receiving_unit_name: str
    date_written: dt.date | None
    copies: int
    copy_no: str
    has_scan: bool
    for_reading: bool
    proposal: str
    leader: PersonOut | None
    instruction: str
    instructed_at: dt.datetime | None
    result: str
    closed_at: dt.datetime | None
    lock_version: int
    handlings: list[HandlingOut]
    circulations: list[CirculationOut]
    events: list[EventOut]
    can: AbilitiesOut


class CountsOut(Schema):
    pending: int
    todo: int
    doing: int
    done: int
    reading: int
    all: int
    overdue: int


class ActionIn(Schema):
    request_id: str | None = Field(None, max_length=64, description=REQUEST_ID_DESCRIPTION)
    lock_version: int | None = Field(None, description=LOCK_VERSION_DESCRIPTION)


class SignIn(ActionIn):
    pass


class ReasonIn(ActionIn):
    reason: str = Field(..., max_length=500)


class ProposeIn(ActionIn):
    proposal: str = Field(..., max_length=2000)
    for_reading: bool = False
    leader_id: int | None = None
    reader_ids: list[int] = Field(default_factory=list, max_length=200)


class HandlingIn(Schema):
    unit_id: int
    is_lead: bool = False
    deadline: dt.datetime | None = None


class InstructIn(ActionIn):
    instruction: str = Field(..., max_length=2000)
    handlings: list[HandlingIn] = Field(default_factory=list, max_length=50)
    reader_ids: list[int] = Field(default_factory=list, max_length=200)


class HandlingDoneIn(ActionIn):
    handling_id: int
    result: str = Field(..., max_length=2000)


class CirculateIn(ActionIn):
    reader_ids: list[int] = Field(..., min_length=1, max_length=200)


class ReadIn(ActionIn):
    comment: str = Field("", max_length=2000)


class UrgeIn(ActionIn):
    handling_id: int


class ConcludeIn(ActionIn):
    result: str = Field(..., max_length=2000)


class StatisticsFiguresOut(Schema):
    handlings: int = Field(..., description="时段内批办的承办件数")
    on_time: int = Field(..., description="在办理时限内（或未设时限）办结")
    late: int = Field(..., description="超过办理时限才办结")
    open: int = Field(..., description="尚未办结")
    overdue_now: int = Field(..., description="未办结且此刻已超过办理时限")
    median_hours: float | None = Field(..., description="从批办到办结的小时数的中位数")
    average_hours: float | None = Field(..., description="从批办到办结的平均小时数")


class StatisticsRowOut(StatisticsFiguresOut):
    unit_id: int
    unit_name: str


class StatisticsOut(Schema):
    first_day: dt.date
    last_day: dt.date
    unit_id: int | None
    lead_only: bool
    rows: list[StatisticsRowOut]
    total: StatisticsFiguresOut
