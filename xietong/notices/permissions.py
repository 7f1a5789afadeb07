"""The notices' permissions. Publishing to a department or everyone also needs
``notify.send_to_units`` within its data scope (R-31)."""

from django.utils.translation import gettext_lazy as _

from xietong.core.access import register_permission

PUBLISH = register_permission("notices.publish", _("发布通知")).codename
# Sees every notice of the units in its data scope with its receipts (e.g. the 综合办公室).
MANAGE = register_permission("notices.manage", _("管理通知")).codename
# Held by the default role: a recipient reads the notices sent to them (the 三员 accounts,
# which hold no business permission, do not).
READ = register_permission("notices.read", _("查看通知")).codename
