"""ASGI middleware: request id, client IP and logging context, security headers, protocol check, and
the HTTP metrics.

Pure ASGI (no per-request objects) because it runs on every request, including the hot save path.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.config import Settings
from server.lib.clientip import client_ip
from server.lib.logging import request_context
from server.lib.metrics import (
    HTTP_REQUEST_ERRORS,
    HTTP_REQUEST_SECONDS,
    HTTP_REQUESTS,
    HTTP_REQUESTS_IN_PROGRESS,
)
from shared.errors import ErrorCode
from shared.protocol import MIN_PROTOCOL_VERSION, PROTOCOL_HEADER
from shared.wire.common import ErrorBody

log = logging.getLogger("post16.http")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_PROTOCOL_HEADER = PROTOCOL_HEADER.lower().encode()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def request_middleware_factory(settings: Settings):  # type: ignore[no-untyped-def]
    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            request_id = _header(scope, b"x-request-id")
            if not request_id or len(request_id) > 64 or not request_id.isascii():
                request_id = secrets.token_hex(8)
            headers = {
                key.decode("latin-1"): value.decode("latin-1")
                for key, value in scope.get("headers", ())
                if key in (b"x-forwarded-for", b"x-real-ip")
            }
            peer = scope.get("client")
            ip = client_ip(peer[0] if peer else None, headers, settings.trusted_proxies)
            state: dict[str, Any] = scope.setdefault("state", {})
            state["request_id"] = request_id
            state["client_ip"] = ip
            context = {"request_id": request_id, "client_ip": ip}
            token = request_context.set(context)

            try:
                protocol = _header(scope, _PROTOCOL_HEADER)
                if protocol is not None and not _protocol_ok(protocol):
                    await _refuse_protocol(send, protocol, request_id)
                    return
                await app(scope, receive, send)
            finally:
                request_context.reset(token)

        return middleware

    return factory


def http_metrics(app_name: str, exclude: str):  # type: ignore[no-untyped-def]
    """Route middleware counting every HTTP request in `tlac_http_*`, labelled by method, path template,
    status and `app_name`, except paths matching the `exclude` pattern.

    The same series as Litestar's Prometheus middleware (names, labels, buckets, in-progress
    aggregation), which built a Request, two label dicts and four label lookups per request and wrapped
    `send` twice: about 8 % of a single save's server CPU in py-spy profiles (docs/performance.md). Here
    the labelled children are looked up once per route and status and kept."""
    excluded = re.compile(exclude)
    in_progress: dict[tuple[str, str], Any] = {}
    finished: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or excluded.search(scope["path"]):
                await app(scope, receive, send)
                return
            route = (scope["method"], scope["path_template"])
            gauge = in_progress.get(route)
            if gauge is None:
                gauge = in_progress[route] = HTTP_REQUESTS_IN_PROGRESS.labels(*route, "200", app_name)
            start = time.perf_counter()
            span = [200, 0.0]  # status, duration (until the last body message)

            async def send_observed(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span[0] = message["status"]
                elif message["type"] == "http.response.body":
                    span[1] = time.perf_counter() - start
                await send(message)

            gauge.inc()
            try:
                await app(scope, receive, send_observed)
            finally:
                gauge.dec()
                status = int(span[0])
                key = (*route, status)
                children = finished.get(key)
                if children is None:
                    labels = (*route, str(status), app_name)
                    children = finished[key] = (
                        HTTP_REQUESTS.labels(*labels),
                        HTTP_REQUEST_SECONDS.labels(*labels),
                    )
                if status >= 500:
                    HTTP_REQUEST_ERRORS.labels(*route, str(status), app_name).inc()
                children[0].inc()
                children[1].observe(span[1])

        return middleware

    return factory


async def security_headers(message: Message, scope: Scope) -> None:
    """`before_send` hook: the security headers and the request id on EVERY response, including the
    router's own 404/405 answers, which never reach route middleware."""
    if message["type"] != "http.response.start":
        return
    state: dict[str, Any] = scope.setdefault("state", {})
    request_id = state.setdefault("request_id", secrets.token_hex(8))
    message["headers"] = [
        *message.get("headers", ()),
        *SECURITY_HEADERS,
        (b"x-request-id", request_id.encode()),
    ]


def _protocol_ok(value: str) -> bool:
    try:
        return int(value) >= MIN_PROTOCOL_VERSION
    except ValueError:
        return False


async def _refuse_protocol(send: Send, protocol: str, request_id: str) -> None:
    log.info("client protocol %r refused", protocol)
    body = msgspec.json.encode(
        ErrorBody(
            code=ErrorCode.PROTOCOL_OUTDATED,
            detail=f"this app speaks protocol {protocol[:16]!r}; the server needs {MIN_PROTOCOL_VERSION} "
            "or newer: please update Post16 Lessons",
            request_id=request_id,
        )
    )
    start: Any = {
        "type": "http.response.start",
        "status": 426,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    end: Any = {"type": "http.response.body", "body": body}
    await send(end)


__all__ = ["CSP", "SECURITY_HEADERS", "http_metrics", "request_middleware_factory", "security_headers"]
