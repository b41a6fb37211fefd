"""Auto-marking in the real sandbox: one run executes every test; per-test results and a score return."""

import pytest

from sandbox import SandboxRunner
from shared.lessons.model import CodeTest

pytestmark = [pytest.mark.docker, pytest.mark.asyncio(loop_scope="module")]


TESTS = [
    CodeTest(name="adds small numbers", stdin="0\n0\n", assert_code="assert add(2, 3) == 5"),
    CodeTest(
        name="adds negatives", stdin="0\n0\n", assert_code="assert add(-2, -3) == -5, 'negative numbers'"
    ),
    CodeTest(name="prints the sum of two inputs", stdin="4\n6\n", expected_stdout="10"),
]
PROGRAM = """\
def add(a, b):
    return a + b

if __name__ == '__main__':
    print(add(int(input()), int(input())))
"""


async def test_a_correct_solution_passes_every_test(runner: SandboxRunner) -> None:
    result = await runner.check(PROGRAM, TESTS, owner="pupil", max_score=10)
    assert result.run_status == "success", result
    assert [outcome.passed for outcome in result.tests] == [True, True, True], result.tests
    assert result.score == 10
    assert result.max_score == 10
    assert [outcome.name for outcome in result.tests] == [test.name for test in TESTS]


async def test_a_wrong_solution_fails_with_messages_a_pupil_can_use(runner: SandboxRunner) -> None:
    wrong = PROGRAM.replace("return a + b", "return a - b")
    result = await runner.check(wrong, TESTS, owner="pupil", max_score=3)
    assert [outcome.passed for outcome in result.tests] == [False, False, False]
    assert result.score == 0
    assert result.tests[0].message == "`add(2, 3)` gave -1, expected 5"
    assert result.tests[1].message == "negative numbers (`add(-2, -3)` gave 1, expected -5)"
    assert "expected '10', got '-2'" in result.tests[2].message


async def test_partly_right_scores_in_proportion(runner: SandboxRunner) -> None:
    half = "def add(a, b):\n    return abs(a) + abs(b)\nprint(add(int(input()), int(input())))\n"
    result = await runner.check(half, TESTS, owner="pupil", max_score=3)
    assert [outcome.passed for outcome in result.tests] == [True, False, True]
    assert result.score == 2


async def test_expected_output_ignores_trailing_whitespace_only(runner: SandboxRunner) -> None:
    tests = [CodeTest(name="table", expected_stdout="1 x 2 = 2\n2 x 2 = 4\n")]
    spaced = "print('1 x 2 = 2   ')\nprint('2 x 2 = 4')\nprint()\n"
    squashed = "print('1 x 2 =2')\nprint('2 x 2 = 4')\n"
    assert (await runner.check(spaced, tests, owner="pupil")).score == 1
    assert (await runner.check(squashed, tests, owner="pupil")).score == 0


async def test_a_crashing_solution_fails_each_test_with_the_error(runner: SandboxRunner) -> None:
    crashing = "def add(a, b):\n    raise ValueError('not today')\nprint(add(1, 2))\n"
    result = await runner.check(crashing, TESTS, owner="pupil")
    assert result.run_status == "success"
    assert result.score == 0
    assert all("ValueError: not today" in outcome.message for outcome in result.tests), result.tests


async def test_an_infinite_loop_fails_its_tests_but_the_marking_finishes(runner: SandboxRunner) -> None:
    tests = [
        CodeTest(name="loops", assert_code="assert spin() == 1"),
        CodeTest(name="quick", assert_code="assert 1 + 1 == 2"),
    ]
    code = "def spin():\n    while True:\n        pass\n"
    result = await runner.check(code, tests, owner="pupil", max_score=2)
    assert result.run_status == "success", result
    assert result.tests[0].passed is False
    assert "infinite loop" in result.tests[0].message
    assert result.tests[1].passed is True
    assert result.score == 1


async def test_tests_do_not_share_state(runner: SandboxRunner) -> None:
    tests = [
        CodeTest(name="first", assert_code="counter.append(1)\nassert len(counter) == 1"),
        CodeTest(name="second", assert_code="counter.append(1)\nassert len(counter) == 1"),
    ]
    result = await runner.check("counter = []\n", tests, owner="pupil")
    assert result.score == 1


async def test_forged_results_printed_or_written_by_the_pupil_are_not_believed(runner: SandboxRunner) -> None:
    forged_report = (
        '{"tests": [{"name": "x", "passed": true, "message": "", "stdout": "", "duration_ms": 0}]}'
    )
    forger = f"""
import os, sys
fake = {forged_report!r}
for marker in ("POST16-MARK-" + "0" * 32, "POST16-MARK-", ""):
    print(marker + " " + fake)
    print(marker + " " + fake, file=sys.stderr)
for fd_path in ("/proc/1/fd/1", "/proc/" + str(os.getppid()) + "/fd/1"):
    try:
        with open(fd_path, "w") as out:
            out.write("POST16-MARK- " + fake + "\\n")
        print("WROTE", fd_path)
    except OSError:
        pass
try:
    open("/proc/" + str(os.getppid()) + "/mem", "rb").read(1)
    print("READ HARNESS MEMORY")
except OSError:
    pass
os._exit(0)
"""
    tests = [CodeTest(name="needs add", assert_code="assert add(1, 2) == 3")]
    result = await runner.check(forger, tests, owner="pupil")
    assert result.score == 0
    assert result.tests[0].passed is False
    assert "WROTE" not in result.tests[0].stdout
    assert "READ HARNESS MEMORY" not in result.tests[0].stdout


async def test_sys_exit_in_the_pupils_code_does_not_skip_the_checks(runner: SandboxRunner) -> None:
    tests = [CodeTest(name="adds", assert_code="assert add(2, 3) == 5")]
    result = await runner.check(
        "import sys\ndef add(a, b):\n    return a * b\nsys.exit(0)", tests, owner="pupil"
    )
    assert result.score == 0
    assert result.tests[0].message == "`add(2, 3)` gave 6, expected 5"


async def test_printing_the_expected_answer_without_the_function_fails_assert_tests(
    runner: SandboxRunner,
) -> None:
    tests = [CodeTest(name="adds", assert_code="assert add(2, 3) == 5")]
    result = await runner.check("print(5)", tests, owner="pupil")
    assert result.score == 0
    assert "NameError" in result.tests[0].message
