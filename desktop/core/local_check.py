"""A provisional mark on the laptop: the visible tests of a code activity, run and judged here.

Each visible test runs the pupil's code with the marking shim (shared/lessons/probe_shim.py) in a fresh
local process (local_runner.py) and is judged by the same judge the server uses
(shared.lessons.checks). It is provisional: the pupil's own laptop account runs it, hidden tests never
reach the laptop, and the mark that counts comes from the server's sandbox when the check syncs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from desktop.core.local_runner import LocalLimits, run_program
from shared.lessons import PROBE_SHIM_SOURCE, CodeActivity, CodeTest, TestEvidence, compile_checks, judge_test
from shared.lessons.checks import CheckCompileError

__all__ = ["LocalCheck", "LocalTestOutcome", "check_locally"]

REPORT_FILE = "report.jsonl"
CHECK_LIMITS = LocalLimits(cpu_seconds=5, wall_seconds=10, output_bytes=200_000)

_WRAPPER = """\
import os, sys
_job = os.open("job.json", os.O_RDONLY)
_report = os.open({report!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
sys.argv = ["shim", str(_job), str(_report)]
del _job, _report
exec(compile({shim!r}, "<shim>", "exec"), {{"__name__": "__main__", "__builtins__": __builtins__}})
"""


@dataclass(frozen=True)
class LocalTestOutcome:
    name: str
    passed: bool
    message: str


@dataclass(frozen=True)
class LocalCheck:
    """`outcomes` of the visible tests; `hidden` tests only the server can run."""

    outcomes: list[LocalTestOutcome]
    hidden: int

    @property
    def passed(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.passed)

    def summary(self) -> str:
        text = f"{self.passed} of {len(self.outcomes)} visible tests pass — provisional"
        if self.hidden:
            text += f"; {self.hidden} hidden test{'s run' if self.hidden != 1 else ' runs'} on the server"
        return text


def _visible(test: CodeTest) -> bool:
    return not test.hidden and (test.assert_code is not None or test.expected_stdout is not None)


def check_locally(code: str, activity: CodeActivity, limits: LocalLimits = CHECK_LIMITS) -> LocalCheck:
    """Run the activity's visible tests against `code` on this laptop and judge them here."""
    outcomes = []
    for test in activity.tests:
        if not _visible(test):
            continue
        try:
            checks = compile_checks(test.assert_code)
        except CheckCompileError as error:
            outcomes.append(LocalTestOutcome(test.name, False, f"this test cannot run here: {error}"))
            continue
        job = json.dumps({"code": code, "steps": checks.steps_for_shim()})
        program = _WRAPPER.format(report=REPORT_FILE, shim=PROBE_SHIM_SOURCE)
        result = run_program(
            program, test.stdin, limits=limits, collect=(REPORT_FILE,), files={"job.json": job}
        )
        status = result.status if result.status != "stopped" else "error"
        evidence = TestEvidence(
            status=status,
            stdout=result.stdout,
            stderr=result.stderr,
            report=result.files.get(REPORT_FILE, b""),
            exit_code=result.exit_code,
            timeout_seconds=limits.wall_seconds,
        )
        verdict = judge_test(checks, test.expected_stdout, evidence)
        outcomes.append(LocalTestOutcome(test.name, verdict.passed, verdict.message))
    hidden = sum(1 for test in activity.tests if not _visible(test))
    return LocalCheck(outcomes=outcomes, hidden=hidden)
