"""What one run may use, and how the runner shares engines between callers: safe defaults, each one
overridable from the environment as `POST16_SANDBOX_<FIELD>` (e.g. `POST16_SANDBOX_MEMORY_MIB=256`)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

ENV_PREFIX = "POST16_SANDBOX_"
DEFAULT_IMAGE = "post16-sandbox:latest"
DEFAULT_ENGINE = "unix:///var/run/docker.sock"


class SandboxLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Limits per run (memory, CPU, processes, files, time, output) and per runner (pool, queue, share).

    Memory and swap are capped to the same value, so a run never swaps. `pool_size`, `concurrency` and
    `nproc` are per engine; `queue_size` and the per-owner caps are for the whole runner."""

    image: str = DEFAULT_IMAGE
    memory_mib: int = 128
    cpus: float = 1.0
    pids: int = 64
    work_mib: int = 16
    nofile: int = 256
    fsize_mib: int = 16
    # RLIMIT_NPROC counts every process of the sandbox uid on the host, across containers: a backstop
    # only. `pids` is the per-container limit that stops a fork bomb.
    nproc: int = 1024
    timeout_seconds: float = 5.0
    output_limit_bytes: int = 64 * 1024
    check_timeout_seconds: float = 30.0
    pool_size: int = 4
    concurrency: int = 4
    queue_size: int = 32
    max_runs_per_owner: int = 2
    max_queued_per_owner: int = 4
    pool_wait_seconds: float = 20.0

    def __post_init__(self) -> None:
        positive_ints = {
            "memory_mib": (16, 64 * 1024),
            "pids": (8, 4096),
            "work_mib": (1, 1024),
            "nofile": (16, 65536),
            "fsize_mib": (1, 1024),
            "nproc": (16, 1 << 20),
            "output_limit_bytes": (1024, 16 * 1024 * 1024),
            "pool_size": (0, 256),
            "concurrency": (1, 256),
            "queue_size": (0, 100_000),
            "max_runs_per_owner": (1, 256),
            "max_queued_per_owner": (0, 100_000),
        }
        for name, (low, high) in positive_ints.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"{ENV_PREFIX}{name.upper()} ({name}) must be between {low} and {high}")
        positive_floats = {
            "cpus": (0.05, 64.0),
            "timeout_seconds": (0.1, 600.0),
            "check_timeout_seconds": (0.5, 3600.0),
            "pool_wait_seconds": (0.1, 3600.0),
        }
        for name, (low_f, high_f) in positive_floats.items():
            value_f = getattr(self, name)
            if not low_f <= value_f <= high_f:
                raise ValueError(f"{ENV_PREFIX}{name.upper()} ({name}) must be between {low_f} and {high_f}")
        if not self.image:
            raise ValueError(f"{ENV_PREFIX}IMAGE (image) must not be empty")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> SandboxLimits:
        """Defaults, then `POST16_SANDBOX_*` variables, then `overrides`. A bad value raises ValueError
        naming the variable."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in msgspec.structs.fields(cls):
            key = ENV_PREFIX + field.name.upper()
            if key in environ:
                values[field.name] = environ[key]
        values.update(overrides)
        try:
            return msgspec.convert(values, cls, strict=False)
        except msgspec.ValidationError as error:
            raise ValueError(f"bad sandbox setting: {error}") from error

    @property
    def memory_bytes(self) -> int:
        return self.memory_mib * 1024 * 1024


def engines_from_env(environ: Mapping[str, str] | None = None) -> list[str]:
    """The Docker engines to spread runs over: `POST16_SANDBOX_ENGINES` (comma-separated URLs such as
    unix:///var/run/docker.sock or tcp://host:2376), else `DOCKER_HOST`, else the local socket."""
    environ = os.environ if environ is None else environ
    listed = [url.strip() for url in environ.get(ENV_PREFIX + "ENGINES", "").split(",") if url.strip()]
    if listed:
        for url in listed:
            if not url.startswith(("unix://", "tcp://", "ssh://", "http://", "https://")):
                raise ValueError(f"{ENV_PREFIX}ENGINES: {url!r} is not a unix://, tcp:// or ssh:// URL")
        return listed
    return [environ.get("DOCKER_HOST") or DEFAULT_ENGINE]


__all__ = ["DEFAULT_ENGINE", "DEFAULT_IMAGE", "ENV_PREFIX", "SandboxLimits", "engines_from_env"]
