"""Everything that talks to one Docker engine. Blocking calls: the runner runs them in worker threads.

A warm container is created with its stdin/stdout attached before it starts; its PID 1 (the bootstrap)
says "R" when ready and then blocks reading one job. A run writes the job to the attached socket and
reads the one-line result back. Nothing is copied through host paths; the container is removed after
its single run.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.utils
from docker.types import LogConfig, Ulimit

from sandbox._inside import BOOTSTRAP_SOURCE
from sandbox._limits import SandboxLimits
from shared.lessons import PROBE_SHIM_SOURCE

# Docker's default seccomp profile, pinned in the repository and passed explicitly, so that a daemon
# whose default changed (or was switched off with --seccomp-profile=unconfined) cannot weaken the
# sandbox. Its origin and how to refresh it: sandbox/image/README.md.
SECCOMP_PROFILE = json.dumps(
    json.loads((Path(__file__).resolve().parent / "image" / "seccomp.json").read_text(encoding="utf-8")),
    separators=(",", ":"),
)

LABEL = "post16.sandbox"
LABEL_INSTANCE = "post16.sandbox.instance"
LABEL_HOST = "post16.sandbox.host"
LABEL_PID = "post16.sandbox.pid"
SANDBOX_UID = 10001
WORK_DIR = "/work"
API_VERSION = "1.41"
READY_LINE = b"R\n"
CONTAINER_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": WORK_DIR,
    "TMPDIR": WORK_DIR,
    "LANG": "C.UTF-8",
    "PYTHONIOENCODING": "utf-8",
}
_FRAME_HEADER = struct.Struct(">BxxxL")
_STDOUT, _STDERR = 1, 2
_MAX_STDERR = 16 * 1024


class EngineError(Exception):
    """The engine could not do what was asked (down, image missing, API error)."""


def make_api_client(url: str, environ: dict[str, str] | None = None) -> docker.APIClient:
    """An API client for `url`; tcp:// engines use TLS when DOCKER_TLS_VERIFY / DOCKER_CERT_PATH say so."""
    environ = dict(os.environ) if environ is None else environ
    tls: Any = False
    if url.startswith(("tcp://", "https://")) and (
        environ.get("DOCKER_TLS_VERIFY") or environ.get("DOCKER_CERT_PATH")
    ):
        tls = docker.utils.kwargs_from_env(environment=environ).get("tls", False)
    return docker.APIClient(base_url=url, version=API_VERSION, timeout=30, tls=tls, max_pool_size=64)


class AttachedStream:
    """The container's attached stdin/stdout/stderr: one socket carrying Docker's multiplexed frames."""

    def __init__(self, socket_io: Any) -> None:
        self._socket_io = socket_io  # keeps the HTTP response (and with it the socket) alive
        self._socket: socket.socket = getattr(socket_io, "_sock", socket_io)
        self._pending = bytearray()
        self.stdout = bytearray()
        self.stderr = bytearray()

    def send(self, data: bytes, deadline: float) -> None:
        self._socket.settimeout(max(deadline - time.monotonic(), 0.001))
        self._socket.sendall(data)

    def read_line(self, deadline: float, max_stdout: int) -> str:
        """Read frames until stdout holds a full line. Returns "line", "eof", "timeout" or "overflow"."""
        while True:
            newline = self.stdout.find(b"\n")
            if newline >= 0:
                return "line"
            if len(self.stdout) > max_stdout:
                return "overflow"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            self._socket.settimeout(remaining)
            try:
                chunk = self._socket.recv(262144)
            except TimeoutError:
                return "timeout"
            except OSError:
                return "eof"
            if not chunk:
                return "eof"
            self._pending += chunk
            self._split_frames()

    def take_line(self) -> bytes:
        newline = self.stdout.find(b"\n")
        line = bytes(self.stdout[:newline])
        del self.stdout[: newline + 1]
        return line

    def _split_frames(self) -> None:
        while len(self._pending) >= _FRAME_HEADER.size:
            kind, size = _FRAME_HEADER.unpack_from(self._pending)
            end = _FRAME_HEADER.size + size
            if len(self._pending) < end:
                return
            payload = self._pending[_FRAME_HEADER.size : end]
            if kind == _STDOUT:
                self.stdout += payload
            elif kind == _STDERR and len(self.stderr) < _MAX_STDERR:
                self.stderr += payload[: _MAX_STDERR - len(self.stderr)]
            del self._pending[:end]

    def close(self) -> None:
        for closable in (self._socket, self._socket_io):
            with contextlib.suppress(Exception):
                closable.close()


@dataclass(eq=False)
class WarmContainer:
    container_id: str
    stream: AttachedStream
    ready_at: float = field(default_factory=time.monotonic)


@dataclass
class Exchange:
    """What came back from one run: `outcome` is "line", "eof", "timeout", "overflow" or "unsent"."""

    outcome: str
    line: bytes = b""
    stderr: bytes = b""
    seconds: float = 0.0


class Engine:
    """One Docker engine: creates warm containers, runs a job in one, removes them."""

    def __init__(self, url: str, limits: SandboxLimits, instance_id: str) -> None:
        self.url = url
        self.limits = limits
        self.instance_id = instance_id
        self.api = make_api_client(url)

    def close(self) -> None:
        self.api.close()

    def check(self) -> tuple[bool, bool, str]:
        """(reachable, image present, problem) for this engine."""
        try:
            self.api.ping()
        except Exception as error:
            return False, False, f"Docker engine {self.url} is not reachable: {_short(error)}"
        try:
            self.api.inspect_image(self.limits.image)
        except docker.errors.ImageNotFound:
            return (
                True,
                False,
                f"the sandbox image {self.limits.image} is missing on {self.url}; "
                "run `post16-sandbox build-image`",
            )
        except Exception as error:
            return False, False, f"Docker engine {self.url} failed: {_short(error)}"
        return True, True, ""

    def host_config(self) -> dict[str, Any]:
        limits = self.limits
        config: dict[str, Any] = self.api.create_host_config(
            network_mode="none",
            mem_limit=limits.memory_bytes,
            memswap_limit=limits.memory_bytes,
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            read_only=True,
            tmpfs={
                WORK_DIR: (
                    f"rw,nosuid,nodev,noexec,size={limits.work_mib}m,mode=0700,"
                    f"uid={SANDBOX_UID},gid={SANDBOX_UID}"
                )
            },
            cap_drop=["ALL"],
            security_opt=["no-new-privileges", f"seccomp={SECCOMP_PROFILE}"],
            ulimits=[
                Ulimit(name="nofile", soft=limits.nofile, hard=limits.nofile),
                Ulimit(
                    name="fsize", soft=limits.fsize_mib * 1024 * 1024, hard=limits.fsize_mib * 1024 * 1024
                ),
                Ulimit(name="nproc", soft=limits.nproc, hard=limits.nproc),
                Ulimit(name="core", soft=0, hard=0),
            ],
            privileged=False,
            ipc_mode="none",
            log_config=LogConfig(type="none"),
        )
        return config

    def labels(self) -> dict[str, str]:
        return {
            LABEL: "1",
            LABEL_INSTANCE: self.instance_id,
            LABEL_HOST: socket.gethostname(),
            LABEL_PID: str(os.getpid()),
        }

    def create_warm(self, ready_timeout: float = 20.0) -> WarmContainer:
        """Create, attach, start, and wait until the bootstrap says it is ready."""
        created = self.api.create_container(
            self.limits.image,
            # The marking shim rides along so the bootstrap compiles it while warming up, not per check.
            command=["python3", "-I", "-S", "-c", BOOTSTRAP_SOURCE, PROBE_SHIM_SOURCE],
            user=f"{SANDBOX_UID}:{SANDBOX_UID}",
            # Not detached + stdin_open sets StdinOnce: Docker closes the bootstrap's stdin when our
            # attached connection goes away (this process died), so it exits instead of waiting forever.
            stdin_open=True,
            tty=False,
            environment=CONTAINER_ENV,
            working_dir=WORK_DIR,
            labels=self.labels(),
            host_config=self.host_config(),
            network_disabled=True,
            hostname="sandbox",
            stop_signal="SIGKILL",
        )
        container_id: str = created["Id"]
        stream: AttachedStream | None = None
        try:
            stream = AttachedStream(
                self.api.attach_socket(
                    container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
                )
            )
            self.api.start(container_id)
            outcome = stream.read_line(time.monotonic() + ready_timeout, max_stdout=64)
            if outcome != "line" or stream.take_line() + b"\n" != READY_LINE:
                raise EngineError(
                    f"sandbox container did not become ready ({outcome}): "
                    f"{bytes(stream.stderr[-300:]).decode('utf-8', 'replace')}"
                )
        except BaseException:
            if stream is not None:
                stream.close()
            self.remove(container_id)
            raise
        return WarmContainer(container_id, stream)

    def exchange(self, warm: WarmContainer, payload: bytes, timeout: float, max_stdout: int) -> Exchange:
        """Send one job and wait for its result line, at most `timeout` seconds."""
        started = time.monotonic()
        deadline = started + timeout
        try:
            warm.stream.send(payload, deadline)
        except OSError:
            return Exchange("unsent")
        outcome = warm.stream.read_line(deadline, max_stdout)
        line = warm.stream.take_line() if outcome == "line" else b""
        return Exchange(outcome, line, bytes(warm.stream.stderr), time.monotonic() - started)

    def was_oom_killed(self, container_id: str) -> bool:
        """Whether Docker saw the container's memory cgroup kill a process (waits briefly for its exit)."""
        try:
            state = self.api.inspect_container(container_id)["State"]
            if state.get("Running"):
                self.api.wait(container_id, timeout=2)
                state = self.api.inspect_container(container_id)["State"]
            return bool(state.get("OOMKilled"))
        except Exception:
            return False

    def discard(self, warm: WarmContainer) -> None:
        warm.stream.close()
        self.remove(warm.container_id)

    def remove(self, container_id: str) -> None:
        try:
            self.api.remove_container(container_id, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            if "already in progress" not in str(error):
                raise

    def container_ids(self, *, own_only: bool = True) -> list[str]:
        label = f"{LABEL_INSTANCE}={self.instance_id}" if own_only else LABEL
        return [entry["Id"] for entry in self.api.containers(all=True, filters={"label": label})]

    def remove_leftovers(self) -> int:
        """Remove sandbox containers nobody will use again: those of runners on this host whose process
        is gone, and any that stopped (or never started) more than a minute ago. Containers of live
        runners, also in other processes or on other hosts, are left alone."""
        removed = 0
        host = socket.gethostname()
        now = time.time()
        for entry in self.api.containers(all=True, filters={"label": LABEL}):
            labels = entry.get("Labels") or {}
            owner_gone = labels.get(LABEL_HOST) == host and not _process_alive(labels.get(LABEL_PID, ""))
            old_and_stopped = entry.get("State") != "running" and now - float(entry.get("Created", now)) > 60
            if owner_gone or old_and_stopped:
                self.remove(entry["Id"])
                removed += 1
        return removed

    def remove_own(self) -> int:
        ids = self.container_ids(own_only=True)
        for container_id in ids:
            self.remove(container_id)
        return len(ids)


def _process_alive(pid_text: str) -> bool:
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


__all__ = ["LABEL", "AttachedStream", "Engine", "EngineError", "Exchange", "WarmContainer", "make_api_client"]
