"""One error shape for every failure (shared.wire.common.ErrorBody), and the handlers that make it.

Every handler logs what went wrong with the request id, and no exception escapes as a bare 500 page:
unexpected errors become `internal_error` with the request id to quote to IT.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import psycopg
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from psycopg_pool import PoolTimeout
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from shared.errors import ErrorCode
from shared.wire.common import ErrorBody

log = logging.getLogger("post16.errors")


class AppError(Exception):
    """An error a client caused or can act on; the message is safe to show."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        detail: str,
        *,
        field: str | None = None,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.retry_after = retry_after
        self.headers = dict(headers or {})
        if retry_after is not None:
            self.headers.setdefault("Retry-After", str(retry_after))


def refusal(code: str | None, reason: str | None, *, field: str | None = None) -> AppError:
    """A refusal recorded in an operation's answer (`OperationResult.code`/`reason`), raised on a single
    endpoint with the status its code carries (shared.errors.ErrorCode.http_status)."""
    error_code = ErrorCode.parse(code)
    return AppError(error_code.http_status, error_code, reason or "refused", field=field)


def not_found(what: str) -> AppError:
    return AppError(404, ErrorCode.NOT_FOUND, f"{what} not found")


def forbidden(detail: str = "you may not do that") -> AppError:
    return AppError(403, ErrorCode.FORBIDDEN, detail)


def bad_request(detail: str, field: str | None = None) -> AppError:
    return AppError(400, ErrorCode.VALIDATION, detail, field=field)


def _respond(
    request: Request[Any, Any, Any], status: int, body: ErrorBody, headers: dict[str, str]
) -> Response[ErrorBody]:
    # No route matched (404/405): the per-route middleware never ran. The id chosen here is the one the
    # `security_headers` send hook puts in the x-request-id header.
    body.request_id = request.scope.setdefault("state", {}).setdefault("request_id", secrets.token_hex(8))
    return Response(body, status_code=status, headers=headers, media_type=MediaType.JSON)


def app_error_handler(request: Request[Any, Any, Any], exc: AppError) -> Response[ErrorBody]:
    log.info("request refused: %s %s", exc.code, exc.detail, extra={"status": exc.status, "field": exc.field})
    body = ErrorBody(code=exc.code, detail=exc.detail, field=exc.field, retry_after=exc.retry_after)
    return _respond(request, exc.status, body, exc.headers)


def _validation_field(exc: ValidationException) -> tuple[str | None, str]:
    extra = exc.extra
    if isinstance(extra, list) and extra and isinstance(extra[0], dict):
        first = extra[0]
        key = first.get("key")
        message = str(first.get("message") or exc.detail)
        return (str(key) if key is not None else None), message
    return None, str(exc.detail)


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    status = exc.status_code
    code = {
        400: ErrorCode.VALIDATION,
        401: ErrorCode.UNAUTHENTICATED,
        403: ErrorCode.FORBIDDEN,
        404: ErrorCode.NOT_FOUND,
        405: ErrorCode.BAD_REQUEST,
        409: ErrorCode.CONFLICT,
        413: ErrorCode.PAYLOAD_TOO_LARGE,
        429: ErrorCode.RATE_LIMITED,
    }.get(status, ErrorCode.BAD_REQUEST if status < 500 else ErrorCode.INTERNAL)
    field = None
    detail = str(exc.detail)
    if isinstance(exc, ValidationException):
        field, detail = _validation_field(exc)
        if field:
            detail = f"{field}: {detail}" if not detail.startswith(field) else detail
    elif isinstance(exc, NotFoundException):
        detail = "not found"
    elif isinstance(exc, NotAuthorizedException):
        detail = "log in first"
    elif isinstance(exc, PermissionDeniedException):
        detail = "you may not do that"
    if status >= 500:
        log.error("server error: %s", detail, exc_info=exc)
    else:
        log.info("request refused: %s %s", status, detail, extra={"status": status, "field": field})
    body = ErrorBody(code=code, detail=detail, field=field)
    return _respond(request, status, body, dict(exc.headers or {}))


def too_deep_handler(request: Request[Any, Any, Any], exc: RecursionError) -> Response[ErrorBody]:
    """A request body nested deeper than the decoder's stack allows is the client's fault."""
    log.info("request refused: body nested too deeply")
    body = ErrorBody(code=ErrorCode.VALIDATION, detail="the request body is nested too deeply")
    return _respond(request, 400, body, {})


def _cause(exc: Exception) -> str:
    """The driver's error class name (SQLAlchemy wraps psycopg's in `.orig`; the hot path does not)."""
    return type(getattr(exc, "orig", None) or exc).__name__


def bad_data_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """The database refused a value (out of range, not valid text): the input's fault, not a crash."""
    log.warning("database refused a value: %s", _cause(exc))
    body = ErrorBody(
        code=ErrorCode.VALIDATION, detail="a value in the request is out of range or not valid text"
    )
    return _respond(request, 400, body, {})


def database_busy_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """Every pooled connection is in use: ask the client to come back rather than fail."""
    log.warning("database pool exhausted; answered 503")
    body = ErrorBody(
        code=ErrorCode.SERVER_BUSY, detail="the server is busy: try again in a few seconds", retry_after=5
    )
    return _respond(request, 503, body, {"Retry-After": "5"})


def database_down_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """The database cannot be reached (restarting, network): a temporary condition, not a bug."""
    log.error("database unavailable: %s", _cause(exc))
    body = ErrorBody(
        code=ErrorCode.DATABASE_UNAVAILABLE,
        detail="the database is not reachable: try again shortly",
        retry_after=5,
    )
    return _respond(request, 503, body, {"Retry-After": "5"})


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled error", exc_info=exc)
    body = ErrorBody(
        code=ErrorCode.INTERNAL, detail="something went wrong on the server; quote the request id to IT"
    )
    return _respond(request, HTTP_500_INTERNAL_SERVER_ERROR, body, {})


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    AppError: app_error_handler,
    HTTPException: http_exception_handler,
    RecursionError: too_deep_handler,
    SQLAlchemyTimeoutError: database_busy_handler,
    DataError: bad_data_handler,
    OperationalError: database_down_handler,
    # The same three from the hot path's direct psycopg connections (server.db.direct).
    PoolTimeout: database_busy_handler,
    psycopg.DataError: bad_data_handler,
    psycopg.OperationalError: database_down_handler,
    Exception: internal_error_handler,
}

__all__ = ["EXCEPTION_HANDLERS", "AppError", "bad_request", "forbidden", "not_found"]
