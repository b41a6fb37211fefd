"""The teacher's class grid and marking panel over a real store, offline (desktop_windows): activities
grouped under their lessons, filtered by lesson and by pupil name, totals per pupil; painting and
scrolling the grid read no SQLite; a code answer's test results and Run; archived answers.

Set POST16_DESKTOP_SCREENSHOTS=docs/screenshots to (re)write the grid and marking screenshots."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from desktop_windows import USERS, course

from desktop.core.errors import StoreFullError
from desktop.ui.qt import QApplication, Qt
from desktop.ui.teacher import LESSON_ROLE, TOTALS_ROLE, ArchivedAnswersDialog
from shared.lessons.model import CodeActivity, CodeTest, Lesson, TextActivity
from shared.wire.auth import User
from shared.wire.marks import Mark
from shared.wire.sync import RevisionEvent
from shared.wire.teaching import ClassProgress, ProgressCell, TeacherClass

pytestmark = pytest.mark.qt

SCREENSHOTS = os.environ.get("POST16_DESKTOP_SCREENSHOTS")
PAT, SAM = USERS["pupil"], USERS["pupil2"]
ALEX = User(id=5, username="alex", display_name="Alex Archer", role="pupil")
NOW = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
PUPIL_CODE = "minutes = 135\nprint(minutes / 60)\n"


def screenshot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(SCREENSHOTS) / f"desktop-{name}.png"))


def lessons_with_tests() -> list[Lesson]:
    """The test course, its code activity with two visible tests and a hidden one."""
    lessons = course()
    first = lessons[0]
    activities = [
        CodeActivity(
            id=a.id,
            title=a.title,
            prompt=a.prompt,
            starter=a.starter,
            model_answer=a.model_answer,
            max_score=a.max_score,
            tests=[
                CodeTest(name="prints the whole hours", expected_stdout="2"),
                CodeTest(name="keeps the minutes", assert_code="assert minutes == 135"),
                CodeTest(name="secret edge case", expected_stdout="2", hidden=True),
            ],
        )
        if isinstance(a, CodeActivity)
        else a
        for a in first.activities
    ]
    lessons[0] = Lesson(
        **{**{f: getattr(first, f) for f in first.__struct_fields__}, "activities": activities}
    )
    return lessons


def with_old_question(lessons: list[Lesson]) -> list[Lesson]:
    """An earlier version of the first lesson that still had an activity the current one dropped."""
    first = lessons[0]
    old = TextActivity(id="old-question", title="Explain a variable", prompt="What is a variable?")
    fields = {f: getattr(first, f) for f in first.__struct_fields__}
    return [Lesson(**{**fields, "version": "v0", "activities": [*first.activities, old]}), *lessons[1:]]


def cell(pupil: User, lesson: str, activity: str, revision: int, mark: Mark | None = None) -> ProgressCell:
    return ProgressCell(
        pupil_id=pupil.id,
        lesson_id=lesson,
        activity_id=activity,
        revision=revision,
        updated_at=NOW,
        mark=mark,
    )


def mark(pupil: User, lesson: str, activity: str, score: float, max_score: float, **extra) -> Mark:  # type: ignore[no-untyped-def]
    return Mark(
        pupil_id=pupil.id,
        lesson_id=lesson,
        activity_id=activity,
        score=score,
        max_score=max_score,
        feedback=extra.pop("feedback", ""),
        source=extra.pop("source", "teacher"),
        marker=extra.pop("marker", "teacher"),
        marked_at=NOW,
        **extra,
    )


def revision(pupil: User, lesson: str, activity: str, number: int, state: dict) -> RevisionEvent:  # type: ignore[type-arg]
    return RevisionEvent(
        cursor="c",
        pupil_id=pupil.id,
        lesson_id=lesson,
        activity_id=activity,
        revision=number,
        state=state,
        client_time=NOW,
        received_at=NOW,
        op_id=uuid.uuid4(),
        device_id="laptop-7",
        current=True,
    )


@pytest.fixture
def classroom(laptop):  # type: ignore[no-untyped-def]
    """A class of three as the teacher's laptop last saw it (cached progress, pulled answers, a mark
    waiting to sync), with an answer to an activity a lesson update has since removed."""
    lessons = lessons_with_tests()
    session = laptop.session("teacher", with_old_question(lessons))
    store = session.store
    auto = mark(
        PAT,
        "variables",
        "print-minutes",
        0.67,
        2,
        source="auto",
        marker=None,
        revision=2,
        feedback="Automatic check of version 2: 1 of 3 tests passed.",
    )
    cells = [
        cell(PAT, "variables", "print-minutes", 2, auto),
        cell(PAT, "variables", "why-casting", 1),
        cell(PAT, "variables", "pick-type", 1, mark(PAT, "variables", "pick-type", 1, 1)),
        cell(PAT, "loops", "loops-q", 1),
        cell(
            PAT, "variables", "old-question", 1, mark(PAT, "variables", "old-question", 1, 1, feedback="Good")
        ),
        cell(SAM, "variables", "pick-type", 1, mark(SAM, "variables", "pick-type", 0, 1)),
        cell(SAM, "variables", "why-casting", 1),
        cell(SAM, "functions", "functions-q", 1),
    ]
    store.cache.put("teacher:classes", [TeacherClass(id=1, name="12C", pupil_count=3)])
    store.cache.put(
        "teacher:progress:1", ClassProgress(class_id=1, name="12C", pupils=[ALEX, PAT, SAM], cells=cells)
    )
    store.pull.apply(
        [
            revision(PAT, "variables", "print-minutes", 1, {"code": "print(2)\n"}),
            revision(PAT, "variables", "print-minutes", 2, {"code": PUPIL_CODE}),
            revision(PAT, "variables", "old-question", 1, {"text": "A name for a value in memory."}),
        ],
        "cursor-1",
    )
    store.marks.replace([auto])
    store.outbox.queue_mark(SAM.id, "variables", "why-casting", score=2, max_score=2, feedback="Spot on")
    session.close()
    return lessons


@pytest.fixture
def teacher(make_window, classroom):  # type: ignore[no-untyped-def]
    def open_at(size: tuple[int, int] = (1366, 768)):  # type: ignore[no-untyped-def]
        window = make_window("teacher", size=size, lessons=classroom)
        view = window.teacher_view
        window.tabs.setCurrentWidget(view)
        return window, view

    return open_at


def shown_totals(view) -> dict[str, str]:  # type: ignore[no-untyped-def]
    model = view.grid_model
    return {
        model.headerData(r, Qt.Orientation.Vertical): model.headerData(
            r, Qt.Orientation.Vertical, TOTALS_ROLE
        )
        for r in range(model.rowCount())
    }


def test_grid_groups_activities_under_their_lessons_with_totals_per_pupil(qtbot, teacher) -> None:
    _window, view = teacher()
    model = view.grid_model
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    lessons = [
        model.headerData(c, Qt.Orientation.Horizontal, LESSON_ROLE) for c in range(model.columnCount())
    ]
    assert lessons == ["Variables and types"] * 3 + ["Loops", "Functions"]
    assert model.lesson_span(1) == (0, 2)
    assert model.lesson_span(3) == (3, 3)
    # marks / maximum over every activity · answered / activities; Sam's mark made here counts at once
    assert shown_totals(view) == {
        "Alex Archer": "0/7 · 0/5",
        "Pat Pupil": "1.67/7 · 4/5",
        "Sam Second": "2/7 · 3/5",
    }
    tip = model.headerData(model.row_of(PAT.id), Qt.Orientation.Vertical, Qt.ItemDataRole.ToolTipRole)
    assert tip == "Pat Pupil (all lessons): 1.67 of 7 marks; 4 of 5 activities answered, 2 marked, 2 to mark"
    sam_casting = model.cell_state(model.row_of(SAM.id), model.column_of("variables", "why-casting"))
    assert sam_casting[0] == "pending"
    assert "12C" in view.progress_title.text()
    assert view.totals_note.text().startswith("3 of 3 pupils")


def test_grid_filters_by_lesson_and_pupil_name(qtbot, teacher) -> None:
    _window, view = teacher()
    model = view.grid_model
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    assert [view.lesson_filter.itemText(i) for i in range(view.lesson_filter.count())] == [
        "All lessons",
        "Variables and types",
        "Loops",
        "Functions",
    ]
    view.lesson_filter.setCurrentIndex(1)
    assert [c.activity.title for c in model.columns] == [
        "Print the minutes",
        "Why cast input?",
        "Pick the type",
    ]
    assert shown_totals(view) == {
        "Alex Archer": "0/5 · 0/3",
        "Pat Pupil": "1.67/5 · 3/3",
        "Sam Second": "2/5 · 2/3",
    }
    assert "for this lesson" in view.totals_note.text()

    qtbot.keyClicks(view.pupil_filter, "sam")
    assert [model.pupil(r).display_name for r in range(model.rowCount())] == ["Sam Second"]
    assert view.totals_note.text().startswith("1 of 3 pupils")
    view.pupil_filter.clear()
    view.lesson_filter.setCurrentIndex(0)
    assert model.rowCount() == 3
    assert model.columnCount() == 5


def test_painting_and_scrolling_the_grid_run_no_sqlite_query(qtbot, teacher) -> None:
    window, view = teacher((1024, 600))
    model = view.grid_model
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    QApplication.processEvents()
    statements: list[str] = []
    store = window.session.store
    store.trace_queries(statements.append)
    try:
        for row in range(model.rowCount()):
            for column in range(model.columnCount()):
                index = model.index(row, column)
                view.grid.scrollTo(index)
                for role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
                    assert model.data(index, role)
                view.grid.grab()
        view.lesson_filter.setCurrentIndex(2)
        qtbot.keyClicks(view.pupil_filter, "p")
        view.grid.grab()
    finally:
        store.trace_queries(None)
    assert statements == []


def test_a_mark_saved_changes_its_cell_and_the_pupils_total_at_once(qtbot, teacher) -> None:
    _window, view = teacher()
    model = view.grid_model
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    row, column = model.row_of(PAT.id), model.column_of("variables", "why-casting")
    view.open_cell(row, column)
    view.marking.score.setText("2")
    view.marking.save_button.click()
    assert model.cell_state(row, column)[0] == "pending"
    assert model.data(model.index(row, column)) == "↻ 2/2"
    assert shown_totals(view)["Pat Pupil"] == "3.67/7 · 4/5"


def test_a_mark_the_store_cannot_save_is_reported_and_its_cell_stays_as_it_was(
    qtbot, teacher, monkeypatch
) -> None:
    window, view = teacher()
    model = view.grid_model
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    row, column = model.row_of(PAT.id), model.column_of("variables", "why-casting")
    before = (model.cell_state(row, column), shown_totals(view)["Pat Pupil"])

    def disk_full(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise StoreFullError("Not saved: the disk is full. Free some space; your answer is still on screen.")

    monkeypatch.setattr(window.session.store.outbox, "queue_mark", disk_full)
    view.open_cell(row, column)
    view.marking.score.setText("2")
    view.marking.save_button.click()
    assert window.notifications.message.toolTip().startswith("Not saved: the disk is full.")
    assert (model.cell_state(row, column), shown_totals(view)["Pat Pupil"]) == before


def test_marking_code_shows_the_servers_check_and_the_visible_tests_by_name(qtbot, teacher) -> None:
    window, view = teacher()
    model = view.grid_model
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    view.open_cell(model.row_of(PAT.id), model.column_of("variables", "print-minutes"))
    marking = view.marking
    assert marking.code_tools.isVisible()
    assert marking.code_answer.toPlainText() == PUPIL_CODE
    results = marking.test_results.text()
    assert "Server's check</b> of version 2: 0.67 / 2" in results
    assert "1 of 3 tests passed" in results

    marking.check_button.click()
    qtbot.waitUntil(lambda: "run here" in marking.test_results.text(), timeout=30_000)
    results = marking.test_results.text()
    assert "<b>Visible tests</b> on version 2, run here: 1 of 2 pass" in results
    assert "✘ prints the whole hours" in results
    assert "✔ keeps the minutes" in results
    assert "1 hidden test runs on the server only" in results
    assert "secret edge case" not in results  # hidden tests are counted, never named
    screenshot(window, "teacher-marking-tests-1366x768")

    marking.revisions.setCurrentRow(1)  # version 1
    assert "you are looking at version 1" in marking.test_results.text()
    assert "run here" not in marking.test_results.text()


def test_the_teacher_runs_the_pupils_code_on_this_computer(qtbot, teacher) -> None:
    _window, view = teacher()
    model = view.grid_model
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    view.open_cell(model.row_of(PAT.id), model.column_of("variables", "print-minutes"))
    marking = view.marking
    marking.run_button.click()
    console = marking.console
    assert console is not None
    assert console.isVisible()
    qtbot.waitUntil(lambda: "2.25" in console.output.toPlainText(), timeout=30_000)
    qtbot.waitUntil(lambda: console.status.text().startswith("Finished"), timeout=30_000)

    marking.revisions.setCurrentRow(1)  # the earlier version runs as it was
    marking.run_button.click()
    qtbot.waitUntil(lambda: console.output.toPlainText().strip() == "2", timeout=30_000)


def test_the_teacher_sees_a_pupils_archived_answers_read_only(qtbot, teacher) -> None:
    _window, view = teacher()
    model = view.grid_model
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    assert model.column_of("variables", "old-question") == -1  # not a column any more
    view.open_cell(model.row_of(PAT.id), 0)
    marking = view.marking
    assert marking.archived_button.isVisible()
    assert marking.archived_button.text() == "Archived answers (1)…"
    marking.archived_button.click()
    dialog = marking.archived_dialog
    assert isinstance(dialog, ArchivedAnswersDialog)
    qtbot.waitExposed(dialog)
    text = dialog.text()
    assert "A name for a value in memory." in text
    assert "Version 1" in text
    assert "mark 1 / 1: Good" in text
    (answer, _status) = dialog.entries[("variables", "old-question")]
    assert answer.isReadOnly()
    screenshot(dialog, "teacher-archived-answers")
    dialog.close()

    view.open_cell(model.row_of(SAM.id), 0)
    assert not marking.archived_button.isVisible()


@pytest.mark.parametrize("size", [(1366, 768), (1024, 600)], ids=["1366x768", "1024x600"])
def test_grid_and_marking_panel_fit_the_screen(qtbot, teacher, size) -> None:  # type: ignore[no-untyped-def]
    window, view = teacher(size)
    model = view.grid_model
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    view.open_cell(model.row_of(PAT.id), model.column_of("variables", "print-minutes"))
    QApplication.processEvents()
    for widget in (view.lesson_filter, view.pupil_filter, view.grid, view.marking_scroll):
        assert widget.isVisible()
        top_left = widget.mapTo(window, widget.rect().topLeft())
        assert window.rect().contains(top_left)
    screenshot(window, f"teacher-grid-{size[0]}x{size[1]}")
