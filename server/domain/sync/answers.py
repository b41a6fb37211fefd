"""Storing answers: the one code path behind a single save and a sync push.

A batch is applied with a handful of statements whatever its size (on PostgreSQL, one statement per
round, each its own transaction: server.domain.sync.pg_saves):
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

import collections
import functools
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import msgspec
import psycopg
from sqlalchemy import Table, case, insert, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from server.config import Settings
from server.db.base import utcnow
from server.db.direct import DirectDatabase
from server.db.engine import dialect_name, insert_for
from server.db.models import ActivityRevision, ActivityState, SyncEvent, SyncOperation
from server.domain.lessons.services import LessonLibrary
from server.domain.marks.writer import is_marked_from_a_key, mark_answers_from_keys
from server.domain.sync.ledger import (
    answered_before,
    claim_statement,
    replay_result,
)
from server.domain.sync.pg_saves import BatchSave, claim_rejected, save_batch
from server.lib.metrics import SYNC_OPERATIONS
from shared.lessons import (
    ChoiceActivity,
    CodeActivity,
    GapsActivity,
    ParsonsActivity,
    PredictActivity,
    TextActivity,
    TraceActivity,
)
from shared.lessons.puzzles import MAX_GAP_ANSWER, MAX_INDENT, MAX_PREDICTION, gap_numbers
from shared.wire.sync import OperationResult

log = logging.getLogger("post16.sync")
STATES = cast(Table, ActivityState.__table__)
OPERATIONS = cast(Table, SyncOperation.__table__)
REVISIONS = cast(Table, ActivityRevision.__table__)
EVENTS = cast(Table, SyncEvent.__table__)
REVISION_INSERT = insert(REVISIONS).returning(REVISIONS.c.id, sort_by_parameter_order=True)
EVENT_INSERT = insert(EVENTS)
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


MAX_STATE_DEPTH = 32


def _state_problem(state: dict[str, Any]) -> str | None:
    """What PostgreSQL (or the server's own stack) cannot take: U+0000 in text, absurd nesting.
    Walked with a list, not recursion, so a hostile answer cannot exhaust the stack."""
    pending: list[tuple[Any, int]] = [(state, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return "text must not contain NUL (U+0000) characters"
        elif isinstance(value, dict | list):
            if depth >= MAX_STATE_DEPTH:
                return f"nested more than {MAX_STATE_DEPTH} levels deep"
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items)
    return None


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
    problem = _state_problem(state)
    if problem:
        raise Rejected("validation_error", f"state: {problem}")
    size = len(msgspec.json.encode(state))
    if size > settings.max_state_bytes:
        raise Rejected(
            "payload_too_large", f"state: {size} bytes is more than the {settings.max_state_bytes} allowed"
        )
    hints_used = state.get("hints_used", 0)
    if type(hints_used) is not int or not 0 <= hints_used <= len(activity.hints):
        raise Rejected(
            "validation_error",
            f"state.hints_used: a whole number from 0 to {len(activity.hints)} (the activity's hints)",
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
    elif isinstance(activity, ParsonsActivity):
        _check_parsons_state(activity, state)
    elif isinstance(activity, GapsActivity):
        _check_gaps_state(activity, state)
    elif isinstance(activity, PredictActivity):
        output = state.get("output")
        if not isinstance(output, str):
            raise Rejected("validation_error", "state.output: a prediction needs the output as text")
        if len(output) > MAX_PREDICTION:
            raise Rejected("validation_error", f"state.output: at most {MAX_PREDICTION} characters")
    elif isinstance(activity, TraceActivity):
        _check_trace_state(activity, state)


def _check_trace_state(activity: TraceActivity, state: dict[str, Any]) -> None:
    cells = state.get("cells")
    shape = f"{activity.row_count} rows of {len(activity.columns)} cells"
    if (
        not isinstance(cells, list)
        or len(cells) != activity.row_count
        or not all(isinstance(row, list) and len(row) == len(activity.columns) for row in cells)
    ):
        raise Rejected("validation_error", f"state.cells: this trace table has {shape}")
    if not all(isinstance(cell, str) and len(cell) <= MAX_GAP_ANSWER for row in cells for cell in row):
        raise Rejected(
            "validation_error", f"state.cells: each cell is text of at most {MAX_GAP_ANSWER} characters"
        )


def _check_parsons_state(activity: ParsonsActivity, state: dict[str, Any]) -> None:
    order, indents = state.get("order"), state.get("indents")
    if not isinstance(order, list) or not all(type(i) is int for i in order):
        raise Rejected("validation_error", "state.order: a Parsons answer needs a list of line numbers")
    if not isinstance(indents, list) or len(indents) != len(order):
        raise Rejected("validation_error", "state.indents: one indentation level for each placed line")
    if any(i < 0 or i >= len(activity.lines) for i in order) or len(set(order)) != len(order):
        raise Rejected(
            "validation_error", f"state.order: lines are numbered 0 to {len(activity.lines) - 1}, each once"
        )
    if not all(type(level) is int and 0 <= level <= MAX_INDENT for level in indents):
        raise Rejected("validation_error", f"state.indents: levels are 0 to {MAX_INDENT}")


def _check_gaps_state(activity: GapsActivity, state: dict[str, Any]) -> None:
    filled = state.get("gaps")
    count = len(gap_numbers(activity.code))
    if not isinstance(filled, list) or not all(isinstance(text, str) for text in filled):
        raise Rejected("validation_error", "state.gaps: a fill-the-gaps answer needs a list of texts")
    if len(filled) != count:
        raise Rejected("validation_error", f"state.gaps: this code has {count} gaps")
    if any(len(text) > MAX_GAP_ANSWER for text in filled):
        raise Rejected("validation_error", f"state.gaps: at most {MAX_GAP_ANSWER} characters a gap")


@dataclass(slots=True)
class CurrentState:
    """An activity's current answer after a batch, as the upsert returned it."""

    state: dict[str, Any]
    revision: int
    client_time: datetime
    received_at: datetime


@dataclass(slots=True)
class SaveOutcome:
    results: list[OperationResult]
    current: dict[tuple[str, str], CurrentState]


async def apply_saves(
    db: AsyncSession,
    library: LessonLibrary,
    settings: Settings,
    pupil_id: int,
    saves: list[SaveRequest],
    direct: DirectDatabase | None = None,
) -> SaveOutcome:
    """Check and store a batch of saves. With `direct` (PostgreSQL), each round is one autocommit
    statement on the hot path's connections and `db` is touched only to answer replays."""
    for attempt in range(MAX_RETRIES):
        try:
            outcome = await _apply_saves_once(db, library, settings, pupil_id, saves, direct)
        except (IntegrityError, psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected):
            await db.rollback()
            if attempt == MAX_RETRIES - 1:
                raise
            log.info("concurrent write to the same activities; retrying the batch")
        else:
            await _mark_automatically(db, library, pupil_id, saves, outcome, direct)
            return outcome
    raise AssertionError("unreachable")


async def _mark_automatically(
    db: AsyncSession,
    library: LessonLibrary,
    pupil_id: int,
    saves: list[SaveRequest],
    outcome: SaveOutcome,
    direct: DirectDatabase | None,
) -> None:
    """An answer with an answer key (multiple choice, Parsons, fill the gaps, predict, trace) that became the
    current one in this batch is marked at once, from the server's copy of the lesson, as the mark of
    that revision (a save that lost to a later one changes nothing)."""
    applied = {
        (save.lesson_id, save.activity_id, result.revision)
        for save, result in zip(saves, outcome.results, strict=True)
        if result.outcome == "applied"
    }
    now_current = {
        key: current
        for key, current in outcome.current.items()
        if (*key, current.revision) in applied and is_marked_from_a_key(library.activity(*key))
    }
    if now_current and await mark_answers_from_keys(db, library, pupil_id, now_current, direct):
        await db.commit()


def _rounds(saves: list[tuple[SaveRequest, datetime]]) -> list[list[tuple[SaveRequest, datetime]]]:
    """Split saves so that no round touches one activity twice (one upsert statement per round),
    keeping each activity's saves in the order they were sent."""
    rounds: list[list[tuple[SaveRequest, datetime]]] = []
    seen: dict[tuple[str, str], int] = {}
    for item in saves:
        key = (item[0].lesson_id, item[0].activity_id)
        index = seen.get(key, 0)
        seen[key] = index + 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(item)
    return rounds


@functools.cache
def _upsert_statement(dialect: str):  # type: ignore[no-untyped-def]
    """Built once per dialect: building and cache-keying this statement per request showed in profiles."""
    table = STATES
    statement = insert_for(dialect)(table)
    newer = tuple_(statement.excluded.client_time, statement.excluded.op_id) > tuple_(
        table.c.client_time, table.c.op_id
    )

    def pick(column: str):  # type: ignore[no-untyped-def]
        return case((newer, statement.excluded[column]), else_=table.c[column])

    return statement.on_conflict_do_update(
        index_elements=["pupil_id", "lesson_id", "activity_id"],
        set_={
            "revision_count": table.c.revision_count + 1,
            "revision": case((newer, table.c.revision_count + 1), else_=table.c.revision),
            "state": pick("state"),
            "client_time": pick("client_time"),
            "op_id": pick("op_id"),
            "received_at": pick("received_at"),
        },
    ).returning(
        table.c.revision_count,
        table.c.revision,
        table.c.state,
        table.c.client_time,
        table.c.received_at,
        table.c.op_id,
        sort_by_parameter_order=True,
    )


async def _apply_saves_once(
    db: AsyncSession,
    library: LessonLibrary,
    settings: Settings,
    pupil_id: int,
    saves: list[SaveRequest],
    direct: DirectDatabase | None,
) -> SaveOutcome:
    now = utcnow()
    results: dict[uuid.UUID, OperationResult] = {}
    claims: list[dict[str, Any]] = []
    valid: dict[uuid.UUID, tuple[SaveRequest, datetime]] = {}
    for save in saves:
        if save.op_id in valid or save.op_id in results:
            continue  # the same operation twice in one batch: the second is answered as a duplicate
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
            claims.append(
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
        valid[save.op_id] = (save, clamp_client_time(save.client_time, now, settings.clock_skew_seconds))
        claims.append(
            {
                "op_id": save.op_id,
                "user_id": pupil_id,
                "kind": "activity.save",
                "outcome": "applied",
                "revision": None,
                "reason": None,
                "code": None,
                "received_at": now,
            }
        )

    if direct is not None:
        current = await _store_postgresql(db, direct, pupil_id, now, claims, valid, results)
    else:
        current = await _store_generic(db, await db.connection(), pupil_id, now, claims, valid, results)
    if db.in_transaction():  # the direct path touches `db` only to answer replays
        await db.commit()

    answers: list[OperationResult] = []
    answered: set[uuid.UUID] = set()
    for save in saves:
        result = results[save.op_id]
        if save.op_id in answered and result.outcome == "applied":
            result = msgspec.structs.replace(result, outcome="duplicate")
        answered.add(save.op_id)
        answers.append(result)
    for outcome, count in collections.Counter(answer.outcome for answer in answers).items():
        SYNC_OPERATIONS.labels(kind="activity.save", outcome=outcome).inc(count)
    return SaveOutcome(results=answers, current=current)


async def _replays(
    db: AsyncSession, pupil_id: int, op_ids: list[uuid.UUID], results: dict[uuid.UUID, OperationResult]
) -> None:
    if op_ids:
        previous = await answered_before(db, op_ids)
        for op_id in op_ids:
            results[op_id] = replay_result(previous[op_id], pupil_id)


async def _store_postgresql(
    db: AsyncSession,
    direct: DirectDatabase,
    pupil_id: int,
    now: datetime,
    claims: list[dict[str, Any]],
    valid: dict[uuid.UUID, tuple[SaveRequest, datetime]],
    results: dict[uuid.UUID, OperationResult],
) -> dict[tuple[str, str], CurrentState]:
    """One statement for the whole batch (server.domain.sync.pg_saves); refused operations are
    claimed apart."""
    rejected = [claim for claim in claims if claim["outcome"] == "rejected"]
    replays: list[uuid.UUID] = []
    if rejected:
        claimed = await claim_rejected(
            direct,
            user_id=pupil_id,
            now=now,
            rejected=[(claim["op_id"], claim["reason"], claim["code"]) for claim in rejected],
        )
        replays += [claim["op_id"] for claim in rejected if claim["op_id"] not in claimed]
    current: dict[tuple[str, str], CurrentState] = {}
    if valid:
        applied = await save_batch(
            direct,
            [
                BatchSave(
                    op_id=save.op_id,
                    pupil_id=pupil_id,
                    device_id=save.device_id,
                    lesson_id=save.lesson_id,
                    activity_id=save.activity_id,
                    state=save.state,
                    client_time=client_time,
                    client_time_raw=save.client_time.isoformat() if save.client_time else None,
                    received_at=now,
                )
                for save, client_time in valid.values()
            ],
        )
        for save, _ in valid.values():
            row = applied.get(save.op_id)
            if row is None:
                replays.append(save.op_id)
                continue
            current[(save.lesson_id, save.activity_id)] = CurrentState(
                state=row.state,
                revision=row.current_revision,
                client_time=row.client_time,
                received_at=row.received_at,
            )
            results[save.op_id] = OperationResult(
                op_id=save.op_id, outcome="applied", revision=row.new_revision, received_at=now
            )
    await _replays(db, pupil_id, replays, results)
    return current


async def _store_generic(
    db: AsyncSession,
    connection: AsyncConnection,
    pupil_id: int,
    now: datetime,
    claims: list[dict[str, Any]],
    valid: dict[uuid.UUID, tuple[SaveRequest, datetime]],
    results: dict[uuid.UUID, OperationResult],
) -> dict[tuple[str, str], CurrentState]:
    """Any backend: claim, upsert per round, revisions, events — four kinds of statement."""
    # 1. Claim every operation id; the ones already claimed (by an earlier push) are replays.
    claimed: set[uuid.UUID] = set()
    if claims:
        statement = claim_statement(dialect_name(db))
        claimed = set((await connection.execute(statement, claims)).scalars())
    replays = [op_id for op_id in {**results, **valid} if op_id not in claimed]
    await _replays(db, pupil_id, replays, results)
    for op_id in replays:
        valid.pop(op_id, None)

    # 2. One upsert per round applies the conflict rule in SQL and numbers the revision.
    current: dict[tuple[str, str], CurrentState] = {}
    revisions: list[dict[str, Any]] = []
    upsert = _upsert_statement(dialect_name(db))
    for round_ in _rounds(list(valid.values())):
        rows = (
            await connection.execute(
                upsert,
                [
                    {
                        "pupil_id": pupil_id,
                        "lesson_id": save.lesson_id,
                        "activity_id": save.activity_id,
                        "state": save.state,
                        "revision": 1,
                        "revision_count": 1,
                        "client_time": client_time,
                        "op_id": save.op_id,
                        "received_at": now,
                    }
                    for save, client_time in round_
                ],
            )
        ).all()
        for (save, client_time), row in zip(round_, rows, strict=True):
            revision = row.revision_count
            current[(save.lesson_id, save.activity_id)] = CurrentState(
                state=row.state,
                revision=row.revision,
                client_time=row.client_time,
                received_at=row.received_at,
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

    # 3. Keep every version, and tell the pull feed.
    if revisions:
        revision_ids = (
            (
                await connection.execute(
                    REVISION_INSERT,
                    revisions,
                )
            )
            .scalars()
            .all()
        )
        await connection.execute(
            EVENT_INSERT,
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
    return current


__all__ = [
    "CurrentState",
    "Rejected",
    "SaveOutcome",
    "SaveRequest",
    "apply_saves",
    "check_state",
    "clamp_client_time",
]
