"""Writes to the audit trail: ``record`` for every app, the export, and the retention job."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils.translation import gettext as _

from xietong.audit import actions, chain, exports, selectors
from xietong.audit.models import Archive, ChainHead, Event
from xietong.audit.permissions import can_export_audit
from xietong.core import clock, http
from xietong.core.errors import DomainError, PermissionDeniedError

logger = logging.getLogger(__name__)

ACTION_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MIN_RETENTION_DAYS = 180  # 网络安全法 第二十一条: network logs are kept at least six months
ARCHIVE_FOLDER = "audit-archive"


@dataclass(frozen=True)
class Target:
    """An object that is not a model row (or should be named differently than ``str(row)``)."""

    type: str
    id: str | int
    label: str = ""


def _text(value: Any, limit: int) -> str:
    # PostgreSQL refuses NUL and unpaired surrogates; a hostile user agent must not be able
    # to make the audit write, and with it the audited action, fail.
    text = str(value or "").replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")[:limit]


def _json_safe(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value, len(value))
    if isinstance(value, dict):
        return {_text(k, len(k)): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _details(details: dict[str, Any] | None) -> dict[str, Any]:
    """Plain JSON, exactly as the database will give it back, so the hash survives the trip."""
    plain = json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder, allow_nan=False))
    safe: dict[str, Any] = _json_safe(plain)
    return safe


def _target_fields(target: models.Model | Target | None) -> dict[str, str]:
    if target is None:
        return {"target_type": "", "target_id": "", "target_label": ""}
    if isinstance(target, Target):
        kind, key, label = target.type, str(target.id), target.label
    else:
        kind, key, label = target._meta.label_lower, str(target.pk), str(target)
    return {"target_type": _text(kind, 100), "target_id": _text(key, 64), "target_label": _text(label, 255)}


def _actor_fields(actor: AbstractBaseUser | AnonymousUser | None) -> dict[str, Any]:
    if actor is None or not actor.is_authenticated:
        return {"actor_id": None, "actor_username": "", "actor_name": ""}
    return {
        "actor_id": actor.pk,
        "actor_username": _text(actor.get_username(), 64),
        "actor_name": _text(getattr(actor, "name", ""), 64),
    }


def _chain_end() -> tuple[str, int | None]:
    """Where the chain ends when no head row exists yet: the newest record, the archive anchor,
    or the start."""
    last = Event.objects.order_by("-id").values_list("hash", "id").first()
    if last is not None:
        return last[0], last[1]
    anchor = Archive.objects.order_by("-last_event_id").values_list("last_hash", "last_event_id").first()
    if anchor is not None:
        return anchor[0], anchor[1]
    return chain.GENESIS, None


def _lock_head() -> ChainHead:
    """The chain head, locked until the surrounding transaction ends.

    The lock puts appends in one line on PostgreSQL and MySQL; on SQLite the IMMEDIATE
    transactions of the settings already let one writer at a time in.
    """
    head = ChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        last_hash, last_id = _chain_end()
        head, _created = ChainHead.objects.select_for_update().get_or_create(
            pk=1, defaults={"last_hash": last_hash, "last_event_id": last_id}
        )
    return head


def record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    target: models.Model | Target | None = None,
    result: str = Event.Result.SUCCESS,
    request: HttpRequest | None = None,
    details: dict[str, Any] | None = None,
) -> Event:
    """Append one record: who (``actor``, None for anonymous or the system), what (``action``,
    a dotted code such as ``identity.login.succeeded``), on what (``target``), with which
    ``result``, from where (``request``), and anything else worth keeping (``details``).

    Call it inside the transaction of the action it records, so that either both are kept
    or neither; and late in it, because the chain head stays locked until the commit.
    """
    if not ACTION_CODE.match(action) or len(action) > 100:
        raise ValueError(f"审计操作代码无效：{action!r}（应为小写的点分代码，如 identity.login.succeeded）")
    if result not in Event.Result.values:
        raise ValueError(f"审计结果无效：{result!r}")
    fields: dict[str, Any] = {
        **_actor_fields(actor),
        **_target_fields(target),
        "action": action,
        "result": result,
        "details": _details(details),
        "ip": None,
        "user_agent": "",
        "request_id": "",
    }
    if request is not None:
        fields["ip"] = http.client_ip(request)
        fields["user_agent"] = _text(request.META.get("HTTP_USER_AGENT"), 512)
        fields["request_id"] = _text(getattr(request, "request_id", ""), 64)
    with transaction.atomic():
        head = _lock_head()
        # The time is taken under the lock so that the chain order is also time order.
        event = Event(occurred_at=clock.now(), prev_hash=head.last_hash, **fields)
        event.hash = chain.event_hash(event)
        event.save()
        head.last_hash, head.last_event_id = event.hash, event.pk
        head.save(update_fields=["last_hash", "last_event_id"])
    return event


# -- export ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    name: str
    content: bytes
    rows: int
    truncated: bool


def events_export(
    *, actor: AbstractBaseUser | AnonymousUser, filters: selectors.EventFilters, request: HttpRequest | None
) -> ExportFile:
    """The records matching ``filters`` as an Excel workbook; the export itself is recorded."""
    if not can_export_audit(actor):
        record(actor=actor, action=actions.EXPORTED, result=Event.Result.DENIED, request=request)
        raise PermissionDeniedError(_("您没有导出审计记录的权限。"))
    events = selectors.event_list(user=actor, filters=filters)
    content, rows, truncated = exports.workbook(events)
    record(
        actor=actor,
        action=actions.EXPORTED,
        request=request,
        details={"filters": filters.as_details(), "rows": rows, "truncated": truncated, "format": "xlsx"},
    )
    stamp = clock.now().astimezone(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return ExportFile(name=f"audit-{stamp}.xlsx", content=content, rows=rows, truncated=truncated)


# -- retention -----------------------------------------------------------------------------------


class ArchiveError(DomainError):
    code = "audit_archive_failed"


def retention_days() -> int:
    days: int = settings.XIETONG_AUDIT_RETENTION_DAYS
    return max(days, MIN_RETENTION_DAYS)


def _allow_purge(allowed: bool) -> None:
    # The PostgreSQL trigger lets a DELETE through only while this transaction-local setting
    # is on; other databases have no trigger.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('xietong.audit_purge', %s, true)", ["on" if allowed else "off"])


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class _Written:
    path: Path
    checksum_path: Path
    sha256: str
    count: int
    first_id: int
    last_id: int
    last_hash: str


def _write_archive(events: models.QuerySet[Event], *, prev_hash: str, folder: Path) -> _Written | None:
    """Export ``events`` to a gzip JSON-lines file with a ``.sha256`` beside it, checking the
    chain on the way: tampered records are evidence and are never archived away."""
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".partial-{uuid.uuid4().hex}.jsonl.gz"
    first_id: int | None = None
    last_id = 0
    count = 0
    try:
        with partial.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
            for event in events.iterator(chunk_size=2000):
                if event.prev_hash != prev_hash or chain.event_hash(event) != event.hash:
                    raise ArchiveError(
                        _("待归档的审计记录 #%(id)s 未通过哈希链校验，已停止归档。") % {"id": event.pk}
                    )
                out.write(chain.archive_line(event).encode("utf-8"))
                prev_hash = event.hash
                first_id = event.pk if first_id is None else first_id
                last_id = event.pk
                count += 1
        if first_id is None:
            partial.unlink()
            return None
        _fsync(partial)
        digest = hashlib.sha256()
        with partial.open("rb") as written:
            for block in iter(lambda: written.read(1 << 16), b""):
                digest.update(block)
        stamp = clock.now().astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        path = folder / f"audit-{first_id:012d}-{last_id:012d}-{stamp}.jsonl.gz"
        partial.rename(path)
        checksum_path = Path(f"{path}.sha256")
        checksum_path.write_text(f"{digest.hexdigest()}  {path.name}\n", encoding="utf-8")
        _fsync(checksum_path)
        _fsync(folder)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return _Written(path, checksum_path, digest.hexdigest(), count, first_id, last_id, prev_hash)


def archive_expired() -> Archive | None:
    """Move records older than the retention period out of the table into an archive file.

    Only the oldest unbroken run of the chain leaves, so the records kept still form one chain;
    the new ``Archive`` row keeps the hash of the last record removed, from which ``verify``
    resumes. The file is complete and synced to disk before any row is deleted, and the
    deletion is undone (and the file removed) if anything after it fails. Run it on its own
    (the daily job, ``xietong audit archive``), not inside another transaction: a file on disk
    cannot be rolled back with an outer transaction.
    """
    cutoff = clock.now() - dt.timedelta(days=retention_days())
    folder = Path(settings.DATA_DIR) / ARCHIVE_FOLDER
    written: _Written | None = None
    try:
        with transaction.atomic():
            anchor = Archive.objects.order_by("-last_event_id").first()
            upper = Event.objects.aggregate(top=Max("id"))["top"]
            if upper is None:
                return None
            # Records are in chain order by id; a record still within retention ends the run,
            # even when a clock was wrong and older-looking records follow it.
            keep_from = (
                Event.objects.filter(id__lte=upper, occurred_at__gte=cutoff)
                .order_by("id")
                .values_list("id", flat=True)
                .first()
            )
            if keep_from is not None:
                upper = keep_from - 1
            expired = Event.objects.filter(id__lte=upper).order_by("id")
            written = _write_archive(
                expired, prev_hash=anchor.last_hash if anchor else chain.GENESIS, folder=folder
            )
            if written is None:
                return None
            _allow_purge(True)
            deleted = Event.objects.filter(id__lte=written.last_id).purge()
            _allow_purge(False)
            if deleted != written.count:
                # Another archive run got there first; its file holds these records.
                raise ArchiveError(_("归档时记录数不一致（另一个归档任务可能正在运行），已回滚。"))
            archive = Archive.objects.create(
                cutoff=cutoff,
                file_name=written.path.name,
                sha256=written.sha256,
                count=written.count,
                first_event_id=written.first_id,
                last_event_id=written.last_id,
                last_hash=written.last_hash,
            )
            record(
                actor=None,
                action=actions.ARCHIVED,
                target=archive,
                details={
                    "file": written.path.name,
                    "sha256": written.sha256,
                    "count": written.count,
                    "first_event_id": written.first_id,
                    "last_event_id": written.last_id,
                    "cutoff": cutoff,
                    "retention_days": retention_days(),
                },
            )
    except BaseException:
        if written is not None:
            written.path.unlink(missing_ok=True)
            written.checksum_path.unlink(missing_ok=True)
        raise
    logger.info("audit.archive.completed", extra={"file": written.path.name, "count": written.count})
    return archive
