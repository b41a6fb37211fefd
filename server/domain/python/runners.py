"""Where this server process runs pupils' code: runner services over HTTP (`POST16_RUNNER_URLS`, the
production layout: the API holds no Docker socket), or, without them, an in-process sandbox on the local
Docker engine (the single-process embedded demo)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sandbox import (
    CheckResult,
    CodeTestSpec,
    EngineStatus,
    RunRequest,
    RunResult,
    SandboxLimits,
    SandboxRunner,
)
from server.config import Settings
from server.domain.python.remote import RemoteRunners


class CodeRunner(Protocol):
    """What the API and the check worker need of a runner; `SandboxRunner` and `RemoteRunners` fit."""

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    def status(self) -> EngineStatus: ...
    async def run(self, request: RunRequest, *, owner: str) -> RunResult: ...
    async def check(
        self, code: str, tests: Sequence[CodeTestSpec], *, owner: str, max_score: float = 1.0
    ) -> CheckResult: ...


async def check_once(
    runner: CodeRunner,
    code: str,
    tests: Sequence[CodeTestSpec],
    *,
    owner: str,
    max_score: float,
    request_id: str,
    again: bool,
) -> CheckResult:
    """A check under a request id the caller keeps (the check worker: the check's own id). Runner
    services remember it, so a check sent `again` after the process that first sent it died is answered
    with the first run's result wherever it ran, instead of running twice. The in-process sandbox has
    no such memory, nor needs one: a process that died took its runs with it."""
    if isinstance(runner, RemoteRunners):
        return await runner.check(
            code, tests, owner=owner, max_score=max_score, request_id=request_id, ask_first=again
        )
    return await runner.check(code, tests, owner=owner, max_score=max_score)


def make_code_runner(settings: Settings) -> CodeRunner:
    """Remote runners when `POST16_RUNNER_URLS` names any, else the in-process sandbox."""
    if settings.runner_urls:
        return RemoteRunners(
            settings.runner_urls, settings.runner_secret, timeout_seconds=settings.runner_timeout_seconds
        )
    return SandboxRunner(SandboxLimits.from_env())


__all__ = ["CodeRunner", "check_once", "make_code_runner"]
