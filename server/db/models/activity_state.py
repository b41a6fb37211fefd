import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, JsonDoc, UTCDateTime


class ActivityState(Base):
    """A pupil's current answer to one activity: the revision picked by the conflict rule
    (latest client time, ties broken by operation id). `revision_count` numbers the revisions."""

    __tablename__ = "activity_states"

    pupil_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    lesson_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    revision: Mapped[int] = mapped_column()
    revision_count: Mapped[int] = mapped_column()
    client_time: Mapped[datetime] = mapped_column(UTCDateTime)
    op_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
