"""Specification points in the manifest (``"spec"``): checked for form, carried onto each lesson, tabled."""

from __future__ import annotations

import pytest
from lesson_samples import lesson_text

from shared.lessons import load_manifest, validate_lessons
from shared.lessons.cli import main
from shared.lessons.specpoints import spec_point_key, spec_points_problems


def entry(spec: object) -> list[dict[str, object]]:
    return [{"id": "sample", "file": "01-sample.md", "spec": spec}]


@pytest.mark.parametrize(
    "point", ["AQA 4.1", "AQA 4.2.3", "AQA 4.1.1.16", "OCR 2.3", "OCR 1.4.2", "OCR 2.3.1 f"]
)
def test_well_formed_points_of_both_boards_are_accepted(point):
    assert spec_points_problems([point]) == []


@pytest.mark.parametrize(
    ("point", "complaint"),
    [
        ("Edexcel 1.1", "known board"),
        ("aqa 4.1.1", "known board"),
        ("AQA4.1.1", "known board"),
        ("AQA 4..2", "well-formed AQA"),
        ("AQA 3.1.1", "well-formed AQA"),
        ("AQA 4.1.1.1.1", "well-formed AQA"),
        ("OCR 2.3.1f", "well-formed OCR"),
        ("OCR 2.3 f", "well-formed OCR"),
        ("OCR 3.1.1", "well-formed OCR"),
    ],
)
def test_malformed_points_are_refused_with_the_reason(point, complaint):
    [problem] = spec_points_problems([point])

    assert point in problem
    assert complaint in problem


@pytest.mark.parametrize("value", [[], "AQA 4.1.1", None, {"AQA": "4.1"}])
def test_spec_must_be_a_non_empty_list(value):
    assert spec_points_problems(value) == [
        '`spec` must be a non-empty list of specification points such as "AQA 4.2.3.1"'
    ]


def test_a_point_listed_twice_is_refused():
    assert spec_points_problems(["AQA 4.2.3.1", "AQA 4.2.3.1"]) == [
        "specification point `AQA 4.2.3.1` is listed twice"
    ]


def test_points_sort_by_number_not_by_text():
    points = ["OCR 2.3.1 f", "AQA 4.1.1.10", "AQA 4.1.1.9", "OCR 2.3.1 a"]

    assert sorted(points, key=spec_point_key) == ["AQA 4.1.1.9", "AQA 4.1.1.10", "OCR 2.3.1 a", "OCR 2.3.1 f"]


def test_the_manifest_spec_reaches_the_lesson(lesson_folder):
    folder = lesson_folder({"01-sample.md": lesson_text()}, entry(["AQA 4.2.3.1", "OCR 1.4.2 b"]))

    assert load_manifest(folder).lesson("sample").spec == ["AQA 4.2.3.1", "OCR 1.4.2 b"]


def test_a_lesson_entry_without_spec_is_still_valid(lesson_folder):
    folder = lesson_folder({"01-sample.md": lesson_text()})

    assert load_manifest(folder).lesson("sample").spec == []


def test_a_bad_point_is_reported_on_its_manifest_line(lesson_folder):
    folder = lesson_folder({"01-sample.md": lesson_text()}, entry(["AQA 4.2.3.1", "OCR 1.4.2b"]))

    [problem] = validate_lessons(folder)

    assert problem.file.endswith("manifest.json")
    assert '"id": "sample"' in (folder / "manifest.json").read_text().splitlines()[problem.line - 1]
    assert "`OCR 1.4.2b` is not a well-formed OCR point" in problem.message


def test_curriculum_command_tables_each_point_with_its_lesson_and_activities(lesson_folder, capsys):
    folder = lesson_folder({"01-sample.md": lesson_text()}, entry(["OCR 2.2.1 a", "AQA 4.1.1.2"]))

    assert main(["curriculum", str(folder)]) == 0

    table = capsys.readouterr().out
    aqa_row = "| AQA 4.1.1.2 | 1. Sample lesson (`sample`) | "
    ocr_row = "| OCR 2.2.1 a | 1. Sample lesson (`sample`) | "
    assert aqa_row in table
    assert ocr_row in table
    assert table.index(aqa_row) < table.index(ocr_row)
    assert "(code)" in table
    assert "(choice)" in table


def test_curriculum_command_on_a_broken_folder_prints_the_problems_and_exits_one(lesson_folder, capsys):
    folder = lesson_folder({"01-sample.md": lesson_text()}, entry(["AQA 4"]))

    assert main(["curriculum", str(folder)]) == 1

    assert "well-formed AQA point" in capsys.readouterr().err
