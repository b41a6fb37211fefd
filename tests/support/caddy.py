"""A real Caddy (the Debian package, 2.6) in front of several API processes, as deploy/Caddyfile.scale
puts it in front of the API replicas: least-connections balancing, active health checks on
`/api/health`, passive ones (three failed requests), a request that cannot reach a replica tried on
another for a few seconds, idle connections to the APIs closed by Caddy first.

    from support.caddy import CaddyBalancer

The Caddyfile is written into the caller's folder; Caddy runs in its own process group, with its admin
endpoint off and its data folder there too, so nothing outside the test's folder is touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from support.servers import free_port

__all__ = ["CADDY", "CaddyBalancer"]

CADDY = os.environ.get("POST16_CADDY", "/usr/bin/caddy")


class CaddyBalancer:
    """`caddy run` balancing `upstreams` (host:port) on a free local port; `url` is its address."""

    def __init__(
        self, upstreams: Sequence[str], folder: Path, *, health_interval_seconds: float = 1.0
    ) -> None:
        self.upstreams = list(upstreams)
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = folder / "Caddyfile"
        self.log_path = folder / "caddy.log"
        self.health_interval_seconds = health_interval_seconds
        self.process: subprocess.Popen[bytes] | None = None

    def caddyfile(self) -> str:
        """The site: plain HTTP on loopback (TLS is Caddy's own business, tested by its authors)."""
        interval = f"{self.health_interval_seconds:g}s"
        return f"""{{
	admin off
	auto_https off
	storage file_system {{
		root {self.folder / "data"}
	}}
}}

http://127.0.0.1:{self.port} {{
	reverse_proxy {" ".join(self.upstreams)} {{
		lb_policy least_conn
		lb_try_duration 5s
		lb_try_interval 250ms
		health_uri /api/health
		health_interval {interval}
		health_timeout 5s
		fail_duration 10s
		max_fails 3
		header_up X-Real-IP {{remote_host}}
		transport http {{
			keepalive 30s
		}}
	}}
}}
"""

    def start(self, timeout: float = 30.0) -> CaddyBalancer:
        """Start and wait until a request through it reaches an API process."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.caddyfile(), encoding="utf-8")
        env = {
            **os.environ,
            "HOME": str(self.folder),
            "XDG_DATA_HOME": str(self.folder / "data"),
            "XDG_CONFIG_HOME": str(self.folder / "config"),
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [CADDY, "run", "--config", str(self.config_path), "--adapter", "caddyfile"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"caddy exited early:\n{self._log_tail()}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/api/health", timeout=2) as answer,
            ):
                if answer.status == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"caddy did not answer in {timeout} s:\n{self._log_tail()}")

    def proxy_errors(self) -> list[str]:
        """Every request Caddy could not proxy, as its log says why (e.g. `read tcp 127.0.0.1:…->
        127.0.0.1:PORT: read: connection reset by peer`, or `no upstreams available`)."""
        errors = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("logger") == "http.log.error":
                    errors.append(str(entry.get("msg", "")))
        return errors

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.process = None

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"
