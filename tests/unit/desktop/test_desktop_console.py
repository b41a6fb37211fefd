"""The program console on real Qt widgets (offscreen), running real local programs."""

from __future__ import annotations

import os

from desktop.core.local_runner import LocalLimits
from desktop.ui.console import EOF_HINT, ProgramConsole
from desktop.ui.qt import Qt

LIMITS = LocalLimits(cpu_seconds=5, wall_seconds=20, memory_mib=256)


def test_input_is_answered_as_the_program_asks_and_echoed(qtbot):
    console = ProgramConsole(LIMITS)
    qtbot.addWidget(console)

    console.start("name = input('Name? ')\nprint('Hello,', name)")
    qtbot.waitUntil(lambda: "Name? " in console.output.toPlainText(), timeout=10_000)
    qtbot.keyClicks(console.input, "Ada")
    with qtbot.waitSignal(console.finished, timeout=10_000) as finished:
        qtbot.keyClick(console.input, Qt.Key.Key_Return)

    assert finished.args[0].status == "success"
    assert console.output.toPlainText() == "Name? Ada\nHello, Ada\n"
    assert console.status.text().startswith("Finished in")
    assert not console.input.isEnabled()


def test_end_of_input_is_explained_in_plain_words(qtbot):
    console = ProgramConsole(LIMITS)
    qtbot.addWidget(console)

    console.start("a = input()\nb = input()")
    qtbot.waitUntil(console.input.isEnabled)
    with qtbot.waitSignal(console.finished, timeout=10_000):
        console.end_input()

    assert console.status.text() == EOF_HINT


def test_stop_ends_an_endless_loop(qtbot):
    console = ProgramConsole(LIMITS)
    qtbot.addWidget(console)

    console.start("print('spinning', flush=True)\nwhile True:\n    pass")
    qtbot.waitUntil(lambda: "spinning" in console.output.toPlainText(), timeout=10_000)
    with qtbot.waitSignal(console.finished, timeout=10_000) as finished:
        qtbot.mouseClick(console.stop_button, Qt.MouseButton.LeftButton)

    assert finished.args[0].status == "stopped"
    assert console.status.text() == "Stopped."
    assert not console.stop_button.isEnabled()


def test_a_memory_bomb_is_reported_and_the_console_keeps_working(qtbot):
    console = ProgramConsole(LIMITS)
    qtbot.addWidget(console)

    with qtbot.waitSignal(console.finished, timeout=20_000) as bomb:
        console.start("data = bytearray(4 * 1024**3)")
    with qtbot.waitSignal(console.finished, timeout=20_000) as after:
        console.start("print(6 * 7)")

    assert bomb.args[0].status == "memory"
    assert after.args[0].status == "success"
    assert console.output.toPlainText() == "42\n"


def test_a_fork_bomb_is_stopped_and_the_console_keeps_working(qtbot):
    """Pressing Stop on a fork bomb ends it and everything it started; the next program runs."""
    console = ProgramConsole(LocalLimits(cpu_seconds=5, wall_seconds=20, extra_processes=16))
    qtbot.addWidget(console)

    console.start(
        "import os\nprint(os.getpid(), flush=True)\n"
        "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    qtbot.waitUntil(lambda: console.output.toPlainText().strip() != "", timeout=10_000)
    root = int(console.output.toPlainText().split()[0])
    with qtbot.waitSignal(console.finished, timeout=20_000) as bomb:
        qtbot.mouseClick(console.stop_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(console.finished, timeout=20_000) as after:
        console.start("print('still fine')")

    assert bomb.args[0].status == "stopped"
    assert _living_in_session(root) == []  # the program and every copy it forked
    assert after.args[0].status == "success"
    assert console.output.toPlainText() == "still fine\n"


def _living_in_session(session: int) -> list[int]:
    """Processes (not zombies) in the program's session, which the runner started it in."""
    living = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != b"Z":
            living.append(int(entry))
    return living
