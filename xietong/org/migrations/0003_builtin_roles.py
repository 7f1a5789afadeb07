"""The built-in roles (R-08, AC-05). A frozen copy of ``xietong.org.builtin.BUILTIN_ROLES``:
migrations import no app code, so later edits there do not rewrite history here."""

from django.db import migrations

ROLES = [
    {
        "code": "system_admin",
        "name": "系统管理员",
        "description": "维护组织机构和用户账号，查看系统状态，发布系统消息；不能授权，不能查看审计日志和业务内容。",
        "admin_tier": "system",
        "permissions": ["org.manage_units", "org.manage_users", "ops.view_status", "ops.broadcast"],
    },
    {
        "code": "security_admin",
        "name": "安全管理员",
        "description": "分配角色与权限、人员密级，管理密码和锁定等安全策略，审查登录异常；不能管理账号，不能查看业务内容。",
        "admin_tier": "security",
        "permissions": [
            "identity.manage_roles",
            "identity.manage_clearances",
            "identity.manage_policy",
            "identity.review_logins",
            "identity.unlock",
        ],
    },
    {
        "code": "audit_admin",
        "name": "审计管理员",
        "description": "查看、分析和导出审计日志与登录日志；不能修改或删除记录，不能查看业务内容。",
        "admin_tier": "audit",
        "permissions": ["audit.read", "audit.export", "identity.read_login_log"],
    },
    {
        "code": "department_admin",
        "name": "部门管理员",
        "description": "管理本部门（授予时的数据范围）内的用户账号，并在本部门内转授自己拥有的权限。",
        "admin_tier": "department",
        "permissions": ["org.manage_users", "org.delegate_roles"],
    },
    {
        "code": "employee",
        "name": "普通用户",
        "description": "每个有效账号自动拥有的最小基础权限。",
        "admin_tier": "none",
        "permissions": ["org.view_directory"],
        "is_default": True,
        "default_scope": "group",
    },
]


def create_roles(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    for spec in ROLES:
        Role.objects.get_or_create(code=spec["code"], defaults={**spec, "builtin": True})


def remove_roles(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    Role.objects.filter(code__in=[spec["code"] for spec in ROLES], builtin=True, grants__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("org", "0002_roles")]

    operations = [migrations.RunPython(create_roles, remove_roles)]
