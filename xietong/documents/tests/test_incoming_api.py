"""收文 over the REST API: the same rules as the pages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.fixtures import client_for
from xietong.documents.models import DocumentEvent, IncomingDocument, IncomingState
from xietong.documents.tests.incoming_helpers import delivered, later, scan

pytestmark = pytest.mark.django_db

BASE = "/api/v1/documents/incoming"


def post(client: Client, path: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    return client.post(
        f"{BASE}{path}", json.dumps(body or {}), content_type="application/json", headers=headers
    )


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content.decode()
    return response.json()


def test_r78_incoming_path_over_the_api(docs_people: Any, docs_org: Any, organ: Any) -> None:
    p = docs_people
    document = delivered(organ, p.drafter, docs_org["office"], p.sub_clerk)
    clerk, leader = client_for(p.clerk), client_for(p.leader)
    listed = ok(clerk.get(f"{BASE}/?box=pending"))
    assert [row["id"] for row in listed["items"]] == [document.pk]
    assert ok(clerk.get(f"{BASE}/counts"))["pending"] == 1

    body = ok(post(clerk, f"/{document.pk}/sign", {"lock_version": 0}, **{"Idempotency-Key": "s-1"}))
    assert body["state"] == IncomingState.REGISTERED
    assert body["recv_no"].startswith("收〔")
    # The same request again is applied once and answers the document as it is.
    again = ok(post(clerk, f"/{document.pk}/sign", {}, **{"Idempotency-Key": "s-1"}))
    assert again["recv_no"] == body["recv_no"]
    # A stale lock_version is a conflict.
    assert (
        post(clerk, f"/{document.pk}/propose", {"proposal": "请批示", "lock_version": 0}).status_code == 409
    )

    body = ok(
        post(
            clerk,
            f"/{document.pk}/propose",
            {"proposal": "请批示", "leader_id": p.leader.pk, "lock_version": body["lock_version"]},
        )
    )
    assert body["state"] == IncomingState.PROPOSED
    assert ok(leader.get(f"{BASE}/{document.pk}"))["can"]["instruct"] is True
    body = ok(
        post(
            leader,
            f"/{document.pk}/instruct",
            {
                "instruction": "请财务部牵头办理",
                "handlings": [
                    {"unit_id": docs_org["finance"].pk, "is_lead": True, "deadline": later()},
                    {"unit_id": docs_org["sub"].pk, "deadline": later()},
                ],
                "reader_ids": [p.drafter.pk],
            },
        )
    )
    assert body["state"] == IncomingState.HANDLING
    lead = next(h for h in body["handlings"] if h["is_lead"])
    co = next(h for h in body["handlings"] if not h["is_lead"])
    head = client_for(p.head)
    assert ok(head.get(f"{BASE}/{document.pk}"))["can"]["handle"] == [lead["id"]]
    ok(post(head, f"/{document.pk}/handling-done", {"handling_id": lead["id"], "result": "已落实"}))
    ok(post(clerk, f"/{document.pk}/urge", {"handling_id": co["id"]}))
    assert post(clerk, f"/{document.pk}/urge", {"handling_id": co["id"]}).status_code == 400
    ok(
        post(
            client_for(p.sub_clerk),
            f"/{document.pk}/handling-done",
            {"handling_id": co["id"], "result": "已配合"},
        )
    )
    ok(post(client_for(p.drafter), f"/{document.pk}/read", {"comment": "已阅"}))
    ok(post(clerk, f"/{document.pk}/circulate", {"reader_ids": [p.head.pk]}))
    body = ok(post(clerk, f"/{document.pk}/conclude", {"result": "已办结"}))
    assert body["state"] == IncomingState.CONCLUDED
    assert [e["action"] for e in body["events"]][-1] == "办结"


def test_validation_errors_are_422_per_field(docs_people: Any, docs_org: Any, organ: Any) -> None:
    p = docs_people
    document = delivered(organ, p.drafter, docs_org["office"], p.sub_clerk, urgency="teji")
    clerk = client_for(p.clerk)
    ok(post(clerk, f"/{document.pk}/sign"))
    ok(post(clerk, f"/{document.pk}/propose", {"proposal": "请批示", "leader_id": p.leader.pk}))
    answer = post(
        client_for(p.leader),
        f"/{document.pk}/instruct",
        {"instruction": "办", "handlings": [{"unit_id": docs_org["finance"].pk}]},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "handlings.0.deadline"
    answer = post(clerk, f"/{document.pk}/return", {"reason": ""})
    assert answer.status_code in (400, 422)


def test_outsider_gets_nothing(docs_people: Any, docs_org: Any, organ: Any) -> None:
    p = docs_people
    document = delivered(organ, p.drafter, docs_org["office"], p.sub_clerk)
    outsider = client_for(p.outsider)
    assert ok(outsider.get(f"{BASE}/"))["count"] == 0
    assert ok(outsider.get(f"{BASE}/counts"))["all"] == 0
    assert outsider.get(f"{BASE}/{document.pk}").status_code == 404
    assert post(outsider, f"/{document.pk}/sign").status_code == 404
    # A clerk of another unit sees it not either.
    assert client_for(p.sub_clerk).get(f"{BASE}/{document.pk}").status_code == 404
    assert IncomingDocument.objects.get(pk=document.pk).state == IncomingState.PENDING


def test_register_paper_multipart(docs_people: Any, docs_org: Any) -> None:
    p = docs_people
    clerk = client_for(p.clerk)
    fields = {
        "unit_id": docs_org["office"].pk,
        "sender_org": "某市应急管理局",
        "title": "关于开展安全检查的通知",
        "sender_doc_no": "某应急发[2026]第5号",
        "channel": "post",
    }
    answer = clerk.post(f"{BASE}/", fields)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "scan"
    body = ok(clerk.post(f"{BASE}/", {**fields, "scan": scan()}, headers={"Idempotency-Key": "p-1"}), 201)
    assert body["sender_doc_no"] == "某应急发〔2026〕5号"
    assert body["has_scan"] is True
    again = ok(clerk.post(f"{BASE}/", {**fields, "scan": scan()}, headers={"Idempotency-Key": "p-1"}), 201)
    assert again["id"] == body["id"]
    assert IncomingDocument.objects.count() == 1
    assert client_for(p.outsider).post(f"{BASE}/", {**fields, "scan": scan()}).status_code == 403
    assert DocumentEvent.objects.filter(incoming_id=body["id"], action="登记").count() == 1
