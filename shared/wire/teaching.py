"""What a teacher sees of a class: its pupils' progress across the lessons' activities."""

from datetime import datetime

import msgspec

from shared.wire.auth import User
from shared.wire.marks import Mark


class ProgressCell(msgspec.Struct, kw_only=True):
    pupil_id: int
    lesson_id: str
    activity_id: str
    revision: int
    updated_at: datetime
    mark: Mark | None = None


class ClassProgress(msgspec.Struct, kw_only=True):
    class_id: int
    name: str
    pupils: list[User]
    cells: list[ProgressCell]


class TeacherClass(msgspec.Struct, kw_only=True):
    id: int
    name: str
    pupil_count: int


__all__ = ["ClassProgress", "ProgressCell", "TeacherClass"]
