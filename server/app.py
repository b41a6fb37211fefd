"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from server.config import Settings, load_settings
from server.db.direct import DirectDatabase
from server.db.engine import make_async_engine, make_sessionmaker
from server.domain.activity.controllers import ActivityController
from server.domain.admin.controllers import AdminController
from server.domain.assignments.controllers import (
    AdminAssignmentController,
    PupilAssignmentController,
    TeacherAssignmentController,
)
from server.domain.auth import sessioncache
from server.domain.auth.controllers import AuthController
from server.domain.auth.guards import (
    provide_admin,
    provide_auth,
    provide_db,
    provide_settings,
    provide_teacher,
)
from server.domain.auth.purge import purge_sessions
from server.domain.auth.sessioncache import SessionCache
from server.domain.checks.worker import CheckWorker
from server.domain.lessons.controllers import LessonController
from server.domain.lessons.services import LessonLibrary
from server.domain.marks.controllers import MarkController
from server.domain.python.controllers import PythonController
from server.domain.python.services import PythonService
from server.domain.settings.controllers import SchoolSettingsController
from server.domain.sync.controllers import SyncController
from server.domain.system.controllers import SystemController
from server.domain.teaching.controllers import TeachingController
from server.lib import ratelimit
from server.lib.errors import EXCEPTION_HANDLERS
from server.lib.logging import configure_logging
from server.lib.middleware import http_metrics, request_middleware_factory, security_headers
from server.lib.strictbody import strict_body
from server.web import admin_console_handlers, template_config
from server.web.api_reference import ApiReferencePlugin

log = logging.getLogger("post16.app")
VERSION = "0.1.0"

__all__ = ["VERSION", "create_app", "create_app_from_env"]


async def _housekeeping(app: Litestar) -> None:
    """Reload lessons when their files change and forget old rate-limit windows."""
    settings: Settings = app.state.settings
    library: LessonLibrary = app.state.lessons
    while True:
        await asyncio.sleep(settings.lessons_reload_seconds)
        try:
            if library.reload():
                async with app.state.sessionmaker() as db:
                    await library.announce(db)
            async with app.state.sessionmaker() as db:
                await ratelimit.prune(db)
                await db.commit()
        except Exception:
            log.exception("housekeeping failed; will try again")


async def _session_purge(app: Litestar) -> None:
    """Delete dead sessions every `session_purge_seconds` (server.domain.auth.purge)."""
    settings: Settings = app.state.settings
    while True:
        await asyncio.sleep(settings.session_purge_seconds)
        try:
            async with app.state.sessionmaker() as db:
                purged = await purge_sessions(db)
            if purged:
                log.info("purged %d dead sessions", purged)
        except Exception:
            log.exception("session purge failed; will try again")


@contextlib.asynccontextmanager
async def _lifespan(app: Litestar) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    library: LessonLibrary = app.state.lessons
    library.reload(force=True)
    async with app.state.sessionmaker() as db:
        await library.announce(db)
    python: PythonService = app.state.python
    await python.start()
    checks = (
        CheckWorker(
            app.state.sessionmaker,
            lambda: app.state.lessons,
            python.runner,
            stale_after=timedelta(seconds=settings.check_stale_seconds),
        )
        if python.runner is not None
        else None
    )
    app.state.checks = checks
    if checks is not None:
        checks.start()
    direct: DirectDatabase | None = app.state.direct
    sessions: SessionCache | None = app.state.sessions
    if direct is not None:
        await direct.open()
    listener = (
        asyncio.create_task(sessions.listen(direct.conninfo))
        if sessions is not None and direct is not None
        else None
    )
    task = asyncio.create_task(_housekeeping(app)) if settings.lessons_reload_seconds > 0 else None
    purge = asyncio.create_task(_session_purge(app)) if settings.session_purge_seconds > 0 else None
    try:
        yield
    finally:
        await sessioncache.stop(purge)
        await sessioncache.stop(task)
        await sessioncache.stop(listener)
        if checks is not None:
            await checks.stop()
        await python.close()
        if direct is not None:
            await direct.close()
        await app.state.engine.dispose()


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = make_async_engine(settings)
    # The hot path's own connections and the session cache need PostgreSQL (server.db.direct,
    # server.domain.auth.sessioncache); on SQLite both are None and the ORM path serves.
    postgresql = not settings.is_sqlite
    sessions = (
        SessionCache(ttl=settings.session_cache_seconds)
        if postgresql and settings.session_cache_seconds > 0
        else None
    )
    if sessions is not None:
        sessioncache.watch_orm_sessions()
    state = State(
        {
            "settings": settings,
            "engine": engine,
            "sessionmaker": make_sessionmaker(engine, info={"sessions": sessions}),
            "direct": DirectDatabase(settings) if postgresql else None,
            "sessions": sessions,
            "lessons": LessonLibrary(settings.lessons_dir),
            "python": PythonService(settings),
            "checks": None,
        }
    )
    handlers: list[Any] = [
        AuthController,
        LessonController,
        ActivityController,
        SyncController,
        MarkController,
        TeachingController,
        TeacherAssignmentController,
        PupilAssignmentController,
        AdminAssignmentController,
        SystemController,
        AdminController,
        PythonController,
        SchoolSettingsController,
        *admin_console_handlers(settings),
    ]
    return Litestar(
        route_handlers=handlers,
        template_config=template_config(),
        state=state,
        dependencies={
            "db": Provide(provide_db),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "auth": Provide(provide_auth),
            "teacher": Provide(provide_teacher),
            "admin": Provide(provide_admin),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            request_middleware_factory(settings),
            http_metrics(app_name="post16", exclude="/api/metrics|/api/health"),
        ],
        before_send=[security_headers],
        before_request=strict_body,
        lifespan=[_lifespan],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Post16 Lessons API",
            version=VERSION,
            path="/api/docs",
            render_plugins=[ApiReferencePlugin(), JsonRenderPlugin()],
            use_handler_docstrings=True,
        ),
        debug=False,
    )


def create_app_from_env() -> Litestar:
    """Factory for `uvicorn --factory` (several worker processes each build their own app)."""
    return create_app(load_settings())
