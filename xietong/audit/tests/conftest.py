from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from xietong.identity.models import User
from xietong.org import builtin
from xietong.org.models import Membership, OrgUnit, RoleGrant

MOMENT = dt.datetime(2025, 6, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Beijing


def make_user(username: str, *, name: str = "", staff: bool = False) -> User:
    return User.objects.create_user(
        username, "Passw0rd!Passw0rd", name=name or username, is_staff=staff, must_change_password=False
    )


@pytest.fixture
def auditor(db) -> User:
    user = make_user("shenji", name="审计员")
    # A bare grant row: the grant service would add its own record to the trail under test.
    RoleGrant.objects.create(role=builtin.ensure_builtin_roles()["audit_admin"], user=user, scope="group")
    return user


@pytest.fixture
def employee(db) -> User:
    return make_user("putong", name="普通员工")


@pytest.fixture
def archive_dir(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path / "audit-archive"


@pytest.fixture
def org(db) -> dict[str, OrgUnit]:
    """集团 → 华东分公司 → 生产技术部; 集团 → 财务部."""
    units = OrgUnit.objects
    group = units.add_root(create_kwargs={"name": "集团", "code": "G", "kind": OrgUnit.Kind.GROUP})
    east = units.add_child(group, create_kwargs={"name": "华东分公司", "code": "EC", "kind": "company"})
    production = units.add_child(east, create_kwargs={"name": "生产技术部", "code": "EC-SC"})
    finance = units.add_child(group, create_kwargs={"name": "财务部", "code": "CW"})
    return {"group": group, "east": east, "production": production, "finance": finance}


def place(user: User, unit: OrgUnit, *, primary: bool = True) -> None:
    Membership.objects.create(user=user, unit=unit, is_primary=primary)


def tamper(sql: str, params: list[Any]) -> None:
    """Run a raw write on the audit table as a privileged database user would.

    On PostgreSQL the append-only trigger is switched off first (the change is rolled back
    with the test's transaction); elsewhere there is no trigger to switch off.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
