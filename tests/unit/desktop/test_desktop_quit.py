"""The app opens and quits cleanly, again and again: "Fatal Python error: none_dealloc" was seen once
at quit (issue 16).

The cause: PySide6 6.12 on CPython 3.11 drops a reference it does not own to True on every
`Signal.emit()` from Python and to None on every empty QVariant handed back to Python, so after a few
thousand of them the interpreter frees None or True and aborts (desktop/ui/qt.py `_pin_singletons`).
These tests run real processes, offscreen: the app as `post16-desktop` starts it (stored session, no
server reachable), and a process that makes those calls far more often than a school day would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from desktop_windows import UNREACHABLE, Laptop

from desktop.core.credentials import TokenVault
from shared.wire.teaching import ClassProgress, TeacherClass

pytestmark = pytest.mark.qt

REPO = Path(__file__).resolve().parents[3]

#: Opens the app through desktop.main as the command does; once the first lesson is on screen, prints
#: its title and closes the main window, the way a user quits.
OPEN_AND_QUIT = """
import sys
from desktop.ui.main_window import MainWindow
from desktop.ui.qt import QTimer

opened = MainWindow.open_lesson

def open_then_quit(self, *args, **kwargs):
    result = opened(self, *args, **kwargs)
    if self.lesson_view.lesson is not None and not getattr(self, "quitting", False):
        self.quitting = True
        print("FIRST_LESSON", self.lesson_view.lesson.title, flush=True)
        QTimer.singleShot(0, self.close)
    return result

MainWindow.open_lesson = open_then_quit
from desktop.main import main
sys.exit(main(sys.argv[1:]))
"""

#: Far more emits and empty QVariants than a day in class makes; each used to cost a reference.
LEAKY_CALLS = """
from desktop.ui.qt import QApplication, QComboBox, QModelIndex, QObject, Signal

class Relay(QObject):
    changed = Signal(object)

app = QApplication([])
relay = Relay()
relay.changed.connect(lambda value: None)
combo = QComboBox()
combo.addItem("All lessons", None)
for _ in range(200_000):
    relay.changed.emit(None)
    combo.currentData()
    QModelIndex().data()
print("DONE", flush=True)
"""


def environment(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "POST16_DESKTOP_CONFIG": str(tmp_path / "config" / "none.toml"),
        "POST16_DESKTOP_MACHINE_CONFIG": str(tmp_path / "config" / "machine-none.toml"),
        "POST16_SYNC_INTERVAL": "1",
    }


def test_app_opens_and_quits_five_times_without_a_crash(tmp_path: Path) -> None:
    laptop = Laptop(tmp_path / "laptop")
    vault = TokenVault(laptop.data_dir / "credentials", use_keyring=False)
    for username in ("pupil", "teacher"):
        session = laptop.session(username)
        if username == "teacher":
            session.store.cache.put("teacher:classes", [TeacherClass(id=1, name="12C", pupil_count=0)])
            session.store.cache.put(
                "teacher:progress:1", ClassProgress(class_id=1, name="12C", pupils=[], cells=[])
            )
        session.store.outbox.save_answer("variables", "why-casting", {"text": "queued, never sent"})
        session.close()
        vault.set(UNREACHABLE, username, f"stored-token-{username}")
    for run, username in enumerate(("pupil", "teacher", "pupil", "teacher", "pupil"), start=1):
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                OPEN_AND_QUIT,
                *("--server", UNREACHABLE, "--username", username, "--data-dir", str(laptop.data_dir)),
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=environment(tmp_path),
            timeout=120,
            check=False,
        )
        assert "Fatal Python error" not in result.stderr, (run, result.stderr[-3000:])
        assert result.returncode == 0, (run, username, result.stderr[-3000:])
        assert "FIRST_LESSON Variables and types" in result.stdout, (
            run,
            result.stdout,
            result.stderr[-3000:],
        )


def test_signals_and_empty_values_by_the_hundred_thousand_never_crash_the_interpreter(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LEAKY_CALLS],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment(tmp_path),
        timeout=300,
        check=False,
    )
    assert "Fatal Python error" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "DONE"
