"""The operation ledger: every operation id a client sent, claimed once, and the answer it got.

`sync_operations` holds one row per op id — applied or rejected with its reason and code — except for
saves applied on PostgreSQL, whose claim is their revision row (`activity_revisions.op_id` is unique:
server.domain.sync.pg_saves). Saves (server.domain.sync.answers and pg_saves), teachers' marks
(server.domain.marks.services) and refusals all go through it, so that a replay — the same op id sent
again, late, twice at once, or by someone else — is answered from here and changes nothing
(docs/architecture.md, invariant 2). Access is checked by the caller before the ledger is read.
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.engine import dialect_name, insert_for
from server.db.models import ActivityRevision, SyncOperation
from shared.wire.sync import OperationResult

if TYPE_CHECKING:
    from server.domain.sync.answers import Rejected

__all__ = ["answered_before", "claim_operation", "claim_statement", "record_refusal", "replay_result"]

OPERATIONS = cast(Table, SyncOperation.__table__)


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
    """The recorded answers to these operation ids. An applied save on PostgreSQL has no ledger row:
    its revision row is its claim (server.domain.sync.pg_saves), read here as an applied operation. An
    op id found both ways (a refusal recorded beside an applied save) is answered as the applied save."""
    if not op_ids:
        return {}
    found: dict[uuid.UUID, SyncOperation] = {}
    revisions = await db.execute(
        select(
            ActivityRevision.op_id,
            ActivityRevision.pupil_id,
            ActivityRevision.revision,
            ActivityRevision.received_at,
        ).where(ActivityRevision.op_id.in_(op_ids))
    )
    for op_id, pupil_id, revision, received_at in revisions.all():
        found[op_id] = SyncOperation(
            op_id=op_id,
            user_id=pupil_id,
            kind="activity.save",
            outcome="applied",
            revision=revision,
            received_at=received_at,
        )
    left = [op_id for op_id in op_ids if op_id not in found]
    if left:
        rows = await db.execute(select(SyncOperation).where(SyncOperation.op_id.in_(left)))
        for operation in rows.scalars():
            found[operation.op_id] = operation
    return found


async def record_refusal(
    db: AsyncSession, *, op_id: uuid.UUID, user_id: int, kind: str, rejection: Rejected, now: datetime
) -> None:
    """Remember a refused operation so that its replay gets the same answer. An op id recorded
    before (by this caller or anyone else) is left as it is: a refusal never overwrites an answer."""
    await db.execute(
        claim_statement(dialect_name(db)),
        {
            "op_id": op_id,
            "user_id": user_id,
            "kind": kind,
            "outcome": "rejected",
            "revision": None,
            "reason": rejection.reason,
            "code": rejection.code,
            "received_at": now,
        },
    )


async def claim_operation(
    db: AsyncSession, *, op_id: uuid.UUID, user_id: int, kind: str, now: datetime
) -> bool:
    """Claim `op_id` as applied, first thing in the transaction that applies it; False if it was
    claimed before. A concurrent transaction claiming the same id waits on the unique key until this
    one ends, then finds it claimed: two copies of one operation in flight apply it once, and the
    second is answered as a replay instead of failing on the key at commit."""
    claimed = await db.execute(
        claim_statement(dialect_name(db)),
        {
            "op_id": op_id,
            "user_id": user_id,
            "kind": kind,
            "outcome": "applied",
            "revision": None,
            "reason": None,
            "code": None,
            "received_at": now,
        },
    )
    return claimed.scalar_one_or_none() is not None


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


@functools.cache
def claim_statement(dialect: str):  # type: ignore[no-untyped-def]
    insert_ = insert_for(dialect)
    return insert_(OPERATIONS).on_conflict_do_nothing().returning(OPERATIONS.c.op_id)
