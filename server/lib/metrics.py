"""Prometheus metrics with the `tlac_` names kept from the system we replace.

HTTP request rate, latency, errors and in-progress (`tlac_http_*`, the names and labels Litestar's
Prometheus middleware gave them) are counted by server.lib.middleware.http_metrics; the rest are
counted where they happen. With several worker processes, set PROMETHEUS_MULTIPROC_DIR
(the `serve` command does) and the exposition aggregates every process.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

# Labels as Litestar's Prometheus middleware had them (dashboards and alerts read these series).
HTTP_LABELS = ["method", "path", "status_code", "app_name"]
HTTP_REQUESTS = Counter("tlac_http_requests_total", "Total requests", HTTP_LABELS)
HTTP_REQUEST_SECONDS = Histogram(
    "tlac_http_request_duration_seconds", "Request duration, in seconds", HTTP_LABELS
)
HTTP_REQUESTS_IN_PROGRESS = Gauge(
    "tlac_http_requests_in_progress",
    "Total requests currently in progress",
    HTTP_LABELS,
    multiprocess_mode="livesum",
)
HTTP_REQUEST_ERRORS = Counter("tlac_http_requests_error_total", "Total errors in requests", HTTP_LABELS)
LOGIN_ATTEMPTS = Counter("tlac_auth_login_attempts_total", "Login attempts by outcome", ["status"])
ACTIVE_SESSIONS = Gauge(
    "tlac_active_sessions", "Sessions neither expired nor revoked", multiprocess_mode="max"
)
ACTIVITY_SAVES = Counter("tlac_activity_saves_total", "Activity answers saved", ["outcome"])
ACTIVITY_SAVE_SECONDS = Histogram(
    "tlac_activity_save_duration_seconds",
    "Time to store one activity answer",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
SYNC_OPERATIONS = Counter("tlac_sync_operations_total", "Sync operations answered", ["kind", "outcome"])
SYNC_PUSH_BATCH = Histogram(
    "tlac_sync_push_batch_size", "Operations per sync push", buckets=(1, 5, 10, 50, 100, 250, 500)
)
SAVES_PER_STATEMENT = Histogram(
    "tlac_sync_saves_per_statement",
    "Saves carried by one save statement (requests in flight together share one: group commit)",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
)
RATE_LIMITED = Counter("tlac_rate_limit_violations_total", "Requests refused by a rate limit", ["endpoint"])
LOGIN_THROTTLED = Counter("tlac_auth_login_throttled_total", "Logins refused by the back-off", ["scope"])
ERRORS = Counter("tlac_errors_total", "Errors answered, by type", ["type"])
DB_POOL = Gauge("tlac_db_pool_connections", "Database pool connections", ["state"], multiprocess_mode="sum")
LESSONS_LOADED = Gauge("tlac_lessons_loaded", "Lessons in the served manifest", multiprocess_mode="max")
LESSONS_RELOAD_FAILURES = Counter("tlac_lessons_reload_failures_total", "Manifest reloads refused")
MARKS_SET = Counter("tlac_marks_total", "Marks recorded", ["source"])
SESSIONS_PURGED = Counter("tlac_sessions_purged_total", "Dead sessions deleted by the periodic purge")
AUDIT_ENTRIES = Counter("tlac_audit_entries_total", "Audit log rows written", ["action"])


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return DEFAULT_REGISTRY


def exposition() -> bytes:
    """The text exposition, aggregated over worker processes in multiprocess mode."""
    return generate_latest(_registry())


def samples(names: frozenset[str]) -> dict[str, list[tuple[dict[str, str], float]]]:
    """The current samples of the named series, aggregated over worker processes: (labels, value).
    Reads the metric objects directly (no text exposition to write and parse back); it still reads
    every process's files in multiprocess mode, so call it off the event loop."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in _registry().collect():
        for sample in family.samples:
            if sample.name in names:
                found.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return found


__all__ = [
    "ACTIVE_SESSIONS",
    "ACTIVITY_SAVES",
    "ACTIVITY_SAVE_SECONDS",
    "AUDIT_ENTRIES",
    "DB_POOL",
    "ERRORS",
    "HTTP_LABELS",
    "HTTP_REQUESTS",
    "HTTP_REQUESTS_IN_PROGRESS",
    "HTTP_REQUEST_ERRORS",
    "HTTP_REQUEST_SECONDS",
    "LESSONS_LOADED",
    "LESSONS_RELOAD_FAILURES",
    "LOGIN_ATTEMPTS",
    "LOGIN_THROTTLED",
    "MARKS_SET",
    "RATE_LIMITED",
    "SAVES_PER_STATEMENT",
    "SESSIONS_PURGED",
    "SYNC_OPERATIONS",
    "SYNC_PUSH_BATCH",
    "exposition",
    "samples",
]
