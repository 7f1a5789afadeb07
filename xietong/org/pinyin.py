"""Search keys for Chinese names: full pinyin and initials, so that '张伟' is found by
'zhangwei' and by 'zw' (the way people look each other up in a 通讯录).

Keys are stored beside the name (``OrgUnit.name_pinyin``, ``StaffProfile.name_pinyin`` …)
because a database cannot compute pinyin in a query. A person's surname may be read several
ways (曾 zēng/céng, 单 shàn/dān, 解 xiè/jiě); ``lazy_pinyin`` picks the common reading of the
character, not the surname's, so person keys also hold the other readings of the first
character, separated by a space: ``'cengguoqing zengguoqing'``.
"""

from __future__ import annotations

import re

from django.db.models import Q
from pypinyin import Style, lazy_pinyin, pinyin

KEY_MAX_LENGTH = 255
_NOT_KEY = re.compile(r"[^0-9a-z]")
_HAN = re.compile(r"[\u3400-\u9fff]")
_QUERY_STRIP = re.compile(r"[\s'’·\-_.]")
_QUERY_KEY = re.compile(r"^[0-9a-z]+$")
_SURNAME_READINGS = 3  # the rarer readings of a surname character beyond this are not surnames


def _compact(parts: list[str]) -> str:
    return _NOT_KEY.sub("", "".join(parts).lower())


def _join(variants: list[str]) -> str:
    unique = list(dict.fromkeys(v for v in variants if v))
    return " ".join(unique)[:KEY_MAX_LENGTH].strip()


def name_keys(name: str, *, surname_readings: bool = False) -> tuple[str, str]:
    """``(full pinyin, initials)`` of ``name``, lower-case ASCII; Latin letters and digits
    in the name are kept as they are. With ``surname_readings`` the other readings of a
    polyphonic first character are added as further variants."""
    full = lazy_pinyin(name)
    initials = lazy_pinyin(name, style=Style.FIRST_LETTER)
    full_variants = [_compact(full)]
    initial_variants = [_compact(initials)]
    if surname_readings and name and _HAN.match(name[0]) and full:
        # One item per Han character: the first item is the surname's character.
        for reading in pinyin(name[0], heteronym=True, style=Style.NORMAL)[0][:_SURNAME_READINGS]:
            full_variants.append(_compact([reading, *full[1:]]))
            initial_variants.append(_compact([reading[:1], *initials[1:]]))
    return _join(full_variants), _join(initial_variants)


def person_keys(name: str) -> tuple[str, str]:
    return name_keys(name, surname_readings=True)


def query_key(query: str) -> str:
    """The form of a typed query that can match pinyin keys: lower-case letters and digits
    with spaces and apostrophes removed ("Zhang Wei" → "zhangwei"); empty when the query
    contains anything else (Chinese is matched against the name itself)."""
    key = _QUERY_STRIP.sub("", query.strip().lower())
    return key if _QUERY_KEY.match(key) else ""


def matches(prefix: str, key: str) -> Q:
    """A condition true where the pinyin fields under ``prefix`` (``""`` or ``"staff__"``)
    match ``key``: anywhere in the full pinyin ("wei" finds 张伟), at the start of a variant
    of the initials ("zw" finds 张伟, "zgq" finds 曾国庆)."""
    if not key:
        return Q(pk__in=[])
    return (
        Q(**{f"{prefix}name_pinyin__contains": key})
        | Q(**{f"{prefix}name_initials__startswith": key})
        | Q(**{f"{prefix}name_initials__contains": f" {key}"})
    )
