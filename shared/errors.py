"""Machine-readable error codes carried in every error response body as `code`.

The body of every 4xx/5xx answer is `{"code": ..., "detail": ..., "field": ...?, "request_id": ...}`;
clients branch on `code`, show `detail` to people, and use `field` to point at the input at fault.
"""

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


__all__ = ["ErrorCode"]
