"""`/api/marks`: pupils read their marks; teachers mark pupils of their classes."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from server.db.models import User
from server.domain.deps import AppSettings, Caller, Db, PathId
from server.domain.marks.services import mark_out, marks_for_pupil, set_mark
from server.lib import ratelimit
from server.lib.errors import AppError, refusal
from server.lib.ratelimit import OWN_RATE_LIMIT
from shared.errors import ErrorCode
from shared.wire.common import Slug
from shared.wire.marks import Mark, MarkSet


class MarkController(Controller):
    path = "/api/marks"
    tags = ["marks"]

    @get("/")
    async def mine(self, auth: Caller, db: Db) -> list[Mark]:
        """Your marks and feedback, on every activity that has one."""
        return await marks_for_pupil(db, auth.user_id)

    @post("/{pupil_id:int}/{lesson_id:str}/{activity_id:str}", status_code=HTTP_200_OK, opt=OWN_RATE_LIMIT)
    async def mark(
        self,
        pupil_id: PathId,
        lesson_id: FromPath[Slug],
        activity_id: FromPath[Slug],
        data: JSONBody[MarkSet],
        teacher: Caller,
        db: Db,
        settings: AppSettings,
        state: State,
    ) -> Mark:
        """Mark a pupil's activity (score out of max_score, feedback). Idempotent with `op_id`."""
        await ratelimit.hit(db, settings.rate_limits, "mark_activity", str(teacher.user_id), state.direct)
        result, row = await set_mark(
            db, state.lessons, settings, teacher, pupil_id, lesson_id, activity_id, data
        )
        if result.outcome == "rejected":
            if result.code == ErrorCode.FORBIDDEN:  # no probing for pupil ids: not yours looks like none
                raise AppError(404, ErrorCode.NOT_FOUND, result.reason or "refused")
            raise refusal(result.code, result.reason)
        if row is None:  # a replay: answer with the mark as it stands
            marks = [
                m
                for m in await marks_for_pupil(db, pupil_id)
                if m.lesson_id == lesson_id and m.activity_id == activity_id
            ]
            if not marks:
                raise AppError(404, ErrorCode.NOT_FOUND, "mark not found")
            return marks[0]
        marker = await db.get(User, row.marker_id) if row.marker_id else None
        return mark_out(row, marker.username if marker else None)


__all__ = ["MarkController"]
