"""Secrets the platform must read back, kept in the database sealed (AES-256-GCM).

A copy of the database alone (a dump, a backup, a replica) then gives nobody the secret:
the key is derived from ``SECRET_KEY``, which lives outside the database. Each use names its
``purpose``, which both derives its own key and is bound into the seal, so a value sealed
for one purpose cannot be moved to another column. Unsealing also tries
``SECRET_KEY_FALLBACKS``, so the secret key can be rotated the way Django's own signing is.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

#: Marks a sealed value (and its format: 12-byte nonce, then ciphertext and tag, base64url).
PREFIX = "s1:"
_NONCE = 12
_TAG = 16


class SealError(ValueError):
    """Not a sealed value, or sealed under a key this installation no longer has."""


def _key(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"xietong.sealing", info=purpose.encode()).derive(
        secret.encode()
    )


def seal(data: bytes, *, purpose: str) -> str:
    nonce = os.urandom(_NONCE)
    box = AESGCM(_key(settings.SECRET_KEY, purpose)).encrypt(nonce, data, purpose.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + box).decode().rstrip("=")


def is_sealed(text: str) -> bool:
    return text.startswith(PREFIX)


def unseal(text: str, *, purpose: str) -> bytes:
    return _open(text, purpose)[0]


def resealed(text: str, *, purpose: str) -> str | None:
    """``text`` sealed again under the current key when only a fallback key opens it (for
    the caller to store, so that the fallback can be retired), else ``None``."""
    data, current = _open(text, purpose)
    return None if current else seal(data, purpose=purpose)


def _open(text: str, purpose: str) -> tuple[bytes, bool]:
    """The secret, and whether the current key (not a fallback) opened it."""
    if not is_sealed(text):
        raise SealError("not a sealed value")
    body = text[len(PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        raise SealError("not a sealed value") from None
    if len(raw) < _NONCE + _TAG:
        raise SealError("not a sealed value")
    nonce, box = raw[:_NONCE], raw[_NONCE:]
    for index, secret in enumerate((settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)):
        try:
            return AESGCM(_key(secret, purpose)).decrypt(nonce, box, purpose.encode()), index == 0
        except InvalidTag:
            continue
    raise SealError("sealed under another secret key")
