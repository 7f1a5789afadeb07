from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from xietong.core import badges, navigation


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the page shell (top bar, left navigation) needs on every page."""
    # Absent when an error page is rendered before the auth middleware ran (e.g. a bad Host).
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    sections = navigation.modules_for(user)
    ready = [module.slug for _title, modules in sections for module in modules if module.ready]
    return {
        "nav_sections": sections,
        "nav_active": _active_module(request.path, sections),
        # Lazy: a partial rendered with the request (an htmx fragment) never shows the bell
        # and should not pay for its query.
        "unread_count": SimpleLazyObject(lambda: badges.unread_count(user)),
        "nav_badges": SimpleLazyObject(lambda: badges.module_counts(user, ready)),
    }


def _active_module(path: str, sections: list[tuple[Any, list[navigation.Module]]]) -> str:
    """The module whose address is the longest prefix of this page's path."""
    active, longest = "", 0
    for _title, modules in sections:
        for module in modules:
            url = module.url
            if (path == url or (url != "/" and path.startswith(url))) and len(url) > longest:
                active, longest = module.slug, len(url)
    return active
