"""`/api/activity`: one activity's answer, its revisions, and restoring an earlier one."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK
from sqlalchemy import select

from server.db.models import ActivityRevision
from server.db.models import ActivityState as StateRow
from server.domain.deps import ID_MAX, AppSettings, Caller, Db
from server.domain.sync.answers import CurrentState, SaveRequest, apply_saves
from server.domain.teaching.access import can_see_pupil
from server.lib import ratelimit
from server.lib.errors import forbidden, not_found, refusal
from server.lib.metrics import ACTIVITY_SAVE_SECONDS, ACTIVITY_SAVES
from server.lib.ratelimit import OWN_RATE_LIMIT
from shared.wire.activity import ActivityState, ActivityStateSave, Revision, RevisionList, RevisionRestore
from shared.wire.common import Slug


class ActivityController(Controller):
    path = "/api/activity"
    tags = ["activity"]

    @get("/state/{lesson_id:str}/{activity_id:str}")
    async def get_state(
        self,
        lesson_id: FromPath[str],
        activity_id: FromPath[str],
        auth: Caller,
        db: Db,
        pupil_id: Annotated[int | None, QueryParameter(ge=1, le=ID_MAX)] = None,
    ) -> ActivityState:
        """The current answer (yours, or as a teacher a pupil's with `pupil_id`)."""
        owner = await _owner(db, auth, pupil_id)
        row = await db.get(StateRow, (owner, lesson_id, activity_id))
        if row is None:
            raise not_found(f"an answer to {lesson_id}/{activity_id}")
        return ActivityState(
            lesson_id=lesson_id,
            activity_id=activity_id,
            state=row.state,
            revision=row.revision,
            client_time=row.client_time,
            received_at=row.received_at,
        )

    @post("/state/{lesson_id:str}/{activity_id:str}", status_code=HTTP_200_OK, opt=OWN_RATE_LIMIT)
    async def save_state(
        self,
        lesson_id: FromPath[Slug],
        activity_id: FromPath[Slug],
        data: JSONBody[ActivityStateSave],
        auth: Caller,
        db: Db,
        state: State,
    ) -> ActivityState:
        """Save your answer. Idempotent with `op_id`; `client_time` decides which save is current."""
        # Settings from `state`, not injected: the hot path's dependencies then resolve one after the
        # other (db, then auth) instead of in a task group (server.domain.auth.guards.provide_auth).
        return await save_answer(auth, db, state.settings, state, lesson_id, activity_id, data)

    @get("/revisions/{lesson_id:str}/{activity_id:str}")
    async def revisions(
        self,
        lesson_id: FromPath[str],
        activity_id: FromPath[str],
        auth: Caller,
        db: Db,
        pupil_id: Annotated[int | None, QueryParameter(ge=1, le=ID_MAX)] = None,
    ) -> RevisionList:
        """Every accepted version of the answer, oldest first; `current` marks the one in force."""
        owner = await _owner(db, auth, pupil_id)
        current = await db.get(StateRow, (owner, lesson_id, activity_id))
        rows = (
            await db.execute(
                select(ActivityRevision)
                .where(
                    ActivityRevision.pupil_id == owner,
                    ActivityRevision.lesson_id == lesson_id,
                    ActivityRevision.activity_id == activity_id,
                )
                .order_by(ActivityRevision.revision)
            )
        ).scalars()
        return RevisionList(
            lesson_id=lesson_id,
            activity_id=activity_id,
            pupil_id=owner,
            revisions=[
                Revision(
                    revision=r.revision,
                    state=r.state,
                    client_time=r.client_time,
                    received_at=r.received_at,
                    op_id=r.op_id,
                    device_id=r.device_id,
                    current=current is not None and current.op_id == r.op_id,
                )
                for r in rows
            ],
        )

    @post("/restore/{lesson_id:str}/{activity_id:str}", status_code=HTTP_200_OK, opt=OWN_RATE_LIMIT)
    async def restore(
        self,
        lesson_id: FromPath[Slug],
        activity_id: FromPath[Slug],
        data: JSONBody[RevisionRestore],
        auth: Caller,
        db: Db,
        settings: AppSettings,
        state: State,
    ) -> ActivityState:
        """Make an earlier revision current again; it is saved as a new revision, nothing is lost."""
        revision = (
            await db.execute(
                select(ActivityRevision).where(
                    ActivityRevision.pupil_id == auth.user_id,
                    ActivityRevision.lesson_id == lesson_id,
                    ActivityRevision.activity_id == activity_id,
                    ActivityRevision.revision == data.revision,
                )
            )
        ).scalar_one_or_none()
        if revision is None:
            raise not_found(f"revision {data.revision} of {lesson_id}/{activity_id}")
        restored = ActivityStateSave(state=revision.state, op_id=data.op_id)
        return await save_answer(auth, db, settings, state, lesson_id, activity_id, restored)


async def _owner(db: Db, auth: Caller, pupil_id: int | None) -> int:
    if pupil_id is None or pupil_id == auth.user_id:
        return auth.user_id
    if not await can_see_pupil(db, auth, pupil_id):
        # Same answer as for a pupil who does not exist: no probing for ids.
        raise not_found(f"pupil {pupil_id}")
    return pupil_id


async def save_answer(
    auth: Caller,
    db: Db,
    settings: AppSettings,
    state: State,
    lesson_id: str,
    activity_id: str,
    data: ActivityStateSave,
) -> ActivityState:
    """Store one answer through the same path as a sync push (rate limited as activity_save)."""
    if auth.role != "pupil":
        raise forbidden("only pupils save answers")
    await ratelimit.hit(db, settings.rate_limits, "activity_save", str(auth.user_id), state.direct)
    with ACTIVITY_SAVE_SECONDS.time():
        save = SaveRequest(
            op_id=data.op_id or uuid.uuid4(),
            lesson_id=lesson_id,
            activity_id=activity_id,
            state=data.state,
            client_time=data.client_time,
            device_id=None,
        )
        outcome = await apply_saves(db, state.lessons, settings, auth.user_id, [save], state.direct)
    [result] = outcome.results
    ACTIVITY_SAVES.labels(outcome=result.outcome).inc()
    if result.outcome == "rejected":
        code = result.code or "validation_error"
        reason = result.reason or "refused"
        field = "state"
        if code == "not_found":  # the lesson or activity in the path, not the answer, is at fault
            field = "lesson_id" if reason.startswith("lesson") else "activity_id"
        raise refusal(code, reason, field=field)
    current = outcome.current.get((lesson_id, activity_id))
    if current is None:  # a replay: nothing was written, read the answer as it stands
        row = await db.get(StateRow, (auth.user_id, lesson_id, activity_id), populate_existing=True)
        if row is None:
            raise not_found(f"an answer to {lesson_id}/{activity_id}")
        current = CurrentState(
            state=row.state, revision=row.revision, client_time=row.client_time, received_at=row.received_at
        )
    return ActivityState(
        lesson_id=lesson_id,
        activity_id=activity_id,
        state=current.state,
        revision=current.revision,
        client_time=current.client_time,
        received_at=current.received_at,
        outcome=result.outcome,
    )


__all__ = ["ActivityController", "save_answer"]
