from __future__ import annotations

import pytest

from xietong.audit import services
from xietong.audit.models import Event
from xietong.audit.tests.conftest import make_user, place

EVENTS = "/api/v1/audit/events"
SECRET_ACTION = "documents.secret.viewed"


@pytest.fixture
def trail(employee) -> list[Event]:
    return [
        services.record(
            actor=employee, action=SECRET_ACTION, target=services.Target("documents.document", 42, "绝密")
        ),
        services.record(actor=employee, action="identity.login.succeeded"),
        services.record(actor=None, action="identity.login.failed", result=Event.Result.FAILURE),
    ]


def test_r36_anonymous_api_calls_are_unauthenticated(client, trail):
    response = client.get(EVENTS)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_r130_employees_get_the_forbidden_error_body(client, employee, trail):
    client.force_login(employee)
    for url in (EVENTS, f"{EVENTS}/{trail[0].pk}"):
        response = client.get(url)
        assert response.status_code == 403
        body = response.json()
        assert set(body) == {"error"}
        assert body["error"]["code"] == "forbidden"
        assert SECRET_ACTION not in response.content.decode()


def test_auditors_list_and_filter(client, auditor, trail):
    client.force_login(auditor)
    body = client.get(EVENTS).json()
    assert [item["id"] for item in body["items"]] == [e.pk for e in reversed(trail)]
    assert body["next_before"] is None
    item = body["items"][-1]
    assert item["action"] == SECRET_ACTION
    assert (item["target_type"], item["target_id"], item["target_label"]) == (
        "documents.document",
        "42",
        "绝密",
    )
    assert item["hash"] == trail[0].hash

    assert [i["action"] for i in client.get(EVENTS, {"result": "failure"}).json()["items"]] == [
        "identity.login.failed"
    ]
    assert len(client.get(EVENTS, {"user": "普通员工", "action": "identity."}).json()["items"]) == 1
    assert (
        len(client.get(EVENTS, {"target_type": "documents.document", "target_id": "42"}).json()["items"]) == 1
    )
    assert client.get(EVENTS, {"since": "2999-01-01T00:00:00"}).json()["items"] == []


def test_r122_api_department_filter(client, auditor, org, trail):
    engineer = make_user("gongcheng")
    place(engineer, org["production"])
    services.record(actor=engineer, action="test.engineer.acted")
    client.force_login(auditor)
    items = client.get(EVENTS, {"department": org["east"].pk}).json()["items"]
    assert [i["action"] for i in items] == ["test.engineer.acted"]


def test_cursor_pagination(client, auditor, trail):
    client.force_login(auditor)
    first = client.get(EVENTS, {"limit": 2}).json()
    assert len(first["items"]) == 2
    second = client.get(EVENTS, {"limit": 2, "before": first["next_before"]}).json()
    assert [i["id"] for i in second["items"]] == [trail[0].pk]
    assert second["next_before"] is None


def test_detail(client, auditor, trail):
    client.force_login(auditor)
    body = client.get(f"{EVENTS}/{trail[0].pk}").json()
    assert (body["id"], body["actor_username"], body["prev_hash"]) == (
        trail[0].pk,
        "putong",
        trail[0].prev_hash,
    )
    missing = client.get(f"{EVENTS}/999999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query", [{"ip": "999.1.1.1"}, {"limit": 0}, {"limit": 1000}, {"result": "maybe"}])
def test_bad_query_is_a_validation_error(client, auditor, query):
    client.force_login(auditor)
    response = client.get(EVENTS, query)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_api_list_queries_are_constant(client, auditor, django_assert_max_num_queries):
    for _ in range(30):
        services.record(actor=auditor, action="files.file.viewed")
    client.force_login(auditor)
    with django_assert_max_num_queries(4):  # session, user, role grants, events
        assert len(client.get(EVENTS).json()["items"]) == 30
