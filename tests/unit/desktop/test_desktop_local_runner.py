"""Pupils' programs run on the laptop: real processes, real limits, and nothing left behind."""

from __future__ import annotations

import os
import re
import threading

import pytest

from desktop.core.local_runner import LocalLimits, LocalRun, run_program

QUICK = LocalLimits(cpu_seconds=2, wall_seconds=5, memory_mib=256, extra_processes=16, output_bytes=20_000)


def alive(pids: list[int]) -> list[int]:
    living = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                if stat.read().rsplit(b")", 1)[1].split()[0] != b"Z":
                    living.append(pid)
        except OSError:
            pass
    return living


def test_a_program_reads_its_input_and_prints():
    result = run_program("name = input('Name? ')\nprint('Hello', name)", "Ada\n", limits=QUICK)

    assert result.status == "success"
    assert result.stdout == "Name? Hello Ada\n"


def test_input_is_answered_as_the_program_asks():
    prompts = threading.Event()
    seen: list[str] = []

    def output(_stream: str, text: str) -> None:
        seen.append(text)
        if "Age?" in "".join(seen):
            prompts.set()

    run = LocalRun("age = int(input('Age? '))\nprint('Next year', age + 1)", limits=QUICK, on_output=output)
    run.start()
    assert prompts.wait(10), seen
    run.send_input("16\n")
    result = run.wait(10)

    assert result is not None
    assert result.status == "success"
    assert "".join(seen) == "Age? Next year 17\n"


def test_end_of_input_reaches_the_program_as_eof():
    run = LocalRun("input('? ')", limits=QUICK)
    run.start()
    run.close_input()
    result = run.wait(10)

    assert result is not None
    assert result.status == "error"
    assert "EOFError" in result.stderr


def test_stop_ends_an_endless_loop_and_its_children():
    started = threading.Event()
    seen: list[str] = []

    def output(_stream: str, text: str) -> None:
        seen.append(text)
        if "children" in "".join(seen):
            started.set()

    code = (
        "import os, subprocess, sys, time\n"
        "kids = [subprocess.Popen([sys.executable, '-c', 'import time\\nwhile True: time.sleep(1)'])"
        " for _ in range(3)]\n"
        "escapee = subprocess.Popen([sys.executable, '-c',"
        " 'import os, time\\nos.setsid()\\nwhile True: time.sleep(1)'])\n"
        "print('children', os.getpid(), *[k.pid for k in kids], escapee.pid, flush=True)\n"
        "while True:\n    pass\n"
    )
    run = LocalRun(code, limits=LocalLimits(cpu_seconds=60, wall_seconds=60), on_output=output)
    run.start()
    assert started.wait(20), seen
    pids = [int(pid) for pid in re.findall(r"\d+", "".join(seen))]

    run.stop()
    result = run.wait(20)

    assert result is not None
    assert result.status == "stopped"
    assert alive(pids) == []


def test_an_endless_loop_is_stopped_by_the_cpu_limit():
    result = run_program("while True:\n    pass", limits=QUICK)

    assert result.status == "timeout"
    assert "endless loop" in result.message


def test_a_program_that_sleeps_forever_is_stopped_at_the_time_limit():
    result = run_program("import time\ntime.sleep(10**6)", limits=LocalLimits(wall_seconds=1))

    assert result.status == "timeout"
    assert "time limit" in result.message


def test_a_memory_bomb_is_stopped_and_says_so():
    result = run_program("data = bytearray(2 * 1024**3)\nprint(len(data))", limits=QUICK)

    assert result.status == "memory"
    assert "memory" in result.message


def test_endless_output_stops_at_the_cap():
    result = run_program("while True:\n    print('x' * 100)", limits=QUICK)

    assert result.status == "output_limit"
    assert len(result.stdout) <= QUICK.output_bytes


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to count processes")
def test_a_fork_bomb_is_contained_and_leaves_nothing_behind():
    code = (
        "import os\nprint(os.getpid(), flush=True)\n"
        "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )

    result = run_program(code, limits=LocalLimits(cpu_seconds=2, wall_seconds=3, extra_processes=16))

    assert result.status in {"timeout", "error"}
    root = int(result.stdout.split()[0])
    assert alive([root]) == []
    follow_up = run_program("print('still fine')", limits=QUICK)
    assert follow_up.stdout == "still fine\n"


def test_the_program_sees_none_of_the_apps_environment(monkeypatch):
    monkeypatch.setenv("POST16_TOKEN", "secret-token")

    result = run_program("import os\nprint(sorted(k for k in os.environ if 'POST16' in k))", limits=QUICK)

    assert result.stdout == "[]\n"


def test_each_run_has_its_own_empty_folder_that_is_removed_afterwards():
    first = run_program("import os\nopen('left.txt', 'w').write('x')\nprint(os.getcwd())", limits=QUICK)
    second = run_program("import os\nprint(os.listdir('.'))", limits=QUICK)

    assert not os.path.exists(first.stdout.strip())
    assert second.stdout == "['main.py']\n"


def test_a_local_check_runs_the_visible_tests_and_counts_the_hidden_ones():
    from desktop.core.local_check import check_locally
    from shared.lessons import load_manifest

    activity = load_manifest("lessons").lesson("functions").activity("clamp")
    pupil_copy = load_manifest("lessons").lesson("functions").for_pupil().activity("clamp")
    assert activity.model_answer is not None

    right = check_locally(activity.model_answer, pupil_copy)
    wrong = check_locally("def clamp(value, low, high):\n    return value\n", pupil_copy)

    assert (right.passed, len(right.outcomes), right.hidden) == (3, 3, 1)
    assert right.summary() == "3 of 3 visible tests pass — provisional; 1 hidden test runs on the server"
    assert wrong.passed == 1
    assert "`clamp(12, 0, 10)` gave 12, expected 10" in [outcome.message for outcome in wrong.outcomes]


def test_the_schools_choice_is_kept_in_the_store_for_offline_use(tmp_path):
    from desktop.core.school_settings import cached_school_settings, remember_school_settings
    from desktop.core.store import Store
    from shared.wire.settings import SchoolSettings

    store = Store.open(tmp_path / "answers.sqlite3")
    assert cached_school_settings(store).code_execution == "laptop_first"

    remember_school_settings(store, SchoolSettings(code_execution="server_only"))

    assert cached_school_settings(store).code_execution == "server_only"
