"""``store_upload``: every rule an upload passes before it is stored, and what a refusal leaves
behind (nothing, but an audit record for an infected file); ``get_by_key`` and ``discard``."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.db import IntegrityError

from xietong.audit.models import Event
from xietong.core import clock
from xietong.core.errors import DomainError, NotFoundError
from xietong.files import audit_actions, selectors, services, sniffing
from xietong.files.models import StoredFile
from xietong.files.tests.conftest import (
    EICAR,
    SAMPLES,
    FakeClamd,
    all_blobs,
    encrypted,
    image_bytes,
    upload,
    zip_bytes,
)
from xietong.identity.models import User
from xietong.moderation.services import ContentBlockedError
from xietong.moderation.tests.conftest import BLOCKED, HELD, add_word

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def store(actor: User | None, name: str, content: bytes, **options: Any) -> StoredFile:
    options.setdefault("context", "tests.attachment")
    return services.store_upload(actor=actor, upload=upload(name, content), **options)


def refused(actor: User | None, name: str, content: bytes, **options: Any) -> str:
    """The message of the refusal; asserts that nothing was stored."""
    with pytest.raises(DomainError) as caught:
        store(actor, name, content, **options)
    assert not StoredFile.objects.exists()
    assert all_blobs() == []
    return caught.value.message


# --------------------------------------------------------------------------- the stored file


def test_stores_the_file_with_its_checksum_under_a_path_without_user_text(user: User) -> None:
    name, content = SAMPLES["pdf"]
    stored = store(user, name, content, classification=1)
    stored.refresh_from_db()
    assert stored.name == "报告.pdf"
    assert stored.size == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.content_type == "application/pdf"
    assert (stored.context, stored.classification, stored.scanned_by) == ("tests.attachment", 1, "builtin")
    assert stored.uploaded_by == user
    now = clock.now()
    assert re.fullmatch(rf"uploads/{now:%Y}/{now:%m}/[0-9a-f]{{32}}", stored.blob)
    with default_storage.open(stored.blob, "rb") as blob:
        assert blob.read() == content
    assert all_blobs() == [stored.blob]


@pytest.mark.parametrize("code", list(SAMPLES))
def test_every_known_type_is_stored_with_its_real_content_type(user: User, code: str) -> None:
    name, content = SAMPLES[code]
    kind = sniffing.sniff(upload(name, content))
    stored = store(user, name, content)
    assert stored.content_type == kind.content_type(sniffing.extension(name))


def test_the_browsers_content_type_is_not_trusted(user: User) -> None:
    stored = services.store_upload(
        actor=user, upload=upload("a.pdf", SAMPLES["pdf"][1], content_type="text/html"), context="t.x"
    )
    assert stored.content_type == "application/pdf"


def test_a_large_file_on_disk_is_streamed_and_checksummed(user: User) -> None:
    content = b"%PDF-1.7\n" + bytes(range(256)) * 8000  # ~2 MB, through a temporary file
    temp = TemporaryUploadedFile("大文件.pdf", "application/pdf", len(content), None)
    temp.write(content)
    temp.seek(0)
    stored = services.store_upload(actor=user, upload=temp, context="t.x")
    assert (stored.size, stored.sha256) == (len(content), hashlib.sha256(content).hexdigest())
    with default_storage.open(stored.blob, "rb") as blob:
        assert blob.read() == content
    temp.close()


def test_an_unknown_binary_with_its_own_extension_is_stored_as_octet_stream(user: User) -> None:
    stored = store(user, "总平面图.dwg", b"AC1032" + bytes(range(256)))
    assert stored.content_type == "application/octet-stream"


def test_a_zip_based_format_with_its_own_extension_is_a_zip(user: User) -> None:
    stored = store(user, "手册.epub", zip_bytes({"mimetype": b"application/epub+zip"}))
    assert stored.content_type == "application/zip"


def test_text_is_never_stored_as_html_or_xml(user: User) -> None:
    assert store(user, "配置.xml", b'<?xml version="1.0"?><a/>').content_type == "text/plain"
    assert store(user, "说明.md", "# 标题".encode("gb18030")).content_type == "text/plain"


def test_an_anonymous_or_system_upload_has_no_uploader(db: Any) -> None:
    assert store(None, "a.txt", b"hello").uploaded_by is None


def test_classification_must_be_a_known_level(user: User) -> None:
    assert refused(user, "a.txt", b"hello", classification=9) == "密级无效。"
    assert refused(user, "a.txt", b"hello", classification=-1) == "密级无效。"


def test_context_is_required(user: User) -> None:
    with pytest.raises(ValueError, match="context"):
        store(user, "a.txt", b"hello", context="")


# --------------------------------------------------------------------------- 1. name


@pytest.fixture
def words(secadmin_user: User) -> None:
    """One word that blocks a text and one that holds it for review."""
    add_word(secadmin_user, BLOCKED)
    add_word(secadmin_user, HELD, category_name="广告", action="hold")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("2026年度预算（草案）.xlsx", "2026年度预算（草案）.xlsx"),
        ("C:\\fakepath\\通知.docx", "通知.docx"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("a\x00b\x07c\r\n.txt", "abc.txt"),
        ("发票\u202egpj.txt", "发票gpj.txt"),  # the right-to-left override of "gpj.exe" tricks
        ("zero\u200bwidth.txt", "zerowidth.txt"),
        ("  报告.pdf .. ", "报告.pdf"),
        ("cafe\u0301.txt", "café.txt"),  # NFC
        ("a\n/b.txt", "b.txt"),  # the control character goes before the directory
    ],
)
def test_name_is_cleaned(raw: str, clean: str) -> None:
    assert services.clean_name(raw) == clean


@pytest.mark.parametrize("raw", ["", "   ", "\x00\x01", "a/", "..", "\u202e"])
def test_name_is_required(raw: str) -> None:
    with pytest.raises(DomainError, match="文件名不能为空"):
        services.clean_name(raw)


def test_name_of_255_characters_is_the_limit() -> None:
    assert services.clean_name("名" * 251 + ".txt") == "名" * 251 + ".txt"
    with pytest.raises(DomainError, match="文件名不能超过 255 个字符"):
        services.clean_name("名" * 252 + ".txt")


def test_r27_a_blocked_word_in_the_name_refuses_before_anything_is_stored(user: User, words: None) -> None:
    with pytest.raises(ContentBlockedError) as caught:
        store(user, f"{BLOCKED}.txt", b"hello")
    assert BLOCKED in caught.value.message
    assert not StoredFile.objects.exists()
    assert all_blobs() == []
    blocked = Event.objects.get(action="moderation.content.blocked")
    assert blocked.details["context"] == "files.name"


def test_r27_a_held_word_in_the_name_refuses_too_files_are_not_held(user: User, words: None) -> None:
    message = refused(user, f"周报{HELD}.txt", b"hello")
    assert message == f"文件名包含需审核的词语：“{HELD}”，请修改文件名后再上传。"


def test_r27_a_clean_name_passes(user: User, words: None) -> None:
    assert store(user, "周例会纪要.txt", b"hello").name == "周例会纪要.txt"


# --------------------------------------------------------------------------- 2. size


def test_an_empty_file_is_refused(user: User) -> None:
    assert refused(user, "空.txt", b"") == "文件是空的，请选择有内容的文件。"


def test_the_default_limits(settings: Any) -> None:
    assert settings.XIETONG_UPLOAD_MAX_BYTES == 50 * MB
    assert settings.XIETONG_UPLOAD_IMAGE_MAX_BYTES == 10 * MB


def test_a_file_over_the_limit_is_refused_naming_the_limit(user: User, settings: Any) -> None:
    content = b"%PDF-1.4\n" + bytes(50 * MB)
    assert refused(user, "大.pdf", content) == "文件超过 50 MB 上限。"
    settings.XIETONG_UPLOAD_MAX_BYTES = 100
    assert refused(user, "a.txt", b"x" * 101) == "文件超过 100 字节 上限。"
    assert store(user, "a.txt", b"x" * 100).size == 100


def test_an_image_is_held_to_the_image_limit(user: User, settings: Any) -> None:
    settings.XIETONG_UPLOAD_IMAGE_MAX_BYTES = int(1.5 * MB)
    png = image_bytes("PNG")
    padded = png + bytes(2 * MB)  # a valid PNG with trailing bytes
    assert refused(user, "封面.png", padded, images_only=True) == "文件超过 1.5 MB 上限。"
    assert store(user, "附图.png", padded).size == len(padded)  # as an attachment: the general limit


def test_the_size_the_browser_sent_is_not_trusted(user: User, settings: Any) -> None:
    settings.XIETONG_UPLOAD_MAX_BYTES = 1000
    lying = upload("a.txt", b"x" * 2000)
    lying.size = 10
    with pytest.raises(DomainError, match="文件超过 1000 字节 上限"):
        services.store_upload(actor=user, upload=lying, context="t.x")
    assert all_blobs() == []
    assert not StoredFile.objects.exists()


@pytest.mark.parametrize(
    ("size", "text"), [(50 * MB, "50 MB"), (10 * MB, "10 MB"), (int(2.5 * MB), "2.5 MB"), (2048, "2 KB")]
)
def test_format_limit(size: int, text: str) -> None:
    assert services.format_limit(size) == text


# --------------------------------------------------------------------------- 3. type


DANGEROUS_NAMES = (  # noqa: SIM905 - a list of names reads better as words
    "setup.exe a.DLL run.bat x.cmd x.com x.scr x.msi x.ps1 x.vbs x.js x.jar x.sh x.hta 快捷方式.lnk"
    " 页面.html 页面.htm 图标.svg 发票.pdf.exe"
).split()


@pytest.mark.parametrize("name", [*DANGEROUS_NAMES, "evil.exe. . "])
def test_dangerous_extensions_are_refused_whatever_the_content(user: User, name: str) -> None:
    message = refused(user, name, b"hello")
    assert message.startswith("出于安全考虑，不允许上传 .")


@pytest.mark.parametrize("head", [b"MZ\x90\x00", b"\x7fELF\x02\x01", b"\xcf\xfa\xed\xfe"])
@pytest.mark.parametrize("name", ["年报.pdf", "说明.txt", "无扩展名"])
def test_executables_are_refused_whatever_their_name(user: User, head: bytes, name: str) -> None:
    assert refused(user, name, head + bytes(200)) == "出于安全考虑，不允许上传可执行程序。"


@pytest.mark.parametrize(
    "content",
    [b"<!DOCTYPE html><html><script>alert(1)</script>", b'<svg xmlns="http://www.w3.org/2000/svg"/>'],
)
def test_web_pages_and_svg_are_refused_whatever_their_name(user: User, content: bytes) -> None:
    assert refused(user, "说明.txt", content) == "出于安全考虑，不允许上传网页或 SVG 文件。"


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("photo.jpg", b"<html><body>x</body></html>", "网页或 SVG 文件"),
        ("photo.jpg", SAMPLES["png"][1], "PNG 图片"),
        ("报告.pdf", "纯文本".encode(), "文本文件"),
        ("报告.docx", SAMPLES["pdf"][1], "PDF 文档"),
        ("报表.xlsx", SAMPLES["docx"][1], "Word 文档"),
        ("资料.zip", SAMPLES["rar"][1], "RAR 压缩包"),
        ("旧版.doc", SAMPLES["docx"][1], "Word 文档"),
        ("名单.csv", bytes(range(256)), "二进制文件"),
        ("说明.txt", SAMPLES["zip"][1], "ZIP 压缩包"),
    ],
)
def test_an_extension_that_contradicts_the_content_is_refused(
    user: User, name: str, content: bytes, kind: str
) -> None:
    message = refused(user, name, content)
    if kind == "网页或 SVG 文件":
        assert message == "出于安全考虑，不允许上传网页或 SVG 文件。"
    else:
        ext = sniffing.extension(name)
        assert message == f"文件扩展名“.{ext}”与文件的实际内容（{kind}）不符，已拒绝上传。"


def test_a_text_that_starts_like_a_windows_program_is_text(user: User) -> None:
    stored = store(user, "物料.csv", "MZ001,螺丝,100\nMZ002,螺母,200\n".encode())
    assert stored.content_type == "text/csv"


def test_a_broken_zip_is_refused(user: User) -> None:
    assert refused(user, "资料.zip", b"PK\x03\x04" + b"broken" * 20) == "文件已损坏或格式无法识别。"


@pytest.mark.parametrize("code", ["png", "jpeg", "gif", "webp"])
def test_images_only_accepts_the_four_raster_formats(user: User, code: str) -> None:
    name, content = SAMPLES[code]
    stored = store(user, name, content, images_only=True)
    assert stored.is_image
    assert stored.content_type in services.INLINE_TYPES


@pytest.mark.parametrize("code", ["pdf", "docx", "text", "zip"])
def test_images_only_refuses_anything_else(user: User, code: str) -> None:
    name, content = SAMPLES[code]
    assert refused(user, name, content, images_only=True) == "只能上传 PNG、JPEG、GIF 或 WebP 格式的图片。"


def test_images_only_never_accepts_svg(user: User) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert refused(user, "logo.svg", svg, images_only=True).startswith("出于安全考虑")
    assert refused(user, "logo.png", svg, images_only=True).startswith("出于安全考虑")


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n" + b"not really a png",
        image_bytes("PNG")[:40],  # cut short
        b"GIF89a" + bytes(10),
        b"RIFF\x10\x00\x00\x00WEBPVP8 garbage",
    ],
)
def test_images_only_proves_the_image_by_decoding_it(user: User, content: bytes) -> None:
    name = {b"\x89P": "a.png", b"GI": "a.gif", b"RI": "a.webp"}[content[:2]]
    assert refused(user, name, content, images_only=True) == "图片已损坏或无法识别，请换一张图片。"


def test_images_only_refuses_a_pixel_bomb(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("PIL.Image.MAX_IMAGE_PIXELS", 100)
    message = refused(user, "大图.png", image_bytes("PNG", (20, 20)), images_only=True)
    assert message.startswith("图片")


def test_a_png_with_a_jpeg_extension_is_refused_even_for_images(user: User) -> None:
    message = refused(user, "头像.jpg", SAMPLES["png"][1], images_only=True)
    assert message == "文件扩展名“.jpg”与文件的实际内容（PNG 图片）不符，已拒绝上传。"


# --------------------------------------------------------------------------- 4. scan


def test_an_infected_upload_is_refused_and_audited(user: User) -> None:
    content = b"report " + EICAR
    message = refused(user, "月报.txt", content, context="portal.attachment")
    assert message == "文件未通过安全扫描（检出 Eicar-Test-Signature），已拒绝上传。"
    event = Event.objects.get(action=audit_actions.UPLOAD_REFUSED)
    assert (event.result, event.actor_id) == (Event.Result.DENIED, user.pk)
    assert event.details == {
        "name": "月报.txt",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "scanner": "builtin",
        "signature": "Eicar-Test-Signature",
        "context": "portal.attachment",
    }


def test_an_infected_member_of_a_zip_is_refused(user: User) -> None:
    message = refused(user, "资料.zip", zip_bytes({"readme.txt": b"hi", "test.txt": EICAR}))
    assert "Eicar-Test-Signature" in message
    assert Event.objects.filter(action=audit_actions.UPLOAD_REFUSED).count() == 1


def test_a_zip_bomb_is_refused(user: User) -> None:
    message = refused(user, "资料.zip", zip_bytes({"zeros.bin": bytes(5 * MB)}))
    assert message == "压缩包解压后过大或嵌套过深，无法进行安全扫描，已拒绝上传。"


def test_an_encrypted_zip_is_refused_as_unscannable(user: User) -> None:
    message = refused(user, "工资.zip", encrypted(zip_bytes({"工资表.xlsx": b"secret"})))
    assert message == "加密的压缩包无法进行安全扫描，请解除密码后再上传。"


def test_an_executable_inside_a_zip_is_refused(user: User) -> None:
    message = refused(user, "工具.zip", zip_bytes({"setup.bin": b"MZ" + bytes(300)}))
    assert message == "出于安全考虑，不允许上传可执行程序（包括压缩包内的）。"


def test_clamd_passes_the_upload(user: User, fake_clamd: FakeClamd) -> None:
    name, content = SAMPLES["docx"]
    stored = store(user, name, content)
    assert stored.scanned_by == "clamd"
    assert fake_clamd.streams == [content]


def test_clamd_finding_is_refused_and_audited(user: User, fake_clamd: FakeClamd) -> None:
    message = refused(user, "月报.txt", EICAR)
    assert message == "文件未通过安全扫描（检出 Eicar-Signature），已拒绝上传。"
    event = Event.objects.get(action=audit_actions.UPLOAD_REFUSED)
    assert (event.details["scanner"], event.details["signature"]) == ("clamd", "Eicar-Signature")


def test_clamd_unreachable_fails_closed(
    user: User, unreachable_clamd: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="xietong.files.services"):
        message = refused(user, "a.txt", b"hello")
    assert message == "文件安全扫描服务暂不可用，请稍后重试。"
    [line] = [r for r in caplog.records if r.name == "xietong.files.services"]
    assert (line.levelno, line.getMessage()) == (logging.ERROR, "files.scan.unavailable")
    assert unreachable_clamd in line.error  # type: ignore[attr-defined]
    assert not Event.objects.filter(action=audit_actions.UPLOAD_REFUSED).exists()


def test_clamd_error_fails_closed(user: User, fake_clamd: FakeClamd) -> None:
    fake_clamd.mode = "error"
    assert refused(user, "a.txt", b"hello") == "文件安全扫描服务暂不可用，请稍后重试。"


# --------------------------------------------------------------------------- 5. rollback


def test_when_the_row_fails_the_blob_is_deleted(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_create(**fields: Any) -> StoredFile:
        assert default_storage.exists(fields["blob"])  # written, then the row fails
        raise IntegrityError("simulated")

    monkeypatch.setattr(StoredFile.objects, "create", broken_create)
    with pytest.raises(IntegrityError):
        store(user, "a.txt", b"hello")
    assert all_blobs() == []


def test_when_the_copy_fails_the_partial_blob_is_deleted(user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    saved: list[str] = []
    original_save = default_storage._save  # type: ignore[attr-defined]

    def failing_save(name: str, content: Any) -> str:
        original_save(name, content)
        saved.append(name)
        raise OSError("disk full")

    monkeypatch.setattr(default_storage, "_save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        store(user, "a.txt", b"hello")
    assert saved
    assert all_blobs() == []
    assert not StoredFile.objects.exists()


# --------------------------------------------------------------------------- 8. selector, discard


def test_get_by_key(user: User) -> None:
    stored = store(user, "a.txt", b"hello")
    assert selectors.get_by_key(stored.key) == stored
    assert selectors.get_by_key(str(stored.key)) == stored


@pytest.mark.parametrize("key", [uuid.uuid4(), str(uuid.uuid4()), "not-a-uuid", "", "1"])
def test_get_by_key_unknown_or_malformed_is_not_found(db: Any, key: Any) -> None:
    with pytest.raises(NotFoundError, match="文件不存在或已被删除"):
        selectors.get_by_key(key)


def test_discard_deletes_the_row_and_after_the_commit_the_blob(
    user: User, django_capture_on_commit_callbacks: Any
) -> None:
    stored = store(user, "a.txt", b"hello")
    with django_capture_on_commit_callbacks(execute=True):
        services.discard(stored)
        assert default_storage.exists(stored.blob)  # a rollback would still find it
    assert not StoredFile.objects.exists()
    assert all_blobs() == []
