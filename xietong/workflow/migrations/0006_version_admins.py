"""The 流程管理员 named in a version's settings become rows of the version, so that they find
the requests that run on it (until now only those named on the flow itself did)."""

from django.conf import settings
from django.db import migrations, models


def backfill(apps, schema_editor):
    FlowVersion = apps.get_model("workflow", "FlowVersion")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    for version in FlowVersion.objects.exclude(status="draft").iterator():
        named = (version.flow or {}).get("settings", {}).get("admin_user_ids") or []
        ids = [pk for pk in named if isinstance(pk, int)]
        if ids:
            version.admins.set(User.objects.filter(pk__in=ids, is_active=True))


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0005_backfill"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="flowversion",
            name="admins",
            field=models.ManyToManyField(
                blank=True, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="本版本的流程管理员"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
