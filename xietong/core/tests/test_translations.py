"""Chinese is the source language; the English catalogues must translate every string."""

from __future__ import annotations

import ast
import re
import struct
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

MESSAGES = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
CATALOGUE = MESSAGES / "django.po"
JS_CATALOGUE = MESSAGES / "djangojs.po"
FRONTEND = Path(settings.PROJECT_ROOT) / "frontend" / "src"
# A string literal given to gettext in the frontend sources; the editor's wrapper is called `t`,
# which `makemessages -d djangojs` does not look for, so this test is what notices a new one.
JS_GETTEXT = re.compile(r"""\b(?:t|gettext)\(\s*(['"])((?:(?!\1).)+)\1\s*\)""")


def _entries(catalogue: Path) -> list[str]:
    return catalogue.read_text(encoding="utf-8").split("\n\n")[1:]  # the first block is the header


def _msgids(catalogue: Path) -> set[str]:
    msgids = set()
    for entry in _entries(catalogue):
        match = re.search(r'^msgid ((?:"(?:[^"\\]|\\.)*"\n?)+)', entry, re.MULTILINE)
        if match:
            msgids.add(ast.literal_eval('"' + "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', match[1])) + '"'))
    return msgids


def _compiled_msgids(catalogue: Path) -> set[str]:
    """The msgids in the .mo beside the catalogue (GNU format: a table of lengths and offsets)."""
    data = catalogue.with_suffix(".mo").read_bytes()
    order = "<" if struct.unpack("<I", data[:4])[0] == 0x950412DE else ">"
    count, originals = struct.unpack(order + "2I", data[8:16])
    msgids = set()
    for index in range(count):
        length, offset = struct.unpack_from(order + "2I", data, originals + 8 * index)
        # "context\x04msgid", then "\0msgid_plural" for a plural entry
        msgids.add(data[offset : offset + length].decode().split("\0")[0].split("\x04")[-1])
    return msgids - {""}


@pytest.mark.parametrize("catalogue", [CATALOGUE, JS_CATALOGUE], ids=lambda path: path.name)
def test_english_catalogue_is_complete(catalogue: Path) -> None:
    entries = _entries(catalogue)
    untranslated = [
        e for e in entries if re.search(r'^msgstr(\[\d\])? ""\n?\Z', e.strip() + "\n", re.MULTILINE)
    ]
    fuzzy = [e for e in entries if "#, fuzzy" in e]
    assert entries
    assert not untranslated, untranslated[:5]
    assert not fuzzy, fuzzy[:5]
    assert _compiled_msgids(catalogue) == _msgids(catalogue), "run compilemessages"


def test_english_catalogue_is_compiled() -> None:
    with translation.override("en"):
        assert translation.gettext("我的待办") == "My to-dos"  # the compiled .mo is current


def test_every_frontend_string_is_in_the_javascript_catalogue() -> None:
    used = {
        match[2]
        for source in sorted(FRONTEND.glob("*.js"))
        for match in JS_GETTEXT.finditer(source.read_text(encoding="utf-8"))
    }
    assert "加粗" in used  # the editor's toolbar
    missing = used - _msgids(JS_CATALOGUE)
    assert not missing, f"add to djangojs.po (see docs/development.md, Translations): {sorted(missing)}"


def test_javascript_catalogue_serves_english_after_the_switch(user_client: Client) -> None:
    # The locale middleware leaves the request's language active in this thread: restore it after.
    with translation.override(settings.LANGUAGE_CODE):
        assert "Bold" not in user_client.get(reverse("javascript-catalog")).content.decode()
        user_client.post(reverse("set_language"), {"language": "en", "next": "/"})
        script = user_client.get(reverse("javascript-catalog")).content.decode()
    assert '"Bold"' in script
    assert '"Image inserted."' in script
