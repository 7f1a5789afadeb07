"""Samples of every type the pipeline knows, the EICAR test file, and a fake clamd.

The EICAR string is put together at run time from pieces so that no file of the repository
holds it whole (a virus scanner on a developer's machine would quarantine the file).
"""

from __future__ import annotations

import io
import os
import socket
import socketserver
import struct
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

EICAR = "".join(("X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-ANTIVIRUS", "-TEST-FILE!$H+H*")).encode()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def image_bytes(fmt: str, size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def office_bytes(folder: str) -> bytes:
    """A minimal OOXML package: [Content_Types].xml and a part in ``word/``, ``xl/`` or ``ppt/``."""
    return zip_bytes(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "_rels/.rels": b"<Relationships/>",
            f"{folder}/document.xml": b"<document>\xe6\x8a\xa5\xe5\x91\x8a</document>",
        }
    )


def odf_bytes(mimetype: bytes = b"application/vnd.oasis.opendocument.text") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", b"<office:document-content/>", compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def encrypted(zip_content: bytes) -> bytes:
    """The archive with every member marked encrypted (zipfile cannot write real encryption)."""
    data = bytearray(zip_content)
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            data[start + flag_offset] |= 0x01
            start += 4
    return bytes(data)


SAMPLES: dict[str, tuple[str, bytes]] = {
    "pdf": ("报告.pdf", b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"),
    "png": ("图.png", image_bytes("PNG")),
    "jpeg": ("照片.jpg", image_bytes("JPEG")),
    "gif": ("动图.gif", image_bytes("GIF")),
    "webp": ("图.webp", image_bytes("WEBP")),
    "docx": ("通知.docx", office_bytes("word")),
    "xlsx": ("报表.xlsx", office_bytes("xl")),
    "pptx": ("汇报.pptx", office_bytes("ppt")),
    "odf": ("纪要.odt", odf_bytes()),
    "ofd": ("发票.ofd", zip_bytes({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<ofd:Document/>"})),
    "zip": ("资料.zip", zip_bytes({"说明.txt": "你好".encode()})),
    "ole": ("旧版.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)),
    "rar": ("资料.rar", b"Rar!\x1a\x07\x01\x00" + bytes(64)),
    "7z": ("资料.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(64)),
    "text": ("名单.csv", "姓名,部门\n张伟,综合办公室\n".encode()),
}


def all_blobs(folder: str = "uploads") -> list[str]:
    """Every file under ``folder`` of the default storage."""
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    found = [f"{folder}/{name}" for name in files]
    for sub in folders:
        found += all_blobs(f"{folder}/{sub}")
    return found


@pytest.fixture(autouse=True)
def _builtin_scanner_and_empty_storage(settings: Any) -> None:
    """Every test starts with the built-in scanner and no stored uploads."""
    settings.XIETONG_CLAMD_URL = ""
    for blob in all_blobs():
        default_storage.delete(blob)


# --------------------------------------------------------------------------- fake clamd


@dataclass
class FakeClamd:
    """What the fake daemon saw, and how it answers: ``mode`` is ``scan`` (EICAR → FOUND),
    ``error`` (an ERROR line) or ``silent`` (reads everything, never answers)."""

    url: str = ""
    mode: str = "scan"
    streams: list[bytes] = field(default_factory=list)
    chunk_sizes: list[list[int]] = field(default_factory=list)


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        part = conn.recv(size - len(data))
        if not part:
            raise ConnectionError("client hung up")
        data += part
    return data


def _handler(state: FakeClamd) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            command = b""
            while not command.endswith(b"\0"):
                part = conn.recv(1)
                if not part:
                    return
                command += part
            if command == b"zPING\0":
                conn.sendall(b"PONG\0")
                return
            assert command == b"zINSTREAM\0"
            data, sizes = b"", []
            while size := struct.unpack("!L", _read_exactly(conn, 4))[0]:
                data += _read_exactly(conn, size)
                sizes.append(size)
            state.streams.append(data)
            state.chunk_sizes.append(sizes)
            if state.mode == "silent":
                while conn.recv(4096):  # until the client gives up and closes
                    pass
                return
            if state.mode == "error":
                conn.sendall(b"INSTREAM size limit exceeded. ERROR\0")
            elif EICAR in data:
                conn.sendall(b"stream: Eicar-Signature FOUND\0")
            else:
                conn.sendall(b"stream: OK\0")

    return Handler


class _TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def _serve(server: socketserver.BaseServer) -> Callable[[], None]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return stop


@pytest.fixture
def fake_clamd(settings: Any) -> Iterator[FakeClamd]:
    """A clamd on a TCP port of 127.0.0.1, configured as the platform's scanner."""
    state = FakeClamd()
    server = _TcpServer(("127.0.0.1", 0), _handler(state))
    state.url = f"tcp://127.0.0.1:{server.server_address[1]}"
    settings.XIETONG_CLAMD_URL = state.url
    settings.XIETONG_CLAMD_TIMEOUT = 5
    stop = _serve(server)
    yield state
    stop()


@pytest.fixture
def fake_clamd_unix(settings: Any) -> Iterator[FakeClamd]:
    """The same daemon on a UNIX socket (a short path: the limit is about 100 bytes)."""
    folder = tempfile.mkdtemp(prefix="clamd")
    path = os.path.join(folder, "clamd.ctl")
    state = FakeClamd(url=f"unix://{path}")
    server = _UnixServer(path, _handler(state))
    settings.XIETONG_CLAMD_URL = state.url
    settings.XIETONG_CLAMD_TIMEOUT = 5
    stop = _serve(server)
    yield state
    stop()
    os.unlink(path)
    os.rmdir(folder)


@pytest.fixture
def unreachable_clamd(settings: Any) -> str:
    """A clamd URL where nothing listens: a port just taken and given back."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.XIETONG_CLAMD_URL = f"tcp://127.0.0.1:{port}"
    settings.XIETONG_CLAMD_TIMEOUT = 5
    return str(settings.XIETONG_CLAMD_URL)
