"""The validator: every mistake an author can make is reported with the right file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lesson_samples import CHOICE_ACTIVITY, CODE_ACTIVITY, TEXT_ACTIVITY, lesson_text, line_of

from shared.lessons import (
    ActivityBlock,
    ChoiceActivity,
    CodeActivity,
    LessonFormatError,
    LessonProblem,
    TextActivity,
    TextBlock,
    load_manifest,
    parse_lesson,
    validate_lessons,
)


def only_problem(folder: Path) -> LessonProblem:
    problems = validate_lessons(folder)
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_folder_loads_every_activity_kind(lesson_folder):
    lessons = load_manifest(lesson_folder({"01-sample.md": lesson_text()}))

    lesson = lessons.lesson("sample")
    assert [type(a) for a in lesson.activities] == [CodeActivity, ChoiceActivity, TextActivity]
    assert [a.kind for a in lesson.activities] == ["code", "choice", "text"]
    assert lesson.activity("add").tests[0].assert_code == "assert add(2, 3) == 5"


def test_lesson_blocks_keep_text_and_activities_in_file_order(lesson_folder):
    lesson = load_manifest(lesson_folder({"01-sample.md": lesson_text()})).lesson("sample")

    assert isinstance(lesson.blocks[0], TextBlock)
    assert lesson.blocks[0].markdown == "## Some text\n\nExplanation."
    assert lesson.blocks[1:] == [ActivityBlock("add"), ActivityBlock("pick"), ActivityBlock("explain")]


def test_bad_toml_in_activity_is_reported_at_its_line_in_the_file(lesson_folder):
    text = lesson_text().replace('title = "Pick"', 'title = "Pick')
    folder = lesson_folder({"01-sample.md": text})

    problem = only_problem(folder)

    assert problem.file == str(folder / "01-sample.md")
    assert problem.line == line_of(text, 'title = "Pick')
    assert "invalid TOML" in problem.message


def test_bad_toml_in_front_matter_is_reported_at_its_line(lesson_folder):
    text = lesson_text().replace("order = 1", "order = = 1")

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, "order = = 1")
    assert "front matter" in problem.message


def test_missing_field_is_reported_at_the_start_of_the_activity(lesson_folder):
    text = lesson_text().replace('prompt = "Which?"\n', "")

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, 'id = "pick"')
    assert problem.message == "missing required field `prompt`"


def test_missing_teacher_only_field_is_reported(lesson_folder):
    text = lesson_text().replace('mark_scheme = "Because."\n', "")

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, 'id = "explain"')
    assert problem.message == "missing required field `mark_scheme`"


def test_wrong_field_type_is_reported_at_the_key(lesson_folder):
    text = lesson_text().replace("max_length = 300", 'max_length = "long"')

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, "max_length =")
    assert problem.message == "`max_length`: Expected `int`, got `str`"


def test_unknown_field_is_reported_with_a_suggestion(lesson_folder):
    text = lesson_text().replace('prompt = "Why?"', 'promt = "Why?"')

    problems = validate_lessons(lesson_folder({"01-sample.md": text}))

    assert (
        LessonProblem(
            problems[0].file, line_of(text, "promt ="), "unknown field `promt` (did you mean `prompt`?)"
        )
        in problems
    )


def test_duplicate_activity_id_is_reported_at_the_second_id(lesson_folder):
    text = lesson_text().replace('id = "explain"', 'id = "pick"')

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, 'id = "pick"', occurrence=2)
    assert problem.message.startswith("duplicate activity id `pick`")


def test_unknown_kind_is_reported_at_the_kind_line(lesson_folder):
    text = lesson_text().replace('kind = "choice"', 'kind = "choise"')

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, 'kind = "choise"')
    assert "unknown activity kind `choise`" in problem.message
    assert "did you mean `choice`" in problem.message


def test_activity_id_that_is_not_a_slug_is_reported(lesson_folder):
    text = lesson_text().replace('id = "add"', 'id = "Add Two"')

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, 'id = "Add Two"')
    assert "must be a slug" in problem.message


def test_lesson_id_that_is_not_a_slug_is_reported(lesson_folder):
    text = lesson_text("sample_1")
    folder = lesson_folder({"01-sample.md": text}, entries=[{"id": "sample", "file": "01-sample.md"}])

    problem = only_problem(folder)

    assert problem.file.endswith("01-sample.md")
    assert problem.line == line_of(text, 'id = "sample_1"')


def test_choice_correct_index_out_of_range_is_reported_at_correct(lesson_folder):
    text = lesson_text().replace("correct = [1]", "correct = [3]")

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, "correct = [3]")
    assert problem.message == "`correct` index 3 is out of range: options are 0 to 2"


def test_single_answer_choice_with_two_correct_options_is_reported(lesson_folder):
    text = lesson_text().replace("correct = [1]", "correct = [0, 1]")

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert "multiple = true" in problem.message


def test_choice_with_one_option_is_reported(lesson_folder):
    text = lesson_text().replace('options = ["a", "b", "c"]', 'options = ["a"]').replace("[1]", "[0]")

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, "options =")
    assert "2 to 8 options" in problem.message


def test_code_test_without_expected_output_or_assert_is_reported_at_its_table(lesson_folder):
    text = lesson_text().replace('assert_code = "assert add(2, 3) == 5"\n', "")

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, "[[tests]]")
    assert "needs `expected_stdout`, `assert_code` or both" in problem.message


def test_field_of_a_code_test_with_wrong_type_is_reported_at_its_key(lesson_folder):
    text = lesson_text().replace('stdin = "x"', "stdin = 5")

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, "stdin = 5")
    assert problem.message == "`stdin`: Expected `str`, got `int`"


def test_model_answer_syntax_error_is_reported_at_its_line(lesson_folder):
    text = lesson_text().replace("    return a + b", "    return a +")

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, "    return a +")
    assert problem.message.startswith("model_answer is not valid Python")


def test_activity_block_never_closed_is_reported_at_its_fence(lesson_folder):
    text = lesson_text(activities=TEXT_ACTIVITY.removesuffix("```\n"))

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, "```activity")
    assert problem.message == "this activity block is never closed"


def test_file_without_front_matter_is_reported_at_line_one(lesson_folder):
    text = "# Just Markdown\n"

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == 1
    assert "front matter" in problem.message


def test_manifest_entry_for_a_missing_file_is_reported_at_its_line(lesson_folder):
    folder = lesson_folder(
        {"01-sample.md": lesson_text()},
        entries=[{"id": "sample", "file": "01-sample.md"}, {"id": "ghost", "file": "02-ghost.md"}],
    )
    manifest = (folder / "manifest.json").read_text()

    problem = only_problem(folder)

    assert problem.file == str(folder / "manifest.json")
    assert problem.line == line_of(manifest, "02-ghost.md")
    assert problem.message == "lesson file `02-ghost.md` does not exist"


def test_duplicate_lesson_id_in_manifest_is_reported_at_the_second_entry(lesson_folder):
    folder = lesson_folder(
        {"01-sample.md": lesson_text(), "02-other.md": lesson_text(order=2)},
        entries=[{"id": "sample", "file": "01-sample.md"}, {"id": "sample", "file": "02-other.md"}],
    )
    manifest = (folder / "manifest.json").read_text()

    problem = only_problem(folder)

    assert problem.line == line_of(manifest, '"sample"', occurrence=2)
    assert problem.message == "duplicate lesson id `sample`"


def test_manifest_id_that_differs_from_the_file_id_is_reported(lesson_folder):
    folder = lesson_folder(
        {"01-sample.md": lesson_text("other")}, entries=[{"id": "sample", "file": "01-sample.md"}]
    )

    problem = only_problem(folder)

    assert problem.message == "the manifest says `sample` but 01-sample.md has id `other`"


def test_manifest_file_outside_the_folder_is_refused(lesson_folder):
    folder = lesson_folder({}, entries=[{"id": "secret", "file": "../secret.md"}])

    problem = only_problem(folder)

    assert "must name a .md file inside the lessons folder" in problem.message


def test_invalid_manifest_json_is_reported_at_its_line(tmp_path):
    (tmp_path / "manifest.json").write_text('{\n  "format": 1,\n  "title": "x",,\n  "lessons": []\n}\n')

    problem = only_problem(tmp_path)

    assert problem.line == 3
    assert problem.message.startswith("invalid JSON")


def test_missing_manifest_is_reported(tmp_path):
    problem = only_problem(tmp_path)

    assert problem.file == str(tmp_path / "manifest.json")
    assert problem.message.startswith("cannot read the manifest")


def test_two_lessons_with_the_same_order_are_reported(lesson_folder):
    text = lesson_text("other")
    folder = lesson_folder({"01-sample.md": lesson_text(), "02-other.md": text})

    problem = only_problem(folder)

    assert problem.file.endswith("02-other.md")
    assert problem.line == line_of(text, "order = 1")


def test_every_problem_in_every_file_is_reported(lesson_folder):
    broken_choice = lesson_text().replace("correct = [1]", "correct = [9]").replace('id = "add"', 'id = "A"')
    broken_toml = lesson_text("other", order=2).replace('prompt = "Why?"', "prompt = ")
    folder = lesson_folder({"01-sample.md": broken_choice, "02-other.md": broken_toml})

    with pytest.raises(LessonFormatError) as raised:
        load_manifest(folder)

    assert [(Path(p.file).name, p.line) for p in raised.value.problems] == [
        ("01-sample.md", line_of(broken_choice, 'id = "A"')),
        ("01-sample.md", line_of(broken_choice, "correct = [9]")),
        ("02-other.md", line_of(broken_toml, "prompt = ", occurrence=3)),
    ]


def test_activity_fence_inside_a_code_example_is_not_an_activity():
    example = "````markdown\n```activity\nid = 'x'\n```\n````\n"
    lesson = parse_lesson(lesson_text(activities=example + CHOICE_ACTIVITY))

    assert [a.id for a in lesson.activities] == ["pick"]
    assert "```activity" in lesson.blocks[0].markdown  # type: ignore[union-attr]


def test_longer_activity_fence_allows_code_blocks_in_the_prompt():
    block = CODE_ACTIVITY.replace("```activity", "````activity").replace("```\n", "````\n")
    block = block.replace('prompt = "Write `add(a, b)`."', 'prompt = """\n```python\nadd(1, 2)\n```\n"""')

    lesson = parse_lesson(lesson_text(activities=block))

    assert lesson.activity("add").prompt == "```python\nadd(1, 2)\n```\n"


def test_lesson_version_is_the_sha256_of_the_file_and_changes_with_it(lesson_folder):
    text = lesson_text()
    first = load_manifest(lesson_folder({"01-sample.md": text}))
    second = load_manifest(lesson_folder({"01-sample.md": text.replace("Explanation.", "Better.")}))

    assert first.lessons[0].version != second.lessons[0].version
    assert first.version != second.version
    assert len(first.lessons[0].version) == 64


def test_lessons_come_in_order_of_their_order_field(lesson_folder):
    folder = lesson_folder({"01-late.md": lesson_text("late", order=5), "02-early.md": lesson_text("early")})

    assert [lesson.id for lesson in load_manifest(folder).lessons] == ["early", "late"]


def test_windows_line_endings_are_accepted():
    lesson = parse_lesson(lesson_text().replace("\n", "\r\n"))

    assert lesson.activity("add").model_answer == "def add(a, b):\n    return a + b\n"


@given(st.text(max_size=400))
def test_arbitrary_text_gives_a_lesson_or_a_format_error(noise):
    for text in (noise, "+++\n" + noise, lesson_text(activities="```activity\n" + noise + "\n```\n")):
        problems: list[LessonProblem] = []
        try:
            parse_lesson(text)
        except LessonFormatError as error:
            problems = error.problems
        assert all(problem.line >= 1 for problem in problems)


def test_tests_may_be_written_as_an_inline_array():
    block = (
        CODE_ACTIVITY.split("[[tests]]")[0]
        + 'tests = [{name = "adds", assert_code = "assert add(1, 1) == 2"}]\n```\n'
    )

    lesson = parse_lesson(lesson_text(activities=block))

    assert [test.name for test in lesson.activity("add").tests] == ["adds"]  # type: ignore[union-attr]


def test_mistake_in_an_inline_test_is_reported_at_the_tests_line():
    block = CODE_ACTIVITY.split("[[tests]]")[0] + 'tests = [{name = "adds"}]\n```\n'
    text = lesson_text(activities=block)

    with pytest.raises(LessonFormatError) as raised:
        parse_lesson(text)

    assert [problem.line for problem in raised.value.problems] == [line_of(text, "tests = [")]


def test_problem_prints_as_file_line_message():
    assert str(LessonProblem("lessons/01-a.md", 12, "oops")) == "lessons/01-a.md:12: oops"


def test_manifest_problem_lists_problems_in_manifest_entries_without_an_id(lesson_folder):
    folder = lesson_folder({}, entries=[{"file": "01-x.md"}])  # type: ignore[list-item]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["lessons"] == [{"file": "01-x.md"}]

    problems = validate_lessons(folder)

    assert any("lesson id null must be a slug" in p.message for p in problems)


def test_hints_load_in_order_and_stay_in_the_pupils_copy(lesson_folder):
    text = lesson_text().replace(
        'prompt = "Write `add(a, b)`."', 'prompt = "Write `add(a, b)`."\nhints = ["Use +.", "Return it."]'
    )

    lesson = load_manifest(lesson_folder({"01-sample.md": text})).lessons[0]

    add = next(activity for activity in lesson.activities if activity.id == "add")
    assert add.hints == ["Use +.", "Return it."]
    assert next(a for a in lesson.for_pupil().activities if a.id == "add").hints == ["Use +.", "Return it."]


@pytest.mark.parametrize(
    ("hints", "message"),
    [('["Use +.", "  "]', "a hint must not be empty"), (str(["h"] * 6).replace("'", '"'), "at most 5 hints")],
)
def test_bad_hints_are_reported_at_the_hints(lesson_folder, hints, message):
    text = lesson_text().replace(
        'prompt = "Write `add(a, b)`."', f'prompt = "Write `add(a, b)`."\nhints = {hints}'
    )

    problem = only_problem(lesson_folder({"01-sample.md": text}))

    assert problem.line == line_of(text, "hints = ")
    assert message in problem.message
