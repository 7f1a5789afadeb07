"""AU-03 / R-130: records can be added, never changed or removed outside the archive job."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from xietong.audit import chain, services
from xietong.audit.models import AppendOnlyError, Archive, Event
from xietong.core import clock

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database trigger is installed on PostgreSQL only"
)


@pytest.fixture
def event(db) -> Event:
    services.record(actor=None, action="files.file.viewed")
    return services.record(actor=None, action="files.file.downloaded")


def test_r130_saving_a_changed_record_is_refused(event):
    event.action = "files.file.deleted"
    with pytest.raises(AppendOnlyError):
        event.save()
    assert Event.objects.get(pk=event.pk).action == "files.file.downloaded"


def test_r130_deleting_a_record_is_refused(event):
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert Event.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize(
    "bulk_write",
    [
        lambda qs: qs.update(action="files.file.deleted"),
        lambda qs: qs.delete(),
        lambda qs: qs.bulk_update(list(qs), ["action"]),
        lambda qs: qs.bulk_create([Event(action="x.y", prev_hash="0", hash="1")]),
    ],
    ids=["update", "delete", "bulk_update", "bulk_create"],
)
def test_r130_queryset_writes_are_refused(event, bulk_write):
    with pytest.raises(AppendOnlyError):
        bulk_write(Event.objects.all())
    assert Event.objects.count() == 2
    assert chain.verify().ok


def test_a_record_not_written_through_record_is_refused(db):
    with pytest.raises(ValueError, match=r"services\.record"):
        Event.objects.create(action="files.file.viewed", prev_hash=chain.GENESIS, hash="f" * 64)
    assert not Event.objects.exists()


def test_archive_rows_are_append_only_too(db):
    archive = Archive.objects.create(
        cutoff=clock.now(), file_name="a.jsonl.gz", sha256="0" * 64, count=1, first_event_id=1,
        last_event_id=1, last_hash="0" * 64,
    )  # fmt: skip
    archive.count = 2
    with pytest.raises(AppendOnlyError):
        archive.save()
    with pytest.raises(AppendOnlyError):
        archive.delete()


@postgres_only
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_event SET action = 'files.file.deleted' WHERE id = %s",
        "DELETE FROM audit_event WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_r130_postgres_refuses_raw_sql_changes(event, sql):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [event.pk])
    assert Event.objects.get(pk=event.pk).action == "files.file.downloaded"
    assert chain.verify().ok


@postgres_only
def test_postgres_never_allows_update_even_while_purging(event):
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('xietong.audit_purge', 'on', true)")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute("UPDATE audit_event SET action = 'x.y' WHERE id = %s", [event.pk])
