"""Sandbox benchmark: cold `docker run --rm` baseline vs the warm-pool runner, and sustained throughput.

    .venv/bin/python bench/sandbox_bench.py [--runs 50] [--seconds 30] [--callers 10]

Prints, in one run on this machine:
  1. cold `docker run --rm IMAGE python3 -c 'print(1)'` (the baseline), median and p95;
  2. the runner's p50/p95 for the same program with the pool warm (each run starts with the pool full);
  3. the p50/p95 of a check (automatic marking) of a 4-test activity (functions/clamp, model answer),
     pool warm, beside the cold baseline;
  4. sustained runs per minute with `--callers` concurrent callers (distinct owners) for `--seconds`.
Targets: run p50 <= 100 ms and <= 0.3 x the cold baseline; >= 300 runs/min on 2 cores (issue 3);
check p50 <= 2 x the cold baseline (issue 14).
Timing on shared machines is noisy: compare the ratios printed by one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import sandbox
from sandbox import RunRequest, SandboxLimits, SandboxRunner, engines_from_env
from shared.lessons import CodeActivity, load_manifest

PROGRAM = "print(1)"
CHECKED = ("functions", "clamp")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def cold_baseline(image: str, runs: int, engine: str) -> list[float]:
    docker = shutil.which("docker")
    if docker is None:
        raise SystemExit("the docker CLI is needed for the cold baseline")
    env = {**os.environ, "DOCKER_HOST": engine}
    argv = [docker, "run", "--rm", image, "python3", "-c", PROGRAM]
    subprocess.run(argv, check=True, capture_output=True, env=env)  # warm the page cache
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, check=True, capture_output=True, env=env)
        timings.append(time.perf_counter() - started)
        assert done.stdout == b"1\n", done
    return timings


async def warm_latency(runner: SandboxRunner, runs: int) -> list[float]:
    timings = []
    request = RunRequest(code=PROGRAM)
    for _ in range(runs):
        await runner.wait_until_idle(60)
        started = time.perf_counter()
        result = await runner.run(request, owner="bench")
        timings.append(time.perf_counter() - started)
        assert result.status == "success", result
        assert result.stdout == "1\n", result
    return timings


def checked_activity() -> CodeActivity:
    lessons = Path(sandbox.__file__).resolve().parent.parent / "lessons"
    activity = load_manifest(lessons).lesson(CHECKED[0]).activity(CHECKED[1])
    assert isinstance(activity, CodeActivity)
    assert len(activity.tests) == 4, "the benchmark checks a 4-test activity"
    return activity


async def check_latency(runner: SandboxRunner, runs: int) -> list[float]:
    activity = checked_activity()
    assert activity.model_answer is not None
    timings = []
    for _ in range(runs):
        await runner.wait_until_idle(60)
        started = time.perf_counter()
        result = await runner.check(
            activity.model_answer, activity.tests, owner="bench", max_score=activity.max_score
        )
        timings.append(time.perf_counter() - started)
        assert result.score == activity.max_score, result
    return timings


async def back_to_back_latency(runner: SandboxRunner, runs: int) -> list[float]:
    await runner.wait_until_idle(60)
    timings = []
    request = RunRequest(code=PROGRAM)
    for _ in range(runs):
        started = time.perf_counter()
        result = await runner.run(request, owner="bench")
        timings.append(time.perf_counter() - started)
        assert result.status == "success", result
    return timings


async def sustained(runner: SandboxRunner, callers: int, seconds: float) -> tuple[int, dict[str, int]]:
    await runner.wait_until_idle(60)
    deadline = time.perf_counter() + seconds
    statuses: dict[str, int] = {}
    request = RunRequest(code=PROGRAM)

    async def caller(number: int) -> int:
        done = 0
        while time.perf_counter() < deadline:
            result = await runner.run(request, owner=f"caller-{number}")
            statuses[result.status] = statuses.get(result.status, 0) + 1
            done += result.status == "success"
        return done

    counts = await asyncio.gather(*(caller(number) for number in range(callers)))
    return sum(counts), statuses


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50, help="runs for each latency measurement")
    parser.add_argument("--cold-runs", type=int, default=15, help="cold docker run --rm repetitions")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the throughput test")
    parser.add_argument("--callers", type=int, default=10, help="concurrent callers in the throughput test")
    args = parser.parse_args()

    limits = SandboxLimits.from_env()
    engines = engines_from_env()
    print(f"sandbox bench: image {limits.image}, engines {engines}, {os.cpu_count()} CPUs")
    print(
        f"limits: pool_size={limits.pool_size} concurrency={limits.concurrency} "
        f"max_runs_per_owner={limits.max_runs_per_owner} memory={limits.memory_mib} MiB cpus={limits.cpus}"
    )

    cold = cold_baseline(limits.image, args.cold_runs, engines[0])
    cold_p50 = statistics.median(cold)
    cold_p95 = percentile(cold, 0.95)
    print(f"cold docker run --rm      p50 {ms(cold_p50)}   p95 {ms(cold_p95)}   (n={len(cold)})")

    async with SandboxRunner(limits, engines) as runner:
        warm = await warm_latency(runner, args.runs)
        warm_p50 = statistics.median(warm)
        print(
            f"runner, pool warm         p50 {ms(warm_p50)}   p95 {ms(percentile(warm, 0.95))}"
            f"   (n={len(warm)})"
            f"   ratio p50/cold {warm_p50 / cold_p50:.2f}"
        )
        checks = await check_latency(runner, args.runs)
        check_p50 = statistics.median(checks)
        print(
            f"check, 4 tests, warm      p50 {ms(check_p50)}   p95 {ms(percentile(checks, 0.95))}"
            f"   (n={len(checks)})"
            f"   ratio p50/cold {check_p50 / cold_p50:.2f}"
        )
        burst = await back_to_back_latency(runner, args.runs)
        print(
            f"runner, back to back      p50 {ms(statistics.median(burst))}"
            f"   p95 {ms(percentile(burst, 0.95))}"
            f"   (n={len(burst)}, one caller, no pause for refills)"
        )
        completed, statuses = await sustained(runner, args.callers, args.seconds)
        per_minute = completed * 60 / args.seconds
        print(
            f"sustained, {args.callers} callers     {per_minute:7.0f} runs/min   "
            f"({completed} runs in {args.seconds:g} s, statuses {statuses})"
        )
    targets_met = warm_p50 <= 0.100 and warm_p50 / cold_p50 <= 0.3 and per_minute >= 300
    print("targets (p50 <= 100 ms, ratio <= 0.3, >= 300 runs/min):", "met" if targets_met else "NOT met")
    check_met = check_p50 / cold_p50 <= 2.0
    print("target (check p50 <= 2 x cold docker run):", "met" if check_met else "NOT met")


if __name__ == "__main__":
    asyncio.run(main())
