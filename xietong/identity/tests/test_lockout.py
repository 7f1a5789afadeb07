"""The login log and the login-failure lockout (R-19, R-20, R-21, R-24; IA-04, IA-05)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.fixtures import STRONG_PASSWORD, make_user
from xietong.core import clock, http
from xietong.identity import selectors, services
from xietong.identity.models import AppendOnlyError, LoginAttempt, User

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Beijing
IP = "192.0.2.10"
OTHER_IP = "198.51.100.20"
AGENT = "Mozilla/5.0 (Windows NT 10.0) 测试浏览器"
WRONG = "Wrong#Pass2026"
LOCKED = "登录失败次数过多，账号已临时锁定，请 30 分钟后再试或联系管理员解锁。"
GENERIC = "用户名或密码错误，请重新输入。"
Result = LoginAttempt.Result


def attempt(client: Client, username: str, password: str, *, ip: str = IP, agent: str = AGENT) -> Any:
    return client.post(
        reverse("identity:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
        HTTP_USER_AGENT=agent,
    )


def errors(response: Any) -> list[str]:
    return list(response.context["form"].non_field_errors())


def fail(times: int, username: str = "lisi", *, ip: str = IP) -> Any:
    response = None
    for _ in range(times):
        response = attempt(Client(), username, WRONG, ip=ip)
    return response


def signed_in(response: Any) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


# every attempt, logout and unlock is logged with who, when, where from and the result


def test_r19_every_login_attempt_logged(client: Client) -> None:
    user = make_user("lisi")
    with clock.frozen_at(T0):
        attempt(client, "LiSi", WRONG)
        attempt(client, "nobody", WRONG)
        assert signed_in(attempt(client, "lisi", STRONG_PASSWORD))
        client.post(reverse("identity:logout"), REMOTE_ADDR=IP, HTTP_USER_AGENT=AGENT)

    rows = list(LoginAttempt.objects.order_by("id"))
    assert [(r.result, r.reason) for r in rows] == [
        (Result.FAILURE, "bad_password"),
        (Result.FAILURE, "unknown_user"),
        (Result.SUCCESS, "password"),
        (Result.LOGOUT, "logout"),
    ]
    assert [r.username for r in rows] == ["LiSi", "nobody", "lisi", "lisi"]
    assert [r.user_id for r in rows] == [user.pk, None, user.pk, user.pk]
    for row in rows:
        assert row.time == T0
        assert row.ip == IP
        assert row.user_agent == AGENT
        assert row.channel == LoginAttempt.Channel.WEB


def test_r19_inactive_account_logged_as_inactive(client: Client) -> None:
    leaver = make_user("leaver", is_active=False)
    response = attempt(client, "leaver", STRONG_PASSWORD)
    assert errors(response) == [GENERIC]
    row = LoginAttempt.objects.get()
    assert (row.result, row.reason, row.user) == (Result.INACTIVE, "inactive", leaver)


def test_r19_long_username_and_user_agent_stored_truncated() -> None:
    row = services.login_attempt_record(
        username="张" * 200, result=Result.FAILURE, user_agent="A" * 400, ip=IP, reason="unknown_user"
    )
    row.refresh_from_db()
    assert row.username == "张" * 150
    assert row.user_agent == "A" * 300


def test_r19_client_ip_is_remote_addr_unless_a_trusted_proxy_forwards(settings: Any) -> None:
    def seen(remote: str, forwarded: str = "") -> str | None:
        request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
        return http.client_ip(request)

    assert seen(IP, "203.0.113.66") == IP

    settings.XIETONG_TRUSTED_PROXIES = ["10.0.0.1", "10.8.0.0/16"]
    assert seen("10.0.0.1", OTHER_IP) == OTHER_IP
    assert seen(IP, "203.0.113.66") == IP
    # nginx appends to what the client sent: the client's own claim on the left is not believed.
    assert seen("10.0.0.1", f"203.0.113.66, {OTHER_IP}, 10.8.1.2") == OTHER_IP
    assert seen("10.0.0.1", "not-an-ip") == "10.0.0.1"
    assert seen("::ffff:192.0.2.10") == IP


def test_r19_login_log_rows_cannot_be_changed_or_deleted() -> None:
    user = make_user("lisi")
    row = services.login_attempt_record(username="lisi", result=Result.FAILURE, user=user, ip=IP)
    row.result = Result.SUCCESS
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        LoginAttempt.objects.filter(pk=row.pk).update(result=Result.SUCCESS)
    with pytest.raises(AppendOnlyError):
        LoginAttempt.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        LoginAttempt.objects.bulk_update([row], ["result"])
    copy = LoginAttempt(pk=row.pk, username="forged", result=Result.SUCCESS)
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017, PT011 - the backend's IntegrityError
        copy.save()
    row.refresh_from_db()
    assert (row.username, row.result) == ("lisi", Result.FAILURE)


def test_r19_deleting_an_account_keeps_its_login_history() -> None:
    user = make_user("lisi")
    services.login_attempt_record(username="LiSi", result=Result.FAILURE, user=user, ip=IP)
    user.delete()
    row = LoginAttempt.objects.get()
    assert (row.user_id, row.username) == (None, "LiSi")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_r19_database_refuses_raw_update_and_delete() -> None:
    from django.db import DatabaseError

    row = services.login_attempt_record(username="lisi", result=Result.FAILURE, ip=IP)
    for sql in [
        "UPDATE identity_loginattempt SET result = 'success' WHERE id = %s",
        "DELETE FROM identity_loginattempt WHERE id = %s",
    ]:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [row.pk])
    assert LoginAttempt.objects.get().result == Result.FAILURE


# repeated failures lock the account, before the password is looked at


def test_r21_five_failures_lock_the_account(client: Client, caplog: Any) -> None:
    make_user("lisi")
    with clock.frozen_at(T0):
        for _ in range(4):
            assert errors(attempt(Client(), "lisi", WRONG)) == [GENERIC]
        with caplog.at_level(logging.WARNING, logger="xietong.identity"):
            fifth = attempt(Client(), "lisi", WRONG)
        assert errors(fifth) == [LOCKED]
        assert "identity.login.account_locked" in caplog.messages

        with mock.patch.object(User, "check_password", side_effect=AssertionError("password checked")):
            response = attempt(client, "lisi", STRONG_PASSWORD)
    assert not signed_in(response)
    assert errors(response) == [LOCKED]
    last = LoginAttempt.objects.order_by("-id").first()
    assert last is not None
    assert (last.result, last.reason) == (Result.LOCKED, "account_locked")


def test_r21_login_works_again_after_30_minutes() -> None:
    make_user("lisi")
    with clock.frozen_at(T0):
        fail(5)
    with clock.frozen_at(T0 + dt.timedelta(minutes=29, seconds=59)):
        assert errors(attempt(Client(), "lisi", STRONG_PASSWORD)) == [LOCKED]
    with clock.frozen_at(T0 + dt.timedelta(minutes=30)):
        assert signed_in(attempt(Client(), "lisi", STRONG_PASSWORD))


def test_r21_failures_spread_over_more_than_15_minutes_do_not_lock() -> None:
    make_user("lisi")
    for minutes in [0, 4, 8, 12, 16]:
        with clock.frozen_at(T0 + dt.timedelta(minutes=minutes)):
            assert errors(fail(1)) == [GENERIC]
    with clock.frozen_at(T0 + dt.timedelta(minutes=17)):
        assert signed_in(attempt(Client(), "lisi", STRONG_PASSWORD))


def test_r21_failures_before_a_successful_login_no_longer_count() -> None:
    make_user("lisi")
    with clock.frozen_at(T0):
        fail(4)
        assert signed_in(attempt(Client(), "lisi", STRONG_PASSWORD))
        fail(4)
        assert signed_in(attempt(Client(), "lisi", STRONG_PASSWORD))
    assert LoginAttempt.objects.filter(result=Result.FAILURE).count() == 8  # history kept


def test_r21_unknown_username_gets_the_identical_locked_message() -> None:
    make_user("lisi")
    with clock.frozen_at(T0):
        fail(5, "lisi")
        for name in ["Nobody", "NOBODY", "nobody", "ｎｏｂｏｄｙ", "nobody "]:
            fail(1, name)  # one counter for every spelling of the same name
        known = attempt(Client(), "lisi", STRONG_PASSWORD)
        unknown = attempt(Client(), "nobody", STRONG_PASSWORD)
    assert errors(known) == errors(unknown) == [LOCKED]
    assert known.status_code == unknown.status_code == 200


def test_r21_login_name_and_employee_no_share_one_counter() -> None:
    make_user("lisi", employee_no="1042")
    with clock.frozen_at(T0):
        fail(3, "lisi")
        fail(2, "1042")
        assert errors(attempt(Client(), "LISI", STRONG_PASSWORD)) == [LOCKED]


def test_r21_twenty_failures_from_one_ip_lock_that_ip() -> None:
    make_user("lisi")
    with clock.frozen_at(T0):
        for n in range(19):
            assert errors(fail(1, f"user{n}")) == [GENERIC]
        twentieth = fail(1, "user19")
        assert "来自您所在网络地址的登录失败次数过多" in errors(twentieth)[0]
        # The right password of an account never tried from there is refused too ...
        refused = attempt(Client(), "lisi", STRONG_PASSWORD)
        assert "来自您所在网络地址的登录失败次数过多" in errors(refused)[0]
        assert LoginAttempt.objects.order_by("-id")[0].reason == "ip_locked"
        # ... while the same account signs in from elsewhere.
        assert signed_in(attempt(Client(), "lisi", STRONG_PASSWORD, ip=OTHER_IP))
    with clock.frozen_at(T0 + dt.timedelta(minutes=30)):
        assert signed_in(attempt(Client(), "lisi", STRONG_PASSWORD))


def test_r21_a_successful_login_does_not_reset_the_ip_counter() -> None:
    make_user("lisi")
    with clock.frozen_at(T0):
        for n in range(10):
            fail(1, f"user{n}")
        assert signed_in(attempt(Client(), "lisi", STRONG_PASSWORD))
        for n in range(10, 20):
            fail(1, f"user{n}")
        assert selectors.ip_locked_until(ip=IP) == T0 + dt.timedelta(minutes=30)


def test_r21_same_counters_for_api_and_websocket_logins() -> None:
    """IA-05: every login path shares the counters through ``services.login_authenticate``."""
    user = make_user("lisi")
    with clock.frozen_at(T0):
        fail(3)
        for channel in [LoginAttempt.Channel.API, LoginAttempt.Channel.WEBSOCKET]:
            outcome = services.login_authenticate(
                username="lisi", password=WRONG, ip=OTHER_IP, user_agent="", channel=channel
            )
            assert outcome.user is None
        assert not selectors.attempt_allowed(username="lisi", ip=OTHER_IP)
        assert selectors.attempt_allowed(username="wangwu", ip=OTHER_IP)
        outcome = services.login_authenticate(
            username="lisi", password=STRONG_PASSWORD, ip=OTHER_IP, user_agent="", channel="api"
        )
    assert (outcome.result, outcome.user, outcome.message) == (Result.LOCKED, None, LOCKED)
    channels = set(LoginAttempt.objects.filter(user=user).values_list("channel", flat=True))
    assert channels == {"web", "api", "websocket"}


def test_r24_lockout_thresholds_come_from_settings(settings: Any) -> None:
    settings.XIETONG_LOCKOUT_FAILURES = 3
    settings.XIETONG_LOCKOUT_MINUTES = 45
    make_user("lisi")
    with clock.frozen_at(T0):
        assert errors(fail(3)) == [LOCKED.replace("30", "45")]
    with clock.frozen_at(T0 + dt.timedelta(minutes=44)):
        assert not selectors.attempt_allowed(username="lisi", ip=IP)
    with clock.frozen_at(T0 + dt.timedelta(minutes=45)):
        assert selectors.attempt_allowed(username="lisi", ip=IP)


# Unlock by the security administrator


def test_r21_security_admin_unlocks_on_the_login_log_page(
    secadmin_client: Client, secadmin_user: User
) -> None:
    make_user("lisi")
    with clock.frozen_at(T0):
        fail(5)
        fail(5, "nobody")
        page = secadmin_client.get(reverse("identity:login_log"))
        assert [a.username for a in page.context["locked_accounts"]] == ["lisi", "nobody"]
        assert 'data-locked-username="lisi"' in page.content.decode()

        response = secadmin_client.post(
            reverse("identity:login_log"), {"username": "LiSi"}, REMOTE_ADDR=OTHER_IP
        )
        assert response.status_code == 302
        assert signed_in(attempt(Client(), "lisi", STRONG_PASSWORD))
        assert errors(attempt(Client(), "nobody", WRONG)) == [LOCKED]

    unlock = LoginAttempt.objects.get(result=Result.UNLOCK)
    assert (unlock.actor, unlock.user.username if unlock.user else None) == (secadmin_user, "lisi")
    assert unlock.ip == OTHER_IP
    assert LoginAttempt.objects.filter(result=Result.FAILURE, login_key="lisi").count() == 5


def test_r21_unlock_api_for_the_security_admin_only(
    client: Client, user_client: Client, secadmin_client: Client
) -> None:
    make_user("wangfang")
    with clock.frozen_at(T0):
        fail(5, "wangfang")
        url = "/api/v1/identity/unlock"

        refused = user_client.post(url, {"username": "wangfang"}, content_type="application/json")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
        assert client.post(url, {"username": "wangfang"}, content_type="application/json").status_code == 401
        assert not selectors.attempt_allowed(username="wangfang", ip=OTHER_IP)

        done = secadmin_client.post(url, {"username": "wangfang"}, content_type="application/json")
        assert done.status_code == 200
        assert done.json() == {"username": "wangfang", "unlocked": True}
        assert selectors.attempt_allowed(username="wangfang", ip=OTHER_IP)
        row = LoginAttempt.objects.get(result=Result.UNLOCK)
        assert row.channel == LoginAttempt.Channel.API

        blank = secadmin_client.post(url, {"username": ""}, content_type="application/json")
        assert blank.status_code == 422


def test_r21_unlock_service_refuses_others(user: User) -> None:
    from xietong.core.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        services.account_unlock(actor=user, username="lisi")
    assert not LoginAttempt.objects.exists()


# the security administrator reviews the log


def test_r20_login_log_page_for_security_and_audit_admins_only(
    client: Client, user_client: Client, staff_client: Client, auditadmin_client: Client
) -> None:
    url = reverse("identity:login_log")
    assert user_client.get(url).status_code == 403
    assert staff_client.get(url).status_code == 403  # the 系统管理员 does not read logs (三员分立)
    audit_page = auditadmin_client.get(url)
    assert audit_page.status_code == 200
    assert not audit_page.context["can_unlock"]  # reads, changes nothing
    auditadmin_client.post(url, {"username": "lisi"})
    assert user_client.post(url, {"username": "lisi"}).status_code == 403
    assert not LoginAttempt.objects.filter(result=Result.UNLOCK).exists()
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("identity:login"))


def test_r20_login_log_filters(secadmin_client: Client) -> None:
    make_user("lisi")
    make_user("wangfang", name="王芳")
    with clock.frozen_at(T0 - dt.timedelta(days=1)):
        fail(1, "lisi", ip=OTHER_IP)
    with clock.frozen_at(T0):
        fail(1, "WangFang")
        attempt(Client(), "lisi", STRONG_PASSWORD)
    url = reverse("identity:login_log")

    def shown(**params: str) -> list[str]:
        response = secadmin_client.get(url, params)
        assert response.status_code == 200
        return [f"{r.username}:{r.result}" for r in response.context["page"].object_list]

    assert shown() == ["lisi:success", "WangFang:failure", "lisi:failure"]
    assert shown(username="FANG") == ["WangFang:failure"]
    assert shown(result="failure") == ["WangFang:failure", "lisi:failure"]
    assert shown(ip=OTHER_IP) == ["lisi:failure"]
    assert shown(date_from="2026-03-02", date_to="2026-03-02") == ["lisi:success", "WangFang:failure"]
    assert shown(date_to="2026-03-01") == ["lisi:failure"]
    bad = secadmin_client.get(url, {"date_from": "2026-03-02", "date_to": "2026-03-01"})
    assert bad.context["page"] is None
    assert "截止日期不能早于起始日期" in bad.content.decode()


def test_r20_login_log_paginates_by_50(secadmin_client: Client) -> None:
    with clock.frozen_at(T0):
        LoginAttempt.objects.bulk_create(
            LoginAttempt(username=f"u{n}", login_key=f"u{n}", result=Result.FAILURE, time=clock.now())
            for n in range(51)
        )
    page = secadmin_client.get(reverse("identity:login_log"), {"result": "failure"}).context["page"]
    assert (len(page.object_list), page.paginator.num_pages) == (50, 2)
    second = secadmin_client.get(reverse("identity:login_log"), {"result": "failure", "page": "2"})
    assert len(second.context["page"].object_list) == 1
    assert "result=failure&amp;page=1" in second.content.decode()


def test_r20_login_log_page_query_count_is_constant(
    secadmin_client: Client, secadmin_user: User, django_assert_max_num_queries: Any
) -> None:
    url = reverse("identity:login_log")

    def populate(names: range) -> None:
        for n in names:
            user = make_user(f"user{n}")
            fail(5, f"user{n}", ip=f"192.0.2.{n + 1}")
            services.login_attempt_record(username=f"user{n}", result=Result.LOGOUT, user=user, ip=IP)
            services.account_unlock(actor=secadmin_user, username=f"ghost{n}")

    with clock.frozen_at(T0):
        populate(range(1))
        for n in range(20):
            fail(1, f"spray{n}", ip=OTHER_IP)
        with CaptureQueriesContext(connection) as few:
            assert secadmin_client.get(url).status_code == 200
        baseline = len(few.captured_queries)  # now: every request start empties the query log
        assert baseline <= 11  # with the bell's unread count in the page shell
        populate(range(1, 13))  # more than a page of rows, a dozen more locked accounts
        with django_assert_max_num_queries(baseline):
            response = secadmin_client.get(url)
    assert len(response.context["locked_accounts"]) == 13
    assert [a.ip for a in response.context["locked_addresses"]] == [OTHER_IP]
    assert len(response.context["page"].object_list) == 50
