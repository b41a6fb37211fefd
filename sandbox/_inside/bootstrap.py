"""PID 1 of every sandbox container: waits for one job on stdin, runs it once, reports on stdout.

Protocol (the host holds the container's attached stdin/stdout):
  container -> host   b"R\\n" once the imports are done (the container is warm)
  host -> container   b"<length>\\n" + a JSON job, either a run {code, stdin, files, timeout,
                      output_limit} or a check {mode: "check", shim, code, tests: [{stdin, steps}],
                      per_test_timeout, stdout_limit, report_limit}
  container -> host   one JSON line: the result, program output base64-encoded; for a check, the
                      evidence of each test (output, exit status, the shim's report), never a verdict

A check runs each test in a fresh `python3 -I` process in a fresh, empty folder, after killing
everything the previous test left and emptying the work folder. The expected values never reach the
container: the host judges (shared/lessons/checks.py, docs/sandbox.md "Why marks cannot be forged").

Nothing of the host is touched: files reach the work folder (a tmpfs) from the job, output leaves
through stdout. Only this process writes to the container's stdout; the program's output goes into
pipes read here, capped. Being PID 1 of its PID namespace, this process only receives signals it has
a handler for, so the program cannot kill it; it also makes itself non-dumpable so the program cannot
read its memory or file descriptors through /proc.
"""

import base64
import contextlib
import json
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import time
from typing import Any, BinaryIO

WORK = "/work"
PROGRAM = "main.py"
CHUNK = 65536
# After the program exits, leftover background writers get this long before everything is killed.
DRAIN_SECONDS = 0.05
STDERR_TAIL = 4096


def make_non_dumpable() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except Exception:  # noqa: S110 - best effort: the image may lack ctypes
        pass


def oom_kills() -> int:
    """How many processes the memory cgroup's OOM killer has killed so far (-1 if unknown)."""
    for path in ("/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/memory.events"):
        try:
            with open(path, encoding="ascii") as counters:
                for line in counters:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return -1


def read_job(stream: BinaryIO) -> dict[str, Any]:
    header = stream.readline(24)
    size = int(header)
    if not 0 < size <= 8 * 1024 * 1024:
        raise ValueError("job size out of range")
    data = stream.read(size)
    if len(data) != size:
        raise ValueError("job cut short")
    job: dict[str, Any] = json.loads(data)
    return job


def write_files(job: dict[str, Any]) -> None:
    """Create the program and the uploaded files; O_EXCL|O_NOFOLLOW so nothing is ever followed."""
    entries = [(PROGRAM, job["code"])] + [(f["name"], f["content"]) for f in job.get("files", [])]
    work = os.open(WORK, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name, content in entries:
            if not name or "/" in name or "\x00" in name or name.startswith("."):
                raise ValueError(f"refused file name {name!r}")
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            handle = os.open(name, flags, 0o600, dir_fd=work)
            with open(handle, "wb") as target:
                target.write(content.encode("utf-8", "surrogatepass"))
    finally:
        os.close(work)


def prepare_child() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as adj:
            adj.write("1000")  # the program, not this process, is the one the OOM killer picks
    except OSError:
        pass


class Outcome:
    """What one process did: its status, captured streams (capped) and timing."""

    def __init__(self) -> None:
        self.status: str | None = None
        self.returncode = 0
        self.outputs: dict[str, bytearray] = {}
        self.truncated: dict[str, bool] = {}
        self.duration_ms = 0.0


def execute(
    argv: list[str],
    cwd: str,
    feeds: dict[str, bytes],
    captures: dict[str, int],
    timeout: float,
    pass_fds: tuple[int, ...] = (),
    extra_writes: dict[int, bytes] | None = None,
    extra_reads: dict[int, str] | None = None,
) -> Outcome:
    """Run `argv`, feed its stdin and any extra pipes, capture stdout, stderr and extra pipes up to
    `captures[name]` bytes each; stop at `timeout` or at an output cap; then kill everything left.
    Exceeding "stdout" or "stderr" caps is an output_limit; an extra pipe is only cut."""
    outcome = Outcome()
    oom_before = oom_kills()
    started = time.monotonic()
    child = subprocess.Popen(  # noqa: S603 - fixed argv chosen by this file
        argv,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=pass_fds,
        preexec_fn=prepare_child,  # noqa: PLW1509 - single-threaded process
        start_new_session=True,
    )
    for fd in pass_fds:
        os.close(fd)
    assert child.stdin is not None
    assert child.stdout is not None
    assert child.stderr is not None
    selector = selectors.DefaultSelector()
    names = {child.stdout.fileno(): "stdout", child.stderr.fileno(): "stderr", **(extra_reads or {})}
    for fd, name in names.items():
        outcome.outputs[name] = bytearray()
        outcome.truncated[name] = False
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    writes = {child.stdin.fileno(): memoryview(feeds.get("stdin", b""))}
    for fd, data in (extra_writes or {}).items():
        writes[fd] = memoryview(data)
    owned: dict[int, Any] = dict.fromkeys(writes)
    owned[child.stdin.fileno()] = child.stdin
    sent = dict.fromkeys(writes, 0)
    for fd, view in writes.items():
        if view:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_WRITE)
        else:
            _close(fd, owned)
    exit_fd = None
    try:
        exit_fd = os.pidfd_open(child.pid)
        selector.register(exit_fd, selectors.EVENT_READ)
    except (AttributeError, OSError):
        pass

    deadline = started + timeout
    exited_at = None
    reading = set(names)
    while True:
        now = time.monotonic()
        if exited_at is None and child.poll() is not None:
            exited_at = now
        if exited_at is not None and (now - exited_at >= DRAIN_SECONDS or not reading):
            break
        if now >= deadline:
            outcome.status = "timeout"
            break
        wait = deadline - now
        if exited_at is not None:
            wait = min(wait, DRAIN_SECONDS)
        elif exit_fd is None:
            wait = min(wait, 0.02)
        for key, _events in selector.select(wait):
            fd = key.fd
            if fd == exit_fd:
                selector.unregister(fd)
            elif fd in writes:
                pending = writes[fd]
                try:
                    sent[fd] += os.write(fd, pending[sent[fd] : sent[fd] + CHUNK])
                except BlockingIOError:
                    continue
                except OSError:
                    sent[fd] = len(pending)
                if sent[fd] >= len(pending):
                    selector.unregister(fd)
                    _close(fd, owned)
            else:
                try:
                    data = os.read(fd, CHUNK)
                except BlockingIOError:
                    continue
                name = names[fd]
                if not data:
                    selector.unregister(fd)
                    reading.discard(fd)
                    continue
                buffer = outcome.outputs[name]
                room = captures[name] - len(buffer)
                if len(data) > room:
                    buffer += data[: max(room, 0)]
                    if not outcome.truncated[name] and name in ("stdout", "stderr"):
                        outcome.status = "output_limit"
                    outcome.truncated[name] = True
                else:
                    buffer += data
        if outcome.status is not None:
            break

    _kill_everything()
    outcome.returncode = child.wait()
    _reap()
    for fd in list(writes):
        _close(fd, owned)
    for fd in extra_reads or {}:
        with contextlib.suppress(OSError):
            os.close(fd)
    child.stdout.close()
    child.stderr.close()
    if exit_fd is not None:
        os.close(exit_fd)
    outcome.duration_ms = (time.monotonic() - started) * 1000
    if outcome.status is None:
        out_of_memory = oom_before >= 0 and oom_kills() > oom_before
        if outcome.returncode == 0:
            outcome.status = "success"
        elif out_of_memory or bytes(outcome.outputs["stderr"]).rstrip().endswith(b"MemoryError"):
            outcome.status = "memory"
        else:
            outcome.status = "error"
    return outcome


def _close(fd: int, owned: dict[int, Any]) -> None:
    """Close a pipe we write to, once: `owned` maps each still-open one to its file object or None."""
    if fd not in owned:
        return
    handle = owned.pop(fd)
    with contextlib.suppress(OSError):
        if handle is not None:
            handle.close()
        else:
            os.close(fd)


def _reap() -> None:
    """As PID 1, collect every orphan the program left (they were all just killed)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run(job: dict[str, Any]) -> dict[str, Any]:
    """A pupil's program: main.py in the work folder, with its uploaded files."""
    write_files(job)
    limit = int(job["output_limit"])
    timeout = float(job["timeout"])
    outcome = execute(
        [sys.executable, "-B", "-E", "-s", "-u", PROGRAM],
        WORK,
        {"stdin": str(job.get("stdin", "")).encode("utf-8", "surrogatepass")},
        {"stdout": limit, "stderr": limit},
        timeout,
    )
    message = ""
    exit_code = None
    returncode = outcome.returncode
    if outcome.status == "timeout":
        message = f"stopped after {timeout:g} s (the time limit)"
    elif outcome.status == "output_limit":
        message = f"stopped after printing more than {limit} bytes (the output limit)"
    else:
        exit_code = returncode if returncode >= 0 else 128 - returncode
        if outcome.status == "memory":
            message = "stopped: the program used more memory than allowed"
        elif outcome.status == "error" and returncode < 0:
            message = f"killed by signal {-returncode}"
    return {
        "status": outcome.status,
        "exit_code": exit_code,
        "stdout": base64.b64encode(outcome.outputs["stdout"]).decode("ascii"),
        "stderr": base64.b64encode(outcome.outputs["stderr"]).decode("ascii"),
        "stdout_truncated": outcome.truncated["stdout"],
        "stderr_truncated": outcome.truncated["stderr"],
        "duration_ms": outcome.duration_ms,
        "message": message,
    }


def check(job: dict[str, Any]) -> dict[str, Any]:
    """Each test of a check: the shim and the pupil's code in a fresh `python3 -I` process, in a fresh
    empty folder, with everything of the test before it killed and its files gone. Only plain evidence
    comes back (output, the shim's report); the expected values and the verdict are on the host."""
    shim = str(job["shim"])
    timeout = float(job["per_test_timeout"])
    captures = {
        "stdout": int(job["stdout_limit"]),
        "stderr": int(job["stdout_limit"]),
        "report": int(job["report_limit"]),
    }
    results = []
    for test in job["tests"]:
        _empty_work_folder()
        folder = os.path.join(WORK, "t-" + os.urandom(12).hex())
        os.mkdir(folder, 0o700)
        payload = json.dumps({"code": job["code"], "steps": test["steps"]}).encode("utf-8", "surrogatepass")
        job_read, job_write = os.pipe()
        report_read, report_write = os.pipe()
        outcome = execute(
            [sys.executable, "-I", "-S", "-B", "-u", "-c", shim, str(job_read), str(report_write)],
            folder,
            {"stdin": str(test.get("stdin", "")).encode("utf-8", "surrogatepass")},
            captures,
            timeout,
            pass_fds=(job_read, report_write),
            extra_writes={job_write: payload},
            extra_reads={report_read: "report"},
        )
        returncode = outcome.returncode
        results.append(
            {
                "status": outcome.status,
                "exit_code": None
                if outcome.status == "timeout"
                else (returncode if returncode >= 0 else 128 - returncode),
                "stdout": base64.b64encode(outcome.outputs["stdout"]).decode("ascii"),
                "stderr": base64.b64encode(outcome.outputs["stderr"][-STDERR_TAIL:]).decode("ascii"),
                "report": base64.b64encode(outcome.outputs["report"]).decode("ascii"),
                "duration_ms": outcome.duration_ms,
            }
        )
    _empty_work_folder()
    return {"status": "success", "tests": results}


def cpu_seconds() -> float:
    """CPU used so far by this process and the children it waited for: reported with each result so the
    runner's metrics can tell container work from its own and the engine's (never part of a verdict)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _empty_work_folder() -> None:
    """Remove everything in the work folder without following a link (the program may have planted some)."""
    for entry in os.listdir(WORK):
        path = os.path.join(WORK, entry)
        with contextlib.suppress(OSError):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)


def _kill_everything() -> None:
    """Kill every other process in the container (the program and anything it left running)."""
    with contextlib.suppress(OSError):
        os.kill(-1, signal.SIGKILL)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    make_non_dumpable()
    out = sys.stdout.buffer
    out.write(b"R\n")
    out.flush()
    try:
        job = read_job(sys.stdin.buffer)
        cpu_before = cpu_seconds()
        result = check(job) if job.get("mode") == "check" else run(job)
        result["cpu_seconds"] = round(cpu_seconds() - cpu_before, 6)
    except Exception as error:
        result = {
            "status": "error",
            "exit_code": None,
            "message": f"sandbox could not start the program: {error}",
        }
    out.write(json.dumps(result).encode("ascii") + b"\n")
    out.flush()


if __name__ == "__main__":
    main()
