"""Sensitive-word matching: fold the text the way the lexicon is folded, then run one
Aho–Corasick automaton (pyahocorasick) over it. Pure Python and C, no database: the lexicon
in force is compiled and cached by ``xietong.moderation.lexicon``.

**Folding.** Every character folds on its own, without looking at its neighbours:

- *fillers* vanish — whitespace, punctuation, symbols, control and format characters
  (zero-width spaces and joiners, BOM), private-use and unassigned code points, and
  combining marks — so "法 轮 功", "法-轮-功", "法\u200b轮功" and "法̶轮̶功" all read 法轮功;
- compatibility forms become their plain letters (NFKD): full-width ＡＢＣ → ABC, ① → 1,
  compatibility ideographs → the unified ones;
- case folds (``str.casefold``): ABC → abc;
- accents go with the combining marks, so é reads e whether it was typed precomposed or as
  e + U+0301.

Folding per character (rather than NFKC over the whole text, which composes across
characters) keeps the result independent of what was removed between two letters, and lets
a position in the folded text be mapped back to the original so that the matched words can
be shown where the author wrote them. Lexicon words are folded the same way, so a word
entered as "ＳＢ" or "法 轮 功" is stored as "sb" and "法轮功".

Two rules keep false positives down: each field is matched on its own (a title's end and a
body's start never join into a word), and a word that begins or ends with a Latin letter or
digit matches only where the original text has no letter or digit right beside it — "sb" is
found in "你是 s.b." but not in "usb" (Chinese words match anywhere, as Chinese has no
spaces).

**Speed.** pyahocorasick keeps each node's children in an array searched linearly; a
Chinese lexicon gives the root thousands of children, and plain matching of a megabyte took
well over the 50 ms budget (see ``bench/moderation.py``). So each character that begins a
lexicon word is spelt as two symbols of a private alphabet of about √K letters (K = such
characters), which keeps the root and every node below it small. A lexicon character that
begins no word stays one symbol of its own (it is never looked up at the root, and every
symbol fewer is a step fewer for the automaton); ASCII letters and digits stay themselves,
and characters that occur in no word become one "no match" symbol. The first symbol of a
two-symbol character is never any other symbol, so a word can only match at a character
boundary. Folding and spelling are one ``str.translate`` with a per-lexicon table — a list
indexed by code point for the BMP (a dict lookup per character costs twice as much), a
memoising dict for texts with astral characters. Hits are mapped back by re-reading only
the block of text around them.
"""

from __future__ import annotations

import bisect
import itertools
import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import ahocorasick

Action = Literal["block", "hold"]
BLOCK: Final = "block"
HOLD: Final = "hold"

#: Unicode general categories (first letter) that are fillers: separators, punctuation,
#: symbols, control/format/private/unassigned, marks.
FILLER_CATEGORIES = frozenset("ZPSCM")

#: Hits kept per field; further hits are scanned only for words not seen yet, so the
#: verdict and the list of words stay complete while a flood of one word stays cheap.
MAX_HITS = 200

#: Characters per translate call: hits are mapped back by re-reading only their block (the
#: calls themselves cost next to nothing, the re-reading grows with the block).
BLOCK_SIZE = 64

#: A table stops memoising beyond this many characters (a text of every code point must
#: not grow it without bound); characters past the limit are folded on each use.
TABLE_LIMIT = 200_000

_NO_MATCH = "\x01"  # a control character: folding removes every one, so no word holds it
_SINGLE = 0x0100  # the one symbol of a character that begins no word (past ASCII)
_HIGH = 0xE000  # first symbol of a two-symbol spelling
_LOW = 0xF000  # second symbol


def _is_filler(char: str) -> bool:
    return unicodedata.category(char)[0] in FILLER_CATEGORIES


def fold_char(char: str) -> str:
    """One character, folded: "" for a filler, else one or (rarely) more characters."""
    if _is_filler(char):
        return ""
    # NFKD again after casefold: folding the case can yield a composed or compatibility
    # character (e.g. "ǅ"), which must decompose like any other.
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    return "".join(c for c in folded if not _is_filler(c))


class _Table(dict[int, str]):
    """A ``str.translate`` table that computes and remembers each character's mapping on
    first use."""

    def __init__(self, mapping: Any) -> None:
        super().__init__()
        self._mapping = mapping

    def __missing__(self, code: int) -> str:
        value: str = self._mapping(chr(code))
        if len(self) < TABLE_LIMIT:
            self[code] = value
        return value


_FOLD = _Table(fold_char)


@dataclass(frozen=True)
class _Plane:
    """The Basic Multilingual Plane folded once per process (about 0.1 s), when the first
    lexicon is compiled: what each lexicon's spelling table starts from."""

    folded: list[str]  # code point → its folding
    plain: list[str]  # code point → its spelling when no lexicon character is involved
    within: dict[str, list[int]]  # character → code points that fold to several, this one among them


_plane: _Plane | None = None


def _bmp() -> _Plane:
    global _plane
    if _plane is None:
        folded = [fold_char(chr(code)) for code in range(0x10000)]
        within: dict[str, list[int]] = {}
        for code, text in enumerate(folded):
            if len(text) > 1:
                for char in set(text):
                    within.setdefault(char, []).append(code)
        plain = ["".join(c if c.isascii() else _NO_MATCH for c in text) for text in folded]
        _plane = _Plane(folded, plain, within)
    return _plane


def normalize(text: str) -> str:
    """The folded text: what the lexicon is matched against."""
    return text.translate(_FOLD)


def _is_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


@dataclass(frozen=True)
class Entry:
    """One lexicon word."""

    word: str
    category: str
    action: str


@dataclass(frozen=True)
class Hit:
    """One occurrence of a lexicon word. ``start``/``end`` index the original text of the
    field, so ``text`` is what the author wrote (spaces and symbols included)."""

    field: str
    word: str
    category: str
    action: str
    start: int
    end: int
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "word": self.word,
            "category": self.category,
            "action": self.action,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


@dataclass(frozen=True)
class _Payload:
    entry: Entry
    length: int  # in symbols
    latin_start: bool
    latin_end: bool


@dataclass
class _Spelling:
    """The spelt text of one field, in blocks, with what is needed to map a symbol offset
    back to a character of the original text."""

    original: str
    table: Any  # the BMP list or the dict table: both give a character's spelling by its code
    spelt: str = ""
    block_starts: list[int] = field(default_factory=list)  # symbol offset of each block
    _offsets: dict[int, list[int]] = field(default_factory=dict)  # block → symbol offset per char

    def _char_offsets(self, block: int) -> list[int]:
        offsets = self._offsets.get(block)
        if offsets is None:
            chunk = self.original[block * BLOCK_SIZE : (block + 1) * BLOCK_SIZE]
            # The symbol offset where each character's spelling starts, summed in C.
            lengths = map(len, map(self.table.__getitem__, map(ord, chunk)))
            offsets = list(itertools.accumulate(lengths, initial=self.block_starts[block]))
            offsets.pop()  # the end of the block
            self._offsets[block] = offsets
        return offsets

    def char_at(self, symbol: int) -> int:
        """The index of the original character whose spelling holds symbol ``symbol``.

        Fillers spell as nothing, so several characters can start at one offset; the last
        of them is the one that holds the symbol."""
        block = bisect.bisect_right(self.block_starts, symbol) - 1
        offsets = self._char_offsets(block)
        return block * BLOCK_SIZE + bisect.bisect_right(offsets, symbol) - 1


class Matcher:
    """A compiled lexicon. Immutable once built; safe to share between threads."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        keyed: dict[str, Entry] = {}
        for entry in entries:
            key = normalize(entry.word)
            if key and key not in keyed:  # the database keeps keys unique; first one wins
                keyed[key] = entry
        self.size = len(keyed)
        starters = sorted({key[0] for key in keyed if not key[0].isascii()})
        inner = sorted({char for key in keyed for char in key if not char.isascii()} - set(starters))
        base = max(1, math.isqrt(max(len(starters) - 1, 0)) + 1)
        if base >= _LOW - _HIGH or _SINGLE + len(inner) >= _HIGH:
            raise ValueError("lexicon alphabet too large to spell")
        self._codes = {
            char: chr(_HIGH + index // base) + chr(_LOW + index % base) for index, char in enumerate(starters)
        }
        self._codes.update((char, chr(_SINGLE + index)) for index, char in enumerate(inner))
        self._table = _Table(self._spell_char)
        self._bmp: list[str] = []
        self._automaton: Any = None
        if keyed:
            # A list indexed by code point translates about twice as fast as a dict (no
            # hashing); it covers the BMP, where almost every text lives, and the dict the rest.
            plane = _bmp()
            self._bmp = list(map(self._codes.get, plane.folded, plane.plain))
            for char in self._codes:  # "㍿" → 株式会社 holds lexicon characters: spell it again
                for code in plane.within.get(char, ()):
                    self._bmp[code] = self._spell_folded(plane.folded[code])
            automaton = ahocorasick.Automaton()
            for key, entry in keyed.items():
                spelt = self._spell_folded(key)
                automaton.add_word(
                    spelt, _Payload(entry, len(spelt), _is_word_char(key[0]), _is_word_char(key[-1]))
                )
            automaton.make_automaton()
            self._automaton = automaton

    def _spell_folded(self, folded: str) -> str:
        codes = self._codes
        return "".join(c if c.isascii() else codes.get(c, _NO_MATCH) for c in folded)

    def _spell_char(self, char: str) -> str:
        return self._spell_folded(fold_char(char))

    def _spell(self, text: str) -> _Spelling:
        # str.translate copies a character it cannot look up: astral ones need the dict. (A
        # text holds one when its UTF-16 form is longer than two bytes a character: the
        # encoding runs in C, several times faster than a regular expression's search.)
        astral = len(text.encode("utf-16-le", "surrogatepass")) != 2 * len(text)
        table = self._table if astral else self._bmp
        spelling = _Spelling(text, table)
        pieces = []
        offset = 0
        for start in range(0, len(text), BLOCK_SIZE):
            spelling.block_starts.append(offset)
            piece = text[start : start + BLOCK_SIZE].translate(table)
            pieces.append(piece)
            offset += len(piece)
        spelling.spelt = "".join(pieces)
        return spelling

    def find(self, text: str, *, field: str = "", limit: int = MAX_HITS) -> list[Hit]:
        """The lexicon words in ``text``, in order of position (overlapping words included)."""
        if self._automaton is None or not text:
            return []
        spelling = self._spell(text)
        hits: list[Hit] = []
        seen: set[str] = set()
        for last, payload in self._automaton.iter(spelling.spelt):
            entry = payload.entry
            if len(hits) >= limit and entry.word in seen:
                continue
            start = spelling.char_at(last - payload.length + 1)
            end = spelling.char_at(last) + 1
            if payload.latin_start and start > 0 and _ends_in_word_char(text[start - 1]):
                continue
            if payload.latin_end and end < len(text) and _starts_with_word_char(text[end]):
                continue
            seen.add(entry.word)
            hits.append(Hit(field, entry.word, entry.category, entry.action, start, end, text[start:end]))
        hits.sort(key=lambda hit: (hit.start, hit.end))
        return hits


def _ends_in_word_char(char: str) -> bool:
    folded = fold_char(char)
    return bool(folded) and _is_word_char(folded[-1])


def _starts_with_word_char(char: str) -> bool:
    folded = fold_char(char)
    return bool(folded) and _is_word_char(folded[0])
