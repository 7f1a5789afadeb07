from __future__ import annotations

from django.utils.translation import gettext as _

from xietong.core import access, events
from xietong.core.errors import PermissionDeniedError
from xietong.identity.models import User


def system_broadcast(*, actor: User, message: str, level: str = "info") -> None:
    """Show a system message (e.g. 今晚 22:00 系统维护) in every open tab of every user."""
    if not access.can(actor, "ops.broadcast"):
        raise PermissionDeniedError(_("只有系统管理员可以发布系统消息。"))
    events.push_to_everyone(
        "system.broadcast", {"message": message.strip(), "level": level, "by": actor.name}
    )
