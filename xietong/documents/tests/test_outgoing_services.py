"""发文 services: the whole route from 起草 to 分发, its refusals and its records."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from xietong.audit.models import Event
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.documents import audit_actions, flows, outgoing, rules, selectors_outgoing
from xietong.documents import layout as layout_package
from xietong.documents.models import (
    Direction,
    Distribution,
    DocType,
    DocumentEvent,
    OutgoingDocument,
    OutgoingState,
    TextVersion,
    VoidedNumber,
)
from xietong.workflow import services as workflow
from xietong.workflow.models import Instance, InstanceState, WorkItem

pytestmark = pytest.mark.django_db

_ids = iter(range(1, 10**6))


def rid() -> str:
    return f"t-{next(_ids)}"


@pytest.fixture(autouse=True)
def renderers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The layout renderers and the 收文 delivery belong to other parts of the module: record
    what they are given."""
    calls: list[Any] = []

    def render_pdf(layout: Any) -> bytes:
        calls.append(layout)
        return b"%PDF-1.7 test"

    monkeypatch.setattr(layout_package, "render_pdf", render_pdf, raising=False)
    monkeypatch.setattr(layout_package, "render_docx", lambda layout: b"PK docx", raising=False)
    monkeypatch.setattr(outgoing, "_deliver", lambda distribution, actor: calls.append(distribution))
    return calls


def draft(people: Any, organ: Any, docs_org: Any, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "organ_id": organ.pk,
        "doc_type": DocType.TONGZHI,
        "title": "关于做好年终安全检查工作的通知",
        "main_recipients": "华东分公司",
        "main_unit_ids": [docs_org["sub"].pk],
        "cc_recipients": "财务部",
        "cc_unit_ids": [docs_org["finance"].pk],
        "body": "<p>一、检查范围</p><p>各单位全面自查。</p>",
        **overrides,
    }
    return outgoing.draft_create(actor=people.drafter, data=outgoing.DraftIn(**values))


def approve_all(document: Any, *users: Any) -> None:
    for user in users:
        item = WorkItem.objects.get(instance=document.instance, assignee=user, state=WorkItem.State.PENDING)
        workflow.approve(actor=user, item=item, request_id=rid(), opinion="同意")


def signed(people: Any, organ: Any, docs_org: Any, **overrides: Any) -> Any:
    document = draft(people, organ, docs_org, **overrides)
    document = outgoing.submit(
        actor=people.drafter, document=document, signer=people.leader, request_id=rid()
    )
    assert document.state == OutgoingState.REVIEWING
    approve_all(document, people.head)
    document.refresh_from_db()
    approve_all(document, people.clerk)
    document.refresh_from_db()
    approve_all(document, people.leader)
    document.refresh_from_db()
    return document


@pytest.fixture
def ready(docs_people: Any, organ: Any, docs_org: Any, outgoing_flows: None) -> Any:
    return docs_people


def test_r78_full_route_from_draft_to_distribution(
    ready: Any, organ: Any, docs_org: Any, renderers: list[Any]
) -> None:
    people = ready
    document = signed(people, organ, docs_org)
    assert document.state == OutgoingState.SIGNED
    assert [entry["name"] for entry in document.signers] == ["赵董事长"]
    assert document.signers[0]["opinion"] == "同意"
    # 成文日期 is the 签发 date (条例 第二十二条).
    assert document.date_written == dt.date.fromisoformat(document.signers[0]["at"][:10])
    actions = list(DocumentEvent.objects.filter(outgoing=document).values_list("action", flat=True))
    assert actions[:2] == ["起草", "送审"]
    assert {"核稿", "审核", "签发"} <= set(actions)

    document = outgoing.recheck(actor=people.clerk, document=document, request_id=rid())
    assert document.state == OutgoingState.CHECKED
    document = outgoing.register(actor=people.clerk, document=document, copies=5, request_id=rid())
    assert document.state == OutgoingState.REGISTERED
    assert document.doc_no == f"协同发〔{document.doc_no_year}〕1号"
    assert document.pdf is not None
    assert document.pdf.content_type == "application/pdf"
    printed = renderers[-1]
    assert printed.doc_no == document.doc_no
    assert printed.sealed is False
    assert Event.objects.filter(action=audit_actions.OUTGOING_REGISTERED, target_id=str(document.pk)).exists()

    document = outgoing.seal(actor=people.clerk, document=document, request_id=rid())
    assert document.state == OutgoingState.SEALED
    resealed = renderers[-1]
    assert resealed.sealed is True
    document = outgoing.distribute(actor=people.clerk, document=document, request_id=rid())
    assert document.state == OutgoingState.DISTRIBUTED
    rows = list(Distribution.objects.filter(document=document).order_by("pk"))
    assert [(row.unit_id, row.kind) for row in rows] == [
        (docs_org["sub"].pk, "main"),
        (docs_org["finance"].pk, "cc"),
    ]
    assert all(row.copy_no == "" for row in rows)
    assert renderers[-2:] == rows
    # The receiving unit's clerk now sees it; the outsider never does.
    assert selectors_outgoing.visible(people.sub_clerk).filter(pk=document.pk).exists()
    assert not selectors_outgoing.visible(people.outsider).filter(pk=document.pk).exists()


def test_r78_check_goes_to_the_issuing_organs_own_clerks_only(ready: Any, organ: Any, docs_org: Any) -> None:
    """审核 is the issuing organ's office's: a subsidiary's 公文管理员 never sees the group's draft."""
    people = ready
    document = outgoing.submit(
        actor=people.drafter, document=draft(people, organ, docs_org), signer=people.leader, request_id=rid()
    )
    assert request_of(document).data["checkers"] == [people.clerk.pk]
    approve_all(document, people.head)
    pending = WorkItem.objects.filter(instance=document.instance, state=WorkItem.State.PENDING)
    assert list(pending.values_list("assignee_id", flat=True)) == [people.clerk.pk]
    assert not selectors_outgoing.visible(people.sub_clerk).filter(pk=document.pk).exists()


def test_an_installed_flow_asking_every_clerk_gets_a_new_version_asking_the_organs(
    ready: Any, organ: Any, docs_org: Any
) -> None:
    from xietong.core import clock
    from xietong.workflow.models import FlowDefinition, FlowVersion

    flow = FlowDefinition.objects.get(code=flows.OUTGOING)
    old = flow.current_version
    assert old is not None
    # As version 1 was installed before: 审核 by the role, no checkers field; plus an
    # administrator's own change that must survive.
    nodes = [
        {**node, "approvers": flows.OLD_CHECK_APPROVERS} if node["id"] == flows.NODE_CHECK else node
        for node in old.flow["nodes"]
    ]
    fields = [field for field in old.form["fields"] if field["key"] != "checkers"]
    old.flow = {**old.flow, "nodes": nodes, "settings": {"time_limit_hours": 48}}
    old.form = {**old.form, "fields": fields}
    old.save()

    assert flows.scope_the_check_step(FlowDefinition, FlowVersion, now=clock.now())
    flow.refresh_from_db()
    new = flow.current_version
    assert new is not None
    assert new.number == old.number + 1
    assert new.status == "published"
    check = next(node for node in new.flow["nodes"] if node["id"] == flows.NODE_CHECK)
    assert check["approvers"] == flows.CHECK_APPROVERS
    assert new.flow["settings"] == {"time_limit_hours": 48}
    assert [field["key"] for field in new.form["fields"]][-2:] == ["checkers", "signer"]
    old.refresh_from_db()
    assert old.status == "retired"
    # Done once: the new version is left alone.
    assert not flows.scope_the_check_step(FlowDefinition, FlowVersion, now=clock.now())
    document = outgoing.submit(
        actor=ready.drafter, document=draft(ready, organ, docs_org), signer=ready.leader, request_id=rid()
    )
    assert request_of(document).version_id == new.pk


def request_of(document: OutgoingDocument) -> Instance:
    assert document.instance is not None
    return document.instance


def _return_to_drafter(document: Any, approver: Any, opinion: str) -> None:
    item = WorkItem.objects.get(instance=document.instance, assignee=approver, state=WorkItem.State.PENDING)
    workflow.return_to(actor=approver, item=item, request_id=rid(), target="initiator", opinion=opinion)


def test_r78_sent_back_to_the_drafter_the_draft_is_corrected_and_the_same_request_goes_on(
    ready: Any, organ: Any, docs_org: Any
) -> None:
    people = ready
    document = outgoing.submit(
        actor=people.drafter, document=draft(people, organ, docs_org), signer=people.leader, request_id=rid()
    )
    instance = request_of(document)
    _return_to_drafter(document, people.head, "标题请写明检查范围")
    document.refresh_from_db()
    assert document.state == OutgoingState.DRAFT
    returned = DocumentEvent.objects.filter(outgoing=document, action="退回拟稿人").get()
    assert returned.opinion == "标题请写明检查范围"
    assert document in selectors_outgoing.returned_drafts(people.drafter)

    outgoing.draft_update(
        actor=people.drafter,
        document=document,
        data=outgoing.DraftIn(title="关于做好年终安全生产检查工作的通知", lock_version=document.lock_version),
        request_id=rid(),
    )
    document = outgoing.submit(
        actor=people.drafter, document=document, signer=people.leader, request_id=rid()
    )
    assert document.state == OutgoingState.REVIEWING
    assert document.instance_id == instance.pk  # the same request, its second round
    instance.refresh_from_db()
    assert instance.state == InstanceState.RUNNING
    assert instance.actions.filter(kind="resubmit", actor=people.drafter).exists()
    assert instance.title == "关于做好年终安全生产检查工作的通知"
    for user in (people.head, people.clerk, people.leader):
        approve_all(document, user)
    document.refresh_from_db()
    assert document.state == OutgoingState.SIGNED
    steps = list(
        DocumentEvent.objects.filter(outgoing=document, detail__has_key="engine_action").values_list(
            "action", flat=True
        )
    )
    assert steps == ["核稿退回", "核稿", "审核", "签发"]  # each decision once


def test_a_returned_request_resubmitted_from_the_approvals_page_puts_the_document_under_approval(
    ready: Any, organ: Any, docs_org: Any
) -> None:
    people = ready
    document = outgoing.submit(
        actor=people.drafter, document=draft(people, organ, docs_org), signer=people.leader, request_id=rid()
    )
    _return_to_drafter(document, people.head, "请补充")
    workflow.resubmit(actor=people.drafter, instance=request_of(document), request_id=rid())
    document.refresh_from_db()
    assert document.state == OutgoingState.REVIEWING
    assert DocumentEvent.objects.filter(outgoing=document, action="重新送审").exists()


def test_cancelling_a_returned_draft_withdraws_its_request(ready: Any, organ: Any, docs_org: Any) -> None:
    people = ready
    document = outgoing.submit(
        actor=people.drafter, document=draft(people, organ, docs_org), signer=people.leader, request_id=rid()
    )
    _return_to_drafter(document, people.head, "不必发文")
    document.refresh_from_db()
    document = outgoing.cancel(actor=people.drafter, document=document, reason="不再发文", request_id=rid())
    assert document.state == OutgoingState.CANCELLED
    assert Instance.objects.get(pk=request_of(document).pk).state == InstanceState.WITHDRAWN


def test_r78_classified_copies_get_copy_numbers(ready: Any, organ: Any, docs_org: Any) -> None:
    people = ready
    document = signed(people, organ, docs_org, classification=2, secret_term="5年")
    document = outgoing.recheck(actor=people.clerk, document=document, request_id=rid())
    document = outgoing.register(actor=people.clerk, document=document, copies=2, request_id=rid())
    document = outgoing.seal(actor=people.clerk, document=document, request_id=rid())
    assert outgoing.layout_of(document).secret_mark == "普通商密★5年"
    outgoing.distribute(actor=people.clerk, document=document, request_id=rid())
    assert sorted(Distribution.objects.filter(document=document).values_list("copy_no", flat=True)) == [
        "000001",
        "000002",
    ]


def test_r78_submit_refuses_invalid_elements(ready: Any, organ: Any, docs_org: Any) -> None:
    people = ready
    document = draft(people, organ, docs_org, title="关于年终安全检查工作")
    with pytest.raises(rules.FieldErrors) as error:
        outgoing.submit(actor=people.drafter, document=document, signer=people.leader, request_id=rid())
    assert "title" in error.value.errors
    document.refresh_from_db()
    assert document.state == OutgoingState.DRAFT
    assert document.instance is None


def test_r78_rejection_returns_the_draft_with_the_reason(ready: Any, organ: Any, docs_org: Any) -> None:
    people = ready
    document = draft(people, organ, docs_org)
    document = outgoing.submit(
        actor=people.drafter, document=document, signer=people.leader, request_id=rid()
    )
    item = WorkItem.objects.get(
        instance=document.instance, assignee=people.head, state=WorkItem.State.PENDING
    )
    workflow.reject(actor=people.head, item=item, request_id=rid(), opinion="数据需核实")
    document.refresh_from_db()
    assert document.state == OutgoingState.DRAFT
    event = DocumentEvent.objects.filter(outgoing=document, action="退回拟稿人").get()
    assert event.opinion == "数据需核实"
    assert list(selectors_outgoing.returned_drafts(people.drafter)) == [document]


def test_r78_substantive_change_after_signing_goes_back_to_the_signer(
    ready: Any, organ: Any, docs_org: Any
) -> None:
    people = ready
    document = signed(people, organ, docs_org)
    document = outgoing.recheck(
        actor=people.clerk,
        document=document,
        data=outgoing.DraftIn(body="<p>一、检查范围扩大到全集团。</p>"),
        reason="扩大范围",
        request_id=rid(),
    )
    assert document.state == OutgoingState.RESIGNING
    version = TextVersion.objects.filter(document=document).order_by("-number").first()
    assert version is not None
    assert version.substantive
    assert version.changed == ["body"]
    assert document.instance is not None
    assert document.instance.definition.code == flows.RESIGN
    approve_all(document, people.leader)
    document.refresh_from_db()
    assert document.state == OutgoingState.SIGNED
    assert document.instance.state == InstanceState.APPROVED


def test_r78_change_of_form_only_is_checked_at_once(ready: Any, organ: Any, docs_org: Any) -> None:
    people = ready
    document = signed(people, organ, docs_org)
    document = outgoing.recheck(
        actor=people.clerk, document=document, data=outgoing.DraftIn(note="此件公开发布"), request_id=rid()
    )
    assert document.state == OutgoingState.CHECKED
    assert not TextVersion.objects.filter(document=document, substantive=True).exists()


def test_r78_upward_document_needs_signers_to_register(ready: Any, organ: Any, docs_org: Any) -> None:
    people = ready
    document = signed(
        people,
        organ,
        docs_org,
        doc_type=DocType.QINGSHI,
        title="关于增加安全投入的请示",
        main_recipients="华东分公司",
        main_unit_ids=[docs_org["sub"].pk],
    )
    assert document.direction == Direction.UP
    assert outgoing.layout_of(document).signers == ("赵董事长",)
    document.signers = []
    document.save(update_fields=["signers"])
    document = outgoing.recheck(actor=people.clerk, document=document, request_id=rid())
    with pytest.raises(rules.FieldErrors) as error:
        outgoing.register(actor=people.clerk, document=document, copies=1, request_id=rid())
    assert "signers" in error.value.errors


def test_r78_voided_number_is_never_reused(ready: Any, organ: Any, docs_org: Any) -> None:
    people = ready
    document = signed(people, organ, docs_org)
    document = outgoing.recheck(actor=people.clerk, document=document, request_id=rid())
    document = outgoing.register(actor=people.clerk, document=document, copies=1, request_id=rid())
    first = document.doc_no
    with pytest.raises(DomainError):
        outgoing.void_number(actor=people.clerk, document=document, reason="", request_id=rid())
    document = outgoing.void_number(
        actor=people.clerk, document=document, reason="编号错误", request_id=rid()
    )
    assert document.state == OutgoingState.CHECKED
    assert document.doc_no == ""
    assert VoidedNumber.objects.get().doc_no == first
    document = outgoing.register(actor=people.clerk, document=document, copies=1, request_id=rid())
    assert document.doc_no_seq == 2


def test_r78_only_the_organs_clerk_does_the_office_steps(ready: Any, organ: Any, docs_org: Any) -> None:
    people = ready
    document = signed(people, organ, docs_org)
    for user in (people.sub_clerk, people.drafter, people.outsider):
        with pytest.raises(PermissionDeniedError):
            outgoing.recheck(actor=user, document=document, request_id=rid())
    with pytest.raises(DomainError):
        outgoing.register(actor=people.clerk, document=document, copies=1, request_id=rid())


def test_draft_update_keeps_versions_and_only_drafter_edits(ready: Any, organ: Any, docs_org: Any) -> None:
    people = ready
    document = draft(people, organ, docs_org)
    outgoing.draft_update(
        actor=people.drafter, document=document, data=outgoing.DraftIn(title="关于做好年底安全检查工作的通知")
    )
    versions = list(TextVersion.objects.filter(document=document).order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].changed == ["title"]
    # Saving the same values again changes nothing and adds no version.
    outgoing.draft_update(
        actor=people.drafter, document=document, data=outgoing.DraftIn(title="关于做好年底安全检查工作的通知")
    )
    assert TextVersion.objects.filter(document=document).count() == 2
    with pytest.raises(PermissionDeniedError):
        outgoing.draft_update(actor=people.clerk, document=document, data=outgoing.DraftIn(note="x"))


def test_submit_is_idempotent(ready: Any, organ: Any, docs_org: Any) -> None:
    people = ready
    document = draft(people, organ, docs_org)
    key = rid()
    first = outgoing.submit(actor=people.drafter, document=document, signer=people.leader, request_id=key)
    again = outgoing.submit(actor=people.drafter, document=document, signer=people.leader, request_id=key)
    assert first.instance_id == again.instance_id
    assert DocumentEvent.objects.filter(outgoing=document, action="送审").count() == 1


def test_cancel_revoke_abolish(ready: Any, organ: Any, docs_org: Any) -> None:
    people = ready
    document = draft(people, organ, docs_org)
    assert outgoing.cancel(actor=people.drafter, document=document).state == OutgoingState.CANCELLED
    document = signed(people, organ, docs_org)
    document = outgoing.recheck(actor=people.clerk, document=document, request_id=rid())
    document = outgoing.register(actor=people.clerk, document=document, copies=3, request_id=rid())
    document = outgoing.seal(actor=people.clerk, document=document, request_id=rid())
    document = outgoing.distribute(actor=people.clerk, document=document, request_id=rid())
    with pytest.raises(rules.FieldErrors):
        outgoing.revoke(actor=people.clerk, document=document, reason=" ")
    revoked = outgoing.revoke(actor=people.clerk, document=document, reason="依据已失效")
    assert revoked.state == OutgoingState.REVOKED
    assert Event.objects.filter(action=audit_actions.OUTGOING_REVOKED).exists()


def test_docx_upload_becomes_the_body(ready: Any, organ: Any, docs_org: Any) -> None:
    import io

    import docx
    from django.core.files.uploadedfile import SimpleUploadedFile

    people = ready
    word = docx.Document()
    word.add_paragraph("一、总体要求")
    word.add_paragraph("严格落实<责任>。")
    buffer = io.BytesIO()
    word.save(buffer)
    upload = SimpleUploadedFile(
        "正文.docx",
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    document = draft(people, organ, docs_org, body=None, body_docx=upload)
    assert outgoing.layout_of(document).paragraphs == ("一、总体要求", "严格落实<责任>。")
    assert document.body_docx is not None


def test_selector_query_count_does_not_grow(
    ready: Any, organ: Any, docs_org: Any, django_assert_max_num_queries: Any
) -> None:
    people = ready
    for _ in range(3):
        draft(people, organ, docs_org)
    with django_assert_max_num_queries(4):
        list(selectors_outgoing.search(people.drafter, selectors_outgoing.Filters()))
    for _ in range(5):
        draft(people, organ, docs_org)
    with django_assert_max_num_queries(4):
        assert len(list(selectors_outgoing.search(people.drafter, selectors_outgoing.Filters()))) == 8
