"""Class burst through the runner service: 30 pupils press Check together on a 4-test activity.

    .venv/bin/python bench/runner_bench.py [--pupils 30] [--bursts 3] [--pool 32] [--concurrency 4]

In one run, on this machine: real `post16-sandbox serve` processes (tests/support/runners.py), first one
runner (first Docker engine), then two (one per engine; scripts/provision.sh docker2), reached through
the API's own client (server.domain.python.remote.RemoteRunners). Each burst starts with every warm pool
full (both runners', also when only one is measured) and no used container still awaiting removal, so
no churn from before the burst shares its cores. Prints per layout:
  - p50/p95 of a check as the API sees it (HTTP included) and checks per minute over the bursts;
  - where a check's time goes, from the runners' own histograms: waiting for a fair-share slot
    (queueing), waiting for a warm container, inside the container (the interpreters: one per test), and,
    off the check's path, creating/starting and removing containers;
  - CPU seconds per check: inside the containers (the tests' interpreters and the bootstrap, as each
    container reports it), the runner processes, the Docker engines (dockerd, containerd, shims, runc),
    this client and the whole machine (from /proc); once over the bursts alone (what a burst's latency
    pays for) and once over the whole window (the bursts plus refilling the pools after each).
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

import docker
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
    own = os.times()
    return {"runner": runner, "engine": engine, "client": own.user + own.system, "machine": busy}


def container_cpu(runners: list[RunnerProcess]) -> float:
    """CPU seconds the runners' containers have reported so far (their tests' interpreters and bootstrap)."""
    return sum(histogram_totals(runner).get(CONTAINER_CPU, (0.0, 0.0))[0] for runner in runners)


def cpu_line(used: dict[str, float], checks: int) -> str:
    rest = used["machine"] - sum(used[key] for key in ("containers", "runner", "engine", "client"))
    return (
        ", ".join(
            f"{key} {used[key] / checks:.3f}"
            for key in ("containers", "runner", "engine", "client", "machine")
        )
        + f" (the rest of the machine's: the kernel's share of container churn, short-lived runc "
        f"processes, others' work: {rest / checks:.3f})"
    )


def containers_of(runners: list[RunnerProcess]) -> int:
    """Sandbox containers of these runner processes on either engine, in any state."""
    pids = [str(runner.process.pid) for runner in runners if runner.process is not None]
    found = 0
    for url in (ENGINE, ENGINE2):
        api = docker.APIClient(base_url=url, version="1.41", timeout=10)
        try:
            for entry in api.containers(all=True, filters={"label": "post16.sandbox"}):
                found += (entry.get("Labels") or {}).get("post16.sandbox.pid") in pids
        finally:
            api.close()
    return found


async def wait_for_quiet(runners: list[RunnerProcess]) -> None:
    """Every runner process started (measured or not) has a full pool, nothing running and no container
    left to remove: a burst starts with no churn of a previous one, or of the other layout's pool, on
    the cores."""
    deadline = time.monotonic() + 300
    while True:
        reports = [runner.capacity() for runner in runners]
        waiting = containers_of(runners) - sum(r["pool_ready"] for r in reports)
        if all(r["pool_ready"] >= r["pool_size"] and r["running"] == 0 for r in reports) and not waiting:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the runners did not settle: {reports}; {waiting} containers to remove")
        await asyncio.sleep(0.1)


async def burst(
    runners: list[RunnerProcess], every_runner: list[RunnerProcess], pupils: int, bursts: int
) -> None:
    checked = activity()
    remote = RemoteRunners([runner.url for runner in runners], RUNNER_SECRET, poll_seconds=0.5)
    await remote.start()
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    busy_seconds = 0.0
    before_steps = [histogram_totals(runner) for runner in runners]
    pids = {runner.process.pid for runner in runners if runner.process is not None}
    before_cpu = cpu_seconds(pids)
    in_bursts = dict.fromkeys(("containers", "runner", "engine", "client", "machine"), 0.0)
    try:
        for _ in range(bursts):
            await wait_for_quiet(every_runner)
            await remote.poll()
            burst_cpu = {**cpu_seconds(pids), "containers": container_cpu(runners)}

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
            burst_end = {**cpu_seconds(pids), "containers": container_cpu(runners)}
            for key in in_bursts:
                in_bursts[key] += burst_end[key] - burst_cpu[key]
        await wait_for_quiet(every_runner)
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
    print(f"  CPU seconds per check, during the bursts only: {cpu_line(in_bursts, checks)}")
    print(f"  CPU seconds per check, bursts plus refilling the pools: {cpu_line(used, checks)}")


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
            await burst([first], [first, second], args.pupils, args.bursts)
            if not args.one_runner_only:
                print(f"two runners, one per Docker engine (each {shape}):")
                await burst([first, second], [first, second], args.pupils, args.bursts)
        finally:
            first.stop()
            second.stop()
    print(f"load average at end: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    asyncio.run(main())
