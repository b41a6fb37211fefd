"""The checks grammar and the judge: no verdict is computed where the pupil's code runs.

The judge is tested here on evidence built by hand (tampered reports) and on evidence from a local run
of trusted code through the real shim; the hostile programs run in the real sandbox in
tests/integration/server/test_server_forged_marks.py.
"""

from __future__ import annotations

import json

import pytest

from shared.lessons import CheckCompileError, CodeTest, TestEvidence, compile_checks, judge_test
from shared.lessons.checks import decode_plain, plain_equal


def evidence(*records: dict[str, object], stdout: str = "", status: str = "success") -> TestEvidence:
    report = "".join(json.dumps(record) + "\n" for record in records).encode()
    return TestEvidence(status=status, stdout=stdout, stderr="", report=report, exit_code=0)


def test_expected_values_never_reach_the_probe_steps():
    checks = compile_checks('assert clamp(12, 0, 10) == 10\nassert caesar("KHOOR", -3) == "HELLO"')

    assert checks.steps == (("probe", 0, "clamp(12, 0, 10)"), ("probe", 1, "caesar('KHOOR', -3)"))
    assert "HELLO" not in json.dumps(checks.steps_for_shim())
    assert [expectation.expected for expectation in checks.expectations] == [10, "HELLO"]


def test_and_in_an_assert_becomes_one_probe_per_part():
    checks = compile_checks("assert not is_prime(9) and not is_prime(91)")

    assert [step[2] for step in checks.steps] == ["is_prime(9)", "is_prime(91)"]
    assert {expectation.kind for expectation in checks.expectations} == {"falsy"}


def test_setup_statements_run_in_order_before_their_probes():
    checks = compile_checks(
        'with open("s.csv", "w") as f:\n    f.write("A,1\\n")\nassert read_scores("s.csv") == {"A": 1}'
    )

    assert checks.steps[0][0] == "run"
    assert checks.steps[1] == ("probe", 0, "read_scores('s.csv')")


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("assert f() == g()", "must be the expected value written out"),
        ("assert isinstance(f(), int)", "`isinstance` is not allowed"),
        ("assert all(f(x) == 1 for x in [1])", "`all` is not allowed"),
        ("assert (f() == 1) == True", "comparisons"),
        ("assert f() if True else g()", "comparisons and `and`/`or`/`not`/`if`"),
        ("assert [x for x in [1] if f(x)] == [1]", "cannot filter"),
        ("assert f().__eq__(1)", "attributes starting with `_`"),
        ("assert __builtins__ == 1", "names starting with `_`"),
        ("assert f() + 1 == 2", "arithmetic in checks is allowed on literals only"),
        ("import os\nassert f() == 1", "`Import` statements are not allowed"),
        ("for x in [1]:\n    pass\nassert f() == 1", "`For` statements are not allowed"),
        ("x = f()", "contain no `assert`"),
        ("assert f() == 1 +", "not valid Python"),
        ("assert f() == complex(1, 2)", "must be the expected value written out"),
        ("assert f() != 1", "only `==` with an expected value"),
        ("assert (lambda: 1)() == 1", "Lambda is not allowed"),
        ("with open('x') as f:\n    assert f.read() == ''", "top level, not inside `with`"),
    ],
)
def test_checks_that_would_judge_inside_the_pupils_program_are_refused(source, why):
    with pytest.raises(CheckCompileError, match=None) as raised:
        compile_checks(source)

    assert why in str(raised.value)


def test_a_refusal_names_the_line_of_the_check():
    with pytest.raises(CheckCompileError) as raised:
        compile_checks("assert f() == 1\nassert isinstance(f(), int)")

    assert raised.value.line == 2


def test_literal_only_arithmetic_is_allowed_in_arguments():
    checks = compile_checks('assert word_counts(["la"] * 5) == {"la": 5}\nassert f(-3) == -3')

    assert checks.expectations[1].expected == -3


def test_a_reported_value_equal_to_the_expected_one_passes():
    checks = compile_checks("assert clamp(12, 0, 10) == 10")

    verdict = judge_test(
        checks, None, evidence({"event": "value", "probe": 0, "value": 10}, {"event": "done"})
    )

    assert verdict.passed


def test_a_wrong_value_fails_and_says_what_was_expected():
    checks = compile_checks("assert clamp(12, 0, 10) == 10")

    verdict = judge_test(
        checks, None, evidence({"event": "value", "probe": 0, "value": 12}, {"event": "done"})
    )

    assert not verdict.passed
    assert verdict.message == "`clamp(12, 0, 10)` gave 12, expected 10"


@pytest.mark.parametrize(
    "records",
    [
        [],  # the program never reported
        [{"event": "value", "probe": 0, "value": 10}],  # no "done": it was cut short
        [{"event": "done"}],  # done without the value
        [
            {"event": "value", "probe": 0, "value": 10},
            {"event": "value", "probe": 0, "value": 10},
            {"event": "done"},
        ],
        [{"event": "value", "probe": 0, "value": 10}, {"event": "done"}, {"event": "done"}],
        [{"event": "value", "probe": 1, "value": 10}, {"event": "done"}],
        [{"event": "value", "probe": True, "value": 10}, {"event": "done"}],
        [{"event": "value", "probe": 0, "value": {"object": "Anything"}}, {"event": "done"}],
        [{"event": "value", "probe": 0, "value": {"tuple": [10], "set": []}}, {"event": "done"}],
        [{"event": "passed", "probe": 0}, {"event": "done"}],
        [{"event": "not_plain", "probe": 0, "type": "Anything"}, {"event": "done"}],
    ],
)
def test_a_tampered_or_incomplete_report_never_passes(records):
    checks = compile_checks("assert clamp(12, 0, 10) == 10")

    assert not judge_test(checks, None, evidence(*records)).passed


def test_garbage_in_the_report_fails_the_test():
    checks = compile_checks("assert f() == 1")
    raw = b'{"event": "value", "probe": 0, "value": 1}\n\xff\xfe not json\n{"event": "done"}\n'

    verdict = judge_test(checks, None, TestEvidence(status="success", stdout="", stderr="", report=raw))

    assert not verdict.passed


@pytest.mark.parametrize("status", ["timeout", "memory", "output_limit"])
def test_a_run_stopped_by_a_limit_fails_whatever_it_reported(status):
    checks = compile_checks("assert f() == 1")
    records = ({"event": "value", "probe": 0, "value": 1}, {"event": "done"})

    assert not judge_test(checks, None, evidence(*records, status=status)).passed


def test_expected_output_is_compared_by_the_judge():
    checks = compile_checks(None)

    assert judge_test(checks, "29", evidence({"event": "done"}, stdout="29\n")).passed
    assert not judge_test(checks, "29", evidence({"event": "done"}, stdout="28\n")).passed


@pytest.mark.parametrize(
    ("actual", "expected", "equal"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (1, True, False),
        ([1, 2], (1, 2), False),
        ({"a": [1]}, {"a": [1]}, True),
        ({"a": True}, {"a": 1}, False),
        ({1, 2}, {2, 1}, True),
        (float("nan"), float("nan"), True),
        ("10", 10, False),
        (None, 0, False),
    ],
)
def test_plain_equality_is_strict_about_types(actual, expected, equal):
    assert plain_equal(actual, expected) is equal


def test_decoding_rebuilds_tagged_values():
    encoded = {"dict": [[{"tuple": [1, "a"]}, {"set": [1, 2]}], ["b", {"bytes": "ff00"}]]}

    assert decode_plain(encoded) == {(1, "a"): {1, 2}, "b": b"\xff\x00"}


def test_real_shim_reports_plain_values_for_the_judge(passes):
    assert passes(
        "def stats(xs):\n    return (min(xs), max(xs)), {len(xs)}, {'n': [None, True, 1.5, b'x']}",
        CodeTest(
            name="t", assert_code="assert stats([3, 1]) == ((1, 3), {2}, {'n': [None, True, 1.5, b'x']})"
        ),
    )


def test_real_shim_fails_an_always_equal_object(passes):
    code = "class Any_:\n    def __eq__(self, other):\n        return True\ndef f():\n    return Any_()"

    assert not passes(code, CodeTest(name="t", assert_code="assert f() == 1"))


def test_real_shim_fails_a_subclass_of_a_plain_type(passes):
    code = (
        "class Sneaky(int):\n    def __eq__(self, other):\n        return True\n"
        "def f():\n    return Sneaky(0)"
    )

    assert not passes(code, CodeTest(name="t", assert_code="assert f() == 1"))


def test_real_shim_fails_an_object_that_is_always_true(passes):
    code = "class Yes:\n    def __bool__(self):\n        return True\ndef is_prime(n):\n    return Yes()"

    assert not passes(code, CodeTest(name="t", assert_code="assert is_prime(7)"))
