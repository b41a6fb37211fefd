"""The Structs: pupil copies, summaries and the JSON the server and desktop exchange."""

from __future__ import annotations

import msgspec
from lesson_samples import lesson_text

from shared.lessons import CodeTest, Lesson, ManifestSummary, load_manifest, parse_lesson


def test_pupil_copy_has_no_model_answer():
    lesson = parse_lesson(lesson_text()).for_pupil()

    assert lesson.activity("add").model_answer is None  # type: ignore[union-attr]


def test_pupil_copy_has_no_correct_options():
    lesson = parse_lesson(lesson_text()).for_pupil()

    assert lesson.activity("pick").correct is None  # type: ignore[union-attr]


def test_pupil_copy_has_no_mark_scheme():
    lesson = parse_lesson(lesson_text()).for_pupil()

    assert lesson.activity("explain").mark_scheme is None  # type: ignore[union-attr]


def test_pupil_copy_has_no_wrong_answers():
    text = lesson_text().replace(
        'model_answer = """', 'wrong_answers = [\'def add(a, b): return 1\']\nmodel_answer = """'
    )
    teacher = parse_lesson(text)
    assert teacher.activity("add").wrong_answers  # type: ignore[union-attr]

    assert teacher.for_pupil().activity("add").wrong_answers == []  # type: ignore[union-attr]


def test_pupil_copy_keeps_visible_tests_and_only_the_name_of_hidden_ones():
    tests = parse_lesson(lesson_text()).for_pupil().activity("add").tests  # type: ignore[union-attr]

    assert tests[0] == CodeTest(name="adds", assert_code="assert add(2, 3) == 5")
    assert tests[1] == CodeTest(name="secret", hidden=True)


def test_pupil_copy_is_marked_and_leaves_the_teacher_copy_alone():
    teacher = parse_lesson(lesson_text())

    pupil = teacher.for_pupil()

    assert pupil.pupil_view
    assert not teacher.pupil_view
    assert teacher.activity("add").model_answer is not None  # type: ignore[union-attr]


def test_pupil_json_contains_no_teacher_only_text():
    encoded = msgspec.json.encode(parse_lesson(lesson_text()).for_pupil()).decode()

    for secret in ("return a + b", "Because.", "add(-1, 1)"):
        assert secret not in encoded


def test_lesson_survives_a_json_round_trip():
    lesson = parse_lesson(lesson_text())

    decoded = msgspec.json.decode(msgspec.json.encode(lesson), type=Lesson)

    assert decoded == lesson


def test_json_names_the_activity_kind():
    encoded = msgspec.json.decode(msgspec.json.encode(parse_lesson(lesson_text())))

    assert [a["kind"] for a in encoded["activities"]] == ["code", "choice", "text"]


def test_summary_lists_lessons_with_version_and_activities(lesson_folder):
    lessons = load_manifest(lesson_folder({"01-sample.md": lesson_text()}))

    summary = lessons.summary()

    assert isinstance(summary, ManifestSummary)
    assert summary.version == lessons.version
    entry = summary.lessons[0]
    assert (entry.id, entry.version) == ("sample", lessons.lessons[0].version)
    assert [(a.id, a.kind, a.title, a.max_score) for a in entry.activities] == [
        ("add", "code", "Add", 2.0),
        ("pick", "choice", "Pick", 1.0),
        ("explain", "text", "Explain", 1.0),
    ]


def test_unknown_lesson_lookup_returns_none(lesson_folder):
    lessons = load_manifest(lesson_folder({"01-sample.md": lesson_text()}))

    assert lessons.get("nope") is None
