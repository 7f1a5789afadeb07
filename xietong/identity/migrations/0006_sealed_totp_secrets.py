"""TOTP secrets sealed in the database (``core.sealing``); the ones already enrolled are
sealed here, and opened again if the migration is reversed."""

from typing import Any

from django.db import migrations

from xietong.core import sealing

# The purpose ``SealedTOTPDevice`` seals under, as of this migration.
PURPOSE = "identity.totp"


def seal_keys(apps: Any, schema_editor: Any) -> None:
    device_model = apps.get_model("otp_totp", "TOTPDevice")
    for device in device_model.objects.all():
        if not sealing.is_sealed(device.key):
            device.key = sealing.seal(bytes.fromhex(device.key), purpose=PURPOSE)
            device.save(update_fields=["key"])


def open_keys(apps: Any, schema_editor: Any) -> None:
    device_model = apps.get_model("otp_totp", "TOTPDevice")
    for device in device_model.objects.all():
        if sealing.is_sealed(device.key):
            device.key = sealing.unseal(device.key, purpose=PURPOSE).hex()
            device.save(update_fields=["key"])


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0005_sessions_two_factor_tokens_anomalies"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.CreateModel(
            name="SealedTOTPDevice",
            fields=[],
            options={"proxy": True, "indexes": [], "constraints": []},
            bases=("otp_totp.totpdevice",),
        ),
        migrations.RunPython(seal_keys, open_keys),
    ]
