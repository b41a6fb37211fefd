"""The last backup's outcome, kept in the data folder so the server can export it.

Backups run as a separate `post16-server backup` process (cron, a systemd timer, `docker compose run`),
which exits long before Prometheus scrapes. It writes `backup-status.json` in the data folder; the
server reads it at scrape time and exposes the `tlac_backup_*` gauges.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

STATUS_FILE = "backup-status.json"


def status_path(data_dir: Path) -> Path:
    return data_dir / STATUS_FILE


def read_status(data_dir: Path) -> dict[str, Any]:
    """The recorded outcomes, or {} when no backup ever ran (or the file is unreadable)."""
    try:
        loaded = json.loads(status_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _write(data_dir: Path, status: dict[str, Any]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = status_path(data_dir)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(status, indent=2), encoding="utf-8")
    os.replace(temporary, path)


def record_success(
    data_dir: Path, *, finished_at: float, duration_seconds: float, size_bytes: int, path: str
) -> None:
    status = read_status(data_dir)
    status["last_success"] = {
        "finished_at": finished_at,
        "duration_seconds": duration_seconds,
        "size_bytes": size_bytes,
        "path": path,
    }
    _write(data_dir, status)


def record_failure(data_dir: Path, *, finished_at: float, error: str) -> None:
    status = read_status(data_dir)
    status["last_failure"] = {"finished_at": finished_at, "error": error[:500]}
    _write(data_dir, status)


class _BackupCollector(Collector):
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def collect(self) -> Iterator[Metric]:
        status = self.read()
        success = status.get("last_success") or {}
        failure = status.get("last_failure") or {}
        values = (
            (
                "tlac_backup_last_success_timestamp_seconds",
                "Unix time the last successful backup finished (0: never)",
                success.get("finished_at", 0),
            ),
            (
                "tlac_backup_duration_seconds",
                "How long the last successful backup took",
                success.get("duration_seconds", 0),
            ),
            ("tlac_backup_size_bytes", "Size of the last successful backup", success.get("size_bytes", 0)),
            (
                "tlac_backup_last_failure_timestamp_seconds",
                "Unix time the last failed backup gave up (0: never)",
                failure.get("finished_at", 0),
            ),
        )
        for name, documentation, value in values:
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = 0.0
            yield GaugeMetricFamily(name, documentation, value=number)

    def read(self) -> dict[str, Any]:
        with contextlib.suppress(Exception):
            return read_status(self.data_dir)
        return {}


def backup_exposition(data_dir: Path) -> bytes:
    """The `tlac_backup_*` gauges in the text format, to append to the main exposition."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_BackupCollector(data_dir))
    return generate_latest(registry)


__all__ = ["STATUS_FILE", "backup_exposition", "read_status", "record_failure", "record_success"]
