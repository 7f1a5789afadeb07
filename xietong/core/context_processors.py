from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from xietong.core import navigation


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the page shell (top bar, left navigation) needs on every page."""
    user = request.user
    if not user.is_authenticated:
        return {}
    match = request.resolver_match
    active = ""
    if match is not None:
        active = match.kwargs.get("slug") or (match.namespace or "")
    return {
        "nav_sections": navigation.modules_for(user),
        "nav_active": active,
        "unread_count": 0,
    }
