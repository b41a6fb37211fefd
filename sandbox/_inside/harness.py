"""The marking harness: the program of a check run, running every test of a code activity in one container.

Reads one JSON job on stdin: {marker, code, tests: [{name, stdin, expected_stdout, assert_code}],
per_test_timeout, sample_chars}. Each test runs the pupil's code in a fresh Python process (so tests
cannot leak state into one another); `assert_code` then runs in the same namespace. The child reports
back over a private pipe, tagged with a per-test nonce. The harness prints one line: the marker it was
given, a space, and the JSON results. The pupil's output never reaches the harness's stdout (it goes to
files), and the marker only ever lives in this non-dumpable process, so pupil code cannot print a result
the host would believe.
"""

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from typing import Any

WORK = "/work"

CHILD = r"""
import json, linecache, os, sys, traceback

def _main():
    with open(int(sys.argv[1]), "rb") as source:
        job = json.loads(source.read())
    nonce = job.pop("nonce")
    report = os.fdopen(int(sys.argv[2]), "w", encoding="utf-8")

    def send(outcome, message=""):
        try:
            sys.stdout.flush()
        except Exception:
            pass
        report.write(json.dumps({"nonce": nonce, "outcome": outcome, "message": message[:2000]}))
        report.flush()

    def describe(error):
        text = str(error)
        return f"{type(error).__name__}: {text}" if text else type(error).__name__

    code, check = job["code"], job["assert_code"]
    linecache.cache["main.py"] = (len(code), None, code.splitlines(True), "main.py")
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    sys.argv = ["main.py"]
    try:
        exec(compile(code, "main.py", "exec"), namespace)
    except SystemExit:
        pass  # sys.exit() ends the pupil's part, never the checks (as in shared.lessons.marking)
    except BaseException as error:
        traceback.print_exc()
        send("crashed", "the program raised " + describe(error))
        return
    if check:
        linecache.cache["<test>"] = (len(check), None, check.splitlines(True), "<test>")
        try:
            exec(compile(check, "<test>", "exec"), namespace)
        except AssertionError as error:
            line = ""
            tb = error.__traceback__
            while tb is not None:
                if tb.tb_frame.f_code.co_filename == "<test>":
                    line = linecache.getline("<test>", tb.tb_lineno).strip()
                tb = tb.tb_next
            send("failed", str(error) or ("assertion failed: " + line if line else "assertion failed"))
            return
        except BaseException as error:
            send("failed", "the test raised " + describe(error))
            return
    send("passed")

_main()
"""


def make_non_dumpable() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except Exception:  # noqa: S110 - best effort
        pass


def normalise(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def first_difference(expected: list[str], actual: list[str]) -> str:
    for number, (want, got) in enumerate(zip(expected, actual, strict=False), start=1):
        if want != got:
            return f"line {number}: expected {want[:200]!r}, got {got[:200]!r}"
    if len(expected) > len(actual):
        return f"line {len(actual) + 1}: expected {expected[len(actual)][:200]!r}, got no more output"
    return f"line {len(expected) + 1}: unexpected extra output {actual[len(expected)][:200]!r}"


def read_head(path: str, limit: int) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


def kill_strays() -> None:
    with contextlib.suppress(OSError):
        os.kill(-1, signal.SIGKILL)  # every other process but PID 1 (the bootstrap ignores it)


def run_test(
    index: int, test: dict[str, Any], code: str, timeout: float, sample_chars: int
) -> dict[str, Any]:
    nonce = secrets.token_hex(16)
    job_read, job_write = os.pipe()
    report_read, report_write = os.pipe()
    out_path = os.path.join(WORK, f"test-{index}.out")
    err_path = os.path.join(WORK, f"test-{index}.err")
    job = json.dumps({"nonce": nonce, "code": code, "assert_code": test.get("assert_code")}).encode()
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        child = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-B", "-E", "-s", "-u", "-c", CHILD, str(job_read), str(report_write)],
            cwd=WORK,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
            pass_fds=(job_read, report_write),
            start_new_session=True,
        )
        os.close(job_read)
        os.close(report_write)

    def feed_job() -> None:
        try:
            with open(job_write, "wb") as pipe:
                pipe.write(job)
        except OSError:
            pass

    feeder = threading.Thread(target=feed_job, daemon=True)
    feeder.start()
    timed_out = False
    try:
        child.communicate(input=str(test.get("stdin", "")).encode("utf-8", "surrogatepass"), timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    except OSError:
        pass
    kill_strays()
    child.wait()
    duration_ms = (time.monotonic() - started) * 1000
    os.set_blocking(report_read, False)
    try:
        raw_report = os.read(report_read, 65536)
    except OSError:
        raw_report = b""
    os.close(report_read)
    stdout = read_head(out_path, 1024 * 1024)
    stderr = read_head(err_path, 4096)
    for path in (out_path, err_path):
        with contextlib.suppress(OSError):
            os.unlink(path)

    try:
        report = json.loads(raw_report.decode("utf-8", "replace"))
        if not isinstance(report, dict) or report.get("nonce") != nonce:
            report = None
    except ValueError:
        report = None

    passed = False
    if timed_out:
        message = f"took longer than {timeout:g} s (is there an infinite loop, or a wait for input?)"
    elif report is None:
        message = "the program ended before the test could finish"
        last = stderr.strip().splitlines()
        if last:
            message += f" ({last[-1][:300]})"
    elif report["outcome"] != "passed":
        message = str(report.get("message", ""))
        last = stderr.strip().splitlines()
        if report["outcome"] == "crashed" and last and last[-1] not in message:
            message += f" ({last[-1][:300]})"
    elif test.get("expected_stdout") is not None:
        expected, actual = normalise(test["expected_stdout"]), normalise(stdout)
        passed = expected == actual
        message = (
            ""
            if passed
            else "the output differs from what was expected: " + first_difference(expected, actual)
        )
    else:
        passed = True
        message = ""
    return {
        "name": test["name"],
        "passed": passed,
        "message": message,
        "stdout": stdout[:sample_chars],
        "duration_ms": duration_ms,
    }


def main() -> None:
    make_non_dumpable()
    job = json.loads(sys.stdin.buffer.read())
    marker = job.pop("marker")
    results = [
        run_test(index, test, job["code"], float(job["per_test_timeout"]), int(job["sample_chars"]))
        for index, test in enumerate(job["tests"])
    ]
    sys.stdout.write(marker + " " + json.dumps({"tests": results}) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
