"""Preferences per kind and channel, quiet hours and digest; and who may send to a whole
department or to everyone (R-31)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.fixtures import client_for, make_user, place
from xietong.core.errors import PermissionDeniedError
from xietong.identity.models import User
from xietong.notify import services
from xietong.notify.models import NotifySettings, Preference
from xietong.notify.tests.conftest import Staff
from xietong.org.models import DataScope, Role, RoleGrant

pytestmark = pytest.mark.django_db


def test_preferences_page_saves_choices_quiet_hours_and_digest(user: User) -> None:
    client = client_for(user)
    page = client.get("/notifications/settings/").content.decode()
    assert "系统通知" in page
    assert "站内弹窗" in page
    response = client.post(
        "/notifications/settings/",
        {
            "in_app:system": "on",  # the default: stored as no row
            # "email:system" unchecked: off
            "in_app:notify.test": "on",
            "email:notify.test": "on",  # off by default for this kind: stored
            "quiet_start": "22:00",
            "quiet_end": "07:00",
            "digest": "on",
            "digest_hour": "9",
        },
    )
    assert response.status_code == 302
    # Other apps' kinds were left unchecked on this form: they are off now, which is their business.
    mine = Preference.objects.filter(user=user, kind__in=["system", "notify.test"])
    stored = set(mine.values_list("kind", "channel", "enabled"))
    assert stored == {("system", "email", False), ("notify.test", "email", True)}
    chosen = NotifySettings.objects.get(user=user)
    assert (chosen.quiet_start, chosen.quiet_end, chosen.digest, chosen.digest_hour) == (
        dt.time(22),
        dt.time(7),
        True,
        9,
    )
    page = client.get("/notifications/settings/").content.decode()
    assert 'value="22:00"' in page


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [("22:00", "", "需同时填写"), ("08:00", "08:00", "不能相同")],
)
def test_half_or_empty_quiet_hours_are_refused(user: User, start: str, end: str, message: str) -> None:
    response = client_for(user).post(
        "/notifications/settings/", {"quiet_start": start, "quiet_end": end, "digest_hour": "8"}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not NotifySettings.objects.exists()


def test_api_reads_and_writes_preferences(user: User) -> None:
    client = client_for(user)
    initial = client.get("/api/v1/notifications/preferences").json()
    assert {"kind": "system", "label": "系统通知", "in_app": True, "email": True} in initial["kinds"]
    answer = client.put(
        "/api/v1/notifications/preferences",
        {
            "kinds": [{"kind": "system", "in_app": False, "email": True}],
            "quiet_start": "12:00",
            "quiet_end": "13:30",
        },
        content_type="application/json",
    )
    assert answer.status_code == 200
    body = answer.json()
    assert {"kind": "system", "label": "系统通知", "in_app": False, "email": True} in body["kinds"]
    assert (body["quiet_start"], body["quiet_end"]) == ("12:00:00", "13:30:00")
    refused = client.put(
        "/api/v1/notifications/preferences", {"quiet_start": "12:00"}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "免打扰时段需同时填写开始和结束时间。"


def test_r31_sending_to_a_department_or_everyone_needs_permission(staff: Staff) -> None:
    """R-31: a department head may send to their own department tree, not to another one nor
    to everyone; named people need no permission."""
    role = Role.objects.create(code="notice_sender", name="通知发布", permissions=["notify.send_to_units"])
    head = make_user("head", name="部门负责人")
    RoleGrant.objects.create(role=role, user=head, scope=DataScope.DEPARTMENT_TREE)
    place(head, staff.units["production"])
    production, repair, office = staff.units["production"], staff.units["repair"], staff.units["office"]
    services.require_send_permission(
        actor=head, recipients=[f"unit:{production.pk}", f"unit_only:{repair.pk}"]
    )
    services.require_send_permission(actor=head, recipients=[f"user:{staff.users['wang'].pk}"])
    for refused in (
        ["everyone"],
        [f"unit:{office.pk}"],
        ["role:employee"],
        [f"position:{staff.positions['clerk'].pk}"],
    ):
        with pytest.raises(PermissionDeniedError):
            services.require_send_permission(actor=head, recipients=refused)
    plain = staff.users["li"]
    with pytest.raises(PermissionDeniedError):
        services.require_send_permission(actor=plain, recipients=[f"unit_only:{production.pk}"])
    office_clerk = make_user("clerk", name="综合办文书")
    RoleGrant.objects.create(role=role, user=office_clerk, scope=DataScope.GROUP)
    services.require_send_permission(actor=office_clerk, recipients=["everyone"])


def test_r31_system_administrator_does_not_send_to_everyone_by_default(sysadmin_user: User) -> None:
    with pytest.raises(PermissionDeniedError):
        services.require_send_permission(actor=sysadmin_user, recipients=["everyone"])
