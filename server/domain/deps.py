"""Names of the injected dependencies, as handler parameter annotations (Litestar named DI).

`db: Db` is the request's database session, `settings: AppSettings` the typed settings, and
`auth`, `teacher` or `admin: Caller` the authenticated user (the parameter name picks the role check).
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar.di import NamedDependency
from litestar.params import PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.domain.auth.context import AuthContext

Db: TypeAlias = NamedDependency[AsyncSession]
AppSettings: TypeAlias = NamedDependency[Settings]
Caller: TypeAlias = NamedDependency[AuthContext]
# A database id in a path: bounded like shared.wire.common.Id, so an out-of-range number is a 400,
# not a PostgreSQL "integer out of range" error.
ID_MAX = 2**62
PathId: TypeAlias = Annotated[int, PathParameter(ge=1, le=ID_MAX)]

__all__ = ["ID_MAX", "AppSettings", "Caller", "Db", "PathId"]
