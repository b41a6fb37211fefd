"""Real runner services (`post16-sandbox serve`) as the suite and bench/runner_bench.py start them: in
their own process group, logging to a file, ready when they report a usable engine with a full warm pool,
and able to be SIGKILLed (a crash) with their containers cleared up after.

    from support.runners import RunnerProcess, RUNNER_SECRET
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from support.servers import REPO, free_port

# A test-only secret: long, random-looking, never used anywhere else.
RUNNER_SECRET = "runner-test-secret-5e1f0a9c7b3d2e4f6a8b"
ENGINE = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
ENGINE2_SOCKET = os.environ.get("POST16_DOCKER2_SOCK", "/var/run/post16-docker2.sock")
ENGINE2 = f"unix://{ENGINE2_SOCKET}"


def start_second_engine() -> str | None:
    """Start (or find) the second dockerd of scripts/provision.sh docker2; None when it works, else why."""
    done = subprocess.run(
        [str(REPO / "scripts" / "provision.sh"), "docker2"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return None if done.returncode == 0 else done.stderr.strip()[-500:] or "provision.sh docker2 failed"


def runner_env(secret: str | None = RUNNER_SECRET, engine: str = ENGINE, **overrides: str) -> dict[str, str]:
    """The environment of a runner process: the caller's, minus any runner secret, plus these."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("POST16_RUNNER_SECRET")}
    env.update(
        {
            "POST16_SANDBOX_ENGINES": engine,
            "POST16_SANDBOX_POOL_SIZE": "2",
            "POST16_SANDBOX_CONCURRENCY": "2",
            "POST16_SANDBOX_TIMEOUT_SECONDS": "5",
        }
    )
    if secret is not None:
        env["POST16_RUNNER_SECRET"] = secret
    env.update(overrides)
    return env


def serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "sandbox.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]


class RunnerProcess:
    """A real `post16-sandbox serve` process that tests can start, kill and query."""

    def __init__(self, log_dir: Path, secret: str = RUNNER_SECRET, engine: str = ENGINE, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret = secret
        self.env = runner_env(secret, engine, **env)
        self.log_path = log_dir / f"runner-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> RunnerProcess:
        """Start and wait until it reports a usable engine with its warm pool filled."""
        return self.launch().wait_ready(timeout)

    def launch(self) -> RunnerProcess:
        """Start the process without waiting (launch several, then `wait_ready` each)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                serve_command(self.port),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = 60.0) -> RunnerProcess:
        """Wait until it reports a usable engine with its warm pool filled."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"runner exited early:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                report = self.capacity()
                if report["usable"] and report["pool_ready"] >= report["pool_size"]:
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"runner not ready in {timeout} s:\n{self.log_path.read_text()[-3000:]}")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}

    def capacity(self) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/capacity", headers=self.headers, timeout=2)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def metric(self, name: str, **labels: str) -> float:
        """One sample of the runner's /metrics (0 when absent)."""
        text = httpx.get(f"{self.url}/metrics", headers=self.headers, timeout=5).text
        wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
        for line in text.splitlines():
            head, _, value = line.rpartition(" ")
            metric_name, _, rest = head.partition("{")
            found = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
            if metric_name == name and found == wanted:
                return float(value)
        return 0.0

    def wait_until_running(self, runs: int = 1, timeout: float = 20.0) -> None:
        """Wait until at least `runs` runs execute on this runner (an event, not a guess)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.capacity()["running"] >= runs:
                return
            time.sleep(0.02)
        raise AssertionError(f"runner {self.url} never had {runs} run(s) going")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None

    def kill(self) -> None:
        """SIGKILL, as a crash would; then remove the containers it can no longer clean up itself (a
        new runner on this host would, at its start)."""
        pid = self.process.pid if self.process is not None else None
        self.stop(signal.SIGKILL)
        if pid is not None:
            import docker

            api = docker.APIClient(base_url=self.env["POST16_SANDBOX_ENGINES"], version="1.41", timeout=30)
            try:
                for entry in api.containers(all=True, filters={"label": f"post16.sandbox.pid={pid}"}):
                    try:
                        api.remove_container(entry["Id"], force=True)
                    except docker.errors.APIError as error:
                        # Gone already, or its removal (started by the runner before it died) is under
                        # way: either way it is going.
                        if error.status_code not in {404, 409}:
                            raise
            finally:
                api.close()


@contextlib.contextmanager
def runners_on_two_engines(log_dir: Path, *, wait: bool = True, **env: str) -> Iterator[list[RunnerProcess]]:
    """Two runner processes, one on the default Docker engine and one on the second engine of
    scripts/provision.sh docker2 (started here if it is not running), ready unless `wait` is false (then
    the caller calls `wait_ready`); stopped on exit. Raises RuntimeError saying why when the second
    engine cannot be started."""
    problem = start_second_engine()
    if problem is not None:
        raise RuntimeError(f"a second Docker engine could not be started: {problem}")
    started = [RunnerProcess(log_dir, engine=engine, **env) for engine in (ENGINE, ENGINE2)]
    try:
        for runner in started:
            runner.launch()
        if wait:
            for runner in started:
                runner.wait_ready()
        yield started
    finally:
        for runner in started:
            runner.stop()


__all__ = [
    "ENGINE",
    "ENGINE2",
    "REPO",
    "RUNNER_SECRET",
    "RunnerProcess",
    "free_port",
    "runner_env",
    "runners_on_two_engines",
    "serve_command",
    "start_second_engine",
]
