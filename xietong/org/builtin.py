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
NOTICE_PUBLISHER = "notice_publisher"
PORTAL_ADMIN = "portal_admin"
PORTAL_REVIEWER = "portal_reviewer"
INTEGRATION = "integration"
FLOW_ADMIN = "flow_admin"
DOCUMENT_CLERK = "document_clerk"
ARCHIVIST = "archivist"


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
            # Shortcuts to business systems on everyone's workbench (org migration 0008).
            "workbench.manage_shortcuts",
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
        # Reading the portal and one's own notices, and notifying named colleagues; every
        # article and notice narrows this by its audience and 密级 (migration org 0008).
        (
            "org.view_directory",
            "portal.read",
            "notices.read",
            "notices.publish",
            "workflow.use",
            "documents.use",
        ),
        is_default=True,
        default_scope=DataScope.GROUP,
    ),
    BuiltinRole(
        NOTICE_PUBLISHER,
        "通知发布员",
        "向授权范围内的部门发布通知，查看这些部门的通知及回执。",
        Role.AdminTier.NONE,
        ("notices.publish", "notices.manage", "notify.send_to_units"),
        default_scope=DataScope.DEPARTMENT_TREE,
    ),
    BuiltinRole(
        PORTAL_ADMIN,
        "门户管理员",
        "设置门户栏目及其管理部门、发布人，审核各栏目的文章。",
        Role.AdminTier.NONE,
        ("portal.manage_channels", "portal.review"),
        default_scope=DataScope.GROUP,
    ),
    BuiltinRole(
        PORTAL_REVIEWER,
        "栏目审核员",
        "审核本部门管理的栏目中提交的文章。",
        Role.AdminTier.NONE,
        ("portal.review",),
        default_scope=DataScope.DEPARTMENT,
    ),
    BuiltinRole(
        FLOW_ADMIN,
        "流程管理员",
        "设计、发布和停用审批流程，处理数据范围内流程的异常实例（强制结束、转交离职人员的待办）。",
        Role.AdminTier.NONE,
        ("workflow.manage", "workflow.supervise"),
        default_scope=DataScope.GROUP,
    ),
    BuiltinRole(
        DOCUMENT_CLERK,
        "公文管理员",
        "办理本单位的公文：发文的复核、登记编号、用印和分发，收文的签收、登记、拟办、交办和办结，维护发文机关和登记簿。",
        Role.AdminTier.NONE,
        ("documents.use", "documents.clerk"),
        default_scope=DataScope.DEPARTMENT_TREE,
    ),
    BuiltinRole(
        ARCHIVIST,
        "档案管理员",
        "将办结的公文整理归档，设置全宗号和保管期限，校验电子档案的完整性。",
        Role.AdminTier.NONE,
        ("documents.use", "documents.archive"),
        default_scope=DataScope.GROUP,
    ),
    BuiltinRole(
        INTEGRATION,
        "业务系统接入",
        "供业务系统的接口账号使用：向用户的工作台推送待办。",
        Role.AdminTier.NONE,
        ("workbench.push_todos",),
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
