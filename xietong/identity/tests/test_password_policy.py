"""The password policy (R-03…R-06; IA-02, IA-03, IA-09, IA-11; SES-07)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.fixtures import STRONG_PASSWORD, make_user
from xietong.audit.models import Event
from xietong.core import access, clock
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.identity import audit_actions, passwords, policy, reauth, services, tasks
from xietong.identity.models import PasswordHistory, PasswordPolicy, User

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Beijing
DAY = dt.timedelta(days=1)
POLICY_API = "/api/v1/identity/password-policy"
ME_API = "/api/v1/identity/me"


class RolesForTests:
    """Grants codenames by login name, standing in for the roles system (core.access)."""

    def __init__(self, grants: dict[str, set[str]]) -> None:
        self.grants = grants
        self.real = access.get_provider()  # the roles system's, for the test that uses it

    def resolve(self, user: Any) -> access.Grants:
        return access.Grants(scopes=dict.fromkeys(self.grants.get(user.username, set()), access.EVERYTHING))

    def unit_filter(self, rules: Any, lookup: str) -> Q:
        return Q(pk__in=[])

    def unit_within(self, rules: Any, unit: Any) -> bool:
        return False


@pytest.fixture(autouse=True)
def fresh_policy_cache() -> Iterator[None]:
    # The policy cache outlives the test transaction: a policy saved in one test must not
    # leak into the next after the rollback.
    policy.invalidate()
    yield
    policy.invalidate()


@pytest.fixture(autouse=True)
def roles() -> Iterator[RolesForTests]:
    provider = RolesForTests({"anquan": {"identity.manage_policy"}, "xitong": {"org.manage_users"}})
    with access.provider_override(provider):
        yield provider


@pytest.fixture
def security_admin(db: Any) -> User:
    return make_user("anquan", name="安全保密管理员")


@pytest.fixture
def account_admin(db: Any) -> User:
    return make_user("xitong", name="系统管理员")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def refusal(password: str, user: User | None = None) -> str:
    """The validators' messages for ``password``, joined; empty when it is accepted."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return " ".join(exc.messages)
    return ""


def change(client: Client, old: str, new: str) -> Any:
    return client.post(
        reverse("identity:password_change"),
        {"old_password": old, "new_password1": new, "new_password2": new},
    )


def set_policy(**values: Any) -> None:
    base = policy.PROFILE_DEFAULTS[values.get("profile", policy.DENGBAO)]
    row = PasswordPolicy(**{name: values.get(name, getattr(base, name)) for name in policy.FIELDS})
    row.save()


# composition and length, each failed rule named in Chinese


@pytest.mark.parametrize(
    ("password", "missing"),
    [
        ("xietong#2026strong", "大写字母"),
        ("XIETONG#2026STRONG", "小写字母"),
        ("Xietong#strongpass", "数字"),
        ("Xietong2026strong", "特殊字符"),
        ("xietong2026strong", "大写字母、特殊字符"),
    ],
)
def test_r03_each_missing_character_class_named(password: str, missing: str) -> None:
    assert f"密码必须包含{missing}。" in refusal(password, make_user())


def test_r03_minimum_length_from_the_policy() -> None:
    user = make_user()
    assert "至少需要 10 个字符" in refusal("Xt#2026ab", user)
    set_policy(min_length=14)
    assert refusal("Xietong#2026ab", user) == ""  # 14 characters
    assert "至少需要 14 个字符" in refusal("Xietong#2026a", user)  # 13


def test_r03_symbols_beyond_ascii_count_as_special_characters() -> None:
    user = make_user()
    assert refusal("Xietong2026strong！", user) == ""  # full-width exclamation mark
    assert refusal("Xietong2026strong😀", user) == ""


# weak passwords refused even with all character classes


def test_r04_common_and_username_based_passwords_refused() -> None:
    zhang = make_user("weiz01", name="张伟", employee_no="100234", mobile="13912345678")
    ouyang = make_user("nana", name="欧阳娜娜")
    common = "密码过于常见"
    cases = [
        ("P@ssw0rd", zhang, common),
        ("P@ssw0rd2026!", zhang, common),
        ("Passw0rd!", zhang, common),
        ("Admin@123", zhang, common),
        ("Aa123456", zhang, common),
        ("Woaini1314!", zhang, common),
        ("Huadian@123", zhang, common),
        ("2026@Huadian", zhang, common),
        ("Zhangwei@2026", zhang, "姓名拼音"),
        ("zhangWEI#2026x", zhang, "姓名拼音"),  # case-insensitive
        ("Zh@ng.Wei2026", zhang, "姓名拼音"),  # separators and symbol swaps undone
        ("Weizhang@2026", zhang, "姓名拼音"),
        ("张伟#Abc2026x", zhang, "姓名"),
        ("Weiz01#Strong", zhang, "用户名"),
        ("Pw#100234abcX", zhang, "工号"),
        ("Tel#13912345678x", zhang, "手机号码"),
        ("Oynn#2026gardenX", ouyang, "姓名拼音首字母"),
        ("Qwertyuiop1!", zhang, "键盘"),
        ("1qaz@WSX3edc", zhang, "键盘"),
        ("!QAZ2wsx#EDC4rfv", zhang, "键盘"),
        ("Abcd1234!", zhang, "键盘"),
        ("Xaaaa#2026bc", zhang, "相同的字符"),
        ("Ab1!Ab1!Ab1!", zhang, "重复组成"),
    ]
    for password, user, message in cases:
        assert message in refusal(password, user), password


def test_r04_two_letter_initials_and_ordinary_passwords_allowed() -> None:
    zhang = make_user("weiz01", name="张伟", employee_no="100234")
    # "zw" alone is too common a fragment to forbid.
    assert refusal("Zw#Garden2026x", zhang) == ""
    assert refusal("Garden#Lotus2026", zhang) == ""
    assert refusal("Hn#1234Jk9pqw", zhang) == ""  # a short run inside a long password is fine


def test_r04_common_list_combines_django_and_ours() -> None:
    words = passwords.common_passwords()
    assert {"password", "iloveyou"} <= words  # Django's list, read from Django
    assert {"woaini1314", "huadian", "1qaz2wsx", "aa123456"} <= words  # ours
    assert passwords.OUR_COMMON_PASSWORDS.exists()


# expiry with warnings; an expired password blocks every page and API call


def test_r05_expired_password_forces_change() -> None:
    with clock.frozen_at(T0):
        user = make_user(password_changed_at=T0)
    with clock.frozen_at(T0 + 70 * DAY):  # 20 days left: no warning yet
        client = signed_in(user)
        assert "xt-password-warning" not in client.get("/").content.decode()
    # Days apart, every step signs in again: an idle session ends after 30 minutes (SES-01).
    with clock.frozen_at(T0 + 80 * DAY):  # 10 days left: warned on every page
        client = signed_in(user)
        page = client.get("/").content.decode()
        assert "xt-password-warning" in page
        assert "您的密码将在 10 天后（2026-05-31）过期" in page
        assert client.get(ME_API).status_code == 200
        # Closed for the rest of the day, back the next day.
        client.post(reverse("identity:password_warning_dismiss"), {"next": "/"})
        assert "xt-password-warning" not in client.get("/").content.decode()
    with clock.frozen_at(T0 + 81 * DAY):
        assert "您的密码将在 9 天后" in signed_in(user).get("/").content.decode()
    with clock.frozen_at(T0 + 91 * DAY):
        client = signed_in(user)
        home = client.get("/")
        assert home.status_code == 302
        assert home["Location"].startswith(reverse("identity:password_change"))
        api = client.get(ME_API)
        assert api.status_code == 403
        assert api.json()["error"] == {
            "code": "password_expired",
            "message": "您的密码已过期，请先修改密码。",
        }
        assert "您的密码已过期" in client.get(reverse("identity:password_change")).content.decode()
        new = "Garden#Lotus2026"
        assert change(client, STRONG_PASSWORD, new).status_code == 302
        assert client.get("/").status_code == 200
        assert client.get(ME_API).status_code == 200
    user.refresh_from_db()
    assert user.password_changed_at == T0 + 91 * DAY


def test_r05_reuse_of_last_5_refused() -> None:
    user = make_user()
    chosen = [f"Garden#Lotus{n}x" for n in range(1, 7)]
    moment = T0
    for password in chosen[:5]:
        moment += 2 * DAY  # past the once-a-day rule
        with clock.frozen_at(moment):
            services.user_change_password(user=user, new_password=password)
    with clock.frozen_at(moment + 2 * DAY):
        for old in chosen[:5]:  # the current password and the four before it
            assert "不能与最近 5 次使用过的密码相同" in refusal(old, user), old
        # The initial password is the sixth back: allowed again.
        services.user_change_password(user=user, new_password=STRONG_PASSWORD)
    with clock.frozen_at(moment + 4 * DAY):
        services.user_change_password(user=user, new_password=chosen[5])
        # The last five now: chosen[5], STRONG_PASSWORD, chosen[4], chosen[3], chosen[2].
        assert refusal(chosen[2], user) != ""
        assert refusal(chosen[1], user) == ""  # dropped out of the last five


def test_r05_password_changes_at_most_once_a_day(account_admin: User) -> None:
    user = make_user()
    with clock.frozen_at(T0):
        services.user_change_password(user=user, new_password="Garden#Lotus2026")
    with clock.frozen_at(T0 + dt.timedelta(hours=3)):
        client = signed_in(user)
        response = change(client, "Garden#Lotus2026", "Orchid#River2026")
        assert response.status_code == 200
        assert "两次修改密码至少间隔 24 小时，请于 2026-03-03 09:00 之后再修改。" in response.content.decode()
        with pytest.raises(ValidationError):
            services.user_change_password(user=user, new_password="Orchid#River2026")
        # An administrator's reset forces a change, which the rule does not hold up.
        one_time = services.user_reset_password(actor=account_admin, user=user)
    with clock.frozen_at(T0 + dt.timedelta(hours=4)):
        services.user_change_password(user=user, new_password="Orchid#River2026")
    with (
        clock.frozen_at(T0 + dt.timedelta(hours=5)),
        pytest.raises(ValidationError, match="至少间隔 24 小时"),
    ):
        services.user_change_password(user=user, new_password="Maple#Stone2026")
    with clock.frozen_at(T0 + dt.timedelta(hours=29)):
        services.user_change_password(user=user, new_password="Maple#Stone2026")
    assert one_time


# an administrator's reset issues a one-time password


def test_r06_admin_reset_issues_one_time_password(account_admin: User) -> None:
    user = make_user()
    with clock.frozen_at(T0):
        services.user_change_password(user=user, new_password="Garden#Lotus2026")
    with clock.frozen_at(T0 + dt.timedelta(hours=1)):
        one_time = services.user_reset_password(actor=account_admin, user=user)
        user.refresh_from_db()
        assert user.must_change_password
        assert user.check_password(one_time)
        assert len(one_time) >= 16
        assert one_time not in user.password  # a hash only
        entry = user.password_history.first()
        assert entry is not None
        assert (entry.kind, entry.actor) == (PasswordHistory.Kind.RESET, account_admin)
        event = Event.objects.get(action=audit_actions.PASSWORD_RESET)
        assert event.target_id == str(user.pk)
        assert event.actor_id == account_admin.pk
        assert one_time not in json.dumps(event.details)

        client = Client()
        client.post(reverse("identity:login"), {"username": user.username, "password": one_time})
        assert client.get("/")["Location"].startswith(reverse("identity:password_change"))
        assert client.get(ME_API).json()["error"]["code"] == "password_change_required"
        # Changed within the hour of the last change: the forced change is not held up.
        assert change(client, one_time, "Orchid#River2026").status_code == 302
        assert client.get("/").status_code == 200


def test_r06_reset_needs_the_user_administration_permission(account_admin: User) -> None:
    user = make_user()
    other = make_user("wangwu", name="王五")
    with pytest.raises(PermissionDeniedError):
        services.user_reset_password(actor=other, user=user)
    with pytest.raises(DomainError, match="不能重置自己的密码"):
        services.user_reset_password(actor=account_admin, user=account_admin)


def test_one_time_password_meets_a_stricter_policy(account_admin: User) -> None:
    set_policy(min_length=24)
    user = make_user()
    one_time = services.user_reset_password(actor=account_admin, user=user)
    assert len(one_time) == 24


# IA-03: up to 128 characters, exactly as typed


def test_128_characters_accepted_exactly_as_typed() -> None:
    user = make_user()
    core = " 我的密码 Is 很长 😀 and has spaces 7 "
    long_password = (core * 10)[:128]
    assert len(long_password) == 128
    assert long_password.startswith(" ")

    client = signed_in(user)
    assert change(client, STRONG_PASSWORD, long_password).status_code == 302
    user.refresh_from_db()
    assert user.check_password(long_password)

    def login(password: str) -> bool:
        fresh = Client()
        fresh.post(reverse("identity:login"), {"username": "lisi", "password": password})
        return "_auth_user_id" in fresh.session

    assert login(long_password)
    assert not login(long_password.strip())
    assert not login(long_password[:127])
    assert not login(long_password.upper())


def test_129_characters_refused() -> None:
    user = make_user()
    too_long = "Garden#Lotus2026" * 8 + "x"
    assert len(too_long) == 129
    assert "最多 128 个字符" in refusal(too_long, user)
    with clock.frozen_at(T0):
        client = signed_in(user)
        assert change(client, STRONG_PASSWORD, too_long).status_code == 200
    user.refresh_from_db()
    assert user.check_password(STRONG_PASSWORD)


# IA-11: reset links work once, for 30 minutes


def reset_link(actor: User, user: User) -> str:
    request = RequestFactory().get("/")
    url = services.password_reset_link(actor=actor, user=user, request=request)
    assert url.startswith("http://testserver/account/reset/")
    return url.removeprefix("http://testserver")


def test_reset_link_single_use_and_expires_after_30_minutes(account_admin: User) -> None:
    user = make_user()
    new = "Orchid#River2026"
    with clock.frozen_at(T0):
        link = reset_link(account_admin, user)
    with clock.frozen_at(T0 + dt.timedelta(minutes=29)):
        client = Client()
        landing = client.get(link)
        assert landing.status_code == 302  # the token moves into the session, out of the address
        form_page = client.get(landing["Location"])
        assert form_page.status_code == 200
        assert "请为账号设置新的密码" in form_page.content.decode()
        done = client.post(landing["Location"], {"new_password1": new, "new_password2": new})
        assert done["Location"] == reverse("identity:password_reset_done")
        user.refresh_from_db()
        assert user.check_password(new)
        assert not user.must_change_password
        assert user.password_history.first().kind == PasswordHistory.Kind.LINK  # type: ignore[union-attr]
        # Used once: the token covered the old password hash.
        again = Client().get(link)
        assert again.status_code == 200
        assert "重置链接无效或已过期" in again.content.decode()
    assert Event.objects.filter(action=audit_actions.PASSWORD_RESET_LINK_ISSUED).count() == 1
    assert Event.objects.filter(action=audit_actions.PASSWORD_RESET_LINK_USED).count() == 1

    with clock.frozen_at(T0 + DAY):
        late = reset_link(account_admin, user)
    with clock.frozen_at(T0 + DAY + dt.timedelta(minutes=31)):
        assert "重置链接无效或已过期" in Client().get(late).content.decode()


def test_reset_link_refuses_weak_passwords_and_dies_with_the_account(account_admin: User) -> None:
    user = make_user()
    link = reset_link(account_admin, user)
    client = Client()
    form_url = client.get(link)["Location"]
    weak = client.post(form_url, {"new_password1": "P@ssw0rd2026", "new_password2": "P@ssw0rd2026"})
    assert "密码过于常见" in weak.content.decode()
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert "重置链接无效或已过期" in Client().get(link).content.decode()


# IA-09: dormant accounts disabled by the nightly job


def test_dormant_accounts_disabled(account_admin: User) -> None:
    now = T0 + 365 * DAY
    with clock.frozen_at(T0):
        recent = make_user("recent", last_login=now - 10 * DAY)
        dormant = make_user("dormant", last_login=now - 91 * DAY)
        never = make_user("never")  # joined a year ago, never signed in
        admin = make_user("admin2", name="管理员", is_staff=True, last_login=now - 120 * DAY)
        gone = make_user("gone", is_active=False)
        revived = make_user("revived", last_login=now - 200 * DAY)
    with clock.frozen_at(now - 100 * DAY):
        newcomer = make_user("newcomer", name="新员工")
    with clock.frozen_at(now - 5 * DAY):
        # Re-enabled by an administrator together with a new one-time password.
        services.user_reset_password(actor=account_admin, user=revived)
    with clock.frozen_at(now - DAY):
        newer = make_user("newer")  # joined yesterday, not signed in yet
    account_admin.last_login = now
    account_admin.save()

    client = signed_in(dormant)
    with clock.frozen_at(now):
        assert tasks.disable_dormant_accounts.call_local() == 4

    def active(user: User) -> bool:
        user.refresh_from_db()
        return user.is_active

    assert [active(u) for u in (recent, revived, newer, account_admin)] == [True] * 4
    assert [active(u) for u in (dormant, never, admin, newcomer, gone)] == [False] * 5
    events = Event.objects.filter(action=audit_actions.ACCOUNT_DISABLED_DORMANT)
    assert sorted(events.values_list("target_id", flat=True)) == sorted(
        str(u.pk) for u in (dormant, never, admin, newcomer)
    )
    assert all(e.actor_id is None for e in events)
    # The open session of a disabled account ends with it.
    assert client.get("/")["Location"].startswith(reverse("identity:login"))
    with clock.frozen_at(now):
        assert services.accounts_disable_dormant() == 0


# the policy is the security administrator's, through the page and the API


def test_policy_page_and_api_allowed_for_the_security_admin_only(security_admin: User) -> None:
    ordinary = signed_in(make_user())
    staff = signed_in(make_user("laoadmin", name="老管理员", is_staff=True))
    for client in (ordinary, staff):  # being staff is not enough
        assert client.get(reverse("identity:password_policy")).status_code == 403
        assert client.post(reverse("identity:password_policy"), {"profile": "asvs"}).status_code == 403
        denied = client.get(POLICY_API)
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "forbidden"
        put = client.put(POLICY_API, json.dumps({"profile": "asvs"}), content_type="application/json")
        assert put.status_code == 403
    assert Client().get(POLICY_API).status_code == 401
    assert not PasswordPolicy.objects.exists()

    admin = signed_in(security_admin)
    page = admin.get(reverse("identity:password_policy"))
    assert page.status_code == 200
    assert "密码策略" in page.content.decode()
    assert admin.get(POLICY_API).json()["profile"] == "dengbao"


def test_built_in_roles_security_admin_sets_the_policy_system_admin_resets_passwords(
    roles: RolesForTests, secadmin_user: User, sysadmin_user: User
) -> None:
    """The same rules with the platform's own roles: 三员分立 keeps the policy with the
    安全保密管理员 and password resets with the 系统管理员."""
    user = make_user()
    with access.provider_override(roles.real):
        assert signed_in(secadmin_user).get(POLICY_API).status_code == 200
        assert signed_in(sysadmin_user).get(POLICY_API).status_code == 403
        assert services.user_reset_password(actor=sysadmin_user, user=user)
        with pytest.raises(PermissionDeniedError):
            services.user_reset_password(actor=secadmin_user, user=user)


def test_policy_changed_through_the_page(security_admin: User) -> None:
    admin = signed_in(security_admin)
    form = {
        "profile": "dengbao",
        "min_length": "12",
        "require_classes": "on",
        "expiry_days": "60",
        "warn_days": "7",
        "history_count": "8",
        "min_change_interval_hours": "24",
    }
    response = admin.post(reverse("identity:password_policy"), form)
    assert response.status_code == 302
    assert policy.current() == policy.Policy(
        min_length=12, expiry_days=60, warn_days=7, history_count=8, min_change_interval_hours=24
    )
    refused = admin.post(reverse("identity:password_policy"), {**form, "min_length": "7"})
    assert refused.status_code == 200
    assert "应为 8 到 128 之间的整数" in refused.content.decode()
    # One button puts the chosen profile's defaults in place.
    admin.post(reverse("identity:password_policy"), {**form, "profile": "asvs", "defaults": "1"})
    assert policy.current() == policy.PROFILE_DEFAULTS[policy.ASVS]


def test_policy_api_validates_and_audits_every_change(security_admin: User) -> None:
    admin = signed_in(security_admin)

    def put(**body: Any) -> Any:
        return admin.put(POLICY_API, json.dumps(body), content_type="application/json")

    bad = put(profile="dengbao", min_length=7, history_count=25)
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "validation_error"
    assert {d["field"] for d in error["details"]} == {"min_length", "history_count"}
    assert put(profile="asvs", expiry_days=90).json()["error"]["details"] == [
        {"field": "expiry_days", "message": "ASVS 配置不要求定期更换密码，有效期应为 0。"}
    ]
    assert put(profile="dengbao", expiry_days=30, warn_days=30).status_code == 422
    assert put(profile="bogus").status_code == 422
    assert not Event.objects.filter(action=audit_actions.PASSWORD_POLICY_CHANGED).exists()

    ok = put(profile="dengbao", expiry_days=0, min_length=12)
    assert ok.status_code == 200
    body = ok.json()
    assert (body["expiry_days"], body["min_length"], body["history_count"]) == (0, 12, 5)
    assert body["updated_by"] == "anquan"
    event = Event.objects.get(action=audit_actions.PASSWORD_POLICY_CHANGED)
    assert event.actor_id == security_admin.pk
    assert event.details == {"changes": {"expiry_days": [90, 0], "min_length": [10, 12]}}
    # Never expires now: a password a year old is fine.
    with clock.frozen_at(clock.now() + 365 * DAY):
        assert not policy.password_expired(make_user(password_changed_at=T0))
    put(profile="dengbao", expiry_days=0, min_length=12)  # the same again: nothing to record
    assert Event.objects.filter(action=audit_actions.PASSWORD_POLICY_CHANGED).count() == 1


# SES-07: a sensitive change needs a password check from the last five minutes


def test_policy_change_needs_a_recent_password_check(security_admin: User) -> None:
    with clock.frozen_at(T0):
        admin = signed_in(security_admin)
        assert reauth.SESSION_KEY in admin.session  # signing in counts as a check
    with clock.frozen_at(T0 + dt.timedelta(minutes=6)):
        stale = admin.put(POLICY_API, json.dumps({"profile": "asvs"}), content_type="application/json")
        assert stale.status_code == 403
        assert stale.json()["error"]["code"] == "reauth_required"
        page = admin.get(reverse("identity:password_policy"))
        assert page.status_code == 302
        assert page["Location"] == reauth.confirm_url(reverse("identity:password_policy"))
        wrong = admin.post(page["Location"], {"password": "Wrong#Pass2026"})
        assert "密码不正确" in wrong.content.decode()
        right = admin.post(page["Location"], {"password": STRONG_PASSWORD})
        assert right["Location"] == reverse("identity:password_policy")
        fresh = admin.put(POLICY_API, json.dumps({"profile": "asvs"}), content_type="application/json")
        assert fresh.status_code == 200
    assert policy.current().profile == policy.ASVS


def test_login_records_the_password_check(client: Client) -> None:
    make_user()
    with clock.frozen_at(T0):
        client.post(reverse("identity:login"), {"username": "lisi", "password": STRONG_PASSWORD})
        assert client.session[reauth.SESSION_KEY] == T0.timestamp()


# The asvs profile: long passwords, no composition rules, no expiry, no history


def test_asvs_profile() -> None:
    set_policy(profile=policy.ASVS)
    user = make_user()
    assert refusal("correct horse battery staple", user) == ""  # no classes needed
    assert refusal("739218465012", user) == ""  # digits only are fine when long
    assert "至少需要 12 个字符" in refusal("Abc#1234xyz", user)
    assert "密码过于常见" in refusal("password1234", user)  # still the common list
    assert "姓名拼音" in refusal("lisi likes long walks", make_user("wangwu", name="李四"))
    assert "用户名" in refusal("lisi likes long walks", user)
    with clock.frozen_at(T0):
        services.user_change_password(user=user, new_password="correct horse battery staple")
        # No once-a-day rule and no history: straight back to the previous password.
        services.user_change_password(user=user, new_password=STRONG_PASSWORD)
    with clock.frozen_at(T0 + 400 * DAY):
        assert not policy.password_expired(user)
        assert policy.days_until_expiry(user) is None


# One cached selector: one query at most per request, dropped when the policy is saved


def test_policy_read_through_one_cached_selector(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        first = policy.current()
        for _ in range(5):
            assert policy.current() == first
    set_policy(min_length=16)
    with django_assert_num_queries(1):
        assert policy.current().min_length == 16
        assert policy.current().min_length == 16


def test_a_page_reads_the_policy_once(user: User) -> None:
    client = signed_in(user)

    def policy_queries(context: CaptureQueriesContext) -> int:
        return len([q for q in context.captured_queries if "identity_passwordpolicy" in q["sql"]])

    policy.invalidate()
    with CaptureQueriesContext(connection) as cold:
        assert client.get("/").status_code == 200  # middleware, warning bar and more all ask
    with CaptureQueriesContext(connection) as warm:
        client.get("/")
    assert (policy_queries(cold), policy_queries(warm)) == (1, 0)
