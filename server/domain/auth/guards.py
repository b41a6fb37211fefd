"""Dependencies that every protected handler declares: the database session, the caller, their role.

`auth` accepts `Authorization: Bearer <token>` (desktop) or the `tlac_session` cookie (web console);
a cookie-authenticated unsafe request must carry its session's `X-CSRF-Token`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.domain.auth.context import AuthContext
from server.domain.auth.services import AuthService, unauthenticated
from server.domain.deps import Caller, Db
from server.lib import ratelimit
from server.lib.errors import AppError, forbidden
from shared.errors import ErrorCode

SESSION_COOKIE = "tlac_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    async with state.sessionmaker() as session:
        yield session


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def request_client_ip(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("state", {}).get("client_ip") or "unknown")


def bearer_or_cookie(request: Request[Any, Any, Any]) -> tuple[str | None, str]:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip(), "bearer"
    return request.cookies.get(SESSION_COOKIE), "cookie"


async def provide_auth(request: Request[Any, Any, Any], db: Db) -> AuthContext:
    # Settings from the app's state, not the `settings` dependency: with `db` the only dependency of
    # `auth`, a handler that needs neither settings nor more has its dependencies resolved one after
    # the other, not as concurrent tasks of a task group (6 % of a save's server CPU, py-spy).
    settings: Settings = request.app.state.settings
    token, via = bearer_or_cookie(request)
    if not token:
        raise unauthenticated()
    if len(token) > 200:
        raise unauthenticated("that session token is not valid")
    ip = request_client_ip(request)
    service = AuthService(db, settings, request.app.state.sessions)
    auth = await service.authenticate(token, via, ip, request.headers.get("user-agent"))
    if request.method not in SAFE_METHODS and not AuthService.csrf_ok(auth, request.headers.get(CSRF_HEADER)):
        raise AppError(403, ErrorCode.CSRF, f"missing or wrong {CSRF_HEADER} header: reload the page")
    request.scope["state"]["user"] = auth.username
    handler = request.route_handler
    if not handler.opt.get("own_rate_limit"):
        route = f"{request.method} {request.scope.get('path_template') or handler.paths}"
        direct = request.app.state.direct
        if await ratelimit.hit(db, settings.rate_limits, "default", f"{auth.user_id}:{route}", direct):
            await db.commit()
    return auth


async def provide_teacher(auth: Caller) -> AuthContext:
    if not auth.is_teacher:
        raise forbidden("only teachers can do that")
    return auth


async def provide_admin(auth: Caller) -> AuthContext:
    if not auth.is_admin:
        raise forbidden("only admins can do that")
    return auth


__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "bearer_or_cookie",
    "provide_admin",
    "provide_auth",
    "provide_db",
    "provide_settings",
    "provide_teacher",
    "request_client_ip",
]
