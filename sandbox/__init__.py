"""Post16 Lessons' sandbox: untrusted Python in hardened, throwaway Docker containers, kept warm.

    runner = SandboxRunner(SandboxLimits.from_env())
    await runner.start()
    result = await runner.run(RunRequest(code="print(1)"), owner="pupil-42")
    marks = await runner.check(code, activity.tests, owner="pupil-42")
    await runner.close()

Exceptions (everything else, Docker being down included, comes back as a `RunResult`):

    SandboxError
    ├── SandboxBusy          the queue is full: answer "busy, retry in `retry_after_seconds`"
    └── SandboxInputError    the request breaks a cap (also a ValueError); the message names the field
"""

from sandbox._errors import SandboxBusy, SandboxError, SandboxInputError
from sandbox._limits import SandboxLimits, engines_from_env
from sandbox._marking import CodeTestSpec
from sandbox._runner import EngineInfo, EngineStatus, SandboxRunner
from shared.wire.run import CheckResult, RunFile, RunRequest, RunResult, RunStatus, TestOutcome

__all__ = [
    "CheckResult",
    "CodeTestSpec",
    "EngineInfo",
    "EngineStatus",
    "RunFile",
    "RunRequest",
    "RunResult",
    "RunStatus",
    "SandboxBusy",
    "SandboxError",
    "SandboxInputError",
    "SandboxLimits",
    "SandboxRunner",
    "TestOutcome",
    "engines_from_env",
]
