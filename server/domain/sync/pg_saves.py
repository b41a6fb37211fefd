"""The PostgreSQL fast path for storing answers: ONE statement per batch, whatever its size.

The generic path (server.domain.sync.answers) sends four kinds of statement per round of saves: claim
the operation ids, upsert the current states, insert the revisions, insert the pull events. Here the
same writes run as data-modifying CTEs of one statement, fed by the batch as one JSON document (cheaper
to send than six arrays: psycopg dumps array elements in Python, PostgreSQL parses JSON in C). It runs
on its own, in autocommit, on the hot path's direct connections (server.db.direct): one statement is
one transaction, committed before the server answers.

An applied save is claimed by its revision row, whose op id is unique, not by a ledger row of its own
(one row and two index entries fewer per save; docs/architecture.md, "The operation ledger"). The
statement leaves out the op ids it can already see (revisions and ledger rows); an op id that another
statement is storing at the same moment makes this one fail on the revision's unique key once that one
commits, and the retry (server.domain.sync.answers.apply_saves, or the group commit's split) finds it
and answers it as a replay. Refusals still get a ledger row (`CLAIM_REJECTED`), never for an op id
that was applied.

A batch may save the same activity many times (a pupil's queue after a lesson offline). An upsert may
touch a row only once per statement, so the batch is folded per activity in SQL, with the same result
as applying the saves one by one in the order sent:
- each save's revision number is the activity's revision count before the batch + its position k among
  the batch's saves of that activity (1, 2, …), so every accepted version is kept and numbered in order;
- the current state follows the conflict rule — latest client time, ties broken by operation id — so
  the winner is the greatest of the stored state and the batch's best save; if that is the batch's
  save, the current revision is count before + its k.

Saves from different requests are sent together (server.db.direct.GroupCommit, a group commit): while
one statement is in flight the saves that arrive queue, and the next statement carries all of them. So
each row names its pupil, device and receive time, the batch is folded per pupil and activity, and the
current states are upserted in one order (pupil, lesson, activity), the order their locks are taken.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from server.db.direct import DirectDatabase
from server.lib.metrics import SAVES_PER_STATEMENT

SAVE_BATCH = """
WITH input AS (
    SELECT *
    FROM ROWS FROM (
        jsonb_to_recordset(CAST(%(rows)s AS jsonb))
            AS (op_id uuid, pupil_id bigint, device_id text, lesson_id text, activity_id text, state jsonb,
                client_time timestamptz, client_time_raw text, received_at timestamptz)
    ) WITH ORDINALITY AS i (op_id, pupil_id, device_id, lesson_id, activity_id, state, client_time,
                            client_time_raw, received_at, position)
), seen AS MATERIALIZED (
    -- Op ids answered before: an applied save is known by its revision (activity_revisions.op_id is
    -- unique), anything else by its ledger row (server.domain.sync.ledger). One index probe each, as
    -- scalar subqueries in the select list: as a NOT EXISTS the planner may hash a whole table (the plan
    -- is kept while the tables grow), and as a filter it guesses so few rows survive that it joins the
    -- saves to the states by nested loops (800 saves: 640,000 comparisons).
    SELECT input.*,
           (SELECT 1 FROM activity_revisions a WHERE a.op_id = input.op_id) IS NOT NULL
           OR (SELECT 1 FROM sync_operations o WHERE o.op_id = input.op_id) IS NOT NULL AS answered
    FROM input
), claimed AS (
    SELECT seen.*,
           row_number() OVER (PARTITION BY pupil_id, lesson_id, activity_id ORDER BY position) AS k,
           count(*) OVER (PARTITION BY pupil_id, lesson_id, activity_id) AS n
    FROM seen WHERE NOT answered
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
    ORDER BY c.position  -- ids, and so the order of the pull, as the saves were sent
    RETURNING id, pupil_id, lesson_id, activity_id, op_id, revision, received_at
), event AS (
    INSERT INTO sync_events (audience_id, kind, lesson_id, activity_id, ref_id, created_at)
    SELECT pupil_id, 'revision', lesson_id, activity_id, id, received_at FROM revision ORDER BY id
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


def _op_id(save: BatchSave) -> uuid.UUID:
    return save.op_id


def _result_op_id(row: tuple[Any, ...]) -> uuid.UUID:
    op_id: uuid.UUID = row[0]
    return op_id


async def save_batch(direct: DirectDatabase, saves: list[BatchSave]) -> dict[uuid.UUID, SavedRow]:
    """Store a request's valid saves, in the order sent, together with the saves of other requests in
    flight on this worker (server.db.direct.GroupCommit); returns the applied operations (an op id
    missing from the answer had been claimed before: it is a replay)."""
    group = direct.group_commit(
        SAVE_BATCH, row_key=_op_id, result_key=_result_op_id, on_sent=SAVES_PER_STATEMENT.observe
    )
    return {row[0]: SavedRow(*row) for row in await group.send(saves)}


CLAIM_REJECTED = """
INSERT INTO sync_operations (op_id, user_id, kind, outcome, reason, code, received_at)
SELECT op_id, %(user_id)s, 'activity.save', 'rejected', reason, code, %(now)s
FROM unnest(CAST(%(op_ids)s AS uuid[]), CAST(%(reasons)s AS text[]), CAST(%(codes)s AS text[]))
    AS r (op_id, reason, code)
WHERE NOT EXISTS (SELECT 1 FROM activity_revisions a WHERE a.op_id = r.op_id)
ORDER BY op_id
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
