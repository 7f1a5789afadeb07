from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from xietong.core import clock, navigation
from xietong.identity.types import AuthedRequest
from xietong.org.selectors import primary_membership


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    modules = [
        m for _title, entries in navigation.modules_for(user) for m in entries if m.slug != "workbench"
    ]
    return render(
        request,
        "workbench/home.html",
        {"membership": primary_membership(user), "today": clock.localdate(), "shortcuts": modules},
    )
