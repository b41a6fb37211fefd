import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, UTCDateTime


class Mark(Base):
    """The current mark of one pupil's activity: the auto-marker's, until a teacher overrides it."""

    __tablename__ = "marks"

    pupil_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    lesson_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float] = mapped_column()
    max_score: Mapped[float] = mapped_column()
    feedback: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))
    marker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client_time: Mapped[datetime] = mapped_column(UTCDateTime)
    op_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    # The answer's version an automatic mark was given for (None: a teacher's mark of the answer).
    revision: Mapped[int | None] = mapped_column(default=None)
