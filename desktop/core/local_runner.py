"""Running a pupil's own program on this laptop, as IDLE or Thonny would, but with limits.

The program runs in its own process with the Python the app ships with (the frozen bundle runs it
through `post16-desktop --run-program FILE`; a development checkout uses `python -I -u`), in a fresh
private temporary folder, in a session of its own. On Linux and macOS, resource limits cap its CPU
time, memory, processes and file sizes before it starts; on Windows a job object caps the memory,
processes and CPU time of the program and everything it starts (desktop.core.windows_job); a wall-clock
limit, an output cap and Stop kill
it and everything it started (its session, and every descendant found in /proc). Its output is
delivered as it comes, and the pupil's typing is fed to its standard input, so `input()` works.

What this protects and what it does not (docs/desktop.md, "Running code on the laptop"): it keeps the
app responsive and the laptop usable whatever the program does (endless loops, fork and memory bombs,
endless output). It is not a security boundary: the program runs as the pupil's own account and can
do what they could do in IDLE. Marks that count come from the server's sandbox.

Never run as root: when this process is root (the test machines), the program runs as `nobody`.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from desktop.core.windows_job import WindowsJob

__all__ = [
    "LocalLimits",
    "LocalRun",
    "LocalRunResult",
    "LocalRunStatus",
    "program_command",
    "run_program",
]

LocalRunStatus = Literal["success", "error", "timeout", "memory", "output_limit", "stopped"]
PROGRAM_FILE = "main.py"
NOBODY_UID = 65534
_CHUNK = 65536


@dataclass(frozen=True)
class LocalLimits:
    """What one program on the laptop may use. `cpu_seconds` stops a busy loop even while the pupil
    takes their time to answer `input()`; `wall_seconds` stops a program that sleeps or waits forever."""

    cpu_seconds: int = 10
    wall_seconds: float = 120.0
    memory_mib: int = 512
    extra_processes: int = 32
    output_bytes: int = 1_000_000
    file_mib: int = 16


@dataclass
class LocalRunResult:
    status: LocalRunStatus
    exit_code: int | None
    stdout: str
    stderr: str
    duration_ms: float
    message: str = ""
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


OutputCallback = Callable[[str, str], None]


def program_command(program: Path) -> list[str]:
    """The command that runs `program` with the app's own Python, frozen bundle or not."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--run-program", str(program)]
    interpreter = sys.executable
    if _is_root() and not _others_can_run(interpreter):
        # Only on machines where the app runs as root (the test machines): the program runs as nobody,
        # who cannot reach an interpreter under /root; the system's own Python then stands in.
        interpreter = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or interpreter
    return [interpreter, "-I", "-u", str(program)]


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _others_can_run(path: str) -> bool:
    """Whether a user who is not the owner can reach and execute `path` (every folder on the way)."""
    real = Path(os.path.realpath(path))
    try:
        if not real.stat().st_mode & 0o001:
            return False
        return all(parent.stat().st_mode & 0o001 for parent in real.parents)
    except OSError:
        return False


@dataclass
class _Streams:
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    size: int = 0


class LocalRun:
    """One run of a pupil's program. `start()`, then `send_input()` / `close_input()` / `stop()` from any
    thread; `on_output(stream, text)` is called from reader threads as output arrives; `wait()` returns
    the result once the program and everything it started are gone."""

    def __init__(
        self,
        code: str,
        *,
        limits: LocalLimits | None = None,
        on_output: OutputCallback | None = None,
        stdin: str | None = None,
        command: Callable[[Path], list[str]] = program_command,
        collect: tuple[str, ...] = (),
        files: dict[str, str] | None = None,
        merge_stderr: bool = False,
    ) -> None:
        self.code = code
        # A console shows both streams in the order they were written: one pipe keeps that order.
        self._merge_stderr = merge_stderr
        self.limits = limits or LocalLimits()
        self._on_output = on_output
        self._initial_stdin = stdin
        self._command = command
        self._collect = collect
        self._files = dict(files or {})
        self._streams = _Streams()
        self._lock = threading.Lock()
        self._status: LocalRunStatus | None = None
        self._message = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None
        self._started = 0.0
        self._done = threading.Event()
        self._result: LocalRunResult | None = None
        self._threads: list[threading.Thread] = []
        self._job: WindowsJob | None = None

    # -- control -------------------------------------------------------------------------------------

    def start(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="post16-run-"))
        program = self._folder / PROGRAM_FILE
        program.write_text(self.code, encoding="utf-8")
        for name, content in self._files.items():
            if Path(name).name != name or name in ("", ".", "..", PROGRAM_FILE):
                raise ValueError(f"file name {name!r} must be a plain name other than {PROGRAM_FILE}")
            (self._folder / name).write_text(content, encoding="utf-8")
        run_as_nobody = _is_root()
        if run_as_nobody:
            for path in (self._folder, *self._folder.iterdir()):
                os.chown(path, NOBODY_UID, NOBODY_UID)
        environment = _clean_environment(self._folder)
        self._started = time.monotonic()
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and a fixed argv
            self._command(program),
            cwd=self._folder,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if self._merge_stderr else subprocess.PIPE,
            env=environment,
            start_new_session=True,
            preexec_fn=_limiter(self.limits, run_as_nobody) if os.name == "posix" else None,  # noqa: PLW1509
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )
        self._job = _windows_job(self.limits, self._process)
        for stream_name in ("stdout",) if self._merge_stderr else ("stdout", "stderr"):
            self._spawn(self._read, stream_name)
        self._spawn(self._watch)
        if self._initial_stdin is not None:
            self.send_input(self._initial_stdin)
            self.close_input()

    def send_input(self, text: str) -> bool:
        """Type `text` into the program's standard input; False if it is no longer reading."""
        process = self._process
        if process is None or process.stdin is None or self._done.is_set():
            return False
        try:
            process.stdin.write(text.encode("utf-8", "surrogatepass"))
            process.stdin.flush()
        except (OSError, ValueError):
            return False
        return True

    def close_input(self) -> None:
        """End of input (Ctrl+D): the program's next `input()` raises EOFError."""
        process = self._process
        if process is not None and process.stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                process.stdin.close()

    def stop(self) -> None:
        """Stop the program and everything it started, now."""
        self._finish_with("stopped", "stopped")

    def wait(self, timeout: float | None = None) -> LocalRunResult | None:
        if not self._done.wait(timeout):
            return None
        return self._result

    @property
    def running(self) -> bool:
        return self._process is not None and not self._done.is_set()

    # -- internals -----------------------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], *args: str) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=f"local-run-{target.__name__}")
        self._threads.append(thread)
        thread.start()

    def _read(self, stream_name: str) -> None:
        process = self._process
        assert process is not None
        pipe = process.stdout if stream_name == "stdout" else process.stderr
        assert pipe is not None
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        fd = pipe.fileno()
        while True:
            try:
                data = os.read(fd, _CHUNK)
            except OSError:
                data = b""
            text = decoder.decode(data, final=not data)
            if text:
                self._deliver(stream_name, text)
            if not data:
                return

    def _deliver(self, stream_name: str, text: str) -> None:
        with self._lock:
            if self._status == "output_limit":
                return
            room = self.limits.output_bytes - self._streams.size
            over = len(text) > room
            text = text[: max(room, 0)]
            self._streams.size += len(text)
            getattr(self._streams, stream_name).append(text)
        if text and self._on_output is not None:
            self._on_output(stream_name, text)
        if over:
            limit = self.limits.output_bytes
            self._finish_with("output_limit", f"stopped after printing more than {limit:,} characters")

    def _watch(self) -> None:
        process = self._process
        assert process is not None
        try:
            process.wait(timeout=self.limits.wall_seconds)
        except subprocess.TimeoutExpired:
            self._finish_with(
                "timeout", f"stopped after {self.limits.wall_seconds:g} seconds (the time limit for a run)"
            )
            return
        self._finish_with(None, "")

    def _finish_with(self, status: LocalRunStatus | None, message: str) -> None:
        with self._lock:
            if self._result is not None or (self._status is not None and status is not None):
                return
            if status is not None:
                self._status, self._message = status, message
        process = self._process
        if process is None:
            return
        if self._job is not None:
            self._job.terminate()
        _kill_tree(process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        for thread in self._threads:
            if thread is not threading.current_thread() and thread.name != "local-run-_watch":
                thread.join(timeout=2)
        with self._lock:
            if self._result is not None:
                return
            self._result = self._compose(process.returncode)
        if self._job is not None:
            self._job.close()
        if self._folder is not None:
            self._result.files = _read_files(self._folder, self._collect)
            shutil.rmtree(self._folder, ignore_errors=True)
        self._done.set()

    def _compose(self, returncode: int | None) -> LocalRunResult:
        stdout, stderr = "".join(self._streams.stdout), "".join(self._streams.stderr)
        duration_ms = (time.monotonic() - self._started) * 1000
        status, message = self._status, self._message
        exit_code = None if returncode is None else (returncode if returncode >= 0 else 128 - returncode)
        if status is None:
            status, message = _classify(returncode, stdout if self._merge_stderr else stderr, self.limits)
        return LocalRunResult(status, exit_code, stdout, stderr, round(duration_ms, 3), message)


def _read_files(folder: Path, names: tuple[str, ...], limit: int = 4 * 1024 * 1024) -> dict[str, bytes]:
    files = {}
    for name in names:
        with contextlib.suppress(OSError):
            handle = os.open(folder / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with open(handle, "rb") as source:
                files[name] = source.read(limit)
    return files


def _classify(returncode: int | None, stderr: str, limits: LocalLimits) -> tuple[LocalRunStatus, str]:
    if returncode == 0:
        return "success", ""
    tail = stderr.rstrip().splitlines()[-1:] or [""]
    if tail[0].startswith("MemoryError") or returncode in (-signal.SIGSEGV, -getattr(signal, "SIGBUS", 7)):
        return "memory", f"stopped: the program used more than {limits.memory_mib} MB of memory"
    if returncode == -getattr(signal, "SIGXCPU", 24) or returncode == -signal.SIGKILL:
        return "timeout", (
            f"stopped after {limits.cpu_seconds} seconds of computing (is there an endless loop?)"
        )
    if returncode is not None and returncode < 0:
        return "error", f"the program was stopped by signal {-returncode}"
    return "error", ""


def _clean_environment(folder: Path) -> dict[str, str]:
    """The program sees a plain environment: no tokens, proxies or settings of the app."""
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "WINDIR", "TZ")
    environment = {name: os.environ[name] for name in keep if name in os.environ}
    environment.update(
        HOME=str(folder), TMPDIR=str(folder), TEMP=str(folder), TMP=str(folder), PYTHONIOENCODING="utf-8"
    )
    return environment


def _user_process_count(uid: int) -> int:
    """How many processes `uid` has now (Linux /proc); the fork limit is set above this."""
    count = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 256
    for entry in entries:
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
    return count


def _limiter(limits: LocalLimits, run_as_nobody: bool) -> Callable[[], None]:
    """Runs in the child between fork and exec: resource limits, then (as root) become nobody."""
    import resource

    uid = NOBODY_UID if run_as_nobody else os.getuid()
    processes = _user_process_count(uid) + limits.extra_processes

    def apply() -> None:
        memory = limits.memory_mib * 1024 * 1024
        for name, value in (
            ("RLIMIT_CPU", limits.cpu_seconds),
            ("RLIMIT_AS", memory),
            ("RLIMIT_DATA", memory),
            ("RLIMIT_FSIZE", limits.file_mib * 1024 * 1024),
            ("RLIMIT_NPROC", processes),
            ("RLIMIT_CORE", 0),
        ):
            limit = getattr(resource, name, None)
            if limit is not None:
                with contextlib.suppress(ValueError, OSError):
                    resource.setrlimit(limit, (value, value))
        if run_as_nobody:
            os.setgroups([])
            os.setgid(NOBODY_UID)
            os.setuid(NOBODY_UID)

    return apply


def _windows_job(limits: LocalLimits, process: subprocess.Popen[bytes]) -> WindowsJob | None:
    """On Windows, the program in a job object with the limits rlimits give elsewhere; None elsewhere.
    A job that cannot be made (an old Windows, a policy) leaves the wall-clock limit and Stop, which
    still kill the process tree."""
    try:
        job = WindowsJob.create(
            memory_bytes=limits.memory_mib * 1024 * 1024,
            processes=1 + limits.extra_processes,
            cpu_seconds=limits.cpu_seconds,
        )
    except OSError:
        return None
    if job is None:
        return None
    try:
        job.add(process.pid)
    except OSError:
        job.close()
        return None
    return job


def _descendants(root: int) -> set[int]:
    """Every process whose parent chain leads to `root`, or that shares its session (Linux /proc)."""
    parents: dict[int, int] = {}
    sessions: dict[int, int] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return set()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(entry)] = int(fields[1])
        sessions[int(entry)] = int(fields[3])
    found = {pid for pid, session in sessions.items() if session == root}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if pid not in found and (parent == root or parent in found):
                found.add(pid)
                changed = True
    found.discard(os.getpid())
    return found


def _kill_tree(pid: int) -> None:
    """Kill the program, its session and every descendant, until none is left (a fork bomb keeps
    forking while it is being killed, so sweep a few times)."""
    if os.name != "posix":
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
        return
    for _sweep in range(20):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        victims = _descendants(pid)
        for victim in victims:
            with contextlib.suppress(OSError):
                os.kill(victim, signal.SIGKILL)
        if not victims:
            return
        time.sleep(0.01)


def run_program(
    code: str,
    stdin: str = "",
    *,
    limits: LocalLimits | None = None,
    collect: tuple[str, ...] = (),
    files: dict[str, str] | None = None,
) -> LocalRunResult:
    """Run `code` to the end with `stdin` as its whole input (no console): for checks and self-tests.
    `files` are written beside the program first; files named in `collect` are read from the program's
    folder before it is removed."""
    run = LocalRun(code, limits=limits, stdin=stdin, collect=collect, files=files)
    run.start()
    result = run.wait()
    assert result is not None
    return result
