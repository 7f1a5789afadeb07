from __future__ import annotations

import datetime as dt
import decimal
import itertools
import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.test import RequestFactory

from xietong.audit import chain, services
from xietong.audit.models import ChainHead, Event
from xietong.audit.tests.conftest import MOMENT, make_user, tamper
from xietong.core import clock


def test_r130_record_attributes_the_action_to_the_account(employee):
    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="Mozilla/5.0 测试")
    request.request_id = "req-12345678"  # type: ignore[attr-defined]  # as RequestIdMiddleware does
    with clock.frozen_at(MOMENT):
        event = services.record(
            actor=employee,
            action="identity.password.changed",
            target=employee,
            request=request,
            details={"reason": "到期更换"},
        )
    event = Event.objects.get(pk=event.pk)
    assert event.occurred_at == MOMENT
    assert (event.actor_id, event.actor_username, event.actor_name) == (employee.pk, "putong", "普通员工")
    assert (event.ip, event.user_agent, event.request_id) == ("10.1.2.3", "Mozilla/5.0 测试", "req-12345678")
    assert (event.target_type, event.target_id, event.target_label) == (
        "identity.user",
        str(employee.pk),
        str(employee),
    )
    assert event.result == Event.Result.SUCCESS
    assert event.details == {"reason": "到期更换"}
    assert event.prev_hash == chain.GENESIS
    assert event.hash == chain.event_hash(event)


def test_record_without_actor_or_request(db):
    event = services.record(
        actor=None,
        action="ops.backup.failed",
        target=services.Target("ops.backup", "2025-06-01", "夜间备份"),
        result=Event.Result.FAILURE,
    )
    assert (event.actor_id, event.actor_username, event.actor_name, event.ip) == (None, "", "", None)
    assert (event.target_type, event.target_id, event.target_label) == (
        "ops.backup",
        "2025-06-01",
        "夜间备份",
    )


@pytest.mark.parametrize("action", ["login", "Identity.Login", "identity..login", "identity.login.", "a.b c"])
def test_record_refuses_a_malformed_action_code(db, action):
    with pytest.raises(ValueError, match="审计操作代码无效"):
        services.record(actor=None, action=action)
    assert not Event.objects.exists()


def test_record_refuses_an_unknown_result(db):
    with pytest.raises(ValueError, match="审计结果无效"):
        services.record(actor=None, action="x.y", result="maybe")


def test_records_link_into_one_chain_and_verify(employee, auditor):
    events = [services.record(actor=employee, action="files.file.viewed") for _ in range(5)]
    events.append(services.record(actor=auditor, action="identity.login.succeeded"))
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    head = ChainHead.objects.get()
    assert (head.last_event_id, head.last_hash) == (events[-1].pk, events[-1].hash)
    result = chain.verify()
    assert result.ok
    assert result.count == 6


def test_details_survive_the_database_round_trip(db):
    """What the hash covers is what the database gives back, on every supported database."""
    details: dict[Any, Any] = {
        "when": dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
        "amount": decimal.Decimal("12.50"),
        "ratio": 0.1,
        "whole": 2.0,
        "big": 1e16,
        "tiny": 1.5e-10,
        "nested": {"b": [1, "二", None, True], "a": {}},
        3: "integer key",
        "nul": "a\x00b",
        "中文键": "值",
    }
    services.record(actor=None, action="test.details.kept", details=details)
    stored = Event.objects.get()
    assert stored.details["nul"] == "ab"
    assert stored.details["3"] == "integer key"
    assert chain.verify().ok


def test_hostile_request_headers_do_not_break_the_write(db):
    request = RequestFactory().get("/", REMOTE_ADDR="not-an-ip", HTTP_USER_AGENT="x\x00" + "y" * 2000)
    event = services.record(actor=None, action="identity.login.failed", request=request)
    event = Event.objects.get(pk=event.pk)
    assert event.ip is None
    assert event.user_agent == ("x" + "y" * 2000)[:512]
    assert chain.verify().ok


def test_ipv6_is_stored_in_the_form_the_database_returns(db):
    request = RequestFactory().get("/", REMOTE_ADDR="2001:0db8:0000:0000:0000:0000:0000:0001")
    services.record(actor=None, action="identity.login.failed", request=request)
    assert Event.objects.get().ip == "2001:db8::1"
    assert chain.verify().ok


def test_r130_the_record_keeps_who_it_was_after_the_account_changes(employee):
    services.record(actor=employee, action="files.file.downloaded")
    employee.name = "改名后"
    employee.save()
    employee_id = employee.pk
    employee.delete()
    event = Event.objects.get()
    assert (event.actor_id, event.actor_name, event.actor_username) == (employee_id, "普通员工", "putong")
    assert chain.verify().ok


def test_verify_of_an_empty_trail_is_ok(db):
    result = chain.verify()
    assert result.ok
    assert result.count == 0


def test_a_missing_chain_head_is_rebuilt_from_the_newest_record(db):
    first = services.record(actor=None, action="test.chain.first")
    ChainHead.objects.all().delete()
    second = services.record(actor=None, action="test.chain.second")
    assert second.prev_hash == first.hash
    assert chain.verify().ok


def test_r130_verify_reports_the_first_changed_record(db):
    events = [services.record(actor=None, action="files.file.viewed") for _ in range(4)]
    tamper("UPDATE audit_event SET action = %s WHERE id = %s", ["files.file.deleted", events[1].pk])
    tamper("UPDATE audit_event SET target_label = %s WHERE id = %s", ["别的文件", events[2].pk])
    result = chain.verify()
    assert not result.ok
    assert result.count == 1
    assert result.broken is not None
    assert result.broken.event_id == events[1].pk
    assert result.broken.reason == "hash"
    assert result.broken.found == events[1].hash
    assert result.broken.expected != events[1].hash


def test_r130_verify_reports_a_removed_record(db):
    events = [services.record(actor=None, action="files.file.viewed") for _ in range(4)]
    tamper("DELETE FROM audit_event WHERE id = %s", [events[1].pk])
    result = chain.verify()
    assert result.broken is not None
    assert (result.broken.event_id, result.broken.reason) == (events[2].pk, "link")
    assert (result.broken.expected, result.broken.found) == (events[0].hash, events[1].hash)


def test_r130_verify_reports_removed_newest_records(db):
    events = [services.record(actor=None, action="files.file.viewed") for _ in range(3)]
    tamper("DELETE FROM audit_event WHERE id = %s", [events[2].pk])
    result = chain.verify()
    assert result.broken is not None
    assert (result.broken.event_id, result.broken.reason) == (events[2].pk, "head")
    assert (result.broken.expected, result.broken.found) == (events[2].hash, events[1].hash)


def test_r130_verify_reports_a_rewritten_record_with_a_recomputed_hash(db):
    """Recomputing the changed record's own hash is not enough: the next link breaks."""
    events = [services.record(actor=None, action="files.file.viewed") for _ in range(3)]
    forged = Event.objects.get(pk=events[1].pk)
    forged.action = "files.file.deleted"
    forged_hash = chain.event_hash(forged)
    tamper(
        "UPDATE audit_event SET action = %s, hash = %s WHERE id = %s", [forged.action, forged_hash, forged.pk]
    )
    result = chain.verify()
    assert result.broken is not None
    assert (result.broken.event_id, result.broken.reason) == (events[2].pk, "link")


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_form_one_chain():
    """Writers in parallel threads, each with its own connection, never fork the chain."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers by itself; the row lock under test is PostgreSQL's")
    make_user("writer")
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                services.record(actor=None, action="test.concurrent.write", details={"thread": n, "i": i})
        except BaseException as exc:  # reported to the main thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = chain.verify()
    assert result.ok, result.broken
    assert result.count == 80
    assert Event.objects.values("prev_hash").distinct().count() == 80
