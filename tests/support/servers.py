"""A real `post16-server serve` process, as the suite, the fault suite, the load suite and the benchmarks
start it: in its own process group (stopping it stops every worker), logging to a file, answering
`/api/health` before `start` returns, and able to be stopped, SIGKILLed and started again on the same
port (behind a proxy that keeps pointing there).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

__all__ = ["REPO", "ServerProcess", "free_port", "server_env"]

REPO = Path(__file__).resolve().parents[2]
#: A server process keeps its own metrics folder; one inherited from the caller would be shared.
_NOT_INHERITED = ("PROMETHEUS_MULTIPROC_DIR",)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    """The suite's server settings (the lessons in lessons/, no sandbox, quiet logs), then `overrides`."""
    env = {
        "POST16_DATABASE_URL": database_url,
        "POST16_DATA_DIR": str(data_dir),
        "POST16_LESSONS_DIR": str(REPO / "lessons"),
        "POST16_COOKIE_SECURE": "false",
        "POST16_LOG_JSON": "false",
        "POST16_LOG_LEVEL": "WARNING",
        "POST16_LESSONS_RELOAD_SECONDS": "0",
        "POST16_SANDBOX_ENABLED": "false",
        "POST16_METRICS_TOKEN": "test-metrics-token",
    }
    env.update(overrides)
    return env


class ServerProcess:
    """`python -m server.cli serve --workers N` with `env` (POST16_* settings) over the caller's own."""

    def __init__(
        self, env: dict[str, str], *, workers: int = 1, port: int | None = None, log_path: Path | None = None
    ) -> None:
        self.base_env = dict(env)
        self.extra_env: dict[str, str] = {}
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or Path(env["POST16_DATA_DIR"]) / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0, **extra_env: str) -> ServerProcess:
        """Start (again, on the same port) and wait until it answers; `extra_env` holds until the next
        start. Raises RuntimeError with the end of the log if it exits or does not answer in time."""
        return self.launch(**extra_env).wait_ready(timeout)

    def launch(self, **extra_env: str) -> ServerProcess:
        """Start the process without waiting (launch several, then `wait_ready` each)."""
        self.extra_env = dict(extra_env)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        inherited = {key: value for key, value in os.environ.items() if key not in _NOT_INHERITED}
        command = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port), "--workers", str(self.workers)],
                env={**inherited, **self.base_env, **self.extra_env},
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        return self

    def wait_ready(self, timeout: float = 60.0) -> ServerProcess:
        """Wait until it answers `/api/health`; stops it and raises RuntimeError if it does not."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited early:\n{self._log_tail()}")
            if self._healthy():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not answer in {timeout} s:\n{self._log_tail()}")

    @property
    def pid(self) -> int:
        assert self.process is not None, "the server is not running"
        return self.process.pid

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the whole process group (the supervisor and every worker); SIGKILL what outlives 20 s."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        else:
            # The main process is gone; make sure no worker of its group lingers on the port.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        self.process = None

    def kill(self) -> None:
        """SIGKILL the whole process group at once, as a crash would."""
        self.stop(signal.SIGKILL)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/health", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"
