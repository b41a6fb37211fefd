from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base, BigId, UTCDateTime


class SyncEvent(Base):
    """The pull feed. `txid` is the writing transaction's id on PostgreSQL (0 on SQLite, whose single
    writer commits in id order): pull serves only events of transactions older than every one still
    running in the database, ordered by (txid, id), so a cursor never skips an event that commits
    late (server.domain.sync.feed)."""

    __tablename__ = "sync_events"
    __table_args__ = (
        Index("ix_sync_events_audience", "audience_id", "txid", "id"),
        Index("ix_sync_events_order", "txid", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    txid: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    # The pupil the event is about; NULL for everybody (lesson updates).
    audience_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    lesson_id: Mapped[str] = mapped_column(String(64))
    activity_id: Mapped[str | None] = mapped_column(String(64))
    ref_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
