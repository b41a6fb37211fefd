"""Machine-readable error codes carried in every error response body as `code`.

The body of every 4xx/5xx answer is `{"code": ..., "detail": ..., "field": ...?, "request_id": ...}`;
clients branch on `code`, show `detail` to people, and use `field` to point at the input at fault.
Each code knows the HTTP status it is answered with (`ErrorCode.NOT_FOUND.http_status == 404`), so a
refusal recorded in a sync answer (`OperationResult.code`) and the same refusal on a single endpoint
agree.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    VALIDATION = "validation_error"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    CSRF = "csrf_failed"
    RATE_LIMITED = "rate_limited"
    LOGIN_THROTTLED = "login_throttled"
    PROTOCOL_OUTDATED = "protocol_outdated"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    SANDBOX_BUSY = "sandbox_busy"
    SANDBOX_UNAVAILABLE = "sandbox_unavailable"
    SERVER_BUSY = "server_busy"
    DATABASE_UNAVAILABLE = "database_unavailable"
    INTERNAL = "internal_error"

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self]

    @classmethod
    def parse(cls, code: str | None, default: ErrorCode | None = None) -> ErrorCode:
        """The code named by `code` (as stored in an operation's answer), else `default` (validation)."""
        try:
            return cls(code) if code is not None else (default or cls.VALIDATION)
        except ValueError:
            return default or cls.VALIDATION


_HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.VALIDATION: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.CSRF: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.LOGIN_THROTTLED: 429,
    ErrorCode.PROTOCOL_OUTDATED: 426,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.SANDBOX_BUSY: 503,
    ErrorCode.SANDBOX_UNAVAILABLE: 503,
    ErrorCode.SERVER_BUSY: 503,
    ErrorCode.DATABASE_UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}


__all__ = ["ErrorCode"]
