"""One JSON error shape for every failure: {"error": {"code", "message"}} with a fitting status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from driftmgr import errors
from driftmgr.security.errors import AuthenticationError, PermissionDeniedError, RateLimitedError

log = logging.getLogger(__name__)

# most specific first
STATUS: list[tuple[type[errors.DriftMgrError], int]] = [
    (RateLimitedError, 429),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (errors.StateNotFoundError, 404),
    (errors.LockError, 423),
    (errors.AccessDeniedError, 502),  # the cloud or backend denied *us*: an upstream failure
    (errors.BackendError, 502),
    (errors.StateError, 422),
    (errors.ConflictError, 409),
    (errors.UsageError, 400),
]

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error response: `{"error": {"code", "message"}}`."""

    error: ErrorDetail


_ERR = {"model": ErrorBody}
# documented on every API route (the OpenAPI spec says what a client may receive)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {**_ERR, "description": "Bad request (a wrong value, an unknown name)"},
    401: {**_ERR, "description": "Not signed in, or a bad/expired/revoked token"},
    403: {**_ERR, "description": "A role without the permission, or a missing CSRF token"},
    404: {**_ERR, "description": "Not found"},
    409: {**_ERR, "description": "Conflict (the name exists)"},
    422: {**_ERR, "description": "The request does not match the schema"},
    429: {**_ERR, "description": "Too many failed sign-ins"},
    502: {**_ERR, "description": "A state backend or cloud API failed"},
}


class ApiError(Exception):
    """An error raised by a route or dependency with its own status and code."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def status_of(exc: errors.DriftMgrError) -> int:
    extra = getattr(exc, "http_status", None)
    if isinstance(extra, int):
        return extra
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(errors.DriftMgrError)
    async def _domain(_: Request, exc: errors.DriftMgrError) -> JSONResponse:
        headers = None
        if isinstance(exc, RateLimitedError):
            headers = {"Retry-After": str(max(1, int(getattr(exc, "retry_after", 60))))}
        return error_response(status_of(exc), exc.code, str(exc), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = (
            f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid request"))
        )
        return error_response(422, "invalid_request", message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal error")


__all__ = ["ApiError", "HTTPException", "error_response", "install"]
