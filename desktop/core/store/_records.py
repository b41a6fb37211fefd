"""The typed records the store hands out. Rows become records by column name (`sqlite3.Row`), never by
position, in the `from_row` constructors here."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import uuid
from datetime import datetime
from typing import Any

from desktop.core.store._common import mark_decoder, parse
from shared.lessons.model import Activity
from shared.wire.marks import Mark

__all__ = [
    "AckSummary",
    "Answer",
    "ArchivedAnswer",
    "ClassWork",
    "LocalMark",
    "PendingOperation",
    "PullApplied",
    "QueuedAssignment",
    "Receipt",
    "RejectedOperation",
    "StoredRevision",
    "TeacherRevision",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    lesson_id: str
    activity_id: str
    state: dict[str, Any]
    client_time: datetime
    revision: int | None
    #: True while an operation for this activity waits in the outbox.
    pending: bool

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Answer:
        """Columns: lesson_id, activity_id, state, client_time, revision, pending."""
        return cls(
            lesson_id=row["lesson_id"],
            activity_id=row["activity_id"],
            state=json.loads(row["state"]),
            client_time=datetime.fromisoformat(row["client_time"]),
            revision=row["revision"],
            pending=bool(row["pending"]),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class ArchivedAnswer:
    """An answer to an activity the current lessons no longer have: kept, shown read-only.

    `lesson_removed` is true when the whole lesson left the manifest, false when a new version of a
    lesson still served dropped the activity. `activity` is the definition as last served (None if this
    computer never downloaded it). `pending` / `rejected_reason` say whether the last change still waits
    in the outbox or was refused by the server (it is kept either way)."""

    lesson_id: str
    lesson_title: str
    activity_id: str
    activity: Activity | None
    state: dict[str, Any]
    client_time: datetime
    revision: int | None
    pending: bool
    rejected_reason: str | None
    lesson_removed: bool

    @property
    def title(self) -> str:
        return self.activity.title if self.activity is not None else self.activity_id


@dataclasses.dataclass(frozen=True, slots=True)
class PendingOperation:
    op_id: uuid.UUID
    kind: str
    lesson_id: str
    activity_id: str
    pupil_id: int | None
    client_time: datetime
    attempts: int
    last_error: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> PendingOperation:
        return cls(
            op_id=uuid.UUID(row["op_id"]),
            kind=row["kind"],
            lesson_id=row["lesson_id"],
            activity_id=row["activity_id"],
            pupil_id=row["pupil_id"],
            client_time=datetime.fromisoformat(row["client_time"]),
            attempts=row["attempts"],
            last_error=row["last_error"],
        )


@dataclasses.dataclass(frozen=True, slots=True)
class RejectedOperation:
    op_id: uuid.UUID
    kind: str
    lesson_id: str
    activity_id: str
    pupil_id: int | None
    payload: dict[str, Any]
    client_time: datetime
    reason: str
    code: str | None
    rejected_at: datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RejectedOperation:
        return cls(
            op_id=uuid.UUID(row["op_id"]),
            kind=row["kind"],
            lesson_id=row["lesson_id"],
            activity_id=row["activity_id"],
            pupil_id=row["pupil_id"],
            payload=json.loads(row["payload"]),
            client_time=datetime.fromisoformat(row["client_time"]),
            reason=row["reason"],
            code=row["code"],
            rejected_at=datetime.fromisoformat(row["rejected_at"]),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Receipt:
    """The server's acknowledgement of one operation: what, when it was saved here, when it arrived."""

    op_id: uuid.UUID
    kind: str
    lesson_id: str
    activity_id: str
    pupil_id: int | None
    client_time: datetime
    received_at: datetime | None
    revision: int | None
    outcome: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Receipt:
        return cls(
            op_id=uuid.UUID(row["op_id"]),
            kind=row["kind"],
            lesson_id=row["lesson_id"],
            activity_id=row["activity_id"],
            pupil_id=row["pupil_id"],
            client_time=datetime.fromisoformat(row["client_time"]),
            received_at=parse(row["received_at"]),
            revision=row["revision"],
            outcome=row["outcome"],
        )


@dataclasses.dataclass(frozen=True, slots=True)
class StoredRevision:
    revision: int
    state: dict[str, Any]
    client_time: datetime
    received_at: datetime
    op_id: str
    device_id: str | None
    current: bool

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredRevision:
        return cls(
            revision=row["revision"],
            state=json.loads(row["state"]),
            client_time=datetime.fromisoformat(row["client_time"]),
            received_at=datetime.fromisoformat(row["received_at"]),
            op_id=row["op_id"],
            device_id=row["device_id"],
            current=bool(row["current"]),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class LocalMark:
    """A mark as this computer knows it; `pending` while a `mark.set` for it waits in the outbox."""

    mark: Mark
    pending: bool

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> LocalMark:
        """Columns: mark (JSON), pending."""
        return cls(mark=mark_decoder.decode(row["mark"]), pending=bool(row["pending"]))


@dataclasses.dataclass(frozen=True, slots=True)
class ClassWork:
    """What this computer knows of a class's work, read in bulk for the teacher's grid: marks by
    (pupil, lesson, activity), and the newest version number of each answer pulled here."""

    marks: dict[tuple[int, str, str], LocalMark]
    answered: dict[tuple[int, str, str], int]


@dataclasses.dataclass(frozen=True, slots=True)
class TeacherRevision:
    """A pupil's answer version pulled to a teacher's computer (for archived answers)."""

    pupil_id: int
    lesson_id: str
    activity_id: str
    revision: int
    state: dict[str, Any]
    client_time: datetime
    current: bool

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> TeacherRevision:
        return cls(
            pupil_id=row["pupil_id"],
            lesson_id=row["lesson_id"],
            activity_id=row["activity_id"],
            revision=row["revision"],
            state=json.loads(row["state"]),
            client_time=datetime.fromisoformat(row["client_time"]),
            current=bool(row["current"]),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class QueuedAssignment:
    """An `assignment.set` a teacher made on this computer that still waits in the outbox: the lesson
    set, the change (`shared.wire.assignments.AssignmentSet` as JSON builtins) and when it was made."""

    op_id: uuid.UUID
    lesson_id: str
    change: dict[str, Any]
    client_time: datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> QueuedAssignment:
        """Columns: op_id, lesson_id, payload, client_time."""
        return cls(
            op_id=uuid.UUID(row["op_id"]),
            lesson_id=row["lesson_id"],
            change=json.loads(row["payload"]),
            client_time=datetime.fromisoformat(row["client_time"]),
        )


@dataclasses.dataclass(slots=True)
class AckSummary:
    acknowledged: int = 0
    rejected: int = 0
    #: Answers for operations this store no longer holds (late or replayed acknowledgements): ignored.
    unknown: int = 0
    rejections: list[RejectedOperation] = dataclasses.field(default_factory=list)
    #: Operations the server left for later (`rate_limited`): still queued, in their place.
    deferred: int = 0
    #: The longest `retry_after` among them, in seconds.
    retry_after: float = 0.0


@dataclasses.dataclass(slots=True)
class PullApplied:
    revisions: int = 0
    new_marks: list[Mark] = dataclasses.field(default_factory=list)
    lessons_changed: list[str] = dataclasses.field(default_factory=list)
    answers_replaced: list[tuple[str, str]] = dataclasses.field(default_factory=list)
