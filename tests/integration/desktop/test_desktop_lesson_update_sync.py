"""Lesson updates end to end (issue 9): a teacher edits the lesson files of a real server process on
PostgreSQL; the server reloads them; the pupil's desktop app (real widgets, offscreen) picks up the new
version at its next sync, keeps answers to activities that remain, and shows answers to removed
activities, and to a lesson removed from the manifest, as archived. Nothing is lost."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from desktop.ui.activities import ChoiceActivityWidget, CodeActivityWidget, TextActivityWidget
from desktop.ui.lesson_view import ARCHIVE_ID
from shared.lessons import validate_lessons

pytestmark = [pytest.mark.qt, pytest.mark.postgres, pytest.mark.slow]

REPO_LESSONS = Path(__file__).resolve().parents[3] / "lessons"
SCREENSHOTS = os.environ.get("POST16_DESKTOP_SCREENSHOTS")
LESSON = "variables-and-types"
LESSON_FILE = "01-variables-and-types.md"
REMOVED_ACTIVITY = "why-casting"


@pytest.fixture
def lessons_dir(tmp_path: Path) -> Path:
    target = tmp_path / "lessons"
    shutil.copytree(REPO_LESSONS, target)
    return target


@pytest.fixture
def server_overrides(lessons_dir: Path) -> dict[str, str]:
    return {"POST16_LESSONS_DIR": str(lessons_dir), "POST16_LESSONS_RELOAD_SECONDS": "1"}


def screenshot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(SCREENSHOTS) / f"desktop-{name}.png"))


def synced(window) -> bool:  # type: ignore[no-untyped-def]
    status = window.status_bar.current
    return window.session.store.outbox.pending_count() == 0 and status is not None and status.state == "idle"


def served_versions(classroom) -> dict[str, str]:  # type: ignore[no-untyped-def]
    response = classroom.get("pupil", "/api/lessons")
    response.raise_for_status()
    return {lesson["id"]: lesson["version"] for lesson in response.json()["lessons"]}


def wait_for_server_reload(classroom, predicate, timeout: float = 30.0) -> dict[str, str]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        versions = served_versions(classroom)
        if predicate(versions):
            return versions
        time.sleep(0.3)
    raise AssertionError("the server did not reload the edited lessons")


def edit_valid(lessons_dir: Path, name: str, change) -> None:  # type: ignore[no-untyped-def]
    """Rewrite one file of the lessons folder, checking the folder still validates."""
    path = lessons_dir / name
    before = path.read_text(encoding="utf-8")
    after = change(before)
    assert after != before
    path.write_text(after, encoding="utf-8")
    assert validate_lessons(lessons_dir) == []


def test_new_lesson_version_keeps_remaining_answers_and_archives_the_removed_one(
    qtbot, open_app, classroom, lessons_dir: Path
) -> None:
    window = open_app("pupil")
    window.open_lesson_by_id(LESSON)
    view = window.lesson_view
    old_version = view.lesson.version
    code = next(w for w in view.activity_widgets.values() if isinstance(w, CodeActivityWidget))
    text = view.activity_widgets[REMOVED_ACTIVITY]
    assert isinstance(text, TextActivityWidget)
    code.editor.setPlainText("total_seconds = int(input())\nprint(total_seconds // 60)\n")
    assert code.save_now()
    text.editor.setPlainText("input() gives a str, and str + int is a TypeError. Use int(input()).")
    assert text.save_now()
    qtbot.waitUntil(lambda: synced(window), timeout=20_000)

    def revise(source: str) -> str:
        source = source.replace(
            "## Variables: names for values",
            "## Variables: names for values\n\nREVISED: this lesson was updated by your teacher.",
        )
        return re.sub(r'````activity\nid = "why-casting".*?\n````\n', "", source, flags=re.DOTALL)

    edit_valid(lessons_dir, LESSON_FILE, revise)
    new_version = wait_for_server_reload(classroom, lambda v: v.get(LESSON) not in (None, old_version))[
        LESSON
    ]

    window.sync.sync_now()
    qtbot.waitUntil(lambda: view.lesson is not None and view.lesson.version == new_version, timeout=30_000)

    cached = window.session.store.lessons.get(LESSON)
    assert cached is not None
    assert cached.version == new_version
    assert any("REVISED: this lesson was updated" in getattr(b, "markdown", "") for b in cached.blocks)
    assert REMOVED_ACTIVITY not in view.activity_widgets
    kept = next(w for w in view.activity_widgets.values() if isinstance(w, CodeActivityWidget))
    assert kept.editor.toPlainText() == "total_seconds = int(input())\nprint(total_seconds // 60)\n"
    section = view.archived_section
    assert section is not None
    assert section.isVisible()
    shown = section.text()
    assert "Archived answers" in shown
    assert "Why does this crash?" in shown
    assert "input() gives a str, and str + int is a TypeError. Use int(input())." in shown
    assert "synced (version 1)" in shown
    [entry] = section.entries
    assert entry.content.isReadOnly()
    assert any("Archived answers" in message for _, message in window.notifications.history)
    view.ensureWidgetVisible(section)
    screenshot(window, "archived-answers")

    # The remaining answer is still attached and editable: a new version reaches the server.
    kept.editor.setPlainText("total_seconds = int(input())\nprint(total_seconds // 60, total_seconds % 60)\n")
    assert kept.save_now()
    qtbot.waitUntil(lambda: synced(window), timeout=20_000)
    state = classroom.get("pupil", f"/api/activity/state/{LESSON}/{kept.activity.id}").json()
    assert state["state"] == {
        "code": "total_seconds = int(input())\nprint(total_seconds // 60, total_seconds % 60)\n"
    }
    # Nothing lost: the removed activity's answer is still in the store, beside the kept one.
    archived = window.session.store.lessons.archived_answers(LESSON)
    assert [(a.activity_id, a.lesson_removed) for a in archived] == [(REMOVED_ACTIVITY, False)]
    assert window.session.store.outbox.rejected_operations() == []


def test_lesson_removed_from_the_manifest_keeps_its_answers_under_archived(
    qtbot, open_app, classroom, lessons_dir: Path
) -> None:
    window = open_app("pupil")
    window.open_lesson_by_id("selection")
    view = window.lesson_view
    choice = next(w for w in view.activity_widgets.values() if isinstance(w, ChoiceActivityWidget))
    text = next(w for w in view.activity_widgets.values() if isinstance(w, TextActivityWidget))
    choice.select(1)
    text.editor.setPlainText("elif stops at the first true test; separate ifs test every one.")
    assert text.save_now()
    qtbot.waitUntil(lambda: synced(window), timeout=20_000)
    choice_label = choice.activity.options[1]

    def drop_selection(source: str) -> str:
        manifest = json.loads(source)
        manifest["lessons"] = [entry for entry in manifest["lessons"] if entry["id"] != "selection"]
        return json.dumps(manifest, indent=2) + "\n"

    edit_valid(lessons_dir, "manifest.json", drop_selection)
    wait_for_server_reload(classroom, lambda versions: "selection" not in versions)

    window.sync.sync_now()
    qtbot.waitUntil(lambda: window.lesson_model.row_of("selection") == -1, timeout=30_000)

    assert window.lesson_model.row_of(ARCHIVE_ID) == window.lesson_model.rowCount() - 1
    archive_index = window.lesson_model.index(window.lesson_model.row_of(ARCHIVE_ID))
    assert window.lesson_model.data(archive_index) == "Archived answers (2)"
    # The open lesson was removed: the view moved to the archive page, read-only.
    assert view.lesson_id == ARCHIVE_ID
    assert view.activity_widgets == {}
    assert any("no longer part of the course" in message for _, message in window.notifications.history)

    window.open_lesson(0)
    assert view.lesson_id != ARCHIVE_ID
    window.open_archive()
    assert view.lesson_id == ARCHIVE_ID
    section = view.archived_section
    assert section is not None
    shown = section.text()
    assert "Selection: making decisions" in shown
    assert f"Chosen: {choice_label}" in shown
    assert "elif stops at the first true test; separate ifs test every one." in shown
    assert all(entry.content.isReadOnly() for entry in section.entries)
    assert len(window.session.store.lessons.archived_answers()) == 2
