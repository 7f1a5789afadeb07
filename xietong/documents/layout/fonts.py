"""Font discovery for the 公文 PDF layout.

9704 §3 names generic faces (小标宋体, 仿宋体, 黑体, 楷体); offices use 方正小标宋简体, 仿宋_GB2312,
楷体_GB2312 and 黑体, which are licensed and cannot ship with the platform. reportlab embeds
TrueType outlines only (not the CFF-based Noto CJK fonts), so each role is looked up in order:

1. the licensed faces an administrator copies into ``settings.XIETONG_DOCUMENT_FONTS_DIR``
   (then the system font directories, where a desktop install may already have them);
2. the free TrueType faces of the Debian packages ``fonts-arphic-uming`` (AR PL UMing, a 宋 face:
   stands in for 小标宋 and 仿宋), ``fonts-arphic-ukai`` (AR PL UKai, 楷) and
   ``fonts-wqy-zenhei`` (WenQuanYi Zen Hei, 黑);
3. reportlab's built-in CID font ``STSong-Light`` (not embedded: the reader's viewer supplies it).

``resolved_fonts()`` says which face each role got, for the settings page and the logs.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFError, TTFont  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

XIAOBIAOSONG = "xiaobiaosong"  # 发文机关标志, 标题
FANGSONG = "fangsong"  # 正文 and everything not named otherwise (9704 §3)
HEITI = "heiti"  # 密级, 紧急程度, first-level headings
KAITI = "kaiti"  # 签发人 names, second-level headings
SONG = "song"  # 页码 (9704 §7.5: 4号半角宋体)
ROLES = (XIAOBIAOSONG, FANGSONG, HEITI, KAITI, SONG)

#: The name a DOCX asks the reader's machine for, per role (practice, domain-standards §1.3).
DOCX_FACES = {
    XIAOBIAOSONG: "方正小标宋简体",
    FANGSONG: "仿宋_GB2312",
    HEITI: "黑体",
    KAITI: "楷体_GB2312",
    SONG: "宋体",
}

CID_FALLBACK = "STSong-Light"

#: Licensed faces by file name (without extension, compared ignoring case, spaces, ``_`` and ``-``).
_LICENSED: dict[str, tuple[str, ...]] = {
    XIAOBIAOSONG: (
        "方正小标宋简体",
        "方正小标宋_GBK",
        "FZXiaoBiaoSong-B05S",
        "FZXBSJW",
        "FZXBSK",
        "FZXiaoBiaoSong",
    ),
    FANGSONG: ("仿宋_GB2312", "FangSong_GB2312", "仿宋", "FangSong", "simfang", "方正仿宋简体", "FZFSJW"),
    HEITI: ("黑体", "SimHei", "simhei", "方正黑体简体", "FZHTJW"),
    KAITI: ("楷体_GB2312", "KaiTi_GB2312", "楷体", "KaiTi", "simkai", "方正楷体简体", "FZKTJW"),
    SONG: ("宋体", "SimSun", "simsun", "方正书宋简体", "FZSSJW"),
}

_UMING = ("AR PL UMing CN", ("/usr/share/fonts/truetype/arphic/uming.ttc",), 0)
_UKAI = ("AR PL UKai CN", ("/usr/share/fonts/truetype/arphic/ukai.ttc",), 0)
_ZENHEI = ("WenQuanYi Zen Hei", ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",), 0)

#: The free faces per role, best first (a 宋 face is the nearest free stand-in for 小标宋 and 仿宋).
_FREE: dict[str, tuple[tuple[str, tuple[str, ...], int], ...]] = {
    XIAOBIAOSONG: (_UMING, _ZENHEI),
    FANGSONG: (_UMING, _UKAI),
    HEITI: (_ZENHEI, _UMING),
    KAITI: (_UKAI, _UMING),
    SONG: (_UMING, _UKAI),
}

_SYSTEM_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"))
_FONT_SUFFIXES = (".ttf", ".ttc")


@dataclass(frozen=True)
class ResolvedFont:
    role: str
    #: The name registered with reportlab (what the canvas sets).
    name: str
    #: The face as a person reads it, e.g. ``仿宋_GB2312`` or ``AR PL UMing CN``.
    face: str
    path: str
    embedded: bool
    #: ``licensed`` (standard face), ``free`` (Debian package) or ``builtin`` (CID, not embedded).
    source: str


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).casefold()


def _font_files(directory: str | os.PathLike[str]) -> list[Path]:
    root = Path(directory)
    if not root.is_dir():
        return []
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.lower().endswith(_FONT_SUFFIXES):
                found.append(Path(dirpath) / name)
    return sorted(found)


def _register(name: str, path: str, subfont: int) -> bool:
    if name in pdfmetrics.getRegisteredFontNames():
        return True
    try:
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=subfont))
    except (TTFError, OSError, ValueError, KeyError, IndexError) as exc:
        # A CFF-flavoured or damaged file: reportlab cannot embed it, try the next face.
        logger.info("公文字体 %s 无法使用：%s", path, exc)
        return False
    return True


def _licensed(role: str, indexes: list[dict[str, Path]]) -> ResolvedFont | None:
    wanted = [_key(n) for n in _LICENSED[role]]
    for files in indexes:
        for want, label in zip(wanted, _LICENSED[role], strict=True):
            path = files.get(want)
            if path is None:
                continue
            name = f"xt-{role}-{_key(path.stem)}"
            if _register(name, str(path), 0):
                return ResolvedFont(role, name, label, str(path), True, "licensed")
    return None


def _free(role: str) -> ResolvedFont | None:
    for face, paths, subfont in _FREE[role]:
        for path in paths:
            if Path(path).is_file():
                name = f"xt-{_key(face)}"
                if _register(name, path, subfont):
                    return ResolvedFont(role, name, face, path, True, "free")
    return None


def _builtin(role: str) -> ResolvedFont:
    if CID_FALLBACK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
    return ResolvedFont(role, CID_FALLBACK, CID_FALLBACK, "", False, "builtin")


@lru_cache(maxsize=4)
def _resolve(fonts_dir: str) -> dict[str, ResolvedFont]:
    directories = (fonts_dir, *_SYSTEM_DIRS) if fonts_dir else _SYSTEM_DIRS
    indexes = [{_key(p.stem): p for p in _font_files(d)} for d in directories]
    resolved = {}
    for role in ROLES:
        resolved[role] = _licensed(role, indexes) or _free(role) or _builtin(role)
    return resolved


def fonts_dir() -> str:
    return str(getattr(settings, "XIETONG_DOCUMENT_FONTS_DIR", "") or "")


def resolved_fonts() -> dict[str, ResolvedFont]:
    """The face every role resolved to (registered with reportlab), e.g. for the settings page."""
    return _resolve(fonts_dir())


def font_name(role: str) -> str:
    return resolved_fonts()[role].name


def reset_cache() -> None:
    """Look again, e.g. after an administrator copied fonts into the fonts directory."""
    _resolve.cache_clear()
    _glyphs.cache_clear()


@lru_cache(maxsize=16)
def _glyphs(name: str) -> frozenset[int] | None:
    font = pdfmetrics.getFont(name)
    face = getattr(font, "face", None)
    mapping = getattr(face, "charToGlyph", None)
    return frozenset(mapping) if isinstance(mapping, dict) else None


def has_glyph(name: str, char: str) -> bool:
    glyphs = _glyphs(name)
    return glyphs is None or ord(char) in glyphs


def font_for(name: str, char: str) -> str:
    """``name`` if its face has ``char``, else the first resolved face that does.

    The GB2312 faces lack many rarer characters (e.g. 镕); a name must still print."""
    if has_glyph(name, char):
        return name
    for resolved in resolved_fonts().values():
        if has_glyph(resolved.name, char):
            return resolved.name
    free = _free(SONG) or _free(HEITI)
    if free is not None and has_glyph(free.name, char):
        return free.name
    return name
