"""The hash chain: the one canonical form of a record, its SHA-256, and the walk that checks
a run of records against it.

Each record hashes its own content together with the hash of the record before it, so
changing, removing or reordering any record breaks every link after it. Writing
(``services.record``), checking (``verify``) and the archive files all go through
``content_hash``; nothing else may serialise a record for hashing.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xietong.audit.models import Event

GENESIS = "0" * 64
# Bumped if the canonical form or the algorithm ever changes (e.g. to SM3), so old and new
# records remain distinguishable and verifiable.
FORMAT_VERSION = 1
HASHED_FIELDS = (
    "occurred_at",
    "actor_id",
    "actor_username",
    "actor_name",
    "ip",
    "user_agent",
    "request_id",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "result",
    "details",
)


def _normalise(value: Any) -> Any:
    # Databases give JSON numbers back in their own form: PostgreSQL's jsonb returns 1e16 as
    # the integer 10000000000000000, so a float that is a whole number hashes as an integer.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def hashed_content(event: Event) -> dict[str, Any]:
    """The fields of ``event`` that its hash covers, as plain JSON values."""
    content = {name: getattr(event, name) for name in HASHED_FIELDS}
    content["occurred_at"] = event.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return content


def content_hash(content: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 over the canonical JSON of ``content`` plus ``prev_hash``.

    Canonical: keys sorted, no whitespace, UTF-8, whole floats as integers.
    """
    payload = {**_normalise(content), "prev_hash": prev_hash, "v": FORMAT_VERSION}
    data = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def event_hash(event: Event) -> str:
    return content_hash(hashed_content(event), event.prev_hash)


def archive_line(event: Event) -> str:
    """One line of an archive file: everything needed to re-check the record offline."""
    line = {"id": event.pk, **hashed_content(event), "prev_hash": event.prev_hash, "hash": event.hash}
    return json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Break:
    """The first link that does not hold."""

    event_id: int | None
    reason: str  # "hash": content changed; "link": a record before it missing or changed; "head"
    expected: str
    found: str

    def describe(self) -> str:
        what = {
            "hash": "内容与哈希不符（记录被修改）",
            "link": "前一条哈希不符（之前的记录被删除、插入或修改）",
            "head": "链尾与链头不符（最新的记录被删除）",
            "file": "归档文件的校验值不符（文件被修改）",
        }.get(self.reason, self.reason)
        return f"记录 #{self.event_id}：{what}；期望 {self.expected}，实际 {self.found}"


@dataclass(frozen=True)
class Walk:
    count: int
    last_hash: str
    broken: Break | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def walk(events: Iterable[Event], *, prev_hash: str) -> Walk:
    """Check ``events`` (in chain order) link by link, starting after ``prev_hash``."""
    count = 0
    for event in events:
        if event.prev_hash != prev_hash:
            return Walk(count, prev_hash, Break(event.pk, "link", prev_hash, event.prev_hash))
        computed = event_hash(event)
        if computed != event.hash:
            return Walk(count, prev_hash, Break(event.pk, "hash", computed, event.hash))
        prev_hash = event.hash
        count += 1
    return Walk(count, prev_hash)


def verify() -> Walk:
    """Check the whole table: from the archive anchor (or the start) to the chain head."""
    from xietong.audit.models import Archive, ChainHead, Event

    anchor = Archive.objects.order_by("-last_event_id").first()
    # The head is read first: records appended while the walk runs lie beyond it and are
    # checked next time, instead of looking like a mismatch.
    head = ChainHead.objects.filter(pk=1).first()
    events = Event.objects.order_by("id")
    if head is not None and head.last_event_id is not None:
        events = events.filter(id__lte=head.last_event_id)
    result = walk(events.iterator(chunk_size=2000), prev_hash=anchor.last_hash if anchor else GENESIS)
    if result.ok and head is not None and head.last_hash != result.last_hash:
        return Walk(
            result.count,
            result.last_hash,
            Break(head.last_event_id, "head", head.last_hash, result.last_hash),
        )
    return result


def verify_archive_file(path: Path, *, prev_hash: str | None = None) -> Walk:
    """Check an archive file against its ``.sha256`` file and re-check the records in it.

    ``prev_hash`` is the hash the file's first record must follow; ``None`` accepts whatever
    the first record names (a file checked on its own, away from the database).
    """
    expected_sum = Path(f"{path}.sha256").read_text(encoding="utf-8").split()[0]
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 16), b""):
            digest.update(block)
    if digest.hexdigest() != expected_sum:
        return Walk(0, "", Break(None, "file", expected_sum, digest.hexdigest()))
    count = 0
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for text in lines:
            line = json.loads(text)
            event_id, stored, prev = line.pop("id"), line.pop("hash"), line.pop("prev_hash")
            if prev_hash is not None and prev != prev_hash:
                return Walk(count, prev_hash, Break(event_id, "link", prev_hash, prev))
            computed = content_hash(line, prev)
            if computed != stored:
                return Walk(count, prev, Break(event_id, "hash", computed, stored))
            prev_hash = stored
            count += 1
    return Walk(count, prev_hash or GENESIS)
