"""Two-factor sign-in with TOTP (IA-06): codes, recovery codes and the enrolment QR code.

The devices are django-otp's ``TOTPDevice`` rows (RFC 6238: HMAC-SHA1, 30 s steps, ±1 step),
read as ``SealedTOTPDevice``, whose secret is sealed in the database. Codes are checked
here rather than with ``TOTPDevice.verify_token``: that method reads
``time.time()``, and the login lockout, session limits and tests all run on
``xietong.core.clock``. The replay guard is django-otp's: a code is accepted only for a time
step after the last accepted one (``last_t``), under a row lock, so each code works once.

Recovery codes are our own ``RecoveryCode`` rows because django-otp's static tokens are
stored in clear text.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any

import qrcode
import qrcode.image.svg
from django.db import transaction
from django_otp.oath import TOTP

from xietong.core import clock, sealing
from xietong.identity.models import RecoveryCode, User
from xietong.identity.models import SealedTOTPDevice as TOTPDevice

SESSION_VERIFIED_AT = "xt_2fa_verified_at"
SESSION_PENDING = "xt_2fa_pending"
RECOVERY_CODE_COUNT = 10
# 16 characters of a 31-letter alphabet without look-alikes (0/o, 1/l/i): about 79 random bits.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 16
_TOTP_CODE = re.compile(r"^\d{6}$")


def confirmed_device(user: User) -> TOTPDevice | None:
    device: TOTPDevice | None = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    return device


def has_confirmed_device(user: Any) -> bool:
    if not getattr(user, "pk", None):
        return False
    return bool(TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists())


def pending_device(user: User) -> TOTPDevice:
    """The unconfirmed device being enrolled, made on first call; the same key on reloads so
    that a scanned QR code keeps working until the enrolment is confirmed."""
    device: TOTPDevice | None = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name="default", confirmed=False, key=TOTPDevice.new_key()
        )
    return device


def _totp(device: TOTPDevice) -> TOTP:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = clock.now().timestamp()
    return totp


def current_code(device: TOTPDevice) -> str:
    """The code an authenticator app shows now (for tests and the demo)."""
    return f"{_totp(device).token():0{device.digits}d}"


def looks_like_totp(code: str) -> bool:
    return bool(_TOTP_CODE.match(code.strip().replace(" ", "")))


def verify_totp(device: TOTPDevice, code: str) -> bool:
    """Check a six-digit code against ``device``; a code is accepted once (replay guard)."""
    code = code.strip().replace(" ", "")
    if not _TOTP_CODE.match(code):
        return False
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().filter(pk=device.pk).first()
        if locked is None:
            return False
        totp = _totp(locked)
        if not totp.verify(int(code), locked.tolerance, locked.last_t + 1):
            return False
        locked.last_t = totp.t()
        locked.drift = totp.drift
        locked.last_used_at = clock.now()
        changed = ["last_t", "drift", "last_used_at"]
        # Opened with a retired secret key (SECRET_KEY_FALLBACKS): sealed under the new one.
        resealed = sealing.resealed(locked.key, purpose=TOTPDevice.PURPOSE)
        if resealed is not None:
            locked.key = resealed
            changed.append("key")
        locked.save(update_fields=changed)
    device.last_t = locked.last_t
    return True


def manual_key(device: TOTPDevice) -> str:
    """The secret in Base32, in groups of four, for typing into an app by hand."""
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The ``otpauth://`` URI as an inline SVG QR code, drawn here: the secret never leaves
    the server for an external QR service."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    # A string without an XML declaration: the SVG is embedded in an HTML page.
    text: str = image.to_string(encoding="unicode")
    return text


# -- recovery codes ----------------------------------------------------------------------------


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def recovery_hash(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones and return them (shown once)."""
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=recovery_hash(c)) for c in codes)
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Spend one recovery code: True once per code, whoever races for it."""
    if len(_normalise(code)) != _RECOVERY_LENGTH:
        return False
    used = RecoveryCode.objects.filter(user=user, code_hash=recovery_hash(code), used_at__isnull=True).update(
        used_at=clock.now()
    )
    return used == 1


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
