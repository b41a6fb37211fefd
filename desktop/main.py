"""`post16-desktop`: the GUI, or `--self-test` for installers (no window needed).

    post16-desktop [--server URL] [--username NAME] [--data-dir DIR] [--font-scale 1.25]
    post16-desktop --self-test --server URL     (credentials from POST16_USERNAME / POST16_PASSWORD)
    post16-desktop --configure-machine --server URL    (installers: the machine-wide server address)
    post16-desktop --configure-machine --server http://URL --allow-insecure-http   (no https: warned)
    post16-desktop --version

The self-test logs in, downloads and opens the first lesson, saves an answer through the outbox, syncs
it and checks the server's receipt, and runs a small program with input on this computer (as Run
does); it prints each step and exits 0, or says why not and exits 1. It uses a throw-away local store,
so it never touches a real user's queue; the answer it saves is the account's current answer again (or
the activity's starter), so run it with a dedicated test account.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from desktop import __version__
from desktop.core.errors import DesktopError
from desktop.core.session import SessionManager
from desktop.core.settings import Settings, load_settings, write_machine_config
from shared.lessons.model import Activity, ChoiceActivity, CodeActivity, Lesson, TextBlock
from shared.protocol import PROTOCOL_VERSION

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="post16-desktop", description="Post16 Lessons desktop app")
    parser.add_argument(
        "--version", action="version", version=f"post16-desktop {__version__} (protocol {PROTOCOL_VERSION})"
    )
    parser.add_argument(
        "--server", dest="server_url", help="server address, e.g. https://lessons.school.example"
    )
    parser.add_argument("--username", help="username to log in as")
    parser.add_argument("--data-dir", help="where the local answers database lives")
    parser.add_argument("--font-scale", type=float, help="text size multiplier (1.0 = system size)")
    parser.add_argument(
        "--self-test", action="store_true", help="log in, save and sync one answer, then exit 0 (ok) or 1"
    )
    parser.add_argument(
        "--configure-machine",
        action="store_true",
        help="write --server URL to the machine-wide config for every user (run as administrator)",
    )
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="with --configure-machine: accept a plain http:// server address (passwords unencrypted)",
    )
    return parser


def _default_state(activity: Activity) -> dict[str, Any]:
    if isinstance(activity, CodeActivity):
        return {"code": activity.starter or "print('self-test')\n"}
    if isinstance(activity, ChoiceActivity):
        return {"selected": [0]}
    return {"text": "self-test"}


def self_test(settings: Settings, out: Any = sys.stdout) -> int:
    def say(message: str) -> None:
        print(f"[self-test] {message}", file=out, flush=True)

    username = os.environ.get("POST16_USERNAME") or settings.username
    password = os.environ.get("POST16_PASSWORD")
    if not settings.server_url:
        say("FAILED: no server address (use --server URL or POST16_SERVER_URL)")
        return 1
    if not username or not password:
        say("FAILED: set POST16_USERNAME and POST16_PASSWORD")
        return 1
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="post16-self-test-") as scratch:
        scratch_settings = dataclasses.replace(settings, data_dir=Path(scratch), user_config=None)
        manager = SessionManager(scratch_settings, remember=False)
        try:
            session = manager.login(settings.server_url, username, password)
        except DesktopError as error:
            say(f"FAILED to log in to {settings.server_url}: {error}")
            return 1
        say(f"logged in to {settings.server_url} as {session.user.username} ({session.user.role})")
        try:
            return _exercise(session, say, started)
        except DesktopError as error:
            say(f"FAILED: {error}")
            return 1
        finally:
            try:
                manager.logout(session)
            except DesktopError:
                session.close()


def _exercise(session: Any, say: Any, started: float) -> int:
    engine, store, client = session.engine, session.store, session.client
    report = engine.refresh_lessons()
    for problem in report.problems:
        say(f"warning: {problem}")
    summaries = store.lessons.summaries()
    if not summaries:
        say("FAILED: the server lists no lessons")
        return 1
    lesson = store.lessons.get(summaries[0].id)
    if lesson is None or not lesson.activities:
        say(f"FAILED: lesson {summaries[0].id!r} could not be opened (or has no activities)")
        return 1
    say(f"opened lesson {lesson.id!r}: {lesson.title} ({len(lesson.activities)} activities)")
    activity = lesson.activities[0]
    current = client.activity_state(lesson.id, activity.id) if session.user.role == "pupil" else None
    state = current.state if current is not None else _default_state(activity)
    op_id = store.outbox.save_answer(lesson.id, activity.id, state)
    say(f"saved an answer to {activity.id!r} locally (operation {op_id})")
    push = engine.push_outbox()
    if push.rejected:
        say(f"FAILED: the server refused the answer: {push.rejected[0].reason}")
        return 1
    receipts = [r for r in store.outbox.receipts() if r.op_id == op_id]
    if store.outbox.pending_count() or not receipts:
        say("FAILED: the answer is still waiting to sync")
        return 1
    engine.pull_changes()
    say(f"synced: server received it at {receipts[0].received_at} (version {receipts[0].revision})")
    say(_check_local_run())
    say(_check_ui(lesson))
    say(f"OK in {time.perf_counter() - started:.2f} s")
    return 0


def _check_local_run() -> str:
    """Pupils' programs run with the app's own Python (the bundle's, when installed): run one here."""
    from desktop.core.local_runner import LocalLimits, run_program

    result = run_program(
        "import math\nword = input()\nprint(word[::-1], math.isqrt(49))\n",
        "tset-fles\n",
        limits=LocalLimits(cpu_seconds=10, wall_seconds=30),
    )
    if result.status != "success" or result.stdout != "self-test 7\n":
        detail = (result.message or result.stderr.strip()[-300:] or result.stdout[-300:]).strip()
        raise DesktopError(f"a program could not run on this computer ({result.status}): {detail}")
    return f"ran a program on this computer with input in {result.duration_ms:.0f} ms"


def _check_ui(lesson: Lesson) -> str:
    """Loading every window and rendering the lesson catches a broken install (a missing system library,
    Qt plugin or bundled module) here rather than in front of a class."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        import PySide6

        from desktop.ui import app  # noqa: F401 - imports every window and widget module
        from desktop.ui.markdown import render_markdown
    except ImportError as error:
        raise DesktopError(f"the Qt GUI toolkit cannot be loaded: {error}") from error
    text = "\n\n".join(block.markdown for block in lesson.blocks if isinstance(block, TextBlock))
    rendered = render_markdown(text + "\n\n```python\nprint('self-test')\n```\n")
    if "self-test" not in rendered:
        raise DesktopError("the lesson text could not be rendered")
    return f"Qt (PySide6 {PySide6.__version__}) and the lesson view load; lesson text rendered"


def _configure_machine(server_url: str | None, allow_insecure_http: bool = False) -> int:
    if not server_url:
        print("post16-desktop: --configure-machine needs --server URL", file=sys.stderr)
        return 2
    try:
        path = write_machine_config(server_url, allow_insecure_http=allow_insecure_http)
    except (ValueError, OSError) as error:
        print(f"post16-desktop: could not configure this computer: {error}", file=sys.stderr)
        return 1
    print(f"post16-desktop: server address for every user set in {path}")
    if allow_insecure_http and server_url.startswith("http://"):
        print(
            "post16-desktop: warning: plain http:// allowed; passwords and answers cross the network "
            "unencrypted",
            file=sys.stderr,
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.configure_machine:
        return _configure_machine(args.server_url, args.allow_insecure_http)
    command_line = {
        "server_url": args.server_url,
        "username": args.username,
        "data_dir": args.data_dir,
        "font_scale": args.font_scale,
    }
    settings = load_settings(command_line)
    if args.self_test:
        for problem in settings.problems:
            print(f"[self-test] warning: {problem}", flush=True)
        return self_test(settings)
    from desktop.ui.app import run_gui

    return run_gui(settings)


if __name__ == "__main__":
    raise SystemExit(main())
