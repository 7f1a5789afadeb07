"""The portal's permissions. Who may publish in a channel is the channel's own list of
publishers; who may review is the channel's owner department (``portal.review`` with a data
scope over that department)."""

from django.utils.translation import gettext_lazy as _

from xietong.core.access import register_permission

MANAGE_CHANNELS = register_permission("portal.manage_channels", _("管理门户栏目")).codename
REVIEW = register_permission("portal.review", _("审核栏目文章")).codename
# Everyone reads the portal (the default role holds it); the audience of each article narrows it.
READ = register_permission("portal.read", _("浏览门户")).codename
