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

Start-up is paid over and over: every warm container imports this file, every test of a check starts a
process. So it imports only modules the interpreter has built in (os, sys, select, binascii, marshal,
_signal) plus `_json`'s C scanner, `resource` and `ctypes` — not json, base64, subprocess, selectors,
shutil or typing, which pull in re, enum, threading, bz2 and lzma (about half of a container's start-up
CPU) — and it starts each program with `os.posix_spawn` (a vfork: nothing of this process is copied and
no Python code runs between fork and exec). Each check compiles the marking shim once and hands every
test's interpreter the compiled code (docs/performance.md, "Runner service: a class burst").
"""

import _signal
import binascii
import marshal
import os
import resource
import select
import sys
import time
from _json import encode_basestring_ascii, make_scanner

TYPE_CHECKING = False
if TYPE_CHECKING:
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


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a value of a job")


class _StrictJson:
    """The settings `_json.make_scanner` reads (as `json.JSONDecoder` would pass them)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _refuse_constant


_scan_json = make_scanner(_StrictJson)  # type: ignore[arg-type] # the class is the settings object


def from_json(text: str) -> object:
    value, end = _scan_json(text, 0)
    if text[end:].strip():
        raise ValueError("a job is one JSON value")
    return value


def to_json(value: object) -> str:
    """JSON for the result line: dicts with str keys, lists, str, int, finite float, bool, None."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return str(encode_basestring_ascii(value))
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, list):
        return "[" + ",".join([to_json(item) for item in value]) + "]"
    if isinstance(value, dict):
        return "{" + ",".join([to_json(str(key)) + ":" + to_json(item) for key, item in value.items()]) + "}"
    raise TypeError(f"cannot send {type(value).__name__}")


def b64(data: bytes | bytearray) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def read_job(stream: "BinaryIO") -> "dict[str, Any]":
    header = stream.readline(24)
    size = int(header)
    if not 0 < size <= 8 * 1024 * 1024:
        raise ValueError("job size out of range")
    data = stream.read(size)
    if len(data) != size:
        raise ValueError("job cut short")
    job = from_json(data.decode("utf-8", "surrogatepass"))
    if not isinstance(job, dict):
        raise ValueError("a job is a JSON object")
    return job


def write_files(job: "dict[str, Any]") -> None:
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


# Signals a started program gets back to their defaults (this process ignores SIGINT; Python ignores
# SIGPIPE and SIGXFSZ), as subprocess's restore_signals would.
RESET_SIGNALS = (_signal.SIGINT, _signal.SIGPIPE, _signal.SIGXFSZ)


def spawn(argv: list[str], cwd: str, stdio: tuple[int, int, int], pass_fds: tuple[int, ...]) -> int:
    """Start `argv` in its own session with `stdio` as its fds 0-2 and `pass_fds` kept at their
    numbers; every other descriptor of this process is close-on-exec (os.pipe's are; main() makes
    the inherited ones so). `os.posix_spawn` has no working-folder action: this single-threaded
    process changes its own for the moment of the spawn."""
    for fd in pass_fds:
        os.set_inheritable(fd, True)
    os.chdir(cwd)
    try:
        pid = os.posix_spawn(
            argv[0],
            argv,
            os.environ,
            file_actions=[(os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(stdio)],
            setsid=True,
            setsigdef=RESET_SIGNALS,
        )
    finally:
        os.chdir(WORK)
    try:
        # The program, not this process, is the one the OOM killer picks. Set from here, just after
        # the exec, while the new interpreter is still starting (~10 ms before any code of the job
        # runs); were this late, the OOM killer would still pick the largest process, the program.
        with open(f"/proc/{pid}/oom_score_adj", "w", encoding="ascii") as adj:
            adj.write("1000")
    except OSError:
        pass
    return pid


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
    stdin_read, stdin_write = os.pipe()
    stdout_read, stdout_write = os.pipe()
    stderr_read, stderr_write = os.pipe()
    names = {stdout_read: "stdout", stderr_read: "stderr", **(extra_reads or {})}
    writes = {stdin_write: memoryview(feeds.get("stdin", b""))}
    for fd, data in (extra_writes or {}).items():
        writes[fd] = memoryview(data)
    started = time.monotonic()
    try:
        pid = spawn(argv, cwd, (stdin_read, stdout_write, stderr_write), pass_fds)
    except BaseException:
        for fd in (*names, *writes):
            _close(fd)
        raise
    finally:
        for fd in (stdin_read, stdout_write, stderr_write, *pass_fds):
            _close(fd)
    poller = select.poll()
    for fd, name in names.items():
        outcome.outputs[name] = bytearray()
        outcome.truncated[name] = False
        os.set_blocking(fd, False)
        poller.register(fd, select.POLLIN)
    sent = dict.fromkeys(writes, 0)
    for fd, view in list(writes.items()):
        if view:
            os.set_blocking(fd, False)
            poller.register(fd, select.POLLOUT)
        else:
            _close(fd)
            del writes[fd]
    exit_fd = None
    try:
        exit_fd = os.pidfd_open(pid)
        poller.register(exit_fd, select.POLLIN)
    except (AttributeError, OSError):
        pass

    deadline = started + timeout
    exited_at = None
    status = None
    reading = set(names)
    while True:
        now = time.monotonic()
        if exited_at is None:
            status = _exited(pid)
            if status is not None:
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
        for fd, _events in poller.poll(max(wait * 1000, 0)):
            if fd == exit_fd:
                poller.unregister(fd)
            elif fd in writes:
                pending = writes[fd]
                try:
                    sent[fd] += os.write(fd, pending[sent[fd] : sent[fd] + CHUNK])
                except BlockingIOError:
                    continue
                except OSError:
                    sent[fd] = len(pending)
                if sent[fd] >= len(pending):
                    poller.unregister(fd)
                    _close(fd)
                    del writes[fd]
            else:
                try:
                    data = os.read(fd, CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                name = names[fd]
                if not data:
                    poller.unregister(fd)
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
    if status is None:
        status = os.waitpid(pid, 0)[1]
    outcome.returncode = os.waitstatus_to_exitcode(status)
    _reap()
    for fd in (*writes, *names):
        _close(fd)
    if exit_fd is not None:
        _close(exit_fd)
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


def _exited(pid: int) -> int | None:
    """The program's wait status once it has exited (reaping it), else None."""
    done, status = os.waitpid(pid, os.WNOHANG)
    return status if done == pid else None


def _close(fd: int) -> None:
    try:  # noqa: SIM105 - contextlib costs every container's start-up more than this function saves
        os.close(fd)
    except OSError:
        pass


def _reap() -> None:
    """As PID 1, collect every orphan the program left (they were all just killed)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run(job: "dict[str, Any]") -> "dict[str, Any]":
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
        "stdout": b64(outcome.outputs["stdout"]),
        "stderr": b64(outcome.outputs["stderr"]),
        "stdout_truncated": outcome.truncated["stdout"],
        "stderr_truncated": outcome.truncated["stderr"],
        "duration_ms": outcome.duration_ms,
        "message": message,
    }


# Run as `python3 -I -S -B -u -c SHIM_LOADER JOB_FD REPORT_FD SHIM_FD`: reads the marking shim, compiled
# once per check by this process, from SHIM_FD and runs it as __main__ would run (it reads JOB_FD and
# writes REPORT_FD). Only built-in modules: nothing is imported from disk before the pupil's code.
SHIM_LOADER = (
    "import marshal,sys\n"
    "with open(int(sys.argv.pop()),'rb') as shim:code=marshal.loads(shim.read())\n"
    "del shim\n"
    "exec(code,{'__name__':'__main__','__builtins__':__builtins__})\n"
)


# The shim the runner gave this container with its command (argv[1]), compiled while the container
# warms up, off the path of a check: (source, marshalled code).
_preloaded_shim = ("", b"")


def compiled_shim(source: str) -> bytes:
    if source == _preloaded_shim[0]:
        return _preloaded_shim[1]
    return marshal.dumps(compile(source, "<string>", "exec"))


def check(job: "dict[str, Any]") -> "dict[str, Any]":
    """Each test of a check: the shim and the pupil's code in a fresh `python3 -I` process, in a fresh
    empty folder, with everything of the test before it killed and its files gone. Only plain evidence
    comes back (output, the shim's report); the expected values and the verdict are on the host."""
    shim = compiled_shim(str(job["shim"]))
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
        payload = to_json({"code": job["code"], "steps": test["steps"]}).encode("ascii")
        job_read, job_write = os.pipe()
        report_read, report_write = os.pipe()
        shim_read, shim_write = os.pipe()
        outcome = execute(
            [
                sys.executable,
                "-I",
                "-S",
                "-B",
                "-u",
                "-c",
                SHIM_LOADER,
                str(job_read),
                str(report_write),
                str(shim_read),
            ],
            folder,
            {"stdin": str(test.get("stdin", "")).encode("utf-8", "surrogatepass")},
            captures,
            timeout,
            pass_fds=(job_read, report_write, shim_read),
            extra_writes={job_write: payload, shim_write: shim},
            extra_reads={report_read: "report"},
        )
        returncode = outcome.returncode
        results.append(
            {
                "status": outcome.status,
                "exit_code": None
                if outcome.status == "timeout"
                else (returncode if returncode >= 0 else 128 - returncode),
                "stdout": b64(outcome.outputs["stdout"]),
                "stderr": b64(outcome.outputs["stderr"][-STDERR_TAIL:]),
                "report": b64(outcome.outputs["report"]),
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
    """Remove everything in the work folder without following a link (the program may have planted
    some; all its processes are dead by now). What cannot be removed stays: each test gets a new folder."""
    work = os.open(WORK, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _remove_contents(work)
    except (OSError, RecursionError):
        pass
    finally:
        os.close(work)


def _remove_contents(folder: int) -> None:
    with os.scandir(folder) as entries:
        names = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    for name, is_folder in names:
        try:
            if is_folder:
                inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
                try:
                    _remove_contents(inner)
                finally:
                    os.close(inner)
                os.rmdir(name, dir_fd=folder)
            else:
                os.unlink(name, dir_fd=folder)
        except OSError:
            continue


def _kill_everything() -> None:
    """Kill every other process in the container (the program and anything it left running)."""
    try:  # noqa: SIM105 - see _close
        os.kill(-1, _signal.SIGKILL)
    except OSError:
        pass


def _no_inherited_descriptors() -> None:
    """Programs are started with posix_spawn, which keeps every descriptor not marked close-on-exec:
    make sure nothing this process was given beyond stdin/stdout/stderr is."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:  # not stdin, stdout, stderr
            try:
                os.set_inheritable(fd, False)
            except OSError:
                continue


def main() -> None:
    global _preloaded_shim  # noqa: PLW0603 - set once, before the job arrives
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    make_non_dumpable()
    _no_inherited_descriptors()
    if len(sys.argv) > 1:
        _preloaded_shim = (sys.argv[1], marshal.dumps(compile(sys.argv[1], "<string>", "exec")))
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
    out.write(to_json(result).encode("ascii") + b"\n")
    out.flush()
    wait_for_removal()


def wait_for_removal() -> None:
    """Stay, idle, until the runner removes the container (or closes our stdin). Everything the program
    started is dead, but were this process to exit now, the engine would tear the container down at once
    (its shim, `runc delete`, unmounts, cgroups: more CPU than a test's interpreter), in the middle of a
    class's burst; the runner removes it when the engine is quiet (sandbox/_pool.py)."""
    _kill_everything()
    _reap()
    try:
        while sys.stdin.buffer.read(CHUNK):
            continue
    except OSError:
        return


if __name__ == "__main__":
    main()
