"""Audit log, sessions and the metrics summary, for the admin API and console."""

from datetime import datetime
from typing import Any

import msgspec


class AuditEntry(msgspec.Struct, kw_only=True):
    id: int
    at: datetime
    actor: str | None
    target: str | None
    action: str
    client_ip: str | None
    user_agent: str | None
    details: dict[str, Any]


class AuditPage(msgspec.Struct, kw_only=True):
    items: list[AuditEntry]
    has_more: bool
    next_cursor: str | None


class SessionInfo(msgspec.Struct, kw_only=True):
    id: int
    user_id: int
    username: str
    client: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client_ip: str | None
    user_agent: str | None


class MetricsSummary(msgspec.Struct, kw_only=True):
    users: dict[str, int]
    active_sessions: int
    answers: int
    revisions: int
    marks: int
    logins: dict[str, float]
    http_requests: float
    rate_limited: float
    sandbox: dict[str, Any]
    lessons: dict[str, Any]
    uptime_seconds: float


__all__ = ["AuditEntry", "AuditPage", "MetricsSummary", "SessionInfo"]
