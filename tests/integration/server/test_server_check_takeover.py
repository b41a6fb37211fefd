"""A queued check taken over by a second worker (its first claim looked stale) is marked once: the
first worker, finishing late, sees the claim is no longer its own and writes nothing. On PostgreSQL,
with scripted runners (the real sandbox is in test_server_queued_checks.py and the trust cluster test).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from server_helpers import login, now_iso, push, save_op, sql

from sandbox import CheckResult, CodeTestSpec

pytestmark = pytest.mark.postgres

LESSON, ACTIVITY = "functions", "clamp"
MODEL = "def clamp(value, low, high):\n    return max(low, min(value, high))\n"


class ScriptedRunner:
    """A check runner that marks everything right, after `release` is set."""

    def __init__(self, *, wait: bool) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.calls = 0
        if not wait:
            self.release.set()

    async def check(
        self, code: str, tests: Sequence[CodeTestSpec], *, owner: str, max_score: float = 1.0
    ) -> CheckResult:
        self.calls += 1
        self.started.set()
        await self.release.wait()
        return CheckResult(score=max_score, max_score=max_score, tests=[], run_status="success")


async def test_a_check_taken_over_from_a_slow_worker_is_marked_once(
    client: Any, settings: Any, users: Any
) -> None:
    from server.db.engine import make_async_engine, make_sessionmaker
    from server.domain.checks.worker import CheckWorker
    from server.domain.lessons.services import LessonLibrary

    users.add("ada", "pupil")
    token = login(client, "ada")
    check = {
        "op_id": "5d1f3c8e-0b7a-4c2e-9f6d-1a2b3c4d5e6f",
        "kind": "code.check",
        "lesson_id": LESSON,
        "activity_id": ACTIVITY,
        "payload": {"code": MODEL},
        "client_time": now_iso(),
    }
    answered = push(client, token, [save_op({"code": MODEL}, lesson=LESSON, activity=ACTIVITY), check])
    assert [result["outcome"] for result in answered.json()["results"]] == ["applied", "applied"]

    library = LessonLibrary(settings.lessons_dir)
    library.reload(force=True)
    engine = make_async_engine(settings)
    sessions = make_sessionmaker(engine)
    slow, quick = ScriptedRunner(wait=True), ScriptedRunner(wait=False)
    first = CheckWorker(sessions, lambda: library, slow)  # type: ignore[arg-type]
    second = CheckWorker(sessions, lambda: library, quick, stale_after=timedelta(0))  # type: ignore[arg-type]
    try:
        late = asyncio.ensure_future(first.run_once())
        await asyncio.wait_for(slow.started.wait(), 30)
        assert await second.run_once() == 1  # took the claim over and marked it
        slow.release.set()
        assert await asyncio.wait_for(late, 30) == 0  # finished late: no longer its claim
    finally:
        await engine.dispose()

    assert (slow.calls, quick.calls) == (1, 1)
    assert sql(settings.database_url, "SELECT status, attempts FROM code_checks") == [("done", 2)]
    marks = sql(
        settings.database_url,
        "SELECT count(*) FROM audit_log WHERE action = 'mark.changed' AND actor = 'auto-marker'",
    )
    assert marks == [(1,)]
