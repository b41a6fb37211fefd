"""`/api/settings` (what every app needs to know about the school) and `/api/admin/settings` (admins)."""

from __future__ import annotations

from litestar import Controller, get, put
from litestar.params import JSONBody

from server.domain.deps import Caller, Db
from server.domain.settings.services import SchoolSettingsService
from shared.wire.settings import SchoolSettings, SchoolSettingsUpdate


class SchoolSettingsController(Controller):
    path = "/api"
    tags = ["settings"]

    @get("/settings")
    async def settings(self, auth: Caller, db: Db) -> SchoolSettings:
        """The school's choices every app obeys, e.g. `code_execution` ("laptop_first" or "server_only")."""
        return await SchoolSettingsService(db).current()

    @put("/admin/settings")
    async def update(self, data: JSONBody[SchoolSettingsUpdate], admin: Caller, db: Db) -> SchoolSettings:
        """Change the school's choices (audited as `setting.changed`). Admins only."""
        return await SchoolSettingsService(db).update(data, admin)


__all__ = ["SchoolSettingsController"]
