"""The built-in roles of the portal, the notices and business-system integration, the
portal and notice permissions of the default role, and the workbench shortcuts of the system
administrator. A frozen step like ``0003_builtin_roles``: migrations import no app code."""

from django.db import migrations

NEW_ROLES = [
    {
        "code": "notice_publisher",
        "name": "通知发布员",
        "description": "向授权范围内的部门发布通知，查看这些部门的通知及回执。",
        "admin_tier": "none",
        "permissions": ["notices.publish", "notices.manage", "notify.send_to_units"],
        "default_scope": "department_tree",
    },
    {
        "code": "portal_admin",
        "name": "门户管理员",
        "description": "设置门户栏目及其管理部门、发布人，审核各栏目的文章。",
        "admin_tier": "none",
        "permissions": ["portal.manage_channels", "portal.review"],
        "default_scope": "group",
    },
    {
        "code": "portal_reviewer",
        "name": "栏目审核员",
        "description": "审核本部门管理的栏目中提交的文章。",
        "admin_tier": "none",
        "permissions": ["portal.review"],
        "default_scope": "department",
    },
    {
        "code": "integration",
        "name": "业务系统接入",
        "description": "供业务系统的接口账号使用：向用户的工作台推送待办。",
        "admin_tier": "none",
        "permissions": ["workbench.push_todos"],
        "default_scope": "group",
    },
]
EMPLOYEE_ADDS = ["portal.read", "notices.read", "notices.publish"]
SYSTEM_ADMIN_ADDS = ["workbench.manage_shortcuts"]


def _add(role, codenames):
    missing = [codename for codename in codenames if codename not in role.permissions]
    if missing:
        role.permissions = [*role.permissions, *missing]
        role.save(update_fields=["permissions"])


def forwards(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    for spec in NEW_ROLES:
        Role.objects.get_or_create(code=spec["code"], defaults={**spec, "builtin": True})
    for role in Role.objects.filter(code="employee", builtin=True):
        _add(role, EMPLOYEE_ADDS)
    # The shortcut permission is reserved for the system tier: never add it where another tier
    # already holds it.
    others = Role.objects.filter(admin_tier__in=("security", "audit"))
    if not any(SYSTEM_ADMIN_ADDS[0] in role.permissions for role in others):
        for role in Role.objects.filter(code="system_admin", builtin=True):
            _add(role, SYSTEM_ADMIN_ADDS)


def backwards(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    Role.objects.filter(code__in=[spec["code"] for spec in NEW_ROLES], builtin=True, grants__isnull=True).delete()
    for code, removed in (("employee", EMPLOYEE_ADDS), ("system_admin", SYSTEM_ADMIN_ADDS)):
        for role in Role.objects.filter(code=code, builtin=True):
            role.permissions = [codename for codename in role.permissions if codename not in removed]
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("org", "0007_security_admin_moderates_content")]

    operations = [migrations.RunPython(forwards, backwards)]
