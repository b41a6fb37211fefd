"""`/api/admin`: people, classes, sessions, audit log, metrics summary and lesson status. Admins only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from server.domain.admin import audit_log, sessions
from server.domain.admin.classes import ClassService
from server.domain.admin.summary import summary
from server.domain.admin.users import UserService, user_out
from server.domain.deps import ID_MAX, Caller, Db, PathId
from server.domain.lessons.services import LessonLibrary
from server.lib.errors import bad_request
from shared.wire.admin import AuditEntry, AuditPage, MetricsSummary, SessionInfo
from shared.wire.auth import User
from shared.wire.common import NO_NUL, AwareDatetime
from shared.wire.people import (
    Enrolment,
    ImportReport,
    PasswordReset,
    SchoolClass,
    SchoolClassCreate,
    SchoolClassUpdate,
    UserCreate,
    UserPage,
    UserUpdate,
)

MAX_CSV_BYTES = 2 * 1024 * 1024


class AdminController(Controller):
    path = "/api/admin"
    tags = ["admin"]

    # --- people -----------------------------------------------------------------------------------
    @get("/users")
    async def users(
        self,
        admin: Caller,
        db: Db,
        q: Annotated[str | None, QueryParameter(max_length=64, pattern=NO_NUL)] = None,
        role: FromQuery[Literal["pupil", "teacher", "admin"] | None] = None,
        cursor: Annotated[int | None, QueryParameter(ge=0, le=ID_MAX)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> UserPage:
        """Search people by username or name, optionally by role; page with `next_cursor`."""
        return await UserService(db, admin).search(q, role, cursor, limit)

    @post("/users", status_code=HTTP_201_CREATED)
    async def create_user(self, data: JSONBody[UserCreate], admin: Caller, db: Db) -> User:
        """Add a person. 409 when the username is taken."""
        return user_out(await UserService(db, admin).create(data))

    @get("/users/{user_id:int}")
    async def user(self, user_id: PathId, admin: Caller, db: Db) -> User:
        return user_out(await UserService(db, admin).get(user_id))

    @patch("/users/{user_id:int}")
    async def update_user(self, user_id: PathId, data: JSONBody[UserUpdate], admin: Caller, db: Db) -> User:
        """Change name, role or disabled; a role change or disabling ends the user's sessions."""
        return user_out(await UserService(db, admin).update(user_id, data))

    @post("/users/{user_id:int}/password", status_code=HTTP_204_NO_CONTENT)
    async def reset_password(
        self, user_id: PathId, data: JSONBody[PasswordReset], admin: Caller, db: Db
    ) -> None:
        """Set a new password; the user's sessions end."""
        await UserService(db, admin).reset_password(user_id, data.password)

    @post("/users/import", status_code=HTTP_200_OK)
    async def import_users(
        self, request: Request[Any, Any, Any], admin: Caller, db: Db, dry_run: FromQuery[bool] = False
    ) -> ImportReport:
        """Import people from a CSV body (`text/csv`): username, display_name, password[, role][, class].
        Bad rows are reported by line and skipped; `dry_run=true` previews without creating anyone."""
        body = await request.body()
        if len(body) > MAX_CSV_BYTES:
            raise bad_request(f"CSV is larger than {MAX_CSV_BYTES // 1024} KiB", "csv")
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise bad_request("CSV must be UTF-8 text", "csv") from None
        return await UserService(db, admin).import_csv(text, dry_run)

    @get("/users/export", media_type="text/csv")
    async def export_users(self, admin: Caller, db: Db) -> Response[str]:
        """Everyone as CSV (no passwords)."""
        return Response(
            await UserService(db, admin).export_csv(),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="post16-users.csv"'},
        )

    # --- classes ----------------------------------------------------------------------------------
    @get("/classes")
    async def classes(self, admin: Caller, db: Db) -> list[SchoolClass]:
        return await ClassService(db, admin).all()

    @post("/classes", status_code=HTTP_201_CREATED)
    async def create_class(self, data: JSONBody[SchoolClassCreate], admin: Caller, db: Db) -> SchoolClass:
        return await ClassService(db, admin).create(data)

    @patch("/classes/{class_id:int}")
    async def update_class(
        self, class_id: PathId, data: JSONBody[SchoolClassUpdate], admin: Caller, db: Db
    ) -> SchoolClass:
        return await ClassService(db, admin).update(class_id, data)

    @post("/classes/{class_id:int}/pupils", status_code=HTTP_200_OK)
    async def enrol(self, class_id: PathId, data: JSONBody[Enrolment], admin: Caller, db: Db) -> SchoolClass:
        """Enrol pupils (already enrolled ones are left as they are)."""
        return await ClassService(db, admin).enrol(class_id, data.pupil_ids)

    @delete("/classes/{class_id:int}/pupils/{pupil_id:int}", status_code=HTTP_200_OK)
    async def unenrol(self, class_id: PathId, pupil_id: PathId, admin: Caller, db: Db) -> SchoolClass:
        return await ClassService(db, admin).unenrol(class_id, pupil_id)

    # --- sessions ---------------------------------------------------------------------------------
    @get("/sessions")
    async def sessions(
        self,
        admin: Caller,
        db: Db,
        user_id: Annotated[int | None, QueryParameter(ge=1)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 200,
    ) -> list[SessionInfo]:
        """Active sessions, most recently used first."""
        return await sessions.active(db, user_id, limit)

    @delete("/sessions/{session_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def revoke_session(self, session_id: PathId, admin: Caller, db: Db) -> None:
        """End one session now."""
        await sessions.revoke(db, admin, session_id)

    @post("/users/{user_id:int}/sessions/revoke", status_code=HTTP_200_OK)
    async def revoke_user_sessions(self, user_id: PathId, admin: Caller, db: Db) -> dict[str, int]:
        """End every session of a user."""
        return {"revoked": await sessions.revoke_all(db, admin, user_id)}

    # --- audit ------------------------------------------------------------------------------------
    @get("/audit")
    async def audit(
        self,
        admin: Caller,
        db: Db,
        actor: Annotated[str | None, QueryParameter(max_length=64, pattern=NO_NUL)] = None,
        target: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)] = None,
        action: Annotated[str | None, QueryParameter(max_length=64, pattern=NO_NUL)] = None,
        since: Annotated[str | None, QueryParameter(max_length=64, pattern=NO_NUL)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=100, pattern=NO_NUL)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> AuditPage:
        """The audit trail, newest first. Filter by actor, target, action (`user.*` allowed), since."""
        return await audit_log.page(
            db,
            actor=actor,
            target=target,
            action=action,
            since=_time("since", since),
            cursor=cursor,
            limit=limit,
        )

    @get("/audit/{entry_id:int}")
    async def audit_entry(self, entry_id: PathId, admin: Caller, db: Db) -> AuditEntry:
        return await audit_log.one(db, entry_id)

    # --- health of the service ---------------------------------------------------------------------
    @get("/metrics")
    async def metrics(self, admin: Caller, db: Db, state: State) -> MetricsSummary:
        """Headline figures for the dashboard."""
        return await summary(db, state.lessons, state.python)

    @get("/lessons")
    async def lessons(self, admin: Caller, state: State) -> dict[str, Any]:
        """The loaded lesson manifest, and the errors of the last refused reload."""
        library: LessonLibrary = state.lessons
        status = library.status
        return {
            "directory": status.directory,
            "loaded_version": status.loaded_version,
            "loaded_at": status.loaded_at,
            "lesson_count": status.lesson_count,
            "last_error_at": status.last_error_at,
            "errors": status.errors,
        }

    @post("/lessons/reload", status_code=HTTP_200_OK)
    async def reload_lessons(self, admin: Caller, db: Db, state: State) -> dict[str, Any]:
        """Reload the lessons now; a broken manifest is refused and the last good one stays."""
        library: LessonLibrary = state.lessons
        changed = library.reload(force=True)
        announced = await library.announce(db)
        return {
            "changed": changed,
            "announced": announced,
            "errors": library.status.errors,
            "loaded_version": library.status.loaded_version,
        }


def _time(field: str, raw: str | None) -> datetime | None:
    """A time in a query: RFC 3339 text with a time zone, never a bare number (taken as Unix time by a
    lax conversion)."""
    if raw is None:
        return None
    try:
        value = msgspec.json.decode(msgspec.json.encode(raw), type=AwareDatetime, strict=True)
    except msgspec.ValidationError as error:
        raise bad_request(
            f"{field}: give a time with a time zone, e.g. 2026-09-01T08:00:00Z", field
        ) from error
    return value


__all__ = ["AdminController"]
