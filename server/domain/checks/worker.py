"""The check worker: marks queued `code.check` requests in the sandbox, each exactly once.

Every server process with the sandbox switched on runs one; the runs go wherever the process sends code
(runner services, or its in-process sandbox: server.domain.python.runners). A worker claims a few
queued checks in one statement (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several processes never
claim the same one), runs each through the sandbox (all tests, hidden ones included), and in one
transaction writes the automatic mark of that revision (announced to the pupil's laptops by pull) and
marks the check done.
A check whose run was `unavailable` (Docker down, the runner busy) goes back to the queue and is tried
again later; a check left `running` by a process that died is claimed again after `stale_after`
(POST16_CHECK_STALE_SECONDS, longer than the longest check). The runners know each check by its own id
(its op id), so one taken over from a dead process is answered with the result of the run that process
started, not run twice; and a worker writes the mark only while the claim is still its own (a claim
taken over while its first holder was merely slow is marked once, by the last claimer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sandbox import SandboxBusy, SandboxInputError
from server.db.base import utcnow
from server.db.engine import dialect_name
from server.db.models import ActivityRevision, CodeCheck
from server.domain.lessons.services import LessonLibrary
from server.domain.marks.writer import write_mark
from server.domain.python.runners import CodeRunner, check_once
from server.lib import audit
from shared.lessons import CodeActivity

__all__ = ["CheckWorker"]

log = logging.getLogger("post16.checks")
STALE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 20


class CheckWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        library: Callable[[], LessonLibrary],
        runner: CodeRunner,
        *,
        batch: int = 4,
        idle_seconds: float = 0.5,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self.sessions = sessions
        self.library = library
        self.runner = runner
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.stale_after = stale_after
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="check-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """A push queued a check in this process: look now instead of at the next tick."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                worked = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the worker must outlive a database hiccup
                log.exception("the check worker failed a round; trying again shortly")
                worked = 0
            if not worked:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle_seconds)

    async def run_once(self) -> int:
        """Claim and mark one batch; returns how many checks were finished."""
        claimed = await self._claim()
        if not claimed:
            return 0
        results = await asyncio.gather(*(self._mark(check_id) for check_id in claimed))
        return sum(results)

    async def _claim(self) -> list[int]:
        now = utcnow()
        async with self.sessions() as db:
            candidates = (
                select(CodeCheck.id)
                .where(
                    or_(
                        CodeCheck.status == "queued",
                        (CodeCheck.status == "running") & (CodeCheck.started_at < now - self.stale_after),
                    )
                )
                .order_by(CodeCheck.id)
                .limit(self.batch)
            )
            if dialect_name(db) == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True)
            ids = list((await db.execute(candidates)).scalars())
            if ids:
                await db.execute(
                    update(CodeCheck)
                    .where(CodeCheck.id.in_(ids))
                    .values(status="running", started_at=now, attempts=CodeCheck.attempts + 1)
                )
            await db.commit()
            return ids

    async def _mark(self, check_id: int) -> int:
        async with self.sessions() as db:
            check = await db.get(CodeCheck, check_id)
            if check is None or check.status != "running":
                return 0
            claim = check.attempts  # each claim counts one more: a later claimer holds a larger number
            revision = (
                await db.execute(
                    select(ActivityRevision).where(
                        ActivityRevision.pupil_id == check.pupil_id,
                        ActivityRevision.lesson_id == check.lesson_id,
                        ActivityRevision.activity_id == check.activity_id,
                        ActivityRevision.revision == check.revision,
                    )
                )
            ).scalar_one_or_none()
            activity = self.library().activity(check.lesson_id, check.activity_id)
            code = revision.state.get("code") if revision is not None else None
            if not isinstance(activity, CodeActivity) or not activity.tests or not isinstance(code, str):
                await self._finish(db, check, None, "the activity or the answer is gone")
                return 1
            try:
                result = await check_once(
                    self.runner,
                    code,
                    activity.tests,
                    owner=str(check.pupil_id),
                    max_score=activity.max_score,
                    request_id=check.op_id.hex,
                    again=claim > 1,
                )
            except SandboxBusy:
                result = None
                why = "the sandbox is busy"
            except SandboxInputError as error:
                if await self._still_ours(db, check, claim):
                    await self._finish(db, check, None, f"the check could not run: {error}")
                return 1
            if result is None or result.run_status == "unavailable":
                if not await self._still_ours(db, check, claim):
                    return 0
                return await self._requeue(db, check, why if result is None else result.message)
            if not await self._still_ours(db, check, claim):
                log.info("check %s was taken over by another worker; it writes the mark", check.op_id)
                return 0
            passed = sum(1 for test in result.tests if test.passed)
            await write_mark(
                db,
                pupil_id=check.pupil_id,
                lesson_id=check.lesson_id,
                activity_id=check.activity_id,
                score=result.score,
                max_score=result.max_score,
                feedback=f"Automatic check of version {check.revision}: {passed} of {len(result.tests)} "
                "tests passed.",
                source="auto",
                marker_id=None,
                client_time=revision.client_time if revision is not None else utcnow(),
                op_id=check.op_id,
                revision=check.revision,
            )
            await audit.record(
                db,
                "mark.changed",
                actor="auto-marker",
                target=f"pupil {check.pupil_id}:{check.lesson_id}/{check.activity_id}",
                details={
                    "score": result.score,
                    "max_score": result.max_score,
                    "source": "auto",
                    "revision": check.revision,
                },
            )
            await self._finish(db, check, result.score, "")
            return 1

    @staticmethod
    async def _still_ours(db: AsyncSession, check: CodeCheck, claim: int) -> bool:
        """Lock the check's row (until this transaction ends) and say whether this worker's claim on it
        still holds: running, and not claimed again since."""
        await db.refresh(check, with_for_update=True)
        return check.status == "running" and check.attempts == claim

    async def _finish(self, db: AsyncSession, check: CodeCheck, score: float | None, why: str) -> None:
        check.status = "done" if score is not None else "failed"
        check.score = score
        check.finished_at = utcnow()
        if why:
            log.warning("check %s of pupil %s not marked: %s", check.op_id, check.pupil_id, why)
        await db.commit()

    async def _requeue(self, db: AsyncSession, check: CodeCheck, why: str) -> int:
        if check.attempts >= MAX_ATTEMPTS:
            await self._finish(db, check, None, f"gave up after {check.attempts} attempts: {why}")
            return 1
        check.status = "queued"
        await db.commit()
        log.info("check %s back in the queue: %s", check.op_id, why)
        await asyncio.sleep(min(5.0, 0.25 * check.attempts))
        return 0
