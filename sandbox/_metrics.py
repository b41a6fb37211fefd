"""The sandbox's Prometheus metrics, in the default registry (the server exposes them at /api/metrics).

Gauges move by increments so that several runners in one process add up instead of overwriting each
other; in multiprocess mode they are summed over live processes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from shared.wire.run import RUN_STATUSES

QUEUE_DEPTH = Gauge(
    "tlac_sandbox_queue_depth",
    "Runs waiting for a sandbox slot.",
    multiprocess_mode="livesum",
)
RUNS = Counter("tlac_sandbox_runs", "Sandbox runs by result status.", ["status"])
RUN_DURATION = Histogram(
    "tlac_sandbox_run_duration_seconds",
    "Time from a slot being granted to the result, per run.",
    buckets=(0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
POOL_READY = Gauge(
    "tlac_sandbox_pool_ready",
    "Warm sandbox containers waiting for a run.",
    multiprocess_mode="livesum",
)
for _status in RUN_STATUSES:
    RUNS.labels(status=_status)  # every status is exported from the start, at zero

__all__ = ["POOL_READY", "QUEUE_DEPTH", "RUNS", "RUN_DURATION"]
