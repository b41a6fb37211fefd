"""`/api/sync`: push the outbox in batches, pull changes by cursor. The rules live in
server.domain.sync.services (docs/architecture.md, "Offline-first sync: the invariants")."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from server.domain.checks.worker import CheckWorker
from server.domain.deps import AppSettings, Caller, Db
from server.domain.sync.services import SyncService
from server.lib.ratelimit import OWN_RATE_LIMIT
from shared.wire.sync import PullResponse, PushRequest, PushResponse


async def provide_sync(db: Db, settings: AppSettings, state: State) -> SyncService:
    checks: CheckWorker | None = getattr(state, "checks", None)
    return SyncService(db, settings, state.lessons, state.direct, checks)


Sync: TypeAlias = NamedDependency[SyncService]


class SyncController(Controller):
    path = "/api/sync"
    tags = ["sync"]
    dependencies = {"sync": Provide(provide_sync)}

    @post("/push", status_code=HTTP_200_OK, opt=OWN_RATE_LIMIT)
    async def push(self, data: JSONBody[PushRequest], auth: Caller, sync: Sync) -> Response[PushResponse]:
        """Apply a batch of queued operations, each at most once, and answer every one of them.

        Each new save counts against `activity_save`, each new mark against `mark_activity` and each new
        check against `python_run`, as on their own endpoints (a replayed op id costs nothing).
        Operations over the budget, and those behind them on the same answer, are answered
        `rate_limited` with `retry_after` (and the response carries `Retry-After`): send them again, in
        order, after that. The request itself counts once against the `default` limit."""
        answer = await sync.push(auth, data)
        headers = {"Retry-After": str(answer.retry_after)} if answer.retry_after else {}
        return Response(answer.response, headers=headers)

    @get("/pull")
    async def pull(
        self,
        auth: Caller,
        sync: Sync,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 500,
    ) -> PullResponse:
        """Changes since `cursor` (omit it to start): answers from your other devices (teachers: their
        pupils' answers), marks and feedback, lesson updates. Follow `next_cursor` while `has_more`."""
        return await sync.pull(auth, cursor, limit)


__all__ = ["SyncController"]
