"""The teacher's marking panel: the score bounded by the question's maximum (with a message, never a
silent 0), the mark scheme beside the answer (teachers only), code shown as code, and colours that
never show a zero in green."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from desktop_windows import USERS

from desktop.ui.activities import ChoiceActivityWidget
from desktop.ui.context import UiContext
from desktop.ui.qt import QColor, QFontInfo, Qt
from desktop.ui.teacher import COLOURS, Column, MarkingPanel, ProgressGridModel
from shared.wire.marks import Mark
from shared.wire.teaching import ClassProgress, ProgressCell

pytestmark = pytest.mark.qt

PUPIL = USERS["pupil"]


@pytest.fixture
def teacher_session(laptop):  # type: ignore[no-untyped-def]
    session = laptop.session("teacher")
    yield session
    from desktop.ui.background import wait_for_background

    wait_for_background(10_000)
    session.close()


@pytest.fixture
def panel(qtbot, teacher_session) -> MarkingPanel:
    notices: list[tuple[str, str]] = []
    ctx = UiContext(
        session=teacher_session, sync=None, notify=lambda level, text: notices.append((level, text))
    )
    marking = MarkingPanel(ctx)
    qtbot.addWidget(marking)
    marking.resize(460, 700)
    marking.show()
    return marking


def column(session, activity_id: str) -> Column:  # type: ignore[no-untyped-def]
    summary = next(s for s in session.store.lessons.summaries() if s.id == "variables")
    activity = next(a for a in summary.activities if a.id == activity_id)
    return Column("variables", summary.title, activity)


def test_a_score_above_the_maximum_is_refused_with_a_message_not_saved_as_zero(
    panel, teacher_session
) -> None:
    store = teacher_session.store
    panel.show_cell(PUPIL, column(teacher_session, "why-casting"))  # a 2-mark question
    assert panel.out_of.text() == "out of 2"

    for typed, reason in (
        ("7", "7 is more than this question is worth"),
        ("-1", "No negative"),
        ("two", "not a number"),
    ):
        panel.score.setText(typed)
        panel.save_button.click()
        assert panel.score_error.isVisible()
        assert reason in panel.score_error.text()
        assert "give 0 to 2. The mark was not saved." in panel.score_error.text()
        assert store.marks.get(PUPIL.id, "variables", "why-casting") is None
        assert store.outbox.pending_count() == 0

    panel.score.setText("1,5")  # a decimal comma is a decimal point
    panel.save_button.click()
    assert not panel.score_error.isVisible()
    assert store.marks.get(PUPIL.id, "variables", "why-casting").score == 1.5
    assert panel.state_label.text() == "Mark saved here · waiting to sync"


def test_mark_scheme_beside_the_answer_shows_maximum_and_correct_options(panel, teacher_session) -> None:
    panel.show_cell(PUPIL, column(teacher_session, "pick-type"))
    assert "out of <b>1</b> mark" in panel.scheme.text()
    assert "Correct: b) float" in panel.scheme.text()
    assert not panel.model_answer.isVisible()

    panel.show_cell(PUPIL, column(teacher_session, "why-casting"))
    assert "input() returns a string (1); int() converts it (1)." in panel.scheme.text()


def test_code_answers_and_the_model_answer_are_shown_as_code(qtbot, panel, teacher_session) -> None:
    panel.show_cell(PUPIL, column(teacher_session, "print-minutes"))
    assert "Model answer:" in panel.scheme.text()
    model = panel.model_answer
    qtbot.waitUntil(model.isVisible)
    assert model.toPlainText() == "minutes = 135\nprint(minutes // 60)\n"
    for code_view in (model, panel.code_answer):
        assert code_view.isVisible()
        assert QFontInfo(code_view.font()).fixedPitch()
        assert code_view.lineWrapMode() == code_view.LineWrapMode.NoWrap
        assert code_view.viewportMargins().left() > 0  # the line numbers' gutter
    assert not panel.answer.isVisible()


def test_the_pupil_never_receives_the_mark_scheme(make_window) -> None:
    window = make_window("pupil")
    lesson = window.session.store.lessons.get("variables")
    assert all(getattr(a, "model_answer", None) is None for a in lesson.activities)
    assert all(getattr(a, "correct", None) is None for a in lesson.activities)
    assert all(getattr(a, "mark_scheme", None) is None for a in lesson.activities)
    assert window.teacher_view is None


def mark(activity_id: str, score: float, max_score: float) -> Mark:
    return Mark(
        pupil_id=PUPIL.id,
        lesson_id="variables",
        activity_id=activity_id,
        score=score,
        max_score=max_score,
        feedback="",
        source="teacher",
        marker="teacher",
        marked_at=datetime.now(UTC),
    )


def is_greenish(colour: QColor) -> bool:
    return colour.green() > colour.red() + 20 and colour.green() > colour.blue() + 20


def test_a_zero_mark_is_never_green_in_the_grid_or_for_the_pupil(qtbot, teacher_session, make_window) -> None:
    ctx = UiContext(session=teacher_session, sync=None, notify=lambda *_: None)
    grid = ProgressGridModel(ctx)
    now = datetime.now(UTC)
    cells = [
        ProgressCell(
            pupil_id=PUPIL.id, lesson_id="variables", activity_id=a, revision=1, updated_at=now, mark=m
        )
        for a, m in (("why-casting", mark("why-casting", 0, 2)), ("pick-type", mark("pick-type", 1, 1)))
    ]
    grid.set_progress(ClassProgress(class_id=1, name="12C", pupils=[PUPIL], cells=cells))
    zero_column = next(i for i, c in enumerate(grid.columns) if c.activity.id == "why-casting")
    full_column = next(i for i, c in enumerate(grid.columns) if c.activity.id == "pick-type")
    zero = grid.data(grid.index(0, zero_column), Qt.ItemDataRole.BackgroundRole)
    assert zero == QColor(COLOURS["zero"])
    assert not is_greenish(zero)
    assert is_greenish(grid.data(grid.index(0, full_column), Qt.ItemDataRole.BackgroundRole))

    window = make_window("pupil")
    window.session.store.marks.replace([mark("pick-type", 0, 1)])
    window.open_lesson(0)
    choice = next(
        w for w in window.lesson_view.activity_widgets.values() if isinstance(w, ChoiceActivityWidget)
    )
    assert choice.mark_label.isVisible()
    assert "0 / 1" in choice.mark_label.text()
    background = choice.mark_label.styleSheet().split("background:")[1].split(";")[0].strip()
    assert not is_greenish(QColor(background))
