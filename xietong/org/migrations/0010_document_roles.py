"""公文: every account drafts and handles documents (``documents.use`` on the default role);
the 公文管理员 and 档案管理员 built-in roles. A frozen step like ``0003_builtin_roles``."""

from django.db import migrations

ROLES = (
    {
        "code": "document_clerk",
        "name": "公文管理员",
        "description": "办理本单位的公文：发文的复核、登记编号、用印和分发，收文的签收、登记、拟办、交办和办结，维护发文机关和登记簿。",
        "admin_tier": "none",
        "permissions": ["documents.use", "documents.clerk"],
        "default_scope": "department_tree",
    },
    {
        "code": "archivist",
        "name": "档案管理员",
        "description": "将办结的公文整理归档，设置全宗号和保管期限，校验电子档案的完整性。",
        "admin_tier": "none",
        "permissions": ["documents.use", "documents.archive"],
        "default_scope": "group",
    },
)
USE = "documents.use"


def forwards(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    for role in ROLES:
        Role.objects.get_or_create(code=role["code"], defaults={**role, "builtin": True})
    for role in Role.objects.filter(code="employee", builtin=True):
        if USE not in role.permissions:
            role.permissions = [*role.permissions, USE]
            role.save(update_fields=["permissions"])


def backwards(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    Role.objects.filter(code__in=[role["code"] for role in ROLES], builtin=True, grants__isnull=True).delete()
    for role in Role.objects.filter(code="employee", builtin=True):
        role.permissions = [codename for codename in role.permissions if codename != USE]
        role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("org", "0009_approval_roles")]

    operations = [migrations.RunPython(forwards, backwards)]
