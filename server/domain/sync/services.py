"""The sync service: one push applied (operations dispatched by kind, each at most once, budgets spent,
refusals recorded) and one page of the pull feed. docs/architecture.md has the invariants.

A push is answered operation by operation, in the order sent:
- over its kind's per-minute budget, or behind such an operation on the same answer: `rate_limited`
  with `retry_after` (sent again later, in order);
- `activity.save`: stored by `apply_saves` (server.domain.sync.answers), the whole batch at once;
- `mark.set`: a teacher's mark (server.domain.marks.services);
- `code.check`: queued for the check worker (server.domain.checks.services);
- `assignment.set`: a teacher setting work for a class (server.domain.assignments.services).
Every kind but `assignment.set` is about one activity: without `activity_id` it is refused, by itself.
Handlers hold none of this: `SyncController` parses, calls `SyncService`, answers.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.db.base import utcnow
from server.db.direct import DirectDatabase
from server.domain.assignments.services import set_assignment
from server.domain.auth.context import AuthContext
from server.domain.checks.services import request_check
from server.domain.checks.worker import CheckWorker
from server.domain.lessons.services import LessonLibrary
from server.domain.marks.services import decode_mark_payload, set_mark
from server.domain.sync.answers import Rejected, SaveRequest, apply_saves
from server.domain.sync.feed import pull
from server.lib import ratelimit
from server.lib.errors import AppError
from server.lib.metrics import SYNC_PUSH_BATCH
from server.lib.ratelimit import Deferred
from shared.errors import ErrorCode
from shared.protocol import MIN_PROTOCOL_VERSION
from shared.wire.sync import Operation, OperationResult, PullResponse, PushRequest, PushResponse

__all__ = ["LIMIT_OF_KIND", "PushAnswer", "SyncService"]

# The per-minute limit each kind of operation counts against, whichever route carries it.
LIMIT_OF_KIND = {
    "activity.save": "activity_save",
    "mark.set": "mark_activity",
    "code.check": "python_run",
    "assignment.set": "mark_activity",
}
# The kinds not about one activity (no `activity_id`).
WHOLE_LESSON_KINDS = frozenset({"assignment.set"})


@dataclass(frozen=True, slots=True)
class PushAnswer:
    response: PushResponse
    #: seconds to wait before sending the `rate_limited` operations again (0: none were deferred)
    retry_after: int


class SyncService:
    def __init__(
        self,
        db: AsyncSession,
        settings: Settings,
        lessons: LessonLibrary,
        direct: DirectDatabase | None,
        checks: CheckWorker | None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.lessons = lessons
        self.direct = direct
        self.checks = checks

    async def push(self, auth: AuthContext, request: PushRequest) -> PushAnswer:
        """Apply a batch of queued operations, each at most once, and answer every one of them."""
        if request.protocol < MIN_PROTOCOL_VERSION:
            raise AppError(
                426, ErrorCode.PROTOCOL_OUTDATED, "this app is too old for the server: please update it"
            )
        SYNC_PUSH_BATCH.observe(len(request.operations))
        deferred = await ratelimit.spend(
            self.db,
            self.settings.rate_limits,
            "sync_push",
            str(auth.user_id),
            [(op.op_id, LIMIT_OF_KIND[op.kind]) for op in request.operations],
            self.direct,
        )
        behind = held_behind(deferred.op_ids, request.operations)
        deferred = dataclasses.replace(deferred, op_ids=deferred.op_ids | behind)
        unnamed = {
            op.op_id
            for op in request.operations
            if op.activity_id is None and op.kind not in WHOLE_LESSON_KINDS
        }
        going = [
            op for op in request.operations if op.op_id not in deferred.op_ids and op.op_id not in unnamed
        ]
        next_save = iter(await self._saves(auth, request.device_id, going))
        results: list[OperationResult] = []
        for op in request.operations:
            if op.op_id in deferred.op_ids:
                results.append(_deferred(op, deferred, waits_behind=op.op_id in behind))
            elif op.op_id in unnamed:
                results.append(
                    OperationResult(
                        op_id=op.op_id,
                        outcome="rejected",
                        code=ErrorCode.VALIDATION.value,
                        reason=f"activity_id: a {op.kind} operation names the activity it is about",
                        received_at=utcnow(),
                    )
                )
            elif op.kind == "assignment.set":
                results.append(
                    await set_assignment(self.db, self.lessons, self.settings, auth, op, request.device_id)
                )
            elif op.kind == "mark.set":
                results.append(await self._mark(auth, request.device_id, op))
            elif op.kind == "code.check":
                results.append(await request_check(self.db, self.lessons, auth, op))
            else:
                results.append(next(next_save))
        if self.db.in_transaction():  # the counts, where they went through `db` (the embedded SQLite default)
            await self.db.commit()
        if self.checks is not None and any(op.kind == "code.check" for op in going):
            self.checks.wake()
        retry_after = deferred.retry_after if deferred.op_ids else 0
        return PushAnswer(PushResponse(results=results, server_time=utcnow()), retry_after)

    async def pull(self, auth: AuthContext, cursor: str | None, limit: int) -> PullResponse:
        return await pull(self.db, auth, cursor, limit)

    async def _saves(
        self, auth: AuthContext, device_id: str | None, operations: Sequence[Operation]
    ) -> list[OperationResult]:
        """The saves' answers in the order they were sent: an op id twice in one batch is answered
        "applied" then "duplicate", each in its own place."""
        saves = [
            SaveRequest(
                op_id=op.op_id,
                lesson_id=op.lesson_id,
                activity_id=op.activity_id,
                state=op.payload.get("state"),
                client_time=op.client_time,
                device_id=device_id,
            )
            for op in operations
            if op.kind == "activity.save" and op.activity_id is not None
        ]
        if not saves:
            return []
        if auth.role != "pupil":
            return [
                OperationResult(
                    op_id=save.op_id,
                    outcome="rejected",
                    code=ErrorCode.FORBIDDEN.value,
                    reason="only pupils save answers",
                    received_at=utcnow(),
                )
                for save in saves
            ]
        outcome = await apply_saves(self.db, self.lessons, self.settings, auth.user_id, saves, self.direct)
        return outcome.results

    async def _mark(self, auth: AuthContext, device_id: str | None, op: Operation) -> OperationResult:
        try:
            if op.pupil_id is None:
                raise Rejected("validation_error", "pupil_id: a mark needs the pupil it is for")
            if op.activity_id is None:
                raise Rejected("validation_error", "activity_id: a mark names the activity it is for")
            mark = decode_mark_payload(
                {**op.payload, "client_time": op.client_time.isoformat(), "op_id": str(op.op_id)}
            )
            result, _ = await set_mark(
                self.db,
                self.lessons,
                self.settings,
                auth,
                op.pupil_id,
                op.lesson_id,
                op.activity_id,
                mark,
                device_id=device_id,
            )
        except Rejected as rejection:
            return OperationResult(
                op_id=op.op_id,
                outcome="rejected",
                reason=rejection.reason,
                code=rejection.code,
                received_at=utcnow(),
            )
        return result


def _deferred(op: Operation, deferred: Deferred, *, waits_behind: bool) -> OperationResult:
    why = (
        "waits behind an earlier change to the same answer that is over its limit"
        if waits_behind
        else f"over the {LIMIT_OF_KIND[op.kind]} limit for this minute"
    )
    return OperationResult(
        op_id=op.op_id,
        outcome="rate_limited",
        code=ErrorCode.RATE_LIMITED.value,
        reason=f"{why}: send it again in {deferred.retry_after} s",
        retry_after=deferred.retry_after,
    )


def held_behind(deferred: frozenset[uuid.UUID], operations: Sequence[Operation]) -> frozenset[uuid.UUID]:
    """Operations that must wait behind a deferred one on the same answer. Budgets are per kind, so
    without this a `code.check` could go ahead of the save holding its code (and be refused for good:
    "no saved version holds this code"). Found by the fault suite (tests/e2e/chaos.py)."""
    if not deferred:
        return frozenset()
    held: set[uuid.UUID] = set()
    waiting: set[tuple[int | None, str, str | None]] = set()
    for op in operations:
        answer = (op.pupil_id, op.lesson_id, op.activity_id)
        if op.op_id in deferred:
            waiting.add(answer)
        elif answer in waiting:
            held.add(op.op_id)
    return frozenset(held)
