"""Assignments on the laptop, without Qt: the teacher's list for a class and the pupil's due list.

A teacher sets work offline too: the change waits in the outbox as an `assignment.set` operation
(`store.outbox.queue_assignment`) and is shown on top of the server's list until the server has it
(`class_assignments`). The pupil's list is the server's, with its receipts — whether work is on time is
decided by the time the server received it, never by a laptop's clock — plus what this laptop holds and
has not sent yet (`due_list`), so a pupil working offline sees "saved here, not yet received" rather
than "missing" (docs/desktop.md, "Assignments").
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal

import msgspec

from desktop.core.errors import DesktopError
from desktop.core.store import QueuedAssignment
from shared.lessons.model import LessonSummary
from shared.wire.assignments import (
    AssignedWork,
    Assignment,
    AssignmentProgress,
    AssignmentSet,
    PupilAssignment,
)

__all__ = [
    "AssignmentInputError",
    "AssignmentScope",
    "ClassAssignment",
    "DueActivity",
    "DueAssignment",
    "assignment_change",
    "class_assignments",
    "default_due",
    "due_list",
    "due_words",
]


class AssignmentInputError(DesktopError):
    """The work a teacher tried to set is not valid (the message names the field)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ClassAssignment:
    """One assignment of a class as the teacher's laptop knows it. `activity_ids` empty: the whole
    lesson. `pending`: a change made here waits to be sent (the server may not know it yet)."""

    id: uuid.UUID
    class_id: int
    lesson_id: str
    lesson_title: str
    activity_ids: tuple[str, ...]
    title: str
    due_at: datetime
    removed: bool
    pending: bool

    def activities(self, lessons: Sequence[LessonSummary]) -> tuple[str, ...]:
        """The activities set: those named, or every activity the lesson has now."""
        if self.activity_ids:
            return self.activity_ids
        lesson = next((item for item in lessons if item.id == self.lesson_id), None)
        return tuple(activity.id for activity in lesson.activities) if lesson is not None else ()

    def label(self, now: datetime) -> str:
        """One line for a list: title, due time, and what is not settled yet."""
        words = "withdrawn" if self.removed else due_words(self.due_at, now)
        waiting = " · ↻ waiting to sync" if self.pending else ""
        return f"{self.title or self.lesson_title} — {words}{waiting}"

    def change(
        self,
        *,
        due_at: datetime | None = None,
        activity_ids: Sequence[str] | None = None,
        title: str | None = None,
        removed: bool | None = None,
    ) -> dict[str, object]:
        """The `AssignmentSet` payload (JSON builtins) that sets this same assignment again, edited."""
        return assignment_change(
            assignment_id=self.id,
            class_id=self.class_id,
            due_at=self.due_at if due_at is None else due_at,
            activity_ids=self.activity_ids if activity_ids is None else activity_ids,
            title=self.title if title is None else title,
            removed=self.removed if removed is None else removed,
        )


def assignment_change(
    *,
    class_id: int,
    due_at: datetime,
    activity_ids: Sequence[str] = (),
    title: str = "",
    assignment_id: uuid.UUID | None = None,
    removed: bool = False,
) -> dict[str, object]:
    """An `AssignmentSet` payload as JSON builtins, checked against the wire type here, so a bad one is
    refused with the field named before it is queued (the server checks it again)."""
    if due_at.tzinfo is None:
        raise AssignmentInputError("due_at: the due time needs a time zone")
    change = {
        "assignment_id": str(assignment_id or uuid.uuid4()),
        "class_id": class_id,
        "due_at": due_at.isoformat(),
        "activity_ids": list(dict.fromkeys(activity_ids)),
        "title": title.strip(),
        "removed": removed,
    }
    try:
        msgspec.convert(change, AssignmentSet)
    except msgspec.ValidationError as error:
        raise AssignmentInputError(str(error)) from None
    return change


def class_assignments(
    server: Sequence[Assignment],
    queued: Sequence[QueuedAssignment],
    class_id: int,
    lesson_titles: Mapping[str, str],
) -> list[ClassAssignment]:
    """The class's assignments: the server's list with every change still queued here applied on top,
    oldest first (the newest change wins, as it will on the server), soonest due first."""
    known: dict[uuid.UUID, ClassAssignment] = {
        item.id: ClassAssignment(
            id=item.id,
            class_id=item.class_id,
            lesson_id=item.lesson_id,
            lesson_title=item.lesson_title,
            activity_ids=() if item.whole_lesson else tuple(item.activity_ids),
            title=item.title,
            due_at=item.due_at,
            removed=item.removed,
            pending=False,
        )
        for item in server
        if item.class_id == class_id
    }
    for waiting in queued:
        try:
            change = msgspec.convert(waiting.change, AssignmentSet)
        except msgspec.ValidationError:
            continue  # the server will refuse it; the sync log shows the refusal
        if change.class_id != class_id:
            continue
        known[change.assignment_id] = ClassAssignment(
            id=change.assignment_id,
            class_id=change.class_id,
            lesson_id=waiting.lesson_id,
            lesson_title=lesson_titles.get(waiting.lesson_id, waiting.lesson_id),
            activity_ids=tuple(change.activity_ids),
            title=change.title,
            due_at=change.due_at,
            removed=change.removed,
            pending=True,
        )
    return sorted(known.values(), key=lambda item: (item.removed, item.due_at, item.title, str(item.id)))


@dataclasses.dataclass(frozen=True, slots=True)
class AssignmentScope:
    """What the teacher's grid shows for one assignment: its activities, and — once the server has
    answered — each pupil's work on time, late or missing by the server's receipts."""

    assignment: ClassAssignment
    activity_ids: frozenset[str]
    progress: AssignmentProgress | None = None

    def work(self, pupil_id: int, activity_id: str) -> AssignedWork | None:
        if self.progress is None:
            return None
        for row in self.progress.pupils:
            if row.pupil.id == pupil_id:
                return next((w for w in row.work if w.activity_id == activity_id), None)
        return None

    def counts(self, pupil_id: int) -> tuple[int, int, int] | None:
        """(on time, late, missing) for the pupil, or None until the server has answered."""
        if self.progress is None:
            return None
        row = next((r for r in self.progress.pupils if r.pupil.id == pupil_id), None)
        return None if row is None else (row.on_time, row.late, row.missing)


WorkState = Literal["on_time", "late", "missing"]


@dataclasses.dataclass(frozen=True, slots=True)
class DueActivity:
    """One assigned activity as the pupil sees it."""

    lesson_id: str
    activity_id: str
    title: str
    status: WorkState
    #: the server's receipt (its clock): by the due time when on time, else the first after
    received_at: datetime | None
    #: a version saved on this laptop waits to be sent (not received by the school yet)
    waiting: bool
    score: float | None
    max_score: float | None

    def describe(self) -> str:
        receipt = f"received by the school {_when(self.received_at)}" if self.received_at else ""
        if self.status == "on_time":
            text = f"Handed in: {receipt}, on time"
        elif self.status == "late":
            text = f"Handed in late: {receipt}, after the due time"
        elif self.waiting:
            return (
                "Saved on this computer, not yet received by the school: it is sent when the network is back"
            )
        else:
            return "Not handed in yet"
        if self.waiting:
            text += "; a newer version saved here is not sent yet"
        return text

    def mark_words(self) -> str:
        if self.score is None or self.max_score is None:
            return ""
        return f"{self.score:g} / {self.max_score:g}"


@dataclasses.dataclass(frozen=True, slots=True)
class DueAssignment:
    assignment: Assignment
    work: tuple[DueActivity, ...]
    #: past the due time with something not received (by this laptop's clock: shown, never decided)
    overdue: bool

    @property
    def handed_in(self) -> int:
        return sum(piece.status != "missing" for piece in self.work)

    @property
    def complete(self) -> bool:
        return bool(self.work) and self.handed_in == len(self.work)

    def summary(self, now: datetime) -> str:
        pieces = f"{self.handed_in} of {len(self.work)} handed in"
        waiting = sum(piece.waiting for piece in self.work)
        if waiting:
            pieces += f", {waiting} waiting to be sent"
        if self.overdue:
            return f"Overdue — {due_words(self.assignment.due_at, now)} · {pieces}"
        words = due_words(self.assignment.due_at, now)
        return f"{words[:1].upper()}{words[1:]} · {pieces}"


def due_list(
    server: Sequence[PupilAssignment],
    waiting: Collection[tuple[str, str]],
    activity_titles: Mapping[tuple[str, str], str],
    now: datetime,
) -> list[DueAssignment]:
    """The pupil's assignments, overdue first, then by due time; complete ones after the rest."""
    answer = []
    for item in server:
        assignment = item.assignment
        pieces = tuple(
            DueActivity(
                lesson_id=assignment.lesson_id,
                activity_id=work.activity_id,
                title=activity_titles.get((assignment.lesson_id, work.activity_id), work.activity_id),
                status=work.status,
                received_at=work.received_at,
                waiting=(assignment.lesson_id, work.activity_id) in waiting,
                score=work.score,
                max_score=work.max_score,
            )
            for work in item.work
        )
        overdue = now > assignment.due_at and any(piece.status == "missing" for piece in pieces)
        answer.append(DueAssignment(assignment=assignment, work=pieces, overdue=overdue))
    return sorted(answer, key=lambda d: (d.complete, not d.overdue, d.assignment.due_at, d.assignment.title))


def due_words(due_at: datetime, now: datetime) -> str:
    """“due tomorrow at 09:00”, “due Fri 4 Dec at 09:00”, “was due today at 09:00” — in local time."""
    local_due, local_now = due_at.astimezone(), now.astimezone()
    days = (local_due.date() - local_now.date()).days
    clock = f"{local_due:%H:%M}"
    if days == 0:
        day = "today"
    elif days == 1:
        day = "tomorrow"
    elif days == -1:
        day = "yesterday"
    elif abs(days) < 7:
        day = f"{local_due:%a} {local_due.day} {local_due:%b}"
    else:
        day = f"{local_due:%a} {local_due.day} {local_due:%b} {local_due:%Y}"
    verb = "was due" if due_at < now else "due"
    return f"{verb} {day} at {clock}"


def _when(moment: datetime) -> str:
    local = moment.astimezone()
    return f"{local:%a} {local.day} {local:%b} at {local:%H:%M}"


def default_due(now: datetime) -> datetime:
    """A week from now at 09:00 local time: the usual “next lesson” deadline."""
    return (now.astimezone() + timedelta(days=7)).replace(hour=9, minute=0, second=0, microsecond=0)
