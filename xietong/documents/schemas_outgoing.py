"""Schemas of the 发文 REST API."""

from __future__ import annotations

import datetime as dt

from ninja import Schema


class AttachmentOut(Schema):
    id: int
    seq: int
    title: str
    file_key: str


class EventOut(Schema):
    action: str
    actor_name: str
    actor_unit: str
    at: dt.datetime
    opinion: str


class OutgoingOut(Schema):
    id: int
    organ_id: int
    organ: str
    doc_type: str
    direction: str
    layout_kind: str
    title: str
    classification: int
    secret_term: str
    urgency: str
    main_recipients: str
    main_units: list[int]
    cc_recipients: str
    cc_units: list[int]
    note: str
    doc_no: str
    state: str
    state_label: str
    drafter_id: int
    drafter: str
    date_written: dt.date | None
    signers: list[dict[str, object]]
    copies: int
    version: int
    lock_version: int
    instance_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class OutgoingDetailOut(OutgoingOut):
    body: str
    attachments: list[AttachmentOut]
    events: list[EventOut]


class OutgoingPageOut(Schema):
    count: int
    items: list[OutgoingOut]


class OutgoingQuery(Schema):
    state: str = ""
    doc_type: str = ""
    organ: int | None = None
    year: int | None = None
    q: str = ""
    box: str = ""
    offset: int = 0
    limit: int = 20


class AttachmentIn(Schema):
    id: int
    title: str


class DraftBody(Schema):
    organ_id: int | None = None
    doc_type: str | None = None
    direction: str | None = None
    layout_kind: str | None = None
    title: str | None = None
    classification: int | None = None
    secret_term: str | None = None
    urgency: str | None = None
    main_recipients: str | None = None
    main_unit_ids: list[int] | None = None
    cc_recipients: str | None = None
    cc_unit_ids: list[int] | None = None
    body: str | None = None
    note: str | None = None
    #: Existing attachments in the order wanted (new files are added on the page).
    attachments: list[AttachmentIn] | None = None
    lock_version: int | None = None
    request_id: str | None = None


class SubmitIn(Schema):
    signer_id: int
    countersigner_ids: list[int] = []
    request_id: str | None = None


class RecheckIn(DraftBody):
    reason: str = ""


class RegisterIn(Schema):
    copies: int
    print_date: dt.date | None = None
    request_id: str | None = None


class DistributeIn(Schema):
    main_unit_ids: list[int] | None = None
    cc_unit_ids: list[int] | None = None
    request_id: str | None = None


class ReasonIn(Schema):
    reason: str = ""
    request_id: str | None = None


class AbolishIn(Schema):
    reason: str = ""
    #: The day the document stops being effective (default today).
    on: dt.date | None = None
    request_id: str | None = None
