"""Text cut into plain and matched pieces, for pages that show where the words were found.
The template escapes each piece; nothing here produces HTML."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ELLIPSIS = "…"


@dataclass
class Segment:
    text: str
    #: The words matched in this piece (overlapping matches join into one piece).
    words: list[str] = field(default_factory=list)
    #: "block" when any of them blocks, else "hold"; "" for plain text.
    action: str = ""

    @property
    def title(self) -> str:
        return "、".join(self.words)


def _spans(hits: Iterable[Mapping[str, Any]], length: int) -> list[tuple[int, int, Segment]]:
    merged: list[tuple[int, int, Segment]] = []
    for hit in sorted(hits, key=lambda h: (int(h["start"]), int(h["end"]))):
        start, end = max(0, int(hit["start"])), min(length, int(hit["end"]))
        if start >= end:
            continue
        word, action = str(hit["word"]), str(hit["action"])
        if merged and start < merged[-1][1]:
            first, last, segment = merged[-1]
            merged[-1] = (first, max(last, end), segment)
        else:
            segment = Segment("", [], "")
            merged.append((start, end, segment))
        if word not in segment.words:
            segment.words.append(word)
        if action == "block" or not segment.action:
            segment.action = action
    return merged


def segments(text: str, hits: Iterable[Mapping[str, Any]], *, context: int | None = None) -> list[Segment]:
    """``text`` as plain and matched pieces. With ``context``, only that many characters are
    kept around each match and the rest is elided (for long texts in the review queue)."""
    pieces: list[Segment] = []
    position = 0
    for start, end, segment in _spans(hits, len(text)):
        before = text[position:start]
        if context is not None and len(before) > 2 * context:
            head = before[:context] if position else ""
            before = f"{head}{ELLIPSIS}{before[-context:]}" if head else f"{ELLIPSIS}{before[-context:]}"
        if before:
            pieces.append(Segment(before))
        segment.text = text[start:end]
        pieces.append(segment)
        position = end
    rest = text[position:]
    if context is not None and len(rest) > context:
        rest = rest[:context] + ELLIPSIS
    if rest:
        pieces.append(Segment(rest))
    return pieces


def field_segments(
    fields: Mapping[str, str], hits: Iterable[Mapping[str, Any]], *, context: int | None = None
) -> list[tuple[str, list[Segment]]]:
    """Per field (in the order given), its pieces."""
    by_field: dict[str, list[Mapping[str, Any]]] = {}
    for hit in hits:
        by_field.setdefault(str(hit.get("field", "")), []).append(hit)
    return [(name, segments(text, by_field.get(name, []), context=context)) for name, text in fields.items()]
