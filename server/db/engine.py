"""Engines: async for the app, sync for migrations and the CLI. Pool sizes come from settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from server.config import Settings


def sync_url(url: str) -> str:
    """The synchronous driver URL for the same database (Alembic, CLI, backups)."""
    return url.replace("sqlite+aiosqlite", "sqlite", 1)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _engine_kwargs(settings: Settings) -> dict[str, Any]:
    if settings.is_sqlite:
        return {}
    return {
        "pool_size": settings.pool_size,
        "max_overflow": settings.max_overflow,
        "pool_pre_ping": settings.pool_pre_ping,
        "pool_recycle": settings.pool_recycle,
        "pool_timeout": settings.pool_timeout,
    }


def make_async_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(settings.database_url, **_engine_kwargs(settings))
    if settings.is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def make_sync_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(sync_url(settings.database_url), **_engine_kwargs(settings))
    if settings.is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_sessionmaker(
    engine: AsyncEngine, info: dict[str, Any] | None = None
) -> async_sessionmaker[AsyncSession]:
    """`info` is copied into every session's `info` (the app puts its session cache there)."""
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


__all__ = [
    "AsyncSession",
    "dialect_name",
    "make_async_engine",
    "make_sessionmaker",
    "make_sync_engine",
    "sync_url",
]


def dialect_name(db: AsyncSession) -> str:
    """`postgresql` or `sqlite`: the few statements that differ (upserts, pull ordering) ask this."""
    return db.get_bind().dialect.name


def insert_for(dialect: str) -> Callable[..., postgresql.Insert | sqlite.Insert]:
    """The dialect's own INSERT, which has `on_conflict_do_update` / `on_conflict_do_nothing` (ON
    CONFLICT on both PostgreSQL and SQLite): the one place the upsert's dialect switch lives."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def upsert_for(db: AsyncSession) -> Callable[..., postgresql.Insert | sqlite.Insert]:
    """`insert_for` the database behind this session."""
    return insert_for(dialect_name(db))
