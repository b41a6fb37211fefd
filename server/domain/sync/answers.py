"""Storing answers: the one code path behind a single save and a sync push.

A batch is applied in one transaction with a handful of statements whatever its size:
1. look up which operation ids were answered before (they are answered again, the same way);
2. check every new operation (lesson and activity exist, state well-formed and not too big) —
   a refused one is recorded as `rejected` with its reason, and never blocks the others;
3. lock the current states of the touched activities, number the new revisions, and pick each
   activity's current state by the conflict rule: latest client time, ties broken by operation id
   (compared as 32-digit lowercase hex, which is how both backends order UUIDs);
4. write states, revisions, pull events and the operation records, then commit.
If a concurrent batch wrote the same new activity first (unique violation) the whole batch is retried.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.db.base import utcnow
from server.db.engine import dialect_name
from server.db.models import ActivityRevision, ActivityState, SyncEvent, SyncOperation
from server.domain.lessons.services import LessonLibrary
from server.lib.metrics import SYNC_OPERATIONS
from shared.lessons import ChoiceActivity, CodeActivity, TextActivity
from shared.wire.sync import OperationResult

log = logging.getLogger("post16.sync")
EARLIEST_CLIENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
MAX_RETRIES = 3


@dataclass(slots=True)
class SaveRequest:
    op_id: uuid.UUID
    lesson_id: str
    activity_id: str
    state: Any
    client_time: datetime | None
    device_id: str | None


class Rejected(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def clamp_client_time(client_time: datetime | None, now: datetime, skew_seconds: int) -> datetime:
    """Client clocks lie: a time in the future (beyond the allowed skew) becomes the server's time,
    an absurdly old one becomes 2000-01-01; the raw value is kept beside it."""
    if client_time is None:
        return now
    if client_time.tzinfo is None:
        client_time = client_time.replace(tzinfo=UTC)
    if client_time > now + timedelta(seconds=skew_seconds):
        return now
    return max(client_time, EARLIEST_CLIENT_TIME)


def check_state(
    library: LessonLibrary, settings: Settings, lesson_id: str, activity_id: str, state: Any
) -> None:
    """Raise Rejected when the answer cannot belong to that activity."""
    if library.lesson(lesson_id) is None:
        raise Rejected("not_found", f"lesson {lesson_id!r} does not exist (any more)")
    activity = library.activity(lesson_id, activity_id)
    if activity is None:
        raise Rejected("not_found", f"activity {activity_id!r} is not in lesson {lesson_id!r} (any more)")
    if not isinstance(state, dict):
        raise Rejected("validation_error", "state: must be a JSON object")
    size = len(msgspec.json.encode(state))
    if size > settings.max_state_bytes:
        raise Rejected(
            "payload_too_large", f"state: {size} bytes is more than the {settings.max_state_bytes} allowed"
        )
    if isinstance(activity, CodeActivity):
        if not isinstance(state.get("code"), str):
            raise Rejected("validation_error", "state.code: a code answer needs the program as text")
    elif isinstance(activity, ChoiceActivity):
        selected = state.get("selected")
        if not isinstance(selected, list) or not all(type(i) is int for i in selected):
            raise Rejected(
                "validation_error", "state.selected: a choice answer needs a list of option numbers"
            )
        if any(i < 0 or i >= len(activity.options) for i in selected):
            raise Rejected(
                "validation_error", f"state.selected: options are numbered 0 to {len(activity.options) - 1}"
            )
        if not activity.multiple and len(selected) > 1:
            raise Rejected("validation_error", "state.selected: this question takes one answer")
    elif isinstance(activity, TextActivity):
        text = state.get("text")
        if not isinstance(text, str):
            raise Rejected("validation_error", "state.text: a written answer needs text")
        if len(text) > activity.max_length:
            raise Rejected("validation_error", f"state.text: at most {activity.max_length} characters")


def _insert(db: AsyncSession):  # type: ignore[no-untyped-def]
    return postgresql.insert if dialect_name(db) == "postgresql" else sqlite.insert


def _result(row: SyncOperation, outcome: str | None = None) -> OperationResult:
    return OperationResult(
        op_id=row.op_id,
        outcome=outcome or row.outcome,  # type: ignore[arg-type]
        revision=row.revision,
        received_at=row.received_at,
        reason=row.reason,
        code=row.code,
    )


async def answered_before(db: AsyncSession, op_ids: list[uuid.UUID]) -> dict[uuid.UUID, SyncOperation]:
    if not op_ids:
        return {}
    rows = (await db.execute(select(SyncOperation).where(SyncOperation.op_id.in_(op_ids)))).scalars()
    return {row.op_id: row for row in rows}


def replay_result(previous: SyncOperation, user_id: int) -> OperationResult:
    if previous.user_id != user_id:
        return OperationResult(
            op_id=previous.op_id,
            outcome="rejected",
            code="conflict",
            reason="this operation id was already used by another account",
        )
    if previous.outcome == "rejected":
        return _result(previous)
    return _result(previous, "duplicate")


async def apply_saves(
    db: AsyncSession,
    library: LessonLibrary,
    settings: Settings,
    pupil_id: int,
    saves: list[SaveRequest],
) -> list[OperationResult]:
    for attempt in range(MAX_RETRIES):
        try:
            return await _apply_saves_once(db, library, settings, pupil_id, saves)
        except IntegrityError:
            await db.rollback()
            if attempt == MAX_RETRIES - 1:
                raise
            log.info("concurrent write to the same activities; retrying the batch")
    raise AssertionError("unreachable")


async def _apply_saves_once(
    db: AsyncSession,
    library: LessonLibrary,
    settings: Settings,
    pupil_id: int,
    saves: list[SaveRequest],
) -> list[OperationResult]:
    now = utcnow()
    previous = await answered_before(db, [save.op_id for save in saves])
    results: dict[uuid.UUID, OperationResult] = {}
    operations: list[dict[str, Any]] = []
    accepted: list[tuple[SaveRequest, datetime]] = []
    seen: set[uuid.UUID] = set()
    for save in saves:
        if save.op_id in previous:
            results[save.op_id] = replay_result(previous[save.op_id], pupil_id)
            continue
        if save.op_id in seen:  # the same operation twice in one batch: answer the second as a duplicate
            continue
        seen.add(save.op_id)
        try:
            check_state(library, settings, save.lesson_id, save.activity_id, save.state)
        except Rejected as rejection:
            results[save.op_id] = OperationResult(
                op_id=save.op_id,
                outcome="rejected",
                reason=rejection.reason,
                code=rejection.code,
                received_at=now,
            )
            operations.append(
                {
                    "op_id": save.op_id,
                    "user_id": pupil_id,
                    "kind": "activity.save",
                    "outcome": "rejected",
                    "revision": None,
                    "reason": rejection.reason,
                    "code": rejection.code,
                    "received_at": now,
                }
            )
            continue
        accepted.append((save, clamp_client_time(save.client_time, now, settings.clock_skew_seconds)))

    if accepted:
        keys = sorted({(save.lesson_id, save.activity_id) for save, _ in accepted})
        current = {
            (row.lesson_id, row.activity_id): row
            for row in (
                await db.execute(
                    select(ActivityState)
                    .where(
                        ActivityState.pupil_id == pupil_id,
                        tuple_(ActivityState.lesson_id, ActivityState.activity_id).in_(keys),
                    )
                    .with_for_update()
                )
            ).scalars()
        }
        states: dict[tuple[str, str], dict[str, Any]] = {}
        revisions: list[dict[str, Any]] = []
        for save, client_time in accepted:
            key = (save.lesson_id, save.activity_id)
            state = states.get(key)
            if state is None:
                row = current.get(key)
                state = (
                    {"revision_count": 0, "revision": 0, "client_time": None, "op_id": None}
                    if row is None
                    else {
                        "revision_count": row.revision_count,
                        "revision": row.revision,
                        "client_time": row.client_time,
                        "op_id": row.op_id,
                        "state": row.state,
                        "received_at": row.received_at,
                    }
                )
                states[key] = state
            state["revision_count"] += 1
            revision = state["revision_count"]
            wins = state["client_time"] is None or (client_time, save.op_id.hex) > (
                state["client_time"],
                state["op_id"].hex,
            )
            if wins:
                state.update(
                    revision=revision,
                    client_time=client_time,
                    op_id=save.op_id,
                    state=save.state,
                    received_at=now,
                )
            revisions.append(
                {
                    "pupil_id": pupil_id,
                    "lesson_id": save.lesson_id,
                    "activity_id": save.activity_id,
                    "revision": revision,
                    "state": save.state,
                    "client_time": client_time,
                    "client_time_raw": save.client_time.isoformat() if save.client_time else None,
                    "received_at": now,
                    "op_id": save.op_id,
                    "device_id": save.device_id,
                }
            )
            results[save.op_id] = OperationResult(
                op_id=save.op_id, outcome="applied", revision=revision, received_at=now
            )
            operations.append(
                {
                    "op_id": save.op_id,
                    "user_id": pupil_id,
                    "kind": "activity.save",
                    "outcome": "applied",
                    "revision": revision,
                    "reason": None,
                    "code": None,
                    "received_at": now,
                }
            )
        upsert = _insert(db)(ActivityState).values(
            [
                {
                    "pupil_id": pupil_id,
                    "lesson_id": key[0],
                    "activity_id": key[1],
                    "state": value["state"],
                    "revision": value["revision"],
                    "revision_count": value["revision_count"],
                    "client_time": value["client_time"],
                    "op_id": value["op_id"],
                    "received_at": value["received_at"],
                }
                for key, value in states.items()
            ]
        )
        await db.execute(
            upsert.on_conflict_do_update(
                index_elements=["pupil_id", "lesson_id", "activity_id"],
                set_={
                    name: upsert.excluded[name]
                    for name in ("state", "revision", "revision_count", "client_time", "op_id", "received_at")
                },
            )
        )
        revision_ids = (
            (
                await db.execute(
                    insert(ActivityRevision).returning(ActivityRevision.id, sort_by_parameter_order=True),
                    revisions,
                )
            )
            .scalars()
            .all()
        )
        await db.execute(
            insert(SyncEvent),
            [
                {
                    "audience_id": pupil_id,
                    "kind": "revision",
                    "lesson_id": revision["lesson_id"],
                    "activity_id": revision["activity_id"],
                    "ref_id": revision_id,
                    "created_at": now,
                }
                for revision, revision_id in zip(revisions, revision_ids, strict=True)
            ],
        )
    if operations:
        await db.execute(insert(SyncOperation), operations)
    await db.commit()

    answers: list[OperationResult] = []
    for save in saves:
        result = results.get(save.op_id)
        if result is None:
            continue
        if save.op_id in seen and any(r is result for r in answers):
            result = msgspec.structs.replace(result, outcome="duplicate")
        answers.append(result)
        SYNC_OPERATIONS.labels(kind="activity.save", outcome=result.outcome).inc()
    return answers


__all__ = [
    "Rejected",
    "SaveRequest",
    "answered_before",
    "apply_saves",
    "check_state",
    "clamp_client_time",
    "replay_result",
]
