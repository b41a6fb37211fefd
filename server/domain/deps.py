"""Names of the injected dependencies, as handler parameter annotations (Litestar named DI).

`db: Db` is the request's database session, `settings: AppSettings` the typed settings, and
`auth`, `teacher` or `admin: Caller` the authenticated user (the parameter name picks the role check).
"""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.domain.auth.context import AuthContext

Db: TypeAlias = NamedDependency[AsyncSession]
AppSettings: TypeAlias = NamedDependency[Settings]
Caller: TypeAlias = NamedDependency[AuthContext]

__all__ = ["AppSettings", "Caller", "Db"]
