"""Reading the audit log: newest first, filtered, with an opaque cursor (`items`, `has_more`,
`next_cursor`; `limit` 50 by default, 200 at most). Rows added while someone pages never shift the
pages: a cursor is "older than row N"."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import AuditEntry
from server.lib.errors import bad_request, not_found
from shared.wire.admin import AuditEntry as AuditOut
from shared.wire.admin import AuditPage


def _encode(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"a1:{entry_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        prefix, value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
        if prefix != "a1":
            raise ValueError(prefix)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request(
            "cursor: not a cursor from this audit log; start from the first page", "cursor"
        ) from None


def entry_out(row: AuditEntry) -> AuditOut:
    return AuditOut(
        id=row.id,
        at=row.at,
        actor=row.actor,
        target=row.target,
        action=row.action,
        client_ip=row.client_ip,
        user_agent=row.user_agent,
        details=row.details or {},
    )


async def page(
    db: AsyncSession,
    *,
    actor: str | None,
    target: str | None,
    action: str | None,
    since: datetime | None,
    cursor: str | None,
    limit: int,
) -> AuditPage:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if actor:
        query = query.where(AuditEntry.actor == actor.lower())
    if target:
        query = query.where(AuditEntry.target == target)
    if action:
        query = query.where(
            AuditEntry.action.like(action.replace("*", "%")) if "*" in action else AuditEntry.action == action
        )
    if since:
        query = query.where(AuditEntry.at >= since)
    if cursor:
        query = query.where(AuditEntry.id < _decode(cursor))
    rows = (await db.execute(query)).scalars().all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        items=[entry_out(r) for r in rows],
        has_more=has_more,
        next_cursor=_encode(rows[-1].id) if has_more and rows else None,
    )


async def one(db: AsyncSession, entry_id: int) -> AuditOut:
    row = await db.get(AuditEntry, entry_id)
    if row is None:
        raise not_found(f"audit entry {entry_id}")
    return entry_out(row)


__all__ = ["one", "page"]
