"""Small builders for the store's part tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from shared.wire.marks import Mark
from shared.wire.sync import RevisionEvent

MOMENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def teacher_mark(pupil_id: int = 3, activity_id: str = "text-1", score: float = 2, **changes: Any) -> Mark:
    fields: dict[str, Any] = {
        "pupil_id": pupil_id,
        "lesson_id": "variables",
        "activity_id": activity_id,
        "score": score,
        "max_score": 2,
        "feedback": "Good",
        "source": "teacher",
        "marker": "teacher",
        "marked_at": MOMENT,
    }
    fields.update(changes)
    return Mark(**fields)


def revision(
    number: int,
    state: dict[str, Any],
    *,
    pupil_id: int = 3,
    current: bool = True,
    activity_id: str = "text-1",
) -> RevisionEvent:
    return RevisionEvent(
        cursor=f"c{number}",
        pupil_id=pupil_id,
        lesson_id="variables",
        activity_id=activity_id,
        revision=number,
        state=state,
        client_time=MOMENT,
        received_at=MOMENT,
        op_id=uuid.uuid4(),
        device_id="desktop-other",
        current=current,
    )
