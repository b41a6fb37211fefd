"""The yardstick for bench/server_bench.py: the least a save endpoint can do on this stack.

The same route as the project's single save (`POST /api/activity/state/{lesson}/{activity}`, bearer
token, JSON body), served the same way (uvicorn, same worker count, Litestar + msgspec, psycopg's
connection pool), doing only what no save can skip: one token lookup and one upsert of the current
answer. No revision history, no sync ledger, no rate limit, no checks of the answer, no metrics or audit.
The project's save rate divided by this one's is the overhead of everything the project does on top.

    POST16_DATABASE_URL=... python -m uvicorn bench.bare_endpoint:app --workers N --port P
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Litestar, Request, post
from litestar.exceptions import NotAuthorizedException
from psycopg_pool import AsyncConnectionPool

LOOKUP = """SELECT user_id FROM user_sessions
            WHERE token_hash = %s AND revoked_at IS NULL AND expires_at > now()"""
UPSERT = """INSERT INTO activity_states AS s (pupil_id, lesson_id, activity_id, state, revision, revision_count,
              client_time, op_id, received_at)
            VALUES (%s, %s, %s, %s, 1, 1, %s, %s, now())
            ON CONFLICT (pupil_id, lesson_id, activity_id) DO UPDATE SET state = excluded.state,
              revision_count = s.revision_count + 1, revision = s.revision_count + 1,
              client_time = excluded.client_time, op_id = excluded.op_id, received_at = excluded.received_at
            RETURNING revision"""


class Save(msgspec.Struct):
    state: dict[str, Any]
    client_time: datetime
    op_id: str


def _url() -> str:
    return os.environ["POST16_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)


@asynccontextmanager
async def _pool(app: Litestar) -> AsyncIterator[None]:
    pool = AsyncConnectionPool(_url(), min_size=4, max_size=int(os.environ.get("POOL", "20")), open=False)
    await pool.open()
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


@post("/api/activity/state/{lesson_id:str}/{activity_id:str}", status_code=200)
async def save(
    request: Request[Any, Any, Any], lesson_id: str, activity_id: str, data: Save
) -> dict[str, Any]:
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    async with request.app.state.pool.connection() as connection:
        row = await (await connection.execute(LOOKUP, (token_hash,))).fetchone()
        if row is None:
            raise NotAuthorizedException("unknown token")
        client_time = data.client_time.astimezone(UTC)
        answer = await (
            await connection.execute(
                UPSERT,
                (
                    row[0],
                    lesson_id,
                    activity_id,
                    msgspec.json.encode(data.state).decode(),
                    client_time,
                    data.op_id,
                ),
            )
        ).fetchone()
    return {"lesson_id": lesson_id, "activity_id": activity_id, "revision": answer[0] if answer else None}


app = Litestar(route_handlers=[save], lifespan=[_pool], debug=False)
