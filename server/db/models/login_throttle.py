from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UTCDateTime


class LoginThrottle(Base):
    """Failed-login state per key (server.domain.auth.throttle: `pair:`, `user:`, `ip:`, `device:`);
    survives restarts, shared by workers. Refusals while locked are counted here and written to the
    audit log at most once a minute per key, with their count."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    lockouts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    refused_unlogged: Mapped[int] = mapped_column(default=0, server_default="0")
    refusals_logged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
