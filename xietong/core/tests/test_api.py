"""The REST API skeleton: schema, docs served locally, one error body, session auth with CSRF."""

from __future__ import annotations

import pytest
from django.test import Client

from xietong.identity.models import User

pytestmark = pytest.mark.django_db


def assert_error_body(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def test_openapi_schema_lists_the_endpoints(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["info"]["title"].startswith("协同")
    assert "/api/v1/identity/me" in schema["paths"]
    assert "/api/v1/ops/broadcast" in schema["paths"]


def test_interactive_docs_use_local_assets(client: Client) -> None:
    html = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def test_anonymous_gets_401_error_body(client: Client) -> None:
    assert_error_body(client.get("/api/v1/identity/me"), 401, "unauthenticated")


def test_unknown_api_path_gets_404_error_body(user_client: Client) -> None:
    assert_error_body(user_client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_validation_error_body_names_the_field(staff_client: Client) -> None:
    response = staff_client.post("/api/v1/ops/broadcast", {"message": ""}, content_type="application/json")
    error = assert_error_body(response, 422, "validation_error")
    assert error["message"] == "提交的数据有误，请检查后重试。"
    assert any(d["field"].endswith("message") for d in error["details"])  # type: ignore[attr-defined]


def test_post_with_session_requires_csrf(staff_user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post("/api/v1/ops/broadcast", {"message": "维护"}, content_type="application/json")
    assert response.status_code == 403
    client.get("/")  # sets the CSRF cookie
    token = client.cookies["xietong_csrftoken"].value
    response = client.post(
        "/api/v1/ops/broadcast", {"message": "维护"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200


def test_me_returns_the_signed_in_user(user_client: Client, user: User) -> None:
    body = user_client.get("/api/v1/identity/me").json()
    assert body["username"] == user.username
    assert body["name"] == "李四"
    assert "password" not in body


def test_responses_keep_chinese_readable(client: Client) -> None:
    assert "请先登录" in client.get("/api/v1/identity/me").content.decode()
