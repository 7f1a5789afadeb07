"""The REST API under ``/api/v1/``: one NinjaAPI mounting each app's router.

Every 4xx/5xx answers with the one error body of ``xietong.core.errors``.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.renderers import JSONRenderer
from ninja.security import SessionAuth

from xietong.audit.api import router as audit_router
from xietong.core.errors import DomainError, error_body
from xietong.documents.api import router as documents_router
from xietong.identity.api import router as identity_router
from xietong.identity.apitokens import ApiTokenAuth
from xietong.moderation.api import router as moderation_router
from xietong.notices.api import router as notices_router
from xietong.notify.api import router as notify_router
from xietong.ops.api import router as ops_router
from xietong.org.api import router as org_router
from xietong.org.roles_api import router as roles_router
from xietong.portal.api import router as portal_router
from xietong.workbench.api import router as workbench_router
from xietong.workflow.api import router as workflow_router


class ChineseJSONRenderer(JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}  # readable Chinese in responses and logs


api = NinjaAPI(
    renderer=ChineseJSONRenderer(),
    title="协同 Xietong API",
    version="1",
    description=(
        "协同办公平台 REST API。浏览器使用会话登录（需 CSRF 令牌）；"
        "脚本使用个人访问令牌：`Authorization: Bearer xt_…`（无需 CSRF 令牌）。"
    ),
    urls_namespace="api",
    # The token first: the session auth would refuse a token request for its missing CSRF token.
    auth=[ApiTokenAuth(), SessionAuth(csrf=True)],
)


def _reply(request: HttpRequest, status: int, code: str, message: str, details: Any = None) -> HttpResponse:
    return api.create_response(request, error_body(code, message, details), status=status)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = [
        {"field": ".".join(str(p) for p in e.get("loc", [])[1:]), "message": e.get("msg", "")}
        for e in exc.errors
    ]
    return _reply(request, 422, "validation_error", _("提交的数据有误，请检查后重试。"), details)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _reply(request, 401, "unauthenticated", _("请先登录。"))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _reply(request, 404, "not_found", _("请求的对象不存在或无权访问。"))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {
        400: "bad_request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
    }
    return _reply(request, exc.status_code, codes.get(exc.status_code, "error"), str(exc.message))


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _reply(request, exc.status, exc.code, exc.message, exc.details)


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    import logging

    logging.getLogger("xietong.api").exception("api.unhandled_error")
    return _reply(request, 500, "server_error", _("服务器内部错误，请稍后重试。"))


api.add_router("/identity/", identity_router)
api.add_router("/ops/", ops_router)
api.add_router("/audit/", audit_router)
api.add_router("/moderation/", moderation_router)
api.add_router("/org/", org_router)
api.add_router("/roles/", roles_router)
api.add_router("/notifications/", notify_router)
api.add_router("/notices/", notices_router)
api.add_router("/portal/", portal_router)
api.add_router("/workbench", workbench_router)
api.add_router("/workflow/", workflow_router)
api.add_router("/documents/", documents_router)
