"""Auto-marking rules shared by the server, the desktop app and the sandbox.

Choice activities are marked locally. Code activities are marked by running each test's program
(:func:`build_test_program`) somewhere safe — the sandbox — and judging what it printed
(:func:`judge_run`); :func:`mark_code` turns the passed tests into a score.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.lessons.model import ChoiceActivity, CodeActivity, CodeTest

__all__ = [
    "TEST_FAILURE_EXIT_CODE",
    "build_test_program",
    "judge_run",
    "mark_choice",
    "mark_code",
    "normalise_output",
]

TEST_FAILURE_EXIT_CODE = 3
"""Exit status of a test program whose ``assert_code`` failed (the pupil's own errors exit with 1)."""

_HARNESS = """\
import sys as _post16_sys
_post16_namespace = {{"__name__": "__main__", "__builtins__": __builtins__}}
try:
    exec(compile({code!r}, "<pupil code>", "exec"), _post16_namespace)
except SystemExit:
    pass
try:
    exec(compile({check!r}, "<test {name}>", "exec"), _post16_namespace)
except AssertionError as _post16_error:
    _post16_sys.stdout.flush()
    print("Test failed:", _post16_error or "assertion failed", file=_post16_sys.stderr)
    _post16_sys.exit({failure})
"""


def build_test_program(code: str, test: CodeTest) -> str:
    """The Python program that runs ``code`` and then the test's ``assert_code`` in one namespace.

    A ``sys.exit()`` in the pupil's code ends their part, not the test, so it cannot skip the checks.

    Run it with ``test.stdin`` as standard input and judge the result with :func:`judge_run`.
    """
    if test.assert_code is None:
        return code
    return _HARNESS.format(
        code=code, check=test.assert_code, name=test.name.replace(">", ""), failure=TEST_FAILURE_EXIT_CODE
    )


def normalise_output(text: str) -> str:
    """Output as compared: trailing spaces stripped from each line, trailing blank lines dropped."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def judge_run(test: CodeTest, *, exit_code: int, stdout: str) -> bool:
    """Whether a finished run of :func:`build_test_program` passes ``test``."""
    if exit_code != 0:
        return False
    if test.expected_stdout is None:
        return True
    return normalise_output(stdout) == normalise_output(test.expected_stdout)


def mark_code(activity: CodeActivity, passed_tests: Iterable[str]) -> float:
    """Score for a code answer: ``max_score`` shared equally between the activity's tests.

    Raises ValueError for an activity without tests: its answers are marked by the teacher.
    """
    if not activity.tests:
        raise ValueError(f"activity `{activity.id}` has no tests: a teacher marks it")
    passed = set(passed_tests)
    count = sum(1 for test in activity.tests if test.name in passed)
    return activity.max_score * count / len(activity.tests)


def mark_choice(activity: ChoiceActivity, selected: Iterable[int]) -> float:
    """Score for a choice answer.

    Single answer: ``max_score`` for the right option, else 0. Multiple answers: one share of
    ``max_score`` per correct option picked, minus one share per wrong option picked, never below 0.
    Raises ValueError for an index out of range or for a pupil's copy (which has no ``correct``).
    """
    if activity.correct is None:
        raise ValueError(f"activity `{activity.id}` has no answer key: mark it with the teacher's copy")
    chosen = set(selected)
    for index in chosen:
        if not 0 <= index < len(activity.options):
            raise ValueError(f"option {index} does not exist in activity `{activity.id}`")
    correct = set(activity.correct)
    if not activity.multiple:
        return activity.max_score if chosen == correct else 0.0
    right = len(chosen & correct)
    wrong = len(chosen - correct)
    return activity.max_score * max(0, right - wrong) / len(correct)
