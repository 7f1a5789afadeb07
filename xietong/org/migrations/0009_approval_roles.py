"""Approvals: every account starts flows and handles its own work items (``workflow.use`` on
the default role); the 流程管理员 built-in role designs flows. A frozen step like
``0003_builtin_roles``: migrations import no app code."""

from django.db import migrations

FLOW_ADMIN = {
    "code": "flow_admin",
    "name": "流程管理员",
    "description": "设计、发布和停用审批流程，处理数据范围内流程的异常实例（强制结束、转交离职人员的待办）。",
    "admin_tier": "none",
    "permissions": ["workflow.manage", "workflow.supervise"],
    "default_scope": "group",
}
USE = "workflow.use"


def forwards(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    Role.objects.get_or_create(code=FLOW_ADMIN["code"], defaults={**FLOW_ADMIN, "builtin": True})
    for role in Role.objects.filter(code="employee", builtin=True):
        if USE not in role.permissions:
            role.permissions = [*role.permissions, USE]
            role.save(update_fields=["permissions"])


def backwards(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    Role.objects.filter(code=FLOW_ADMIN["code"], builtin=True, grants__isnull=True).delete()
    for role in Role.objects.filter(code="employee", builtin=True):
        role.permissions = [codename for codename in role.permissions if codename != USE]
        role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("org", "0008_portal_notice_and_integration_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
