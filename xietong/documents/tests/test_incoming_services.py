"""收文 services: 签收 → 登记 → 拟办 → 批办 → 承办 → 传阅 → 办结 (条例 第二十四条; R-78)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from xietong.core import access, classification, clock
from xietong.core.errors import DomainError, NotFoundError, PermissionDeniedError
from xietong.documents import incoming, selectors_incoming
from xietong.documents.models import (
    Channel,
    Circulation,
    DocumentEvent,
    Handling,
    IncomingDocument,
    IncomingState,
)
from xietong.documents.tests.incoming_helpers import delivered, later, scan
from xietong.notify.models import Notification

pytestmark = pytest.mark.django_db


def _kinds(user: Any) -> list[str]:
    return list(Notification.objects.filter(user=user).values_list("dispatch__kind", flat=True))


def _paper(people: Any, org: dict[str, Any], **fields: Any) -> IncomingDocument:
    values: dict[str, Any] = {
        "actor": people.clerk,
        "unit": org["office"],
        "sender_org": "某市应急管理局",
        "sender_doc_no": "某应急发[2026]第012号",
        "title": "关于开展安全检查的通知",
        "doc_type": "tongzhi",
        "channel": Channel.CONFIDENTIAL,
        "scan": scan(),
    }
    values.update(fields)
    return incoming.register_paper(**values)


def test_deliver_creates_pending_and_tells_the_clerks(docs_people: Any, docs_org: Any, organ: Any) -> None:
    p = docs_people
    document = delivered(organ, p.drafter, docs_org["office"], p.clerk, urgency="teji")
    assert document.state == IncomingState.PENDING
    assert document.sender_org == organ.name
    assert document.sender_doc_no.startswith("协同发〔2026〕")
    assert document.copy_no == "000001"
    assert document.channel == Channel.ELECTRONIC
    assert [u.pk for u in incoming.clerks_of(docs_org["office"])] == [p.clerk.pk]
    assert [u.pk for u in incoming.clerks_of(docs_org["sub"])] == [p.sub_clerk.pk]
    # The 分发 clerk is the actor and is not told of their own step; another delivery is.
    other = delivered(organ, p.drafter, docs_org["sub"], p.clerk, seq=8)
    assert incoming.KIND_ARRIVED in _kinds(p.sub_clerk)
    assert Notification.objects.filter(user=p.sub_clerk, urgent=False).exists()
    # Delivering the same copy twice answers the first 收文.
    assert other.distribution is not None
    assert incoming.deliver(distribution=other.distribution, actor=p.clerk).pk == other.pk


def test_r78_incoming_path_sign_register_propose_instruct_handle_circulate_conclude(
    docs_people: Any, docs_org: Any, organ: Any
) -> None:
    p = docs_people
    document = delivered(organ, p.drafter, docs_org["office"], p.sub_clerk)
    with pytest.raises(PermissionDeniedError):
        incoming.sign_for(actor=p.sub_clerk, document_id=document.pk)  # not their unit

    document = incoming.sign_for(actor=p.clerk, document_id=document.pk)
    year = clock.now().year
    assert document.state == IncomingState.REGISTERED
    assert document.recv_no == f"收〔{year}〕1号"
    assert document.received_by == p.clerk

    document = incoming.propose(
        actor=p.clerk,
        document_id=document.pk,
        proposal="请赵董事长阅示，建议财务部主办。",
        leader_id=p.leader.pk,
    )
    assert document.state == IncomingState.PROPOSED
    assert incoming.KIND_TODO in _kinds(p.leader)

    with pytest.raises(PermissionDeniedError):
        incoming.instruct(actor=p.clerk, document_id=document.pk, instruction="同意")
    handlings = [
        {"unit_id": docs_org["finance"].pk, "is_lead": True, "deadline": later(5)},
        {"unit_id": docs_org["sub"].pk, "deadline": later(5)},
    ]
    document = incoming.instruct(
        actor=p.leader,
        document_id=document.pk,
        instruction="请财务部牵头办理，华东分公司配合。",
        handlings=handlings,
        reader_ids=[p.drafter.pk],
    )
    assert document.state == IncomingState.HANDLING
    lead, co = list(document.handlings.order_by("-is_lead"))
    assert lead.is_lead
    assert lead.unit_id == docs_org["finance"].pk
    assert not co.is_lead
    assert incoming.KIND_TODO in _kinds(p.head)
    assert incoming.KIND_TODO in _kinds(p.sub_clerk)
    assert incoming.KIND_CIRCULATED in _kinds(p.drafter)

    # A member of 财务部 reads; only its head (or a clerk) records the result.
    with pytest.raises(PermissionDeniedError):
        incoming.handling_done(actor=p.drafter, document_id=document.pk, handling_id=lead.pk, result="已办")
    with pytest.raises(DomainError):
        incoming.conclude(actor=p.clerk, document_id=document.pk, result="办结")  # handlings open
    incoming.handling_done(actor=p.head, document_id=document.pk, handling_id=lead.pk, result="已落实。")
    incoming.handling_done(actor=p.sub_clerk, document_id=document.pk, handling_id=co.pk, result="已配合。")

    incoming.circulate(actor=p.clerk, document_id=document.pk, reader_ids=[p.head.pk, p.drafter.pk])
    assert Circulation.objects.filter(document=document).count() == 2
    incoming.mark_read(actor=p.drafter, document_id=document.pk, comment="已阅")
    with pytest.raises(DomainError):
        incoming.mark_read(actor=p.drafter, document_id=document.pk)
    with pytest.raises(PermissionDeniedError):
        incoming.mark_read(actor=p.outsider, document_id=document.pk)

    document = incoming.conclude(actor=p.clerk, document_id=document.pk, result="已按批示办结。")
    assert document.state == IncomingState.CONCLUDED
    assert document.closed_by == p.clerk
    # The sender hears of it: it came over the platform.
    assert incoming.KIND_CONCLUDED in _kinds(p.drafter)
    actions = list(DocumentEvent.objects.filter(incoming=document).values_list("action", flat=True))
    assert actions == ["送达", "签收", "登记", "拟办", "批办", "传阅", "承办", "承办", "传阅", "阅文", "办结"]
    assert all(e.actor_name for e in DocumentEvent.objects.filter(incoming=document))


def test_r78_receipt_numbers_are_gap_free_per_unit_and_year(
    docs_people: Any, docs_org: Any, organ: Any
) -> None:
    p = docs_people
    year = clock.now().year
    first = _paper(p, docs_org)
    with pytest.raises(DomainError):
        _paper(p, docs_org, title="")  # refused: takes no number
    pending = delivered(organ, p.drafter, docs_org["office"], p.sub_clerk)
    incoming.return_to_sender(actor=p.clerk, document_id=pending.pk, reason="不属于本单位办理事项")
    second = _paper(p, docs_org, title="第二份来文")
    third = incoming.sign_for(
        actor=p.clerk, document_id=delivered(organ, p.drafter, docs_org["office"], p.sub_clerk, seq=9).pk
    )
    sub = incoming.sign_for(
        actor=p.sub_clerk, document_id=delivered(organ, p.drafter, docs_org["sub"], p.clerk, seq=10).pk
    )
    assert [first.recv_seq, second.recv_seq, third.recv_seq] == [1, 2, 3]
    assert second.recv_no == f"收〔{year}〕2号"
    assert sub.recv_seq == 1  # each receiving unit numbers on its own


def test_register_paper_normalises_the_number_and_requires_the_scan(docs_people: Any, docs_org: Any) -> None:
    p = docs_people
    document = _paper(p, docs_org)
    assert document.sender_doc_no == "某应急发〔2026〕12号"
    assert document.state == IncomingState.REGISTERED
    assert document.scan is not None
    with pytest.raises(DomainError) as refused:
        _paper(p, docs_org, scan=None)
    assert refused.value.details[0]["field"] == "scan"
    with pytest.raises(DomainError) as refused:
        _paper(p, docs_org, sender_doc_no="随便写的")
    assert refused.value.details[0]["field"] == "sender_doc_no"
    with pytest.raises(PermissionDeniedError):
        _paper(p, docs_org, actor=p.outsider)
    with pytest.raises(DomainError):
        _paper(p, docs_org, classification_level=classification.CORE_COMMERCIAL_SECRET)  # above clearance
    # The same request sent again registers once.
    again = _paper(p, docs_org, request_id="k-1")
    assert _paper(p, docs_org, request_id="k-1").pk == again.pk


def test_return_to_sender_needs_a_reason_and_tells_the_sender(
    docs_people: Any, docs_org: Any, organ: Any
) -> None:
    p = docs_people
    document = delivered(organ, p.drafter, docs_org["office"], p.sub_clerk)
    with pytest.raises(DomainError):
        incoming.return_to_sender(actor=p.clerk, document_id=document.pk, reason=" ")
    document = incoming.return_to_sender(actor=p.clerk, document_id=document.pk, reason="文种使用不当")
    assert document.state == IncomingState.RETURNED
    assert incoming.KIND_RETURNED in _kinds(p.drafter)
    with pytest.raises(DomainError):
        incoming.sign_for(actor=p.clerk, document_id=document.pk)


def _to_leader(p: Any, org: Any, organ: Any, **kwargs: Any) -> IncomingDocument:
    document = delivered(organ, p.drafter, org["office"], p.sub_clerk, **kwargs)
    incoming.sign_for(actor=p.clerk, document_id=document.pk)
    return incoming.propose(actor=p.clerk, document_id=document.pk, proposal="请批示", leader_id=p.leader.pk)


def test_deadline_required_for_urgent_and_one_lead_unit(docs_people: Any, docs_org: Any, organ: Any) -> None:
    p = docs_people
    document = _to_leader(p, docs_org, organ, urgency="jiaji")
    with pytest.raises(DomainError) as refused:
        incoming.instruct(
            actor=p.leader,
            document_id=document.pk,
            instruction="办",
            handlings=[{"unit_id": docs_org["finance"].pk}],
        )
    assert refused.value.details[0]["field"] == "handlings.0.deadline"
    two = [
        {"unit_id": docs_org["finance"].pk, "deadline": later()},
        {"unit_id": docs_org["sub"].pk, "deadline": later()},
    ]
    with pytest.raises(DomainError) as refused:
        incoming.instruct(actor=p.leader, document_id=document.pk, instruction="办", handlings=two)
    assert refused.value.details[0]["field"] == "handlings"
    assert IncomingDocument.objects.get(pk=document.pk).state == IncomingState.PROPOSED
    assert not Handling.objects.exists()


def _handling(p: Any, org: Any, organ: Any, days: int = 2) -> tuple[IncomingDocument, Handling]:
    document = _to_leader(p, org, organ, urgency="teji")
    incoming.instruct(
        actor=p.leader,
        document_id=document.pk,
        instruction="请财务部办理",
        handlings=[{"unit_id": org["finance"].pk, "deadline": later(days)}],
    )
    return document, Handling.objects.get(document=document)


def test_urge_is_limited_to_once_an_hour(docs_people: Any, docs_org: Any, organ: Any, settings: Any) -> None:
    p = docs_people
    document, handling = _handling(p, docs_org, organ)
    incoming.urge(actor=p.clerk, document_id=document.pk, handling_id=handling.pk)
    assert incoming.KIND_URGED in _kinds(p.head)
    assert Notification.objects.filter(user=p.head, dispatch__kind=incoming.KIND_URGED, urgent=True).exists()
    with pytest.raises(DomainError):
        incoming.urge(actor=p.clerk, document_id=document.pk, handling_id=handling.pk)
    with pytest.raises(PermissionDeniedError):
        incoming.urge(actor=p.outsider, document_id=document.pk, handling_id=handling.pk)
    Handling.objects.filter(pk=handling.pk).update(reminded_at=clock.now() - dt.timedelta(hours=2))
    incoming.urge(actor=p.clerk, document_id=document.pk, handling_id=handling.pk)
    assert DocumentEvent.objects.filter(incoming=document, action="催办").count() == 2


def test_overdue_reminder_is_sent_once_a_day(docs_people: Any, docs_org: Any, organ: Any) -> None:
    p = docs_people
    document, handling = _handling(p, docs_org, organ, days=1)
    assert incoming.remind_overdue() == 0  # not yet due
    late = clock.now() + dt.timedelta(days=2)
    assert incoming.remind_overdue(now=late) == 1
    assert incoming.remind_overdue(now=late + dt.timedelta(hours=3)) == 0
    assert Notification.objects.filter(user=p.head, dispatch__kind=incoming.KIND_OVERDUE).count() == 1
    assert Notification.objects.filter(user=p.clerk, dispatch__kind=incoming.KIND_OVERDUE).count() == 1
    assert incoming.remind_overdue(now=late + dt.timedelta(days=1, minutes=1)) == 1
    incoming.handling_done(actor=p.head, document_id=document.pk, handling_id=handling.pk, result="完成")
    assert incoming.remind_overdue(now=late + dt.timedelta(days=5)) == 0


def test_for_reading_goes_straight_to_circulation(docs_people: Any, docs_org: Any, organ: Any) -> None:
    p = docs_people
    document = delivered(organ, p.drafter, docs_org["office"], p.sub_clerk)
    incoming.sign_for(actor=p.clerk, document_id=document.pk)
    with pytest.raises(DomainError):
        incoming.propose(actor=p.clerk, document_id=document.pk, proposal="传阅", for_reading=True)
    document = incoming.propose(
        actor=p.clerk, document_id=document.pk, proposal="请阅知", for_reading=True, reader_ids=[p.head.pk]
    )
    assert document.state == IncomingState.CIRCULATING
    assert document.for_reading
    incoming.mark_read(actor=p.head, document_id=document.pk, comment="阅")
    assert incoming.conclude(actor=p.clerk, document_id=document.pk, result="传阅完毕").state == "concluded"


def test_visibility_outsider_sees_nothing_and_clearance_caps(
    docs_people: Any, docs_org: Any, organ: Any
) -> None:
    p = docs_people
    document, _handled = _handling(p, docs_org, organ)
    secret = delivered(
        organ, p.drafter, docs_org["office"], p.sub_clerk, seq=20, level=classification.COMMERCIAL_SECRET
    )
    for viewer in (p.clerk, p.leader, p.head, p.drafter):  # drafter: a member of the 承办 unit
        assert selectors_incoming.visible(viewer).filter(pk=document.pk).exists()
    outsider = p.outsider
    assert not selectors_incoming.incoming_list(outsider).exists()
    assert selectors_incoming.counts(outsider)["all"] == 0
    assert selectors_incoming.todos_for(outsider) == []
    with pytest.raises(NotFoundError):
        selectors_incoming.incoming_get(outsider, document.pk)
    # The clerk loses 普通商密 documents with a lower clearance.
    assert selectors_incoming.visible(p.clerk).filter(pk=secret.pk).exists()
    p.clerk.clearance = classification.INTERNAL
    p.clerk.save(update_fields=["clearance"])
    assert not selectors_incoming.visible(p.clerk).filter(pk=secret.pk).exists()
    with pytest.raises(NotFoundError):
        incoming.sign_for(actor=p.clerk, document_id=secret.pk)
    # Readers must be cleared for the document.
    with pytest.raises(DomainError):
        incoming.circulate(actor=p.sub_clerk, document_id=secret.pk, reader_ids=[p.clerk.pk])


def test_todos_and_counts(docs_people: Any, docs_org: Any, organ: Any) -> None:
    p = docs_people
    pending = delivered(organ, p.drafter, docs_org["office"], p.sub_clerk)
    document, handling = _handling(p, docs_org, organ)
    kinds = {(t.kind, t.document.pk) for t in selectors_incoming.todos_for(p.clerk)}
    assert ("sign", pending.pk) in kinds
    assert ("handle", document.pk) in {(t.kind, t.document.pk) for t in selectors_incoming.todos_for(p.head)}
    counts = selectors_incoming.counts(p.clerk)
    assert counts["pending"] == 1
    assert counts["doing"] == 1
    assert selectors_incoming.counts(p.head)["todo"] == 1
    late = selectors_incoming.Filters(overdue=True)
    assert not selectors_incoming.incoming_list(p.clerk, late).exists()
    Handling.objects.filter(pk=handling.pk).update(deadline=clock.now() - dt.timedelta(hours=1))
    assert list(selectors_incoming.incoming_list(p.clerk, late)) == [document]
    assert selectors_incoming.incoming_list(p.clerk, selectors_incoming.Filters(q="收〔")).count() == 1


def test_list_and_todo_queries_do_not_grow_with_rows(
    docs_people: Any, docs_org: Any, organ: Any, django_assert_max_num_queries: Any
) -> None:
    p = docs_people

    def measure() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        p.clerk.refresh_from_db()
        with CaptureQueriesContext(connection) as captured:
            list(selectors_incoming.incoming_list(p.clerk))
            selectors_incoming.counts(p.clerk)
            selectors_incoming.todos_for(p.clerk)
        return len(captured)

    _handling(p, docs_org, organ)
    few = measure()
    for seq in range(30, 36):
        delivered(organ, p.drafter, docs_org["office"], p.sub_clerk, seq=seq)
        _paper(p, docs_org, title=f"来文{seq}")
    assert measure() == few


def test_worklist_provider_and_daily_task(docs_people: Any, docs_org: Any, organ: Any) -> None:
    from xietong.documents import incoming_wiring

    p = docs_people
    document, _handled = _handling(p, docs_org, organ)
    todos = incoming_wiring.todos(p.head, 5)
    assert todos.count == 1
    assert todos.items[0].link == incoming.link_of(document)
    assert todos.items[0].urgent
    assert incoming_wiring.todos(p.outsider, 5).count == 0
    assert incoming_wiring.remind_overdue_incoming.call_local() == 0


def test_todos_of_someone_who_is_no_clerk_skip_the_clerks_queries(
    docs_people: Any, docs_org: Any, organ: Any, django_assert_num_queries: Any
) -> None:
    """The workbench asks everyone: three queries (批办, 承办, 传阅), two more for a 公文管理员."""
    p = docs_people
    _handling(p, docs_org, organ)
    for user in (p.head, p.clerk):
        user.refresh_from_db()
        access.grants_of(user)  # the page shell has read them already
    with django_assert_num_queries(3):
        assert [t.kind for t in selectors_incoming.todos_for(p.head)] == ["handle"]
    with django_assert_num_queries(5):
        selectors_incoming.todos_for(p.clerk)
