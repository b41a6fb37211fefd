"""Who may see whose work: a teacher sees the pupils enrolled in classes they teach; admins see all."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Enrolment, SchoolClass
from server.domain.auth.context import AuthContext


def taught_pupils_query(teacher_id: int):  # type: ignore[no-untyped-def]
    return (
        select(Enrolment.pupil_id)
        .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
        .where(SchoolClass.teacher_id == teacher_id)
    )


async def can_see_pupil(db: AsyncSession, auth: AuthContext, pupil_id: int) -> bool:
    if auth.user_id == pupil_id or auth.is_admin:
        return True
    if auth.role != "teacher":
        return False
    found = await db.execute(taught_pupils_query(auth.user_id).where(Enrolment.pupil_id == pupil_id).limit(1))
    return found.first() is not None


async def can_mark_pupil(db: AsyncSession, auth: AuthContext, pupil_id: int) -> bool:
    if auth.is_admin:
        return True
    return auth.role == "teacher" and auth.user_id != pupil_id and await can_see_pupil(db, auth, pupil_id)


__all__ = ["can_mark_pupil", "can_see_pupil", "taught_pupils_query"]
