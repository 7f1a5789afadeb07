"""Chinese is the source language; the English catalogue must translate every string."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.utils import translation

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_english_catalogue_is_complete_and_compiled() -> None:
    entries = CATALOGUE.read_text(encoding="utf-8").split("\n\n")[1:]  # the first block is the header
    untranslated = [e for e in entries if re.search(r'^msgstr ""\n?\Z', e.strip() + "\n", re.MULTILINE)]
    fuzzy = [e for e in entries if "#, fuzzy" in e]
    assert not untranslated, untranslated[:5]
    assert not fuzzy, fuzzy[:5]
    with translation.override("en"):
        assert translation.gettext("我的待办") == "My to-dos"  # the compiled .mo is current
