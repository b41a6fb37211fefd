"""The PostgreSQL fast path for storing answers: one statement per round of saves.

The generic path (server.domain.sync.answers) sends four statements per round: claim the operation
ids, upsert the current states, insert the revisions, insert the pull events. On PostgreSQL the same
four writes run as data-modifying CTEs of ONE statement, fed by arrays (so the statement text never
changes and psycopg prepares it once). Same rules, fewer round trips — the save path's cost was
dominated by per-statement driver overhead (see docs/performance.md).

Within a round every (lesson, activity) appears once, so each upsert touches a row once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from server.db.direct import DirectDatabase

SAVE_ROUND = """
WITH input AS (
    SELECT *
    FROM unnest(
        CAST(%(op_ids)s AS uuid[]), CAST(%(lesson_ids)s AS text[]), CAST(%(activity_ids)s AS text[]),
        CAST(%(states)s AS jsonb[]), CAST(%(client_times)s AS timestamptz[]),
        CAST(%(client_times_raw)s AS text[])
    ) AS i (op_id, lesson_id, activity_id, state, client_time, client_time_raw)
), claim AS (
    INSERT INTO sync_operations (op_id, user_id, kind, outcome, received_at)
    SELECT op_id, %(pupil_id)s, 'activity.save', 'applied', %(now)s FROM input
    ON CONFLICT (op_id) DO NOTHING
    RETURNING op_id
), claimed AS (
    SELECT input.* FROM input JOIN claim USING (op_id)
), current_state AS (
    INSERT INTO activity_states AS s
        (pupil_id, lesson_id, activity_id, state, revision, revision_count, client_time, op_id, received_at)
    SELECT %(pupil_id)s, lesson_id, activity_id, state, 1, 1, client_time, op_id, %(now)s FROM claimed
    ON CONFLICT (pupil_id, lesson_id, activity_id) DO UPDATE SET
        revision_count = s.revision_count + 1,
        revision = CASE WHEN (excluded.client_time, excluded.op_id) > (s.client_time, s.op_id)
                        THEN s.revision_count + 1 ELSE s.revision END,
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
    SELECT %(pupil_id)s, c.lesson_id, c.activity_id, cs.revision_count, c.state, c.client_time,
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


@dataclass(slots=True)
class RoundRow:
    op_id: uuid.UUID
    new_revision: int
    current_revision: int
    state: dict[str, Any]
    client_time: datetime
    received_at: datetime


async def save_round(
    direct: DirectDatabase,
    *,
    pupil_id: int,
    now: datetime,
    device_id: str | None,
    saves: list[tuple[uuid.UUID, str, str, dict[str, Any], datetime, str | None]],
) -> dict[uuid.UUID, RoundRow]:
    """Store one round; returns the applied operations (an op id missing from the answer had been
    claimed before: it is a replay)."""
    rows = await direct.fetch(
        SAVE_ROUND,
        {
            "op_ids": [save[0] for save in saves],
            "lesson_ids": [save[1] for save in saves],
            "activity_ids": [save[2] for save in saves],
            "states": [Jsonb(save[3]) for save in saves],
            "client_times": [save[4] for save in saves],
            "client_times_raw": [save[5] for save in saves],
            "pupil_id": pupil_id,
            "now": now,
            "device_id": device_id,
        },
    )
    return {row[0]: RoundRow(*row) for row in rows}


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


__all__ = ["RoundRow", "claim_rejected", "save_round"]
