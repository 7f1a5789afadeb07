"""发文 REST API: the same rules as the pages — 422 per field, 404 for what one may not see,
idempotent changes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.fixtures import client_for
from xietong.documents import layout as layout_package
from xietong.documents import outgoing
from xietong.documents.models import DocumentEvent, OutgoingDocument, OutgoingState
from xietong.documents.tests.test_outgoing_services import approve_all, draft, rid, signed

pytestmark = pytest.mark.django_db
BASE = "/api/v1/documents/outgoing"


@pytest.fixture(autouse=True)
def _renderers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout_package, "render_pdf", lambda layout: b"%PDF-1.7 test", raising=False)
    monkeypatch.setattr(outgoing, "_deliver", lambda distribution, actor: None)


@pytest.fixture
def people(docs_people: Any, outgoing_flows: None) -> Any:
    return docs_people


def post(client: Any, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def test_create_is_idempotent_and_validates_per_field(people: Any, organ: Any, docs_org: Any) -> None:
    client = client_for(people.drafter)
    body = {
        "organ_id": organ.pk,
        "doc_type": "tongzhi",
        "title": "关于开展安全检查的通知",
        "main_recipients": "华东分公司",
        "main_unit_ids": [docs_org["sub"].pk],
        "body": "<p>请各单位开展自查。</p>",
    }
    first = post(client, BASE, body, **{"Idempotency-Key": "k-1"})
    again = post(client, BASE, body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    assert again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert OutgoingDocument.objects.count() == 1
    bad = post(client, BASE, {**body, "classification": 2, "secret_term": "五年"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "secret_term"


def test_submit_and_the_office_steps(people: Any, organ: Any, docs_org: Any) -> None:
    document = draft(people, organ, docs_org)
    drafter = client_for(people.drafter)
    response = post(
        drafter, f"{BASE}/{document.pk}/submit", {"signer_id": people.leader.pk, "request_id": "s-1"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == OutgoingState.REVIEWING
    document.refresh_from_db()
    for user in (people.head, people.clerk, people.leader):
        approve_all(document, user)
        document.refresh_from_db()
    clerk = client_for(people.clerk)
    assert post(clerk, f"{BASE}/{document.pk}/recheck", {}).json()["state"] == OutgoingState.CHECKED
    bad = post(clerk, f"{BASE}/{document.pk}/register", {"copies": 0})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "copies"
    registered = post(clerk, f"{BASE}/{document.pk}/register", {"copies": 2}).json()
    assert registered["doc_no"].startswith("协同发〔")
    assert post(clerk, f"{BASE}/{document.pk}/seal", {}).json()["state"] == OutgoingState.SEALED
    assert post(clerk, f"{BASE}/{document.pk}/distribute", {}).json()["state"] == OutgoingState.DISTRIBUTED
    assert clerk.get(f"{BASE}/{document.pk}/pdf").status_code == 200
    assert client_for(people.sub_clerk).get(f"{BASE}/{document.pk}").status_code == 200


def test_denials(people: Any, organ: Any, docs_org: Any) -> None:
    document = draft(people, organ, docs_org)
    outsider = client_for(people.outsider)
    assert outsider.get(f"{BASE}/{document.pk}").status_code == 404
    assert post(outsider, f"{BASE}/{document.pk}/submit", {"signer_id": people.leader.pk}).status_code == 404
    assert outsider.get(BASE).json()["count"] == 0
    # The clerk does not see someone else's draft; the drafter may not register.
    assert client_for(people.clerk).get(f"{BASE}/{document.pk}").status_code == 404
    assert (
        post(client_for(people.drafter), f"{BASE}/{document.pk}/register", {"copies": 1}).status_code == 403
    )
    listed = client_for(people.drafter).get(BASE + "?q=安全检查").json()
    assert listed["count"] == 1
    assert listed["items"][0]["id"] == document.pk


def upload(name: str = "检查表.txt") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, "序号,项目\n1,消防设施\n".encode(), content_type="text/plain")


def errors_of(response: Any) -> dict[str, str]:
    """Field → message; the schema's own checks name a JSON field ``body.<name>``."""
    return {
        item["field"].removeprefix("body."): item["message"] for item in response.json()["error"]["details"]
    }


def test_drafter_appends_attachments_in_order_once_per_key(people: Any, organ: Any, docs_org: Any) -> None:
    document = draft(people, organ, docs_org)
    client = client_for(people.drafter)
    url = f"{BASE}/{document.pk}/attachments"
    first = client.post(url, {"file": upload(), "title": "检查表"}, headers={"Idempotency-Key": "a-1"})
    assert first.status_code == 201, first.content
    again = client.post(url, {"file": upload(), "title": "检查表"}, headers={"Idempotency-Key": "a-1"})
    assert again.status_code == 201
    # No title: the file's name without its extension.
    second = client.post(url, {"file": upload("人员名单.txt"), "request_id": "a-2"})
    assert [(a["seq"], a["title"]) for a in second.json()["attachments"]] == [(1, "检查表"), (2, "人员名单")]
    assert document.attachments.count() == 2
    assert DocumentEvent.objects.filter(outgoing=document, detail__request_id="a-1").count() == 1


def test_attachment_upload_refusals(people: Any, organ: Any, docs_org: Any) -> None:
    document = draft(people, organ, docs_org)
    url = f"{BASE}/{document.pk}/attachments"
    drafter = client_for(people.drafter)
    bad = drafter.post(url, {"file": upload(), "title": "检查表。"})
    assert bad.status_code == 422
    assert "title" in errors_of(bad)
    missing = drafter.post(url, {"title": "检查表"})
    assert missing.status_code == 422
    assert "file" in errors_of(missing)
    # Who may not see the draft gets 404; nothing is added.
    assert client_for(people.outsider).post(url, {"file": upload()}).status_code == 404
    assert client_for(people.clerk).post(url, {"file": upload()}).status_code == 404
    assert document.attachments.count() == 0


def test_r78_clerk_adds_an_attachment_at_recheck_and_it_goes_back_to_the_signer(
    people: Any, organ: Any, docs_org: Any
) -> None:
    from xietong.documents import flows

    document = signed(people, organ, docs_org)
    url = f"{BASE}/{document.pk}/attachments"
    clerk = client_for(people.clerk)
    no_reason = clerk.post(url, {"file": upload(), "title": "检查表"})
    assert no_reason.status_code == 422
    assert "reason" in errors_of(no_reason)
    # The drafter may add attachments to a draft only.
    assert client_for(people.drafter).post(url, {"file": upload(), "reason": "x"}).status_code == 400
    assert document.attachments.count() == 0
    added = clerk.post(
        url, {"file": upload(), "title": "检查表", "reason": "补充检查表", "request_id": "c-1"}
    )
    assert added.status_code == 201, added.content
    assert added.json()["state"] == OutgoingState.RESIGNING
    assert [a["title"] for a in added.json()["attachments"]] == ["检查表"]
    document.refresh_from_db()
    assert document.instance is not None
    assert document.instance.definition.code == flows.RESIGN
    # Sent again: the same answer, not a second attachment.
    retry = clerk.post(
        url, {"file": upload(), "title": "检查表", "reason": "补充检查表", "request_id": "c-1"}
    )
    assert retry.status_code == 201
    assert document.attachments.count() == 1


def distributed(people: Any, organ: Any, docs_org: Any) -> Any:
    document = signed(people, organ, docs_org)
    document = outgoing.recheck(actor=people.clerk, document=document, request_id=rid())
    document = outgoing.register(actor=people.clerk, document=document, copies=2, request_id=rid())
    document = outgoing.seal(actor=people.clerk, document=document, request_id=rid())
    return outgoing.distribute(actor=people.clerk, document=document, request_id=rid())


def test_revoke_over_the_api(people: Any, organ: Any, docs_org: Any) -> None:
    document = distributed(people, organ, docs_org)
    url = f"{BASE}/{document.pk}/revoke"
    clerk = client_for(people.clerk)
    empty = post(clerk, url, {"reason": "  "})
    assert empty.status_code == 422
    assert "reason" in errors_of(empty)
    assert post(client_for(people.drafter), url, {"reason": "依据已失效"}).status_code == 403
    assert post(client_for(people.outsider), url, {"reason": "依据已失效"}).status_code == 404
    document.refresh_from_db()
    assert document.state == OutgoingState.DISTRIBUTED
    done = post(clerk, url, {"reason": "依据已失效"}, **{"Idempotency-Key": "r-1"})
    assert done.status_code == 200
    assert done.json()["state"] == OutgoingState.REVOKED
    again = post(clerk, url, {"reason": "依据已失效"}, **{"Idempotency-Key": "r-1"})
    assert again.status_code == 200
    assert DocumentEvent.objects.filter(outgoing=document, action="撤销").count() == 1
    # Revoked: nothing more to revoke or abolish.
    assert post(clerk, url, {"reason": "再撤"}).status_code == 400
    assert post(clerk, f"{BASE}/{document.pk}/abolish", {"reason": "废止"}).status_code == 400


def test_abolish_over_the_api(people: Any, organ: Any, docs_org: Any) -> None:
    document = distributed(people, organ, docs_org)
    url = f"{BASE}/{document.pk}/abolish"
    clerk = client_for(people.clerk)
    bad_day = post(clerk, url, {"reason": "已被新文件替代", "on": "2026-13-40"})
    assert bad_day.status_code == 422
    assert "on" in errors_of(bad_day)
    before = post(clerk, url, {"reason": "已被新文件替代", "on": "2000-01-01"})
    assert before.status_code == 422
    assert "on" in errors_of(before)
    assert "reason" in errors_of(post(clerk, url, {"on": "2030-01-01"}))
    assert post(client_for(people.drafter), url, {"reason": "x"}).status_code == 403
    assert post(client_for(people.outsider), url, {"reason": "x"}).status_code == 404
    document.refresh_from_db()
    assert document.state == OutgoingState.DISTRIBUTED
    done = post(clerk, url, {"reason": "已被新文件替代", "on": "2030-01-01", "request_id": "b-1"})
    assert done.status_code == 200
    assert done.json()["state"] == OutgoingState.ABOLISHED
    assert post(clerk, url, {"reason": "已被新文件替代", "request_id": "b-1"}).status_code == 200
    event = DocumentEvent.objects.get(outgoing=document, action="废止")
    assert event.detail["on"] == "2030-01-01"
