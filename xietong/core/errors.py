"""One error body for every 4xx/5xx of the REST API:

{"error": {"code": "not_found", "message": "……", "details": [...]}}
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


def error_response(status: int, code: str, message: str, details: Any = None) -> JsonResponse:
    return JsonResponse(
        error_body(code, message, details), status=status, json_dumps_params={"ensure_ascii": False}
    )


class DomainError(Exception):
    """A refusal a service raises; views and the API turn it into a message for the user."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class PermissionDeniedError(DomainError):
    status = 403
    code = "forbidden"


class NotFoundError(DomainError):
    status = 404
    code = "not_found"
