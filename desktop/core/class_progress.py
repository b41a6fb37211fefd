"""A snapshot of a class's progress for the teacher's grid, built once per refresh.

The grid used to ask the store about each cell as Qt painted it (about three SQLite queries a cell, on
the UI thread: 30 pupils × 40 activities is 3,600 queries a repaint). Now the server's progress, the
marks and answers this computer holds, and the lesson list are read in bulk off the UI thread
(`store.marks.class_work`, `store.lessons.summaries`), folded here into plain frozen records, and the
grid reads only those: painting and scrolling run no queries. Totals per pupil (overall and per lesson)
and the answers to activities a lesson update removed (archived) are worked out at the same time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

from desktop.core.store import ClassWork, Store
from shared.lessons.model import Activity, ActivitySummary, LessonSummary
from shared.wire.auth import User
from shared.wire.marks import Mark
from shared.wire.teaching import ClassProgress

__all__ = [
    "ArchivedCell",
    "CellState",
    "GridCell",
    "GridColumn",
    "GridSnapshot",
    "PupilTotals",
    "build_snapshot",
    "load_snapshot",
    "with_mark",
]

CellState = Literal["empty", "answered", "pending", "full", "partial", "zero"]
CellKey = tuple[int, str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class GridColumn:
    lesson_id: str
    lesson_title: str
    activity: ActivitySummary


@dataclasses.dataclass(frozen=True, slots=True)
class GridCell:
    """One pupil × activity: its state (the colour), the mark shown, and the newest version known."""

    state: CellState
    mark: Mark | None = None
    revision: int | None = None
    updated_at: datetime | None = None


EMPTY = GridCell("empty")


@dataclasses.dataclass(frozen=True, slots=True)
class PupilTotals:
    """Marks / maximum over the activities in scope (every activity counts towards the maximum, marked
    or not), and how many are answered, marked and waiting for a mark."""

    score: float = 0.0
    max_score: float = 0.0
    activities: int = 0
    answered: int = 0
    marked: int = 0

    @property
    def unmarked(self) -> int:
        return self.answered - self.marked

    def add(self, cell: GridCell, activity: ActivitySummary) -> PupilTotals:
        marked = cell.mark is not None
        answered = cell.state != "empty"
        return PupilTotals(
            score=self.score + (cell.mark.score if cell.mark is not None else 0.0),
            max_score=self.max_score + activity.max_score,
            activities=self.activities + 1,
            answered=self.answered + int(answered or marked),
            marked=self.marked + int(marked),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class ArchivedCell:
    """A pupil's answer to an activity the current lessons no longer have (kept, read-only)."""

    pupil_id: int
    lesson_id: str
    lesson_title: str
    activity_id: str
    activity: Activity | None
    revision: int | None
    mark: Mark | None

    @property
    def title(self) -> str:
        return self.activity.title if self.activity is not None else self.activity_id


@dataclasses.dataclass(frozen=True, slots=True)
class GridSnapshot:
    """Everything the grid shows, computed once: read it from any thread, it never changes."""

    class_id: int
    class_name: str
    pupils: tuple[User, ...]
    lessons: tuple[LessonSummary, ...]
    columns: tuple[GridColumn, ...]
    cells: Mapping[CellKey, GridCell]
    #: (pupil id, lesson id) -> totals for that lesson; (pupil id, None) -> over every lesson.
    totals: Mapping[tuple[int, str | None], PupilTotals]
    archived: Mapping[int, tuple[ArchivedCell, ...]]

    def cell(self, pupil_id: int, column: GridColumn) -> GridCell:
        return self.cells.get((pupil_id, column.lesson_id, column.activity.id), EMPTY)

    def total(self, pupil_id: int, lesson_id: str | None = None) -> PupilTotals:
        return self.totals.get((pupil_id, lesson_id), PupilTotals())


def _state(mark: Mark | None, pending: bool, answered: bool) -> CellState:
    if pending:
        return "pending"
    if mark is not None:
        if mark.score >= mark.max_score:
            return "full"
        return "partial" if mark.score > 0 else "zero"
    return "answered" if answered else "empty"


def build_snapshot(
    progress: ClassProgress,
    lessons: Sequence[LessonSummary],
    work: ClassWork,
    retired: Mapping[tuple[str, str], tuple[str, Activity]] | None = None,
) -> GridSnapshot:
    """Fold the server's progress and what this computer holds into one snapshot. A mark made here
    wins over the server's (it is newer, or waits to be sent); an answer counts if either knows it."""
    columns = tuple(
        GridColumn(lesson.id, lesson.title, activity) for lesson in lessons for activity in lesson.activities
    )
    current = {(column.lesson_id, column.activity.id) for column in columns}
    lesson_titles = {lesson.id: lesson.title for lesson in lessons}
    server_cells = {(c.pupil_id, c.lesson_id, c.activity_id): c for c in progress.cells}
    cells: dict[CellKey, GridCell] = {}
    totals: dict[tuple[int, str | None], PupilTotals] = {}
    archived: dict[int, list[ArchivedCell]] = {}
    retired = retired or {}
    for pupil in progress.pupils:
        overall = PupilTotals()
        for column in columns:
            key = (pupil.id, column.lesson_id, column.activity.id)
            server = server_cells.get(key)
            local = work.marks.get(key)
            mark = local.mark if local is not None else (server.mark if server is not None else None)
            revisions = [r for r in (server.revision if server else None, work.answered.get(key)) if r]
            cell = GridCell(
                state=_state(mark, local is not None and local.pending, bool(revisions)),
                mark=mark,
                revision=max(revisions) if revisions else None,
                updated_at=server.updated_at if server is not None else None,
            )
            if cell != EMPTY:
                cells[key] = cell
            lesson_key = (pupil.id, column.lesson_id)
            totals[lesson_key] = totals.get(lesson_key, PupilTotals()).add(cell, column.activity)
            overall = overall.add(cell, column.activity)
        totals[(pupil.id, None)] = overall
    pupil_ids = {pupil.id for pupil in progress.pupils}
    gone = {key for key in (*server_cells, *work.answered) if key[0] in pupil_ids and key[1:] not in current}
    for pupil_id, lesson_id, activity_id in sorted(gone):
        key = (pupil_id, lesson_id, activity_id)
        server = server_cells.get(key)
        local = work.marks.get(key)
        title, activity = retired.get(
            (lesson_id, activity_id), (lesson_titles.get(lesson_id, lesson_id), None)
        )
        archived.setdefault(pupil_id, []).append(
            ArchivedCell(
                pupil_id=pupil_id,
                lesson_id=lesson_id,
                lesson_title=lesson_titles.get(lesson_id, title),
                activity_id=activity_id,
                activity=activity,
                revision=max(
                    (r for r in (server.revision if server else None, work.answered.get(key)) if r),
                    default=None,
                ),
                mark=local.mark if local is not None else (server.mark if server is not None else None),
            )
        )
    return GridSnapshot(
        class_id=progress.class_id,
        class_name=progress.name,
        pupils=tuple(progress.pupils),
        lessons=tuple(lessons),
        columns=columns,
        cells=cells,
        totals=totals,
        archived={pupil_id: tuple(items) for pupil_id, items in archived.items()},
    )


def load_snapshot(store: Store, progress: ClassProgress) -> GridSnapshot:
    """Read what the snapshot needs from the store in bulk (four queries) and build it. Runs off the
    UI thread."""
    return build_snapshot(
        progress,
        store.lessons.summaries(),
        store.marks.class_work([pupil.id for pupil in progress.pupils]),
        store.lessons.retired_activities(),
    )


def with_mark(snapshot: GridSnapshot, mark: Mark, *, pending: bool) -> GridSnapshot:
    """The snapshot with one mark just made here (shown at once, before the next full refresh)."""
    key = (mark.pupil_id, mark.lesson_id, mark.activity_id)
    old = snapshot.cells.get(key, EMPTY)
    cells = dict(snapshot.cells)
    cells[key] = GridCell(
        state=_state(mark, pending, True), mark=mark, revision=old.revision, updated_at=old.updated_at
    )
    totals = dict(snapshot.totals)
    overall = PupilTotals()
    for lesson in snapshot.lessons:
        totals[(mark.pupil_id, lesson.id)] = PupilTotals()
    for column in snapshot.columns:
        cell = cells.get((mark.pupil_id, column.lesson_id, column.activity.id), EMPTY)
        lesson_key = (mark.pupil_id, column.lesson_id)
        totals[lesson_key] = totals[lesson_key].add(cell, column.activity)
        overall = overall.add(cell, column.activity)
    totals[(mark.pupil_id, None)] = overall
    return dataclasses.replace(snapshot, cells=cells, totals=totals)
