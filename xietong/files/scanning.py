"""Malware scanning of uploads: every file is scanned before it is stored.

Production should run ClamAV's daemon and point the platform at it::

    apt install clamav-daemon clamav-freshclam      # freshclam keeps the signatures current
    XIETONG_CLAMD_URL=unix:///run/clamav/clamd.ctl  # or tcp://clamav.intranet:3310
    XIETONG_CLAMD_TIMEOUT=60                        # seconds per scan

and raise ``StreamMaxLength`` in ``clamd.conf`` to at least ``XIETONG_UPLOAD_MAX_BYTES``
(clamd's default of 25 MB would refuse larger uploads). Intranets without internet access
get signatures from a local mirror (``PrivateMirror`` in ``freshclam.conf``).

When clamd is configured, it is the only judge, and it fails closed: if it cannot be reached
or answers an error, ``ScanUnavailableError`` is raised and the upload refused.

Without ``XIETONG_CLAMD_URL`` the ``BuiltinScanner`` runs instead. It knows no viruses: it
catches the EICAR test file (so that the pipeline can be tested end to end), executables,
and ZIP packages it cannot vouch for — bombs (too large unpacked or too tightly packed),
encrypted or corrupt members, nesting deeper than three levels — looking inside ZIP, Office
and OFD files. RAR and 7z archives pass it unopened.
"""

from __future__ import annotations

import itertools
import shutil
import socket
import struct
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from typing import IO, Protocol
from urllib.parse import unquote, urlsplit

from django.conf import settings

from xietong.files import sniffing

CHUNK_BYTES = 64 * 1024
#: The EICAR anti-virus test file (eicar.org), joined at run time so that neither this file nor
#: its compiled form holds it in one piece (and is itself flagged by a virus scanner).
EICAR = b"".join((rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR", rb"-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"))

# Names of the built-in verdicts, in ClamAV's style so that the audit trail reads alike.
EICAR_SIGNATURE = "Eicar-Test-Signature"
EXECUTABLE_SIGNATURE = "Heuristics.Executable"
BOMB_SIGNATURE = "Heuristics.Limits.Exceeded"
ENCRYPTED_SIGNATURE = "Heuristics.Encrypted.Zip"
BROKEN_SIGNATURE = "Heuristics.Broken.Archive"


@dataclass(frozen=True)
class ScanResult:
    scanner: str
    #: What was found; empty when the file is clean.
    signature: str = ""

    @property
    def clean(self) -> bool:
        return not self.signature


class ScanUnavailableError(Exception):
    """The scanner could not give a verdict (unreachable, timed out, answered an error)."""


class Scanner(Protocol):
    name: str

    def scan(self, file: IO[bytes]) -> ScanResult:
        """Scan ``file`` (seekable, read from its start) — or raise ``ScanUnavailableError``."""
        ...


def get_scanner() -> Scanner:
    """clamd when ``XIETONG_CLAMD_URL`` is set, otherwise the built-in checks."""
    if settings.XIETONG_CLAMD_URL:
        return ClamdScanner(settings.XIETONG_CLAMD_URL, timeout=settings.XIETONG_CLAMD_TIMEOUT)
    return BuiltinScanner(
        max_unpacked=settings.XIETONG_UPLOAD_ZIP_MAX_UNPACKED_BYTES,
        max_ratio=settings.XIETONG_UPLOAD_ZIP_MAX_RATIO,
    )


# --------------------------------------------------------------------------- clamd


class ClamdScanner:
    """A client of clamd's INSTREAM command (``man clamd``): the file goes in chunks, each
    prefixed by its length as a 4-byte big-endian integer, ended by a zero length; clamd
    answers ``stream: OK``, ``stream: <signature> FOUND`` or ``<reason> ERROR``."""

    name = "clamd"

    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        parts = urlsplit(self.url)
        if parts.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(unquote(parts.path))
            except OSError:
                sock.close()
                raise
            return sock
        return socket.create_connection((parts.hostname or "", parts.port or 3310), timeout=self.timeout)

    def _command(self, command: bytes, file: IO[bytes] | None = None) -> str:
        try:
            with self._connect() as sock:
                # The "z" prefix: the command and the answer end with a NUL byte.
                sock.sendall(b"z" + command + b"\0")
                if file is not None:
                    try:
                        file.seek(0)
                        while chunk := file.read(CHUNK_BYTES):
                            sock.sendall(struct.pack("!L", len(chunk)) + chunk)
                        sock.sendall(struct.pack("!L", 0))
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # clamd hung up early (size limit): its answer says why
                reply = _read_reply(sock)
        except OSError as exc:
            raise ScanUnavailableError(f"clamd {self.url}: {exc}") from exc
        if not reply:
            raise ScanUnavailableError(f"clamd {self.url}: no answer")
        return reply

    def ping(self) -> bool:
        """Whether clamd answers (for health checks)."""
        try:
            return self._command(b"PING") == "PONG"
        except ScanUnavailableError:
            return False

    def scan(self, file: IO[bytes]) -> ScanResult:
        reply = self._command(b"INSTREAM", file)
        return ScanResult(self.name, parse_reply(reply, url=self.url))


def _read_reply(sock: socket.socket) -> str:
    data = b""
    while b"\0" not in data and len(data) < 4096:
        try:
            part = sock.recv(4096)
        except ConnectionResetError:
            break
        if not part:
            break
        data += part
    return data.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def parse_reply(reply: str, *, url: str = "clamd") -> str:
    """The signature found in an INSTREAM answer, ``""`` for a clean file; an error raises."""
    _stream, _colon, verdict = reply.rpartition(": ") if ": " in reply else ("", "", reply)
    if verdict == "OK":
        return ""
    if verdict.endswith(" FOUND") and verdict[: -len(" FOUND")].strip():
        return verdict[: -len(" FOUND")].strip()
    raise ScanUnavailableError(f"clamd {url}: {reply}")


# --------------------------------------------------------------------------- built-in


class _Budget:
    """Bytes that may still be unpacked, shared by every level of nested archives."""

    def __init__(self, total: int) -> None:
        self.left = total


class BuiltinScanner:
    """The checks the platform can make by itself; see the module docstring."""

    name = "builtin"
    MAX_DEPTH = 3
    MAX_MEMBERS = 10_000
    #: Small members may be packed tightly (an empty table compresses 1000:1); only members
    #: larger than this are held to the ratio.
    RATIO_FROM_BYTES = 1024 * 1024

    def __init__(self, *, max_unpacked: int, max_ratio: int) -> None:
        self.max_unpacked = max_unpacked
        self.max_ratio = max_ratio

    def scan(self, file: IO[bytes]) -> ScanResult:
        return ScanResult(self.name, self._scan(file, depth=0, budget=_Budget(self.max_unpacked)))

    def _scan(self, file: IO[bytes], *, depth: int, budget: _Budget) -> str:
        file.seek(0)
        head = file.read(len(EICAR) + 8)
        file.seek(0)
        if sniffing.is_executable(head):
            return EXECUTABLE_SIGNATURE
        if _contains(_chunks(file), EICAR):
            return EICAR_SIGNATURE
        if head.startswith(sniffing.ZIP_MAGIC):
            return self._scan_zip(file, depth=depth + 1, budget=budget)
        return ""

    def _scan_zip(self, file: IO[bytes], *, depth: int, budget: _Budget) -> str:
        if depth > self.MAX_DEPTH:
            return BOMB_SIGNATURE
        try:
            with zipfile.ZipFile(file) as archive:
                members = [info for info in archive.infolist() if not info.is_dir()]
                if len(members) > self.MAX_MEMBERS:
                    return BOMB_SIGNATURE
                # The declared sizes first: a bomb is refused before anything is unpacked.
                for info in members:
                    if info.flag_bits & 0x1:
                        return ENCRYPTED_SIGNATURE
                    too_tight = info.file_size > max(
                        self.RATIO_FROM_BYTES, info.compress_size * self.max_ratio
                    )
                    if too_tight or info.file_size > budget.left:
                        return BOMB_SIGNATURE
                    budget.left -= info.file_size
                for info in members:
                    # zipfile stops at the declared size and checks the CRC: the budget holds.
                    with archive.open(info) as member:
                        found = self._scan_member(member, depth=depth, budget=budget)
                    if found:
                        return found
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError):
            return BROKEN_SIGNATURE
        finally:
            file.seek(0)
        return ""

    def _scan_member(self, member: IO[bytes], *, depth: int, budget: _Budget) -> str:
        """A member is read as it unpacks; only a nested archive is copied (ZIP needs to seek)."""
        head = member.read(CHUNK_BYTES)
        if head.startswith(sniffing.ZIP_MAGIC):
            with SpooledTemporaryFile(max_size=CHUNK_BYTES * 16) as copy:
                copy.write(head)
                shutil.copyfileobj(member, copy, CHUNK_BYTES)
                return self._scan(copy, depth=depth, budget=budget)
        if sniffing.is_executable(head):
            return EXECUTABLE_SIGNATURE
        if _contains(itertools.chain([head], _chunks(member)), EICAR):
            return EICAR_SIGNATURE
        return ""


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    while chunk := file.read(CHUNK_BYTES):
        yield chunk


def _contains(chunks: Iterable[bytes], needle: bytes) -> bool:
    """Whether ``needle`` occurs in the stream, read in windows that overlap by its length."""
    tail = b""
    for chunk in chunks:
        window = tail + chunk
        if needle in window:
            return True
        tail = window[-(len(needle) - 1) :]
    return False
