"""Marks and feedback: a teacher's (or the auto-marker's) judgement of one pupil's activity."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from shared.wire.common import NO_NUL, AwareDatetime

Score = Annotated[float, msgspec.Meta(ge=0, le=1000)]
MaxScore = Annotated[float, msgspec.Meta(gt=0, le=1000)]
Feedback = Annotated[str, msgspec.Meta(max_length=10_000, pattern=NO_NUL)]


class MarkSet(msgspec.Struct, kw_only=True):
    """Body of `POST /api/marks/{pupil_id}/{lesson}/{activity}` and the payload of a `mark.set` operation."""

    score: Score
    max_score: MaxScore
    feedback: Feedback = ""
    client_time: AwareDatetime | None = None
    op_id: UUID | None = None


class Mark(msgspec.Struct, kw_only=True):
    """`revision`: for an automatic mark, the version of the answer that was checked (None for a
    teacher's mark, which is about the answer as a whole)."""

    pupil_id: int
    lesson_id: str
    activity_id: str
    score: float
    max_score: float
    feedback: str
    source: Literal["teacher", "auto"]
    marker: str | None
    marked_at: datetime
    revision: int | None = None


__all__ = ["Feedback", "Mark", "MarkSet", "MaxScore", "Score"]
