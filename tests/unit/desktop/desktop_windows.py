"""Real main windows for widget tests, with no server at all: the app as it is on a laptop whose school
server cannot be reached. The store is a real per-user SQLite file holding cached lessons; the client
is the real `ApiClient` pointed at a port nothing listens on, so every request fails as offline."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from desktop.core.client import ApiClient
from desktop.core.credentials import TokenVault
from desktop.core.engine import SyncEngine
from desktop.core.session import Session, SessionManager, store_path
from desktop.core.settings import Settings
from desktop.core.store import Store
from shared.lessons.model import (
    ActivityBlock,
    ChoiceActivity,
    CodeActivity,
    Lesson,
    TextActivity,
    TextBlock,
)
from shared.wire.auth import User

#: Nothing listens on the discard port here: connections are refused at once.
UNREACHABLE = "http://127.0.0.1:9"

USERS = {
    "pupil": User(id=3, username="pupil", display_name="Pat Pupil", role="pupil"),
    "pupil2": User(id=4, username="pupil2", display_name="Sam Second", role="pupil"),
    "teacher": User(id=2, username="teacher", display_name="Ms Teacher", role="teacher"),
}

LONG_TEXT = "\n\n".join(
    "A variable is a name that refers to a value. " * 6 + f"Paragraph {n} of the explanation."
    for n in range(1, 7)
)


def course() -> list[Lesson]:
    """Three lessons with titles that differ from their ids, the first long enough to scroll."""
    first = Lesson(
        id="variables",
        title="Variables and types",
        summary="What a variable is",
        order=1,
        estimated_minutes=30,
        version="v1",
        source_file="variables.md",
        objectives=["Name a value", "Convert between types"],
        blocks=[
            TextBlock(markdown="## Names\n\n" + LONG_TEXT + "\n\n```python\nminutes = 135 // 60\n```"),
            ActivityBlock(activity_id="print-minutes"),
            ActivityBlock(activity_id="why-casting"),
            ActivityBlock(activity_id="pick-type"),
        ],
        activities=[
            CodeActivity(
                id="print-minutes",
                title="Print the minutes",
                prompt="Print how many whole hours are in 135 minutes.",
                starter="minutes = 135\n",
                model_answer="minutes = 135\nprint(minutes // 60)\n",
                max_score=2,
            ),
            TextActivity(
                id="why-casting",
                title="Why cast input?",
                prompt="Why must the result of `input()` be converted before adding?",
                mark_scheme="Mentions that input() returns a string (1); int() converts it (1).",
                max_score=2,
            ),
            ChoiceActivity(
                id="pick-type",
                title="Pick the type",
                prompt="What type is `3.0`?",
                options=["int", "float", "str"],
                correct=[1],
                max_score=1,
            ),
        ],
    )
    lessons = [first]
    for order, (lesson_id, title) in enumerate((("loops", "Loops"), ("functions", "Functions")), start=2):
        lessons.append(
            Lesson(
                id=lesson_id,
                title=title,
                summary=f"All about {lesson_id}",
                order=order,
                estimated_minutes=30,
                version="v1",
                source_file=f"{lesson_id}.md",
                blocks=[
                    TextBlock(markdown=f"## {title}\n\nText."),
                    ActivityBlock(activity_id=f"{lesson_id}-q"),
                ],
                activities=[
                    TextActivity(id=f"{lesson_id}-q", title=f"Explain {title.lower()}", prompt="Why?")
                ],
            )
        )
    return lessons


@dataclasses.dataclass
class Laptop:
    """One laptop's data folder; `session(username)` opens that user's real store on it."""

    data_dir: Path
    font_scale: float = 1.0

    @property
    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            user_config=self.data_dir / "desktop.toml",
            font_scale=self.font_scale,
            server_url=UNREACHABLE,
        )

    def manager(self) -> SessionManager:
        vault = TokenVault(self.data_dir / "credentials", use_keyring=False)
        return SessionManager(self.settings, vault=vault)

    def session(self, username: str = "pupil", lessons: list[Lesson] | None = None) -> Session:
        user = USERS[username]
        store = Store.open(store_path(self.data_dir, UNREACHABLE, username))
        store.set_meta("user_id", str(user.id))
        store.set_meta("username", user.username)
        store.set_meta("role", user.role)
        store.set_meta("display_name", user.display_name)
        served = lessons if lessons is not None else course()
        if user.role == "pupil":
            served = [lesson.for_pupil() for lesson in served]
        store.lessons.save_index([lesson.to_summary() for lesson in served])
        for lesson in served:
            store.lessons.save(lesson)
        client = ApiClient(UNREACHABLE, token="not-a-real-token", timeout=2.0)
        return Session(UNREACHABLE, user, client, store, SyncEngine(store, client), verified=False)


def walk_texts(widget: Any) -> list[str]:
    """Every piece of text a person could read in a widget tree (labels, editors, lists, tables)."""
    from desktop.ui.qt import (
        QAbstractItemView,
        QLabel,
        QLineEdit,
        QModelIndex,
        QPlainTextEdit,
        QTextEdit,
        QWidget,
    )

    texts: list[str] = []
    for child in [widget, *widget.findChildren(QWidget)]:
        if isinstance(child, QLabel):
            texts.append(child.text())
        elif isinstance(child, QPlainTextEdit | QTextEdit):
            texts.append(child.toPlainText())
        elif isinstance(child, QLineEdit):
            texts.append(child.text())
        elif isinstance(child, QAbstractItemView) and child.model() is not None:
            model = child.model()
            try:
                columns = model.columnCount(QModelIndex())
            except TypeError:  # a list model: one column
                columns = 1
            for row in range(model.rowCount(QModelIndex())):
                for column in range(columns):
                    value = model.data(model.index(row, column))
                    if value is not None:
                        texts.append(str(value))
    return texts
