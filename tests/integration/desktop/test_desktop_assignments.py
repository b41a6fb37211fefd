"""Assignments through the real stack: a server process on PostgreSQL, the teacher's and the pupil's apps
(real widgets, offscreen). The teacher sets work while the server is down; it reaches the pupil at the
next sync; the pupil's Due work tab shows what is due, overdue, and the server's receipt as evidence of
hand-in; the teacher's grid shows the one assignment with who handed in on time or late, and exports
marks as CSV for the markbook."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop.ui.activities import ChoiceActivityWidget, TextActivityWidget
from desktop.ui.assignments import AssignmentDialog
from desktop.ui.qt import QDateTime, Qt
from desktop.ui.teacher import TOTALS_ROLE

pytestmark = [pytest.mark.qt, pytest.mark.postgres, pytest.mark.slow]

SCREENSHOTS = os.environ.get("POST16_DESKTOP_SCREENSHOTS")  # as in test_desktop_screens.py
LESSON = "variables-and-types"
CHOICE = "division-result-type"
TEXT = "why-casting"


def screenshot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(SCREENSHOTS) / f"desktop-{name}.png"))


def open_classes(qtbot, teacher):  # type: ignore[no-untyped-def]
    teacher.tabs.setCurrentWidget(teacher.teacher_view)
    panel = teacher.teacher_view.assignments
    qtbot.waitUntil(lambda: panel.class_id is not None and panel.set_button.isEnabled(), timeout=30_000)
    model = teacher.teacher_view.grid_model  # the class's progress is here (cached for offline use)
    qtbot.waitUntil(lambda: model.rowCount() > 0 and model.columnCount() > 0, timeout=30_000)
    return panel


def fill_dialog(dialog: AssignmentDialog, *, title: str, activities: list[str], due: datetime) -> None:
    dialog.lesson.setCurrentIndex(dialog.lesson.findData(LESSON))
    dialog.whole.setChecked(False)
    for row in range(dialog.activities.count()):
        item = dialog.activities.item(row)
        wanted = item.data(Qt.ItemDataRole.UserRole) in activities
        item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
    dialog.title.setText(title)
    dialog.due.setDateTime(QDateTime.fromSecsSinceEpoch(int(due.timestamp())))


def set_work(qtbot, panel, *, title: str, activities: list[str], due: datetime) -> None:  # type: ignore[no-untyped-def]
    panel.set_button.click()
    dialog = panel.dialog
    fill_dialog(dialog, title=title, activities=activities, due=due)
    with qtbot.waitSignal(dialog.accepted, timeout=5_000):
        dialog.ok_button.click()


def test_teacher_sets_work_offline_and_the_pupil_sees_it_due_then_handed_in_with_the_servers_receipt(
    qtbot, open_app, classroom
) -> None:
    teacher = open_app("teacher", laptop="teacher-laptop")
    panel = open_classes(qtbot, teacher)
    classroom.server.stop()  # the teacher's laptop is offline from here

    due = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    set_work(qtbot, panel, title="Types homework", activities=[CHOICE, TEXT], due=due)
    store = teacher.session.store
    assert [op.kind for op in store.outbox.pending_operations()] == ["assignment.set"]
    assert panel.list.currentItem().text().startswith("Types homework — due ")
    assert "waiting to sync" in panel.list.currentItem().text()
    model = teacher.teacher_view.grid_model
    assert model.assignment is not None
    assert {c.activity.id for c in model.columns} == {CHOICE, TEXT}  # the grid shows the assignment only

    classroom.server.start()
    qtbot.waitUntil(lambda: store.outbox.pending_count() == 0, timeout=30_000)
    qtbot.waitUntil(lambda: "waiting to sync" not in panel.list.currentItem().text(), timeout=30_000)
    listed = classroom.get("teacher", f"/api/teacher/classes/{classroom.class_id}/assignments").json()
    assert [(a["title"], a["activity_ids"]) for a in listed] == [("Types homework", [CHOICE, TEXT])]
    assert datetime.fromisoformat(listed[0]["due_at"]) == due

    pupil = open_app("pupil")
    due_view = pupil.due_view
    assert due_view is not None
    qtbot.waitUntil(lambda: "Types homework" in due_view.text(), timeout=30_000)
    text = due_view.text()
    assert "Due " in text
    assert "0 of 2 handed in" in text
    assert text.count("Not handed in yet") == 2
    assert "school server receives it" in due_view.note.text()  # the server's time is what counts
    assert pupil.tabs.tabText(pupil.tabs.indexOf(due_view)) == "&Due work (1)"

    # Offline, the pupil answers: saved here, not yet received: never shown as handed in.
    classroom.server.stop()
    due_view.open_requested.emit(LESSON, CHOICE)
    assert pupil.lesson_view.lesson is not None
    assert pupil.lesson_view.lesson.id == LESSON
    choice = pupil.lesson_view.activity_widgets[CHOICE]
    assert isinstance(choice, ChoiceActivityWidget)
    choice.select(1)
    qtbot.waitUntil(lambda: "Saved on this computer, not yet received by the school" in due_view.text())
    assert "1 waiting to be sent" in due_view.text()

    classroom.server.start()
    qtbot.waitUntil(lambda: "Handed in: received by the school" in due_view.text(), timeout=30_000)
    assert "on time" in due_view.text()
    assert "1 of 2 handed in" in due_view.text()
    receipt = classroom.get("pupil", "/api/assignments").json()[0]["work"][0]
    assert receipt["activity_id"] == CHOICE
    assert receipt["status"] == "on_time"
    received = datetime.fromisoformat(receipt["received_at"]).astimezone()
    assert f"{received:%H:%M}" in due_view.text()  # the server's receipt, as the server gave it
    qtbot.waitUntil(lambda: "1 / 1" in due_view.text(), timeout=30_000)  # the automatic mark, by pull
    pupil.tabs.setCurrentWidget(due_view)
    pupil.resize(1366, 768)
    screenshot(pupil, "pupil-due-work")

    # The teacher's grid, showing the assignment: the pupil's hand-in, by the server's receipt.
    teacher.teacher_view.refresh()
    row = model.row_of(classroom.pupil_id)
    qtbot.waitUntil(
        lambda: "1 on time" in str(model.headerData(row, Qt.Orientation.Vertical, TOTALS_ROLE)),
        timeout=30_000,
    )
    header = model.headerData(row, Qt.Orientation.Vertical, TOTALS_ROLE)
    assert "1 missing" in header
    assert model.handed_in(row, model.column_of(LESSON, CHOICE)) == "on time"
    assert model.handed_in(row, model.column_of(LESSON, TEXT)) == "missing"
    teacher.resize(1366, 768)
    screenshot(teacher, "teacher-assignment")


def test_overdue_work_shows_as_overdue_and_an_answer_after_the_due_time_as_late(
    qtbot, open_app, classroom
) -> None:
    teacher = open_app("teacher", laptop="teacher-laptop")
    panel = open_classes(qtbot, teacher)
    set_work(
        qtbot,
        panel,
        title="Explain the crash",
        activities=[TEXT],
        due=datetime.now(UTC) + timedelta(days=1),
    )
    store = teacher.session.store
    qtbot.waitUntil(lambda: store.outbox.pending_count() == 0, timeout=30_000)

    # The teacher brings the deadline forward to one already passed (a change may; a new one may not).
    qtbot.waitUntil(lambda: panel.chosen() is not None and not panel.chosen().pending, timeout=30_000)
    panel.change_button.click()
    dialog = panel.dialog
    assert not dialog.lesson.isEnabled()
    dialog.due.setDateTime(
        QDateTime.fromSecsSinceEpoch(int((datetime.now(UTC) - timedelta(hours=2)).timestamp()))
    )
    with qtbot.waitSignal(dialog.accepted, timeout=5_000):
        dialog.ok_button.click()
    qtbot.waitUntil(lambda: store.outbox.pending_count() == 0, timeout=30_000)

    pupil = open_app("pupil")
    due_view = pupil.due_view
    qtbot.waitUntil(lambda: "Explain the crash" in due_view.text(), timeout=30_000)
    assert "Overdue — was due today" in due_view.text() or "Overdue — was due yesterday" in due_view.text()
    pupil.tabs.setCurrentWidget(due_view)
    screenshot(pupil, "pupil-due-overdue")

    pupil.open_lesson_by_id(LESSON)
    written = pupil.lesson_view.activity_widgets[TEXT]
    assert isinstance(written, TextActivityWidget)
    written.editor.setPlainText("input() gives a str, and str + int is a TypeError: use int(input()).")
    assert written.save_now()
    qtbot.waitUntil(lambda: "Handed in late" in due_view.text(), timeout=30_000)
    assert "after the due time" in due_view.text()
    assert "Overdue" not in due_view.text()

    teacher.teacher_view.refresh()
    model = teacher.teacher_view.grid_model
    row = model.row_of(classroom.pupil_id)
    column = model.column_of(LESSON, TEXT)
    qtbot.waitUntil(lambda: model.handed_in(row, column) == "late", timeout=30_000)
    qtbot.waitUntil(lambda: model.data(model.index(row, column)) == "● late", timeout=30_000)
    assert "1 late" in model.headerData(row, Qt.Orientation.Vertical, TOTALS_ROLE)

    # Withdrawn: the pupil no longer sees it; the teacher sees it struck through.
    panel.withdraw_button.click()
    qtbot.waitUntil(lambda: store.outbox.pending_count() == 0, timeout=30_000)
    qtbot.waitUntil(lambda: "withdrawn" in panel.list.item(1).text(), timeout=30_000)
    due_view.reload()
    qtbot.waitUntil(lambda: "No work is set for you" in due_view.status.text(), timeout=30_000)


def test_a_new_assignment_due_in_the_past_is_refused_with_a_reason(qtbot, open_app) -> None:
    teacher = open_app("teacher", laptop="teacher-laptop")
    panel = open_classes(qtbot, teacher)
    panel.set_button.click()
    dialog = panel.dialog
    fill_dialog(dialog, title="Too late", activities=[TEXT], due=datetime.now(UTC) - timedelta(minutes=5))
    dialog.ok_button.click()
    screenshot(dialog, "teacher-set-work")
    assert dialog.isVisible()
    assert "due time has passed" in dialog.error.text()
    dialog.whole.setChecked(False)
    for row in range(dialog.activities.count()):
        dialog.activities.item(row).setCheckState(Qt.CheckState.Unchecked)
    dialog.due.setDateTime(
        QDateTime.fromSecsSinceEpoch(int((datetime.now(UTC) + timedelta(days=1)).timestamp()))
    )
    dialog.ok_button.click()
    assert "at least one activity" in dialog.error.text()
    dialog.reject()
    assert teacher.session.store.outbox.pending_count() == 0


def test_teacher_exports_the_class_and_the_assignment_marks_as_csv(
    qtbot, open_app, classroom, tmp_path: Path, monkeypatch
) -> None:
    pupil = open_app("pupil")
    pupil.open_lesson_by_id(LESSON)
    choice = pupil.lesson_view.activity_widgets[CHOICE]
    choice.select(1)  # right: marked automatically by the server
    qtbot.waitUntil(lambda: pupil.session.store.outbox.pending_count() == 0, timeout=30_000)

    teacher = open_app("teacher", laptop="teacher-laptop")
    panel = open_classes(qtbot, teacher)
    saved: list[str] = []

    def choose_file(_parent, _caption, suggested, _filter):  # type: ignore[no-untyped-def]
        saved.append(suggested)
        return str(tmp_path / Path(suggested).name), "CSV files (*.csv)"

    # The save-file dialog is the desktop's own modal window: answered here as a teacher would.
    monkeypatch.setattr("desktop.ui.assignments.QFileDialog.getSaveFileName", choose_file)
    panel.export_button.click()
    qtbot.waitUntil(lambda: len(saved) == 1, timeout=30_000)
    exported = tmp_path / Path(saved[0]).name
    assert exported.suffix == ".csv"
    rows = list(csv.reader(io.StringIO(exported.read_text(encoding="utf-8-sig"))))
    pupil_row = next(r for r in rows if "pupil" in r)
    assert "1" in pupil_row  # the automatic mark of the choice
    assert any("Marks exported to" in m for m in teacher.notifications.visible_messages())

    set_work(qtbot, panel, title="Types", activities=[CHOICE], due=datetime.now(UTC) + timedelta(days=2))
    qtbot.waitUntil(lambda: teacher.session.store.outbox.pending_count() == 0, timeout=30_000)
    qtbot.waitUntil(lambda: "waiting to sync" not in panel.list.currentItem().text(), timeout=30_000)
    assert (
        panel.export_button.accessibleName() == "Export the chosen assignment's marks as CSV for the markbook"
    )
    panel.export_button.click()
    qtbot.waitUntil(lambda: len(saved) == 2, timeout=30_000)
    rows = list(csv.reader(io.StringIO((tmp_path / Path(saved[1]).name).read_text(encoding="utf-8-sig"))))
    assert any("on_time" in " ".join(r) or "on time" in " ".join(r) for r in rows)

    classroom.server.stop()
    panel.export_button.click()
    qtbot.waitUntil(
        lambda: any(
            "Exporting marks needs the school server" in m for m in teacher.notifications.visible_messages()
        ),
        timeout=30_000,
    )
    assert len(saved) == 2  # nothing asked, nothing written
