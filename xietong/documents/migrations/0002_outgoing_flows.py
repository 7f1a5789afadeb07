"""Install the approval flows of 发文 (发文审批, 发文复审), published. Idempotent by code: a flow
that exists is left as it is. ``flows`` is plain data and imports no model."""

from django.db import migrations

from xietong.documents import flows


def forwards(apps, schema_editor):
    from django.utils import timezone

    flows.install(
        apps.get_model("workflow", "FlowDefinition"),
        apps.get_model("workflow", "FlowVersion"),
        apps.get_model("org", "OrgUnit"),
        now=timezone.now(),
    )


def backwards(apps, schema_editor):
    FlowDefinition = apps.get_model("workflow", "FlowDefinition")
    for flow in FlowDefinition.objects.filter(code__in=flows.FLOW_CODES, instances__isnull=True):
        flow.current_version = None
        flow.save(update_fields=["current_version"])
        flow.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0001_initial"),
        ("workflow", "0003_builtin_flows"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
