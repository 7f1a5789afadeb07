from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _

from xietong.audit.services import record
from xietong.core import access, events
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.identity.models import User


def system_broadcast(
    *, actor: User, message: str, level: str = "info", request: HttpRequest | None = None
) -> None:
    """Show a system message (e.g. 今晚 22:00 系统维护) in every open tab of every user.

    Not one transaction: a refusal is recorded in the audit trail and must stay there."""
    if not access.can(actor, "ops.broadcast"):
        record(actor=actor, action="ops.broadcast.sent", result="denied", request=request)
        raise PermissionDeniedError(_("只有系统管理员可以发布系统消息。"))
    text = message.strip()
    if not text:
        raise DomainError(_("系统消息不能为空。"))
    record(
        actor=actor, action="ops.broadcast.sent", request=request, details={"message": text, "level": level}
    )
    events.push_to_everyone("system.broadcast", {"message": text, "level": level, "by": actor.name})
