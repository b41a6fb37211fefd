"""`/api/python`: run Python in the sandbox, and check a code activity against its tests."""

from __future__ import annotations

from litestar import Controller, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from sandbox import CheckResult, RunRequest, RunResult
from server.domain.deps import AppSettings, Caller, Db
from server.domain.python.services import PythonService
from server.lib import ratelimit
from server.lib.ratelimit import OWN_RATE_LIMIT
from shared.wire.activity import CodeCheckRequest
from shared.wire.common import Slug


class PythonController(Controller):
    path = "/api/python"
    tags = ["python"]

    @post("/run", status_code=HTTP_200_OK, opt=OWN_RATE_LIMIT)
    async def run(
        self, data: JSONBody[RunRequest], auth: Caller, db: Db, settings: AppSettings, state: State
    ) -> RunResult:
        """Run a program in a fresh, locked-down container: no network, capped memory, CPU, processes,
        output and time. Status `unavailable` when the sandbox is down; 503 `sandbox_busy` when full."""
        await ratelimit.hit(db, settings.rate_limits, "python_run", str(auth.user_id), state.direct)
        await db.commit()
        python: PythonService = state.python
        return await python.run(data, auth)

    @post("/check/{lesson_id:str}/{activity_id:str}", status_code=HTTP_200_OK, opt=OWN_RATE_LIMIT)
    async def check(
        self,
        lesson_id: FromPath[Slug],
        activity_id: FromPath[Slug],
        data: JSONBody[CodeCheckRequest],
        auth: Caller,
        db: Db,
        settings: AppSettings,
        state: State,
    ) -> CheckResult:
        """Mark a program against the activity's tests; a pupil's score is saved as the automatic mark
        (a teacher's mark is never overwritten by it)."""
        await ratelimit.hit(db, settings.rate_limits, "python_run", str(auth.user_id), state.direct)
        await db.commit()
        python: PythonService = state.python
        return await python.check(db, state.lessons, auth, lesson_id, activity_id, data.code)


__all__ = ["PythonController"]
