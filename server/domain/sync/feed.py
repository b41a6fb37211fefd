"""The pull feed: what changed for this user since their cursor.

On PostgreSQL the feed is ordered by (writing transaction id, event id) and only events of transactions
older than every running one are served, so an event that commits late is never skipped by a cursor
that has moved past its id. SQLite has a single writer, so the id order is the commit order.
"""

from __future__ import annotations

import base64
import binascii

from sqlalchemy import and_, literal, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.engine import dialect_name
from server.db.models import ActivityRevision, ActivityState, LessonVersion, Mark, SyncEvent, User
from server.domain.auth.context import AuthContext
from server.domain.marks.services import mark_out
from server.domain.teaching.access import taught_pupils_query
from server.lib.errors import bad_request
from shared.wire.sync import LessonEvent, MarkEvent, PullItem, PullResponse, RevisionEvent

CURSOR_PREFIX = "c1"

# The oldest transaction id still running in THIS database (as a 64-bit xid8), or the next id to be
# given out when none is. Every transaction of this database below it has finished, so the next
# statement (a new snapshot under READ COMMITTED) sees all of its events. Only this database's
# backends count: a long transaction elsewhere on a shared cluster never stalls the feed.
# backend_xid is 32-bit; it is widened against the snapshot's xmax, within 2^31 of which it lies.
HORIZON = text(
    """
    SELECT COALESCE(
        min(s.xmax8 - ((s.xmax8 % 4294967296 - a.backend_xid::text::bigint + 4294967296) % 4294967296)),
        s.xmax8)
    FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax8) AS s
    LEFT JOIN pg_stat_activity AS a
        ON a.datname = current_database() AND a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()
    GROUP BY s.xmax8
    """
)


def encode_cursor(txid: int, event_id: int) -> str:
    raw = f"{CURSOR_PREFIX}:{txid}:{event_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[int, int]:
    if not cursor:
        return (-1, 0)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, txid, event_id = raw.split(":")
        position = int(txid), int(event_id)
        if prefix != CURSOR_PREFIX or not (-1 <= position[0] < 2**63 and 0 <= position[1] < 2**63):
            raise ValueError(raw)
        return position
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request(
            "cursor: not a cursor this server gave out; start again without one", "cursor"
        ) from None


async def pull(db: AsyncSession, auth: AuthContext, cursor: str | None, limit: int) -> PullResponse:
    position = decode_cursor(cursor)
    query = select(SyncEvent).where(
        tuple_(SyncEvent.txid, SyncEvent.id) > tuple_(literal(position[0]), literal(position[1]))
    )
    if dialect_name(db) == "postgresql":
        horizon = (await db.execute(HORIZON)).scalar_one()
        query = query.where(SyncEvent.txid < horizon)
    if auth.is_admin:
        pass
    elif auth.role == "teacher":
        query = query.where(
            or_(
                SyncEvent.audience_id.is_(None),
                SyncEvent.audience_id == auth.user_id,
                SyncEvent.audience_id.in_(taught_pupils_query(auth.user_id)),
            )
        )
    else:
        query = query.where(or_(SyncEvent.audience_id.is_(None), SyncEvent.audience_id == auth.user_id))
    events = list((await db.execute(query.order_by(SyncEvent.txid, SyncEvent.id).limit(limit + 1))).scalars())
    has_more = len(events) > limit
    events = events[:limit]
    items = await _materialise(db, events)
    next_cursor = (
        encode_cursor(events[-1].txid, events[-1].id) if events else (cursor or encode_cursor(-1, 0))
    )
    return PullResponse(items=items, next_cursor=next_cursor, has_more=has_more, server_time=utcnow())


async def _materialise(db: AsyncSession, events: list[SyncEvent]) -> list[PullItem]:
    revision_ids = [event.ref_id for event in events if event.kind == "revision" and event.ref_id is not None]
    revisions: dict[int, tuple[ActivityRevision, bool]] = {}
    if revision_ids:
        rows = await db.execute(
            select(ActivityRevision, ActivityState.op_id)
            .outerjoin(
                ActivityState,
                and_(
                    ActivityState.pupil_id == ActivityRevision.pupil_id,
                    ActivityState.lesson_id == ActivityRevision.lesson_id,
                    ActivityState.activity_id == ActivityRevision.activity_id,
                ),
            )
            .where(ActivityRevision.id.in_(revision_ids))
        )
        revisions = {
            revision.id: (revision, current_op == revision.op_id) for revision, current_op in rows.all()
        }
    mark_keys = {(e.audience_id, e.lesson_id, e.activity_id) for e in events if e.kind == "mark"}
    marks: dict[tuple[int | None, str, str | None], tuple[Mark, str | None]] = {}
    if mark_keys:
        mark_rows = await db.execute(
            select(Mark, User.username)
            .outerjoin(User, User.id == Mark.marker_id)
            .where(tuple_(Mark.pupil_id, Mark.lesson_id, Mark.activity_id).in_(list(mark_keys)))
        )
        marks = {(m.pupil_id, m.lesson_id, m.activity_id): (m, marker) for m, marker in mark_rows.all()}
    lesson_ids = {e.lesson_id for e in events if e.kind == "lesson"}
    versions: dict[str, LessonVersion] = {}
    if lesson_ids:
        version_rows = await db.execute(select(LessonVersion).where(LessonVersion.lesson_id.in_(lesson_ids)))
        versions = {row.lesson_id: row for row in version_rows.scalars()}

    items: list[PullItem] = []
    for event in events:
        cursor = encode_cursor(event.txid, event.id)
        if event.kind == "revision" and event.ref_id in revisions:
            revision, current = revisions[event.ref_id]
            items.append(
                RevisionEvent(
                    cursor=cursor,
                    pupil_id=revision.pupil_id,
                    lesson_id=revision.lesson_id,
                    activity_id=revision.activity_id,
                    revision=revision.revision,
                    state=revision.state,
                    client_time=revision.client_time,
                    received_at=revision.received_at,
                    op_id=revision.op_id,
                    device_id=revision.device_id,
                    current=current,
                )
            )
        elif event.kind == "mark" and (event.audience_id, event.lesson_id, event.activity_id) in marks:
            mark, marker = marks[(event.audience_id, event.lesson_id, event.activity_id)]
            items.append(
                MarkEvent(
                    cursor=cursor,
                    mark=mark_out(mark, marker),
                )
            )
        elif event.kind == "lesson" and event.lesson_id in versions:
            version = versions[event.lesson_id]
            items.append(
                LessonEvent(
                    cursor=cursor, lesson_id=event.lesson_id, version=version.version, removed=version.removed
                )
            )
    return items


__all__ = ["decode_cursor", "encode_cursor", "pull"]
