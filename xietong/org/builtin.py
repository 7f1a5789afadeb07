"""The built-in roles (R-08, AC-05): three administrator tiers that never overlap, the
department administrator, and the baseline every account holds.

The data migration ``0003_builtin_roles`` keeps its own frozen copy of this list (migrations
import no app code); ``ensure_builtin_roles`` recreates missing ones after a test flush or in
the demo, and never overwrites permissions an administrator has edited.
"""

from __future__ import annotations

from dataclasses import dataclass

from xietong.org.models import DataScope, Role

SYSTEM_ADMIN = "system_admin"
SECURITY_ADMIN = "security_admin"
AUDIT_ADMIN = "audit_admin"
DEPARTMENT_ADMIN = "department_admin"
EMPLOYEE = "employee"


@dataclass(frozen=True)
class BuiltinRole:
    code: str
    name: str
    description: str
    admin_tier: str
    permissions: tuple[str, ...]
    is_default: bool = False
    default_scope: str = DataScope.SELF


BUILTIN_ROLES = (
    BuiltinRole(
        SYSTEM_ADMIN,
        "系统管理员",
        "维护组织机构和用户账号，查看系统状态，发布系统消息，配置消息推送；不能授权，不能查看审计日志和业务内容。",
        Role.AdminTier.SYSTEM,
        (
            "org.manage_units",
            "org.manage_users",
            "ops.view_status",
            "ops.broadcast",
            "notify.manage_webhooks",
        ),
    ),
    BuiltinRole(
        SECURITY_ADMIN,
        "安全管理员",
        "分配角色与权限、人员密级，管理密码和锁定等安全策略，审查登录异常，维护敏感词库并审核送审内容、登记违规与处分；"
        "不能管理账号，不能查看业务内容。",
        Role.AdminTier.SECURITY,
        (
            "identity.manage_roles",
            "identity.manage_clearances",
            "identity.manage_policy",
            "identity.review_logins",
            "identity.unlock",
            # Content rules are a security duty: the lexicon, the review queue
            # and the violation register. Migration org 0007 adds it to existing installations.
            "moderation.manage",
        ),
    ),
    BuiltinRole(
        AUDIT_ADMIN,
        "审计管理员",
        "查看、分析和导出审计日志与登录日志；不能修改或删除记录，不能查看业务内容。",
        Role.AdminTier.AUDIT,
        ("audit.read", "audit.export", "identity.read_login_log"),
    ),
    BuiltinRole(
        DEPARTMENT_ADMIN,
        "部门管理员",
        "管理本部门（授予时的数据范围）内的用户账号，并在本部门内转授自己拥有的权限。",
        Role.AdminTier.DEPARTMENT,
        ("org.manage_users", "org.delegate_roles"),
    ),
    BuiltinRole(
        EMPLOYEE,
        "普通用户",
        "每个有效账号自动拥有的最小基础权限。",
        Role.AdminTier.NONE,
        ("org.view_directory",),
        is_default=True,
        default_scope=DataScope.GROUP,
    ),
)


def ensure_builtin_roles() -> dict[str, Role]:
    """Create the built-in roles that are missing; returns all of them by code."""
    roles: dict[str, Role] = {}
    for spec in BUILTIN_ROLES:
        role, _created = Role.objects.get_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "description": spec.description,
                "builtin": True,
                "admin_tier": spec.admin_tier,
                "permissions": list(spec.permissions),
                "is_default": spec.is_default,
                "default_scope": spec.default_scope,
            },
        )
        roles[spec.code] = role
    return roles
