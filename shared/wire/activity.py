"""An activity's saved answer ("state") and its revision history."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from shared.wire.common import AwareDatetime, State


class ActivityStateSave(msgspec.Struct, kw_only=True):
    """Body of `POST /api/activity/state/{lesson}/{activity}`.

    `op_id` makes the save idempotent (a retry with the same id is answered as a duplicate);
    `client_time` is when the pupil typed it, clamped by the server against its own clock."""

    state: State
    client_time: AwareDatetime | None = None
    op_id: UUID | None = None


class ActivityState(msgspec.Struct, kw_only=True):
    lesson_id: str
    activity_id: str
    state: State
    revision: int
    client_time: datetime
    received_at: datetime
    outcome: str = "applied"


class Revision(msgspec.Struct, kw_only=True):
    """One accepted version of an answer. Every accepted save is kept; `current` marks the one the
    conflict rule picked (latest client time, ties broken by operation id)."""

    revision: int
    state: State
    client_time: datetime
    received_at: datetime
    op_id: UUID
    device_id: str | None
    current: bool


class RevisionList(msgspec.Struct, kw_only=True):
    lesson_id: str
    activity_id: str
    pupil_id: int
    revisions: list[Revision]


class RevisionRestore(msgspec.Struct, kw_only=True):
    """Make an earlier revision the current answer again (recorded as a new revision)."""

    revision: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    op_id: UUID | None = None


__all__ = [
    "ActivityState",
    "ActivityStateSave",
    "CodeCheckRequest",
    "Revision",
    "RevisionList",
    "RevisionRestore",
]


class CodeCheckRequest(msgspec.Struct, kw_only=True):
    """Body of `POST /api/python/check/{lesson}/{activity}`: the pupil's program to mark."""

    code: Annotated[str, msgspec.Meta(max_length=100_000)]
