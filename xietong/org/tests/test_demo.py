"""The demo group loaded by `make run`."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Q

from xietong.core import access
from xietong.identity.models import User
from xietong.org import demo
from xietong.org.models import Membership, OrgUnit, RoleGrant
from xietong.org.selectors import manageable_users, managers_of, primary_membership

pytestmark = pytest.mark.django_db

ADMINISTRATORS = ("sysadmin", "secadmin", "auditadmin")


def test_demo_group_has_hq_two_subsidiaries_departments_and_60_employees() -> None:
    accounts = demo.load_demo("Demo#Pass2026")
    root = OrgUnit.objects.get_root_nodes().get()
    assert root.name == "华电集团总部"
    companies = OrgUnit.objects.filter(kind=OrgUnit.Kind.COMPANY)
    assert sorted(c.name for c in companies) == ["华东分公司", "西南分公司"]
    assert OrgUnit.objects.filter(kind=OrgUnit.Kind.DEPARTMENT).count() == 13
    employees = User.objects.exclude(username__in=ADMINISTRATORS)
    assert employees.count() == 60
    assert len(accounts) == 63
    assert [a.username for a in accounts[:3]] == list(ADMINISTRATORS)
    assert Membership.objects.filter(is_primary=True).count() == 63
    assert (
        not Membership.objects.filter(position__isnull=True)
        .exclude(user__username__in=ADMINISTRATORS)
        .exists()
    )


def test_zhangwei_is_an_ordinary_employee_of_the_general_office() -> None:
    demo.load_demo("Demo#Pass2026")
    zhangwei = User.objects.get(username="zhangwei")
    assert zhangwei.name == "张伟"
    assert not access.is_administrator(zhangwei)
    assert not {"org.manage_users", "org.manage_units"} & access.grants_of(zhangwei).codenames
    membership = primary_membership(zhangwei)
    assert membership is not None
    assert membership.unit.name == "综合办公室"
    manager = managers_of(zhangwei).get()
    assert primary_membership(manager).is_head  # type: ignore[union-attr]


def test_department_heads_report_to_the_head_above() -> None:
    demo.load_demo("Demo#Pass2026")
    east = OrgUnit.objects.get(code="EC")
    east_head = Membership.objects.get(unit=east, is_head=True).user
    head_of_office = Membership.objects.get(unit__code="EC-BG", is_head=True).user
    assert list(managers_of(head_of_office)) == [east_head]


def test_r06_every_demo_account_must_change_its_initial_password() -> None:
    demo.load_demo("Demo#Pass2026")
    assert not User.objects.filter(must_change_password=False).exists()
    admin = User.objects.get(username="sysadmin")
    assert access.can(admin, "ops.broadcast")
    assert not admin.is_superuser
    assert not User.objects.filter(Q(is_superuser=True) | Q(is_staff=True)).exists()
    assert admin.check_password("Demo#Pass2026")


def test_random_initial_passwords_differ_and_meet_the_policy() -> None:
    from django.contrib.auth.password_validation import validate_password

    accounts = demo.load_demo()
    passwords = {a.password for a in accounts}
    assert len(passwords) == len(accounts)
    for account in accounts[:5]:
        # An unsaved twin: the policy applies, the history (which holds this very password) not.
        validate_password(account.password, User(username=account.username, name=account.name))


def test_demo_command_is_idempotent_and_writes_private_credentials(
    tmp_path: Path, settings: object, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.DATA_DIR = tmp_path  # type: ignore[attr-defined]
    settings.XIETONG_DEMO_PASSWORD = ""  # type: ignore[attr-defined]
    call_command("demo")
    credentials = tmp_path / "demo-accounts.txt"
    assert credentials.stat().st_mode & 0o077 == 0
    lines = credentials.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 64
    call_command("demo")
    assert "已存在" in capsys.readouterr().out
    assert User.objects.count() == 63
    call_command("welcome")
    out = capsys.readouterr().out
    assert "zhangwei" in out
    for administrator in ADMINISTRATORS:
        assert administrator in out


def test_ac05_demo_administrators_hold_one_tier_each() -> None:
    demo.load_demo("Demo#Pass2026")
    tiers = {
        username: set(
            RoleGrant.objects.filter(user__username=username).values_list("role__admin_tier", flat=True)
        )
        for username in ADMINISTRATORS
    }
    assert tiers == {"sysadmin": {"system"}, "secadmin": {"security"}, "auditadmin": {"audit"}}
    assert access.can(User.objects.get(username="secadmin"), "identity.manage_roles")
    assert access.can(User.objects.get(username="auditadmin"), "audit.read")
    assert not access.can(User.objects.get(username="sysadmin"), "audit.read")


def test_r16_the_general_office_head_administers_the_office_only() -> None:
    demo.load_demo("Demo#Pass2026")
    head = Membership.objects.get(unit__code="HQ-ZH", is_head=True).user
    grant = RoleGrant.objects.get(role__code="department_admin")
    assert (grant.user, grant.scope) == (head, "department_tree")
    manageable = set(manageable_users(actor=head).values_list("username", flat=True))
    office = set(Membership.objects.filter(unit__code="HQ-ZH").values_list("user__username", flat=True))
    assert manageable == office
    assert "zhangwei" in manageable


def test_install_creates_the_three_administrators_once(capsys: pytest.CaptureFixture[str]) -> None:
    from xietong.core import access

    call_command("install")
    out = capsys.readouterr().out
    for username in ("sysadmin", "secadmin", "auditadmin"):
        assert username in out
        account = User.objects.get(username=username)
        assert account.must_change_password
        assert access.is_administrator(account)
    assert access.can(User.objects.get(username="secadmin"), "identity.manage_roles")
    assert not access.can(User.objects.get(username="sysadmin"), "audit.read")
    call_command("install")
    assert "已存在" in capsys.readouterr().out
    assert User.objects.count() == 3
