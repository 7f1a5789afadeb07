"""The clerks of a receiving unit share its 收文 queue (待签收, 待拟办, 待办结): when one of them
(or a leader, or a 承办 unit) moves a document into or out of it, every clerk who has it there is
told — the actor too, for their other tabs — so that their open pages and their cached workbench
cards follow at once rather than a minute later. Clerks of other units, and clerks not cleared
for the document's 密级, are told nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.fixtures import client_for, grant_role, make_user, place
from xietong.core import classification
from xietong.documents import incoming
from xietong.documents.models import Channel, Handling, IncomingDocument, IncomingState
from xietong.documents.tests.incoming_helpers import delivered, later, scan
from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import DataScope, OrgUnit

pytestmark = pytest.mark.django_db

Push = tuple[int, str, dict[str, Any]]


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Cards cached by an earlier test (whose rows were rolled back) are not this one's."""
    cache.clear()
    yield
    cache.clear()


def office_clerk(
    username: str, office: OrgUnit, *, clearance: int = classification.COMMERCIAL_SECRET
) -> User:
    """Another 公文管理员 of 综合办公室 (scope 本部门)."""
    user = make_user(username, name=username, clearance=clearance)
    place(user, office)
    grant_role(user, builtin.DOCUMENT_CLERK, scope=DataScope.DEPARTMENT)
    return user


@dataclass
class Clerks:
    a: User  # 王文秘: 本公司, covers 综合办公室
    b: User  # 本部门 clerk of 综合办公室
    uncleared: User  # 综合办公室 too, cleared for 内部 only
    elsewhere: User  # 孙文秘: 华东分公司 only


@pytest.fixture
def clerks(docs_people: Any, docs_org: dict[str, OrgUnit]) -> Clerks:
    return Clerks(
        a=docs_people.clerk,
        b=office_clerk("zhouwenmi", docs_org["office"]),
        uncleared=office_clerk("qianwenmi", docs_org["office"], clearance=classification.INTERNAL),
        elsewhere=docs_people.sub_clerk,
    )


@pytest.fixture
def pushed(monkeypatch: pytest.MonkeyPatch) -> list[Push]:
    """The queue events pushed (other events are not what these tests are about)."""
    events: list[Push] = []

    def capture(batch: Any) -> None:
        events.extend(event for event in batch if event[1] == incoming.EVENT_QUEUE)

    monkeypatch.setattr("xietong.core.events.push_to_users", capture)
    return events


def told(pushes: list[Push], document: IncomingDocument) -> set[int]:
    return {user_id for user_id, _kind, data in pushes if data == {"document": document.pk}}


def secret_delivery(p: Any, org: dict[str, OrgUnit], organ: Any, **kwargs: Any) -> IncomingDocument:
    """A 普通商密 document delivered to 综合办公室 by 财务部's drafter (not a clerk there)."""
    return delivered(
        organ, p.drafter, org["office"], p.drafter, level=classification.COMMERCIAL_SECRET, **kwargs
    )


def test_signing_for_tells_the_other_clerks_of_the_unit_and_the_actor(
    docs_people: Any, docs_org: dict[str, OrgUnit], organ: Any, clerks: Clerks, pushed: list[Push]
) -> None:
    document = secret_delivery(docs_people, docs_org, organ)
    pushed.clear()
    incoming.sign_for(actor=clerks.a, document_id=document.pk)
    assert told(pushed, document) == {clerks.a.pk, clerks.b.pk}
    assert all(kind == "documents.incoming" for _user, kind, _data in pushed)


def test_clerks_of_other_units_and_uncleared_clerks_are_told_nothing(
    docs_people: Any, docs_org: dict[str, OrgUnit], organ: Any, clerks: Clerks, pushed: list[Push]
) -> None:
    secret = secret_delivery(docs_people, docs_org, organ)
    internal = delivered(organ, docs_people.drafter, docs_org["office"], docs_people.drafter, level=1, seq=7)
    incoming.sign_for(actor=clerks.b, document_id=secret.pk)
    incoming.sign_for(actor=clerks.a, document_id=internal.pk)
    assert told(pushed, secret) == {clerks.a.pk, clerks.b.pk}
    # Cleared for 内部: the internal document is in their queue, the secret one never was.
    assert told(pushed, internal) == {clerks.a.pk, clerks.b.pk, clerks.uncleared.pk}
    everyone = {user_id for user_id, _kind, _data in pushed}
    assert clerks.elsewhere.pk not in everyone


def test_every_step_that_moves_a_document_in_or_out_of_the_queue_tells_the_clerks(
    docs_people: Any, docs_org: dict[str, OrgUnit], organ: Any, clerks: Clerks, pushed: list[Push]
) -> None:
    p = docs_people
    both = {clerks.a.pk, clerks.b.pk}

    def step(document: IncomingDocument, service: Any, **kwargs: Any) -> set[int]:
        pushed.clear()
        service(document_id=document.pk, **kwargs)
        return told(pushed, document)

    # 登记 of a paper document: straight into 待拟办; 退回 takes it out.
    paper = incoming.register_paper(
        actor=clerks.b,
        unit=docs_org["office"],
        sender_org="某市应急管理局",
        title="关于开展安全检查的通知",
        channel=Channel.CONFIDENTIAL,
        classification_level=classification.COMMERCIAL_SECRET,
        scan=scan(),
    )
    assert told(pushed, paper) == both
    assert step(paper, incoming.return_to_sender, actor=clerks.a, reason="非本单位来文") == both

    document = secret_delivery(p, docs_org, organ, seq=11)
    assert step(document, incoming.sign_for, actor=clerks.a) == both
    # 拟办 to a leader: out of 待拟办.
    assert step(document, incoming.propose, actor=clerks.b, proposal="请批示", leader_id=p.leader.pk) == both
    # 批办 to a 承办 unit, 催办 and 传阅: nothing the clerks' queue shows changes.
    handlings = [{"unit_id": docs_org["finance"].pk, "is_lead": True, "deadline": later(5)}]
    assert (
        step(document, incoming.instruct, actor=p.leader, instruction="请办理", handlings=handlings) == set()
    )
    handling = Handling.objects.get(document=document)
    assert step(document, incoming.urge, actor=clerks.a, handling_id=handling.pk) == set()
    assert step(document, incoming.circulate, actor=clerks.a, reader_ids=[p.head.pk]) == set()
    # The last 承办 done: 待办结; 办结 takes it out again.
    assert (
        step(document, incoming.handling_done, actor=p.head, handling_id=handling.pk, result="已办理") == both
    )
    assert step(document, incoming.conclude, actor=clerks.b, result="办结") == both
    assert IncomingDocument.objects.get(pk=document.pk).state == IncomingState.CONCLUDED


def test_the_clerks_are_told_when_the_last_handling_is_done_not_the_lead(
    docs_people: Any, docs_org: dict[str, OrgUnit], organ: Any, clerks: Clerks, pushed: list[Push]
) -> None:
    p = docs_people
    document = secret_delivery(p, docs_org, organ, seq=31)
    incoming.sign_for(actor=clerks.a, document_id=document.pk)
    incoming.propose(actor=clerks.a, document_id=document.pk, proposal="请批示", leader_id=p.leader.pk)
    incoming.instruct(
        actor=p.leader,
        document_id=document.pk,
        instruction="财务部主办，华东分公司配合",
        handlings=[
            {"unit_id": docs_org["finance"].pk, "is_lead": True, "deadline": later(5)},
            {"unit_id": docs_org["sub"].pk, "deadline": later(5)},
        ],
    )
    lead, co = Handling.objects.filter(document=document).order_by("-is_lead")
    pushed.clear()
    incoming.handling_done(actor=p.head, document_id=document.pk, handling_id=lead.pk, result="已办理")
    assert told(pushed, document) == set()  # 华东分公司 still at it: not yet to close
    incoming.handling_done(
        actor=clerks.elsewhere, document_id=document.pk, handling_id=co.pk, result="已配合"
    )
    assert told(pushed, document) == {clerks.a.pk, clerks.b.pk}


def test_read_only_steps_put_the_document_in_the_clerks_close_queue(
    docs_people: Any, docs_org: dict[str, OrgUnit], organ: Any, clerks: Clerks, pushed: list[Push]
) -> None:
    """A 阅知性 拟办, or a 批办 to readers only, leaves it 传阅中: the clerks close it."""
    p = docs_people
    both = {clerks.a.pk, clerks.b.pk}
    read = secret_delivery(p, docs_org, organ, seq=21)
    incoming.sign_for(actor=clerks.a, document_id=read.pk)
    pushed.clear()
    incoming.propose(
        actor=clerks.a, document_id=read.pk, proposal="阅知", for_reading=True, reader_ids=[p.head.pk]
    )
    assert told(pushed, read) == both

    asked = secret_delivery(p, docs_org, organ, seq=22)
    incoming.sign_for(actor=clerks.a, document_id=asked.pk)
    incoming.propose(actor=clerks.a, document_id=asked.pk, proposal="请批示", leader_id=p.leader.pk)
    pushed.clear()
    incoming.instruct(actor=p.leader, document_id=asked.pk, instruction="请传阅", reader_ids=[p.head.pk])
    assert told(pushed, asked) == both


def _todos_card(user: User) -> str:
    response = client_for(User.objects.get(pk=user.pk)).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('id="wb-todos"')
    return html[start : html.index("<section", start)]


def test_the_other_clerks_workbench_drops_the_document_once_it_is_signed_for(
    docs_people: Any, docs_org: dict[str, OrgUnit], organ: Any, clerks: Clerks
) -> None:
    document = secret_delivery(docs_people, docs_org, organ, title="关于报送季度安全检查情况的通知")
    card = _todos_card(clerks.b)
    assert document.title in card
    assert "待签收" in card
    incoming.sign_for(actor=clerks.a, document_id=document.pk)
    # B's card was kept for a minute; A's 签收 outdates it: B's next visit shows it to propose.
    card = _todos_card(clerks.b)
    assert "待签收" not in card
    assert "待拟办" in card


def test_the_push_costs_the_same_queries_for_one_clerk_or_five(
    docs_people: Any, docs_org: dict[str, OrgUnit], organ: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond the one selection of the unit's clerks (``clerks_of``), telling them costs
    nothing per clerk: their clearance is on the accounts read, and the pushes go in one batch."""
    monkeypatch.setattr("xietong.core.events.push_to_users", lambda batch: list(batch))
    document = delivered(organ, docs_people.drafter, docs_org["sub"], docs_people.drafter, level=1)

    def measure() -> tuple[int, int, int]:
        with CaptureQueriesContext(connection) as selection:
            chosen = incoming.clerks_of(document.receiving_unit_id)
        with CaptureQueriesContext(connection) as given:
            incoming._queue_changed(document, chosen)
        with CaptureQueriesContext(connection) as whole:
            incoming._queue_changed(document)
        return len(selection), len(given), len(whole)

    one = measure()
    for n in range(4):
        user = make_user(f"subclerk{n}", name=f"分公司文秘{n}", clearance=classification.INTERNAL)
        place(user, docs_org["sub"])
        grant_role(user, builtin.DOCUMENT_CLERK, scope=DataScope.DEPARTMENT)
    assert len(incoming.clerks_of(docs_org["sub"])) == 5
    five = measure()
    assert one[1] == five[1] == 0
    assert one[2] == one[0]
    assert five[2] == five[0]
