"""The 系统管理员 built-in role also configures the notification webhooks (group robots):
``notify.manage_webhooks``. A frozen step, like ``0003_builtin_roles``: migrations import no
app code. Only the built-in role is touched, and only by adding the one codename, so that an
administrator's own edits of its permissions stay as they are."""

from django.db import migrations

CODENAME = "notify.manage_webhooks"
DESCRIPTION_BEFORE = "维护组织机构和用户账号，查看系统状态，发布系统消息；不能授权，不能查看审计日志和业务内容。"
DESCRIPTION_AFTER = "维护组织机构和用户账号，查看系统状态，发布系统消息，配置消息推送；不能授权，不能查看审计日志和业务内容。"


def add_permission(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    for role in Role.objects.filter(code="system_admin", builtin=True):
        if CODENAME not in role.permissions:
            role.permissions = [*role.permissions, CODENAME]
        if role.description == DESCRIPTION_BEFORE:
            role.description = DESCRIPTION_AFTER
        role.save(update_fields=["permissions", "description"])


def remove_permission(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    for role in Role.objects.filter(code="system_admin", builtin=True):
        role.permissions = [codename for codename in role.permissions if codename != CODENAME]
        if role.description == DESCRIPTION_AFTER:
            role.description = DESCRIPTION_BEFORE
        role.save(update_fields=["permissions", "description"])


class Migration(migrations.Migration):
    dependencies = [("org", "0005_staff_profiles_pinyin_and_personnel_changes")]

    operations = [migrations.RunPython(add_permission, remove_permission)]
