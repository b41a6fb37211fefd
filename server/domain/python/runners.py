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


def make_code_runner(settings: Settings) -> CodeRunner:
    """Remote runners when `POST16_RUNNER_URLS` names any, else the in-process sandbox."""
    if settings.runner_urls:
        return RemoteRunners(
            settings.runner_urls, settings.runner_secret, timeout_seconds=settings.runner_timeout_seconds
        )
    return SandboxRunner(SandboxLimits.from_env())


__all__ = ["CodeRunner", "make_code_runner"]
