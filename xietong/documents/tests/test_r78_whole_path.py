"""R-78 end to end through the services, with the real layout and nothing stubbed: a 通知 is
drafted, approved on the engine (核稿, 审核, 签发), rechecked, numbered, sealed and distributed;
the subsidiary signs for it, the leader instructs, the department handles it, the clerk
concludes it; both sides are archived, and the archive verification catches a changed file."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.core.files.storage import default_storage

from tests.fixtures import grant_role, make_user, place
from xietong.core import classification
from xietong.documents import archive, incoming, outgoing
from xietong.documents.models import (
    DocType,
    DocumentEvent,
    IncomingDocument,
    IncomingState,
    OutgoingState,
)
from xietong.org import builtin
from xietong.org.models import DataScope
from xietong.workflow import services as workflow
from xietong.workflow.models import WorkItem

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)


def rid() -> str:
    return f"path-{next(_ids)}"


def approve(document: Any, user: Any) -> None:
    item = WorkItem.objects.get(instance=document.instance, assignee=user, state=WorkItem.State.PENDING)
    workflow.approve(actor=user, item=item, request_id=rid(), opinion="同意")


def test_r78_outgoing_to_incoming_to_archive(
    docs_people: Any, docs_org: Any, organ: Any, outgoing_flows: None
) -> None:
    people = docs_people
    archivist = make_user("dangan", name="钱档案", clearance=classification.COMMERCIAL_SECRET)
    place(archivist, docs_org["office"])
    grant_role(archivist, builtin.ARCHIVIST, scope=DataScope.GROUP)

    # 发文: 起草 → 核稿 → 审核 → 签发 on the engine.
    document = outgoing.draft_create(
        actor=people.drafter,
        data=outgoing.DraftIn(
            organ_id=organ.pk,
            doc_type=DocType.TONGZHI,
            title="关于做好冬季安全生产工作的通知",
            main_recipients="华东分公司",
            main_unit_ids=[docs_org["sub"].pk],
            body="<p>一、提高认识</p><p>各单位要切实做好冬季安全生产工作。</p>",
        ),
    )
    document = outgoing.submit(
        actor=people.drafter, document=document, signer=people.leader, request_id=rid()
    )
    for user in (people.head, people.clerk, people.leader):
        approve(document, user)
        document.refresh_from_db()
    assert document.state == OutgoingState.SIGNED
    assert [signer["name"] for signer in document.signers] == ["赵董事长"]

    # 复核 → 登记 (the number) → 用印 → 分发 by the group's clerk; the PDF is really laid out.
    document = outgoing.recheck(actor=people.clerk, document=document, request_id=rid())
    document = outgoing.register(actor=people.clerk, document=document, copies=5, request_id=rid())
    assert document.doc_no == f"协同发〔{document.doc_no_year}〕1号"
    document = outgoing.seal(actor=people.clerk, document=document, request_id=rid())
    assert document.pdf is not None
    assert default_storage.open(document.pdf.blob).read().startswith(b"%PDF")
    document = outgoing.distribute(actor=people.clerk, document=document, request_id=rid())
    assert document.state == OutgoingState.DISTRIBUTED

    # 收文 at 华东分公司: 签收 → 拟办 → 批办 → 承办 → 办结.
    received = IncomingDocument.objects.get(source=document)
    assert (received.receiving_unit, received.state) == (docs_org["sub"], IncomingState.PENDING)
    assert received.sender_doc_no == document.doc_no
    received = incoming.sign_for(actor=people.sub_clerk, document_id=received.pk)
    assert received.recv_no == f"收〔{received.recv_year}〕1号"
    incoming.propose(
        actor=people.sub_clerk,
        document_id=received.pk,
        proposal="请生产技术部落实。",
        leader_id=people.leader.pk,
    )
    incoming.instruct(
        actor=people.leader,
        document_id=received.pk,
        instruction="同意，请生产技术部抓好落实。",
        handlings=[{"unit_id": docs_org["sub_dept"].pk, "is_lead": True}],
    )
    handling = received.handlings.get()
    incoming.handling_done(
        actor=people.sub_clerk, document_id=received.pk, handling_id=handling.pk, result="已组织自查。"
    )
    received = incoming.conclude(actor=people.sub_clerk, document_id=received.pk, result="已落实，情况良好。")
    assert received.state == IncomingState.CONCLUDED

    # Both sides archived, each a 件 with checksums; the process record travels with it.
    sent_item = archive.archive_outgoing(actor=archivist, document=document, request_id=rid())
    got_item = archive.archive_incoming(actor=archivist, document=received, request_id=rid())
    assert sent_item.archival_code.endswith("-0001")
    assert got_item.archival_code != sent_item.archival_code
    assert archive.verify(sent_item, actor=archivist) == []
    assert archive.verify(got_item, actor=archivist) == []
    steps = list(DocumentEvent.objects.filter(outgoing=document).values_list("action", flat=True))
    for step in ("核稿", "审核", "签发", "复核", "登记", "用印", "分发", "归档"):
        assert step in steps, step
    assert {"签收", "拟办", "批办", "办结"} <= set(
        DocumentEvent.objects.filter(incoming=received).values_list("action", flat=True)
    )

    # A changed file is caught.
    original = sent_item.components.get(role=archive.ROLE_ORIGINAL)
    default_storage.delete(original.file.blob)
    other = got_item.components.order_by("seq")[0].file
    default_storage.save(original.file.blob, default_storage.open(other.blob))
    problems = archive.verify(sent_item, actor=archivist)
    assert problems
    sent_item.refresh_from_db()
    assert sent_item.verified_ok is False
