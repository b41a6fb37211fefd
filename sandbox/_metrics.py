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
# Where a run's time goes (bench/runner_bench.py reads these from a runner's /metrics).
_STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
QUEUE_WAIT = Histogram(
    "tlac_sandbox_queue_wait_seconds", "Time a run waited for a fair-share slot.", buckets=_STEP_BUCKETS
)
POOL_WAIT = Histogram(
    "tlac_sandbox_pool_wait_seconds",
    "Time a run holding a slot waited for a warm container.",
    buckets=_STEP_BUCKETS,
)
EXCHANGE = Histogram(
    "tlac_sandbox_exchange_seconds",
    "Time inside the container: job sent to result read (the interpreter(s) and the bootstrap).",
    buckets=_STEP_BUCKETS,
)
CONTAINER_CPU = Histogram(
    "tlac_sandbox_container_cpu_seconds",
    "CPU seconds a run used inside its container (the program or the tests' interpreters, and the "
    "bootstrap handling the job), as the container reports it.",
    buckets=_STEP_BUCKETS,
)
CONTAINER_START = Histogram(
    "tlac_sandbox_container_start_seconds",
    "Creating, attaching and starting a warm container until its bootstrap is ready (off the run's path).",
    buckets=_STEP_BUCKETS,
)
CONTAINER_REMOVE = Histogram(
    "tlac_sandbox_container_remove_seconds",
    "Removing a used container (off the run's path).",
    buckets=_STEP_BUCKETS,
)
for _status in RUN_STATUSES:
    RUNS.labels(status=_status)  # every status is exported from the start, at zero

__all__ = [
    "CONTAINER_CPU",
    "CONTAINER_REMOVE",
    "CONTAINER_START",
    "EXCHANGE",
    "POOL_READY",
    "POOL_WAIT",
    "QUEUE_DEPTH",
    "QUEUE_WAIT",
    "RUNS",
    "RUN_DURATION",
]
