"""Batched sync: the desktop outbox pushed as operations, and server changes pulled by cursor.

Invariants (docs/architecture.md): every operation carries a client-generated `op_id`; the server
applies each at most once and answers every one (`applied`, `duplicate` with the original revision, or
`rejected` with a reason that will never change). The client deletes an operation only after that
answer. `rate_limited` is not an answer but "not now": the operation was over its kind's per-minute
budget (README, limits), was not looked at, and is to be sent again, in order, after `retry_after`
seconds. Pull uses an opaque server cursor, never wall-clock time.
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from shared.wire.common import AwareDatetime, Id, Slug
from shared.wire.marks import Mark

MAX_BATCH = 500
OperationKind = Literal["activity.save", "mark.set", "code.check", "assignment.set"]
Outcome = Literal["applied", "duplicate", "rejected", "rate_limited"]
DeviceId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class Operation(msgspec.Struct, kw_only=True):
    """One queued change.

    `activity.save`: payload `{"state": {...}}`, about the pushing pupil's own answer.
    `mark.set`: payload `{"score", "max_score", "feedback"}`, by a teacher about `pupil_id`'s answer.
    `code.check`: payload `{"code": "..."}`, the pupil asking for the mark that counts for the version
    of their answer holding exactly that code (saved earlier in the queue). The server runs every test,
    hidden ones included, in its sandbox; the mark comes back by pull, naming the `revision` it checked.
    `assignment.set`: payload `AssignmentSet` (shared/wire/assignments.py), by a teacher, setting
    `lesson_id` for a class; it names no single activity, so `activity_id` is left out. Every other kind
    needs `activity_id` (an operation without one is refused, by itself).
    """

    op_id: UUID
    kind: OperationKind
    lesson_id: Slug
    activity_id: Slug | None = None
    payload: dict[str, Any]
    client_time: AwareDatetime
    base_revision: int | None = None
    pupil_id: Id | None = None


class PushRequest(msgspec.Struct, kw_only=True):
    protocol: int
    device_id: DeviceId
    operations: Annotated[list[Operation], msgspec.Meta(max_length=MAX_BATCH)]


class OperationResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    op_id: UUID
    outcome: Outcome
    revision: int | None = None
    received_at: datetime | None = None
    reason: str | None = None
    code: str | None = None
    #: With `rate_limited`: seconds until the budget has room again.
    retry_after: int | None = None


class PushResponse(msgspec.Struct, kw_only=True):
    results: list[OperationResult]
    server_time: datetime


class RevisionEvent(msgspec.Struct, kw_only=True, tag="revision"):
    """An accepted answer version (from this or another device of the same pupil; teachers get their
    pupils'). `current` says whether it is now the answer the conflict rule picked."""

    cursor: str
    pupil_id: int
    lesson_id: str
    activity_id: str
    revision: int
    state: dict[str, Any]
    client_time: datetime
    received_at: datetime
    op_id: UUID
    device_id: str | None
    current: bool


class MarkEvent(msgspec.Struct, kw_only=True, tag="mark"):
    cursor: str
    mark: Mark


class LessonEvent(msgspec.Struct, kw_only=True, tag="lesson"):
    """The lesson's content changed on the server: fetch `GET /api/lessons/{lesson_id}` again."""

    cursor: str
    lesson_id: str
    version: str
    removed: bool = False


PullItem = RevisionEvent | MarkEvent | LessonEvent


class PullResponse(msgspec.Struct, kw_only=True):
    items: list[PullItem]
    next_cursor: str
    has_more: bool
    server_time: datetime


__all__ = [
    "MAX_BATCH",
    "DeviceId",
    "LessonEvent",
    "MarkEvent",
    "Operation",
    "OperationKind",
    "OperationResult",
    "Outcome",
    "PullItem",
    "PullResponse",
    "PushRequest",
    "PushResponse",
    "RevisionEvent",
]
