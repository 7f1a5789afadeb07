from __future__ import annotations

import pytest
from django.test import Client

from xietong.ops import selectors

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_backing_services(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_each_backing_service(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "job_queue"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_is_503_and_names_the_failing_service(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> str:
        raise ConnectionError("connection refused")

    monkeypatch.setitem(selectors.CHECKS, "cache", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"]["ok"] is False
    assert "connection refused" in body["checks"]["cache"]["detail"]
    assert body["checks"]["database"]["ok"] is True


def test_status_page_for_admins_only(staff_client: Client, user_client: Client) -> None:
    page = staff_client.get("/ops/status/")
    assert page.status_code == 200
    assert "channel_layer" in page.content.decode()
    assert user_client.get("/ops/status/").status_code == 403
