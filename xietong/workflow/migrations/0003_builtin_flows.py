"""Install the shipped flows (请示, 联系单签复, 合同会审, 用印申请, 权限变更申请) and the business
roles their routes name, published and ready on the first day.

Idempotent by code: a flow or role that exists is left as it is, so re-running, or a later
change of ``xietong.workflow.builtin``, never duplicates one nor overwrites an administrator's
edits. ``builtin`` is plain data and imports no model, so that it can be read here with the
historical models."""

from django.db import migrations

from xietong.workflow import builtin


def forwards(apps, schema_editor):
    from django.utils import timezone

    builtin.install(
        apps.get_model("workflow", "FlowDefinition"),
        apps.get_model("workflow", "FlowVersion"),
        apps.get_model("org", "Role"),
        apps.get_model("org", "OrgUnit"),
        now=timezone.now(),
    )


def backwards(apps, schema_editor):
    FlowDefinition = apps.get_model("workflow", "FlowDefinition")
    Role = apps.get_model("org", "Role")
    # Only what was never used: a flow with requests, or a role with grants, stays.
    for flow in FlowDefinition.objects.filter(code__in=builtin.FLOW_CODES, instances__isnull=True):
        flow.current_version = None
        flow.save(update_fields=["current_version"])
        flow.delete()
    codes = [code for code, _name, _description in builtin.ROLES]
    Role.objects.filter(code__in=codes, grants__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0002_calendar_days"),
        ("org", "0009_approval_roles"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
