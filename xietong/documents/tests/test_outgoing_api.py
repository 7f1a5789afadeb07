"""发文 REST API: the same rules as the pages — 422 per field, 404 for what one may not see,
idempotent changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fixtures import client_for
from xietong.documents import layout as layout_package
from xietong.documents import outgoing
from xietong.documents.models import OutgoingDocument, OutgoingState
from xietong.documents.tests.test_outgoing_services import approve_all, draft

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
