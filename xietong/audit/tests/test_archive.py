"""Retention: records older than the retention period leave the table only into a checksummed
archive file, and the chain still verifies afterwards (AU-04)."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json

import pytest
from django.db import connection

from xietong.audit import chain, services, tasks
from xietong.audit.models import Archive, Event
from xietong.audit.tests.conftest import MOMENT, tamper
from xietong.core import clock


def record_at(moment: dt.datetime, action: str = "files.file.viewed") -> Event:
    with clock.frozen_at(moment):
        return services.record(actor=None, action=action)


def days_ago(days: int) -> dt.datetime:
    return MOMENT - dt.timedelta(days=days)


def test_r130_archive_exports_old_records_then_removes_them(archive_dir):
    old = [record_at(days_ago(200)), record_at(days_ago(190)), record_at(days_ago(181))]
    recent = [record_at(days_ago(179)), record_at(days_ago(1))]

    with clock.frozen_at(MOMENT):
        archive = services.archive_expired()

    assert archive is not None
    assert (archive.count, archive.first_event_id, archive.last_event_id) == (3, old[0].pk, old[-1].pk)
    assert archive.last_hash == old[-1].hash
    path = archive_dir / archive.file_name
    assert path.name.endswith(".jsonl.gz")
    checksum = (archive_dir / f"{archive.file_name}.sha256").read_text(encoding="utf-8")
    assert checksum == f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
    assert archive.sha256 == checksum.split()[0]
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        exported = [json.loads(line) for line in lines]
    assert [line["id"] for line in exported] == [e.pk for e in old]
    assert [line["hash"] for line in exported] == [e.hash for e in old]
    assert chain.verify_archive_file(path, prev_hash=chain.GENESIS).ok
    assert list(archive_dir.glob(".partial-*")) == []

    remaining = list(Event.objects.order_by("id"))
    assert [e.pk for e in remaining[:2]] == [e.pk for e in recent]
    # The archive run is itself recorded, at the end of the chain.
    assert remaining[-1].action == "audit.archive.completed"
    assert remaining[-1].details["count"] == 3
    assert remaining[-1].target_id == str(archive.pk)

    result = chain.verify()
    assert result.ok, result.broken
    assert result.count == 3


def test_archive_with_nothing_expired_changes_nothing(archive_dir):
    record_at(days_ago(179))
    with clock.frozen_at(MOMENT):
        assert services.archive_expired() is None
    assert Event.objects.count() == 1
    assert not Archive.objects.exists()
    assert not archive_dir.exists() or list(archive_dir.iterdir()) == []


def test_archive_of_an_empty_trail(archive_dir):
    with clock.frozen_at(MOMENT):
        assert services.archive_expired() is None


def test_archives_chain_onto_each_other(archive_dir):
    first_batch = [record_at(days_ago(400)), record_at(days_ago(390))]
    second_batch = [record_at(days_ago(300))]
    record_at(days_ago(10))
    with clock.frozen_at(days_ago(200)):
        first = services.archive_expired()
    with clock.frozen_at(MOMENT):
        second = services.archive_expired()
    assert first is not None
    assert second is not None
    assert first.last_event_id == first_batch[-1].pk
    assert (second.first_event_id, second.last_event_id) == (second_batch[0].pk, second_batch[0].pk)
    assert chain.verify_archive_file(archive_dir / second.file_name, prev_hash=first.last_hash).ok
    assert chain.verify().ok


def test_everything_expired_still_verifies(archive_dir):
    record_at(days_ago(500))
    record_at(days_ago(400))
    with clock.frozen_at(MOMENT):
        archive = services.archive_expired()
    assert archive is not None
    assert archive.count == 2
    assert Event.objects.count() == 1  # the record of the archive run
    assert chain.verify().ok


def test_retention_period_is_the_setting(archive_dir, settings):
    settings.XIETONG_AUDIT_RETENTION_DAYS = 365
    dropped = record_at(days_ago(366))
    kept = [record_at(days_ago(200)), record_at(days_ago(179))]
    with clock.frozen_at(MOMENT):
        archive = services.archive_expired()
    assert archive is not None
    assert (archive.first_event_id, archive.last_event_id) == (dropped.pk, dropped.pk)
    assert Event.objects.filter(pk__in=[e.pk for e in kept]).count() == 2


def test_a_record_within_retention_ends_the_archived_run(archive_dir):
    """Records leave in chain order only: a clock that was wrong cannot punch a hole."""
    first = record_at(days_ago(300))
    recent = record_at(days_ago(10))
    late_but_old_looking = record_at(days_ago(250))
    with clock.frozen_at(MOMENT):
        archive = services.archive_expired()
    assert archive is not None
    assert (archive.first_event_id, archive.last_event_id) == (first.pk, first.pk)
    assert Event.objects.filter(pk__in=[recent.pk, late_but_old_looking.pk]).count() == 2
    assert chain.verify().ok


def test_retention_never_goes_below_the_legal_minimum(archive_dir, settings):
    settings.XIETONG_AUDIT_RETENTION_DAYS = 30  # the settings reader refuses this; a test override does not
    record_at(days_ago(100))
    with clock.frozen_at(MOMENT):
        assert services.archive_expired() is None
    assert services.retention_days() == 180


def test_r130_a_tampered_record_is_never_archived_away(archive_dir):
    events = [record_at(days_ago(300)), record_at(days_ago(250))]
    record_at(days_ago(1))
    tamper("UPDATE audit_event SET action = %s WHERE id = %s", ["files.file.deleted", events[1].pk])
    with clock.frozen_at(MOMENT), pytest.raises(services.ArchiveError, match=f"#{events[1].pk}"):
        services.archive_expired()
    assert Event.objects.count() == 3
    assert not Archive.objects.exists()
    assert list(archive_dir.iterdir()) == []


def test_archive_file_checks_detect_a_changed_file(archive_dir):
    record_at(days_ago(300))
    with clock.frozen_at(MOMENT):
        archive = services.archive_expired()
    assert archive is not None
    path = archive_dir / archive.file_name
    path.write_bytes(path.read_bytes() + b"\0")
    result = chain.verify_archive_file(path)
    assert result.broken is not None
    assert result.broken.reason == "file"


def test_daily_task_runs_the_archive(archive_dir):
    record_at(days_ago(300))
    with clock.frozen_at(MOMENT):
        tasks.archive_expired_events.call_local()
    assert Archive.objects.count() == 1
    assert chain.verify().ok


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the purge switch exists on PostgreSQL only")
def test_purge_switch_is_off_after_the_archive(archive_dir):
    record_at(days_ago(300))
    with clock.frozen_at(MOMENT):
        services.archive_expired()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('xietong.audit_purge', true)")
        assert cursor.fetchone()[0] in (None, "", "off")
