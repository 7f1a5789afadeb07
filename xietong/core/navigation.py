"""The left navigation: every module of the platform, in one registry.

An app that is built registers its entry point by URL name; a module not built yet keeps
``url_name=None`` and leads to a "coming soon" page rather than a broken link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from xietong.core import access


@dataclass(frozen=True)
class Module:
    slug: str
    label: str | Promise
    icon: str
    section: str
    url_name: str | None = None
    description: str | Promise = ""
    visible: Callable[[Any], bool] = field(default=lambda user: True)

    @cached_property
    def url(self) -> str:
        # Reversed once per process: the shell renders every module's link on every page.
        if self.url_name:
            return reverse(self.url_name)
        return reverse("core:coming_soon", args=[self.slug])

    @property
    def ready(self) -> bool:
        return self.url_name is not None


def _holds(*codenames: str) -> Callable[[Any], bool]:
    """Visible to whoever holds any of ``codenames`` — the permission the entry page needs."""

    def visible(user: Any) -> bool:
        return access.can_any(user, codenames)

    return visible


SECTIONS: list[tuple[str, str | Promise]] = [
    ("work", _("日常办公")),
    ("collab", _("协作")),
    ("insight", _("分析")),
    ("admin", _("系统管理")),
]

_registry: dict[str, Module] = {}


def register(module: Module) -> None:
    _registry[module.slug] = module


def modules_for(user: Any) -> list[tuple[str | Promise, list[Module]]]:
    """The sections and modules this user may open, in display order."""
    result = []
    for key, title in SECTIONS:
        entries = [m for m in _registry.values() if m.section == key and m.visible(user)]
        if entries:
            result.append((title, entries))
    return result


def get(slug: str) -> Module | None:
    return _registry.get(slug)


for _module in [
    Module("workbench", _("工作台"), "house-door", "work", "workbench:home", _("待办、通知、日程一屏总览")),
    Module("notify", _("通知中心"), "bell", "work", "notify:list", _("站内通知、邮件与推送，急办提醒")),
    Module(
        "portal",
        _("门户资讯"),
        "newspaper",
        "work",
        "portal:home",
        _("新闻动态、规章制度、图片新闻等栏目"),
        _holds("portal.read"),
    ),
    Module(
        "notices",
        _("通知公告"),
        "megaphone",
        "work",
        "notices:home",
        _("通知发布、阅读回执与参会回复"),
        _holds("notices.read"),
    ),
    Module(
        "workflow",
        _("审批"),
        "check2-square",
        "work",
        "workflow:inbox",
        _("请示、联系单、合同会审等在线审批"),
        _holds("workflow.use"),
    ),
    Module(
        "documents",
        _("公文"),
        "file-earmark-text",
        "work",
        "documents:home",
        _("发文、收文、编号、用印与归档"),
        _holds("documents.use"),
    ),
    Module("tasks", _("任务督办"), "list-check", "work", None, _("任务分派、进度跟踪与督办")),
    Module("meetings", _("会议日程"), "calendar-event", "work", None, _("会议室预订、会议通知与纪要")),
    Module(
        "directory",
        _("通讯录"),
        "person-lines-fill",
        "work",
        "org:directory",
        _("按姓名、拼音或工号查找同事，浏览组织架构"),
    ),
    Module("files", _("文件"), "folder2-open", "collab", None, _("个人与部门文件、共享与版本")),
    Module("coedit", _("协同编辑"), "pencil-square", "collab", None, _("多人实时编辑文档")),
    Module("chat", _("即时通讯"), "chat-dots", "collab", None, _("单聊、群聊与文件传输")),
    Module("knowledge", _("知识库"), "journal-bookmark", "collab", None, _("知识库、博客、社区与培训")),
    Module("search", _("全文搜索"), "search", "insight", None, _("跨模块的中文全文检索")),
    Module("reports", _("报表考核"), "bar-chart-line", "insight", None, _("使用统计与绩效考核")),
    Module("datahub", _("数据填报"), "clipboard-data", "insight", None, _("数据填报与采集接口")),
    Module(
        "org",
        _("组织机构"),
        "diagram-3",
        "admin",
        "org:user_list",  # everyone browses the tree through 通讯录; this entry is for administrators
        _("集团、公司、部门、岗位与人员"),
        _holds("org.manage_units", "org.manage_users"),
    ),
    Module(
        "identity",
        _("账号与安全"),
        "shield-lock",
        "admin",
        "roles:home",
        _("账号、角色、权限与密码策略"),
        # The audience of the 安全管理 page (xietong.org.roles_views.SECURITY_AUDIENCE).
        _holds(
            "identity.manage_roles",
            "identity.manage_clearances",
            "identity.manage_policy",
            "identity.review_logins",
            "identity.unlock",
            "identity.read_login_log",
        ),
    ),
    Module(
        "audit",
        _("审计日志"),
        "journal-text",
        "admin",
        "audit:event_list",
        _("操作审计与登录日志"),
        _holds("audit.read"),
    ),
    Module(
        "moderation",
        _("内容审核"),
        "funnel",
        "admin",
        "moderation:words",
        _("敏感词、举报与违规处理"),
        _holds("moderation.manage"),
    ),
    Module(
        "workflow_flows",
        _("流程管理"),
        "diagram-2",
        "admin",
        "workflow:flows",
        _("审批表单与流程设计、节假日安排"),
        _holds("workflow.manage"),
    ),
    Module(
        "workflow_monitor",
        _("审批监控"),
        "speedometer2",
        "admin",
        "workflow:monitor",
        _("审批时效统计、改派、移交与补录"),
        _holds("workflow.supervise"),
    ),
    Module(
        "notify_webhooks",
        _("消息推送"),
        "broadcast",
        "admin",
        "notify:webhooks",
        _("钉钉、企业微信、飞书群机器人与通用 Webhook"),
        _holds("notify.manage_webhooks"),
    ),
    Module(
        "ops",
        _("运维"),
        "hdd-stack",
        "admin",
        "ops:status",
        _("备份、健康检查与系统维护"),
        _holds("ops.view_status"),
    ),
]:
    register(_module)
