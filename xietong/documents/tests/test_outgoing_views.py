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
