"""Reading the marking harness's report: only the line carrying this run's marker counts."""

import msgspec
import pytest

from sandbox import SandboxInputError
from sandbox._marking import build_test_jobs, check_result, new_marker
from shared.wire.run import RunResult


class Spec(msgspec.Struct):
    name: str
    stdin: str = ""
    expected_stdout: str | None = None
    assert_code: str | None = None


TESTS = [Spec(name="adds", assert_code="assert add(2, 3) == 5"), Spec(name="prints", expected_stdout="5")]


def report_line(marker: str, passed: list[bool]) -> str:
    tests = [{"name": f"t{i}", "passed": ok, "message": "", "stdout": ""} for i, ok in enumerate(passed)]
    return marker + " " + msgspec.json.encode({"tests": tests}).decode()


def test_score_is_passed_over_total_scaled_to_max() -> None:
    marker = new_marker()
    jobs = build_test_jobs("code", TESTS)
    run = RunResult(status="success", exit_code=0, stdout=report_line(marker, [True, False]) + "\n")
    result = check_result(marker, jobs, run, max_score=10)
    assert result.score == 5
    assert [outcome.name for outcome in result.tests] == ["adds", "prints"]
    assert [outcome.passed for outcome in result.tests] == [True, False]


def test_a_line_with_another_marker_is_ignored() -> None:
    marker = new_marker()
    jobs = build_test_jobs("code", TESTS)
    forged = report_line(new_marker(), [True, True])
    result = check_result(marker, jobs, RunResult(status="success", stdout=forged), max_score=1)
    assert result.score == 0
    assert not any(outcome.passed for outcome in result.tests)


def test_an_unavailable_sandbox_scores_zero_with_its_message() -> None:
    jobs = build_test_jobs("code", TESTS)
    result = check_result(new_marker(), jobs, RunResult(status="unavailable", message="Docker is down"), 1)
    assert result.run_status == "unavailable"
    assert result.score == 0
    assert "Docker is down" in result.message


def test_a_test_without_any_check_is_refused() -> None:
    with pytest.raises(SandboxInputError, match=r"tests\[0\]"):
        build_test_jobs("code", [Spec(name="empty")])


class HiddenSpec(Spec):
    hidden: bool = False


def test_a_hidden_test_reports_pass_or_fail_but_not_its_data() -> None:
    marker = new_marker()
    jobs = build_test_jobs(
        "code",
        [
            HiddenSpec(name="secret", expected_stdout="42", hidden=True),
            HiddenSpec(name="open", expected_stdout="7"),
        ],
    )
    tests = [
        {"name": "secret", "passed": False, "message": "expected '42', got '41'", "stdout": "41"},
        {"name": "open", "passed": False, "message": "expected '7', got '8'", "stdout": "8"},
    ]
    line = marker + " " + msgspec.json.encode({"tests": tests}).decode()
    result = check_result(marker, jobs, RunResult(status="success", stdout=line), max_score=1)
    assert result.tests[0].message == "this hidden test did not pass"
    assert result.tests[0].stdout == ""
    assert "42" not in msgspec.json.encode(result.tests[0]).decode()
    assert result.tests[1].message == "expected '7', got '8'"
