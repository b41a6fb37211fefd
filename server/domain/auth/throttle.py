"""Login back-off per username and per client IP: 30 s → 120 s → 300 s → 600 s.

State lives in the database (row-locked on PostgreSQL), so it survives restarts and holds across
server processes. Spoofed forwarding headers do not help an attacker: the username key counts every
failure, and the IP key uses the address from server.lib.clientip.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.engine import dialect_name
from server.db.models import LoginThrottle
from server.lib.errors import AppError
from server.lib.metrics import LOGIN_THROTTLED
from shared.errors import ErrorCode

BACKOFF_SECONDS = (30, 120, 300, 600)
FORGET_AFTER = timedelta(hours=1)


def user_key(username: str) -> str:
    return f"user:{username.lower()}"


def ip_key(ip: str) -> str:
    return f"ip:{ip}"


async def hold(db: AsyncSession, key: str) -> None:
    """Lock `key`'s row until the transaction ends, so that concurrent attempts on one username (in any
    server process) are judged one after another and a burst of parallel guesses cannot all slip in
    before the first lockout is written. SQLite (the one-process embedded default) has a single writer."""
    if dialect_name(db) != "postgresql":
        return
    await db.execute(
        postgresql.insert(LoginThrottle).values(key=key, failures=0, lockouts=0).on_conflict_do_nothing()
    )
    await db.execute(select(LoginThrottle.key).where(LoginThrottle.key == key).with_for_update())


async def check(db: AsyncSession, keys: list[str]) -> None:
    """Refuse with 429 + Retry-After while any key is locked out."""
    now = utcnow()
    rows = (await db.execute(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))).scalars().all()
    waits = [(row.locked_until - now, row.key) for row in rows if row.locked_until and row.locked_until > now]
    if waits:
        wait, key = max(waits)
        seconds = max(1, int(wait.total_seconds() + 0.999))
        LOGIN_THROTTLED.labels(scope=key.split(":", 1)[0]).inc()
        raise AppError(
            429,
            ErrorCode.LOGIN_THROTTLED,
            f"too many failed logins: try again in {seconds} s",
            retry_after=seconds,
        )


async def record_failure(db: AsyncSession, key: str, threshold: int) -> datetime | None:
    """Count a failure; past `threshold` failures lock the key for the next back-off step."""
    now = utcnow()
    insert = postgresql.insert if dialect_name(db) == "postgresql" else sqlite.insert
    await db.execute(insert(LoginThrottle).values(key=key, failures=0, lockouts=0).on_conflict_do_nothing())
    row = (
        await db.execute(select(LoginThrottle).where(LoginThrottle.key == key).with_for_update())
    ).scalar_one()
    if row.last_failure_at and now - row.last_failure_at > FORGET_AFTER:
        row.failures, row.lockouts = 0, 0
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= threshold:
        row.lockouts += 1
        row.failures = 0
        row.locked_until = now + timedelta(
            seconds=BACKOFF_SECONDS[min(row.lockouts, len(BACKOFF_SECONDS)) - 1]
        )
    return row.locked_until


async def clear(db: AsyncSession, key: str) -> None:
    await db.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
