"""Who a notification reaches: units with and without sub-units, roles, positions, everyone;
each person once, never a disabled account, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.fixtures import grant_role, make_user, place
from xietong.core import clock
from xietong.identity.models import User
from xietong.notify import services
from xietong.notify.models import Dispatch, Notification
from xietong.notify.tests.conftest import Staff
from xietong.org import builtin
from xietong.org.models import DataScope, Role, RoleGrant

pytestmark = pytest.mark.django_db


def resolved(staff: Staff, *references: str) -> set[int]:
    return set(services.resolve_recipients(list(references)))


def test_unit_reaches_its_sub_units_and_concurrent_posts(staff: Staff) -> None:
    production = staff.units["production"]
    # 李强 and 钱进 (a concurrent post) in 生产技术部, 周杰 in 检修班 below it; 郑伟 is disabled.
    assert resolved(staff, f"unit:{production.pk}") == staff.ids("li", "qian", "zhou")


def test_unit_only_leaves_out_sub_units(staff: Staff) -> None:
    production = staff.units["production"]
    assert resolved(staff, f"unit_only:{production.pk}") == staff.ids("li", "qian")


def test_company_unit_reaches_its_whole_subtree(staff: Staff) -> None:
    east = staff.units["east"]
    assert resolved(staff, f"unit:{east.pk}") == staff.ids("sun", "li", "qian", "zhou", "wu")


def test_position_reaches_its_holders(staff: Staff) -> None:
    assert resolved(staff, f"position:{staff.positions['clerk'].pk}") == staff.ids("li", "qian")


def test_role_reaches_personal_and_post_grants_but_not_expired_ones(staff: Staff) -> None:
    role = Role.objects.create(code="finance_reviewer", name="财务审核")
    RoleGrant.objects.create(role=role, user=staff.users["zhao"], scope=DataScope.SELF)
    RoleGrant.objects.create(role=role, position=staff.positions["foreman"], scope=DataScope.SELF)
    RoleGrant.objects.create(
        role=role,
        user=staff.users["wang"],
        scope=DataScope.SELF,
        expires_at=clock.now() - dt.timedelta(days=1),
    )
    assert resolved(staff, "role:finance_reviewer") == staff.ids("zhao", "zhou")


def test_default_role_is_everyone(staff: Staff) -> None:
    builtin.ensure_builtin_roles()
    everyone = resolved(staff, "everyone")
    assert resolved(staff, f"role:{builtin.EMPLOYEE}") == everyone
    assert staff.users["zheng"].pk not in everyone


def test_everyone_is_every_active_account(staff: Staff) -> None:
    outsider = make_user("newcomer", name="新人")  # no post yet: still staff
    assert resolved(staff, "everyone") == {
        *staff.ids("wang", "zhao", "qian", "sun", "li", "zhou", "wu"),
        outsider.pk,
    }


def test_overlapping_references_give_each_person_once(staff: Staff) -> None:
    production, repair = staff.units["production"], staff.units["repair"]
    ids = services.resolve_recipients(
        [
            f"unit:{production.pk}",
            f"unit_only:{repair.pk}",
            f"user:{staff.users['li'].pk}",
            f"position:{staff.positions['clerk'].pk}",
        ]
    )
    assert sorted(ids) == sorted(staff.ids("li", "qian", "zhou"))
    dispatch = services.notify(
        recipients=[f"unit:{production.pk}", f"user:{staff.users['li'].pk}"], kind="system", title="停电通知"
    )
    assert dispatch.recipient_count == 3
    assert Notification.objects.filter(dispatch=dispatch).count() == 3


def test_disabled_and_unknown_people_are_left_out(staff: Staff) -> None:
    assert resolved(staff, f"user:{staff.users['zheng'].pk}", "user:999999", "unit:999999") == set()


def test_resolution_takes_the_same_queries_for_few_and_many(staff: Staff) -> None:
    references = [
        f"unit:{staff.units['production'].pk}",
        f"unit_only:{staff.units['office'].pk}",
        f"position:{staff.positions['clerk'].pk}",
        "role:finance_reviewer",
        f"user:{staff.users['wu'].pk}",
    ]
    with CaptureQueriesContext(connection) as few:
        services.resolve_recipients(references)
    for index in range(60):
        place(
            make_user(f"extra{index}", name=f"新员工{index}"),
            staff.units["repair"],
            position=staff.positions["clerk"],
        )
    with CaptureQueriesContext(connection) as many:
        assert len(services.resolve_recipients(references)) > 60
    # One for the units' tree paths, one for the accounts.
    assert len(few) == len(many) == 2


def test_notify_writes_rows_in_batches_not_per_person(staff: Staff, django_assert_max_num_queries) -> None:
    for index in range(120):
        make_user(f"bulk{index}", name=f"员工{index}")
    # Resolution, the dispatch, one INSERT per batch of rows, the savepoint: not 127 INSERTs.
    with django_assert_max_num_queries(8):
        dispatch = services.notify(recipients=["everyone"], kind="system", title="全员通知")
    assert dispatch.recipient_count == 127


@pytest.mark.parametrize(
    "recipients",
    [["user:abc"], ["unit:"], ["team:3"], ["role:Bad Code"], ["everyone:1"], [7]],
)
def test_malformed_references_fail_loudly(recipients: list[object]) -> None:
    with pytest.raises(ValueError, match="invalid recipient"):
        services.notify(recipients=recipients, kind="system", title="x")  # type: ignore[arg-type]
    assert not Dispatch.objects.exists()


def test_a_single_string_is_not_a_list_of_recipients(user) -> None:
    with pytest.raises(TypeError):
        services.notify(recipients=f"user:{user.pk}", kind="system", title="x")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kind", "Tasks Assigned", "invalid notification kind"),
        ("urgency", "high", "invalid urgency"),
        ("title", "   ", "needs a title"),
        ("link", "https://evil.example.com/", "invalid link"),
        ("link", "//evil.example.com/", "invalid link"),
        ("link", "/\t/evil.example.com/", "invalid link"),
        ("link", "/\\evil.example.com/", "invalid link"),
        ("link", "/a b/", "invalid link"),
    ],
)
def test_bad_arguments_are_refused(user, field: str, value: str, message: str) -> None:
    arguments: dict[str, Any] = {
        "recipients": [f"user:{user.pk}"],
        "kind": "system",
        "title": "标题",
        field: value,
    }
    with pytest.raises(ValueError, match=message):
        services.notify(**arguments)
    assert not Notification.objects.exists()


def test_r61_notice_reaches_its_audience_and_nobody_else(staff: Staff) -> None:
    """R-61: a notice to 生产技术部 is in the centre of its members and of no one else."""
    from tests.fixtures import client_for

    services.notify(
        recipients=[f"unit:{staff.units['production'].pk}"],
        kind="system",
        title="关于开展安全生产大检查的通知",
    )
    inside = client_for(staff.users["zhou"]).get("/notifications/")
    outside = client_for(staff.users["wang"]).get("/notifications/")
    assert "关于开展安全生产大检查的通知" in inside.content.decode()
    assert "关于开展安全生产大检查的通知" not in outside.content.decode()
    assert client_for(staff.users["wang"]).get("/api/v1/notifications/").json()["items"] == []


def test_grant_role_fixture_roles_resolve(staff: Staff) -> None:
    admin = make_user("sysadmin", name="系统管理员")
    grant_role(admin, builtin.SYSTEM_ADMIN)
    assert resolved(staff, f"role:{builtin.SYSTEM_ADMIN}") == {admin.pk}


def test_nul_characters_do_not_break_the_senders_change(user: User) -> None:
    dispatch = services.notify(
        recipients=[f"user:{user.pk}"], kind="system", title="停电\x00通知", body="正\x00文"
    )
    dispatch.refresh_from_db()
    assert (dispatch.title, dispatch.body) == ("停电通知", "正文")
