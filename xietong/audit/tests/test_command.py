from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from xietong.audit import services
from xietong.audit.tests.conftest import MOMENT, tamper
from xietong.core import clock


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("audit", *args, stdout=out)
    return out.getvalue()


def test_r130_verify_reports_ok_with_the_count(db):
    for _ in range(3):
        services.record(actor=None, action="files.file.viewed")
    assert "OK" in run("verify")
    assert "共 3 条记录" in run("verify")


def test_r130_verify_fails_at_the_first_broken_link(db):
    events = [services.record(actor=None, action="files.file.viewed") for _ in range(3)]
    tamper("UPDATE audit_event SET details = %s WHERE id = %s", ['{"forged": true}', events[1].pk])
    with pytest.raises(CommandError) as failure:
        run("verify")
    assert failure.value.returncode == 1
    message = str(failure.value)
    assert f"记录 #{events[1].pk}" in message
    assert events[1].hash in message  # found
    assert "期望" in message


def test_archive_subcommand(archive_dir):
    with clock.frozen_at(MOMENT - dt.timedelta(days=200)):
        services.record(actor=None, action="files.file.viewed")
    with clock.frozen_at(MOMENT):
        assert "已归档 1 条审计记录" in run("archive")
        assert "无需归档" in run("archive")
    assert "OK" in run("verify")


def test_a_subcommand_is_required(db):
    with pytest.raises(CommandError):
        call_command("audit", stdout=io.StringIO(), stderr=io.StringIO())
