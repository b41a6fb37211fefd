import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, BigId, JsonDoc, UTCDateTime


class ActivityRevision(Base):
    """Every accepted version of an answer, kept forever (docs/architecture.md, invariant 3)."""

    __tablename__ = "activity_revisions"
    __table_args__ = (
        Index(
            "ix_activity_revisions_activity", "pupil_id", "lesson_id", "activity_id", "revision", unique=True
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[str] = mapped_column(String(64))
    activity_id: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column()
    state: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    client_time: Mapped[datetime] = mapped_column(UTCDateTime)
    client_time_raw: Mapped[str | None] = mapped_column(String(64), default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    op_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    device_id: Mapped[str | None] = mapped_column(String(64), default=None)
