"""`/api/sync`: push the outbox in batches, pull changes by cursor."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from server.db.base import utcnow
from server.domain.checks.services import request_check
from server.domain.checks.worker import CheckWorker
from server.domain.deps import AppSettings, Caller, Db
from server.domain.marks.services import decode_mark_payload, set_mark
from server.domain.sync.answers import Rejected, SaveRequest, apply_saves
from server.domain.sync.feed import pull
from server.lib import ratelimit
from server.lib.errors import AppError
from server.lib.metrics import SYNC_PUSH_BATCH
from server.lib.ratelimit import OWN_RATE_LIMIT
from shared.errors import ErrorCode
from shared.protocol import MIN_PROTOCOL_VERSION
from shared.wire.sync import Operation, OperationResult, PullResponse, PushRequest, PushResponse

# The per-minute limit each kind of operation counts against, whichever route carries it.
LIMIT_OF_KIND = {"activity.save": "activity_save", "mark.set": "mark_activity", "code.check": "python_run"}


class SyncController(Controller):
    path = "/api/sync"
    tags = ["sync"]

    @post("/push", status_code=HTTP_200_OK, opt=OWN_RATE_LIMIT)
    async def push(
        self, data: JSONBody[PushRequest], auth: Caller, db: Db, settings: AppSettings, state: State
    ) -> Response[PushResponse]:
        """Apply a batch of queued operations, each at most once, and answer every one of them.

        Each new save counts against `activity_save` and each new mark against `mark_activity`, as on
        their own endpoints (a replayed op id costs nothing). Operations over the budget are answered
        `rate_limited` with `retry_after` (and the response carries `Retry-After`): send them again, in
        order, after that. The request itself counts once against the `default` limit."""
        if data.protocol < MIN_PROTOCOL_VERSION:
            raise AppError(
                426, ErrorCode.PROTOCOL_OUTDATED, "this app is too old for the server: please update it"
            )
        SYNC_PUSH_BATCH.observe(len(data.operations))
        deferred = await ratelimit.spend(
            db,
            settings.rate_limits,
            "sync_push",
            str(auth.user_id),
            [(op.op_id, LIMIT_OF_KIND[op.kind]) for op in data.operations],
            state.direct,
        )
        behind = _held_behind(deferred.op_ids, data.operations)
        deferred = dataclasses.replace(deferred, op_ids=deferred.op_ids | behind)
        operations = [op for op in data.operations if op.op_id not in deferred.op_ids]
        saves = [
            SaveRequest(
                op_id=op.op_id,
                lesson_id=op.lesson_id,
                activity_id=op.activity_id,
                state=op.payload.get("state"),
                client_time=op.client_time,
                device_id=data.device_id,
            )
            for op in operations
            if op.kind == "activity.save"
        ]
        # The saves' answers in the order they were sent: an op id twice in one batch is answered
        # "applied" then "duplicate", each in its own place.
        save_results: list[OperationResult] = []
        if saves:
            if auth.role != "pupil":
                save_results = [
                    OperationResult(
                        op_id=save.op_id,
                        outcome="rejected",
                        code="forbidden",
                        reason="only pupils save answers",
                        received_at=utcnow(),
                    )
                    for save in saves
                ]
            else:
                save_results = (
                    await apply_saves(db, state.lessons, settings, auth.user_id, saves, state.direct)
                ).results
        next_save = iter(save_results)
        results: list[OperationResult] = []
        for op in data.operations:
            if op.op_id in deferred.op_ids:
                results.append(
                    OperationResult(
                        op_id=op.op_id,
                        outcome="rate_limited",
                        code=ErrorCode.RATE_LIMITED.value,
                        reason=(
                            "waits behind an earlier change to the same answer that is over its limit"
                            if op.op_id in behind
                            else f"over the {LIMIT_OF_KIND[op.kind]} limit for this minute"
                        )
                        + f": send it again in {deferred.retry_after} s",
                        retry_after=deferred.retry_after,
                    )
                )
            elif op.kind == "mark.set":
                try:
                    if op.pupil_id is None:
                        raise Rejected("validation_error", "pupil_id: a mark needs the pupil it is for")
                    mark = decode_mark_payload(
                        {**op.payload, "client_time": op.client_time.isoformat(), "op_id": str(op.op_id)}
                    )
                    result, _ = await set_mark(
                        db,
                        state.lessons,
                        settings,
                        auth,
                        op.pupil_id,
                        op.lesson_id,
                        op.activity_id,
                        mark,
                        device_id=data.device_id,
                    )
                except Rejected as rejection:
                    result = OperationResult(
                        op_id=op.op_id,
                        outcome="rejected",
                        reason=rejection.reason,
                        code=rejection.code,
                        received_at=utcnow(),
                    )
                results.append(result)
            elif op.kind == "code.check":
                results.append(await request_check(db, state.lessons, auth, op))
            else:
                results.append(next(next_save))
        await db.commit()  # the counts, where they went through `db` (the embedded SQLite default)
        checks: CheckWorker | None = getattr(state, "checks", None)
        if checks is not None and any(op.kind == "code.check" for op in data.operations):
            checks.wake()
        headers = {"Retry-After": str(deferred.retry_after)} if deferred.op_ids else {}
        return Response(PushResponse(results=results, server_time=utcnow()), headers=headers)

    @get("/pull")
    async def pull(
        self,
        auth: Caller,
        db: Db,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 500,
    ) -> PullResponse:
        """Changes since `cursor` (omit it to start): answers from your other devices (teachers: their
        pupils' answers), marks and feedback, lesson updates. Follow `next_cursor` while `has_more`."""
        return await pull(db, auth, cursor, limit)


def _held_behind(deferred: frozenset[uuid.UUID], operations: list[Operation]) -> frozenset[uuid.UUID]:
    """Operations that must wait behind a deferred one on the same answer. Budgets are per kind, so
    without this a `code.check` could go ahead of the save holding its code (and be refused for good:
    "no saved version holds this code"). Found by the fault suite (tests/e2e/chaos.py)."""
    if not deferred:
        return frozenset()
    held: set[uuid.UUID] = set()
    waiting: set[tuple[int | None, str, str]] = set()
    for op in operations:
        answer = (op.pupil_id, op.lesson_id, op.activity_id)
        if op.op_id in deferred:
            waiting.add(answer)
        elif answer in waiting:
            held.add(op.op_id)
    return frozenset(held)


__all__ = ["SyncController"]
