"""The upload pipeline: every file is checked and scanned before it is stored, and served with
headers that keep a browser from running it.

``store_upload`` takes an upload through, in order: its name (cleaned, ≤ 255 characters,
screened by the content rules), its size, its real type (sniffed from its bytes; dangerous
extensions, executables, web pages and names that contradict the content are refused; images
are decoded with Pillow), a malware scan (``xietong.files.scanning``), and only then the
storage — under ``uploads/YYYY/MM/<uuid>``, with its SHA-256 taken on the way — and the
``StoredFile`` row. A refusal raises ``DomainError`` (``ContentBlockedError`` for a blocked
word in the name) and stores nothing.

Call it before opening your own transaction, as with ``moderation.screen``: the audit record
of an infected upload must not roll back with your refused write. If your own write then
fails, ``discard`` the stored file.

``file_response`` serves a file; the owning module checks first who may read it (and audits
downloads of classified files).
"""

from __future__ import annotations

import hashlib
import io
import logging
import unicodedata
import uuid
from typing import IO, Any
from urllib.parse import quote

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import FileResponse
from django.utils.translation import gettext as _
from PIL import Image

from xietong.audit.models import Event
from xietong.audit.services import record
from xietong.core import classification as levels
from xietong.core import clock
from xietong.core.errors import DomainError, NotFoundError
from xietong.files import audit_actions, scanning, sniffing
from xietong.files.models import StoredFile
from xietong.moderation import services as moderation

logger = logging.getLogger(__name__)

NAME_MAX = 255
CHUNK_BYTES = 64 * 1024
#: Raster images that may be shown inline; everything else is downloaded.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
PILLOW_FORMATS = {sniffing.PNG: "PNG", sniffing.JPEG: "JPEG", sniffing.GIF: "GIF", sniffing.WEBP: "WEBP"}
# Characters that are never part of a file name: control and format characters (including the
# right-to-left override of "gpj.exe" tricks), surrogates, line and paragraph separators.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
CONTEXT_MAX = 64  # StoredFile.context
#: Types a browser would run; the sniffer never stores them, rows written some other way might.
ACTIVE_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "text/javascript"}
    | {"application/javascript", "application/ecmascript", "text/ecmascript"}
)


def store_upload(
    *,
    actor: Any,
    upload: UploadedFile[bytes],
    context: str,
    classification: int = 0,
    images_only: bool = False,
) -> StoredFile:
    """Check, scan and store ``upload`` for ``context`` (the module and use, e.g.
    ``portal.attachment``); ``images_only`` accepts PNG, JPEG, GIF and WebP only."""
    if not context or len(context) > CONTEXT_MAX:
        raise ValueError(f"invalid upload context {context!r}")
    if classification not in levels.levels():
        raise DomainError(_("密级无效。"))
    name = clean_name(upload.name or "")
    _screen_name(actor, name)
    limit = settings.XIETONG_UPLOAD_IMAGE_MAX_BYTES if images_only else settings.XIETONG_UPLOAD_MAX_BYTES
    _check_size(upload.size, limit)
    kind = _check_type(upload, name, images_only=images_only)
    scanned_by = _scan(actor, upload, name=name, context=context)
    blob, size, sha256 = _write(upload, limit)
    try:
        with transaction.atomic():
            return StoredFile.objects.create(
                name=name,
                blob=blob,
                size=size,
                content_type=kind.content_type(sniffing.extension(name)),
                sha256=sha256,
                context=context,
                classification=classification,
                scanned_by=scanned_by,
                uploaded_by=actor if actor is not None and actor.is_authenticated else None,
            )
    except BaseException:
        _delete_blob(blob)  # nothing half-done: no blob without its row
        raise


def store_generated(
    *, content: bytes, name: str, content_type: str, context: str, classification: int = 0, actor: Any = None
) -> StoredFile:
    """Store a file the platform made itself (a 公文 PDF, an archive manifest): nothing to
    scan or sniff, but the same storage, checksum and row as an upload."""
    if not context or len(context) > CONTEXT_MAX:
        raise ValueError(f"invalid file context {context!r}")
    now = clock.now()
    path = f"generated/{now:%Y}/{now:%m}/{uuid.uuid4().hex}"
    blob = default_storage.save(path, io.BytesIO(content))
    try:
        with transaction.atomic():
            return StoredFile.objects.create(
                name=clean_name(name),
                blob=blob,
                size=len(content),
                content_type=content_type,
                sha256=hashlib.sha256(content).hexdigest(),
                context=context,
                classification=classification,
                scanned_by="generated",
                uploaded_by=actor if actor is not None and actor.is_authenticated else None,
            )
    except BaseException:
        _delete_blob(blob)
        raise


def discard(stored: StoredFile) -> None:
    """Delete the row now and its blob once the transaction commits (so that a rollback leaves
    both), e.g. for an attachment dropped before publishing."""
    blob = stored.blob
    with transaction.atomic():
        stored.delete()
        transaction.on_commit(lambda: _delete_blob(blob))


def file_response(stored: StoredFile, *, inline: bool = False) -> FileResponse:
    """The file as a download (or, with ``inline``, shown in place if it is a raster image),
    with headers that keep the browser from sniffing or running it."""
    try:
        handle = default_storage.open(stored.blob, "rb")
    except OSError:
        logger.error("files.blob.missing", extra={"file_id": stored.pk, "blob": stored.blob})
        raise NotFoundError(_("文件不存在或已被删除。")) from None
    is_image = stored.content_type in INLINE_TYPES
    content_type = stored.content_type
    if content_type.split(";", 1)[0].strip().lower() in ACTIVE_TYPES:
        content_type = "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = content_disposition(stored.name, inline=inline and is_image)
    response["X-Content-Type-Options"] = "nosniff"
    if not is_image:
        response["Content-Security-Policy"] = "sandbox"
    # A classified file must not stay in the browser cache of a shared computer.
    response["Cache-Control"] = (
        "private, no-store" if levels.is_classified(stored.classification) else "private"
    )
    return response


# --------------------------------------------------------------------------- helpers


def clean_name(raw: str) -> str:
    """The file name as stored and shown: without directories, invisible characters, and the
    spaces and dots Windows drops at the end; Chinese and everything printable kept."""
    name = _visible(unicodedata.normalize("NFC", raw))
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().rstrip(". ")
    if not name:
        raise DomainError(_("文件名不能为空。"))
    if len(name) > NAME_MAX:
        raise DomainError(_("文件名不能超过 %(max)s 个字符。") % {"max": NAME_MAX})
    return name


def _visible(text: str) -> str:
    return "".join(char for char in text if unicodedata.category(char) not in _INVISIBLE)


def content_disposition(name: str, *, inline: bool) -> str:
    """RFC 6266: an ASCII ``filename`` for old clients and the UTF-8 ``filename*`` (RFC 5987)
    that every current browser uses, so that Chinese names arrive intact."""
    name = _visible(name)
    if name.isascii():
        fallback = name.replace("\\", "_").replace('"', "_")
    else:
        ext = sniffing.extension(name)
        fallback = "download" + (f".{ext}" if ext.isascii() and ext.isalnum() else "")
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def format_limit(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"
    if size >= 1024:
        return f"{size / 1024:.1f}".removesuffix(".0") + " KB"
    return _("%(size)s 字节") % {"size": size}


def _screen_name(actor: Any, name: str) -> None:
    """The content rules for the name: a blocking word raises ``ContentBlockedError``; files
    are never held for review, so a word that would hold a text refuses the file."""
    verdict = moderation.screen(actor=actor, fields={"name": name}, context="files.name")
    if verdict.held:
        words = "、".join(f"“{word}”" for word in verdict.words_with("hold"))
        raise DomainError(_("文件名包含需审核的词语：%(words)s，请修改文件名后再上传。") % {"words": words})


def _check_size(size: int | None, limit: int) -> None:
    if not size:
        raise DomainError(_("文件是空的，请选择有内容的文件。"))
    if size > limit:
        raise DomainError(_("文件超过 %(limit)s 上限。") % {"limit": format_limit(limit)})


def _check_type(upload: UploadedFile[bytes], name: str, *, images_only: bool) -> sniffing.Kind:
    ext = sniffing.extension(name)
    if ext in sniffing.DANGEROUS_EXTENSIONS:
        raise DomainError(_("出于安全考虑，不允许上传 .%(ext)s 类型的文件。") % {"ext": ext})
    try:
        kind = sniffing.sniff(upload)
    except sniffing.UnreadableFileError:
        raise DomainError(_("文件已损坏或格式无法识别。")) from None
    if kind in (sniffing.EXECUTABLE, sniffing.MARKUP):
        raise DomainError(_("出于安全考虑，不允许上传%(kind)s。") % {"kind": kind.label})
    if images_only and kind not in sniffing.RASTER_IMAGES:
        raise DomainError(_("只能上传 PNG、JPEG、GIF 或 WebP 格式的图片。"))
    if ext and ext not in kind.types and (not kind.open or ext in sniffing.CLAIMED):
        raise DomainError(
            _("文件扩展名“.%(ext)s”与文件的实际内容（%(kind)s）不符，已拒绝上传。")
            % {"ext": ext, "kind": kind.label}
        )
    if images_only:
        _prove_image(upload, kind)
    return kind


def _prove_image(upload: UploadedFile[bytes], kind: sniffing.Kind) -> None:
    """Decode the header and check the structure with Pillow: the bytes are the image they claim."""
    refused = DomainError(_("图片已损坏或无法识别，请换一张图片。"))
    upload.seek(0)
    try:
        with Image.open(upload, formats=[PILLOW_FORMATS[kind]]) as image:
            width, height = image.size
            if Image.MAX_IMAGE_PIXELS and width * height > Image.MAX_IMAGE_PIXELS:
                raise DomainError(
                    _("图片尺寸过大（%(width)s×%(height)s 像素）。") % {"width": width, "height": height}
                )
            image.verify()
    except DomainError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise refused from exc
    finally:
        upload.seek(0)


def _scan(actor: Any, upload: UploadedFile[bytes], *, name: str, context: str) -> str:
    """The name of the scanner that passed the upload; a finding is audited and refused."""
    scanner = scanning.get_scanner()
    try:
        result = scanner.scan(upload)
    except scanning.ScanUnavailableError as exc:
        # Fail closed: no verdict, no upload.
        logger.error(
            "files.scan.unavailable", extra={"scanner": scanner.name, "error": str(exc), "context": context}
        )
        raise DomainError(_("文件安全扫描服务暂不可用，请稍后重试。")) from None
    finally:
        upload.seek(0)
    if result.clean:
        return result.scanner
    with transaction.atomic():
        record(
            actor=actor,
            action=audit_actions.UPLOAD_REFUSED,
            result=Event.Result.DENIED,
            details={
                "name": name,
                "size": upload.size,
                "sha256": _sha256(upload),
                "scanner": result.scanner,
                "signature": result.signature,
                "context": context,
            },
        )
    logger.warning(
        "files.scan.refused",
        extra={"scanner": result.scanner, "signature": result.signature, "context": context},
    )
    raise DomainError(_refusal_message(result.signature), details={"signature": result.signature})


def _refusal_message(signature: str) -> str:
    if signature == scanning.ENCRYPTED_SIGNATURE:
        return _("加密的压缩包无法进行安全扫描，请解除密码后再上传。")
    if signature == scanning.BOMB_SIGNATURE:
        return _("压缩包解压后过大或嵌套过深，无法进行安全扫描，已拒绝上传。")
    if signature == scanning.BROKEN_SIGNATURE:
        return _("压缩包已损坏，无法进行安全扫描，已拒绝上传。")
    if signature == scanning.EXECUTABLE_SIGNATURE:
        return _("出于安全考虑，不允许上传可执行程序（包括压缩包内的）。")
    return _("文件未通过安全扫描（检出 %(signature)s），已拒绝上传。") % {"signature": signature}


def _delete_blob(blob: str) -> None:
    """Delete a blob; a failure is logged, never raised over the error being handled."""
    try:
        default_storage.delete(blob)
    except Exception:
        logger.exception("files.blob.delete_failed", extra={"blob": blob})


def _sha256(file: IO[bytes]) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    while chunk := file.read(CHUNK_BYTES):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


class _Digesting:
    """A read-once view of a file that hashes and counts what passes, and stops the copy when
    more arrives than the limit (the size the browser sent is not taken on trust)."""

    def __init__(self, source: IO[bytes], limit: int) -> None:
        self.source = source
        self.limit = limit
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.size += len(data)
        if self.size > self.limit:
            raise DomainError(_("文件超过 %(limit)s 上限。") % {"limit": format_limit(self.limit)})
        self.digest.update(data)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # Storages rewind before they copy; that is all this view allows.
        if (offset, whence) != (0, io.SEEK_SET) or self.size:
            raise io.UnsupportedOperation("read once")
        return 0

    def tell(self) -> int:
        return self.size


def _write(upload: UploadedFile[bytes], limit: int) -> tuple[str, int, str]:
    """Copy the upload to the storage under a path without user text; (path, size, sha256)."""
    now = clock.now()
    path = f"uploads/{now:%Y}/{now:%m}/{uuid.uuid4().hex}"
    upload.seek(0)
    reader = _Digesting(upload, limit)
    try:
        blob = default_storage.save(path, File(reader, name=path))  # type: ignore[arg-type]
    except BaseException:
        _delete_blob(path)  # a partial copy
        raise
    return blob, reader.size, reader.digest.hexdigest()
