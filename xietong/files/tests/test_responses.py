"""``file_response``: the bytes, and headers that keep a browser from sniffing or running them."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest
from django.urls import path

from tests.fixtures import client_for
from xietong.core.errors import NotFoundError
from xietong.files import selectors, services
from xietong.files.models import StoredFile
from xietong.files.tests.conftest import SAMPLES, upload
from xietong.identity.models import User

pytestmark = pytest.mark.django_db


def store(user: User, code: str, *, name: str = "", classification: int = 0) -> StoredFile:
    sample_name, content = SAMPLES[code]
    return services.store_upload(
        actor=user, upload=upload(name or sample_name, content), context="t.x", classification=classification
    )


def body(response: FileResponse) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[arg-type]


def test_a_download_carries_the_bytes_and_the_safe_headers(user: User) -> None:
    stored = store(user, "pdf")
    response = services.file_response(stored)
    assert body(response) == SAMPLES["pdf"][1]
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(stored.size)
    assert response["Content-Disposition"] == (
        "attachment; filename=\"download.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Cache-Control"] == "private"


def test_a_chinese_name_survives_the_round_trip(user: User) -> None:
    name = "2026年 第1季度（汇总）&预算;v2.pdf"
    disposition = services.file_response(store(user, "pdf", name=name))["Content-Disposition"]
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded, encoding="utf-8") == name
    assert all(char.isascii() and char not in ' ;"' for char in encoded)


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("report.pdf", "report.pdf"),
        ('say "hi".pdf', "say _hi_.pdf"),
        ("a\\b.pdf", "b.pdf"),
        ("报告", "download"),
    ],
)
def test_the_ascii_fallback_name(user: User, name: str, fallback: str) -> None:
    disposition = services.file_response(store(user, "pdf", name=name))["Content-Disposition"]
    assert disposition.startswith(f"attachment; filename=\"{fallback}\"; filename*=UTF-8''")


@pytest.mark.parametrize("code", ["png", "jpeg", "gif", "webp"])
def test_an_image_may_be_shown_inline(user: User, code: str) -> None:
    stored = store(user, code)
    response = services.file_response(stored, inline=True)
    assert response["Content-Disposition"].startswith("inline; ")
    assert response["Content-Type"] == stored.content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response
    assert body(response) == SAMPLES[code][1]


def test_an_image_is_downloaded_unless_asked_inline(user: User) -> None:
    assert services.file_response(store(user, "png"))["Content-Disposition"].startswith("attachment; ")


@pytest.mark.parametrize("code", ["pdf", "text", "docx", "zip"])
def test_anything_but_a_raster_image_is_never_inline(user: User, code: str) -> None:
    response = services.file_response(store(user, code), inline=True)
    assert response["Content-Disposition"].startswith("attachment; ")
    assert response["Content-Security-Policy"] == "sandbox"


def test_text_is_served_as_stored_never_as_html(user: User) -> None:
    response = services.file_response(store(user, "text"), inline=True)
    assert response["Content-Type"] == "text/csv"


@pytest.mark.parametrize("active", ["text/html", "Text/HTML; charset=utf-8", "image/svg+xml", "text/xml"])
def test_a_row_claiming_an_active_type_is_served_as_octet_stream(user: User, active: str) -> None:
    stored = store(user, "text")
    StoredFile.objects.filter(pk=stored.pk).update(content_type=active)
    stored.refresh_from_db()
    response = services.file_response(stored, inline=True)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment; ")
    assert response["Content-Security-Policy"] == "sandbox"


@pytest.mark.parametrize(("level", "cache"), [(0, "private"), (1, "private"), (2, "private, no-store")])
def test_a_classified_file_is_not_kept_in_the_browser_cache(user: User, level: int, cache: str) -> None:
    assert services.file_response(store(user, "pdf", classification=level))["Cache-Control"] == cache


def test_a_missing_blob_is_not_found(user: User, caplog: Any) -> None:
    stored = store(user, "pdf")
    default_storage.delete(stored.blob)
    with pytest.raises(NotFoundError, match="文件不存在或已被删除"):
        services.file_response(stored)
    assert "files.blob.missing" in caplog.messages


# What an owning module's download view looks like (its own permission check comes first).
def download(request: HttpRequest, key: str) -> FileResponse:
    return services.file_response(selectors.get_by_key(key), inline=request.GET.get("inline") == "1")


urlpatterns = [path("download/<str:key>", download)]


@pytest.mark.urls(__name__)
def test_through_the_middleware_the_headers_arrive_unchanged(user: User) -> None:
    stored = store(user, "png", name="公章.png")
    response = client_for(user).get(f"/download/{stored.key}?inline=1")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == SAMPLES["png"][1]  # type: ignore[attr-defined]
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == (
        "inline; filename=\"download.png\"; filename*=UTF-8''%E5%85%AC%E7%AB%A0.png"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private"
