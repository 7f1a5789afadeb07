"""Login anomaly flags, their review by the security administrator and the weekly reminder
(R-21, R-22)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.fixtures import STRONG_PASSWORD, grant_role, make_user
from xietong.audit.models import Event
from xietong.core import clock
from xietong.core.errors import PermissionDeniedError
from xietong.identity import anomalies, audit_actions, services, tasks
from xietong.identity.models import LoginAnomaly, User
from xietong.org import builtin

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Monday 09:00 in Beijing
MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0.0.0 Safari/537.36"
WINDOWS_NEWER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"
ANDROID_WECHAT = (
    "Mozilla/5.0 (Linux; Android 14; V2254A) AppleWebKit/537.36 Chrome/116.0 Mobile MicroMessenger/8.0.47"
)
Kind = LoginAnomaly.Kind


def login(
    username: str = "lisi", *, ip: str = "192.0.2.10", agent: str = WINDOWS, password: str = STRONG_PASSWORD
) -> Client:
    client = Client()
    client.post(
        reverse("identity:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
        HTTP_USER_AGENT=agent,
    )
    return client


def kinds(user: User) -> list[str]:
    return sorted(LoginAnomaly.objects.filter(user=user).values_list("kind", flat=True))


@pytest.fixture
def user(db: Any) -> User:
    with clock.frozen_at(T0 - DAY):
        return make_user()


@pytest.fixture
def secadmin(db: Any) -> User:
    admin = make_user("secadmin", name="安全管理员", email="secadmin@example.com")
    grant_role(admin, builtin.SECURITY_ADMIN)
    return admin


def test_r21_first_login_is_not_flagged_as_new(user: User) -> None:
    with clock.frozen_at(T0):
        login()
    assert kinds(user) == []


def test_r21_new_device_and_new_network(user: User) -> None:
    with clock.frozen_at(T0):
        login(ip="192.0.2.10", agent=WINDOWS)
    with clock.frozen_at(T0 + DAY):
        login(ip="192.0.2.77", agent=WINDOWS_NEWER)  # same /24, a newer Chrome: nothing new
    assert kinds(user) == []
    with clock.frozen_at(T0 + 2 * DAY):
        login(ip="203.0.113.5", agent=ANDROID_WECHAT)
    assert kinds(user) == [Kind.NEW_DEVICE, Kind.NEW_NETWORK]
    flag = LoginAnomaly.objects.get(kind=Kind.NEW_DEVICE)
    assert flag.details == {"device": "微信 / Android"}
    assert flag.attempt.ip == "203.0.113.5"
    assert LoginAnomaly.objects.get(kind=Kind.NEW_NETWORK).details["network"] == "203.0.113.0/24"


def test_r21_ipv6_networks_compared_by_64(user: User) -> None:
    assert anomalies.network_of("2001:db8:1:2::5") == anomalies.network_of("2001:db8:1:2:ffff::1")
    assert anomalies.network_of("2001:db8:1:3::5") != anomalies.network_of("2001:db8:1:2::5")


def test_r21_login_outside_working_hours(user: User) -> None:
    with clock.frozen_at(dt.datetime(2026, 3, 2, 0, 30, tzinfo=dt.UTC)):  # 08:30 Beijing
        login()
    assert kinds(user) == []
    with clock.frozen_at(dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)):  # 22:30 Beijing
        login()
    flag = LoginAnomaly.objects.get(user=user)
    assert flag.kind == Kind.OFF_HOURS
    assert flag.details == {"local_time": "22:30", "hours": "08:00-20:00"}


def test_r21_working_hours_are_configurable(user: User, settings: Any) -> None:
    settings.XIETONG_WORKING_HOURS = "07:00-23:00"
    with clock.frozen_at(dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)):  # 22:30 Beijing
        login()
    assert kinds(user) == []


def test_r21_burst_of_failures_before_the_success(user: User) -> None:
    with clock.frozen_at(T0):
        login()  # an earlier success
    with clock.frozen_at(T0 + DAY):
        for _ in range(3):
            login(password="Wrong#Pass2026")
        login()
    flag = LoginAnomaly.objects.get(user=user, kind=Kind.FAILURE_BURST)
    assert flag.details == {"failures": 3}


def test_r21_one_typo_is_no_burst(user: User) -> None:
    with clock.frozen_at(T0):
        login(password="Wrong#Pass2026")
        login()
    assert Kind.FAILURE_BURST not in kinds(user)


def test_r21_concurrent_sessions_from_different_networks(user: User) -> None:
    with clock.frozen_at(T0):
        login(ip="192.0.2.10")
    with clock.frozen_at(T0 + 5 * MINUTE):
        login(ip="192.0.2.11")  # same office network
    assert Kind.CONCURRENT_NETWORKS not in kinds(user)
    with clock.frozen_at(T0 + 10 * MINUTE):
        login(ip="198.51.100.9")
    flag = LoginAnomaly.objects.get(kind=Kind.CONCURRENT_NETWORKS)
    assert flag.details == {"ip": "198.51.100.9", "other_ips": ["192.0.2.10", "192.0.2.11"]}


def test_r21_closed_browsers_do_not_count_as_concurrent(user: User) -> None:
    with clock.frozen_at(T0):
        login(ip="192.0.2.10")
    with clock.frozen_at(T0 + 2 * dt.timedelta(hours=1)):  # the first session idled out
        login(ip="198.51.100.9")
    assert Kind.CONCURRENT_NETWORKS not in kinds(user)


def test_r21_login_to_a_dormant_account(user: User) -> None:
    with clock.frozen_at(T0):
        login()
    with clock.frozen_at(T0 + 29 * DAY):
        login()
    assert Kind.DORMANT not in kinds(user)
    with clock.frozen_at(T0 + 29 * DAY + 31 * DAY):
        login()
    assert LoginAnomaly.objects.get(kind=Kind.DORMANT).details == {"idle_days": 31}


def test_r21_code_step_success_is_checked_too(user: User) -> None:
    from xietong.identity import twofactor
    from xietong.identity.models import SealedTOTPDevice

    device = SealedTOTPDevice.objects.create(
        user=user, name="default", confirmed=True, key=SealedTOTPDevice.new_key()
    )
    late = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)  # 23:00 Beijing
    with clock.frozen_at(late):
        client = login()
        assert not LoginAnomaly.objects.exists()  # the password alone is no sign-in
        client.post(reverse("identity:two_factor_verify"), {"code": twofactor.current_code(device)})
    assert kinds(user) == [Kind.OFF_HOURS]


def test_device_family_names_common_browsers() -> None:
    assert anomalies.device_family(WINDOWS) == "Chrome / Windows"
    assert anomalies.device_family(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Version/17.5 Safari/605.1.15"
    ) == ("Safari / macOS")
    edge = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0"
    assert anomalies.device_family(edge) == "Edge / Windows"
    assert anomalies.device_family("curl/8.5.0") == "脚本客户端 / 其他"


# the security administrator reviews the flags


def flagged(user: User) -> LoginAnomaly:
    with clock.frozen_at(dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)):
        login()
    return LoginAnomaly.objects.get(user=user)


def test_r21_review_page_filters_and_marks_handled_with_a_note(user: User, secadmin: User) -> None:
    flag = flagged(user)
    client = Client()
    client.force_login(secadmin)
    page = client.get(reverse("identity:anomalies")).content.decode()
    assert f'data-anomaly-id="{flag.pk}"' in page
    assert "非工作时间" in page
    assert (
        f'data-anomaly-id="{flag.pk}"'
        not in client.get(reverse("identity:anomalies"), {"kind": Kind.NEW_DEVICE}).content.decode()
    )
    refused = client.post(reverse("identity:anomaly_review", args=[flag.pk]), {"note": "  "})
    assert refused.status_code == 302
    client.post(reverse("identity:anomaly_review", args=[flag.pk]), {"note": "已电话核实，本人加班"})
    flag.refresh_from_db()
    assert flag.reviewed_by == secadmin
    assert flag.reviewed_at is not None
    assert flag.note == "已电话核实，本人加班"
    event = Event.objects.get(action=audit_actions.LOGIN_ANOMALY_REVIEWED)
    assert event.details["note"] == "已电话核实，本人加班"
    # Handled flags leave the default (open) list and show under "done".
    assert f'data-anomaly-id="{flag.pk}"' not in client.get(reverse("identity:anomalies")).content.decode()
    done = client.get(reverse("identity:anomalies"), {"status": "done"}).content.decode()
    assert "已电话核实，本人加班" in done


def test_r21_only_the_security_administrator_reviews(user: User, sysadmin_user: User) -> None:
    flag = flagged(user)
    for account in (user, sysadmin_user):
        with clock.frozen_at(T0):
            client = Client()
            client.force_login(account)
            assert client.get(reverse("identity:anomalies")).status_code == 403
            assert (
                client.post(reverse("identity:anomaly_review", args=[flag.pk]), {"note": "x"}).status_code
                == 403
            )
    with pytest.raises(PermissionDeniedError):
        services.login_anomaly_review(actor=sysadmin_user, anomaly=flag, note="x")


def test_r21_weekly_reminder_mails_the_security_administrators(user: User, secadmin: User) -> None:
    assert services.login_anomalies_remind() == 0  # nothing to review: no mail
    flagged(user)
    make_user("auditor", name="审计员", email="audit@example.com")
    sent = tasks.remind_unreviewed_login_anomalies.call_local()
    assert sent == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["secadmin@example.com"]
    assert "1 条登录异常待审查" in message.subject


def test_r21_reminder_runs_weekly_on_monday_morning_beijing_time() -> None:
    task = tasks.remind_unreviewed_login_anomalies.task_class()
    # Huey checks naive UTC times: 01:00 UTC is 09:00 in Beijing.
    monday = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC).replace(tzinfo=None)
    assert task.validate_datetime(monday)
    assert not task.validate_datetime(monday + dt.timedelta(hours=1))
    assert not task.validate_datetime(monday + DAY)
