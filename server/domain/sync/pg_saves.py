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
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from server.db.direct import DirectDatabase

SAVE_BATCH = """
WITH input AS (
    SELECT *
    FROM ROWS FROM (
        jsonb_to_recordset(CAST(%(saves)s AS jsonb))
            AS (op_id uuid, lesson_id text, activity_id text, state jsonb, client_time timestamptz,
                client_time_raw text)
    ) WITH ORDINALITY AS i (op_id, lesson_id, activity_id, state, client_time, client_time_raw, position)
), claim AS (
    INSERT INTO sync_operations (op_id, user_id, kind, outcome, received_at)
    SELECT op_id, %(pupil_id)s, 'activity.save', 'applied', %(now)s FROM input
    ON CONFLICT (op_id) DO NOTHING
    RETURNING op_id
), claimed AS (
    SELECT input.*,
           row_number() OVER (PARTITION BY lesson_id, activity_id ORDER BY position) AS k,
           count(*) OVER (PARTITION BY lesson_id, activity_id) AS n
    FROM input JOIN claim USING (op_id)
), best AS (
    SELECT DISTINCT ON (lesson_id, activity_id) *
    FROM claimed
    ORDER BY lesson_id, activity_id, client_time DESC, op_id DESC
), current_state AS (
    -- revision_count carries n (saves in the batch) and revision carries the best save's k.
    INSERT INTO activity_states AS s
        (pupil_id, lesson_id, activity_id, state, revision, revision_count, client_time, op_id, received_at)
    SELECT %(pupil_id)s, lesson_id, activity_id, state, k, n, client_time, op_id, %(now)s FROM best
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
    RETURNING s.lesson_id, s.activity_id, s.revision_count, s.revision, s.state, s.client_time, s.received_at
), revision AS (
    INSERT INTO activity_revisions
        (pupil_id, lesson_id, activity_id, revision, state, client_time, client_time_raw, received_at, op_id,
         device_id)
    SELECT %(pupil_id)s, c.lesson_id, c.activity_id, cs.revision_count - c.n + c.k, c.state, c.client_time,
           c.client_time_raw, %(now)s, c.op_id, %(device_id)s
    FROM claimed c JOIN current_state cs USING (lesson_id, activity_id)
    RETURNING id, lesson_id, activity_id, op_id, revision
), event AS (
    INSERT INTO sync_events (audience_id, kind, lesson_id, activity_id, ref_id, created_at)
    SELECT %(pupil_id)s, 'revision', lesson_id, activity_id, id, %(now)s FROM revision
)
SELECT r.op_id, r.revision AS new_revision, cs.revision AS current_revision, cs.state, cs.client_time,
       cs.received_at
FROM revision r JOIN current_state cs USING (lesson_id, activity_id)
"""


class BatchSave(msgspec.Struct):
    """One valid save as the statement reads it (encoded to JSON with msgspec)."""

    op_id: uuid.UUID
    lesson_id: str
    activity_id: str
    state: dict[str, Any]
    client_time: datetime
    client_time_raw: str | None


@dataclass(slots=True)
class SavedRow:
    op_id: uuid.UUID
    new_revision: int
    current_revision: int
    state: dict[str, Any]
    client_time: datetime
    received_at: datetime


async def save_batch(
    direct: DirectDatabase, *, pupil_id: int, now: datetime, device_id: str | None, saves: list[BatchSave]
) -> dict[uuid.UUID, SavedRow]:
    """Store a batch of valid saves, in the order sent; returns the applied operations (an op id
    missing from the answer had been claimed before: it is a replay)."""
    rows = await direct.fetch(
        SAVE_BATCH,
        {
            "saves": msgspec.json.encode(saves).decode(),
            "pupil_id": pupil_id,
            "now": now,
            "device_id": device_id,
        },
    )
    return {row[0]: SavedRow(*row) for row in rows}


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


__all__ = ["BatchSave", "SavedRow", "claim_rejected", "save_batch"]
