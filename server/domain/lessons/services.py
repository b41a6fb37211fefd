"""The served lessons: loaded from POST16_LESSONS_DIR, reloaded when files change, never replaced by a
broken manifest (the last good one keeps being served and the errors are reported to admins).

A version change is announced once, to every client, as a `lesson` sync event: `announce` claims it
with a conditional write, so with several server processes only one of them emits it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Update, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.engine import upsert_for
from server.db.models import LessonVersion, SyncEvent
from server.lib.metrics import LESSONS_LOADED, LESSONS_RELOAD_FAILURES
from shared.lessons import Activity, Lesson, LessonFormatError, LessonSet, ManifestSummary, load_manifest

log = logging.getLogger("post16.lessons")


@dataclass
class LessonStatus:
    directory: str
    loaded_version: str | None = None
    loaded_at: datetime | None = None
    lesson_count: int = 0
    last_error_at: datetime | None = None
    errors: list[str] = field(default_factory=list)


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return ()
    return tuple(
        (entry.name, entry.stat().st_mtime_ns, entry.stat().st_size) for entry in entries if entry.is_file()
    )


class LessonLibrary:
    """Holds the current good LessonSet of one server process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.lessons: LessonSet | None = None
        self.status = LessonStatus(directory=str(directory))
        self._fingerprint: tuple[tuple[str, int, int], ...] = ()

    def reload(self, *, force: bool = False) -> bool:
        """Load the manifest if its files changed. True when a new good set replaced the old one."""
        fingerprint = _fingerprint(self.directory)
        if not force and fingerprint == self._fingerprint and self.lessons is not None:
            return False
        self._fingerprint = fingerprint
        try:
            lessons = load_manifest(self.directory)
        except LessonFormatError as error:
            self.status.errors = [str(problem) for problem in error.problems]
            self.status.last_error_at = utcnow()
            LESSONS_RELOAD_FAILURES.inc()
            for problem in error.problems:
                log.error(
                    "lesson manifest refused: %s", problem, extra={"file": problem.file, "line": problem.line}
                )
            if self.lessons is not None:
                log.warning("still serving lessons version %s", self.lessons.version)
            return False
        changed = self.lessons is None or lessons.version != self.lessons.version
        self.lessons = lessons
        self.status.loaded_version = lessons.version
        self.status.loaded_at = utcnow()
        self.status.lesson_count = len(lessons.lessons)
        self.status.errors = []
        LESSONS_LOADED.set(len(lessons.lessons))
        if changed:
            log.info("lessons loaded", extra={"version": lessons.version, "lessons": len(lessons.lessons)})
        return changed

    def summary(self) -> ManifestSummary:
        if self.lessons is None:
            return ManifestSummary(title="No lessons", version="", lessons=[])
        return self.lessons.summary()

    def lesson(self, lesson_id: str) -> Lesson | None:
        return self.lessons.get(lesson_id) if self.lessons else None

    def activity(self, lesson_id: str, activity_id: str) -> Activity | None:
        lesson = self.lesson(lesson_id)
        if lesson is None:
            return None
        try:
            return lesson.activity(activity_id)
        except KeyError:
            return None

    async def announce(self, db: AsyncSession) -> int:
        """Record lesson versions and emit one sync event per changed or removed lesson."""
        if self.lessons is None:
            return 0
        now = utcnow()
        known = {row.lesson_id: row for row in (await db.execute(select(LessonVersion))).scalars()}
        current = {lesson.id: lesson.version for lesson in self.lessons.lessons}
        emitted = 0
        for lesson_id, version in current.items():
            row = known.get(lesson_id)
            if row is None:
                # Several worker processes start at once and each announces: the first insert wins.
                insert_ = upsert_for(db)
                await db.execute(
                    insert_(LessonVersion)
                    .values(lesson_id=lesson_id, version=version, removed=False, updated_at=now)
                    .on_conflict_do_nothing()
                )
                continue
            if row.version == version and not row.removed:
                continue
            emitted += await _claim_announcement(
                db,
                lesson_id,
                update(LessonVersion)
                .where(LessonVersion.lesson_id == lesson_id, LessonVersion.version == row.version)
                .values(version=version, removed=False, updated_at=now),
            )
        for lesson_id, row in known.items():
            if lesson_id not in current and not row.removed:
                emitted += await _claim_announcement(
                    db,
                    lesson_id,
                    update(LessonVersion)
                    .where(LessonVersion.lesson_id == lesson_id, LessonVersion.removed.is_(False))
                    .values(removed=True, updated_at=now),
                )
        await db.commit()
        return emitted


async def _claim_announcement(db: AsyncSession, lesson_id: str, claim: Update) -> int:
    """Run the conditional update; when this process won it, add the one `lesson` event (1), else 0."""
    claimed = await db.execute(claim)
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return 0
    db.add(
        SyncEvent(
            kind="lesson",
            lesson_id=lesson_id,
            audience_id=None,
            activity_id=None,
            ref_id=None,
            created_at=utcnow(),
        )
    )
    return 1


__all__ = ["LessonLibrary", "LessonStatus"]
