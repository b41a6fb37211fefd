"""Classes (teaching groups): create, rename, assign a teacher, enrol and remove pupils."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Enrolment, SchoolClass, User
from server.domain.admin.users import user_out
from server.domain.auth.context import AuthContext
from server.lib import audit
from server.lib.errors import AppError, bad_request, not_found
from shared.errors import ErrorCode
from shared.wire.people import SchoolClass as ClassOut
from shared.wire.people import SchoolClassCreate, SchoolClassUpdate


class ClassService:
    def __init__(self, db: AsyncSession, auth: AuthContext) -> None:
        self.db = db
        self.auth = auth

    def _who(self) -> dict[str, str | None]:
        return {
            "actor": self.auth.username,
            "client_ip": self.auth.client_ip,
            "user_agent": self.auth.user_agent,
        }

    async def _teacher(self, teacher_id: int | None) -> User | None:
        if teacher_id is None:
            return None
        teacher = await self.db.get(User, teacher_id)
        if teacher is None or teacher.role not in ("teacher", "admin"):
            raise bad_request(f"user {teacher_id} is not a teacher", "teacher_id")
        return teacher

    async def out(self, school_class: SchoolClass) -> ClassOut:
        teacher = await self.db.get(User, school_class.teacher_id) if school_class.teacher_id else None
        pupils = (
            (
                await self.db.execute(
                    select(User)
                    .join(Enrolment, Enrolment.pupil_id == User.id)
                    .where(Enrolment.class_id == school_class.id)
                    .order_by(User.username)
                )
            )
            .scalars()
            .all()
        )
        return ClassOut(
            id=school_class.id,
            name=school_class.name,
            teacher=user_out(teacher) if teacher else None,
            pupils=[user_out(p) for p in pupils],
            created_at=school_class.created_at,
        )

    async def all(self) -> list[ClassOut]:
        classes = (await self.db.execute(select(SchoolClass).order_by(SchoolClass.name))).scalars().all()
        return [await self.out(c) for c in classes]

    async def get(self, class_id: int) -> SchoolClass:
        school_class = await self.db.get(SchoolClass, class_id)
        if school_class is None:
            raise not_found(f"class {class_id}")
        return school_class

    async def create(self, data: SchoolClassCreate) -> ClassOut:
        if (await self.db.execute(select(SchoolClass.id).where(SchoolClass.name == data.name))).first():
            raise AppError(409, ErrorCode.CONFLICT, f"a class called {data.name!r} exists", field="name")
        teacher = await self._teacher(data.teacher_id)
        school_class = SchoolClass(name=data.name, teacher_id=teacher.id if teacher else None)
        self.db.add(school_class)
        await self.db.flush()
        await audit.record(
            self.db,
            "class.created",
            target=data.name,
            details={"teacher": teacher.username if teacher else None},
            **self._who(),
        )
        await self.db.commit()
        return await self.out(school_class)

    async def update(self, class_id: int, data: SchoolClassUpdate) -> ClassOut:
        school_class = await self.get(class_id)
        details: dict[str, object] = {}
        if data.name is not None and data.name != school_class.name:
            if (await self.db.execute(select(SchoolClass.id).where(SchoolClass.name == data.name))).first():
                raise AppError(409, ErrorCode.CONFLICT, f"a class called {data.name!r} exists", field="name")
            details["name"] = [school_class.name, data.name]
            school_class.name = data.name
        if data.teacher_id is not None and data.teacher_id != school_class.teacher_id:
            teacher = await self._teacher(data.teacher_id)
            details["teacher"] = teacher.username if teacher else None
            school_class.teacher_id = data.teacher_id
        if details:
            await audit.record(
                self.db, "class.updated", target=school_class.name, details=details, **self._who()
            )
        await self.db.commit()
        return await self.out(school_class)

    async def enrol(self, class_id: int, pupil_ids: list[int]) -> ClassOut:
        school_class = await self.get(class_id)
        pupils = {
            u.id: u for u in (await self.db.execute(select(User).where(User.id.in_(pupil_ids)))).scalars()
        }
        for pupil_id in pupil_ids:
            pupil = pupils.get(pupil_id)
            if pupil is None or pupil.role != "pupil":
                raise bad_request(f"user {pupil_id} is not a pupil", "pupil_ids")
        enrolled = {
            p
            for (p,) in (
                await self.db.execute(select(Enrolment.pupil_id).where(Enrolment.class_id == class_id))
            ).all()
        }
        added = [pid for pid in dict.fromkeys(pupil_ids) if pid not in enrolled]
        for pupil_id in added:
            self.db.add(Enrolment(class_id=class_id, pupil_id=pupil_id))
        if added:
            await audit.record(
                self.db,
                "enrolment.created",
                target=school_class.name,
                details={"pupils": [pupils[p].username for p in added]},
                **self._who(),
            )
        await self.db.commit()
        return await self.out(school_class)

    async def unenrol(self, class_id: int, pupil_id: int) -> ClassOut:
        school_class = await self.get(class_id)
        result = await self.db.execute(
            delete(Enrolment).where(Enrolment.class_id == class_id, Enrolment.pupil_id == pupil_id)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise not_found(f"pupil {pupil_id} in class {class_id}")
        pupil = await self.db.get(User, pupil_id)
        await audit.record(
            self.db,
            "enrolment.deleted",
            target=school_class.name,
            details={"pupil": pupil.username if pupil else pupil_id},
            **self._who(),
        )
        await self.db.commit()
        return await self.out(school_class)


__all__ = ["ClassService"]
