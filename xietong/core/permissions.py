"""View decorators, and the catalogue of the platform's own permissions.

The platform-administration permissions (org, identity, audit, ops, moderation, notify) are declared
here, in one place, because 三员分立 (AC-05) is stated over exactly this set: reviewing which
tier may hold what takes one screen. Business apps declare theirs in ``<app>/permissions.py``.
An app that later declares one of these itself must use the same definition (registering an
identical definition twice is allowed).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from xietong.core import access
from xietong.core.access import register_permission

View = TypeVar("View", bound=Callable[..., HttpResponse])


def permission_required(*codenames: str) -> Callable[[View], View]:
    """Signed in and holding one of ``codenames``; anyone else signed in gets the 403 page."""
    for codename in codenames:
        access.get_permission(codename)  # an unknown codename fails at import, not at request time

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not access.can_any(request.user, codenames):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapper)  # type: ignore[return-value]

    return decorator


def admin_required(view: View) -> View:
    """Signed in and holding some administration permission; prefer ``permission_required``,
    which names the one the view needs."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not access.is_administrator(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapper)  # type: ignore[return-value]


# Baseline: what every account holds through the default role.
register_permission("org.view_directory", _("查看通讯录"))

# 系统管理员: accounts, the organisation, system operation.
register_permission("org.manage_units", _("管理组织机构"), reserved_for="system", admin=True)
# Not reserved: department administrators manage the accounts of their own subtree.
register_permission("org.manage_users", _("管理用户账号"), admin=True)
# a department administrator hands on roles whose permissions they hold themselves.
register_permission("org.delegate_roles", _("在本部门内转授角色"), admin=True)
register_permission("ops.view_status", _("查看系统状态"), reserved_for="system", admin=True)
register_permission("ops.broadcast", _("发布系统消息"), reserved_for="system", admin=True)
# Group robots (DingTalk, WeCom, Feishu) and other webhooks that notifications go out to.
register_permission("notify.manage_webhooks", _("管理消息推送"), reserved_for="system", admin=True)
# Shortcuts to business systems on the workbench: name, icon, address, who sees them.
register_permission("workbench.manage_shortcuts", _("管理工作台快捷入口"), reserved_for="system", admin=True)

# 安全保密管理员: grants, clearances, security policy.
register_permission("identity.manage_roles", _("管理角色与授权"), reserved_for="security", admin=True)
register_permission("identity.manage_clearances", _("管理人员密级"), reserved_for="security", admin=True)
register_permission("identity.manage_policy", _("管理安全策略"), reserved_for="security", admin=True)
register_permission("identity.review_logins", _("审查登录异常"), reserved_for="security", admin=True)
register_permission("identity.unlock", _("解除账号锁定"), reserved_for="security", admin=True)

# 安全审计员: reads and exports the trail. No permission anywhere alters it.
register_permission("audit.read", _("查看审计日志"), reserved_for="audit", admin=True)
register_permission("audit.export", _("导出审计日志"), reserved_for="audit", admin=True)
register_permission("identity.read_login_log", _("查看登录日志"), reserved_for="audit", admin=True)

# sending a notification to a whole department (within the holder's data scope) or to
# everyone (a group-wide scope). Business staff such as the 综合办公室 hold it, no 三员 tier.
register_permission("notify.send_to_units", _("向部门或全员发送通知"))

# R-88: a business system's API account pushes to-dos into its users' workbenches.
register_permission("workbench.push_todos", _("向工作台推送待办"))

# Content rules (lexicon, review queue, violations): held by the 安全管理员 (org.builtin). Not
# reserved, so that a dedicated 内容审核 role outside the three tiers may hold it instead; the
# overlap rule still keeps it out of a second 三员 role.
register_permission("moderation.manage", _("管理内容审核"), admin=True)
