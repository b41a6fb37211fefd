"""PID 1 of every sandbox container: waits for one job on stdin, runs it once, reports on stdout.

Protocol (the host holds the container's attached stdin/stdout):
  container -> host   b"R\\n" once the imports are done (the container is warm)
  host -> container   b"<length>\\n" + a JSON job {code, stdin, files, timeout, output_limit}
  container -> host   one JSON line: the result, program output base64-encoded

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
import selectors
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


def run(job: dict[str, Any]) -> dict[str, Any]:
    limit = int(job["output_limit"])
    timeout = float(job["timeout"])
    oom_before = oom_kills()
    started = time.monotonic()
    child = subprocess.Popen(  # noqa: S603 - fixed argv, the program is a file in the work folder
        [sys.executable, "-B", "-E", "-s", "-u", PROGRAM],
        cwd=WORK,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=prepare_child,  # noqa: PLW1509 - single-threaded process
        start_new_session=True,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    assert child.stderr is not None
    stdin_pipe, out_fd, err_fd = child.stdin, child.stdout.fileno(), child.stderr.fileno()
    selector = selectors.DefaultSelector()
    outputs = {out_fd: bytearray(), err_fd: bytearray()}
    truncated = {out_fd: False, err_fd: False}
    stdin_data = memoryview(str(job.get("stdin", "")).encode("utf-8", "surrogatepass"))
    stdin_sent = 0
    if stdin_data:
        os.set_blocking(stdin_pipe.fileno(), False)
        selector.register(stdin_pipe, selectors.EVENT_WRITE)
    else:
        stdin_pipe.close()
    for fd in outputs:
        selector.register(fd, selectors.EVENT_READ)
    exit_fd = None
    try:
        exit_fd = os.pidfd_open(child.pid)
        selector.register(exit_fd, selectors.EVENT_READ)
    except (AttributeError, OSError):
        pass

    status = None
    deadline = started + timeout
    exited_at = None
    while True:
        now = time.monotonic()
        if exited_at is None and child.poll() is not None:
            exited_at = now
        if exited_at is not None and (now - exited_at >= DRAIN_SECONDS or not _readers(selector, outputs)):
            break
        if now >= deadline:
            status = "timeout"
            break
        wait = deadline - now
        if exited_at is not None:
            wait = min(wait, DRAIN_SECONDS)
        elif exit_fd is None:
            wait = min(wait, 0.02)
        for key, _events in selector.select(wait):
            if key.fileobj is stdin_pipe:
                try:
                    stdin_sent += os.write(stdin_pipe.fileno(), stdin_data[stdin_sent : stdin_sent + CHUNK])
                except BlockingIOError:
                    continue
                except OSError:
                    stdin_sent = len(stdin_data)
                if stdin_sent >= len(stdin_data):
                    selector.unregister(stdin_pipe)
                    stdin_pipe.close()
            elif key.fileobj is exit_fd:
                selector.unregister(exit_fd)
            else:
                fd = key.fd
                data = os.read(fd, CHUNK)
                if not data:
                    selector.unregister(fd)
                    continue
                buffer = outputs[fd]
                room = limit - len(buffer)
                if len(data) > room:
                    buffer += data[: max(room, 0)]
                    truncated[fd] = True
                    status = "output_limit"
                else:
                    buffer += data
        if status is not None:
            break

    _kill_everything()
    returncode = child.wait()
    duration_ms = (time.monotonic() - started) * 1000
    stdout, stderr = bytes(outputs[out_fd]), bytes(outputs[err_fd])
    message = ""
    exit_code = None
    if status == "timeout":
        message = f"stopped after {timeout:g} s (the time limit)"
    elif status == "output_limit":
        message = f"stopped after printing more than {limit} bytes (the output limit)"
    else:
        exit_code = returncode if returncode >= 0 else 128 - returncode
        out_of_memory = oom_before >= 0 and oom_kills() > oom_before
        if returncode == 0:
            status = "success"
        elif out_of_memory or stderr.rstrip().endswith(b"MemoryError"):
            status = "memory"
            message = "stopped: the program used more memory than allowed"
        else:
            status = "error"
            if returncode < 0:
                message = f"killed by signal {-returncode}"
    return {
        "status": status,
        "exit_code": exit_code,
        "stdout": base64.b64encode(stdout).decode("ascii"),
        "stderr": base64.b64encode(stderr).decode("ascii"),
        "stdout_truncated": truncated[out_fd],
        "stderr_truncated": truncated[err_fd],
        "duration_ms": duration_ms,
        "message": message,
    }


def _readers(selector: selectors.BaseSelector, outputs: dict[int, bytearray]) -> bool:
    return any(_registered(selector, pipe) for pipe in outputs)


def _registered(selector: selectors.BaseSelector, fileobj: Any) -> bool:
    try:
        selector.get_key(fileobj)
    except KeyError:
        return False
    return True


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
        write_files(job)
        result = run(job)
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
