"""`/api/teacher`: a teacher's classes and their progress grid."""

from __future__ import annotations

from typing import cast

from litestar import Controller, get
from sqlalchemy import func, select

from server.db.models import ActivityState, Enrolment, Mark, SchoolClass, User
from server.domain.deps import Caller, Db, PathId
from server.domain.marks.services import mark_out
from server.lib.errors import not_found
from shared.wire.auth import User as UserOut
from shared.wire.common import Role
from shared.wire.teaching import ClassProgress, ProgressCell, TeacherClass


class TeachingController(Controller):
    path = "/api/teacher"
    tags = ["teaching"]

    @get("/classes")
    async def classes(self, teacher: Caller, db: Db) -> list[TeacherClass]:
        """The classes you teach (admins: every class)."""
        query = (
            select(SchoolClass.id, SchoolClass.name, func.count(Enrolment.pupil_id))
            .outerjoin(Enrolment, Enrolment.class_id == SchoolClass.id)
            .group_by(SchoolClass.id, SchoolClass.name)
            .order_by(SchoolClass.name)
        )
        if not teacher.is_admin:
            query = query.where(SchoolClass.teacher_id == teacher.user_id)
        return [TeacherClass(id=i, name=n, pupil_count=c) for i, n, c in (await db.execute(query)).all()]

    @get("/classes/{class_id:int}/progress")
    async def progress(self, class_id: PathId, teacher: Caller, db: Db) -> ClassProgress:
        """Every pupil of the class × every activity they answered, with the current mark."""
        school_class = await db.get(SchoolClass, class_id)
        if school_class is None or (not teacher.is_admin and school_class.teacher_id != teacher.user_id):
            raise not_found(f"class {class_id}")
        pupils = (
            (
                await db.execute(
                    select(User)
                    .join(Enrolment, Enrolment.pupil_id == User.id)
                    .where(Enrolment.class_id == class_id)
                    .order_by(User.display_name, User.username)
                )
            )
            .scalars()
            .all()
        )
        ids = [p.id for p in pupils]
        # Not the answers themselves (up to 64 KB each): the grid shows where each pupil is.
        states = (
            await db.execute(
                select(
                    ActivityState.pupil_id,
                    ActivityState.lesson_id,
                    ActivityState.activity_id,
                    ActivityState.revision,
                    ActivityState.received_at,
                ).where(ActivityState.pupil_id.in_(ids))
            )
        ).all()
        marks = {
            (m.pupil_id, m.lesson_id, m.activity_id): m
            for m in (await db.execute(select(Mark).where(Mark.pupil_id.in_(ids)))).scalars()
        }
        cells = []
        for s in states:
            mark = marks.pop((s.pupil_id, s.lesson_id, s.activity_id), None)
            cells.append(
                ProgressCell(
                    pupil_id=s.pupil_id,
                    lesson_id=s.lesson_id,
                    activity_id=s.activity_id,
                    revision=s.revision,
                    updated_at=s.received_at,
                    mark=mark_out(mark, None) if mark else None,
                )
            )
        return ClassProgress(
            class_id=class_id,
            name=school_class.name,
            pupils=[
                UserOut(
                    id=p.id,
                    username=p.username,
                    display_name=p.display_name,
                    role=cast(Role, p.role),
                    disabled=p.disabled,
                )
                for p in pupils
            ],
            cells=cells,
        )


__all__ = ["TeachingController"]
