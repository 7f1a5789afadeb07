"""The 安全管理员 built-in role also holds ``moderation.manage``: the sensitive-word lexicon,
the review queue, the violation register (R-27, R-128, R-129). A frozen step, like
``0003_builtin_roles``: migrations import no app code. Only the built-in role is touched, and
only by adding the one codename — unless another 三员 role already holds it (an
administrator gave it elsewhere), since the three tiers' permissions must not overlap."""

from django.db import migrations

CODENAME = "moderation.manage"
OTHER_TIERS = ("system", "audit")
DESCRIPTION_BEFORE = "分配角色与权限、人员密级，管理密码和锁定等安全策略，审查登录异常；不能管理账号，不能查看业务内容。"
DESCRIPTION_AFTER = (
    "分配角色与权限、人员密级，管理密码和锁定等安全策略，审查登录异常，维护敏感词库并审核送审内容、登记违规与处分；"
    "不能管理账号，不能查看业务内容。"
)


def add_permission(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    taken = any(CODENAME in role.permissions for role in Role.objects.filter(admin_tier__in=OTHER_TIERS))
    for role in Role.objects.filter(code="security_admin", builtin=True):
        if CODENAME not in role.permissions and not taken:
            role.permissions = [*role.permissions, CODENAME]
        if role.description == DESCRIPTION_BEFORE:
            role.description = DESCRIPTION_AFTER
        role.save(update_fields=["permissions", "description"])


def remove_permission(apps, schema_editor):
    Role = apps.get_model("org", "Role")
    for role in Role.objects.filter(code="security_admin", builtin=True):
        role.permissions = [codename for codename in role.permissions if codename != CODENAME]
        if role.description == DESCRIPTION_AFTER:
            role.description = DESCRIPTION_BEFORE
        role.save(update_fields=["permissions", "description"])


class Migration(migrations.Migration):
    dependencies = [("org", "0006_system_admin_manages_webhooks")]

    operations = [migrations.RunPython(add_permission, remove_permission)]
