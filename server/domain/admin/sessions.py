"""Active sessions: list them, revoke one, or all of a user's."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.models import User, UserSession
from server.domain.admin.users import revoke_sessions
from server.domain.auth.context import AuthContext
from server.lib import audit
from server.lib.errors import not_found
from shared.wire.admin import SessionInfo


async def active(db: AsyncSession, user_id: int | None, limit: int) -> list[SessionInfo]:
    now = utcnow()
    query = (
        select(UserSession, User.username)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.revoked_at.is_(None), UserSession.expires_at > now)
        .order_by(UserSession.last_seen_at.desc())
        .limit(limit)
    )
    if user_id is not None:
        query = query.where(UserSession.user_id == user_id)
    return [
        SessionInfo(
            id=s.id,
            user_id=s.user_id,
            username=name,
            client=s.client,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            expires_at=s.expires_at,
            client_ip=s.client_ip,
            user_agent=s.user_agent,
        )
        for s, name in (await db.execute(query)).all()
    ]


async def revoke(db: AsyncSession, auth: AuthContext, session_id: int) -> None:
    row = (
        await db.execute(
            select(UserSession, User.username)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.id == session_id)
        )
    ).one_or_none()
    if row is None or row[0].revoked_at is not None:
        raise not_found(f"active session {session_id}")
    await db.execute(
        update(UserSession)
        .where(UserSession.id == session_id)
        .values(revoked_at=utcnow(), revoked_reason="revoked_by_admin")
    )
    await audit.record(
        db,
        "session.revoked",
        actor=auth.username,
        target=row[1],
        client_ip=auth.client_ip,
        user_agent=auth.user_agent,
        details={"session_id": session_id, "client": row[0].client},
    )
    await db.commit()


async def revoke_all(db: AsyncSession, auth: AuthContext, user_id: int) -> int:
    user = await db.get(User, user_id)
    if user is None:
        raise not_found(f"user {user_id}")
    ended = await revoke_sessions(db, user_id, "revoked_by_admin")
    await audit.record(
        db,
        "session.revoked",
        actor=auth.username,
        target=user.username,
        client_ip=auth.client_ip,
        user_agent=auth.user_agent,
        details={"all": True, "sessions_ended": ended},
    )
    await db.commit()
    return ended


__all__ = ["active", "revoke", "revoke_all"]
