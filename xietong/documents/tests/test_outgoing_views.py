"""发文 pages: who sees what, the form errors beside the fields, the actions and downloads."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from tests.fixtures import client_for
from xietong.audit.models import Event
from xietong.documents import audit_actions, outgoing
from xietong.documents import layout as layout_package
from xietong.documents.models import DocType, OutgoingDocument, OutgoingState
from xietong.documents.tests.test_outgoing_services import draft, rid, signed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _renderers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout_package, "render_pdf", lambda layout: b"%PDF-1.7 test", raising=False)
    monkeypatch.setattr(layout_package, "render_docx", lambda layout: b"PK docx", raising=False)
    monkeypatch.setattr(outgoing, "_deliver", lambda distribution, actor: None)


@pytest.fixture
def people(docs_people: Any, outgoing_flows: None) -> Any:
    return docs_people


def test_new_draft_page_saves_and_shows_errors_beside_fields(people: Any, organ: Any, docs_org: Any) -> None:
    client = client_for(people.drafter)
    assert client.get(reverse("documents:outgoing_new")).status_code == 200
    response = client.post(
        reverse("documents:outgoing_new"),
        {"organ": organ.pk, "doc_type": DocType.TONGZHI, "title": "", "classification": 0},
    )
    assert response.status_code == 400
    assert 'data-field="title"' in response.content.decode()
    response = client.post(
        reverse("documents:outgoing_new"),
        {
            "organ": organ.pk,
            "doc_type": DocType.TONGZHI,
            "direction": "down",
            "title": "关于开展安全检查的通知",
            "main_recipients": "华东分公司",
            "main_units": [docs_org["sub"].pk],
            "classification": 1,
            "body": "<p>请各单位开展自查。</p><script>alert(1)</script>",
        },
    )
    assert response.status_code == 302
    document = OutgoingDocument.objects.get()
    assert "<script>" not in document.body
    page = client.get(reverse("documents:outgoing_detail", args=[document.pk])).content.decode()
    assert "关于开展安全检查的通知" in page
    assert 'id="submit-form"' in page


def test_r78_classified_term_error_is_shown_on_the_secret_term_field(people: Any, organ: Any) -> None:
    response = client_for(people.drafter).post(
        reverse("documents:outgoing_new"),
        {"organ": organ.pk, "doc_type": DocType.TONGZHI, "title": "关于某事的通知", "classification": 2},
    )
    assert response.status_code == 400
    assert 'data-field="secret_term"' in response.content.decode()


def test_outsider_gets_404_and_list_hides_the_document(people: Any, organ: Any, docs_org: Any) -> None:
    document = draft(people, organ, docs_org)
    client = client_for(people.outsider)
    assert client.get(reverse("documents:outgoing_detail", args=[document.pk])).status_code == 404
    assert client.get(reverse("documents:outgoing_pdf", args=[document.pk])).status_code == 404
    assert document.title not in client.get(reverse("documents:outgoing_list")).content.decode()
    assert (
        document.title in client_for(people.drafter).get(reverse("documents:outgoing_list")).content.decode()
    )


def test_clerk_runs_the_office_steps_from_the_page(people: Any, organ: Any, docs_org: Any) -> None:
    document = signed(people, organ, docs_org)
    client = client_for(people.clerk)
    home = client.get(reverse("documents:home")).content.decode()
    assert document.title in home
    client.post(reverse("documents:outgoing_recheck", args=[document.pk]), {"request_id": rid()})
    client.post(
        reverse("documents:outgoing_register", args=[document.pk]), {"copies": "3", "request_id": rid()}
    )
    client.post(reverse("documents:outgoing_seal", args=[document.pk]), {"request_id": rid()})
    client.post(
        reverse("documents:outgoing_distribute", args=[document.pk]),
        {"main_units": [docs_org["sub"].pk], "request_id": rid()},
    )
    document.refresh_from_db()
    assert document.state == OutgoingState.DISTRIBUTED
    assert document.doc_no
    # The drafter cannot take an office step.
    response = client_for(people.drafter).post(
        reverse("documents:outgoing_revoke", args=[document.pk]), {"reason": "x"}, follow=True
    )
    assert "公文管理员" in response.content.decode()
    document.refresh_from_db()
    assert document.state == OutgoingState.DISTRIBUTED


def test_classified_download_is_audited(people: Any, organ: Any, docs_org: Any) -> None:
    document = draft(people, organ, docs_org, classification=2, secret_term="5年")
    client = client_for(people.drafter)
    response = client.get(reverse("documents:outgoing_pdf", args=[document.pk]) + "?inline=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    assert client.get(reverse("documents:outgoing_docx", args=[document.pk])).status_code == 200
    assert Event.objects.filter(action=audit_actions.OUTGOING_DOWNLOADED).count() == 2
    assert Event.objects.filter(action=audit_actions.OUTGOING_VIEWED).count() == 0
    client.get(reverse("documents:outgoing_detail", args=[document.pk]))
    assert Event.objects.filter(action=audit_actions.OUTGOING_VIEWED).count() == 1


def test_version_history_shows_a_word_diff(people: Any, organ: Any, docs_org: Any) -> None:
    document = draft(people, organ, docs_org)
    outgoing.draft_update(
        actor=people.drafter,
        document=document,
        data=outgoing.DraftIn(body="<p>一、检查范围</p><p>各单位认真自查。</p>"),
    )
    page = (
        client_for(people.drafter)
        .get(reverse("documents:outgoing_detail", args=[document.pk]))
        .content.decode()
    )
    assert "<ins>认真</ins>" in page


def test_list_query_count_does_not_grow(
    people: Any, organ: Any, docs_org: Any, django_assert_max_num_queries: Any
) -> None:
    client = client_for(people.drafter)
    draft(people, organ, docs_org)
    client.get(reverse("documents:outgoing_list"))
    with django_assert_max_num_queries(30) as first:
        client.get(reverse("documents:outgoing_list"))
    for _ in range(6):
        draft(people, organ, docs_org)
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(reverse("documents:outgoing_list"))


def test_the_approval_page_leads_the_approver_to_the_document(people: Any, organ: Any, docs_org: Any) -> None:
    document = outgoing.submit(
        actor=people.drafter, document=draft(people, organ, docs_org), signer=people.leader, request_id=rid()
    )
    client = client_for(people.head)  # 核稿: the drafter's department head
    page = client.get(reverse("workflow:instance", args=[document.instance_id])).content.decode()
    link = reverse("documents:outgoing_detail", args=[document.pk])
    assert f'href="{link}" id="related-link"' in page
    opened = client.get(link)
    assert opened.status_code == 200
    assert "关于做好年终安全检查工作的通知" in opened.content.decode()


# --------------------------------------------------------------------------- 修改后复核


def _recheck_post(document: Any, **changes: Any) -> dict[str, Any]:
    """The form as the page sends it back: every element as it is, then ``changes``."""
    values: dict[str, Any] = {
        "organ": document.organ_id,
        "doc_type": document.doc_type,
        "direction": document.direction,
        "layout_kind": document.layout_kind,
        "title": document.title,
        "main_recipients": document.main_recipients,
        "main_units": [unit.pk for unit in document.main_units.all()],
        "cc_recipients": document.cc_recipients,
        "cc_units": [unit.pk for unit in document.cc_units.all()],
        "classification": document.classification,
        "secret_term": document.secret_term,
        "urgency": document.urgency,
        # A browser sends a textarea back with CRLF line endings.
        "body": document.body.replace("</p><p>", "</p>\r\n<p>"),
        "note": document.note,
        "lock_version": document.lock_version,
        "attachment_id": [a.pk for a in document.attachments.order_by("seq")],
        "attachment_title": [a.title for a in document.attachments.order_by("seq")],
        "request_id": rid(),
    }
    values.update(changes)
    return values


def test_r78_recheck_page_form_only_change_is_checked(people: Any, organ: Any, docs_org: Any) -> None:
    document = signed(people, organ, docs_org)
    client = client_for(people.clerk)
    url = reverse("documents:outgoing_recheck_edit", args=[document.pk])
    detail = client.get(reverse("documents:outgoing_detail", args=[document.pk])).content.decode()
    assert f'href="{url}" id="recheck-edit"' in detail
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="recheck-notice"' in text
    assert "赵董事长" in text  # the signer the document would go back to
    assert 'name="reason"' in text
    # A change needs its 修改说明, shown beside the field; nothing is changed.
    missing = client.post(url, _recheck_post(document, note="此件公开发布"))
    assert missing.status_code == 400
    assert 'data-field="reason"' in missing.content.decode()
    document.refresh_from_db()
    assert document.state == OutgoingState.SIGNED
    assert document.note == ""
    posted = _recheck_post(document, note="此件公开发布", reason="补充附注")
    response = client.post(url, posted)
    assert response.status_code == 302
    # The same form sent twice (a double click): applied once, no error.
    assert client.post(url, posted).status_code == 302
    assert document.events.filter(action="复核").count() == 1
    document.refresh_from_db()
    assert document.state == OutgoingState.CHECKED
    assert document.note == "此件公开发布"
    version = document.versions.order_by("-number").first()
    assert version is not None
    assert version.changed == ["note"]
    assert not version.substantive


def test_r78_recheck_page_without_changes_needs_no_reason(people: Any, organ: Any, docs_org: Any) -> None:
    document = signed(people, organ, docs_org)
    client = client_for(people.clerk)
    url = reverse("documents:outgoing_recheck_edit", args=[document.pk])
    versions = document.versions.count()
    response = client.post(url, _recheck_post(document))
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.state == OutgoingState.CHECKED
    assert document.versions.count() == versions


def test_r78_recheck_page_title_change_goes_back_to_the_signer(
    people: Any, organ: Any, docs_org: Any
) -> None:
    from xietong.documents import flows
    from xietong.workflow.models import WorkItem

    document = signed(people, organ, docs_org)
    client = client_for(people.clerk)
    url = reverse("documents:outgoing_recheck_edit", args=[document.pk])
    response = client.post(
        url,
        _recheck_post(document, title="关于做好2026年年终安全检查工作的通知", reason="标题补充年度"),
        follow=True,
    )
    assert response.status_code == 200
    assert "复审" in response.content.decode()
    document.refresh_from_db()
    assert document.state == OutgoingState.RESIGNING
    assert document.title == "关于做好2026年年终安全检查工作的通知"
    assert document.instance is not None
    assert document.instance.definition.code == flows.RESIGN
    assert WorkItem.objects.filter(
        instance=document.instance, assignee=people.leader, state=WorkItem.State.PENDING
    ).exists()
    # The version history shows the substantive version with the title's diff.
    page = client.get(reverse("documents:outgoing_detail", args=[document.pk])).content.decode()
    assert "实质性修改" in page
    assert "<ins>2026年</ins>" in page
    version = document.versions.order_by("-number").first()
    assert version is not None
    assert version.substantive
    assert version.reason == "标题补充年度"


def test_r78_recheck_page_shows_service_errors_beside_fields(people: Any, organ: Any, docs_org: Any) -> None:
    document = signed(people, organ, docs_org)
    client = client_for(people.clerk)
    url = reverse("documents:outgoing_recheck_edit", args=[document.pk])
    response = client.post(url, _recheck_post(document, title="关于某事", reason="改标题"))
    assert response.status_code == 400
    assert 'data-field="title"' in response.content.decode()
    response = client.post(
        url, _recheck_post(document, attachment_id=["0"], attachment_title=["表。"], reason="x")
    )
    assert response.status_code == 400
    assert 'data-field="attachments"' in response.content.decode()
    document.refresh_from_db()
    assert document.state == OutgoingState.SIGNED
    assert document.title == "关于做好年终安全检查工作的通知"


def test_r78_recheck_page_is_the_organs_clerks_only(people: Any, organ: Any, docs_org: Any) -> None:
    document = signed(people, organ, docs_org)
    url = reverse("documents:outgoing_recheck_edit", args=[document.pk])
    # The drafter sees the document but may not do 复核; the outsider does not see it.
    assert client_for(people.drafter).get(url).status_code == 403
    assert (
        client_for(people.drafter).post(url, _recheck_post(document, note="x", reason="y")).status_code == 403
    )
    assert client_for(people.outsider).get(url).status_code == 404
    # A clerk of another unit is not the organ's clerk.
    assert client_for(people.sub_clerk).get(url).status_code in (403, 404)
    document.refresh_from_db()
    assert document.state == OutgoingState.SIGNED
    assert document.note == ""
    # Once 已复核, the page is closed to the clerk too.
    outgoing.recheck(actor=people.clerk, document=document, request_id=rid())
    assert client_for(people.clerk).get(url).status_code == 403


def test_detail_page_puts_the_actions_in_their_own_column(people: Any, organ: Any, docs_org: Any) -> None:
    document = signed(people, organ, docs_org)
    page = (
        client_for(people.clerk)
        .get(reverse("documents:outgoing_detail", args=[document.pk]))
        .content.decode()
    )
    # Phone order comes from CSS: the actions column follows the text in the markup.
    assert (
        page.index('class="doc-out-main"')
        < page.index('class="doc-out-act"')
        < page.index('class="doc-out-side"')
    )
