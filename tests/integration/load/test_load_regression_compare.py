"""The load runner's judgement of a run: regressions against the committed baseline, percentiles, and
the rate limiter's verdict per person and minute (pure functions over results dicts)."""

from __future__ import annotations

from typing import Any

from performance.results import compare, format_comparison, limit_verdicts, percentile, summarise

SAVE = "POST /api/activity/state/{lesson_id}/{activity_id}"


def results(throughput: float, p95: dict[str, float]) -> dict[str, Any]:
    return {
        "totals": {"throughput_rps": throughput},
        "endpoints": {name: {"p95_ms": value} for name, value in p95.items()},
    }


def test_same_numbers_are_no_regression():
    run = results(500, {SAVE: 40})
    rows = compare(run, run)
    assert [row.regression for row in rows] == [False, False]


def test_throughput_down_more_than_a_fifth_is_flagged():
    rows = compare(results(390, {SAVE: 40}), results(500, {SAVE: 40}))
    assert rows[0].what == "throughput (req/s)"
    assert rows[0].regression
    assert round(rows[0].change or 0, 2) == -0.22


def test_throughput_down_a_little_is_not_flagged():
    assert not compare(results(410, {}), results(500, {}))[0].regression


def test_p95_up_more_than_half_is_flagged_for_that_endpoint_only():
    rows = compare(
        results(500, {SAVE: 61, "GET /api/lessons": 10}), results(500, {SAVE: 40, "GET /api/lessons": 9})
    )
    flagged = {row.what for row in rows if row.regression}
    assert flagged == {f"p95 {SAVE}"}


def test_thresholds_can_be_changed():
    rows = compare(
        results(450, {SAVE: 50}), results(500, {SAVE: 40}), max_throughput_drop=0.05, max_p95_rise=0.1
    )
    assert [row.regression for row in rows] == [True, True]


def test_faster_is_never_a_regression():
    rows = compare(results(900, {SAVE: 5}), results(500, {SAVE: 40}))
    assert not any(row.regression for row in rows)


def test_an_endpoint_new_in_this_run_is_listed_without_a_verdict():
    rows = compare(results(500, {SAVE: 40, "GET /api/marks": 7}), results(500, {SAVE: 40}))
    new = next(row for row in rows if row.what == "p95 GET /api/marks")
    assert (new.baseline, new.current, new.change, new.regression) == (None, 7, None, False)


def test_no_baseline_means_nothing_to_compare():
    assert compare(results(500, {}), None) == []
    assert format_comparison([]) == "no committed baseline to compare with"


def test_the_table_marks_regressions():
    table = format_comparison(compare(results(100, {SAVE: 40}), results(500, {SAVE: 40})))
    assert "REGRESSION" in table.splitlines()[1]
    assert "-80 %" in table


def test_percentiles_use_the_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50, 95, 99)
    assert percentile([], 0.95) == 0


def test_429s_are_counted_apart_from_errors():
    raw = {
        "first_start": 1000.0,
        "last_end": 1010.0,
        "endpoints": {
            SAVE: {
                "times_ms": [5.0] * 90 + [1.0] * 10,
                "statuses": {"200": 89, "429": 10, "500": 1},
                "errors": 1,
                "rate_limited": 10,
                "missing_retry_after": 0,
            }
        },
    }
    summary = summarise(raw)
    assert summary["totals"]["throughput_rps"] == 10
    assert summary["totals"]["error_rate"] == 0.01
    assert summary["totals"]["rate_limited_rate"] == 0.1
    assert summary["endpoints"][SAVE]["p95_ms"] == 5


def probe(user: str, sequence: int, status: int, at: float, role: str = "SaveHammer") -> dict[str, Any]:
    return {
        "kind": "limit",
        "limit": "activity_save",
        "role": role,
        "user": user,
        "sequence": sequence,
        "sent": at,
        "received": at + 0.01,
        "http": status,
        "retry_after": "30" if status == 429 else None,
    }


def test_the_limiter_is_right_when_refusals_start_exactly_at_the_limit():
    records = [probe("p1", n, 200 if n < 3 else 429, 6000 + n) for n in range(5)]
    verdict = limit_verdicts(records, {"activity_save": 3})
    assert verdict["ok"], verdict["problems"]
    assert verdict["per_window"][0]["accepted"] == 3
    assert verdict["per_window"][0]["refused"] == 2


def test_a_refusal_before_the_limit_is_a_problem():
    records = [probe("p1", n, 200 if n < 2 else 429, 6000 + n) for n in range(5)]
    verdict = limit_verdicts(records, {"activity_save": 3})
    assert not verdict["ok"]
    assert "refused after only 2 accepted" in verdict["problems"][0]


def test_more_accepted_than_the_limit_is_a_problem():
    verdict = limit_verdicts([probe("p1", n, 200, 6000 + n) for n in range(4)], {"activity_save": 3})
    assert not verdict["ok"]


def test_a_new_minute_starts_a_new_count():
    records = [probe("p1", n, 200 if n % 5 < 3 else 429, 6050 + n * 2) for n in range(10)]
    # sends at 6050..6068: the first five in the window at 6000, the rest in the window at 6060
    verdict = limit_verdicts(records, {"activity_save": 3})
    assert verdict["ok"], verdict["problems"]
    assert [w["window_start"] for w in verdict["per_window"]] == [6000, 6060]


def test_a_request_straddling_a_minute_boundary_leaves_those_windows_unjudged():
    records = [probe("p1", 0, 200, 6059.995)]
    verdict = limit_verdicts(records, {"activity_save": 3})
    assert verdict["judged_windows"] == 0


def test_a_refused_bystander_is_a_problem():
    records = [probe("calm", 0, 429, 6000, role="Bystander")]
    verdict = limit_verdicts(records, {"activity_save": 0})
    assert any("ordinary pace" in problem for problem in verdict["problems"])


def test_a_429_without_retry_after_is_a_problem():
    records = [probe("p1", 0, 200, 6000), {**probe("p1", 1, 429, 6001), "retry_after": None}]
    verdict = limit_verdicts(records, {"activity_save": 1})
    assert any("Retry-After" in problem for problem in verdict["problems"])
