"""The notices API: the same rules as the pages, in JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.fixtures import client_for
from xietong.notices.models import Notice, NoticeRecipient, Status
from xietong.notices.tests.conftest import People, at, publish

pytestmark = pytest.mark.django_db


def post(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, json.dumps(body or {}), content_type="application/json")


def payload(people: People, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "关于开展消防演练的通知",
        "body": "<p>请各部门按时参加消防演练。</p>",
        "starts_at": at(days=2).isoformat(),
        "place": "总部大楼前广场",
        "audience": [people.unit("production")],
        "receipt_mode": "read",
    }
    body.update(changes)
    return body


def test_publish_read_confirm_and_follow_the_receipts(people: People) -> None:
    office, li = client_for(people["office"]), client_for(people["li"])
    created = post(office, "/api/v1/notices/", payload(people))
    assert created.status_code == 201, created.json()
    notice = created.json()
    assert (notice["status"], notice["recipient_count"], notice["audience_summary"]) == (
        "published",
        3,
        "生产技术部",
    )

    inbox = li.get("/api/v1/notices/").json()
    assert inbox["count"] == 1
    assert inbox["items"][0]["mine"]["awaiting"] is True
    assert li.get(f"/api/v1/notices/{notice['id']}").json()["mine"]["read_at"] is None  # GET reads nothing
    assert post(li, f"/api/v1/notices/{notice['id']}/read").json()["mine"]["read_at"] is not None
    confirmed = post(li, f"/api/v1/notices/{notice['id']}/receipt", {"action": "confirm"}).json()
    assert confirmed["mine"]["confirmed_at"] is not None

    summary = office.get(f"/api/v1/notices/{notice['id']}/receipts").json()
    assert summary["totals"]["confirmed"] == 1
    assert summary["totals"]["unanswered"] == 2
    assert [row["name"] for row in summary["units"]] == ["生产技术部", "检修班"]
    waiting = office.get(f"/api/v1/notices/{notice['id']}/receipts/people?status=unanswered").json()
    assert sorted(item["user"]["name"] for item in waiting["items"]) == ["周杰", "王经理"]
    reminded = post(office, f"/api/v1/notices/{notice['id']}/remind").json()
    assert reminded["reminded"] == 2
    assert reminded["next_remind_at"] is not None
    again = post(office, f"/api/v1/notices/{notice['id']}/remind")
    assert again.status_code == 400
    assert "30 分钟" in again.json()["error"]["message"]
    export = office.get(f"/api/v1/notices/{notice['id']}/receipts/export")
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_r62_missing_elements_come_back_per_field(people: People) -> None:
    response = post(client_for(people["office"]), "/api/v1/notices/", payload(people, place="", audience=[]))
    assert response.status_code == 400
    error = response.json()["error"]
    assert {detail["field"] for detail in error["details"]} == {"place", "audience"}
    assert not Notice.objects.exists()


def test_r31_refused_with_403(people: People) -> None:
    response = post(client_for(people["zhao"]), "/api/v1/notices/", payload(people))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_reply_edit_and_withdraw(people: People) -> None:
    office, li = client_for(people["office"]), client_for(people["li"])
    notice = post(
        office, "/api/v1/notices/", payload(people, receipt_mode="attend", receipt_due=at(days=1).isoformat())
    ).json()
    declined = post(li, f"/api/v1/notices/{notice['id']}/receipt", {"action": "decline"})
    assert declined.status_code == 400
    assert declined.json()["error"]["details"][0]["field"] == "note"
    replied = post(
        li, f"/api/v1/notices/{notice['id']}/receipt", {"action": "decline", "note": "出差"}
    ).json()
    assert replied["mine"]["reply"] == "decline"

    edit = {
        "title": notice["title"],
        "body": "<p>演练改在下午进行。</p>",
        "starts_at": at(days=2, hours=5).isoformat(),
        "place": notice["place"],
        "receipt_due": notice["receipt_due"],
    }
    assert (
        client_for(people["li"])
        .patch(f"/api/v1/notices/{notice['id']}", json.dumps(edit), content_type="application/json")
        .status_code
        == 403
    )
    edited = office.patch(
        f"/api/v1/notices/{notice['id']}", json.dumps(edit), content_type="application/json"
    )
    assert edited.status_code == 200, edited.json()
    assert (edited.json()["revision"], edited.json()["edited_at"] is not None) == (2, True)

    withdrawn = post(office, f"/api/v1/notices/{notice['id']}/withdraw", {"reason": "演练取消"}).json()
    assert withdrawn["status"] == "withdrawn"
    assert li.get(f"/api/v1/notices/{notice['id']}").status_code == 404
    assert li.get("/api/v1/notices/").json()["count"] == 0


def test_drafts_through_the_api(people: People) -> None:
    office = client_for(people["office"])
    draft = post(office, "/api/v1/notices/", {"title": "草稿", "publish": False}).json()
    assert draft["status"] == "draft"
    published = post(office, f"/api/v1/notices/{draft['id']}/publish", payload(people))
    assert published.status_code == 200
    assert Notice.objects.get(pk=draft["id"]).status == Status.PUBLISHED
    assert office.get("/api/v1/notices/?box=published").json()["count"] == 1


def test_outsiders_and_administrators_get_nothing(people: People) -> None:
    notice = publish(people["office"], [people.ref("li")])
    zhao, admin = client_for(people["zhao"]), client_for(people["sysadmin"])
    for path in (f"/api/v1/notices/{notice.pk}", f"/api/v1/notices/{notice.pk}/receipts"):
        assert zhao.get(path).status_code == 404
    assert post(zhao, f"/api/v1/notices/{notice.pk}/receipt", {"action": "confirm"}).status_code == 404
    assert zhao.get("/api/v1/notices/?box=unit").json()["count"] == 0
    assert admin.get("/api/v1/notices/").status_code == 403
    assert admin.get(f"/api/v1/notices/{notice.pk}").status_code == 403
    assert not NoticeRecipient.objects.filter(read_at__isnull=False).exists()


def test_bad_query_values_are_refused(people: People) -> None:
    client = client_for(people["li"])
    assert client.get("/api/v1/notices/?box=everything").status_code == 422
    assert client.get("/api/v1/notices/?limit=1000").status_code == 422
