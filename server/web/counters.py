"""`GET /api/admin/metrics/counters`: the raw running totals behind the dashboard's charts.

The dashboard samples this every 30 s and draws rates from the difference between two samples, so the
server keeps no history. Totals are read back from the same Prometheus exposition that Prometheus
scrapes, so they are aggregated over every worker process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

import msgspec
from litestar import Controller, get
from prometheus_client.parser import text_string_to_metric_families

from server.domain.deps import Caller
from server.lib.metrics import exposition
from shared.wire.run import RUN_STATUSES

REQUEST_DURATION = "tlac_http_request_duration_seconds"


class LatencyTotals(msgspec.Struct, kw_only=True):
    """Every request's duration so far, as a Prometheus histogram summed over paths."""

    count: float
    sum_seconds: float
    buckets: dict[str, float]  # upper bound ("+Inf" last) -> cumulative count


class ConsoleCounters(msgspec.Struct, kw_only=True):
    sampled_at: float  # server time, seconds since the epoch
    http_requests: float
    latency: LatencyTotals
    logins: dict[str, float]
    sandbox_runs: dict[str, float]
    sandbox_queue: float
    sync_operations: dict[str, float]
    rate_limited: dict[str, float]


Sample = tuple[str, dict[str, str], float]


def _samples(text: str) -> Iterable[Sample]:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            yield sample.name, dict(sample.labels), float(sample.value)


def _add(totals: dict[str, float], key: str, value: float) -> None:
    totals[key] = totals.get(key, 0.0) + value


def _bound_order(bound: str) -> float:
    return math.inf if bound == "+Inf" else float(bound)


def read_counters(text: str) -> ConsoleCounters:
    """Fold an exposition into the totals the dashboard draws."""
    requests = 0.0
    latency_count = latency_sum = 0.0
    buckets: dict[str, float] = {}
    logins: dict[str, float] = {}
    runs: dict[str, float] = {}
    queue = 0.0
    sync: dict[str, float] = {}
    limited: dict[str, float] = {}
    for name, labels, value in _samples(text):
        if name == "tlac_http_requests_total":
            requests += value
        elif name == f"{REQUEST_DURATION}_count":
            latency_count += value
        elif name == f"{REQUEST_DURATION}_sum":
            latency_sum += value
        elif name == f"{REQUEST_DURATION}_bucket":
            bound = labels.get("le", "+Inf")
            _add(buckets, "+Inf" if bound in ("+Inf", "inf") else repr(float(bound)), value)
        elif name == "tlac_auth_login_attempts_total":
            _add(logins, labels.get("status", "unknown"), value)
        elif name == "tlac_sandbox_runs_total":
            _add(runs, labels.get("status", "unknown"), value)
        elif name == "tlac_runner_calls_total" and labels.get("result") in RUN_STATUSES:
            # Runs sent to runner services (POST16_RUNNER_URLS) instead of this process's sandbox.
            _add(runs, labels["result"], value)
        elif name == "tlac_sandbox_queue_depth":
            queue += value
        elif name == "tlac_sync_operations_total":
            _add(sync, labels.get("outcome", "unknown"), value)
        elif name == "tlac_rate_limit_violations_total":
            _add(limited, labels.get("endpoint", "unknown"), value)
    ordered = {bound: buckets[bound] for bound in sorted(buckets, key=_bound_order)}
    return ConsoleCounters(
        sampled_at=time.time(),
        http_requests=requests,
        latency=LatencyTotals(count=latency_count, sum_seconds=latency_sum, buckets=ordered),
        logins=logins,
        sandbox_runs=runs,
        sandbox_queue=queue,
        sync_operations=sync,
        rate_limited=limited,
    )


class ConsoleCountersController(Controller):
    path = "/api/admin/metrics"
    tags = ["admin"]

    @get("/counters")
    async def counters(self, admin: Caller) -> ConsoleCounters:
        """Running totals (requests, latency histogram, logins, sandbox runs, sync operations, rate-limit
        refusals) for the console's charts; sample twice and subtract for a rate. Admins only."""
        return read_counters(exposition().decode())


__all__ = ["ConsoleCounters", "ConsoleCountersController", "LatencyTotals", "read_counters"]
