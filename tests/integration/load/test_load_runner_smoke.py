"""A short steady-day run of the load runner end to end: fresh data in a real PostgreSQL database, a
real server process with the Docker sandbox, pupils, teachers and admins in Locust, and a results
file that holds everything the issue asks for."""

from __future__ import annotations

import re

import pytest
from load_helpers import read_results, run_load

EXPECTED_ENDPOINTS = {
    "POST /api/auth/login",
    "GET /api/lessons",
    "POST /api/activity/state/{lesson_id}/{activity_id}",
    "GET /api/teacher/classes",
    "GET /api/admin/audit",
}


@pytest.mark.slow
def test_a_short_steady_run_writes_a_complete_results_file_without_errors(pg_url, sandbox_image, tmp_path):
    process, output = run_load(
        "--scenario", "steady", "--users", "20", "--spawn-rate", "10", "--duration", "15",
        "--database-url", pg_url, "--results-dir", str(tmp_path),
    )  # fmt: skip
    assert process.returncode == 0, output
    assert "against the committed steady-w1.json" in process.stdout
    results = read_results(tmp_path, "steady-w1.json")

    assert results["scenario"] == "steady"
    assert results["workers"] == 1
    assert results["parameters"]["users"] == 20
    assert results["parameters"]["rate_limits"].startswith("activity_save=60")
    assert results["parameters"]["sandbox"] is True
    assert len(results["machine"]["load_average_before"]) == 3
    assert re.fullmatch(r"[0-9a-f]{40}", results["git"]["commit"])
    totals = results["totals"]
    for field in ("requests", "throughput_rps", "errors", "error_rate", "rate_limited", "rate_limited_rate"):
        assert field in totals
    assert totals["requests"] > 50
    assert totals["errors"] == 0, results["error_samples"]
    missing = EXPECTED_ENDPOINTS - set(results["endpoints"])
    assert not missing, (missing, sorted(results["endpoints"]))
    for row in results["endpoints"].values():
        assert {"requests", "throughput_rps", "p50_ms", "p95_ms", "p99_ms", "errors", "rate_limited"} <= set(
            row
        )
    assert set(results["cpu"]["cores_busy"]) == {"server", "postgres", "locust", "docker", "other"}
    assert results["checks"]["rejected_operations"] == 0
