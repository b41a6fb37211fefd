"""School settings: stored one row per name, defaults when never set, every change audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.base import utcnow
from server.db.models import SchoolSetting
from server.domain.auth.context import AuthContext
from server.lib import audit
from shared.wire.settings import CODE_EXECUTION_CHOICES, SchoolSettings, SchoolSettingsUpdate


class SchoolSettingsService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def current(self) -> SchoolSettings:
        rows = (await self.db.execute(select(SchoolSetting.key, SchoolSetting.value))).all()
        stored: dict[str, object] = {str(key): value for key, value in rows}
        settings = SchoolSettings()
        for choice in CODE_EXECUTION_CHOICES:
            if stored.get("code_execution") == choice:
                settings.code_execution = choice
        return settings

    async def update(self, change: SchoolSettingsUpdate, admin: AuthContext) -> SchoolSettings:
        before = await self.current()
        if change.code_execution != before.code_execution:
            row = await self.db.get(SchoolSetting, "code_execution")
            if row is None:
                row = SchoolSetting(key="code_execution")
                self.db.add(row)
            row.value = change.code_execution
            row.updated_at = utcnow()
            row.updated_by = admin.user_id
            await audit.record(
                self.db,
                "setting.changed",
                actor=admin.username,
                target="code_execution",
                client_ip=admin.client_ip,
                user_agent=admin.user_agent,
                details={"from": before.code_execution, "to": change.code_execution},
            )
        await self.db.commit()
        return await self.current()


__all__ = ["SchoolSettingsService"]
