"""Parsons problems, fill-the-gaps code, predict-the-output and trace tables: the format, what the
validator refuses, the pupil's copy (which never carries the answer key), the recorded real outputs
and the marking rules."""

from __future__ import annotations

import msgspec
import pytest
from lesson_samples import lesson_text

from shared.lessons import (
    GapsActivity,
    Lesson,
    LessonFormatError,
    ParsonsActivity,
    PredictActivity,
    SnippetError,
    TraceActivity,
    completed_code,
    load_manifest,
    mark_gaps,
    mark_parsons,
    mark_predict,
    mark_trace,
    parse_lesson,
    puzzle_feedback,
    record_outputs,
    validate_lessons,
)

PARSONS = """```activity
id = "evens"
kind = "parsons"
title = "Evens"
max_score = 2
prompt = "Order the lines."
solution = '''
total = 0
for n in range(5):
    if n % 2 == 0:
        total += n
print(total)
'''
distractors = ["total = 1"]
```
"""

GAPS = """```activity
id = "fill"
kind = "gaps"
title = "Fill"
max_score = 3
prompt = "Fill the gaps."
code = '''
{{1}} double(x):
    return x {{2}} 2
print(double({{3}}))
'''
answers = [["def"], ["*"], ["4", "2 + 2"]]
```
"""


def load(activities: str) -> Lesson:
    return parse_lesson(lesson_text(activities=activities), file="sample.md")


def problems(activities: str) -> list[str]:
    with pytest.raises(LessonFormatError) as raised:
        load(activities)
    return [problem.message for problem in raised.value.problems]


def parsons() -> ParsonsActivity:
    activity = load(PARSONS).activity("evens")
    assert isinstance(activity, ParsonsActivity)
    return activity


def gaps() -> GapsActivity:
    activity = load(GAPS).activity("fill")
    assert isinstance(activity, GapsActivity)
    return activity


def arranged(activity: ParsonsActivity, program: list[tuple[str, int]]) -> tuple[list[int], list[int]]:
    """The answer a pupil gives by placing these (text, level) lines: indexes into the shuffled lines."""
    free = list(range(len(activity.lines)))
    order = []
    for text, _ in program:
        index = next(i for i in free if activity.lines[i] == text)
        free.remove(index)
        order.append(index)
    return order, [level for _, level in program]


SOLUTION = [
    ("total = 0", 0),
    ("for n in range(5):", 0),
    ("if n % 2 == 0:", 1),
    ("total += n", 2),
    ("print(total)", 0),
]


def test_parsons_lines_are_the_solution_and_distractors_shuffled_the_same_way_every_load():
    activity = parsons()
    assert sorted(activity.lines) == sorted([text for text, _ in SOLUTION] + ["total = 1"])
    assert activity.lines != [text for text, _ in SOLUTION] + ["total = 1"]
    assert parsons().lines == activity.lines


def test_pupils_copy_of_a_parsons_problem_has_the_lines_but_no_solution():
    pupil = load(PARSONS).for_pupil().activity("evens")
    assert isinstance(pupil, ParsonsActivity)
    assert pupil.lines == parsons().lines
    assert (pupil.solution, pupil.alternative_solutions, pupil.distractors) == (None, [], [])
    encoded = msgspec.json.encode(pupil).decode()
    assert "    if n" not in encoded
    assert "total = 1" in encoded


def test_the_solution_in_order_and_indentation_gets_full_marks():
    activity = parsons()
    assert mark_parsons(activity, *arranged(activity, SOLUTION)) == 2


def test_a_wrong_indentation_loses_marks_by_the_longest_common_subsequence():
    activity = parsons()
    wrong = [*SOLUTION[:3], ("total += n", 1), SOLUTION[4]]
    assert mark_parsons(activity, *arranged(activity, wrong)) == pytest.approx(2 * 4 / 5, abs=0.01)


def test_a_placed_distractor_counts_against_the_answer():
    activity = parsons()
    with_distractor = [*SOLUTION, ("total = 1", 0)]
    assert mark_parsons(activity, *arranged(activity, with_distractor)) == pytest.approx(2 * 5 / 6, abs=0.01)


def test_without_partial_marks_anything_but_a_solution_scores_zero():
    activity = msgspec.structs.replace(parsons(), partial_marks=False)
    assert mark_parsons(activity, *arranged(activity, SOLUTION[:4])) == 0


def test_an_alternative_solution_gets_full_marks():
    text = PARSONS.replace(
        'distractors = ["total = 1"]',
        "distractors = [\"total = 1\"]\nalternative_solutions = ['''\ntotal = 0\nfor n in range(5):\n"
        "    if n % 2 == 0:\n        total += n\nprint(total)\n''']",
    )
    activity = load(text).activity("evens")
    assert isinstance(activity, ParsonsActivity)
    assert mark_parsons(activity, *arranged(activity, SOLUTION)) == 2


def test_marking_a_parsons_answer_needs_the_teachers_copy_and_real_lines():
    activity = parsons()
    pupil = load(PARSONS).for_pupil().activity("evens")
    assert isinstance(pupil, ParsonsActivity)
    with pytest.raises(ValueError, match="teacher's copy"):
        mark_parsons(pupil, [0], [0])
    with pytest.raises(ValueError, match="does not exist"):
        mark_parsons(activity, [99], [0])
    with pytest.raises(ValueError, match="twice"):
        mark_parsons(activity, [0, 0], [0, 0])


def test_validator_refuses_a_parsons_solution_with_odd_indentation_or_a_written_lines_field():
    odd = PARSONS.replace("        total += n", "      total += n")
    found = problems(odd.replace("max_score = 2", 'lines = ["total = 0"]'))
    assert any("indent with 4 spaces" in message for message in found)
    assert any("do not write it" in message for message in found)


def test_validator_refuses_a_distractor_that_is_a_solution_line_and_a_missing_solution():
    assert any("also a line" in m for m in problems(PARSONS.replace('"total = 1"', '"print(total)"')))
    no_solution = PARSONS.split("solution = ", maxsplit=1)[0] + "```\n"
    assert any("missing required field `solution`" in m for m in problems(no_solution))


def test_gaps_are_marked_one_share_each_with_whitespace_normalised():
    activity = gaps()
    assert mark_gaps(activity, ["def", " * ", "2  +  2"]) == 3
    assert mark_gaps(activity, ["def", "+", "4"]) == 2
    assert mark_gaps(activity, ["", "", ""]) == 0


def test_pupils_copy_of_gaps_has_the_code_and_no_answers():
    pupil = load(GAPS).for_pupil().activity("fill")
    assert isinstance(pupil, GapsActivity)
    assert pupil.answers is None
    assert "{{2}}" in pupil.code
    with pytest.raises(ValueError, match="teacher's copy"):
        mark_gaps(pupil, ["def", "*", "4"])


def test_completed_code_puts_each_answer_in_its_gap():
    assert completed_code(gaps(), ["def", "*", "4"]) == "def double(x):\n    return x * 2\nprint(double(4))\n"


def test_validator_refuses_gaps_out_of_order_or_answers_that_do_not_fit():
    assert any("numbered" in m for m in problems(GAPS.replace("{{3}}", "{{4}}")))
    assert any("3 lists for 2 gaps" in m for m in problems(GAPS.replace("print(double({{3}}))", "")))
    assert any("not valid Python" in m for m in problems(GAPS.replace('[["def"]', '[["define"]')))
    assert any("non-empty" in m for m in problems(GAPS.replace('["*"]', '[" "]')))


def test_feedback_never_gives_the_answer():
    activity = gaps()
    for score in (0, 1, 3):
        feedback = puzzle_feedback(activity, score)
        assert "def" not in feedback
        assert "*" not in feedback


PREDICT = """```activity
id = "guess"
kind = "predict"
title = "Guess"
prompt = "What does it print?"
stdin = "3"
code = '''
n = int(input())
for i in range(n):
    print(i * i)
print("end")
'''
```
"""


def test_recorded_output_is_the_real_run_and_reaches_only_the_teachers_copy(lesson_folder):
    folder = lesson_folder({"01-sample.md": lesson_text(activities=PREDICT)})
    path, count = record_outputs(folder)
    assert (path.name, count) == ("outputs.json", 1)
    lesson = load_manifest(folder).lesson("sample")
    activity = lesson.activity("guess")
    assert isinstance(activity, PredictActivity)
    assert activity.expected_output == "0\n1\n4\nend\n"
    pupil = lesson.for_pupil().activity("guess")
    assert isinstance(pupil, PredictActivity)
    assert pupil.expected_output is None
    assert "0\\n1\\n4" not in msgspec.json.encode(pupil).decode()


def test_a_snippet_with_no_recorded_output_is_reported_at_its_id_line(lesson_folder):
    folder = lesson_folder({"01-sample.md": lesson_text(activities=PREDICT)})
    [problem] = validate_lessons(folder)
    assert problem.file.endswith("01-sample.md")
    assert problem.line == lesson_text(activities=PREDICT).splitlines().index('id = "guess"') + 1
    assert "record-outputs" in problem.message


def test_editing_a_snippet_after_recording_needs_a_new_run(lesson_folder):
    folder = lesson_folder({"01-sample.md": lesson_text(activities=PREDICT)})
    record_outputs(folder)
    (folder / "01-sample.md").write_text(lesson_text(activities=PREDICT.replace("i * i", "i + i")))
    assert any("no recorded output" in problem.message for problem in validate_lessons(folder))


def test_prediction_is_marked_ignoring_trailing_spaces_and_blank_lines_only():
    activity = PredictActivity(
        id="p", title="P", prompt="?", code="print(1)", max_score=2, expected_output="0\n1\n4\nend\n"
    )
    assert mark_predict(activity, "0  \n1\n4\nend\n\n") == 2
    assert mark_predict(activity, " 0\n1\n4\nend") == 0
    with pytest.raises(ValueError, match="teacher's copy"):
        mark_predict(msgspec.structs.replace(activity, expected_output=None), "0")


def test_validator_refuses_a_written_expected_output_and_a_failing_snippet_is_not_recorded(lesson_folder):
    written = PREDICT.replace('stdin = "3"', 'expected_output = "1"')
    assert any("do not write it" in message for message in problems(written))
    folder = lesson_folder({"01-sample.md": lesson_text(activities=PREDICT.replace('stdin = "3"', ""))})
    with pytest.raises(SnippetError, match="guess"):
        record_outputs(folder)


TRACE = """```activity
id = "trace"
kind = "trace"
title = "Trace"
max_score = 3
prompt = "Fill in the table."
columns = ["i", "total", "output"]
code = '''
total = 0
for i in range(3):
    total = total + i
    print("t", total)  # row
'''
```
"""


def test_trace_table_is_made_by_a_real_run_and_only_its_shape_reaches_the_pupil(lesson_folder):
    folder = lesson_folder({"01-sample.md": lesson_text(activities=TRACE)})
    record_outputs(folder)
    lesson = load_manifest(folder).lesson("sample")
    activity = lesson.activity("trace")
    assert isinstance(activity, TraceActivity)
    assert activity.rows == [["0", "0", "t 0"], ["1", "1", "t 1"], ["2", "3", "t 3"]]
    pupil = lesson.for_pupil().activity("trace")
    assert isinstance(pupil, TraceActivity)
    assert (pupil.rows, pupil.row_count, pupil.columns) == (None, 3, ["i", "total", "output"])


def test_trace_cells_are_marked_one_share_each():
    activity = TraceActivity(
        id="t",
        title="T",
        prompt="?",
        code="x = 1  # row",
        columns=["x", "output"],
        max_score=2,
        rows=[["1", ""], ["2", "a b"]],
        row_count=2,
    )
    assert mark_trace(activity, [["1", ""], ["2", " a  b "]]) == 2
    assert mark_trace(activity, [["1", "x"], ["3", "a b"]]) == 1
    with pytest.raises(ValueError, match="2 rows of 2"):
        mark_trace(activity, [["1", ""]])


def test_validator_refuses_a_trace_without_one_simple_row_line_or_with_written_rows():
    assert any("exactly one line" in m for m in problems(TRACE.replace("  # row", "")))
    opens_block = TRACE.replace("for i in range(3):", "for i in range(3):  # row").replace(
        "total)  # row", "total)"
    )
    assert any("simple statement" in m for m in problems(opens_block))
    assert any("do not write" in m for m in problems(TRACE.replace("max_score = 3", "row_count = 3")))
    assert any("variable name" in m for m in problems(TRACE.replace('"i", "total"', '"i", "2x"')))
