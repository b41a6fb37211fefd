"""Turning what the Locust process recorded into a results file, judging the rate limiter from it, and
comparing a run with the last committed one.

Pure functions over dicts (no Locust, no server), so the unit tests can check them directly. A 429 is
never an error here: it is counted apart, because a limiter doing its job is not a failure.
"""

from __future__ import annotations

import json
import math
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WINDOW_SECONDS = 60  # server.lib.ratelimit: fixed one-minute windows
MAX_THROUGHPUT_DROP = 0.20
MAX_P95_RISE = 0.50


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return float(ordered[rank - 1])


def latency(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 0.50), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "p99_ms": round(percentile(values, 0.99), 1),
        "max_ms": round(max(values), 1) if values else 0.0,
    }


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    """Totals and per-endpoint numbers from the Locust process's raw output."""
    first, last = raw.get("first_start"), raw.get("last_end")
    elapsed = max((last - first) if first is not None and last is not None else 0.0, 1e-9)
    endpoints: dict[str, Any] = {}
    totals = {"requests": 0, "errors": 0, "rate_limited": 0, "missing_retry_after": 0}
    for endpoint, data in sorted(raw.get("endpoints", {}).items()):
        times = data["times_ms"]
        endpoints[endpoint] = {
            "requests": len(times),
            "throughput_rps": round(len(times) / elapsed, 2),
            **latency(times),
            "errors": data["errors"],
            "rate_limited": data["rate_limited"],
            "statuses": data["statuses"],
        }
        totals["requests"] += len(times)
        totals["errors"] += data["errors"]
        totals["rate_limited"] += data["rate_limited"]
        totals["missing_retry_after"] += data.get("missing_retry_after", 0)
    requests = max(totals["requests"], 1)
    return {
        "elapsed_s": round(elapsed if first is not None else 0.0, 2),
        "totals": {
            **totals,
            "throughput_rps": round(totals["requests"] / elapsed, 2) if first is not None else 0.0,
            "error_rate": round(totals["errors"] / requests, 6),
            "rate_limited_rate": round(totals["rate_limited"] / requests, 6),
        },
        "endpoints": endpoints,
    }


# --- the rate limiter --------------------------------------------------------------------------------
def limit_verdicts(records: list[dict[str, Any]], limits: dict[str, int]) -> dict[str, Any]:
    """Per person and per one-minute window: how many requests were accepted and how many refused.

    The limiter is right when, in every window, a person got at most the limit accepted, a 429 came only
    once the limit had been reached (never before), nothing was accepted after the first 429 of a window,
    every 429 carried a Retry-After of 1-60 s, and people sending at an ordinary pace were never refused.
    A request whose send and answer fall in different windows cannot be placed; the windows it touches
    are left unjudged (counted in `unjudged_windows`)."""
    windows: dict[tuple[str, str, str, int], list[dict[str, Any]]] = defaultdict(list)
    ambiguous: set[tuple[str, str, int]] = set()
    for record in records:
        if record.get("kind") != "limit":
            continue
        sent, received = int(record["sent"] // WINDOW_SECONDS), int(record["received"] // WINDOW_SECONDS)
        if sent != received:
            ambiguous.update(
                {(record["user"], record["limit"], sent), (record["user"], record["limit"], received)}
            )
            continue
        windows[(record["role"], record["limit"], record["user"], sent)].append(record)
    problems: list[str] = []
    per_limit: dict[str, dict[str, Any]] = {}
    per_window: list[dict[str, Any]] = []
    judged = unjudged = 0
    missing_retry_after = 0
    for (role, limit_name, user, window), requests in sorted(windows.items()):
        if (user, limit_name, window) in ambiguous:
            unjudged += 1
            continue
        judged += 1
        limit = limits.get(limit_name, limits.get("default", 0))
        requests.sort(key=lambda r: r["sequence"])
        statuses = [r["http"] for r in requests]
        accepted = sum(1 for s in statuses if s == 200)
        refused = sum(1 for s in statuses if s == 429)
        other = len(statuses) - accepted - refused
        first_refusal = statuses.index(429) if refused else None
        where = f"{role} {user} ({limit_name}, limit {limit}) in the window at {window * WINDOW_SECONDS}"
        if other:
            problems.append(f"{where}: {other} answers that were neither 200 nor 429")
        if limit and accepted > limit:
            problems.append(f"{where}: {accepted} accepted, more than the limit")
        if first_refusal is not None and first_refusal < limit:
            problems.append(f"{where}: refused after only {first_refusal} accepted")
        if first_refusal is not None and 200 in statuses[first_refusal:]:
            problems.append(f"{where}: accepted again after a 429")
        if role == "Bystander" and refused:
            problems.append(f"{where}: a pupil saving at an ordinary pace was refused {refused} times")
        for record in requests:
            if record["http"] == 429 and not (
                str(record.get("retry_after") or "").isdigit() and 1 <= int(record["retry_after"]) <= 60
            ):
                missing_retry_after += 1
        per_window.append(
            {
                "role": role,
                "user": user,
                "limit_name": limit_name,
                "limit": limit,
                "window_start": window * WINDOW_SECONDS,
                "accepted": accepted,
                "refused": refused,
                "first_refusal_after": first_refusal,
            }
        )
        summary = per_limit.setdefault(
            f"{role}:{limit_name}",
            {"limit": limit, "windows": 0, "windows_reaching_limit": 0, "accepted": 0, "refused": 0},
        )
        summary["windows"] += 1
        summary["windows_reaching_limit"] += int(refused > 0 and accepted == limit)
        summary["accepted"] += accepted
        summary["refused"] += refused
    if missing_retry_after:
        problems.append(f"{missing_retry_after} 429 answers without a Retry-After of 1-60 s")
    return {
        "ok": not problems,
        "judged_windows": judged,
        "unjudged_windows": unjudged,
        "per_limit": per_limit,
        "per_window": per_window,
        "problems": problems[:50],
    }


# --- comparing with the committed baseline ------------------------------------------------------------
@dataclass(frozen=True)
class ComparisonRow:
    what: str  # "throughput (req/s)" or "p95 <endpoint>"
    baseline: float | None
    current: float | None
    change: float | None  # relative: +0.25 is 25 % more
    regression: bool


def relative_change(baseline: float | None, current: float | None) -> float | None:
    if baseline is None or current is None or baseline == 0:
        return None
    return (current - baseline) / baseline


def compare(
    current: dict[str, Any],
    baseline: dict[str, Any] | None,
    max_throughput_drop: float = MAX_THROUGHPUT_DROP,
    max_p95_rise: float = MAX_P95_RISE,
) -> list[ComparisonRow]:
    """Throughput and every endpoint's p95 against the baseline. A regression is throughput down by
    more than `max_throughput_drop` or a p95 up by more than `max_p95_rise` (fractions)."""
    if baseline is None:
        return []
    rows = []
    old_rate = baseline.get("totals", {}).get("throughput_rps")
    new_rate = current.get("totals", {}).get("throughput_rps")
    change = relative_change(old_rate, new_rate)
    rows.append(
        ComparisonRow(
            "throughput (req/s)",
            old_rate,
            new_rate,
            change,
            change is not None and change < -max_throughput_drop,
        )
    )
    old_endpoints, new_endpoints = baseline.get("endpoints", {}), current.get("endpoints", {})
    for endpoint in sorted(set(old_endpoints) | set(new_endpoints)):
        old_p95 = old_endpoints.get(endpoint, {}).get("p95_ms")
        new_p95 = new_endpoints.get(endpoint, {}).get("p95_ms")
        change = relative_change(old_p95, new_p95)
        rows.append(
            ComparisonRow(
                f"p95 {endpoint}", old_p95, new_p95, change, change is not None and change > max_p95_rise
            )
        )
    return rows


def format_comparison(rows: list[ComparisonRow]) -> str:
    if not rows:
        return "no committed baseline to compare with"

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    width = max(len(row.what) for row in rows)
    lines = [f"{'':{width}}  {'baseline':>10}  {'now':>10}  {'change':>8}"]
    for row in rows:
        change = "-" if row.change is None else f"{row.change * 100:+.0f} %"
        flag = "  REGRESSION" if row.regression else ""
        lines.append(
            f"{row.what:{width}}  {number(row.baseline):>10}  {number(row.current):>10}  {change:>8}{flag}"
        )
    return "\n".join(lines)


def committed_baseline(repo: Path, relative_path: str) -> dict[str, Any] | None:
    """The results file as last committed (`git show HEAD:path`), or None when there is none."""
    shown = subprocess.run(  # noqa: S603 - fixed git command
        ["git", "show", f"HEAD:{relative_path}"],  # noqa: S607 - git from PATH, as everywhere in the repo
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    if shown.returncode != 0:
        return None
    try:
        baseline: dict[str, Any] = json.loads(shown.stdout)
    except json.JSONDecodeError:
        return None
    return baseline


__all__ = [
    "MAX_P95_RISE",
    "MAX_THROUGHPUT_DROP",
    "ComparisonRow",
    "committed_baseline",
    "compare",
    "format_comparison",
    "latency",
    "limit_verdicts",
    "percentile",
    "summarise",
]
