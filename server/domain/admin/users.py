"""People: create, edit, disable, reset passwords, import pupils from CSV, export.

Every change is audited; disabling a user or resetting a password ends their sessions at once.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import msgspec
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.models import Enrolment, SchoolClass, User, UserSession
from server.domain.auth.context import AuthContext
from server.lib import audit
from server.lib.csvsafe import csv_safe
from server.lib.errors import AppError, bad_request, not_found
from server.lib.security import hash_password_async
from shared.errors import ErrorCode
from shared.wire.auth import User as UserOut
from shared.wire.people import ImportReport, ImportRowError, UserCreate, UserPage, UserUpdate

CSV_COLUMNS = ("username", "display_name", "password", "role", "class")
MAX_IMPORT_ROWS = 5000
# What a CSV cell must look like, in the words an admin fixing the spreadsheet needs.
CSV_FIELD_RULES = {
    "username": (
        "Usernames are 1–64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit."
    ),
    "password": "The password needs at least 8 characters.",
    "role": "The role must be pupil, teacher or admin.",
    "display_name": "The name must be 1–120 characters.",
}


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,  # type: ignore[arg-type]
        disabled=user.disabled,
    )


def _audit_kwargs(auth: AuthContext) -> dict[str, Any]:
    return {"actor": auth.username, "client_ip": auth.client_ip, "user_agent": auth.user_agent}


async def revoke_sessions(db: AsyncSession, user_id: int, reason: str) -> int:
    result = await db.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


class UserService:
    def __init__(self, db: AsyncSession, auth: AuthContext) -> None:
        self.db = db
        self.auth = auth

    async def search(self, query: str | None, role: str | None, cursor: int | None, limit: int) -> UserPage:
        statement = select(User).order_by(User.id).limit(limit + 1)
        if query:
            pattern = f"%{query.lower()}%"
            statement = statement.where(
                or_(User.username.like(pattern), func.lower(User.display_name).like(pattern))
            )
        if role:
            statement = statement.where(User.role == role)
        if cursor:
            statement = statement.where(User.id > cursor)
        rows = (await self.db.execute(statement)).scalars().all()
        has_more = len(rows) > limit
        rows = rows[:limit]
        return UserPage(
            items=[user_out(u) for u in rows],
            has_more=has_more,
            next_cursor=str(rows[-1].id) if has_more else None,
        )

    async def get(self, user_id: int) -> User:
        user = await self.db.get(User, user_id)
        if user is None:
            raise not_found(f"user {user_id}")
        return user

    async def create(self, data: UserCreate, *, commit: bool = True) -> User:
        name = data.username.lower()
        if (await self.db.execute(select(User.id).where(User.username == name))).first():
            raise AppError(409, ErrorCode.CONFLICT, f"username {name!r} is taken", field="username")
        user = User(
            username=name,
            display_name=data.display_name or data.username,
            role=data.role,
            password_hash=await hash_password_async(data.password),
            disabled=False,
        )
        self.db.add(user)
        await self.db.flush()
        await audit.record(
            self.db, "user.created", target=name, details={"role": data.role}, **_audit_kwargs(self.auth)
        )
        if commit:
            await self.db.commit()
        return user

    async def update(self, user_id: int, data: UserUpdate) -> User:
        user = await self.get(user_id)
        changes: dict[str, Any] = {}
        if data.display_name is not None and data.display_name != user.display_name:
            changes["display_name"] = [user.display_name, data.display_name]
            user.display_name = data.display_name
        if data.role is not None and data.role != user.role:
            if user.id == self.auth.user_id:
                raise bad_request("you cannot change your own role", "role")
            changes["role"] = [user.role, data.role]
            user.role = data.role
            await revoke_sessions(self.db, user.id, "role_changed")
            await audit.record(
                self.db,
                "user.role_changed",
                target=user.username,
                details={"from": changes["role"][0], "to": data.role},
                **_audit_kwargs(self.auth),
            )
        if data.disabled is not None and data.disabled != user.disabled:
            if user.id == self.auth.user_id:
                raise bad_request("you cannot disable yourself", "disabled")
            user.disabled = data.disabled
            changes["disabled"] = data.disabled
            if data.disabled:
                await revoke_sessions(self.db, user.id, "disabled")
            await audit.record(
                self.db,
                "user.disabled" if data.disabled else "user.enabled",
                target=user.username,
                **_audit_kwargs(self.auth),
            )
        if "display_name" in changes:
            await audit.record(
                self.db,
                "user.updated",
                target=user.username,
                details={"display_name": changes["display_name"]},
                **_audit_kwargs(self.auth),
            )
        await self.db.commit()
        return user

    async def reset_password(self, user_id: int, password: str) -> None:
        user = await self.get(user_id)
        user.password_hash = await hash_password_async(password)
        user.password_changed_at = utcnow()
        ended = await revoke_sessions(self.db, user.id, "password_reset")
        await audit.record(
            self.db,
            "user.password_reset",
            target=user.username,
            details={"sessions_ended": ended},
            **_audit_kwargs(self.auth),
        )
        await self.db.commit()

    async def import_csv(self, text: str, dry_run: bool) -> ImportReport:
        """Pupils (or staff with a `role` column) from CSV: username, display_name, password[, role][, class].

        Each bad row is reported with its line and field and skipped; good rows are created (unless
        `dry_run`, which only reports)."""
        reader = csv.DictReader(io.StringIO(text))
        header = [name.strip().lower() for name in (reader.fieldnames or [])]
        missing = [c for c in ("username", "password") if c not in header]
        if missing:
            raise bad_request(
                f"CSV header needs the columns {', '.join(missing)} (has: {', '.join(header) or 'none'})",
                "csv",
            )
        unknown = [c for c in header if c not in CSV_COLUMNS]
        if unknown:
            raise bad_request(
                f"CSV has unknown columns {', '.join(unknown)}; allowed: {', '.join(CSV_COLUMNS)}", "csv"
            )
        reader.fieldnames = header
        existing = {name for (name,) in (await self.db.execute(select(User.username))).all()}
        classes = {c.name: c for c in (await self.db.execute(select(SchoolClass))).scalars()}
        errors: list[ImportRowError] = []
        created: list[str] = []
        seen: set[str] = set()
        rows = 0
        for row in reader:
            rows += 1
            line = reader.line_num
            if rows > MAX_IMPORT_ROWS:
                errors.append(
                    ImportRowError(line=line, field=None, message=f"more than {MAX_IMPORT_ROWS} rows")
                )
                break
            if None in row:
                errors.append(ImportRowError(line=line, field=None, message="more values than columns"))
                continue
            values = {key: (value or "").strip() for key, value in row.items()}
            payload = {
                "username": values.get("username", ""),
                "password": values.get("password", ""),
                "role": values.get("role") or "pupil",
                "display_name": values.get("display_name") or None,
            }
            try:
                data = msgspec.convert(payload, UserCreate)
            except msgspec.ValidationError as error:
                message = str(error)
                field = message.split("$.", 1)[1].split("`", 1)[0] if "$." in message else None
                errors.append(
                    ImportRowError(line=line, field=field, message=CSV_FIELD_RULES.get(field or "", message))
                )
                continue
            name = data.username.lower()
            if name in existing or name in seen:
                errors.append(
                    ImportRowError(line=line, field="username", message=f"username {name!r} is taken")
                )
                continue
            class_name = values.get("class") or ""
            if class_name and class_name not in classes:
                errors.append(
                    ImportRowError(line=line, field="class", message=f"no class called {class_name!r}")
                )
                continue
            seen.add(name)
            created.append(name)
            if not dry_run:
                user = await self.create(data, commit=False)
                if class_name:
                    self.db.add(Enrolment(class_id=classes[class_name].id, pupil_id=user.id))
        if not dry_run:
            await audit.record(
                self.db,
                "user.imported",
                target=None,
                details={"created": len(created), "errors": len(errors), "rows": rows},
                **_audit_kwargs(self.auth),
            )
            try:
                await self.db.commit()
            except IntegrityError:
                await self.db.rollback()
                raise AppError(
                    409, ErrorCode.CONFLICT, "someone else changed users meanwhile; run the import again"
                ) from None
        return ImportReport(dry_run=dry_run, created=created, errors=errors, rows=rows)

    async def export_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "username", "display_name", "role", "disabled", "classes"])
        users = (await self.db.execute(select(User).order_by(User.id))).scalars().all()
        memberships: dict[int, list[str]] = {}
        for pupil_id, name in (
            await self.db.execute(
                select(Enrolment.pupil_id, SchoolClass.name).join(
                    SchoolClass, SchoolClass.id == Enrolment.class_id
                )
            )
        ).all():
            memberships.setdefault(pupil_id, []).append(name)
        for user in users:
            writer.writerow(
                [
                    user.id,
                    user.username,
                    csv_safe(user.display_name),
                    user.role,
                    "yes" if user.disabled else "no",
                    csv_safe("; ".join(sorted(memberships.get(user.id, [])))),
                ]
            )
        return out.getvalue()


__all__ = ["CSV_COLUMNS", "UserService", "revoke_sessions", "user_out"]
