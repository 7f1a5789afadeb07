from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from xietong.core import clock
from xietong.identity import policy

# Session key: the local date on which the user closed the expiry warning; it comes back
# the next day, when one day fewer is left.
WARNING_DISMISSED_ON = "password_warning_dismissed_on"


def password_expiry(request: HttpRequest) -> dict[str, Any]:
    """``password_expires_in_days`` for the warning bar of the page shell (R-05), from the
    warning period on: whole days left, 0 when the password expires within a day."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    days = policy.days_until_expiry(user)
    if days is None or request.session.get(WARNING_DISMISSED_ON) == clock.localdate().isoformat():
        return {}
    return {"password_expires_in_days": days, "password_expires_at": policy.expires_at(user)}
