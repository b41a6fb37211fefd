import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, JsonDoc, UTCDateTime


class Assignment(Base):
    """Work a teacher set for a class: a lesson, or chosen activities of it, due at a time.

    Named by the client (`id`, a UUID) so an assignment set offline and edited twice stays one. The
    current version follows the answers' rule: the latest client time wins, ties broken by op id."""

    __tablename__ = "assignments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("school_classes.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[str] = mapped_column(String(64))
    # The activity ids set; an empty list is the whole lesson.
    activity_ids: Mapped[list[str]] = mapped_column(JsonDoc)
    title: Mapped[str] = mapped_column(String(200), default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed: Mapped[bool] = mapped_column(default=False)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client_time: Mapped[datetime] = mapped_column(UTCDateTime)
    op_id: Mapped[uuid.UUID] = mapped_column(Uuid)
