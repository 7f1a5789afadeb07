"""收文 pages: the boxes, paper registration, the 收文处理单 and its actions, print and scan."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.fixtures import client_for
from xietong.audit.models import Event
from xietong.core import classification
from xietong.documents import audit_actions, incoming
from xietong.documents.models import Handling, IncomingDocument, IncomingState
from xietong.documents.tests.incoming_helpers import delivered, scan

pytestmark = pytest.mark.django_db


def _detail(pk: int) -> str:
    return reverse("documents:incoming_detail", args=[pk])


def test_list_shows_the_clerk_pending_documents_and_nothing_to_an_outsider(
    docs_people: Any, docs_org: Any, organ: Any
) -> None:
    p = docs_people
    document = delivered(organ, p.drafter, docs_org["office"], p.sub_clerk, title="关于年度审计的通知")
    page = client_for(p.clerk).get(reverse("documents:incoming_list") + "?box=pending")
    assert page.status_code == 200
    assert "关于年度审计的通知" in page.content.decode()
    assert 'id="incoming-new"' in page.content.decode()
    other = client_for(p.outsider).get(reverse("documents:incoming_list") + "?box=all")
    assert other.status_code == 200
    assert "关于年度审计的通知" not in other.content.decode()
    assert 'id="incoming-new"' not in other.content.decode()
    assert client_for(p.outsider).get(_detail(document.pk)).status_code == 404
    assert (
        client_for(p.outsider).post(reverse("documents:incoming_sign", args=[document.pk])).status_code == 404
    )
    assert IncomingDocument.objects.get(pk=document.pk).state == IncomingState.PENDING


def test_r78_incoming_path_through_the_pages(docs_people: Any, docs_org: Any, organ: Any) -> None:
    p = docs_people
    document = delivered(organ, p.drafter, docs_org["office"], p.sub_clerk)
    clerk = client_for(p.clerk)
    page = clerk.get(_detail(document.pk))
    assert 'id="sign-btn"' in page.content.decode()
    answer = clerk.post(reverse("documents:incoming_sign", args=[document.pk]))
    assert answer.status_code == 302
    html = clerk.get(_detail(document.pk)).content.decode()
    assert 'id="propose-form"' in html
    assert 'id="return-form"' in html
    answer = clerk.post(
        reverse("documents:incoming_propose", args=[document.pk]),
        {"proposal": "请领导批示", "leader": p.leader.pk},
    )
    assert answer.status_code == 302
    leader = client_for(p.leader)
    assert 'id="instruct-form"' in leader.get(_detail(document.pk)).content.decode()
    # Two units and no 主办 chosen among them is refused next to the field, nothing changes.
    answer = leader.post(
        reverse("documents:incoming_instruct", args=[document.pk]),
        {"instruction": "请办理", "unit": [docs_org["finance"].pk, docs_org["sub"].pk], "lead_row": "2"},
    )
    assert answer.status_code == 422
    assert "须明确一个主办部门" in answer.content.decode()
    answer = leader.post(
        reverse("documents:incoming_instruct", args=[document.pk]),
        {
            "instruction": "请财务部牵头",
            "unit": [docs_org["finance"].pk, docs_org["sub"].pk, ""],
            "deadline": ["2099-01-01T18:00", "2099-01-02T18:00", ""],
            "lead_row": "0",
        },
    )
    assert answer.status_code == 302
    lead = Handling.objects.get(document=document, is_lead=True)
    assert lead.unit_id == docs_org["finance"].pk
    head = client_for(p.head)
    assert f'data-handling="{lead.pk}"' in head.get(_detail(document.pk)).content.decode()
    assert (
        head.post(
            reverse("documents:incoming_handle", args=[document.pk]), {"handling": lead.pk, "result": "已办"}
        ).status_code
        == 302
    )
    co = Handling.objects.get(document=document, is_lead=False)
    client_for(p.sub_clerk).post(
        reverse("documents:incoming_handle", args=[document.pk]), {"handling": co.pk, "result": "已配合"}
    )
    answer = clerk.post(reverse("documents:incoming_conclude", args=[document.pk]), {"result": ""})
    assert answer.status_code == 422
    assert "is-invalid" in answer.content.decode()
    answer = clerk.post(reverse("documents:incoming_conclude", args=[document.pk]), {"result": "办结"})
    assert answer.status_code == 302
    assert IncomingDocument.objects.get(pk=document.pk).state == IncomingState.CONCLUDED
    printed = clerk.get(reverse("documents:incoming_print", args=[document.pk]))
    assert "收文处理单" in printed.content.decode()
    assert "请财务部牵头" in printed.content.decode()


def test_paper_registration_shows_errors_next_to_fields(docs_people: Any, docs_org: Any) -> None:
    p = docs_people
    clerk = client_for(p.clerk)
    url = reverse("documents:incoming_new")
    assert clerk.get(url).status_code == 200
    assert client_for(p.outsider).get(url).status_code == 403
    answer = clerk.post(
        url,
        {"unit": docs_org["office"].pk, "sender_org": "某局", "title": "", "channel": "post", "copies": "1"},
    )
    assert answer.status_code == 400
    assert "请填写标题" in answer.content.decode()
    assert not IncomingDocument.objects.exists()
    answer = clerk.post(
        url,
        {
            "unit": docs_org["office"].pk,
            "sender_org": "某市应急管理局",
            "sender_doc_no": "某应急发（2026）3号",
            "title": "关于开展安全检查的通知",
            "channel": "post",
            "copies": "2",
            "classification": "0",
            "scan": scan(),
        },
    )
    assert answer.status_code == 302
    document = IncomingDocument.objects.get()
    assert document.sender_doc_no == "某应急发〔2026〕3号"
    assert document.state == IncomingState.REGISTERED
    download = clerk.get(reverse("documents:incoming_scan", args=[document.pk]))
    assert download.status_code == 200


def test_classified_views_prints_and_downloads_are_audited(docs_people: Any, docs_org: Any) -> None:
    p = docs_people
    document = incoming.register_paper(
        actor=p.clerk,
        unit=docs_org["office"],
        sender_org="某局",
        title="商密来文",
        classification_level=classification.COMMERCIAL_SECRET,
        channel="confidential",
        scan=scan(),
    )
    clerk = client_for(p.clerk)
    clerk.get(_detail(document.pk))
    clerk.get(reverse("documents:incoming_print", args=[document.pk]))
    clerk.get(reverse("documents:incoming_scan", args=[document.pk]))
    assert Event.objects.filter(action=audit_actions.INCOMING_VIEWED).count() == 2
    assert Event.objects.filter(action=audit_actions.INCOMING_DOWNLOADED).count() == 1
    # Below the clearance, the document does not exist for the viewer.
    p.clerk.clearance = classification.INTERNAL
    p.clerk.save(update_fields=["clearance"])
    assert client_for(p.clerk).get(_detail(document.pk)).status_code == 404
    assert client_for(p.clerk).get(reverse("documents:incoming_scan", args=[document.pk])).status_code == 404


def test_home_tag_lists_the_todos(docs_people: Any, docs_org: Any, organ: Any) -> None:
    p = docs_people
    delivered(organ, p.drafter, docs_org["office"], p.sub_clerk, title="待签收的通知")
    request = RequestFactory().get("/")
    request.user = p.clerk
    html = Template("{% load documents_incoming %}{% incoming_todos %}").render(Context({"request": request}))
    assert "待签收的通知" in html
    request.user = p.outsider
    html = Template("{% load documents_incoming %}{% incoming_todos %}").render(Context({"request": request}))
    assert "待签收的通知" not in html


def test_list_page_queries_do_not_grow_with_rows(docs_people: Any, docs_org: Any, organ: Any) -> None:
    p = docs_people
    clerk = client_for(p.clerk)
    url = reverse("documents:incoming_list") + "?box=all"
    delivered(organ, p.drafter, docs_org["office"], p.sub_clerk)
    clerk.get(url)
    with CaptureQueriesContext(connection) as few:
        assert clerk.get(url).status_code == 200
    for _n in range(5):
        delivered(organ, p.drafter, docs_org["office"], p.sub_clerk)
    with CaptureQueriesContext(connection) as many:
        clerk.get(url)
    assert len(many) == len(few)
