"""Login and the one-time initial password (R-01, R-02, R-03, R-06)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.fixtures import STRONG_PASSWORD, make_user
from xietong.identity.models import User, fold_username

pytestmark = pytest.mark.django_db
INITIAL = "Initial#Pass2026"


def login(client: Client, username: str, password: str) -> Any:
    response = client.post(reverse("identity:login"), {"username": username, "password": password})
    return response


def test_login_by_username_case_insensitive_or_employee_no(client: Client) -> None:
    make_user("wangfang", employee_no="1042")
    for name in ["wangfang", "WangFang", "ＷＡＮＧＦＡＮＧ", "1042"]:
        response = login(client, name, STRONG_PASSWORD)
        assert response.status_code == 302, name
        assert response["Location"] == "/"
        client.post(reverse("identity:logout"))


def test_r01_no_signup_route_and_inactive_account_refused(client: Client) -> None:
    assert client.get("/account/signup/").status_code == 404
    assert client.get("/account/register/").status_code == 404
    make_user("leaver", is_active=False)
    response = login(client, "leaver", STRONG_PASSWORD)
    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()


def test_wrong_password_and_unknown_user_get_the_same_message(client: Client) -> None:
    make_user("wangfang")
    wrong = login(client, "wangfang", "Nope#12345678").content.decode()
    unknown = login(client, "nobody", "Nope#12345678").content.decode()
    assert "用户名或密码错误" in wrong
    assert "用户名或密码错误" in unknown
    assert "_auth_user_id" not in client.session


def test_r01_usernames_unique_after_case_folding(db: object) -> None:
    from django.db import IntegrityError

    make_user("chenjing")
    with pytest.raises(IntegrityError):
        User.objects.create(username="ChenJing", name="陈静")


def test_r02_password_stored_as_argon2_hash_only() -> None:
    from django.contrib.auth.hashers import Argon2PasswordHasher

    hasher = Argon2PasswordHasher()
    encoded = hasher.encode(STRONG_PASSWORD, hasher.salt())
    assert encoded.startswith("argon2$")
    assert STRONG_PASSWORD not in encoded


def test_r02_production_hashes_passwords_with_argon2() -> None:
    from xietong import settings as production_settings

    assert production_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_r06_first_login_redirected_to_password_change(client: Client) -> None:
    User.objects.create_user("newcomer", INITIAL, name="新员工")
    response = login(client, "newcomer", INITIAL)
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"].startswith(reverse("identity:password_change"))
    page = client.get(reverse("identity:password_change"))
    assert "请先设置您自己的新密码" in page.content.decode()


def test_r06_api_refused_until_password_changed(client: Client) -> None:
    User.objects.create_user("newcomer", INITIAL, name="新员工")
    login(client, "newcomer", INITIAL)
    response = client.get("/api/v1/identity/me")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "password_change_required"


def test_r06_changing_password_opens_the_platform(client: Client) -> None:
    user = User.objects.create_user("newcomer", INITIAL, name="新员工")
    login(client, "newcomer", INITIAL)
    response = client.post(
        reverse("identity:password_change"),
        {"old_password": INITIAL, "new_password1": STRONG_PASSWORD, "new_password2": STRONG_PASSWORD},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password
    assert user.password_changed_at is not None
    assert user.check_password(STRONG_PASSWORD)
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/identity/me").json()["username"] == "newcomer"


@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("xietong#2026strong", "大写字母"),
        ("XIETONG#2026STRONG", "小写字母"),
        ("Xietong#strongpass", "数字"),
        ("Xietong2026strong", "特殊字符"),
        ("Xt#2026a", "密码太短，至少需要 10 个字符"),
        (INITIAL, "不能与当前密码相同"),
    ],
)
def test_r03_weak_password_refused_naming_the_rule(client: Client, new_password: str, message: str) -> None:
    user = User.objects.create_user("newcomer", INITIAL, name="新员工")
    login(client, "newcomer", INITIAL)
    response = client.post(
        reverse("identity:password_change"),
        {"old_password": INITIAL, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    user.refresh_from_db()
    assert user.must_change_password
    assert user.check_password(INITIAL)


def test_password_change_needs_the_current_password(client: Client) -> None:
    User.objects.create_user("newcomer", INITIAL, name="新员工")
    login(client, "newcomer", INITIAL)
    response = client.post(
        reverse("identity:password_change"),
        {
            "old_password": "Wrong#Pass2026",
            "new_password1": STRONG_PASSWORD,
            "new_password2": STRONG_PASSWORD,
        },
    )
    assert "当前密码不正确" in response.content.decode()


def test_password_change_rejects_offsite_next(client: Client) -> None:
    User.objects.create_user("newcomer", INITIAL, name="新员工")
    login(client, "newcomer", INITIAL)
    response = client.post(
        reverse("identity:password_change") + "?next=https://evil.example.com/",
        {"old_password": INITIAL, "new_password1": STRONG_PASSWORD, "new_password2": STRONG_PASSWORD},
    )
    assert response["Location"] == "/"


@pytest.mark.parametrize("name", ["admin", "Root", "ＧＵＥＳＴ", "sa"])
def test_ia08_reserved_names_cannot_log_in(client: Client, name: str) -> None:
    # An account that predates the rule (e.g. made in a shell) still cannot be used.
    User.objects.create_user(fold_username(name), STRONG_PASSWORD, name="保留名", must_change_password=False)
    response = login(client, name, STRONG_PASSWORD)
    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_ia08_reserved_names_cannot_be_created() -> None:
    from xietong.org.user_services import username_error

    assert username_error("admin") is not None
    assert username_error("zhangwei") is None
