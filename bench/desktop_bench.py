"""Desktop benchmarks: prints numbers, asserts nothing (targets in docs/performance.md, "## Desktop").

    .venv/bin/python bench/desktop_bench.py            # PostgreSQL from POST16_TEST_DATABASE_URL, else SQLite

1. start to first lesson shown: a fresh process (interpreter, imports, Qt, resume session from the stored
   token, open the store, render the first cached lesson), measured from the parent;
2. local save latency p50/p95: `store.outbox.save_answer` (WAL, synchronous=FULL: on disk when it returns);
3. draining 10,000 queued operations to a real local server (`post16-server serve`);
4. resident memory after opening 20 lessons in that GUI process;
5. Run and Check on the laptop beside the same through the server (its Docker sandbox, when Docker and
   the sandbox image are here): `print(1)`, and a check of the 4-test activity functions/clamp (the
   laptop runs its 3 visible tests; the server all 4). Target (issue 15): local Run p50 < 150 ms and
   under half the server round trip measured in the same run.
6. the teacher's grid for 30 pupils x 40 activities over a store seeded directly (cached progress, pulled
   answers, marks, some waiting to sync): time to open it (the snapshot built off the UI thread, the
   model reset and the first paint, `grab()` offscreen), target < 200 ms; and the SQLite statements run
   while scrolling through every cell (counted with `sqlite3`'s trace callback on every connection of
   the store), target 0. Run in its own process.

    .venv/bin/python bench/desktop_bench.py --only grid      # just 6 (no server)
    .venv/bin/python bench/desktop_bench.py --only startup   # just 1, offline (the stored session
                                                             # resumed with no server reachable)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PASSWORD = "bench-password-1"
OPERATIONS = 10_000


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(data_dir: str, server_url: str) -> None:
    """Runs in a fresh process: time to the first lesson shown, then RSS after 20 lessons."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from desktop.core.credentials import TokenVault
    from desktop.core.session import SessionManager
    from desktop.core.settings import Settings
    from desktop.ui.main_window import MainWindow
    from desktop.ui.qt import QApplication

    print(f"IMPORTED {time.time():.6f}", flush=True)
    app = QApplication([])
    settings = Settings(data_dir=Path(data_dir), user_config=None)
    manager = SessionManager(settings, vault=TokenVault(Path(data_dir) / "credentials", use_keyring=False))
    # as desktop/ui/app.py starts: from what this computer holds, else the resume that asks the server
    session = manager.open_cached(server_url, "benchpupil") or manager.resume(server_url, "benchpupil")
    assert session is not None, "no stored session"
    print(f"RESUMED {time.time():.6f}", flush=True)
    window = MainWindow(manager, session, settings, start_sync=False)
    window.show()
    window.open_lesson(0)
    app.processEvents()
    assert window.lesson_view.lesson is not None
    print(f"FIRST_LESSON {time.time():.6f}", flush=True)
    print(f"CPU_AT_FIRST_LESSON {time.process_time():.6f}", flush=True)  # this process's CPU since it began
    rows = window.lesson_model.rowCount()
    for i in range(20):
        window.open_lesson((i + 1) % rows)
        app.processEvents()
    print(f"RSS_MB {_rss_mb():.1f}", flush=True)
    window.shutdown()
    session.close()


GRID_PUPILS = 30
GRID_ACTIVITIES = 40


def grid_child(data_dir: str) -> None:
    """Runs in a fresh process: open the teacher's grid for 30 x 40, then scroll through it."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import random
    import uuid
    from datetime import UTC, datetime, timedelta

    from desktop.core.client import ApiClient
    from desktop.core.engine import SyncEngine
    from desktop.core.session import Session
    from desktop.core.store import Store
    from desktop.ui.background import wait_for_background
    from desktop.ui.context import UiContext
    from desktop.ui.qt import QApplication, QEventLoop
    from desktop.ui.teacher import TeacherView
    from shared.lessons.model import ActivityBlock, Lesson, TextActivity, TextBlock
    from shared.wire.auth import User
    from shared.wire.marks import Mark
    from shared.wire.sync import RevisionEvent
    from shared.wire.teaching import ClassProgress, ProgressCell, TeacherClass

    app = QApplication([])
    rng = random.Random(16)
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    teacher = User(id=1, username="teacher", display_name="Ms Teacher", role="teacher")
    pupils = [
        User(id=100 + i, username=f"pupil{i}", display_name=f"Pupil {i:02d} Surname", role="pupil")
        for i in range(GRID_PUPILS)
    ]
    lessons = []
    for n in range(GRID_ACTIVITIES // 5):
        activities = [
            TextActivity(
                id=f"l{n}-a{k}", title=f"Question {k + 1} of lesson {n + 1}", prompt="Why?", max_score=2
            )
            for k in range(5)
        ]
        lessons.append(
            Lesson(
                id=f"lesson-{n}",
                title=f"Lesson {n + 1}",
                summary="",
                order=n,
                estimated_minutes=30,
                version="v1",
                source_file=f"l{n}.md",
                blocks=[TextBlock(markdown="Text"), *(ActivityBlock(activity_id=a.id) for a in activities)],
                activities=activities,
            )
        )
    store = Store.open(Path(data_dir) / "teacher.sqlite3")
    store.set_meta("user_id", str(teacher.id))
    store.lessons.save_index([lesson.to_summary() for lesson in lessons])
    for lesson in lessons:
        store.lessons.save(lesson)
    cells, events, marks = [], [], []
    for pupil in pupils:
        for lesson in lessons:
            for activity in lesson.activities:
                if rng.random() < 0.3:
                    continue  # not answered
                mark = None
                if rng.random() < 0.6:
                    mark = Mark(
                        pupil_id=pupil.id,
                        lesson_id=lesson.id,
                        activity_id=activity.id,
                        score=float(rng.randint(0, 2)),
                        max_score=2,
                        feedback="Well argued." if rng.random() < 0.5 else "",
                        source="teacher",
                        marker="teacher",
                        marked_at=now,
                    )
                    marks.append(mark)
                revision = rng.randint(1, 4)
                cells.append(
                    ProgressCell(
                        pupil_id=pupil.id,
                        lesson_id=lesson.id,
                        activity_id=activity.id,
                        revision=revision,
                        updated_at=now - timedelta(minutes=rng.randint(0, 600)),
                        mark=mark,
                    )
                )
                events.append(
                    RevisionEvent(
                        cursor="c",
                        pupil_id=pupil.id,
                        lesson_id=lesson.id,
                        activity_id=activity.id,
                        revision=revision,
                        state={"text": "An answer of a few words, as a pupil would write it. " * 3},
                        client_time=now,
                        received_at=now,
                        op_id=uuid.uuid4(),
                        device_id="laptop",
                        current=True,
                    )
                )
    store.pull.apply(events, "cursor-1")
    store.marks.replace(marks)
    for pupil in pupils[:5]:  # marked on this laptop, waiting to sync
        store.outbox.queue_mark(
            pupil.id, lessons[0].id, lessons[0].activities[0].id, score=2, max_score=2, feedback=""
        )
    progress = ClassProgress(class_id=1, name="13X", pupils=pupils, cells=cells)
    store.cache.put("teacher:classes", [TeacherClass(id=1, name="13X", pupil_count=len(pupils))])
    client = ApiClient("http://127.0.0.1:9", token="offline", timeout=2.0)
    session = Session("http://127.0.0.1:9", teacher, client, store, SyncEngine(store, client), verified=False)
    ctx = UiContext(session=session, sync=None, notify=lambda *_: None)
    view = TeacherView(ctx)
    view.resize(1366, 768)
    view.show()
    app.processEvents()

    def open_grid() -> None:
        """Refresh and wait, idle in an event loop as the app would be, until the grid is filled."""
        waiting = QEventLoop()
        view.grid_model.snapshot_changed.connect(waiting.quit)
        view.grid_model.refresh(progress)
        waiting.exec()
        view.grid_model.snapshot_changed.disconnect(waiting.quit)
        view.grid.grab()

    timings, cpu_timings = [], []
    for _ in range(7):
        started, cpu_started = time.perf_counter(), time.process_time()
        open_grid()
        timings.append((time.perf_counter() - started) * 1000)
        cpu_timings.append((time.process_time() - cpu_started) * 1000)
        view.grid_model.refresh(None)
        app.processEvents()
    # the first opens import and warm up what every later one reuses
    timings, cpu_timings = timings[2:], cpu_timings[2:]
    open_grid()
    assert view.grid_model.rowCount() == GRID_PUPILS
    assert view.grid_model.columnCount() == GRID_ACTIVITIES

    statements: list[str] = []
    store.trace_queries(statements.append)
    model = view.grid_model
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            view.grid.scrollTo(model.index(row, column))
            if column % 8 == 0:
                view.grid.grab()
    view.grid.grab()
    store.trace_queries(None)
    print(
        f"GRID_OPEN_MS {statistics.median(timings):.1f} {max(timings):.1f} {statistics.median(cpu_timings):.1f}",
        flush=True,
    )
    print(f"GRID_SCROLL_QUERIES {len(statements)}", flush=True)
    wait_for_background()
    session.close()


def _run_grid() -> tuple[str, str]:
    with tempfile.TemporaryDirectory(prefix="post16-grid-bench-") as scratch:
        result = subprocess.run(
            [sys.executable, __file__, "--grid-child", scratch],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
            check=True,
        )
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    median, worst, cpu = lines["GRID_OPEN_MS"].split()
    load = os.getloadavg()[0]
    return (
        f"  teacher grid {GRID_PUPILS} x {GRID_ACTIVITIES} opens   : {median} ms median of 5 "
        f"(worst {worst} ms; CPU time {cpu} ms; load average {load:.1f})   (target < 200 ms)",
        f"  SQLite queries scrolling it : {lines['GRID_SCROLL_QUERIES']}   (target 0)",
    )


#: Compiled bytecode for the start-up runs, as an installed app has it (pip, the .deb and the frozen
#: bundle all ship .pyc files). Kept out of the source tree; PYTHONDONTWRITEBYTECODE is lifted for it.
PYCACHE = Path(tempfile.gettempdir()) / "post16-bench-pycache"


def _startup(data_dir: Path, url: str, runs: int = 1) -> tuple[list[float], str, str]:
    """Start to first lesson shown (from before the process starts), `runs` times."""
    totals, cpu, phases, rss = [], [], "", ""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for _ in range(runs):
        started = time.time()
        result = subprocess.run(
            [sys.executable, __file__, "--child", str(data_dir), url],
            capture_output=True,
            text=True,
            cwd=REPO,
            env=env,
            check=True,
        )
        lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
        totals.append(float(lines["FIRST_LESSON"]) - started)
        cpu.append(float(lines["CPU_AT_FIRST_LESSON"]))
        phases = (
            f"imports {float(lines['IMPORTED']) - started:.2f} s, "
            f"resume {float(lines['RESUMED']) - float(lines['IMPORTED']):.2f} s, "
            f"window and lesson {float(lines['FIRST_LESSON']) - float(lines['RESUMED']):.2f} s"
        )
        rss = lines["RSS_MB"]
    phases += f"; CPU time median {statistics.median(cpu):.2f} s; load average {os.getloadavg()[0]:.1f}"
    return totals, phases, rss


def _offline_startup() -> str:
    """Start-up with a stored session and cached lessons, the server unreachable (no server needed)."""
    from desktop.core.credentials import TokenVault
    from desktop.core.session import store_path
    from desktop.core.store import Store
    from shared.lessons.loader import load_manifest

    url = "http://127.0.0.1:9"
    with tempfile.TemporaryDirectory(prefix="post16-startup-bench-") as scratch:
        data_dir = Path(scratch)
        TokenVault(data_dir / "credentials", use_keyring=False).set(url, "benchpupil", "offline-token")
        store = Store.open(store_path(data_dir, url, "benchpupil"))
        for key, value in (("user_id", "7"), ("username", "benchpupil"), ("role", "pupil")):
            store.set_meta(key, value)
        lessons = [lesson.for_pupil() for lesson in load_manifest(REPO / "lessons").lessons]
        store.lessons.save_index([lesson.to_summary() for lesson in lessons])
        for lesson in lessons:
            store.lessons.save(lesson)
        store.close()
        _startup(data_dir, url)  # the first run warms the disk cache
        totals, phases, _rss = _startup(data_dir, url, runs=5)
    return (
        f"  start to first lesson shown : median {statistics.median(totals):.2f} s of 5, offline resume "
        f"(min {min(totals):.2f}, max {max(totals):.2f}; last: {phases})   (target < 1.0 s)"
    )


def _database_url(scratch: Path) -> tuple[str, str | None]:
    url = os.environ.get(
        "POST16_TEST_DATABASE_URL", "postgresql+psycopg://post16:post16-test-only@127.0.0.1:5432/post16_test"
    )
    try:
        import psycopg

        admin = psycopg.connect(url.replace("+psycopg", ""), autocommit=True, connect_timeout=3)
    except Exception as error:  # no PostgreSQL: SQLite keeps the bench runnable anywhere
        print(f"(PostgreSQL not reachable: {error.__class__.__name__}; using SQLite)")
        return f"sqlite+aiosqlite:///{scratch}/server.sqlite3", None
    name = f"post16_bench_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return url.rpartition("/")[0] + "/" + name, name


def _drop(name: str | None) -> None:
    if name is None:
        return
    import psycopg

    url = os.environ.get(
        "POST16_TEST_DATABASE_URL", "postgresql+psycopg://post16:post16-test-only@127.0.0.1:5432/post16_test"
    )
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    import httpx

    from desktop.core.credentials import TokenVault
    from desktop.core.session import SessionManager
    from desktop.core.settings import Settings
    from desktop.core.store import Store

    with tempfile.TemporaryDirectory(prefix="post16-desktop-bench-") as scratch_name:
        scratch = Path(scratch_name)
        database_url, created = _database_url(scratch)
        env = {
            **os.environ,
            "POST16_DATABASE_URL": database_url,
            "POST16_DATA_DIR": str(scratch / "server"),
            "POST16_LESSONS_DIR": str(REPO / "lessons"),
            "POST16_SANDBOX_ENABLED": "true" if _sandbox_available() else "false",
            # Throughput, not the per-minute limits, is measured here.
            "POST16_RATE_LIMITS": "activity_save=1000000,python_run=100000,default=100000",
            "POST16_LOG_LEVEL": "WARNING",
            "POST16_COOKIE_SECURE": "false",
        }
        server_cli = [sys.executable, "-m", "server.cli"]
        subprocess.run(
            [*server_cli, "create-user", "--username", "benchpupil", "--role", "pupil", "--password-stdin"],
            input=PASSWORD + "\n",
            text=True,
            env=env,
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        port = 18000 + secrets.randbelow(2000)
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [*server_cli, "serve", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                        break
                time.sleep(0.1)
            data_dir = scratch / "desktop"
            settings = Settings(data_dir=data_dir, user_config=None)
            manager = SessionManager(settings, vault=TokenVault(data_dir / "credentials", use_keyring=False))
            session = manager.login(url, "benchpupil", PASSWORD)
            session.engine.sync_once()  # caches the lessons, as a pupil's first start would
            lessons = [session.store.lessons.get(s.id) for s in session.store.lessons.summaries()]
            targets = [
                (lesson.id, activity)
                for lesson in lessons
                if lesson is not None
                for activity in lesson.activities
                if activity.kind in ("code", "choice", "text")  # the puzzle kinds' answers have other shapes
            ]

            def state_for(activity, i: int) -> dict:
                if activity.kind == "code":
                    return {"code": f"print({i})\n"}
                if activity.kind == "choice":
                    return {"selected": [i % len(activity.options)]}
                return {"text": f"answer {i}"}

            # 5. Run and Check, here and on the server
            runs = _run_latencies(session, lessons)

            # 2. local save latency (a separate store so the drain below starts from a known queue)
            latency_store = Store.open(scratch / "latency.sqlite3")
            samples = []
            for i in range(1000):
                lesson_id, activity = targets[i % len(targets)]
                started = time.perf_counter()
                latency_store.outbox.save_answer(lesson_id, activity.id, state_for(activity, i))
                samples.append((time.perf_counter() - started) * 1000)
            latency_store.close()
            samples.sort()
            p50 = statistics.median(samples)
            p95 = samples[int(len(samples) * 0.95)]

            # 3. drain 10,000 queued operations
            for i in range(OPERATIONS):
                lesson_id, activity = targets[i % len(targets)]
                session.store.outbox.save_answer(lesson_id, activity.id, state_for(activity, i))
            started = time.perf_counter()
            report = session.engine.push_outbox()
            drain = time.perf_counter() - started
            left = session.store.outbox.pending_count()
            session.close()

            # 1 + 4. a fresh GUI process: start to first lesson, RSS after 20 lessons (the first run
            # warms the disk cache; the median of the next five is reported)
            _startup(data_dir, url)
            starts, phases, rss = _startup(data_dir, url, runs=5)
            start_seconds = statistics.median(starts)
        finally:
            server.terminate()
            server.wait(timeout=20)
            _drop(created)

    backend = "PostgreSQL" if created else "SQLite"
    print(f"desktop bench (server on {backend}, {os.cpu_count()} CPUs)")
    print(
        f"  start to first lesson shown : median {start_seconds:.2f} s of 5 (min {min(starts):.2f}, "
        f"max {max(starts):.2f}; last: {phases})   (target < 1.0 s)"
    )
    print(f"  local save latency          : p50 {p50:.2f} ms, p95 {p95:.2f} ms   (target p95 < 5 ms)")
    print(
        f"  drain {OPERATIONS} operations     : {drain:.2f} s ({OPERATIONS / drain:.0f} ops/s; "
        f"{report.pushed} acknowledged, {len(report.rejected)} refused, {left} left)   (target < 10 s)"
    )
    print(f"  memory after 20 lessons     : {rss} MB RSS   (target < 250 MB)")
    for label, (local, server) in runs.items():
        local_text = f"p50 {statistics.median(local):.0f} ms, p95 {_p95(local):.0f} ms"
        if server:
            ratio = statistics.median(local) / statistics.median(server)
            server_text = (
                f"server p50 {statistics.median(server):.0f} ms, p95 {_p95(server):.0f} ms; "
                f"local/server {ratio:.2f}"
            )
        else:
            server_text = "server: sandbox not available here"
        print(f"  {label:<28}: laptop {local_text}; {server_text}")
    print("  (targets: local Run p50 < 150 ms and < 0.5 x the server round trip)")
    for line in _run_grid():
        print(line)


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def _sandbox_available() -> bool:
    image = os.environ.get("POST16_SANDBOX_IMAGE", "post16-sandbox:latest")
    probe = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    return probe.returncode == 0


def _run_latencies(session, lessons, repeats: int = 20) -> dict[str, tuple[list[float], list[float]]]:  # type: ignore[no-untyped-def]
    from desktop.core.local_check import check_locally
    from desktop.core.local_runner import run_program

    functions = next(lesson for lesson in lessons if lesson is not None and lesson.id == "functions")
    clamp = functions.activity("clamp")
    answer = "def clamp(value, low, high):\n    return max(low, min(value, high))\n"
    client = session.client
    server_up = client.run_python("print(1)", "").status == "success"
    measured: dict[str, tuple[list[float], list[float]]] = {}

    def timed(work) -> float:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        work()
        return (time.perf_counter() - started) * 1000

    local_runs = [timed(lambda: run_program("print(1)")) for _ in range(repeats)]
    server_runs = (
        [timed(lambda: client.run_python("print(1)", "")) for _ in range(repeats)] if server_up else []
    )
    measured["Run print(1)"] = (local_runs, server_runs)
    local_checks = [timed(lambda: check_locally(answer, clamp)) for _ in range(repeats)]
    server_checks = (
        [timed(lambda: client.check("functions", "clamp", answer)) for _ in range(repeats)]
        if server_up
        else []
    )
    measured["Check clamp (4 tests)"] = (local_checks, server_checks)
    return measured


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "--grid-child":
        grid_child(sys.argv[2])
    elif sys.argv[1:] == ["--only", "grid"]:
        print(f"desktop bench, teacher grid ({os.cpu_count()} CPUs)")
        for line in _run_grid():
            print(line)
    elif sys.argv[1:] == ["--only", "startup"]:
        print(f"desktop bench, start-up ({os.cpu_count()} CPUs)")
        print(_offline_startup())
    else:
        main()
