"""Liveness, readiness and the Prometheus exposition."""

from __future__ import annotations

import ipaddress
from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.datastructures import State
from sqlalchemy import text

from server.domain.auth.guards import request_client_ip
from server.domain.auth.services import count_active_sessions
from server.domain.deps import AppSettings, Db
from server.lib.errors import AppError
from server.lib.metrics import ACTIVE_SESSIONS, DB_POOL, exposition
from server.lib.security import same
from server.ops.status import backup_exposition
from shared.errors import ErrorCode


def _pool_stats(state: State) -> None:
    pool = state.engine.pool
    for name in ("checkedout", "checkedin", "size", "overflow"):
        method = getattr(pool, name, None)
        if callable(method):
            DB_POOL.labels(state=name).set(method())


class SystemController(Controller):
    path = "/api"
    tags = ["system"]

    @get("/health")
    async def health(self) -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @get("/ready")
    async def ready(self, db: Db, state: State) -> Response[dict[str, Any]]:
        """Readiness: the database answers and the sandbox (if enabled) is usable."""
        checks: dict[str, Any] = {}
        try:
            await db.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"unavailable: {type(error).__name__}"
        checks["sandbox"] = await state.python.readiness()
        checks["lessons"] = "ok" if state.lessons.lessons is not None else "no lessons loaded"
        ok = checks["database"] == "ok" and checks["lessons"] == "ok"
        return Response(
            {"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503
        )

    @get("/metrics", media_type=MediaType.TEXT, include_in_schema=False)
    async def metrics(
        self, request: Request[Any, Any, Any], settings: AppSettings, db: Db, state: State
    ) -> Response[bytes]:
        """Prometheus exposition; needs the metrics bearer token or an allow-listed network."""
        if not _metrics_allowed(request, settings):
            raise AppError(
                401,
                ErrorCode.UNAUTHENTICATED,
                "metrics need the bearer token (POST16_METRICS_TOKEN)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        ACTIVE_SESSIONS.set(await count_active_sessions(db))
        _pool_stats(state)
        body = exposition() + backup_exposition(settings.data_dir)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


def _metrics_allowed(request: Request[Any, Any, Any], settings: AppSettings) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if settings.metrics_token and scheme.lower() == "bearer" and same(token.strip(), settings.metrics_token):
        return True
    try:
        address = ipaddress.ip_address(request_client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in settings.metrics_allow)


__all__ = ["SystemController"]
