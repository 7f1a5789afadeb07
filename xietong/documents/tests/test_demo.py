"""The demo 公文 loaded with the demo group: 张伟 finds the module at work on his first login."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.fixtures import client_for
from xietong.core import access, clock
from xietong.core import demo as core_demo
from xietong.documents import archive, demo, selectors_incoming, selectors_outgoing
from xietong.documents.models import (
    ArchiveItem,
    Distribution,
    DocumentEvent,
    Handling,
    IncomingDocument,
    IncomingState,
    IssuingOrgan,
    OutgoingDocument,
    OutgoingState,
    VoidedNumber,
)
from xietong.documents.permissions import ARCHIVE, CLERK
from xietong.identity.models import User
from xietong.org import demo as org_demo
from xietong.workflow.models import Instance, InstanceState, WorkItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def zhang() -> User:
    org_demo.load_demo("Demo#Pass2026")
    User.objects.filter(username=demo.DEMO_USER).update(must_change_password=False)  # as after login
    return User.objects.get(username=demo.DEMO_USER)


def snapshot() -> tuple[int, ...]:
    return (
        IssuingOrgan.objects.count(),
        OutgoingDocument.objects.count(),
        IncomingDocument.objects.count(),
        Distribution.objects.count(),
        Handling.objects.count(),
        ArchiveItem.objects.count(),
        DocumentEvent.objects.count(),
        Instance.objects.count(),
        WorkItem.objects.count(),
    )


def test_the_demo_loader_is_registered_after_the_workflow_demo() -> None:
    order = {loader.key: loader.order for loader in core_demo.loaders()}
    assert order["documents"] > order["workflow"]


def test_r78_demo_has_documents_in_every_state_and_loads_once(zhang: User) -> None:
    assert access.can_on(zhang, CLERK, None, unit=IssuingOrgan.objects.get(code="华电办发").unit_id)
    assert access.can(zhang, ARCHIVE)
    assert set(IssuingOrgan.objects.values_list("code", "unit__code")) == {
        ("华电办发", "HQ"),
        ("华电华东办发", "EC"),
    }

    states = list(OutgoingDocument.objects.values_list("state", flat=True))
    assert sorted(states) == sorted(
        [
            OutgoingState.DRAFT,
            OutgoingState.REVIEWING,
            OutgoingState.SIGNED,
            OutgoingState.REGISTERED,
            OutgoingState.DISTRIBUTED,
            OutgoingState.ARCHIVED,
        ]
    )
    # The one under approval waits for the leader's 签发 on the engine.
    reviewing = OutgoingDocument.objects.get(state=OutgoingState.REVIEWING)
    assert reviewing.instance is not None
    assert reviewing.instance.state == InstanceState.RUNNING
    assert WorkItem.objects.filter(instance=reviewing.instance, state=WorkItem.State.PENDING).exists()
    # Numbers are gap-free in the order of 登记; each numbered document has its 正本 PDF.
    numbered = OutgoingDocument.objects.filter(doc_no_seq__isnull=False).order_by("doc_no_seq")
    assert [document.doc_no_seq for document in numbered] == [1, 2, 3]
    assert all(document.doc_no.startswith("华电办发〔") for document in numbered)
    assert all(document.pdf_id is not None for document in numbered)
    assert not VoidedNumber.objects.exists()
    # The 已分发 one arrived at both subsidiaries as a 收文 waiting to be signed for.
    sent = OutgoingDocument.objects.get(state=OutgoingState.DISTRIBUTED)
    arrived = IncomingDocument.objects.filter(source=sent)
    assert set(arrived.values_list("receiving_unit__code", "state")) == {
        ("EC", IncomingState.PENDING),
        ("SW", IncomingState.PENDING),
    }
    item = ArchiveItem.objects.get()
    assert item.outgoing is not None
    assert item.outgoing.state == OutgoingState.ARCHIVED
    assert archive.verify(item) == []

    received = IncomingDocument.objects.filter(receiving_unit__code="HQ")
    assert sorted(received.values_list("state", flat=True)) == sorted(
        [
            IncomingState.REGISTERED,
            IncomingState.HANDLING,
            IncomingState.HANDLING,
            IncomingState.CIRCULATING,
            IncomingState.CONCLUDED,
        ]
    )
    assert all(document.scan_id is not None and document.recv_no for document in received)
    handling = received.filter(state=IncomingState.HANDLING)
    now = clock.now()
    assert sorted(document.deadline < now for document in handling) == [False, True]  # type: ignore[operator]

    before = snapshot()
    demo.load()
    demo.load()
    assert snapshot() == before


def test_the_demo_leaves_zhangweis_approval_desk_alone(zhang: User) -> None:
    # 张伟 starts no 发文 request and holds no open or finished item of the 发文 flows: the
    # 审核 steps are the second clerk's.
    document_flows = ("documents-outgoing", "documents-resign")
    assert not Instance.objects.filter(initiator=zhang, definition__code__in=document_flows).exists()
    assert not WorkItem.objects.filter(
        assignee=zhang,
        instance__definition__code__in=document_flows,
        state__in=[WorkItem.State.PENDING, WorkItem.State.APPROVED],
    ).exists()


def test_the_demo_user_sees_the_documents_in_the_lists(zhang: User) -> None:
    outgoing_rows = selectors_outgoing.search(zhang, selectors_outgoing.Filters())
    assert set(outgoing_rows.values_list("state", flat=True)) == {
        OutgoingState.DRAFT,
        OutgoingState.REVIEWING,
        OutgoingState.SIGNED,
        OutgoingState.REGISTERED,
        OutgoingState.DISTRIBUTED,
        OutgoingState.ARCHIVED,
    }
    assert list(selectors_outgoing.clerk_todo(zhang).values_list("state", flat=True)) == [
        OutgoingState.SIGNED,
        OutgoingState.REGISTERED,
    ]
    assert selectors_incoming.incoming_list(zhang).filter(receiving_unit__code="HQ").count() == 5

    client = client_for(zhang)
    page = client.get(reverse("documents:outgoing_list"))
    assert page.status_code == 200
    html = page.content.decode()
    for title in (
        "关于做好2027年元旦春节期间值班工作的通知",
        "关于表彰2026年度安全生产先进集体和先进个人的决定",
    ):
        assert title in html
    page = client.get(reverse("documents:incoming_list"), {"box": "all"})
    assert page.status_code == 200
    assert "关于做好2026—2027年度电力迎峰度冬工作的通知" in page.content.decode()
    assert client.get(reverse("documents:archive_list")).status_code == 200
