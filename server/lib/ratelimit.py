"""Per-user, per-endpoint request limits in fixed one-minute windows, kept in the database.

One atomic `INSERT … ON CONFLICT DO UPDATE … RETURNING` per request: several server processes share
the count without a read-modify-write race, and a restart forgets nothing.
"""

from __future__ import annotations

import time

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.direct import DirectDatabase
from server.db.engine import dialect_name
from server.db.models import RateLimitWindow
from server.lib.errors import AppError
from server.lib.metrics import RATE_LIMITED
from shared.errors import ErrorCode

WINDOW_SECONDS = 60
# Route `opt` of handlers that count their requests themselves, inside their own transaction
# (activity_save, python_run, mark_activity, sync_push). Every other authenticated route counts
# against the `default` limit, per user and route, before its handler runs.
OWN_RATE_LIMIT = {"own_rate_limit": True}


def _upsert(dialect: str):  # type: ignore[no-untyped-def]
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


HIT = """
INSERT INTO rate_limit_windows (key, window_start, count) VALUES (%(key)s, %(window_start)s, 1)
ON CONFLICT (key, window_start) DO UPDATE SET count = rate_limit_windows.count + 1
RETURNING count
"""


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
    if direct is not None:
        [(count,)] = await direct.fetch(HIT, {"key": key, "window_start": window_start})
    else:
        insert = _upsert(dialect_name(db))
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


async def prune(db: AsyncSession) -> int:
    """Forget windows older than two minutes."""
    cutoff = int(time.time() // WINDOW_SECONDS) * WINDOW_SECONDS - 2 * WINDOW_SECONDS
    result = await db.execute(delete(RateLimitWindow).where(RateLimitWindow.window_start < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


__all__ = ["OWN_RATE_LIMIT", "WINDOW_SECONDS", "hit", "prune"]
