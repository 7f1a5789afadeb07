from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from xietong.core import clock, navigation
from xietong.identity.types import AuthedRequest
from xietong.notify import kinds as notify_kinds
from xietong.notify import selectors as notify_selectors
from xietong.org.selectors import primary_membership

#: Unread notifications listed on the workbench (R-75); the rest are one click away.
NOTIFICATIONS_SHOWN = 5


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    modules = [
        m for _title, entries in navigation.modules_for(user) for m in entries if m.slug != "workbench"
    ]
    # unread notices with their count, right after login. Two queries on an index
    # prefix, however many notifications the user has.
    unread = notify_selectors.notification_list(user, unread_only=True, limit=NOTIFICATIONS_SHOWN).items
    return render(
        request,
        "workbench/home.html",
        {
            "membership": primary_membership(user),
            "today": clock.localdate(),
            "shortcuts": modules,
            "notifications": [(item, notify_kinds.label(item.dispatch.kind)) for item in unread],
            "notifications_unread": notify_selectors.unread_count(user),
        },
    )
