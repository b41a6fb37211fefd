"""Who is asking: the authenticated user and session, as handlers receive it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AuthContext:
    user_id: int
    username: str
    display_name: str
    role: str
    session_id: int
    via: str  # "cookie" or "bearer"
    csrf_token: str
    expires_at: datetime
    client_ip: str
    user_agent: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_teacher(self) -> bool:
        return self.role in ("teacher", "admin")
