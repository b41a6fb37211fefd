"""The rate limiter under load: several pupils hammering saves at once (Locust, through the load
runner, against a real server on PostgreSQL) each get exactly the configured number accepted in the
minute and 429 + Retry-After for the rest, while pupils saving at an ordinary pace are never refused."""

from __future__ import annotations

import pytest
from load_helpers import read_results, run_load

SAVE = "POST /api/activity/state/{lesson_id}/{activity_id}"
SAVE_LIMIT = 15  # configured below, deliberately not the production 60


@pytest.mark.slow
def test_each_hammering_pupil_gets_exactly_the_configured_saves_a_minute(make_server, pg_url, tmp_path):
    limits = f"activity_save={SAVE_LIMIT},python_run=20,mark_activity=30,default=120"
    server = make_server(pg_url, POST16_RATE_LIMITS=limits)
    process, output = run_load(
        "--scenario", "rate_limits", "--server-url", server.url, "--database-url", pg_url,
        "--rate-limits", limits, "--hammers", "save=4", "--bystanders", "2", "--hammer-rate", "8",
        "--duration", "12", "--results-dir", str(tmp_path),
    )  # fmt: skip
    assert process.returncode == 0, output
    results = read_results(tmp_path, "rate_limits-w1.json")
    checks = results["checks"]
    assert checks["ok"], checks["problems"]
    assert results["totals"]["errors"] == 0, results["error_samples"]
    assert results["totals"]["missing_retry_after"] == 0

    hammers = [w for w in checks["per_window"] if w["role"] == "SaveHammer"]
    assert len({w["user"] for w in hammers}) == 4
    refused_windows = [w for w in hammers if w["refused"]]
    assert {w["user"] for w in refused_windows} == {w["user"] for w in hammers}
    for window in refused_windows:
        assert window["accepted"] == SAVE_LIMIT
        assert window["first_refusal_after"] == SAVE_LIMIT
    for window in hammers:
        assert window["accepted"] <= SAVE_LIMIT

    bystanders = [w for w in checks["per_window"] if w["role"] == "Bystander"]
    assert len({w["user"] for w in bystanders}) == 2
    assert all(w["refused"] == 0 and w["accepted"] > 0 for w in bystanders)
    assert results["endpoints"][SAVE]["rate_limited"] == sum(w["refused"] for w in hammers)
