"""The PostgreSQL fast path for storing answers: ONE statement per batch, whatever its size.

The generic path (server.domain.sync.answers) sends four kinds of statement per round of saves: claim
the operation ids, upsert the current states, insert the revisions, insert the pull events. Here the
same writes run as data-modifying CTEs of one statement, fed by the batch as one JSON document (cheaper
to send than six arrays: psycopg dumps array elements in Python, PostgreSQL parses JSON in C). It runs
on its own, in autocommit, on the hot path's direct connections (server.db.direct): one statement is
one transaction, committed before the server answers.

A batch may save the same activity many times (a pupil's queue after a lesson offline). An upsert may
touch a row only once per statement, so the batch is folded per activity in SQL, with the same result
as applying the saves one by one in the order sent:
- each save's revision number is the activity's revision count before the batch + its position k among
  the batch's saves of that activity (1, 2, …), so every accepted version is kept and numbered in order;
- the current state follows the conflict rule — latest client time, ties broken by operation id — so
  the winner is the greatest of the stored state and the batch's best save; if that is the batch's
  save, the current revision is count before + its k.

Saves from different requests are sent together (`SaveBatcher`, a group commit): while one statement
is in flight, the saves that arrive queue, and the next statement carries all of them — one round trip
and one commit for many pupils' saves, with no waiting added (a save that finds nothing in flight goes
at once). Each row names its pupil, device and receive time, so a combined statement stores exactly what
the requests would have stored one by one; every request is answered only after the statement that
carried its saves has committed. Rows are locked in one order (op ids, then pupil, lesson, activity) so
two combined statements on two workers wait for each other instead of deadlocking; a statement that
fails is split and each request sent alone, so one request's failure is never another's.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from server.db.direct import DirectDatabase
from server.lib.metrics import SAVES_PER_STATEMENT

SAVE_BATCH = """
WITH input AS (
    SELECT *
    FROM ROWS FROM (
        jsonb_to_recordset(CAST(%(saves)s AS jsonb))
            AS (op_id uuid, pupil_id bigint, device_id text, lesson_id text, activity_id text, state jsonb,
                client_time timestamptz, client_time_raw text, received_at timestamptz)
    ) WITH ORDINALITY AS i (op_id, pupil_id, device_id, lesson_id, activity_id, state, client_time,
                            client_time_raw, received_at, position)
), claim AS (
    INSERT INTO sync_operations (op_id, user_id, kind, outcome, received_at)
    SELECT op_id, pupil_id, 'activity.save', 'applied', received_at FROM input ORDER BY op_id
    ON CONFLICT (op_id) DO NOTHING
    RETURNING op_id
), claimed AS (
    SELECT input.*,
           row_number() OVER (PARTITION BY pupil_id, lesson_id, activity_id ORDER BY position) AS k,
           count(*) OVER (PARTITION BY pupil_id, lesson_id, activity_id) AS n
    FROM input JOIN claim USING (op_id)
), best AS (
    SELECT DISTINCT ON (pupil_id, lesson_id, activity_id) *
    FROM claimed
    ORDER BY pupil_id, lesson_id, activity_id, client_time DESC, op_id DESC
), current_state AS (
    -- revision_count carries n (saves in the batch) and revision carries the best save's k.
    INSERT INTO activity_states AS s
        (pupil_id, lesson_id, activity_id, state, revision, revision_count, client_time, op_id, received_at)
    SELECT pupil_id, lesson_id, activity_id, state, k, n, client_time, op_id, received_at FROM best
    ORDER BY pupil_id, lesson_id, activity_id
    ON CONFLICT (pupil_id, lesson_id, activity_id) DO UPDATE SET
        revision_count = s.revision_count + excluded.revision_count,
        revision = CASE WHEN (excluded.client_time, excluded.op_id) > (s.client_time, s.op_id)
            THEN s.revision_count + excluded.revision ELSE s.revision END,
        state = CASE WHEN (excluded.client_time, excluded.op_id) > (s.client_time, s.op_id)
            THEN excluded.state ELSE s.state END,
        client_time = CASE WHEN (excluded.client_time, excluded.op_id) > (s.client_time, s.op_id)
            THEN excluded.client_time ELSE s.client_time END,
        op_id = CASE WHEN (excluded.client_time, excluded.op_id) > (s.client_time, s.op_id)
            THEN excluded.op_id ELSE s.op_id END,
        received_at = CASE WHEN (excluded.client_time, excluded.op_id) > (s.client_time, s.op_id)
            THEN excluded.received_at ELSE s.received_at END
    RETURNING s.pupil_id, s.lesson_id, s.activity_id, s.revision_count, s.revision, s.state, s.client_time,
              s.received_at
), revision AS (
    INSERT INTO activity_revisions
        (pupil_id, lesson_id, activity_id, revision, state, client_time, client_time_raw, received_at, op_id,
         device_id)
    SELECT c.pupil_id, c.lesson_id, c.activity_id, cs.revision_count - c.n + c.k, c.state, c.client_time,
           c.client_time_raw, c.received_at, c.op_id, c.device_id
    FROM claimed c JOIN current_state cs USING (pupil_id, lesson_id, activity_id)
    RETURNING id, pupil_id, lesson_id, activity_id, op_id, revision, received_at
), event AS (
    INSERT INTO sync_events (audience_id, kind, lesson_id, activity_id, ref_id, created_at)
    SELECT pupil_id, 'revision', lesson_id, activity_id, id, received_at FROM revision
)
SELECT r.op_id, r.revision AS new_revision, cs.revision AS current_revision, cs.state, cs.client_time,
       cs.received_at
FROM revision r JOIN current_state cs USING (pupil_id, lesson_id, activity_id)
"""


class BatchSave(msgspec.Struct):
    """One valid save as the statement reads it (encoded to JSON with msgspec)."""

    op_id: uuid.UUID
    pupil_id: int
    device_id: str | None
    lesson_id: str
    activity_id: str
    state: dict[str, Any]
    client_time: datetime
    client_time_raw: str | None
    received_at: datetime


@dataclass(slots=True)
class SavedRow:
    op_id: uuid.UUID
    new_revision: int
    current_revision: int
    state: dict[str, Any]
    client_time: datetime
    received_at: datetime


@dataclass(slots=True, eq=False)
class _Waiting:
    """One request's saves, waiting for the statement that will carry them."""

    saves: list[BatchSave]
    op_ids: frozenset[uuid.UUID]
    answer: asyncio.Future[dict[uuid.UUID, SavedRow]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class SaveBatcher:
    """Group commit of saves on one worker: one statement in flight at a time, carrying every save that
    queued while the one before it ran (module docstring)."""

    MAX_ROWS = 1000  # one statement's JSON stays well under a megabyte

    def __init__(self, direct: DirectDatabase) -> None:
        self._direct = direct
        self._waiting: list[_Waiting] = []
        self._drainer: asyncio.Task[None] | None = None

    async def save(self, saves: list[BatchSave]) -> dict[uuid.UUID, SavedRow]:
        waiting = _Waiting(saves, frozenset(save.op_id for save in saves))
        self._waiting.append(waiting)
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain(), name="post16-save-batcher")
        return await waiting.answer

    async def _drain(self) -> None:
        try:
            while self._waiting:
                await self._send(self._next_group())
        except BaseException as error:  # cancelled at shutdown: nobody is left waiting for nothing
            for waiting in self._waiting:
                if not waiting.answer.done():
                    waiting.answer.set_exception(error)
            self._waiting = []
            raise
        finally:
            self._drainer = None

    def _next_group(self) -> list[_Waiting]:
        """The waiting requests that fit one statement, in arrival order; a request repeating an op id
        already in the group waits for the next one (the statement claims each op id once)."""
        group: list[_Waiting] = []
        left: list[_Waiting] = []
        op_ids: set[uuid.UUID] = set()
        rows = 0
        for waiting in self._waiting:
            if waiting.answer.done():
                continue  # its request was cancelled before it was sent
            if group and (rows + len(waiting.saves) > self.MAX_ROWS or not op_ids.isdisjoint(waiting.op_ids)):
                left.append(waiting)
                continue
            group.append(waiting)
            op_ids |= waiting.op_ids
            rows += len(waiting.saves)
        self._waiting = left
        return group

    async def _send(self, group: list[_Waiting]) -> None:
        saves = [save for waiting in group for save in waiting.saves]
        try:
            rows = await self._direct.fetch(SAVE_BATCH, {"saves": msgspec.json.encode(saves).decode()})
        except Exception as error:
            if len(group) == 1:
                if not group[0].answer.done():
                    group[0].answer.set_exception(error)
                return
            # The statement was rolled back whole: send each request alone, so that whatever failed
            # (an op id sent twice at once from two workers, a lost connection) fails only its own.
            for waiting in group:
                await self._send([waiting])
            return
        except BaseException as error:
            for waiting in group:
                if not waiting.answer.done():
                    waiting.answer.set_exception(error)
            raise
        SAVES_PER_STATEMENT.observe(len(saves))
        applied = {row[0]: SavedRow(*row) for row in rows}
        for waiting in group:
            if not waiting.answer.done():
                own = {op_id: applied[op_id] for op_id in waiting.op_ids if op_id in applied}
                waiting.answer.set_result(own)


_batchers: weakref.WeakKeyDictionary[DirectDatabase, SaveBatcher] = weakref.WeakKeyDictionary()


async def save_batch(direct: DirectDatabase, saves: list[BatchSave]) -> dict[uuid.UUID, SavedRow]:
    """Store a request's valid saves, in the order sent, together with other requests' saves in flight
    on this worker; returns the applied operations (an op id missing from the answer had been claimed
    before: it is a replay)."""
    batcher = _batchers.get(direct)
    if batcher is None:
        batcher = _batchers[direct] = SaveBatcher(direct)
    return await batcher.save(saves)


CLAIM_REJECTED = """
INSERT INTO sync_operations (op_id, user_id, kind, outcome, reason, code, received_at)
SELECT op_id, %(user_id)s, 'activity.save', 'rejected', reason, code, %(now)s
FROM unnest(CAST(%(op_ids)s AS uuid[]), CAST(%(reasons)s AS text[]), CAST(%(codes)s AS text[]))
    AS r (op_id, reason, code)
ON CONFLICT (op_id) DO NOTHING
RETURNING op_id
"""


async def claim_rejected(
    direct: DirectDatabase, *, user_id: int, now: datetime, rejected: list[tuple[uuid.UUID, str, str]]
) -> set[uuid.UUID]:
    """Record refused operations (op id, reason, code); returns the ids not recorded before."""
    rows = await direct.fetch(
        CLAIM_REJECTED,
        {
            "op_ids": [op_id for op_id, _, _ in rejected],
            "reasons": [reason for _, reason, _ in rejected],
            "codes": [code for _, _, code in rejected],
            "user_id": user_id,
            "now": now,
        },
    )
    return {row[0] for row in rows}


__all__ = ["BatchSave", "SaveBatcher", "SavedRow", "claim_rejected", "save_batch"]
