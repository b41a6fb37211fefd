"""Class burst through the runner service: 30 pupils press Check together on a 4-test activity.

    .venv/bin/python bench/runner_bench.py [--pupils 30] [--bursts 3] [--pool 32] [--concurrency 4]

In one run, on this machine: real `post16-sandbox serve` processes (tests/support/runners.py), first one
runner (first Docker engine), then two (one per engine; scripts/provision.sh docker2), reached through
the API's own client (server.domain.python.remote.RemoteRunners). Each burst starts with every warm pool
full. Prints per layout:
  - p50/p95 of a check as the API sees it (HTTP included) and checks per minute over the bursts;
  - where a check's time goes, from the runners' own histograms: waiting for a fair-share slot
    (queueing), waiting for a warm container, inside the container (the interpreters: one per test), and,
    off the check's path, creating/starting and removing containers;
  - CPU seconds per check: inside the containers (the tests' interpreters and the bootstrap, as each
    container reports it), the runner processes, the Docker engines (dockerd, containerd, shims, runc)
    and the whole machine (from /proc).
Timing on shared machines is noisy: compare the numbers of one run; the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from support.runners import ENGINE, ENGINE2, RUNNER_SECRET, RunnerProcess, start_second_engine  # noqa: E402

from server.domain.python.remote import RemoteRunners  # noqa: E402
from shared.lessons import CodeActivity, load_manifest  # noqa: E402

CHECKED = ("functions", "clamp")
STEPS = (
    ("queueing (fair-share slot)", "tlac_sandbox_queue_wait_seconds"),
    ("waiting for a warm container", "tlac_sandbox_pool_wait_seconds"),
    ("in the container (interpreters)", "tlac_sandbox_exchange_seconds"),
    ("create+start a container (background)", "tlac_sandbox_container_start_seconds"),
    ("remove a container (background)", "tlac_sandbox_container_remove_seconds"),
)
CONTAINER_CPU = "tlac_sandbox_container_cpu_seconds"
ENGINE_PROCESSES = {"dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2", "runc"}
TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def activity() -> CodeActivity:
    found = load_manifest(REPO / "lessons").lesson(CHECKED[0]).activity(CHECKED[1])
    assert isinstance(found, CodeActivity)
    assert found.model_answer
    assert len(found.tests) == 4
    return found


def histogram_totals(runner: RunnerProcess) -> dict[str, tuple[float, float]]:
    """(sum, count) of every tlac_sandbox_*_seconds histogram on a runner."""
    text = httpx.get(f"{runner.url}/metrics", headers=runner.headers, timeout=5).text
    totals: dict[str, tuple[float, float]] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        for suffix, index in (("_sum", 0), ("_count", 1)):
            if name.endswith(suffix) and name.startswith("tlac_sandbox_"):
                base = name.removesuffix(suffix)
                pair = list(totals.get(base, (0.0, 0.0)))
                pair[index] = float(value)
                totals[base] = (pair[0], pair[1])
    return totals


def cpu_seconds(pids: set[int]) -> dict[str, float]:
    """CPU seconds so far: the given runner processes, every Docker engine process, and the machine."""
    runner = engine = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
        if int(entry.name) in pids:
            runner += used
        elif name in ENGINE_PROCESSES or name.startswith("containerd-shim"):
            engine += used
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(value) for index, value in enumerate(first) if index not in (3, 4)) / TICKS
    return {"runner": runner, "engine": engine, "machine": busy}


async def wait_for_full_pools(runners: list[RunnerProcess]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reports = [runner.capacity() for runner in runners]
        if all(r["pool_ready"] >= r["pool_size"] and r["running"] == 0 for r in reports):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the warm pools did not refill")


async def burst(runners: list[RunnerProcess], pupils: int, bursts: int) -> None:
    checked = activity()
    remote = RemoteRunners([runner.url for runner in runners], RUNNER_SECRET, poll_seconds=0.5)
    await remote.start()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    busy_seconds = 0.0
    before_steps = [histogram_totals(runner) for runner in runners]
    pids = {runner.process.pid for runner in runners if runner.process is not None}
    before_cpu = cpu_seconds(pids)
    try:
        for _ in range(bursts):
            await wait_for_full_pools(runners)
            await remote.poll()

            async def one(pupil: int) -> None:
                started = time.monotonic()
                result = await remote.check(
                    checked.model_answer or "", checked.tests, owner=f"pupil-{pupil}", max_score=4
                )
                latencies.append(time.monotonic() - started)
                statuses[result.run_status] = statuses.get(result.run_status, 0) + 1

            began = time.monotonic()
            await asyncio.gather(*(one(pupil) for pupil in range(pupils)))
            busy_seconds += time.monotonic() - began
        await wait_for_full_pools(runners)
    finally:
        await remote.close()
    after_cpu = cpu_seconds(pids)
    after_steps = [histogram_totals(runner) for runner in runners]
    checks = len(latencies)
    print(
        f"  {checks} checks ({bursts} bursts of {pupils}): p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms, "
        f"{checks / busy_seconds * 60:.0f} checks/min; statuses {statuses}"
    )
    print("  where a check's time goes (mean per check, summed over runners):")
    for label, metric in STEPS:
        total = count = 0.0
        for before, after in zip(before_steps, after_steps, strict=True):
            total += after.get(metric, (0.0, 0.0))[0] - before.get(metric, (0.0, 0.0))[0]
            count += after.get(metric, (0.0, 0.0))[1] - before.get(metric, (0.0, 0.0))[1]
        mean = total / count * 1000 if count else 0.0
        print(f"    {label:<40} {mean:7.0f} ms  (n={count:.0f}, {total:.1f} s in all)")
    used = {key: after_cpu[key] - before_cpu[key] for key in after_cpu}
    used["containers"] = sum(
        after.get(CONTAINER_CPU, (0.0, 0.0))[0] - before.get(CONTAINER_CPU, (0.0, 0.0))[0]
        for before, after in zip(before_steps, after_steps, strict=True)
    )
    rest = used["machine"] - used["runner"] - used["engine"] - used["containers"]
    print(
        "  CPU seconds per check: "
        + ", ".join(
            f"{key} {used[key] / checks:.3f}" for key in ("containers", "runner", "engine", "machine")
        )
        + f" (the rest of the machine's: this client, the kernel's share of container churn, others' "
        f"work: {rest / checks:.3f})"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pupils", type=int, default=30)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--pool", type=int, default=4, help="warm containers per runner")
    parser.add_argument("--concurrency", type=int, default=4, help="runs at once per runner")
    parser.add_argument("--one-runner-only", action="store_true", help="skip the two-runner layout")
    args = parser.parse_args()
    problem = start_second_engine()
    if problem is not None:
        raise SystemExit(f"a second Docker engine is needed (scripts/provision.sh docker2): {problem}")
    print(
        f"load average at start: {' '.join(f'{value:.2f}' for value in os.getloadavg())}; {os.cpu_count()} CPUs"
    )
    settings = {
        "POST16_SANDBOX_POOL_SIZE": str(args.pool),
        "POST16_SANDBOX_CONCURRENCY": str(args.concurrency),
    }
    shape = f"pool {args.pool}, concurrency {args.concurrency}"
    with tempfile.TemporaryDirectory(prefix="runner-bench-") as scratch:
        first = RunnerProcess(Path(scratch), engine=ENGINE, **settings)
        second = RunnerProcess(Path(scratch), engine=ENGINE2, **settings)
        try:
            for runner in (first, second):
                runner.launch()
            for runner in (first, second):
                runner.wait_ready()
            print(f"one runner ({shape}):")
            await burst([first], args.pupils, args.bursts)
            if not args.one_runner_only:
                print(f"two runners, one per Docker engine (each {shape}):")
                await burst([first, second], args.pupils, args.bursts)
        finally:
            first.stop()
            second.stop()
    print(f"load average at end: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(main())
