"""Per-user, per-endpoint request limits in fixed one-minute windows, kept in the database.

One atomic `INSERT … ON CONFLICT DO UPDATE … RETURNING` per request: several server processes share
the count without a read-modify-write race, and a restart forgets nothing. On PostgreSQL the requests
in flight together share that statement (server.db.direct.GroupCommit): one round trip counts a whole
class's saves, each request still getting its own count.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.direct import DirectDatabase
from server.db.engine import upsert_for
from server.db.models import ActivityRevision, CodeCheck, RateLimitWindow, SyncOperation
from server.lib.errors import AppError
from server.lib.metrics import RATE_LIMITED
from shared.errors import ErrorCode

WINDOW_SECONDS = 60
# Route `opt` of handlers that count their requests themselves, inside their own transaction
# (activity_save, python_run, mark_activity, sync_push). Every other authenticated route counts
# against the `default` limit, per user and route, before its handler runs.
OWN_RATE_LIMIT = {"own_rate_limit": True}


HITS = """
INSERT INTO rate_limit_windows AS w (key, window_start, count)
SELECT key, window_start, 1
FROM jsonb_to_recordset(CAST(%(rows)s AS jsonb)) AS input (key text, window_start bigint)
ORDER BY key
ON CONFLICT (key, window_start) DO UPDATE SET count = w.count + 1
RETURNING key, count
"""


class Hit(msgspec.Struct):
    """One request counted, as `HITS` reads it."""

    key: str
    window_start: int


def _hit_key(hit: Hit) -> str:
    return hit.key


def _counted_key(row: tuple[Any, ...]) -> str:
    key: str = row[0]
    return key


async def hit(
    db: AsyncSession,
    limits: dict[str, int],
    endpoint: str,
    subject: str,
    direct: DirectDatabase | None = None,
) -> bool:
    """Count one request of `subject` to `endpoint`; raise 429 (with Retry-After) past the limit.
    False when that limit is switched off (nothing was written; with `direct`, on PostgreSQL, the
    count is committed at once on the hot path's connections; otherwise `db`'s caller commits it)."""
    limit = limits.get(endpoint, limits.get("default", 0))
    if limit <= 0:
        return False
    now = time.time()
    window_start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    key = f"{endpoint}:{subject}"
    if direct is not None:  # with the other requests in flight (a key twice waits for the next)
        group = direct.group_commit(HITS, row_key=_hit_key, result_key=_counted_key)
        [(_, count)] = await group.send([Hit(key, window_start)])
    else:
        insert = upsert_for(db)
        statement = (
            insert(RateLimitWindow)
            .values(key=key, window_start=window_start, count=1)
            .on_conflict_do_update(
                index_elements=["key", "window_start"], set_={"count": RateLimitWindow.count + 1}
            )
            .returning(RateLimitWindow.count)
        )
        count = (await db.execute(statement)).scalar_one()
    if count > limit:
        retry_after = max(1, int(window_start + WINDOW_SECONDS - now + 0.999))
        RATE_LIMITED.labels(endpoint=endpoint).inc()
        raise AppError(
            429,
            ErrorCode.RATE_LIMITED,
            f"too many requests to {endpoint}: the limit is {limit} a minute; retry in {retry_after} s",
            retry_after=retry_after,
        )
    return True


def window_start_and_retry(now: float | None = None) -> tuple[int, int]:
    """The current window's start, and the seconds until the next one."""
    now = time.time() if now is None else now
    start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    return start, max(1, int(start + WINDOW_SECONDS - now + 0.999))


async def used(db: AsyncSession, endpoint: str, subject: str) -> int:
    """How many times `subject` was counted against `endpoint` in the current window (no count)."""
    window_start, _ = window_start_and_retry()
    found = await db.execute(
        select(RateLimitWindow.count).where(
            RateLimitWindow.key == f"{endpoint}:{subject}", RateLimitWindow.window_start == window_start
        )
    )
    return int(found.scalar_one_or_none() or 0)


async def count(db: AsyncSession, endpoint: str, subject: str) -> None:
    """Count one use of `endpoint` by `subject` in `db`'s transaction, refusing nothing."""
    window_start, _ = window_start_and_retry()
    statement = (
        upsert_for(db)(RateLimitWindow)
        .values(key=f"{endpoint}:{subject}", window_start=window_start, count=1)
        .on_conflict_do_update(
            index_elements=["key", "window_start"], set_={"count": RateLimitWindow.count + 1}
        )
    )
    await db.execute(statement)


# One statement for a whole push: the request counted against its own limit (as `hit` would), then —
# unless that refused it — which of its operation ids are new (a replay does nothing, so it costs
# nothing; applied saves are known by their revisions, checks by code_checks), and the new ones of each
# kind added to that kind's counter. Answers the request's count (op_id NULL), then each new op id with
# its kind's count after the batch, in the order sent. One statement, one commit: the push pays no more
# round trips than before the operations were counted. The ids and keys go as comma-separated text:
# psycopg would dump array elements one by one in Python.
SPEND = """
WITH input AS (
    SELECT DISTINCT ON (op_id) op_id, key, position
    FROM unnest(CAST(string_to_array(%(op_ids)s, ',') AS uuid[]), string_to_array(%(keys)s, ','))
        WITH ORDINALITY AS i (op_id, key, position)
    ORDER BY op_id, position
), fresh AS (
    SELECT * FROM input
    WHERE NOT EXISTS (SELECT 1 FROM sync_operations s WHERE s.op_id = input.op_id)
      AND NOT EXISTS (SELECT 1 FROM activity_revisions r WHERE r.op_id = input.op_id)
      AND NOT EXISTS (SELECT 1 FROM code_checks c WHERE c.op_id = input.op_id)
), request AS (
    INSERT INTO rate_limit_windows (key, window_start, count)
    SELECT CAST(%(request_key)s AS text), %(window_start)s, 1 WHERE CAST(%(request_key)s AS text) IS NOT NULL
    ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_windows.count + 1
    RETURNING count
), counted AS (
    INSERT INTO rate_limit_windows (key, window_start, count)
    SELECT key, %(window_start)s, count(*) FROM fresh
    WHERE coalesce((SELECT count FROM request), 0) <= %(request_limit)s
    GROUP BY key
    ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_windows.count + excluded.count
    RETURNING key, count
)
SELECT op_id, key, total FROM (
    SELECT NULL::uuid AS op_id, '' AS key, (SELECT count FROM request) AS total, 0 AS position
    UNION ALL
    SELECT fresh.op_id, fresh.key, counted.count, fresh.position FROM fresh JOIN counted USING (key)
) AS answer
ORDER BY position
"""


@dataclass(frozen=True, slots=True)
class Deferred:
    """Operations of a push left for later: over their kind's budget for this window."""

    op_ids: frozenset[uuid.UUID]
    retry_after: int
    endpoints: tuple[str, ...]


async def spend(
    db: AsyncSession,
    limits: dict[str, int],
    request_endpoint: str,
    subject: str,
    operations: Sequence[tuple[uuid.UUID, str]],
    direct: DirectDatabase | None = None,
) -> Deferred:
    """Count a push: the request once against `request_endpoint` (raising 429 past it, like `hit`,
    and then counting none of its operations), and its operations — (op id, endpoint it counts
    against), in the order sent — against the same per-minute limits as the single endpoints
    (`activity_save`, `mark_activity`). Only op ids never answered before count. Within each
    endpoint's budget the earliest operations go ahead; the rest are returned as deferred, so what is
    done is a prefix of each kind, never reordered.

    Like `hit`, every new operation is counted, deferred or not: once a budget is spent, the rest of
    the window refuses that endpoint whichever route asks."""
    request_limit = limits.get(request_endpoint, limits.get("default", 0))
    counted = [(op_id, endpoint) for op_id, endpoint in operations if limits.get(endpoint, 0) > 0]
    if direct is None:
        await hit(db, limits, request_endpoint, subject)
        if not counted:
            return Deferred(frozenset(), 0, ())
    elif not counted and request_limit <= 0:
        return Deferred(frozenset(), 0, ())
    now = time.time()
    window_start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
    retry_after = max(1, int(window_start + WINDOW_SECONDS - now + 0.999))
    rows: Sequence[tuple[uuid.UUID, str, int]]
    if direct is not None:
        answer = await direct.fetch(
            SPEND,
            {
                "op_ids": ",".join(str(op_id) for op_id, _ in counted),
                "keys": ",".join(f"{endpoint}:{subject}" for _, endpoint in counted),
                "request_key": f"{request_endpoint}:{subject}" if request_limit > 0 else None,
                "request_limit": request_limit if request_limit > 0 else 2**31 - 1,
                "window_start": window_start,
            },
        )
        requests = answer[0][2]
        if request_limit > 0 and requests is not None and requests > request_limit:
            RATE_LIMITED.labels(endpoint=request_endpoint).inc()
            raise AppError(
                429,
                ErrorCode.RATE_LIMITED,
                f"too many requests to {request_endpoint}: the limit is {request_limit} a minute; "
                f"retry in {retry_after} s",
                retry_after=retry_after,
            )
        rows = [(op_id, key.partition(":")[0], total) for op_id, key, total in answer[1:]]
    else:
        rows = await _spend_generic(db, subject, counted, window_start)
    fresh_per_endpoint: dict[str, list[uuid.UUID]] = {}
    totals: dict[str, int] = {}
    for op_id, endpoint, total in rows:
        fresh_per_endpoint.setdefault(endpoint, []).append(op_id)
        totals[endpoint] = total
    deferred: set[uuid.UUID] = set()
    refused: list[str] = []
    for endpoint, fresh in fresh_per_endpoint.items():
        before = totals[endpoint] - len(fresh)
        granted = min(len(fresh), max(0, limits[endpoint] - before))
        if granted < len(fresh):
            deferred.update(fresh[granted:])
            refused.append(endpoint)
            RATE_LIMITED.labels(endpoint=endpoint).inc(len(fresh) - granted)
    return Deferred(frozenset(deferred), retry_after if deferred else 0, tuple(refused))


async def _spend_generic(
    db: AsyncSession, subject: str, counted: list[tuple[uuid.UUID, str]], window_start: int
) -> list[tuple[uuid.UUID, str, int]]:
    """`SPEND` for any backend (the embedded SQLite default): a few statements in `db`'s transaction."""
    first: dict[uuid.UUID, str] = {}
    for op_id, endpoint in counted:
        first.setdefault(op_id, endpoint)
    ids = list(first)
    known: set[uuid.UUID] = set()
    for table in (SyncOperation, ActivityRevision, CodeCheck):
        known |= set((await db.execute(select(table.op_id).where(table.op_id.in_(ids)))).scalars())
    fresh = [(op_id, endpoint) for op_id, endpoint in first.items() if op_id not in known]
    totals: dict[str, int] = {}
    insert = upsert_for(db)
    for endpoint in dict.fromkeys(endpoint for _, endpoint in fresh):
        n = sum(1 for _, e in fresh if e == endpoint)
        statement = (
            insert(RateLimitWindow)
            .values(key=f"{endpoint}:{subject}", window_start=window_start, count=n)
            .on_conflict_do_update(
                index_elements=["key", "window_start"], set_={"count": RateLimitWindow.count + n}
            )
            .returning(RateLimitWindow.count)
        )
        totals[endpoint] = (await db.execute(statement)).scalar_one()
    return [(op_id, endpoint, totals[endpoint]) for op_id, endpoint in fresh]


async def prune(db: AsyncSession) -> int:
    """Forget windows older than two minutes."""
    cutoff = int(time.time() // WINDOW_SECONDS) * WINDOW_SECONDS - 2 * WINDOW_SECONDS
    result = await db.execute(delete(RateLimitWindow).where(RateLimitWindow.window_start < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


__all__ = [
    "OWN_RATE_LIMIT",
    "WINDOW_SECONDS",
    "Deferred",
    "count",
    "hit",
    "prune",
    "spend",
    "used",
    "window_start_and_retry",
]
