"""Forget sessions that can never be used again, device tokens past their expiry, and failed-login
state nobody has added to for an hour.

A session row is dead once it is revoked (logout, password change, an admin, a restore), past its
absolute expiry, or (PostgreSQL) idle past its idle timeout; nothing reads a dead row again — a token
that matches no row gets the same 401 as a dead one — so the server deletes them periodically (a task in
the app's lifespan, every `POST16_SESSION_PURGE_SECONDS`), counting them in `tlac_sessions_purged_total`.
The audit log keeps the logins, logouts and revocations themselves.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, TextClause, delete, or_, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.engine import dialect_name
from server.db.models import LoginThrottle, TrustedDevice, UserSession
from server.domain.auth.throttle import FORGET_AFTER
from server.lib.metrics import SESSIONS_PURGED

IDLE_EXPIRED = text("user_sessions.last_seen_at + user_sessions.idle_timeout * interval '1 second' <= :now")


async def purge_sessions(db: AsyncSession) -> int:
    """Delete dead sessions and expired device tokens (committed); returns the sessions deleted."""
    now = utcnow()
    dead: list[ColumnElement[bool] | TextClause] = [
        UserSession.revoked_at.is_not(None),
        UserSession.expires_at <= now,
    ]
    if dialect_name(db) == "postgresql":
        dead.append(IDLE_EXPIRED.bindparams(now=now))
    result = await db.execute(delete(UserSession).where(or_(*dead)))
    await db.execute(delete(TrustedDevice).where(TrustedDevice.expires_at <= now))
    # Failed-login state that would be forgotten at its next use anyway (no failure for an hour, no lock).
    quiet = now - FORGET_AFTER
    await db.execute(
        delete(LoginThrottle).where(
            or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at < quiet),
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
        )
    )
    await db.commit()
    purged = int(result.rowcount or 0)  # type: ignore[attr-defined]
    SESSIONS_PURGED.inc(purged)
    return purged


__all__ = ["purge_sessions"]
