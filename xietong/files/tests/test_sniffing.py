"""The type table: what the first bytes (and the names inside a ZIP) say a file is."""

from __future__ import annotations

import io

import pytest

from xietong.files import sniffing
from xietong.files.tests.conftest import SAMPLES, zip_bytes


def sniff(content: bytes) -> sniffing.Kind:
    return sniffing.sniff(io.BytesIO(content))


@pytest.mark.parametrize("code", list(SAMPLES))
def test_each_known_type_is_recognised(code: str) -> None:
    name, content = SAMPLES[code]
    kind = sniff(content)
    assert kind.code == code
    assert sniffing.extension(name) in kind.types


def test_the_file_is_left_at_its_start() -> None:
    file = io.BytesIO(SAMPLES["docx"][1])
    file.seek(10)
    sniffing.sniff(file)
    assert file.tell() == 0


@pytest.mark.parametrize(
    "head",
    [
        b"MZ\x90\x00\x03\x00\x00\x00",  # Windows PE / DOS
        b"\x7fELF\x02\x01\x01\x00",  # Linux
        b"\xcf\xfa\xed\xfe\x07\x00\x00\x01",  # Mach-O 64-bit
        b"\xca\xfe\xba\xbe\x00\x00\x00\x02",  # Mach-O universal
    ],
)
def test_executables_are_recognised(head: bytes) -> None:
    assert sniff(head + bytes(100)) is sniffing.EXECUTABLE


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE html><html><body>x</body></html>",
        b"\n\n  <HTML>\n<script>alert(1)</script>",
        b"<script>alert(1)</script>",
        b"<iframe src=x>",
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"<!-- comment -->\n<svg>",
        b'<?xml version="1.0"?><?xml-stylesheet href="a.css"?><svg/>',
        b"\xef\xbb\xbf<html>",  # with a UTF-8 BOM
        "<html><body>测试</body></html>".encode("utf-16"),  # UTF-16 with its BOM
    ],
)
def test_web_pages_and_svg_are_markup(content: bytes) -> None:
    assert sniff(content) is sniffing.MARKUP


@pytest.mark.parametrize(
    "content",
    [
        "会议纪要\n时间：周一\n".encode(),
        "会议纪要\n时间：周一\n".encode("gb18030"),
        "\ufeff姓名,部门\n张伟,办公室\n".encode(),
        "姓名\t部门\r\n张伟\t办公室\r\n".encode("utf-16"),
        b'<?xml version="1.0"?><config><a>1</a></config>',  # XML is text, stored as text/plain
        b"a < b and c > d",
        ("长" * 5000).encode(),  # the head ends inside a multi-byte character
    ],
)
def test_plain_text_in_chinese_encodings(content: bytes) -> None:
    assert sniff(content) is sniffing.TEXT


@pytest.mark.parametrize(
    "content", [bytes(range(256)), b"\x00\x01\x02abc", b"abc\x00def", b"\x1f\x8b\x08\x00"]
)
def test_anything_else_is_binary(content: bytes) -> None:
    assert sniff(content) is sniffing.BINARY


def test_empty_content_is_binary() -> None:
    assert sniff(b"") is sniffing.BINARY


def test_a_broken_zip_is_unreadable() -> None:
    with pytest.raises(sniffing.UnreadableFileError):
        sniff(b"PK\x03\x04" + b"garbage" * 10)


def test_a_zip_without_office_parts_is_a_plain_zip() -> None:
    assert sniff(zip_bytes({"[Content_Types].xml": b"<Types/>", "other/x.xml": b"<x/>"})) is sniffing.ZIP


@pytest.mark.parametrize(
    ("name", "ext"),
    [
        ("报告.PDF", "pdf"),
        ("archive.tar.gz", "gz"),
        ("README", ""),
        (".bashrc", ""),
        ("结尾点.", ""),
    ],
)
def test_extension(name: str, ext: str) -> None:
    assert sniffing.extension(name) == ext


def test_content_types_follow_the_extension_within_a_kind() -> None:
    assert sniffing.OLE.content_type("xls") == "application/vnd.ms-excel"
    assert sniffing.OLE.content_type("pub") == "application/octet-stream"
    assert sniffing.TEXT.content_type("csv") == "text/csv"
    assert sniffing.TEXT.content_type("md") == "text/plain"
    assert sniffing.JPEG.content_type("") == "image/jpeg"
    assert sniffing.ZIP.content_type("epub") == "application/zip"
