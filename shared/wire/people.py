"""Users, classes (teaching groups) and enrolments, as the admin API and the teacher view see them."""

from datetime import datetime
from typing import Annotated

import msgspec

from shared.wire.auth import User
from shared.wire.common import NO_NUL, DisplayName, Id, NewPassword, Role, Username

ClassName = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=NO_NUL)]


class UserCreate(msgspec.Struct, kw_only=True):
    username: Username
    password: NewPassword
    role: Role = "pupil"
    display_name: DisplayName | None = None


class UserUpdate(msgspec.Struct, kw_only=True, omit_defaults=True):
    display_name: DisplayName | None = None
    role: Role | None = None
    disabled: bool | None = None


class PasswordReset(msgspec.Struct, kw_only=True):
    password: NewPassword


class UserPage(msgspec.Struct, kw_only=True):
    items: list[User]
    has_more: bool
    next_cursor: str | None


class ImportRowError(msgspec.Struct, kw_only=True):
    line: int
    field: str | None
    message: str


class ImportReport(msgspec.Struct, kw_only=True):
    """Result of a CSV import. With `dry_run` nothing is written: the admin sees the preview first."""

    dry_run: bool
    created: list[str]
    errors: list[ImportRowError]
    rows: int


class SchoolClassCreate(msgspec.Struct, kw_only=True):
    name: ClassName
    teacher_id: Id | None = None


class SchoolClassUpdate(msgspec.Struct, kw_only=True, omit_defaults=True):
    name: ClassName | None = None
    teacher_id: Id | None = None


class SchoolClass(msgspec.Struct, kw_only=True):
    id: int
    name: str
    teacher: User | None
    pupils: list[User]
    created_at: datetime


class Enrolment(msgspec.Struct, kw_only=True):
    pupil_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=1000)]


__all__ = [
    "ClassName",
    "Enrolment",
    "ImportReport",
    "ImportRowError",
    "PasswordReset",
    "SchoolClass",
    "SchoolClassCreate",
    "SchoolClassUpdate",
    "User",
    "UserCreate",
    "UserPage",
    "UserUpdate",
]
