"""Append-only audit trail. Callers name the action `<noun>.<past-verb>`; secrets never go in `details`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.models import AuditEntry
from server.lib.metrics import AUDIT_ENTRIES

_SECRET_KEYS = {"password", "new_password", "current_password", "token", "csrf_token", "secret"}


def _scrub(details: dict[str, Any]) -> dict[str, Any]:
    return {key: ("[redacted]" if key in _SECRET_KEYS else value) for key, value in details.items()}


async def record(
    db: AsyncSession,
    action: str,
    *,
    actor: str | None,
    target: str | None = None,
    client_ip: str | None = None,
    user_agent: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await db.execute(
        insert(AuditEntry).values(
            at=utcnow(),
            actor=actor,
            target=target,
            action=action,
            client_ip=client_ip,
            user_agent=(user_agent or "")[:256] or None,
            details=_scrub(details or {}),
        )
    )
    AUDIT_ENTRIES.labels(action=action).inc()


__all__ = ["record"]
