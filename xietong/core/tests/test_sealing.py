"""Secrets sealed in the database: only this installation's key opens them, only for the
purpose they were sealed for, and any change to the sealed text is refused."""

from __future__ import annotations

import pytest
from django.test import override_settings

from xietong.core import sealing


def test_a_sealed_secret_opens_with_the_key_and_purpose_it_was_sealed_under() -> None:
    sealed = sealing.seal(b"\x00secret\xff", purpose="test.one")
    assert sealed.startswith(sealing.PREFIX)
    assert sealing.unseal(sealed, purpose="test.one") == b"\x00secret\xff"
    # A fresh nonce each time: the same secret never reads the same twice.
    assert sealing.seal(b"\x00secret\xff", purpose="test.one") != sealed
    with pytest.raises(sealing.SealError):
        sealing.unseal(sealed, purpose="test.two")
    with override_settings(SECRET_KEY="x" * 60), pytest.raises(sealing.SealError):
        sealing.unseal(sealed, purpose="test.one")


def test_a_changed_or_foreign_value_is_refused() -> None:
    sealed = sealing.seal(b"secret", purpose="test.one")
    body = sealed[len(sealing.PREFIX) :]
    flipped = sealing.PREFIX + body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for value in (flipped, "3132333435", sealing.PREFIX + "!!", sealing.PREFIX):
        with pytest.raises(sealing.SealError):
            sealing.unseal(value, purpose="test.one")
