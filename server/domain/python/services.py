"""Running pupils' Python through the sandbox, and marking code activities with it.

The sandbox is optional at run time: with it switched off, or with Docker (or every runner service)
down, a run answers `unavailable` with a plain message and everything else on the server keeps working.
Where code runs is server.domain.python.runners: runner services over HTTP, or in this process.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sandbox import (
    CheckResult,
    RunRequest,
    RunResult,
    SandboxBusy,
    SandboxInputError,
)
from server.config import Settings
from server.db.base import utcnow
from server.domain.auth.context import AuthContext
from server.domain.checks.services import revision_holding
from server.domain.lessons.services import LessonLibrary
from server.domain.marks.writer import write_mark
from server.domain.python.remote import RemoteRunners
from server.domain.python.runners import CodeRunner, make_code_runner
from server.lib import audit
from server.lib.errors import AppError, bad_request, not_found
from shared.errors import ErrorCode
from shared.lessons import CodeActivity

log = logging.getLogger("post16.python")
SWITCHED_OFF = "running code is switched off on this server (POST16_SANDBOX_ENABLED=false)"


class PythonService:
    """Owns this server process's way to run code (remote runners or the in-process sandbox)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.enabled = settings.sandbox_enabled
        self.runner: CodeRunner | None = None

    async def start(self) -> None:
        if not self.enabled:
            return
        try:
            self.runner = make_code_runner(self.settings)
            await self.runner.start()
        except Exception:  # a broken sandbox must never stop the rest of the server
            log.exception("the sandbox could not start; runs will answer 'unavailable'")

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.close()

    async def readiness(self) -> str:
        if self.runner is None:
            return "disabled" if not self.enabled else "unavailable: not started"
        status = self.runner.status()
        return "ok" if status.reachable and status.image_present else f"unavailable: {status.message}"

    def summary(self) -> dict[str, Any]:
        if self.runner is None:
            return {"status": "disabled" if not self.enabled else "unavailable"}
        status = self.runner.status()
        summary: dict[str, Any] = {
            "status": "ok" if status.reachable and status.image_present else "unavailable",
            "pool_ready": status.pool_ready,
            "pool_size": status.pool_size,
            "running": status.running,
            "queued": status.queued,
            "message": status.message,
        }
        if isinstance(self.runner, RemoteRunners):
            summary["runners"] = self.runner.nodes_summary()
        return summary

    async def run(self, request: RunRequest, auth: AuthContext) -> RunResult:
        if self.runner is None:
            return RunResult(status="unavailable", message=SWITCHED_OFF)
        try:
            return await self.runner.run(request, owner=str(auth.user_id))
        except SandboxBusy as busy:
            raise _busy(busy) from busy
        except SandboxInputError as error:
            raise bad_request(str(error)) from error

    async def check(
        self,
        db: AsyncSession,
        library: LessonLibrary,
        auth: AuthContext,
        lesson_id: str,
        activity_id: str,
        code: str,
    ) -> CheckResult:
        activity = library.activity(lesson_id, activity_id)
        if activity is None:
            raise not_found(f"activity {lesson_id}/{activity_id}")
        if not isinstance(activity, CodeActivity):
            raise bad_request(f"{activity_id} is a {activity.kind} activity, not a code one", "activity_id")
        if not activity.tests:
            raise bad_request("this activity is marked by your teacher, not by tests", "activity_id")
        if self.runner is None:
            return CheckResult(
                score=0,
                max_score=activity.max_score,
                tests=[],
                run_status="unavailable",
                message=SWITCHED_OFF,
            )
        try:
            result = await self.runner.check(
                code, activity.tests, owner=str(auth.user_id), max_score=activity.max_score
            )
        except SandboxBusy as busy:
            raise _busy(busy) from busy
        except SandboxInputError as error:
            raise bad_request(str(error), "code") from error
        if auth.role == "pupil" and result.run_status != "unavailable":
            now = utcnow()
            passed = sum(1 for test in result.tests if test.passed)
            # The mark belongs to the saved version holding exactly this code, when there is one.
            revision = await revision_holding(db, auth.user_id, lesson_id, activity_id, code)
            version = f" of version {revision}" if revision is not None else ""
            await write_mark(
                db,
                pupil_id=auth.user_id,
                lesson_id=lesson_id,
                activity_id=activity_id,
                score=result.score,
                max_score=result.max_score,
                feedback=f"Automatic check{version}: {passed} of {len(result.tests)} tests passed.",
                source="auto",
                marker_id=None,
                client_time=now,
                op_id=None,
                revision=revision,
            )
            await audit.record(
                db,
                "mark.changed",
                actor="auto-marker",
                target=f"{auth.username}:{lesson_id}/{activity_id}",
                client_ip=auth.client_ip,
                user_agent=auth.user_agent,
                details={"score": result.score, "max_score": result.max_score, "source": "auto"},
            )
            await db.commit()
        return result


def _busy(busy: SandboxBusy) -> AppError:
    seconds = max(1, int(busy.retry_after_seconds + 0.999))
    return AppError(
        503,
        ErrorCode.SANDBOX_BUSY,
        f"the Python runner is busy: try again in {seconds} s",
        retry_after=seconds,
    )


__all__ = ["PythonService"]
