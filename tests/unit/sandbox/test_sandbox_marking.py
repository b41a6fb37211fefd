"""Judging a check's evidence on the host: what goes into the container, and what comes out scored."""

import base64
import json

import msgspec
import pytest

from sandbox import SandboxInputError
from sandbox._marking import build_test_jobs, check_job, failed_check, judge_check
from shared.wire.run import RunResult


class Spec(msgspec.Struct):
    name: str
    stdin: str = ""
    expected_stdout: str | None = None
    assert_code: str | None = None
    hidden: bool = False


TESTS = [Spec(name="adds", assert_code="assert add(2, 3) == 5"), Spec(name="prints", expected_stdout="5")]


def b64(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(data).decode()


def report(*records: dict[str, object]) -> str:
    return b64("".join(json.dumps(record) + "\n" for record in records))


def evidence_line(*tests: dict[str, object]) -> bytes:
    return json.dumps({"status": "success", "tests": list(tests)}).encode()


def test_the_job_carries_inputs_and_probes_but_no_expected_value_or_output() -> None:
    jobs = build_test_jobs("code", [*TESTS, Spec(name="secret", expected_stdout="SECRET-42", hidden=True)])

    sent = json.dumps(check_job("code", jobs, 1.0, shim="# shim"))

    assert "add(2, 3)" in sent
    assert '"5"' not in sent
    assert "== 5" not in sent
    assert "SECRET-42" not in sent


def test_score_is_passed_over_total_scaled_to_max() -> None:
    jobs = build_test_jobs("code", TESTS)
    line = evidence_line(
        {
            "status": "success",
            "exit_code": 0,
            "report": report({"event": "value", "probe": 0, "value": 5}, {"event": "done"}),
        },
        {"status": "success", "exit_code": 0, "stdout": b64("6\n"), "report": report({"event": "done"})},
    )

    result = judge_check(jobs, line, 1.0, max_score=10)

    assert result.score == 5
    assert [outcome.passed for outcome in result.tests] == [True, False]
    assert "expected '5', got '6'" in result.tests[1].message


def test_evidence_for_the_wrong_number_of_tests_scores_zero() -> None:
    jobs = build_test_jobs("code", TESTS)
    line = evidence_line({"status": "success", "report": report({"event": "done"}), "stdout": b64("5")})

    result = judge_check(jobs, line, 1.0, max_score=1)

    assert result.score == 0
    assert result.run_status == "error"


@pytest.mark.parametrize("line", [b"", b"not json", b'{"status": "success", "tests": [1, 2]}', b"[]"])
def test_unreadable_evidence_scores_zero(line: bytes) -> None:
    assert judge_check(build_test_jobs("code", TESTS), line, 1.0, max_score=1).score == 0


def test_an_unavailable_sandbox_scores_zero_with_its_message() -> None:
    jobs = build_test_jobs("code", TESTS)
    result = failed_check(jobs, RunResult(status="unavailable", message="Docker is down"), 1)
    assert result.run_status == "unavailable"
    assert result.score == 0
    assert "Docker is down" in result.message


def test_a_test_without_any_check_is_refused() -> None:
    with pytest.raises(SandboxInputError, match=r"tests\[0\]"):
        build_test_jobs("code", [Spec(name="empty")])


def test_a_test_whose_checks_would_judge_inside_the_program_is_refused() -> None:
    with pytest.raises(SandboxInputError, match=r"tests\[0\]\.assert_code.*isinstance"):
        build_test_jobs("code", [Spec(name="t", assert_code="assert isinstance(f(), int)")])


def test_a_hidden_test_reports_pass_or_fail_but_not_its_data() -> None:
    jobs = build_test_jobs(
        "code",
        [Spec(name="secret", expected_stdout="42", hidden=True), Spec(name="open", expected_stdout="7")],
    )
    line = evidence_line(
        {"status": "success", "stdout": b64("41"), "report": report({"event": "done"})},
        {"status": "success", "stdout": b64("8"), "report": report({"event": "done"})},
    )

    result = judge_check(jobs, line, 1.0, max_score=1)

    assert result.tests[0].message == "this hidden test did not pass"
    assert result.tests[0].stdout == ""
    assert "42" not in msgspec.json.encode(result.tests[0]).decode()
    assert "expected '7', got '8'" in result.tests[1].message
