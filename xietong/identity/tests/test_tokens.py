"""Personal API tokens: made once and stored hashed, Bearer authentication beside the session,
scopes, expiry, revocation and the shared lockout (IA-05)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.fixtures import STRONG_PASSWORD, grant_role, make_user
from xietong.audit.models import Event
from xietong.core import clock
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.identity import audit_actions, services
from xietong.identity.models import ApiToken, LoginAttempt, User
from xietong.org import builtin

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
ME = "/api/v1/identity/me"
IP = "192.0.2.50"
Result = LoginAttempt.Result


def api(method: str, path: str, token: str, *, ip: str = IP, **kwargs: Any) -> Any:
    # enforce_csrf_checks: a token request must pass without any CSRF token.
    client = Client(enforce_csrf_checks=True)
    call = getattr(client, method)
    return call(path, HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR=ip, **kwargs)


def make_token(user: User, scope: str = ApiToken.Scope.READ, days: int | None = None) -> tuple[ApiToken, str]:
    return services.api_token_create(user=user, name="同步脚本", scope=scope, days=days)


def test_ia05_token_created_on_the_page_shown_once_stored_hashed() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        client = Client()
        client.force_login(user)
        posted = client.post(reverse("identity:tokens"), {"name": "数据同步", "scope": "read", "days": 90})
        assert posted.status_code == 302  # post/redirect/get: a reload makes no second token
        page = client.get(posted["Location"])
    raw = re.search(r"xt_[A-Za-z0-9_-]{43}", page.content.decode())
    assert raw is not None
    token = ApiToken.objects.get(user=user)
    assert token.token_hash == hashlib.sha256(raw.group().encode()).hexdigest()
    assert token.prefix == raw.group()[:11]
    assert token.expires_at == T0 + 90 * DAY
    assert raw.group() not in str(ApiToken.objects.values_list().get())  # never stored
    assert Event.objects.filter(action=audit_actions.API_TOKEN_CREATED).exists()
    with clock.frozen_at(T0):
        again = client.get(reverse("identity:tokens")).content.decode()
    assert raw.group() not in again
    assert token.prefix in again


def test_token_creation_needs_a_recent_password_check() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        client = Client()
        client.force_login(user)
    with clock.frozen_at(T0 + dt.timedelta(minutes=6)):
        response = client.post(reverse("identity:tokens"), {"name": "x", "scope": "read", "days": 90})
        assert response["Location"].startswith(reverse("identity:confirm"))
    assert not ApiToken.objects.exists()


def test_token_validity_defaults_to_90_days_and_is_at_most_365() -> None:
    user = make_user()
    token, _ = make_token(user)
    assert token.expires_at - token.created_at == 90 * DAY
    with pytest.raises(DomainError):
        make_token(user, days=366)


def test_ia05_token_auth_works_for_get() -> None:
    user = make_user()
    _, raw = make_token(user)
    response = api("get", ME, raw)
    assert response.status_code == 200
    assert response.json()["username"] == "lisi"
    token = ApiToken.objects.get()
    assert token.last_used_at is not None
    assert token.last_used_ip == IP


def test_read_token_refused_for_writes_write_token_allowed_without_csrf() -> None:
    user = make_user()
    read, read_raw = make_token(user)
    _write, write_raw = make_token(user, ApiToken.Scope.WRITE)
    refused = api("delete", f"/api/v1/identity/tokens/{read.pk}", read_raw)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "token_scope"
    posted = api(
        "post", "/api/v1/identity/unlock", read_raw, data={"username": "x"}, content_type="application/json"
    )
    assert posted.status_code == 403
    assert posted.json()["error"]["code"] == "token_scope"
    allowed = api("delete", f"/api/v1/identity/tokens/{read.pk}", write_raw)
    assert allowed.status_code == 200
    assert allowed.json()["status"] == "revoked"


def test_token_refused_after_revoke() -> None:
    user = make_user()
    token, raw = make_token(user)
    client = Client()
    client.force_login(user)
    client.post(reverse("identity:token_revoke", args=[token.pk]))
    response = api("get", ME, raw)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "unauthenticated", "message": "访问令牌无效、已过期或已撤销。"}
    }
    assert LoginAttempt.objects.filter(reason="token_revoked", channel="api").count() == 1


def test_token_refused_after_expiry() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        _, raw = make_token(user, days=30)
    with clock.frozen_at(T0 + 29 * DAY):
        assert api("get", ME, raw).status_code == 200
    with clock.frozen_at(T0 + 30 * DAY):
        response = api("get", ME, raw)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"


def test_token_of_a_disabled_account_refused() -> None:
    user = make_user()
    _, raw = make_token(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = api("get", ME, raw)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert LoginAttempt.objects.filter(result=Result.INACTIVE, channel="api").exists()


def test_token_refused_while_the_password_must_be_changed() -> None:
    user = make_user()
    _, raw = make_token(user)
    User.objects.filter(pk=user.pk).update(must_change_password=True)
    response = api("get", ME, raw)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "password_change_required"


def test_ia05_token_failures_count_towards_lockout() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        token, raw = make_token(user)
        forged = token.prefix + "x" * (len(raw) - len(token.prefix))  # right prefix, wrong secret
        for _ in range(settings.XIETONG_LOCKOUT_FAILURES):
            assert api("get", ME, forged).status_code == 401
        # The owner's account is locked now: the valid token and the password both refused.
        locked = api("get", ME, raw)
        assert locked.status_code == 401
        assert "账号已临时锁定" in locked.json()["error"]["message"]
        web = Client().post(reverse("identity:login"), {"username": "lisi", "password": STRONG_PASSWORD})
        assert "账号已临时锁定" in web.content.decode()
    rows = LoginAttempt.objects.filter(user=user, channel=LoginAttempt.Channel.API)
    assert rows.filter(result=Result.FAILURE, reason="bad_token").count() == settings.XIETONG_LOCKOUT_FAILURES
    assert rows.filter(result=Result.LOCKED).exists()
    with clock.frozen_at(T0 + dt.timedelta(minutes=settings.XIETONG_LOCKOUT_MINUTES + 1)):
        assert api("get", ME, raw).status_code == 200


def test_ia05_random_tokens_count_towards_the_address_lockout() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        _, raw = make_token(user)
        for n in range(settings.XIETONG_LOCKOUT_IP_FAILURES):
            assert api("get", ME, f"xt_{n:08d}" + "a" * 35).status_code == 401
        blocked = api("get", ME, raw)
        assert blocked.status_code == 401
        assert "网络地址" in blocked.json()["error"]["message"]
        assert api("get", ME, raw, ip="198.51.100.1").status_code == 200


def test_bearer_header_with_a_bad_token_does_not_fall_back_to_the_session() -> None:
    user = make_user()
    client = Client()
    client.force_login(user)
    assert client.get(ME).status_code == 200
    assert client.get(ME, HTTP_AUTHORIZATION="Bearer xt_nonsense").status_code == 401


def test_user_tokens_revoke_for_departures(sysadmin_user: User) -> None:
    user = make_user()
    raws = [make_token(user)[1] for _ in range(3)]
    assert services.user_tokens_revoke(user=user, actor=sysadmin_user) == 3
    assert all(api("get", ME, raw).status_code == 401 for raw in raws)
    assert services.user_tokens_revoke(user=user) == 0


def test_administrator_tiers_get_no_tokens() -> None:
    admin = make_user("secadmin", name="安全管理员")
    grant_role(admin, builtin.SECURITY_ADMIN)
    with pytest.raises(PermissionDeniedError):
        make_token(admin)
    client = Client()
    client.force_login(admin)
    assert "三员管理员账号不能使用访问令牌" in client.get(reverse("identity:tokens")).content.decode()


def test_token_api_lists_and_creates_with_session_only() -> None:
    user = make_user()
    client = Client()
    client.force_login(user)
    created = client.post(
        "/api/v1/identity/tokens",
        {"name": "报表", "scope": "write", "days": 10},
        content_type="application/json",
    )
    assert created.status_code == 201
    raw = created.json()["token"]
    assert raw.startswith("xt_")
    listed = api("get", "/api/v1/identity/tokens", raw).json()
    assert [t["name"] for t in listed] == ["报表"]
    assert "token" not in listed[0]
    # A token cannot mint another token.
    minted = api("post", "/api/v1/identity/tokens", raw, data={"name": "x"}, content_type="application/json")
    assert minted.status_code in (401, 403)
    assert ApiToken.objects.count() == 1
