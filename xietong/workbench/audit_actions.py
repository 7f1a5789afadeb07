"""Audit action codes written by the workbench, with their labels."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xietong.audit.actions import register

SHORTCUT_CREATED = "workbench.shortcut.created"
SHORTCUT_UPDATED = "workbench.shortcut.updated"
SHORTCUT_DELETED = "workbench.shortcut.deleted"
SHORTCUT_MOVED = "workbench.shortcut.moved"
TODOS_PUSHED = "workbench.todos.pushed"
TODO_DONE = "workbench.todo.done"
TODO_DELETED = "workbench.todo.deleted"

register(SHORTCUT_CREATED, _("新建快捷入口"))
register(SHORTCUT_UPDATED, _("修改快捷入口"))
register(SHORTCUT_DELETED, _("删除快捷入口"))
register(SHORTCUT_MOVED, _("调整快捷入口顺序"))
register(TODOS_PUSHED, _("业务系统推送待办"))
register(TODO_DONE, _("业务系统办结待办"))
register(TODO_DELETED, _("业务系统撤回待办"))
