from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _

from xietong.core import navigation
from xietong.core.errors import error_response


@login_required
def coming_soon(request: HttpRequest, slug: str) -> HttpResponse:
    module = navigation.get(slug)
    if module is None or module.ready or not module.visible(request.user):
        raise Http404
    return render(request, "core/coming_soon.html", {"module": module, "breadcrumbs": [(module.label, None)]})


def _error_page(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return error_response(status, code, message)
    return render(request, f"{status}.html", {"message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, 400, "bad_request", _("请求无效。"))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, 403, "forbidden", _("您没有访问此页面的权限。"))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, 404, "not_found", _("您访问的页面不存在或已被删除。"))


def server_error(request: HttpRequest) -> HttpResponse:
    message = _("服务器内部错误，请稍后重试。")
    if request.path.startswith("/api/"):
        return error_response(500, "server_error", message)
    # No request context: the failure may be the database or session store that the
    # context processors would need.
    return HttpResponse(loader.render_to_string("500.html", {"message": message}), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error_page(request, 403, "csrf_failed", _("页面已过期或来源无效，请刷新后重试。"))
