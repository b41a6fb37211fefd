"""Archived answers: answers to activities a lesson update removed, or to lessons no longer served.

They are never deleted (issue 9): the lesson view lists them read-only at the end of their lesson, and
the lesson list has an "Archived answers" entry for lessons that were removed altogether. Each shows
the question as last served, the answer (code, text or the options chosen), when it was saved and
whether the server has it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from desktop.core.store import ArchivedAnswer
from desktop.ui.context import UiContext
from desktop.ui.markdown import render_markdown
from desktop.ui.qt import QFont, QFrame, QLabel, QPlainTextEdit, Qt, QVBoxLayout, QWidget
from shared.lessons.model import ChoiceActivity

__all__ = ["ArchivedAnswerWidget", "ArchivedSection", "describe_answer", "describe_status"]


def describe_answer(answer: ArchivedAnswer) -> str:
    """The answer as plain text: the code or text as written, or the options chosen."""
    state = answer.state
    if isinstance(state.get("code"), str):
        return str(state["code"])
    if isinstance(state.get("text"), str):
        return str(state["text"])
    selected = state.get("selected")
    if isinstance(selected, list):
        if not selected:
            return "Nothing chosen"
        options = answer.activity.options if isinstance(answer.activity, ChoiceActivity) else None
        chosen = [
            options[i]
            if options is not None and isinstance(i, int) and 0 <= i < len(options)
            else f"option {i}"
            for i in selected
        ]
        return "Chosen: " + "; ".join(chosen)
    return json.dumps(state, ensure_ascii=False)


def describe_status(answer: ArchivedAnswer) -> str:
    saved = answer.client_time.astimezone().strftime("%d %b %Y, %H:%M")
    if answer.pending:
        where = "waiting to sync"
    elif answer.rejected_reason:
        where = f"kept on this computer (the server did not take it: {answer.rejected_reason})"
    elif answer.revision:
        where = f"synced (version {answer.revision})"
    else:
        where = "kept on this computer"
    return f"Saved {saved} · {where}"


class ArchivedAnswerWidget(QFrame):
    """One archived answer, read-only."""

    def __init__(self, ctx: UiContext, answer: ArchivedAnswer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.answer = answer
        self.setObjectName(f"archived-{answer.lesson_id}-{answer.activity_id}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("ArchivedAnswerWidget { background: #f4f4f6; }")
        self.setAccessibleName(f"Archived answer: {answer.title}")
        layout = QVBoxLayout(self)
        title = QLabel(f"<b>{html.escape(answer.title)}</b> <i>(archived)</i>")
        title.setAccessibleName(f"Archived activity: {answer.title}")
        layout.addWidget(title)
        if answer.activity is not None:
            prompt = QLabel(render_markdown(answer.activity.prompt))
            prompt.setTextFormat(Qt.TextFormat.RichText)
            prompt.setWordWrap(True)
            prompt.setAccessibleName(f"Question: {answer.title}")
            layout.addWidget(prompt)
        self.answer_text = describe_answer(answer)
        self.content = QPlainTextEdit(self.answer_text)
        self.content.setReadOnly(True)
        self.content.setTabChangesFocus(True)
        self.content.setAccessibleName(f"Your archived answer to {answer.title}")
        if "code" in answer.state:
            mono = QFont("DejaVu Sans Mono")
            mono.setStyleHint(QFont.StyleHint.Monospace)
            self.content.setFont(mono)
            self.content.setProperty("post16_monospace", True)
        lines = min(8, max(1, self.answer_text.count("\n") + 1 + len(self.answer_text) // 120))
        self.content.setFixedHeight(self.content.fontMetrics().lineSpacing() * lines + 14)
        layout.addWidget(self.content)
        self.status_text = describe_status(answer)
        mark = ctx.store.marks.get(ctx.user_id, answer.lesson_id, answer.activity_id)
        if mark is not None:
            self.status_text += f" · mark {mark.score:g} / {mark.max_score:g}"
            if mark.feedback:
                self.status_text += f": {mark.feedback}"
        status = QLabel(html.escape(self.status_text))
        status.setWordWrap(True)
        status.setAccessibleName("Archived answer state")
        layout.addWidget(status)

    def text(self) -> str:
        return f"{self.answer.title}\n{self.answer_text}\n{self.status_text}"


class ArchivedSection(QFrame):
    """A titled list of archived answers (at the end of a lesson, or the whole archive page)."""

    def __init__(
        self,
        ctx: UiContext,
        answers: Sequence[ArchivedAnswer],
        *,
        heading: str,
        explanation: str,
        group_by_lesson: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("archived-answers")
        self.setAccessibleName(heading)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 12, 0, 0)
        self.heading = QLabel(f"<h2>{html.escape(heading)}</h2>")
        self.heading.setAccessibleName(heading)
        layout.addWidget(self.heading)
        note = QLabel(html.escape(explanation))
        note.setWordWrap(True)
        note.setAccessibleName("About archived answers")
        layout.addWidget(note)
        self._heading_text = heading
        self._lines: list[str] = [heading, explanation]
        self.entries: list[ArchivedAnswerWidget] = []
        lesson_shown: str | None = None
        for answer in answers:
            if group_by_lesson and answer.lesson_id != lesson_shown:
                lesson_shown = answer.lesson_id
                label = QLabel(f"<h3>{html.escape(answer.lesson_title)}</h3>")
                label.setAccessibleName(f"Lesson: {answer.lesson_title}")
                label.setTextFormat(Qt.TextFormat.RichText)
                layout.addWidget(label)
                self._lines.append(answer.lesson_title)
            entry = ArchivedAnswerWidget(ctx, answer)
            self.entries.append(entry)
            layout.addWidget(entry)
            self._lines.append(entry.text())

    def text(self) -> str:
        """Everything the section says, as plain text (for tests and screen-reader summaries)."""
        return "\n".join(self._lines)
