"""``post16-lessons validate | preview | new``."""

from __future__ import annotations

import json

from lesson_samples import lesson_text, line_of

from shared.lessons import load_manifest
from shared.lessons.cli import main


def test_validate_good_folder_exits_zero_with_a_summary(lesson_folder, capsys):
    folder = lesson_folder({"01-sample.md": lesson_text()})

    assert main(["validate", str(folder)]) == 0

    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "1 lesson, 3 activities" in out
    assert "all valid" in out


def test_validate_prints_each_problem_as_file_line_message_and_exits_one(lesson_folder, capsys):
    text = lesson_text().replace("correct = [1]", "correct = [5]").replace('kind = "text"', 'kind = "essay"')
    folder = lesson_folder({"01-sample.md": text})

    assert main(["validate", str(folder)]) == 1

    lines = capsys.readouterr().err.splitlines()
    path = folder / "01-sample.md"
    correct_line, kind_line = line_of(text, "correct = [5]"), line_of(text, 'kind = "essay"')
    assert lines[0].startswith(f"{path}:{correct_line}: ")
    assert lines[1].startswith(f"{path}:{kind_line}: unknown activity kind")
    assert lines[2] == f"2 problems in {folder}"


def test_validate_uses_the_lessons_dir_from_the_environment(lesson_folder, monkeypatch):
    folder = lesson_folder({"01-sample.md": lesson_text()})
    monkeypatch.setenv("POST16_LESSONS_DIR", str(folder))

    assert main(["validate"]) == 0


def test_preview_of_a_file_writes_html_with_highlighted_code(lesson_folder, tmp_path):
    folder = lesson_folder({"01-sample.md": lesson_text()})
    out = tmp_path / "preview.html"

    assert main(["preview", str(folder / "01-sample.md"), "-o", str(out)]) == 0

    page = out.read_text()
    assert page.startswith("<!doctype html>")
    assert '<pre class="highlight"><code><span class="k">def</span>' in page
    assert "Sample lesson" in page


def test_teacher_preview_shows_the_model_answer(lesson_folder, capsys):
    folder = lesson_folder({"01-sample.md": lesson_text()})

    assert main(["preview", "sample", "--dir", str(folder)]) == 0

    assert "Model answer" in capsys.readouterr().out


def test_pupil_preview_hides_the_answers(lesson_folder, capsys):
    folder = lesson_folder({"01-sample.md": lesson_text()})

    assert main(["preview", "sample", "--dir", str(folder), "--pupil"]) == 0

    page = capsys.readouterr().out
    assert "Model answer" not in page
    assert "Mark scheme" not in page
    assert "correct" not in page


def test_preview_of_an_unknown_id_exits_two(lesson_folder, capsys):
    folder = lesson_folder({"01-sample.md": lesson_text()})

    assert main(["preview", "nope", "--dir", str(folder)]) == 2
    assert "nope" in capsys.readouterr().err


def test_preview_of_a_broken_file_prints_its_problems(lesson_folder, capsys):
    folder = lesson_folder({"01-sample.md": lesson_text().replace("correct = [1]", "correct = [5]")})

    assert main(["preview", str(folder / "01-sample.md")]) == 1
    assert "out of range" in capsys.readouterr().err


def test_new_creates_a_valid_lesson_listed_in_the_manifest(lesson_folder):
    folder = lesson_folder({"01-sample.md": lesson_text()})

    assert main(["new", "binary-numbers", "--title", "Binary numbers", str(folder)]) == 0

    lesson = load_manifest(folder).lesson("binary-numbers")
    assert lesson.title == "Binary numbers"
    assert lesson.source_file == "02-binary-numbers.md"
    assert sorted(a.kind for a in lesson.activities) == ["choice", "code", "text"]
    assert lesson.order == 2


def test_new_keeps_one_manifest_entry_per_line(lesson_folder):
    folder = lesson_folder({"01-sample.md": lesson_text()})

    main(["new", "second", "--title", "Second", str(folder)])

    lines = (folder / "manifest.json").read_text().splitlines()
    assert '    {"id": "sample", "file": "01-sample.md"},' in lines
    assert '    {"id": "second", "file": "02-second.md"}' in lines


def test_new_refuses_an_existing_id(lesson_folder, capsys):
    folder = lesson_folder({"01-sample.md": lesson_text()})
    manifest_before = (folder / "manifest.json").read_text()

    assert main(["new", "sample", "--title", "Again", str(folder)]) == 1

    assert "already exists" in capsys.readouterr().err
    assert (folder / "manifest.json").read_text() == manifest_before


def test_new_refuses_an_id_that_is_not_a_slug(tmp_path, capsys):
    assert main(["new", "Bad Id", "--title", "T", str(tmp_path)]) == 1
    assert "not a valid id" in capsys.readouterr().err


def test_new_in_an_empty_folder_creates_the_manifest(tmp_path):
    folder = tmp_path / "fresh"

    assert main(["new", "first", "--title", 'Quotes "and" £ signs', str(folder)]) == 0

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["lessons"] == [{"id": "first", "file": "01-first.md"}]
    assert load_manifest(folder).lesson("first").title == 'Quotes "and" £ signs'
