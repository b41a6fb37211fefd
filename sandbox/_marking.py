"""Auto-marking: turn a code activity's tests into one harness run, and its output into a `CheckResult`."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Protocol

import msgspec

from sandbox._errors import SandboxInputError
from shared.wire.run import MAX_CODE_CHARS, CheckResult, RunResult, TestOutcome

MAX_TESTS = 50
MAX_TEST_FIELD_CHARS = 64 * 1024
SAMPLE_CHARS = 1000
MARKER_PREFIX = "POST16-MARK-"


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


class _TestJob(msgspec.Struct):
    name: str
    stdin: str
    expected_stdout: str | None
    assert_code: str | None
    hidden: bool = False


class _HarnessReport(msgspec.Struct):
    tests: list[TestOutcome]


def new_marker() -> str:
    return MARKER_PREFIX + secrets.token_hex(16)


def build_test_jobs(code: str, tests: Sequence[CodeTestSpec]) -> list[_TestJob]:
    """Checks sizes and copies the tests into plain structs; bad input raises `SandboxInputError`."""
    if len(code) > MAX_CODE_CHARS:
        raise SandboxInputError(f"`code` is longer than {MAX_CODE_CHARS} characters")
    if len(tests) > MAX_TESTS:
        raise SandboxInputError(f"`tests` holds {len(tests)} tests; at most {MAX_TESTS} are allowed")
    jobs = []
    for index, test in enumerate(tests):
        job = _TestJob(
            name=str(test.name),
            stdin=test.stdin or "",
            expected_stdout=test.expected_stdout,
            assert_code=test.assert_code,
            hidden=bool(getattr(test, "hidden", False)),
        )
        for field in ("name", "stdin", "expected_stdout", "assert_code"):
            value = getattr(job, field)
            if value is not None and len(value) > MAX_TEST_FIELD_CHARS:
                raise SandboxInputError(
                    f"`tests[{index}].{field}` is longer than {MAX_TEST_FIELD_CHARS} characters"
                )
        if job.expected_stdout is None and not job.assert_code:
            raise SandboxInputError(
                f"`tests[{index}]` ({job.name!r}) has neither expected_stdout nor assert_code"
            )
        jobs.append(job)
    return jobs


def harness_stdin(marker: str, code: str, jobs: list[_TestJob], per_test_timeout: float) -> str:
    job = {
        "marker": marker,
        "code": code,
        "tests": [
            {
                "name": job.name,
                "stdin": job.stdin,
                "expected_stdout": job.expected_stdout,
                "assert_code": job.assert_code,
            }
            for job in jobs
        ],
        "per_test_timeout": per_test_timeout,
        "sample_chars": SAMPLE_CHARS,
    }
    return msgspec.json.encode(job).decode("utf-8")


def check_result(marker: str, jobs: list[_TestJob], run: RunResult, max_score: float) -> CheckResult:
    """Read the harness's line (the one starting with this run's marker) and score it."""
    prefix = marker + " "
    report: _HarnessReport | None = None
    for line in run.stdout.splitlines():
        if line.startswith(prefix):
            try:
                report = msgspec.json.decode(line[len(prefix) :], type=_HarnessReport)
            except msgspec.DecodeError:
                report = None
            break
    if report is None or len(report.tests) != len(jobs):
        reason = _why_no_report(run)
        outcomes = [TestOutcome(name=job.name, passed=False, message=reason) for job in jobs]
        return CheckResult(
            score=0.0,
            max_score=max_score,
            tests=outcomes,
            run_status=run.status if run.status != "success" else "error",
            message=reason,
        )
    outcomes = [_reported(outcome, job) for outcome, job in zip(report.tests, jobs, strict=True)]
    passed = sum(1 for outcome in outcomes if outcome.passed)
    score = round(max_score * passed / len(jobs), 6) if jobs else 0.0
    return CheckResult(score=score, max_score=max_score, tests=outcomes, run_status="success")


def _reported(outcome: TestOutcome, job: _TestJob) -> TestOutcome:
    """The outcome under the test's own name. A hidden test keeps its data to itself: no expected
    output, assertion text or program output in what is reported."""
    if not job.hidden:
        return msgspec.structs.replace(outcome, name=job.name)
    message = "" if outcome.passed else "this hidden test did not pass"
    return msgspec.structs.replace(outcome, name=job.name, message=message, stdout="")


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


__all__ = ["CodeTestSpec", "build_test_jobs", "check_result", "harness_stdin", "new_marker"]
