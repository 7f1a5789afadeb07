from __future__ import annotations

from dataclasses import asdict

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from xietong.core.permissions import permission_required
from xietong.ops.selectors import readiness


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and answering; touches no backing service."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Every backing service answers; 503 names the ones that do not."""
    checks = readiness()
    ready = all(c.ok for c in checks)
    body = {"status": "ok" if ready else "unavailable", "checks": {c.name: asdict(c) for c in checks}}
    return JsonResponse(body, status=200 if ready else 503)


@permission_required("ops.view_status")
def status(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "ops/status.html",
        {"checks": readiness(), "breadcrumbs": [(_("运维"), None), (_("系统状态"), None)]},
    )
