"""Marking rules: choices from the answer key, code by the judge of each test's evidence."""

from __future__ import annotations

import pytest
from lesson_samples import lesson_text

from shared.lessons import (
    ChoiceActivity,
    CodeActivity,
    CodeTest,
    mark_choice,
    mark_code,
    normalise_output,
    parse_lesson,
)


def choice(correct: list[int], *, multiple: bool = False, max_score: float = 2) -> ChoiceActivity:
    return ChoiceActivity(
        id="c",
        title="C",
        prompt="?",
        options=["a", "b", "c", "d"],
        correct=correct,
        multiple=multiple,
        max_score=max_score,
    )


def test_right_single_choice_scores_full_marks():
    assert mark_choice(choice([2]), [2]) == 2


def test_wrong_single_choice_scores_nothing():
    assert mark_choice(choice([2]), [1]) == 0


def test_picking_several_options_in_a_single_choice_scores_nothing():
    assert mark_choice(choice([2]), [1, 2]) == 0


def test_multiple_choice_gives_a_share_per_right_option():
    assert mark_choice(choice([0, 1], multiple=True), [0]) == 1


def test_multiple_choice_takes_a_share_off_per_wrong_option_but_never_below_zero():
    activity = choice([0, 1], multiple=True)

    assert mark_choice(activity, [0, 1, 3]) == 1
    assert mark_choice(activity, [2, 3]) == 0


def test_choice_index_out_of_range_is_refused():
    with pytest.raises(ValueError, match="option 7 does not exist"):
        mark_choice(choice([0]), [7])


def test_pupil_copy_of_a_choice_cannot_be_marked():
    pupil_copy = parse_lesson(lesson_text()).for_pupil().activity("pick")
    assert isinstance(pupil_copy, ChoiceActivity)

    with pytest.raises(ValueError, match="no answer key"):
        mark_choice(pupil_copy, [1])


def test_code_score_is_shared_between_tests():
    activity = parse_lesson(lesson_text()).activity("add")
    assert isinstance(activity, CodeActivity)

    assert mark_code(activity, ["adds"]) == 1
    assert mark_code(activity, ["adds", "secret", "unknown"]) == 2


def test_code_without_tests_cannot_be_auto_marked():
    activity = CodeActivity(id="x", title="X", prompt="?", model_answer="pass")

    with pytest.raises(ValueError, match="teacher"):
        mark_code(activity, [])


def test_output_comparison_ignores_trailing_spaces_and_blank_lines():
    assert normalise_output("a  \nb\t\r\n\n\n") == normalise_output("a\nb")


def test_output_comparison_keeps_leading_spaces():
    assert normalise_output("  a") != normalise_output("a")


def test_assert_code_sees_the_pupils_functions(passes):
    test = CodeTest(name="adds", assert_code="assert add(2, 3) == 5")

    assert passes("def add(a, b):\n    return a + b\n", test)


def test_failing_assert_fails_the_test(passes):
    assert not passes(
        "def add(a, b):\n    return a - b\n", CodeTest(name="t", assert_code="assert add(2, 3) == 5")
    )


def test_exit_in_pupil_code_cannot_skip_the_checks(passes):
    test = CodeTest(name="t", assert_code="assert add(2, 3) == 5")

    assert not passes("import sys\nsys.exit(0)\ndef add(a, b):\n    return a + b\n", test)


def test_exit_in_pupil_code_still_runs_the_checks(passes):
    test = CodeTest(name="t", assert_code="assert add(2, 3) == 5")

    assert passes("import sys\ndef add(a, b):\n    return a + b\nsys.exit(0)\n", test)


def test_expected_stdout_test_reads_stdin(passes):
    test = CodeTest(name="echo", stdin="Ada\n", expected_stdout="Hello, Ada")

    assert passes("print('Hello, ' + input())", test)


def test_crash_after_the_right_output_fails(passes):
    test = CodeTest(name="t", expected_stdout="5")

    assert not passes("print(5)\n1 / 0", test)
