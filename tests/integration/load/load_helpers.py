"""Running the load runner (performance/run.py) as a subprocess, as a developer would.

Locust is never imported into the test process: gevent would monkey-patch it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]


def run_load(*arguments: str, timeout: float = 240) -> tuple[subprocess.CompletedProcess[str], Any]:
    """Run performance/run.py; returns the finished process (its output is in the assertion messages)."""
    process = subprocess.run(
        [sys.executable, str(REPO / "performance" / "run.py"), *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return process, process.stdout[-4000:] + process.stderr[-4000:]


def read_results(folder: Path, name: str) -> dict[str, Any]:
    results: dict[str, Any] = json.loads((folder / name).read_text())
    return results
