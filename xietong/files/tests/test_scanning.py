"""The scanners: clamd over INSTREAM (against a fake daemon started by the test) and the
built-in checks (EICAR, executables, ZIP bombs, encrypted and broken archives)."""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from xietong import config
from xietong.files import scanning
from xietong.files.tests.conftest import EICAR, SAMPLES, FakeClamd, encrypted, office_bytes, zip_bytes


def builtin(*, max_unpacked: int = 10**9, max_ratio: int = 100) -> scanning.BuiltinScanner:
    return scanning.BuiltinScanner(max_unpacked=max_unpacked, max_ratio=max_ratio)


def scan(content: bytes, **limits: Any) -> str:
    return builtin(**limits).scan(io.BytesIO(content)).signature


def test_the_eicar_string_of_the_tests_is_the_scanners() -> None:
    assert scanning.EICAR == EICAR
    assert len(EICAR) == 68


# --------------------------------------------------------------------------- built-in


@pytest.mark.parametrize("code", list(SAMPLES))
def test_builtin_passes_clean_files(code: str) -> None:
    result = builtin().scan(io.BytesIO(SAMPLES[code][1]))
    assert result.clean
    assert result.scanner == "builtin"


@pytest.mark.parametrize(
    "content",
    [
        EICAR,
        EICAR + b"\r\n",
        b"%PDF-1.4\n" + b"x" * 70_000 + EICAR,  # across the boundary of two read chunks
        b"x" * (scanning.CHUNK_BYTES - 30) + EICAR,
    ],
)
def test_builtin_finds_eicar(content: bytes) -> None:
    assert scan(content) == scanning.EICAR_SIGNATURE


@pytest.mark.parametrize(
    "content",
    [
        zip_bytes({"readme.txt": b"hello", "eicar.com": EICAR}),
        zip_bytes({"eicar.txt": EICAR}, compression=zipfile.ZIP_STORED),
        zip_bytes({"inner.zip": zip_bytes({"deep/eicar.txt": EICAR})}),
        zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>", "word/o.bin": EICAR}),
    ],
    ids=["member", "stored-member", "nested-zip", "inside-docx"],
)
def test_builtin_finds_eicar_inside_zip_members(content: bytes) -> None:
    assert scan(content) == scanning.EICAR_SIGNATURE


def test_builtin_finds_eicar_across_the_read_chunks_of_a_member() -> None:
    member = b"x" * (scanning.CHUNK_BYTES - 20) + EICAR + b"y" * 100
    assert scan(zip_bytes({"big.txt": member})) == scanning.EICAR_SIGNATURE


@pytest.mark.parametrize("magic", [b"MZ\x90\x00", b"\x7fELF", b"\xcf\xfa\xed\xfe"])
def test_builtin_refuses_executables_also_inside_archives(magic: bytes) -> None:
    program = magic + bytes(200)
    assert scan(program) == scanning.EXECUTABLE_SIGNATURE
    assert scan(zip_bytes({"工具/setup.bin": program})) == scanning.EXECUTABLE_SIGNATURE


def test_builtin_refuses_a_tightly_packed_zip() -> None:
    bomb = zip_bytes({"zeros.bin": bytes(3 * 1024 * 1024)})  # 3 MB of zeros pack to ~3 KB
    assert len(bomb) < 10_000
    assert scan(bomb, max_ratio=100) == scanning.BOMB_SIGNATURE
    assert scan(bomb, max_ratio=10_000) == ""


def test_builtin_lets_small_members_be_packed_tightly() -> None:
    """An empty worksheet packs 1000:1; below 1 MB unpacked the ratio is not held against it."""
    assert scan(zip_bytes({"xl/sheet.xml": bytes(900 * 1024)}), max_ratio=10) == ""


def test_builtin_refuses_a_zip_that_unpacks_to_more_than_the_limit() -> None:
    content = zip_bytes({"a.bin": os.urandom(600), "b.bin": os.urandom(600)}, compression=zipfile.ZIP_STORED)
    assert scan(content, max_unpacked=1000) == scanning.BOMB_SIGNATURE
    assert scan(content, max_unpacked=1200) == ""


def test_builtin_counts_nested_archives_against_one_budget() -> None:
    inner = zip_bytes({"inner.bin": os.urandom(600)}, compression=zipfile.ZIP_STORED)
    content = zip_bytes({"inner.zip": inner}, compression=zipfile.ZIP_STORED)
    # The outer member (~700 bytes) fits, and so would the inner one alone: not both.
    assert scan(content, max_unpacked=len(inner) + 100) == scanning.BOMB_SIGNATURE
    assert scan(content, max_unpacked=len(inner) + 600) == ""


def test_builtin_refuses_nesting_deeper_than_three() -> None:
    content = b"hello"
    for level in range(3):
        content = zip_bytes({f"level{level}.zip" if level else "a.txt": content})
    assert scan(content) == ""  # three levels
    assert scan(zip_bytes({"level3.zip": content})) == scanning.BOMB_SIGNATURE


def test_builtin_refuses_too_many_members() -> None:
    content = zip_bytes({f"{n}.txt": b"x" for n in range(scanning.BuiltinScanner.MAX_MEMBERS + 1)})
    assert scan(content) == scanning.BOMB_SIGNATURE


def test_builtin_refuses_encrypted_members_as_unscannable() -> None:
    assert scan(encrypted(zip_bytes({"工资表.xlsx": b"secret"}))) == scanning.ENCRYPTED_SIGNATURE
    assert scan(encrypted(office_bytes("word"))) == scanning.ENCRYPTED_SIGNATURE


def test_builtin_refuses_a_member_that_does_not_unpack() -> None:
    content = bytearray(zip_bytes({"a.txt": b"hello world, hello world"}, compression=zipfile.ZIP_STORED))
    start = content.find(b"hello world")
    content[start : start + 5] = b"HELLO"  # the CRC no longer matches
    assert scan(bytes(content)) == scanning.BROKEN_SIGNATURE


def test_get_scanner_is_builtin_without_clamd(settings: Any) -> None:
    settings.XIETONG_UPLOAD_ZIP_MAX_RATIO = 42
    scanner = scanning.get_scanner()
    assert isinstance(scanner, scanning.BuiltinScanner)
    assert scanner.max_ratio == 42


# --------------------------------------------------------------------------- clamd


def test_clamd_clean_file(fake_clamd: FakeClamd) -> None:
    scanner = scanning.get_scanner()
    assert isinstance(scanner, scanning.ClamdScanner)
    result = scanner.scan(io.BytesIO(SAMPLES["pdf"][1]))
    assert (result.clean, result.scanner, result.signature) == (True, "clamd", "")
    assert fake_clamd.streams == [SAMPLES["pdf"][1]]


def test_clamd_streams_large_files_in_chunks_from_the_start(fake_clamd: FakeClamd) -> None:
    content = os.urandom(200_000)
    file = io.BytesIO(content)
    file.seek(5000)  # a previous check left it elsewhere
    assert scanning.get_scanner().scan(file).clean
    assert fake_clamd.streams == [content]
    assert fake_clamd.chunk_sizes == [[65536, 65536, 65536, 3392]]


def test_clamd_found(fake_clamd: FakeClamd) -> None:
    result = scanning.get_scanner().scan(io.BytesIO(b"prefix " + EICAR))
    assert not result.clean
    assert result.signature == "Eicar-Signature"


def test_clamd_over_a_unix_socket(fake_clamd_unix: FakeClamd) -> None:
    scanner = scanning.get_scanner()
    assert scanner.scan(io.BytesIO(b"hello")).clean
    assert scanner.scan(io.BytesIO(EICAR)).signature == "Eicar-Signature"
    assert fake_clamd_unix.streams == [b"hello", EICAR]


def test_clamd_ping(fake_clamd: FakeClamd, unreachable_clamd: str) -> None:
    assert scanning.ClamdScanner(fake_clamd.url, timeout=5).ping()
    assert not scanning.ClamdScanner(unreachable_clamd, timeout=5).ping()


def test_clamd_error_answer_is_unavailable(fake_clamd: FakeClamd) -> None:
    fake_clamd.mode = "error"
    with pytest.raises(scanning.ScanUnavailableError, match="size limit exceeded"):
        scanning.get_scanner().scan(io.BytesIO(b"hello"))


def test_clamd_unreachable_is_unavailable(unreachable_clamd: str) -> None:
    with pytest.raises(scanning.ScanUnavailableError):
        scanning.get_scanner().scan(io.BytesIO(b"hello"))


def test_clamd_unix_socket_missing_is_unavailable(tmp_path: Any) -> None:
    scanner = scanning.ClamdScanner(f"unix://{tmp_path}/none.ctl", timeout=5)
    with pytest.raises(scanning.ScanUnavailableError):
        scanner.scan(io.BytesIO(b"hello"))


def test_clamd_that_never_answers_times_out(fake_clamd: FakeClamd) -> None:
    fake_clamd.mode = "silent"
    with pytest.raises(scanning.ScanUnavailableError, match="timed out"):
        scanning.ClamdScanner(fake_clamd.url, timeout=0.2).scan(io.BytesIO(b"hello"))


@pytest.mark.parametrize(
    ("reply", "signature"),
    [
        ("stream: OK", ""),
        ("stream: Win.Test.EICAR_HDB-1 FOUND", "Win.Test.EICAR_HDB-1"),
        ("stream: Heuristics.Encrypted.Zip FOUND", "Heuristics.Encrypted.Zip"),
    ],
)
def test_parse_reply(reply: str, signature: str) -> None:
    assert scanning.parse_reply(reply) == signature


@pytest.mark.parametrize(
    "reply",
    [
        "INSTREAM size limit exceeded. ERROR",
        "stream: Can't allocate memory ERROR",
        "UNKNOWN COMMAND",
        "",
        " FOUND",
    ],
)
def test_parse_reply_errors(reply: str) -> None:
    with pytest.raises(scanning.ScanUnavailableError):
        scanning.parse_reply(reply)


@pytest.mark.parametrize(
    "value", ["tcp://127.0.0.1:3310", "tcp://clamav.intranet:3310", "unix:///run/clamav/clamd.ctl", ""]
)
def test_clamd_url_setting_accepts(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIETONG_CLAMD_URL", value)
    assert config.clamd_url("CLAMD_URL") == value


@pytest.mark.parametrize(
    "value",
    [
        "127.0.0.1:3310",
        "tcp://127.0.0.1",
        "tcp://:3310",
        "tcp://h:port",
        "unix://run/clamd.ctl",
        "http://h:1",
    ],
)
def test_clamd_url_setting_refuses(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XIETONG_CLAMD_URL", value)
    with pytest.raises(ImproperlyConfigured, match="XIETONG_CLAMD_URL"):
        config.clamd_url("CLAMD_URL")
