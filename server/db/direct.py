"""Direct psycopg connections for the few statements on the hot path: saves and rate-limit counts.

Through the ORM session each of these cost a pool ping, BEGIN, the statement and COMMIT, with
greenlet hops between them — three quarters of a save's server time (docs/performance.md). Here each is
ONE autocommit round trip on a pooled psycopg connection, prepared by the server after a few uses. Each
statement is atomic on its own (the saves are one data-modifying-CTE statement, the counters one
upsert), so autocommit keeps every invariant the ORM transaction kept.

Statements that many requests send at once go through a `GroupCommit`: while one statement is in
flight, the rows that arrive queue, and the next statement carries all of them (docs/architecture.md,
"Group commit").

PostgreSQL only: on SQLite (the embedded default) `direct` is None and callers take the ORM path.
The pool is separate from SQLAlchemy's (which serves everything else); both are sized from settings.
Instead of pinging every connection before use, a statement that fails because its connection broke
is tried once more on a fresh one: every statement sent here is safe to repeat (saves are idempotent
on their operation id; a repeated counter hit costs one request of quota at worst).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, LiteralString, TypeVar

import msgspec
import psycopg
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

from server.config import Settings

log = logging.getLogger("post16.db")
RowT = TypeVar("RowT")


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
        self._groups: dict[str, GroupCommit[Any]] = {}

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

    def group_commit(
        self,
        query: LiteralString,
        *,
        row_key: Callable[[Any], Hashable],
        result_key: Callable[[tuple[Any, ...]], Hashable],
        on_sent: Callable[[int], None] | None = None,
    ) -> GroupCommit[Any]:
        """The group commit of `query` on these connections, made at its first use (with these keys)
        and kept as long as the pool."""
        found = self._groups.get(query)
        if found is None:
            found = self._groups[query] = GroupCommit(
                self, query, row_key=row_key, result_key=result_key, on_sent=on_sent
            )
        return found


@dataclass(slots=True, eq=False)
class _Waiting(Generic[RowT]):
    """One request's rows, waiting for the statement that will carry them."""

    rows: list[RowT]
    keys: frozenset[Hashable]
    answer: asyncio.Future[list[tuple[Any, ...]]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit(Generic[RowT]):
    """Group commit of one statement on one worker: one statement in flight at a time, carrying the rows
    of every request that queued while the one before it ran — one round trip and one commit for many
    requests, and no waiting added (a request that finds nothing in flight is sent at once).

    The statement reads all rows as one JSON document, `%(rows)s` (msgspec-encoded), and must be
    correct for any mix of requests: each row carries whatever the request would have passed as a
    parameter (its user, its time), and each statement takes its row locks in one order (`ORDER BY` in
    every INSERT ... SELECT) so that two workers' statements wait for each other instead of
    deadlocking. A request gets back the result rows whose `result_key` is one of its rows' `row_key`;
    two requests with a key in common never share a statement. Every request is answered only after
    the statement carrying its rows has committed; a statement that fails is split and each request
    sent alone, so one request's failure (a bad row, an op id sent twice at once) is only its own.
    """

    def __init__(
        self,
        direct: DirectDatabase,
        query: LiteralString,
        *,
        row_key: Callable[[RowT], Hashable],
        result_key: Callable[[tuple[Any, ...]], Hashable],
        max_rows: int = 1000,
        on_sent: Callable[[int], None] | None = None,
    ) -> None:
        self._direct = direct
        self._query = query
        self._row_key = row_key
        self._result_key = result_key
        self._max_rows = max_rows  # one statement's JSON stays well under a megabyte
        self._on_sent = on_sent
        self._waiting: list[_Waiting[RowT]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def send(self, rows: list[RowT]) -> list[tuple[Any, ...]]:
        """Store `rows` together with other requests' rows in flight; returns this request's results."""
        waiting = _Waiting(rows, frozenset(self._row_key(row) for row in rows))
        self._waiting.append(waiting)
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain(), name="post16-group-commit")
        return await waiting.answer

    async def _drain(self) -> None:
        try:
            while self._waiting:
                await self._send(self._next_group())
        except BaseException as error:  # cancelled at shutdown: nobody is left waiting for nothing
            for waiting in self._waiting:
                if not waiting.answer.done():
                    waiting.answer.set_exception(error)
            self._waiting = []
            raise
        finally:
            self._drainer = None

    def _next_group(self) -> list[_Waiting[RowT]]:
        """The waiting requests that fit one statement, in arrival order; one with a key already in the
        group waits for the next statement."""
        group: list[_Waiting[RowT]] = []
        left: list[_Waiting[RowT]] = []
        keys: set[Hashable] = set()
        rows = 0
        for waiting in self._waiting:
            if waiting.answer.done():
                continue  # its request was cancelled before it was sent
            if group and (rows + len(waiting.rows) > self._max_rows or not keys.isdisjoint(waiting.keys)):
                left.append(waiting)
                continue
            group.append(waiting)
            keys |= waiting.keys
            rows += len(waiting.rows)
        self._waiting = left
        return group

    async def _send(self, group: list[_Waiting[RowT]]) -> None:
        rows = [row for waiting in group for row in waiting.rows]
        try:
            results = await self._direct.fetch(self._query, {"rows": msgspec.json.encode(rows).decode()})
        except Exception as error:
            if len(group) == 1:
                if not group[0].answer.done():
                    group[0].answer.set_exception(error)
                return
            # The statement was rolled back whole: each request alone, so whatever failed is its own.
            for waiting in group:
                await self._send([waiting])
            return
        except BaseException as error:
            for waiting in group:
                if not waiting.answer.done():
                    waiting.answer.set_exception(error)
            raise
        if self._on_sent is not None:
            self._on_sent(len(rows))
        by_key: dict[Hashable, list[tuple[Any, ...]]] = {}
        for result in results:
            by_key.setdefault(self._result_key(result), []).append(result)
        for waiting in group:
            if not waiting.answer.done():
                waiting.answer.set_result([row for key in waiting.keys for row in by_key.get(key, ())])


__all__ = ["DirectDatabase", "GroupCommit", "libpq_url"]
