"""Direct psycopg connections for the few statements on the hot path: saves and rate-limit counts.

Through the ORM session each of these cost a pool ping, BEGIN, the statement and COMMIT, with
greenlet hops between them — three quarters of a save's server time (docs/performance.md). Here each is
ONE autocommit round trip on a pooled psycopg connection, prepared by the server after a few uses. Each
statement is atomic on its own (the saves are one data-modifying-CTE statement, the counters one
upsert), so autocommit keeps every invariant the ORM transaction kept.

PostgreSQL only: on SQLite (the embedded default) `direct` is None and callers take the ORM path.
The pool is separate from SQLAlchemy's (which serves everything else); both are sized from settings.
Instead of pinging every connection before use, a statement that fails because its connection broke
is tried once more on a fresh one: every statement sent here is safe to repeat (saves are idempotent
on their operation id; a repeated counter hit costs one request of quota at worst).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, LiteralString

import msgspec
import psycopg
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

from server.config import Settings

log = logging.getLogger("post16.db")


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL as a libpq connection URI (driver name dropped, password kept)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _configure(connection: psycopg.AsyncConnection[Any]) -> None:
    """JSON from the database (answers' states) decoded by msgspec: several times the stdlib's speed."""
    set_json_loads(msgspec.json.decode, connection)


class DirectDatabase:
    """A small psycopg pool of autocommit connections (open it in the app's lifespan)."""

    def __init__(self, settings: Settings) -> None:
        self.conninfo = libpq_url(settings.database_url)
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[tuple[Any, ...]]] = AsyncConnectionPool(
            self.conninfo,
            min_size=min(2, settings.direct_pool_size),
            max_size=settings.direct_pool_size,
            max_lifetime=settings.pool_recycle,
            timeout=settings.pool_timeout,
            kwargs={"autocommit": True},
            configure=_configure,
            open=False,
            name="post16-direct",
        )

    async def open(self) -> None:
        await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close()

    async def fetch(self, query: LiteralString, params: dict[str, Any]) -> Sequence[tuple[Any, ...]]:
        """Run one statement and return its rows; once more on a fresh connection if this one broke."""
        for attempt in (1, 2):
            async with self._pool.connection() as connection:
                try:
                    cursor = await connection.execute(query, params)
                    return await cursor.fetchall() if cursor.description else []
                except psycopg.OperationalError:
                    if attempt == 2 or not connection.broken:
                        raise
                    log.warning("database connection broke; trying the statement on a fresh one")
            # One broken connection usually means all of them (the database restarted, or a restore
            # ended every session): check the idle ones before taking another.
            await self._pool.check()
        raise AssertionError("unreachable")

    def stats(self) -> dict[str, int]:
        return self._pool.get_stats()


__all__ = ["DirectDatabase", "libpq_url"]
