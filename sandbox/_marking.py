"""Auto-marking: a code activity's tests become one check job; the evidence that comes back is judged here.

The container runs each test's probe steps next to the pupil's code and returns plain evidence (output,
exit status, the shim's report). Expected values and expected output never go into the job: the judge
(`shared.lessons.checks.judge_test`) runs in this process, which pupil code cannot reach.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec

from sandbox._errors import SandboxInputError
from shared.lessons.checks import CheckCompileError, CompiledChecks, TestEvidence, compile_checks, judge_test
from shared.wire.run import MAX_CODE_CHARS, MAX_STDIN_CHARS, CheckResult, RunResult, TestOutcome

MAX_TESTS = 50
MAX_TEST_FIELD_CHARS = 64 * 1024
SAMPLE_CHARS = 1000
TEST_STDOUT_LIMIT = 64 * 1024
TEST_REPORT_LIMIT = 256 * 1024
_EVIDENCE_STATUSES = frozenset({"success", "error", "timeout", "memory", "output_limit"})


class CodeTestSpec(Protocol):
    """A test of a code activity, as the lesson format defines it (`shared.lessons.model.CodeTest`).
    An optional `hidden` attribute, when true, keeps the test's data out of the reported outcome."""

    @property
    def name(self) -> str: ...
    @property
    def stdin(self) -> str: ...
    @property
    def expected_stdout(self) -> str | None: ...
    @property
    def assert_code(self) -> str | None: ...


@dataclass(frozen=True)
class MarkingTest:
    """One test ready to run: what goes into the container (`stdin`, `checks.steps`) and what stays
    here (`expected_stdout`, `checks.expectations`)."""

    name: str
    stdin: str
    expected_stdout: str | None
    checks: CompiledChecks
    hidden: bool = False


class _TestEvidence(msgspec.Struct):
    status: str
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    report: str = ""
    duration_ms: float = 0.0


class _CheckEvidence(msgspec.Struct):
    status: str
    tests: list[_TestEvidence] = []
    message: str = ""


def build_test_jobs(code: str, tests: Sequence[CodeTestSpec]) -> list[MarkingTest]:
    """Checks sizes and compiles each test's checks; bad input raises `SandboxInputError` naming it."""
    if len(code) > MAX_CODE_CHARS:
        raise SandboxInputError(f"`code` is longer than {MAX_CODE_CHARS} characters")
    if len(tests) > MAX_TESTS:
        raise SandboxInputError(f"`tests` holds {len(tests)} tests; at most {MAX_TESTS} are allowed")
    jobs = []
    for index, test in enumerate(tests):
        for field, limit in (
            ("name", MAX_TEST_FIELD_CHARS),
            ("stdin", MAX_STDIN_CHARS),
            ("expected_stdout", MAX_TEST_FIELD_CHARS),
            ("assert_code", MAX_TEST_FIELD_CHARS),
        ):
            value = getattr(test, field)
            if value is not None and len(value) > limit:
                raise SandboxInputError(f"`tests[{index}].{field}` is longer than {limit} characters")
        if test.expected_stdout is None and not test.assert_code:
            raise SandboxInputError(
                f"`tests[{index}]` ({test.name!r}) has neither expected_stdout nor assert_code"
            )
        try:
            checks = compile_checks(test.assert_code)
        except CheckCompileError as error:
            raise SandboxInputError(f"`tests[{index}].assert_code` ({test.name!r}): {error}") from error
        jobs.append(
            MarkingTest(
                name=str(test.name),
                stdin=test.stdin or "",
                expected_stdout=test.expected_stdout,
                checks=checks,
                hidden=bool(getattr(test, "hidden", False)),
            )
        )
    return jobs


def check_job(code: str, jobs: list[MarkingTest], per_test_timeout: float, shim: str) -> dict[str, object]:
    """The job the container receives: no expected value, no expected output, no verdict."""
    return {
        "mode": "check",
        "shim": shim,
        "code": code,
        "tests": [{"stdin": job.stdin, "steps": job.checks.steps_for_shim()} for job in jobs],
        "per_test_timeout": per_test_timeout,
        "stdout_limit": TEST_STDOUT_LIMIT,
        "report_limit": TEST_REPORT_LIMIT,
    }


def max_result_bytes(test_count: int) -> int:
    """The longest result line a check of `test_count` tests can honestly produce (base64 + JSON)."""
    per_test = (TEST_STDOUT_LIMIT + 4096 + TEST_REPORT_LIMIT) * 4 // 3 + 512
    return per_test * test_count + 64 * 1024


def judge_check(
    jobs: list[MarkingTest], line: bytes, per_test_timeout: float, max_score: float
) -> CheckResult:
    """Judge the container's evidence line; anything malformed scores 0 with a reason, never a pass."""
    try:
        evidence = msgspec.json.decode(line, type=_CheckEvidence)
    except msgspec.DecodeError:
        return failed_check(jobs, RunResult(status="error", message="unreadable evidence"), max_score)
    if evidence.status != "success" or len(evidence.tests) != len(jobs):
        reason = evidence.message or "the tests could not be run"
        return failed_check(jobs, RunResult(status="error", message=reason), max_score)
    outcomes = []
    for job, raw in zip(jobs, evidence.tests, strict=True):
        try:
            stdout = base64.b64decode(raw.stdout, validate=True)
            stderr = base64.b64decode(raw.stderr, validate=True)
            report = base64.b64decode(raw.report, validate=True)
        except (binascii.Error, ValueError):
            outcomes.append(TestOutcome(name=job.name, passed=False, message="unreadable evidence"))
            continue
        status = raw.status if raw.status in _EVIDENCE_STATUSES else "error"
        verdict = judge_test(
            job.checks,
            job.expected_stdout,
            TestEvidence(
                status=status,
                stdout=stdout.decode("utf-8", "replace"),
                stderr=stderr.decode("utf-8", "replace"),
                report=report,
                exit_code=raw.exit_code,
                timeout_seconds=per_test_timeout,
            ),
        )
        outcomes.append(
            _reported(
                TestOutcome(
                    name=job.name,
                    passed=verdict.passed,
                    message=verdict.message,
                    stdout=stdout[:SAMPLE_CHARS].decode("utf-8", "replace"),
                    duration_ms=round(raw.duration_ms, 3),
                ),
                job,
            )
        )
    passed = sum(1 for outcome in outcomes if outcome.passed)
    score = round(max_score * passed / len(jobs), 6) if jobs else 0.0
    return CheckResult(score=score, max_score=max_score, tests=outcomes, run_status="success")


def failed_check(jobs: list[MarkingTest], run: RunResult, max_score: float) -> CheckResult:
    """Every test failed for the same reason: the check did not run (busy, down, killed...)."""
    reason = _why_no_report(run)
    return CheckResult(
        score=0.0,
        max_score=max_score,
        tests=[TestOutcome(name=job.name, passed=False, message=reason) for job in jobs],
        run_status=run.status if run.status != "success" else "error",
        message=reason,
    )


def _reported(outcome: TestOutcome, job: MarkingTest) -> TestOutcome:
    """A hidden test keeps its data to itself: no values, expected output, program output or timing
    (a program could encode what it saw of the test's inputs in how long it took)."""
    if not job.hidden:
        return outcome
    message = "" if outcome.passed else "this hidden test did not pass"
    return msgspec.structs.replace(outcome, message=message, stdout="", duration_ms=0.0)


def _why_no_report(run: RunResult) -> str:
    if run.status == "unavailable":
        return run.message or "the sandbox is unavailable; try again later"
    if run.status == "timeout":
        return "the tests did not finish in time"
    if run.status == "memory":
        return "the tests ran out of memory"
    if run.status == "output_limit":
        return "the tests printed too much output"
    return "the tests could not be run" + (f": {run.message}" if run.message else "")


__all__ = [
    "CodeTestSpec",
    "MarkingTest",
    "build_test_jobs",
    "check_job",
    "failed_check",
    "judge_check",
    "max_result_bytes",
]
