"""Two-factor sign-in with TOTP: enrolment, the code step, recovery codes, the lockout and the
administrator rule (IA-05, IA-06, SES-03, SES-07)."""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import re
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice as PlainTOTPDevice

from tests.fixtures import STRONG_PASSWORD, grant_role, make_user
from xietong.audit.models import Event
from xietong.core import clock, sealing
from xietong.identity import audit_actions, twofactor
from xietong.identity.models import LoginAttempt, RecoveryCode, User
from xietong.identity.models import SealedTOTPDevice as TOTPDevice
from xietong.org import builtin

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Monday 09:00 in Beijing
STEP = dt.timedelta(seconds=30)
ME = "/api/v1/identity/me"
Result = LoginAttempt.Result


def code_at(device: TOTPDevice, moment: dt.datetime) -> str:
    """What an authenticator app shows at ``moment``: RFC 6238 computed independently."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = moment.timestamp()
    return f"{totp.token():06d}"


def enrolled(user: User) -> TOTPDevice:
    device: TOTPDevice = TOTPDevice.objects.create(
        user=user, name="default", confirmed=True, key=TOTPDevice.new_key()
    )
    return device


def password_step(client: Client, username: str = "lisi", password: str = STRONG_PASSWORD) -> Any:
    return client.post(reverse("identity:login"), {"username": username, "password": password})


def code_step(client: Client, code: str) -> Any:
    return client.post(reverse("identity:two_factor_verify"), {"code": code})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# Enrolment


def test_ia06_enrolment_with_qr_code_manual_key_and_confirming_code() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        client = Client()
        client.force_login(user)
        page = client.get(reverse("identity:two_factor_setup")).content.decode()
        device = TOTPDevice.objects.get(user=user, confirmed=False)
        # The QR code is drawn here as inline SVG: the secret goes to no outside service.
        assert "<svg" in page
        assert "<img" not in page.split('id="totp-qr"')[1].split("</div>")[0]
        assert twofactor.manual_key(device) in page
        wrong = client.post(reverse("identity:two_factor_setup"), {"code": "000000"})
        assert "验证码不正确" in wrong.content.decode()
        done = client.post(reverse("identity:two_factor_setup"), {"code": code_at(device, T0)})
        assert "已启用" in client.get(reverse("identity:two_factor")).content.decode()
    assert done.status_code == 200
    codes = re.findall(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", done.content.decode())
    assert len(set(codes)) == 10
    device.refresh_from_db()
    assert device.confirmed
    # Stored hashed only.
    stored = set(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert stored == {twofactor.recovery_hash(c) for c in codes}
    assert not stored & set(codes)
    assert Event.objects.filter(action=audit_actions.TWO_FACTOR_ENABLED, actor_id=user.pk).exists()


def test_ia06_the_secret_is_sealed_in_the_database() -> None:
    """A copy of the database alone does not give the second factor: the column holds the
    secret sealed under a key derived from SECRET_KEY, which the database does not hold."""
    with clock.frozen_at(T0):
        user = make_user()
        device = twofactor.pending_device(user)
        secret = base64.b32decode(twofactor.manual_key(device).replace(" ", ""))
        column = TOTPDevice.objects.filter(pk=device.pk).values_list("key", flat=True).get()
        assert column.startswith(sealing.PREFIX)
        assert secret.hex() not in column.lower()
        assert len(secret) == 20
        assert TOTPDevice.objects.get(pk=device.pk).bin_key == secret
        assert twofactor.verify_totp(device, code_at(device, T0))
        with override_settings(SECRET_KEY="another-" * 8), pytest.raises(sealing.SealError):
            _ = TOTPDevice.objects.get(pk=device.pk).bin_key
        # A rotated key: the old one as a fallback still opens the secret, and the next code
        # accepted seals it under the new key, so the old one can then be retired.
        with override_settings(SECRET_KEY="another-" * 8, SECRET_KEY_FALLBACKS=[settings.SECRET_KEY]):
            assert TOTPDevice.objects.get(pk=device.pk).bin_key == secret
            assert twofactor.verify_totp(device, code_at(device, T0 + STEP))
        with override_settings(SECRET_KEY="another-" * 8, SECRET_KEY_FALLBACKS=[]):
            assert TOTPDevice.objects.get(pk=device.pk).bin_key == secret


def test_ia06_the_migration_seals_secrets_enrolled_before() -> None:
    """Enrolled in clear (django-otp's own hex key): sealed by the migration, the same secret."""
    migration = importlib.import_module("xietong.identity.migrations.0006_sealed_totp_secrets")
    plain = PlainTOTPDevice.objects.create(user=make_user(), name="default", confirmed=True)
    secret = bytes.fromhex(plain.key)
    migration.seal_keys(apps, None)
    migration.seal_keys(apps, None)  # run again: nothing is sealed twice
    sealed = TOTPDevice.objects.get(pk=plain.pk)
    assert sealed.key.startswith(sealing.PREFIX)
    assert sealed.bin_key == secret
    migration.open_keys(apps, None)
    assert PlainTOTPDevice.objects.get(pk=plain.pk).key == secret.hex()


def test_ia06_enrolment_needs_a_recent_password_check() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        client = Client()
        client.force_login(user)
    with clock.frozen_at(T0 + dt.timedelta(minutes=6)):
        response = client.get(reverse("identity:two_factor_setup"))
        assert response["Location"].startswith(reverse("identity:confirm"))


# The code step of sign-in


def test_ia06_login_with_code_after_password() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        device = enrolled(user)
        client = Client()
        response = password_step(client)
        assert response["Location"] == reverse("identity:two_factor_verify")
        assert not signed_in(client)  # the password alone does not sign in
        assert client.get("/").status_code == 302
        response = code_step(client, code_at(device, T0))
        assert response.status_code == 302
        assert response["Location"] == "/"
        assert signed_in(client)
        assert client.session.get(twofactor.SESSION_VERIFIED_AT)
    rows = list(LoginAttempt.objects.filter(user=user).order_by("id").values_list("result", "reason"))
    assert rows == [(Result.SECOND_FACTOR, "second_factor_pending"), (Result.SUCCESS, "totp")]


def test_ia06_each_code_works_once() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        device = enrolled(user)
        first, second = Client(), Client()
        password_step(first)
        code_step(first, code_at(device, T0))
        assert signed_in(first)
        password_step(second)
        replay = code_step(second, code_at(device, T0))
        assert not signed_in(second)
        assert "验证码不正确或已使用" in replay.content.decode()
    with clock.frozen_at(T0 + STEP):  # the next code works
        code_step(second, code_at(device, T0 + STEP))
        assert signed_in(second)


def test_ia06_codes_of_the_neighbouring_steps_accepted_older_ones_not() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        device = enrolled(user)
        client = Client()
        password_step(client)
        code_step(client, code_at(device, T0 - 3 * STEP))
        assert not signed_in(client)
        code_step(client, code_at(device, T0 - STEP))  # ±1 step for a slow phone clock
        assert signed_in(client)


def test_ia05_wrong_codes_count_towards_the_lockout() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        device = enrolled(user)
        client = Client()
        password_step(client)
        for _ in range(settings.XIETONG_LOCKOUT_FAILURES - 1):
            assert "验证码不正确" in code_step(client, "000000").content.decode()
        last = code_step(client, "000000").content.decode()
        assert "账号已临时锁定" in last
        # The pending sign-in is gone: the right code no longer helps, nor the password.
        code_step(client, code_at(device, T0))
        assert not signed_in(client)
        again = password_step(Client())
        assert "账号已临时锁定" in again.content.decode()
    failures = LoginAttempt.objects.filter(user=user, result=Result.FAILURE, reason="bad_totp")
    assert failures.count() == settings.XIETONG_LOCKOUT_FAILURES


def test_ia05_right_password_does_not_reset_the_failure_count_before_the_code() -> None:
    with clock.frozen_at(T0):
        make_user()
        enrolled(User.objects.get())
        for _ in range(settings.XIETONG_LOCKOUT_FAILURES - 1):
            client = Client()
            password_step(client)
            code_step(client, "000000")
        client = Client()
        password_step(client)
        assert "账号已临时锁定" in code_step(client, "000000").content.decode()


def test_ia06_code_step_times_out() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        device = enrolled(user)
        client = Client()
        password_step(client)
    with clock.frozen_at(T0 + dt.timedelta(minutes=6)):
        response = code_step(client, code_at(device, T0 + dt.timedelta(minutes=6)))
        assert response["Location"] == reverse("identity:login")
        assert not signed_in(client)


def test_ses03_code_step_issues_a_new_session_id() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        device = enrolled(user)
        client = Client()
        password_step(client)
        pending = client.cookies[settings.SESSION_COOKIE_NAME].value
        code_step(client, code_at(device, T0))
        assert client.cookies[settings.SESSION_COOKIE_NAME].value != pending


# Recovery codes


def test_ia06_recovery_code_works_once() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        enrolled(user)
        codes = twofactor.new_recovery_codes(user)
        client = Client()
        password_step(client)
        code_step(client, codes[3].upper().replace("-", " "))  # typed loosely
        assert signed_in(client)
        again = Client()
        password_step(again)
        assert "验证码不正确或已使用" in code_step(again, codes[3]).content.decode()
        assert not signed_in(again)
        assert twofactor.recovery_codes_left(user) == 9
    rows = LoginAttempt.objects.filter(user=user).values_list("reason", flat=True)
    assert "recovery_code" in rows
    assert "bad_recovery_code" in rows


def test_regenerating_recovery_codes_voids_the_old_ones() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        enrolled(user)
        old = twofactor.new_recovery_codes(user)
        client = Client()
        client.force_login(user)
        page = client.post(reverse("identity:recovery_codes")).content.decode()
        new = re.findall(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", page)
        assert len(new) == 10
        assert not twofactor.use_recovery_code(user, old[0])
        assert twofactor.use_recovery_code(user, new[0])
    assert Event.objects.filter(action=audit_actions.RECOVERY_CODES_REGENERATED).count() == 1


# Disabling


def test_ses07_disabling_needs_recent_reauthentication_and_is_audited() -> None:
    with clock.frozen_at(T0):
        user = make_user()
        enrolled(user)
        client = Client()
        client.force_login(user)
    with clock.frozen_at(T0 + dt.timedelta(minutes=10)):
        response = client.post(reverse("identity:two_factor_disable"))
        assert response["Location"].startswith(reverse("identity:confirm"))
        assert TOTPDevice.objects.filter(user=user).exists()
        client.post(reverse("identity:confirm"), {"password": STRONG_PASSWORD})
        client.post(reverse("identity:two_factor_disable"))
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert Event.objects.filter(action=audit_actions.TWO_FACTOR_DISABLED, actor_id=user.pk).exists()


# Administrators must use it (IA-06)


@pytest.fixture
def admin_2fa(settings: Any) -> None:
    settings.XIETONG_REQUIRE_ADMIN_2FA = True


@pytest.fixture
def secadmin() -> User:
    admin = make_user("secadmin", name="安全管理员")
    grant_role(admin, builtin.SECURITY_ADMIN)
    return admin


@pytest.mark.usefixtures("admin_2fa")
def test_ia06_admin_tier_is_forced_to_enrol(secadmin: User) -> None:
    with clock.frozen_at(T0):
        client = Client()
        password_step(client, "secadmin")
        home = client.get("/")
        assert home.status_code == 302
        assert home["Location"].startswith(reverse("identity:two_factor_setup"))
        api = client.get(ME)
        assert api.status_code == 403
        assert api.json()["error"]["code"] == "two_factor_required"
        assert client.get(reverse("identity:login_log")).status_code == 302
        page = client.get(reverse("identity:two_factor_setup"))
        assert "管理员账号必须启用两步验证" in page.content.decode()
        device = TOTPDevice.objects.get(user=secadmin)
        client.post(reverse("identity:two_factor_setup"), {"code": code_at(device, T0)})
        assert client.get("/").status_code == 200
        assert client.get(ME).status_code == 200


@pytest.mark.usefixtures("admin_2fa")
def test_ia06_admin_session_without_the_code_step_must_enter_a_code(secadmin: User) -> None:
    with clock.frozen_at(T0):
        device = enrolled(secadmin)
        client = Client()
        client.force_login(secadmin)  # signed in some other way, never through the code step
        response = client.get(reverse("identity:login_log"))
        assert response["Location"].startswith(reverse("identity:two_factor_verify"))
        before = client.cookies[settings.SESSION_COOKIE_NAME].value
        client.post(
            f"{reverse('identity:two_factor_verify')}?next=/account/login-log/", {"code": code_at(device, T0)}
        )
        assert client.cookies[settings.SESSION_COOKIE_NAME].value != before  # step-up: new id
        assert client.get(reverse("identity:login_log")).status_code == 200


@pytest.mark.usefixtures("admin_2fa")
def test_ia06_admin_with_a_device_signs_in_through_the_code_step(secadmin: User) -> None:
    with clock.frozen_at(T0):
        device = enrolled(secadmin)
        client = Client()
        password_step(client, "secadmin")
        code_step(client, code_at(device, T0))
        assert client.get(reverse("identity:login_log")).status_code == 200


def test_ordinary_users_may_leave_it_off_even_with_the_rule_on(settings: Any) -> None:
    settings.XIETONG_REQUIRE_ADMIN_2FA = True
    make_user()
    client = Client()
    password_step(client)
    assert client.get("/").status_code == 200
