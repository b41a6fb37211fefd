"""Login lockout that stops guessing without handing attackers a switch to lock staff out (OWASP's
"slow down online guessing" with device cookies; docs/security.md).

Keys, each with its own failure count and back-off (30 s → 120 s → 300 s → 600 s):
- `pair:<username>|<address>` — the attacker's back-off: `login_user_threshold` failures for one
  username from one client address lock that username *from that address*;
- `user:<username>` — a much higher ceiling (`login_user_ceiling`) across all addresses, so guessing
  spread over many addresses still stops; it locks that username for every device not trusted by it;
- `ip:<address>` — one address guessing many usernames (`login_ip_threshold`);
- `device:<token digest>` — a device that logged in as this user before presents its device token
  (cookie `tlac_device` from the web console, header `X-Post16-Device` from the desktop): it is judged
  by this key alone, so nobody else's failures lock the owner out of their usual device, and a stolen
  device token still gets the attacker's back-off.

State lives in the database (row-locked on PostgreSQL), so it survives restarts and holds across
server processes. Spoofed forwarding headers do not help: the address comes from server.lib.clientip.
Refused attempts are counted per key and reach the audit log at most once a minute per key, with their
count (`refused`), so a flood of refused guesses cannot flood the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.engine import dialect_name, upsert_for
from server.db.models import LoginThrottle
from server.lib.metrics import LOGIN_THROTTLED

BACKOFF_SECONDS = (30, 120, 300, 600)
FORGET_AFTER = timedelta(hours=1)
AUDIT_EVERY = timedelta(minutes=1)


def pair_key(username: str, ip: str) -> str:
    return f"pair:{username.lower()}|{ip}"[:200]


def user_key(username: str) -> str:
    return f"user:{username.lower()}"


def ip_key(ip: str) -> str:
    return f"ip:{ip}"


def device_key(device_token_hash: str) -> str:
    return f"device:{device_token_hash}"


def scope(key: str) -> str:
    return key.split(":", 1)[0]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A login refused because `key` is locked for `seconds` more. `to_audit` is the number of refusals
    of this key to write to the audit log now (0: the last row for this key is less than a minute old)."""

    key: str
    seconds: int
    to_audit: int


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


async def check(db: AsyncSession, keys: list[str]) -> Refusal | None:
    """The refusal while any key is locked out (the longest wait), else None. A refusal is counted on
    its key, and handed back for the audit log at most once a minute per key."""
    now = utcnow()
    rows = (await db.execute(select(LoginThrottle).where(LoginThrottle.key.in_(keys)))).scalars().all()
    waits = [(row.locked_until - now, row.key) for row in rows if row.locked_until and row.locked_until > now]
    if not waits:
        return None
    wait, key = max(waits)
    seconds = max(1, int(wait.total_seconds() + 0.999))
    LOGIN_THROTTLED.labels(scope=scope(key)).inc()
    row = (
        await db.execute(
            select(LoginThrottle)
            .where(LoginThrottle.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    row.refused_unlogged = (row.refused_unlogged or 0) + 1
    to_audit = 0
    if row.refusals_logged_at is None or now - row.refusals_logged_at >= AUDIT_EVERY:
        to_audit, row.refused_unlogged, row.refusals_logged_at = row.refused_unlogged, 0, now
    return Refusal(key=key, seconds=seconds, to_audit=to_audit)


async def record_failure(db: AsyncSession, key: str, threshold: int) -> datetime | None:
    """Count a failure; past `threshold` failures lock the key for the next back-off step."""
    now = utcnow()
    insert = upsert_for(db)
    await db.execute(insert(LoginThrottle).values(key=key, failures=0, lockouts=0).on_conflict_do_nothing())
    row = (
        await db.execute(
            select(LoginThrottle)
            .where(LoginThrottle.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
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


__all__ = [
    "BACKOFF_SECONDS",
    "Refusal",
    "check",
    "clear",
    "device_key",
    "hold",
    "ip_key",
    "pair_key",
    "record_failure",
    "scope",
    "user_key",
]
