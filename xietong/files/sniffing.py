"""What an upload really is, read from its first bytes (and, for ZIP packages, from the names
inside) — never from the browser's content type or the file name.

``sniff(file)`` answers a ``Kind``: a known office, image or archive type with the extensions
that may carry it and the content type it is stored and served with; or one of the special
kinds ``EXECUTABLE`` and ``MARKUP`` (refused), ``TEXT`` and ``BINARY`` (anything else).
"""

from __future__ import annotations

import codecs
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

HEAD_BYTES = 8192


@dataclass(frozen=True, eq=False)  # each kind is one object, compared by identity
class Kind:
    code: str
    label: str | Promise
    #: extension → content type; the first is the default. Empty for the open kinds.
    types: Mapping[str, str] = field(default_factory=dict)
    #: Open kinds (plain text, an unknown binary, a plain ZIP, an OLE file) also take any
    #: extension that no closed kind claims: a ``.log`` is text, a ``.dwg`` some binary.
    open: bool = False
    #: The content type under an extension not in ``types`` (the first of ``types`` if empty).
    fallback_type: str = ""

    def content_type(self, extension: str) -> str:
        return self.types.get(extension) or self.fallback_type or next(iter(self.types.values()))


PDF = Kind("pdf", _("PDF 文档"), {"pdf": "application/pdf"})
PNG = Kind("png", _("PNG 图片"), {"png": "image/png"})
JPEG = Kind("jpeg", _("JPEG 图片"), {"jpg": "image/jpeg", "jpeg": "image/jpeg", "jpe": "image/jpeg"})
GIF = Kind("gif", _("GIF 图片"), {"gif": "image/gif"})
WEBP = Kind("webp", _("WebP 图片"), {"webp": "image/webp"})
DOCX = Kind(
    "docx",
    _("Word 文档"),
    {
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docm": "application/vnd.ms-word.document.macroEnabled.12",
        "dotx": "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
    },
)
XLSX = Kind(
    "xlsx",
    _("Excel 表格"),
    {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
        "xltx": "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
    },
)
PPTX = Kind(
    "pptx",
    _("PowerPoint 演示文稿"),
    {
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pptm": "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
        "ppsx": "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
        "potx": "application/vnd.openxmlformats-officedocument.presentationml.template",
    },
)
ODF = Kind(
    "odf",
    _("OpenDocument 文档"),
    {
        "odt": "application/vnd.oasis.opendocument.text",
        "ods": "application/vnd.oasis.opendocument.spreadsheet",
        "odp": "application/vnd.oasis.opendocument.presentation",
    },
)
#: 版式文档 (GB/T 33190), the format of Chinese e-invoices and official documents: a ZIP with OFD.xml.
OFD = Kind("ofd", _("OFD 版式文档"), {"ofd": "application/ofd"})
ZIP = Kind("zip", _("ZIP 压缩包"), {"zip": "application/zip"}, open=True, fallback_type="application/zip")
#: Compound File Binary: Word 97–2003, Excel, PowerPoint and WPS files, Outlook messages, Visio.
OLE = Kind(
    "ole",
    _("Office 97–2003 文档"),
    {
        "doc": "application/msword",
        "dot": "application/msword",
        "xls": "application/vnd.ms-excel",
        "ppt": "application/vnd.ms-powerpoint",
        "pps": "application/vnd.ms-powerpoint",
        "wps": "application/vnd.ms-works",
        "et": "application/vnd.ms-excel",
        "dps": "application/vnd.ms-powerpoint",
        "msg": "application/vnd.ms-outlook",
        "vsd": "application/vnd.visio",
    },
    open=True,
    fallback_type="application/octet-stream",
)
RAR = Kind("rar", _("RAR 压缩包"), {"rar": "application/vnd.rar"})
SEVEN_ZIP = Kind("7z", _("7z 压缩包"), {"7z": "application/x-7z-compressed"})
#: Text is stored as text/plain (text/csv for .csv) whatever its extension: never as HTML or XML.
TEXT = Kind(
    "text", _("文本文件"), {"txt": "text/plain", "csv": "text/csv"}, open=True, fallback_type="text/plain"
)
BINARY = Kind("binary", _("二进制文件"), open=True, fallback_type="application/octet-stream")
EXECUTABLE = Kind("executable", _("可执行程序"), fallback_type="application/octet-stream")
MARKUP = Kind("markup", _("网页或 SVG 文件"), fallback_type="application/octet-stream")

RASTER_IMAGES = (PNG, JPEG, GIF, WEBP)
KINDS = (PDF, PNG, JPEG, GIF, WEBP, DOCX, XLSX, PPTX, ODF, OFD, ZIP, OLE, RAR, SEVEN_ZIP, TEXT)
#: Extensions that name a kind: a file named so must be that kind.
CLAIMED = {ext: kind for kind in KINDS for ext in kind.types}

#: Programs, scripts, installers, shortcuts and web pages: refused by name whatever they hold.
DANGEROUS_EXTENSIONS = frozenset(
    """
    exe dll sys drv ocx cpl scr com pif bat cmd msi msp mst ps1 psm1 psd1 vbs vbe js jse wsf wsh
    hta jar class lnk url reg inf sct chm gadget appx msix apk ipa app dmg pkg deb rpm run bin elf
    sh bash zsh csh ksh command php phtml asp aspx jsp jspx cgi pl
    html htm xhtml xht shtml mht mhtml svg svgz
    """.split()  # noqa: SIM905 - a list of words reads better as words
)

# Executable headers: Windows PE / DOS, ELF, Mach-O (32/64-bit, both byte orders, universal).
EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
MAGIC: tuple[tuple[bytes, Kind], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OLE),
    (b"Rar!\x1a\x07", RAR),
    (b"7z\xbc\xaf\x27\x1c", SEVEN_ZIP),
)
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# What browsers take for HTML (WHATWG MIME sniffing) or SVG, at the start of a text.
MARKUP_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)*(<!--.*?-->\s*)*<(!doctype\s+(html|svg)|html|head|body|script|iframe|svg)[\s>/]",
    re.IGNORECASE | re.DOTALL,
)
ODF_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": ODF,
    b"application/vnd.oasis.opendocument.spreadsheet": ODF,
    b"application/vnd.oasis.opendocument.presentation": ODF,
}


class UnreadableFileError(Exception):
    """The header promises a ZIP package that cannot be opened."""


def extension(name: str) -> str:
    """The lower-case extension without the dot; ``""`` when there is none."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def is_executable(head: bytes) -> bool:
    if head.startswith(b"MZ"):
        return not _is_text(head)  # "MZ" also starts texts, such as a CSV of product codes
    return head.startswith(EXECUTABLE_MAGIC)


def sniff(file: IO[bytes]) -> Kind:
    """The kind of ``file`` (seekable; read from the start, left at the start)."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    if is_executable(head):
        return EXECUTABLE
    if head.startswith(ZIP_MAGIC):
        return _zip_kind(file, head)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    if _is_text(head):
        return MARKUP if MARKUP_START.match(_ascii_view(head)) else TEXT
    return BINARY


def _zip_kind(file: IO[bytes], head: bytes) -> Kind:
    # An OpenDocument package starts with an uncompressed member "mimetype" naming its type.
    if head[30:38] == b"mimetype":
        for mimetype, kind in ODF_MIMETYPES.items():
            if head[38:].startswith(mimetype):
                return kind
    try:
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise UnreadableFileError(str(exc)) from exc
    finally:
        file.seek(0)
    if "OFD.xml" in names:
        return OFD
    if "[Content_Types].xml" in names:
        folders = {name.split("/", 1)[0] for name in names}
        for folder, kind in (("word", DOCX), ("xl", XLSX), ("ppt", PPTX)):
            if folder in folders:
                return kind
    return ZIP


def _is_text(head: bytes) -> bool:
    """Plain text in UTF-8, UTF-16 (with its BOM) or GB18030, without control characters."""
    if not head:
        return False
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)
    elif b"\x00" in head:
        return False
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        # The head may end inside a multi-byte character: decode incrementally, not final.
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return not any(ord(char) < 32 and char not in "\t\n\r\f\v\x1b" for char in text)
    return False


def _ascii_view(head: bytes) -> bytes:
    """The head as bytes that a regular expression can read, whatever the text encoding."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", "ignore").encode("utf-8", "ignore")
    return head.removeprefix(codecs.BOM_UTF8)
