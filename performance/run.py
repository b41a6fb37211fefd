"""Headless load runner: a fresh PostgreSQL database, a real server with N workers, one scenario played
by Locust in a subprocess, and a results file compared with the last committed one.

    .venv/bin/python performance/run.py --scenario steady --workers 2
    .venv/bin/python performance/run.py --scenario reconnect_storm --workers 1,2
    make load SCENARIO=steady WORKERS=2

Scenarios (defaults; the options below override them):
  login_storm      500 real logins spread over 60 s, login limiter on, each laptop with its own
                   X-Forwarded-For behind a trusted proxy (127.0.0.1); how many got in, and how fast
  reconnect_storm  500 laptops back online at once, each pushing the 50 operations it queued; time to
                   drain, then the database is checked to hold every operation exactly once
  class_run        a class of 30 pressing Run together (real Docker sandbox), 3 rounds 20 s apart;
                   latency and the runs' statuses
  steady           the day: pupils 70 %, teachers 20 %, admins 10 %; 200 users for 10 minutes with the
                   production rate limits on (429s counted apart from errors)
  rate_limits      people hammering saves, runs, marks and a default-limited route at the production
                   limits, beside pupils saving at an ordinary pace; checks that 429 + Retry-After comes
                   exactly at each limit per person and minute, never before, and never to the others

Writes performance/results/<scenario>-w<workers>.json (throughput, p50/p95/p99 per endpoint, error rate
with 429s apart, 429 rate, the scenario's parameters and checks, CPU per component, load average, git
commit). Regressions against `git show HEAD:` of the same file (throughput down > 20 %, p95 up > 50 %)
are flagged; the exit code says so only with --fail-on-regression. A failed scenario check (an operation
lost, the limiter wrong, errors where none are allowed) always exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make `performance`, `server` and `shared` importable
    sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from performance import results as results_lib  # noqa: E402
from performance.plan import OUTPUT_ENV, PLAN_ENV, Plan, queued_operations, write_plan  # noqa: E402
from performance.stack import (  # noqa: E402
    DEFAULT_ADMIN_URL,
    CpuSnapshot,
    ServerProcess,
    cpu_split,
    fresh_database,
    lesson_activities,
    libpq,
    seed_school,
)

PRODUCTION_LIMITS = "activity_save=60,python_run=20,mark_activity=30,default=120"
LIMITS_OFF = "activity_save=0,python_run=0,mark_activity=0,default=0"
RESULTS_DIR = REPO / "performance" / "results"
LOCUSTFILE = REPO / "performance" / "locustfile.py"


@dataclass(frozen=True)
class Scenario:
    name: str
    user_classes: tuple[str, ...]
    rate_limits: str
    sandbox: bool
    seeded_sessions: bool
    default_users: int
    default_duration: int  # seconds; for one-shot scenarios an upper bound (they stop when done)


SCENARIOS = {
    "login_storm": Scenario("login_storm", ("LoginStormUser",), PRODUCTION_LIMITS, False, False, 500, 60),
    "reconnect_storm": Scenario("reconnect_storm", ("ReconnectUser",), LIMITS_OFF, False, True, 500, 300),
    "class_run": Scenario("class_run", ("ClassRunUser",), PRODUCTION_LIMITS, True, True, 30, 300),
    "steady": Scenario(
        "steady", ("PupilUser", "TeacherUser", "AdminUser"), PRODUCTION_LIMITS, True, False, 200, 600
    ),
    "rate_limits": Scenario(
        "rate_limits",
        ("SaveHammer", "RunHammer", "LessonsHammer", "MarkHammer", "Bystander"),
        PRODUCTION_LIMITS,
        True,
        True,
        0,
        75,
    ),
}


def parse_limits(spec: str) -> dict[str, int]:
    limits = {"activity_save": 60, "python_run": 20, "mark_activity": 30, "default": 120}
    for item in filter(None, spec.split(",")):
        name, _, value = item.partition("=")
        limits[name.strip()] = int(value)
    return limits


def parse_counts(spec: str) -> dict[str, int]:
    return {
        name.strip(): int(value)
        for name, _, value in (item.partition("=") for item in spec.split(",") if item)
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scenario", choices=sorted(SCENARIOS), required=True, help="what to play (see below)"
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="server worker processes; a list such as 1,2 runs each and prints the ratio",
    )
    parser.add_argument("--users", type=int, help="simulated users (steady: 200; storms: the crowd's size)")
    parser.add_argument("--duration", type=int, help="seconds of load (steady: 600; rate_limits: 75)")
    parser.add_argument("--spawn-rate", type=float, help="users started per second (default: per scenario)")
    parser.add_argument(
        "--rate-limits",
        help=f"production ({PRODUCTION_LIMITS}), off, or NAME=N,... (default: per scenario)",
    )
    parser.add_argument(
        "--sandbox",
        action=argparse.BooleanOptionalAction,
        help="run Python in Docker (default: per scenario)",
    )
    parser.add_argument(
        "--wait", default="0.5,2.5", help="steady: think time between a user's requests, MIN,MAX s"
    )
    parser.add_argument(
        "--operations", type=int, default=50, help="reconnect_storm: operations queued per laptop"
    )
    parser.add_argument(
        "--login-spread", type=float, default=60.0, help="login_storm: seconds the logins arrive over"
    )
    parser.add_argument("--rounds", type=int, default=3, help="class_run: times the class presses Run")
    parser.add_argument("--round-seconds", type=float, default=20.0, help="class_run: seconds between rounds")
    parser.add_argument(
        "--hammers", default="save=5,run=2,lessons=2,mark=2", help="rate_limits: people hammering each limit"
    )
    parser.add_argument(
        "--bystanders", type=int, default=4, help="rate_limits: pupils saving every 2 s beside them"
    )
    parser.add_argument(
        "--hammer-rate", type=float, default=10.0, help="rate_limits: requests per second per hammer"
    )
    parser.add_argument(
        "--database-url",
        help="use this (migrated, empty) database instead of creating post16_load_<scenario> next to "
        "$POST16_TEST_DATABASE_URL",
    )
    parser.add_argument(
        "--admin-database-url", default=DEFAULT_ADMIN_URL, help="where fresh databases are created"
    )
    parser.add_argument(
        "--server-url",
        help="load an already running server on --database-url instead of starting one (its settings must "
        "match the scenario's; CPU is then not split)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra POST16_* setting for the server",
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the results file goes")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="compare with this file instead of the committed results of the same run",
    )
    parser.add_argument(
        "--fail-on-regression", action="store_true", help="exit 3 when a regression is flagged"
    )
    parser.add_argument(
        "--max-throughput-drop",
        type=float,
        default=results_lib.MAX_THROUGHPUT_DROP,
        help="regression threshold",
    )
    parser.add_argument(
        "--max-p95-rise", type=float, default=results_lib.MAX_P95_RISE, help="regression threshold"
    )
    parser.add_argument("--profile", type=Path, help="py-spy the server during the run: FILE.svg or FILE.txt")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (plan, Locust output, logs)"
    )
    return parser


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        command = ["git", *args]
        return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False).stdout  # noqa: S603

    dirty = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    return {"commit": git("rev-parse", "HEAD").strip(), "uncommitted_changes": dirty[:30]}


def scenario_settings(args: argparse.Namespace, scenario: Scenario) -> tuple[dict[str, Any], int, float, int]:
    """What the Locust process needs beyond the people, plus users, spawn rate and run time."""
    users = args.users or scenario.default_users
    duration = args.duration or scenario.default_duration
    settings: dict[str, Any] = {}
    if scenario.name == "login_storm":
        settings["logins"] = users
        spawn_rate = args.spawn_rate or users / args.login_spread
        run_time = int(args.duration or args.login_spread) + 120
    elif scenario.name == "reconnect_storm":
        settings.update(clients=users, operations=args.operations, max_attempts=8)
        spawn_rate, run_time = args.spawn_rate or float(users), duration
    elif scenario.name == "class_run":
        settings.update(class_size=users, rounds=args.rounds, round_seconds=args.round_seconds)
        spawn_rate = args.spawn_rate or float(users)
        run_time = int(args.rounds * args.round_seconds + 120)
    elif scenario.name == "steady":
        low, high = (float(x) for x in args.wait.split(","))
        settings.update(wait_min=low, wait_max=high)
        spawn_rate, run_time = args.spawn_rate or max(users / 20, 1.0), duration
    else:
        hammers = parse_counts(args.hammers)
        if set(hammers) - set(HAMMER_CLASSES):
            raise SystemExit(f"--hammers: names are {', '.join(HAMMER_CLASSES)}, got {args.hammers!r}")
        settings.update(hammers=hammers, bystanders=args.bystanders, hammer_rate=args.hammer_rate)
        users = sum(hammers.values()) + args.bystanders
        spawn_rate, run_time = args.spawn_rate or float(users), duration
    return settings, users, spawn_rate, run_time


def people_counts(scenario: Scenario, users: int, settings: dict[str, Any]) -> tuple[int, int, int]:
    if scenario.name == "steady":
        return users, users // 5 + 1, users // 10 + 1
    if scenario.name == "rate_limits":
        hammers = settings["hammers"]
        pupils = sum(v for k, v in hammers.items() if k != "mark") + settings["bystanders"]
        return max(pupils, 1), max(hammers.get("mark", 0), 1), 1
    return users, 1, 1


def wait_for_fresh_window(run_time: int) -> None:
    """rate_limits: start just after a minute boundary when the run will not fit in what is left of
    the current window, so that as few windows as possible are cut by the run's start."""
    left = 60 - time.time() % 60
    if left < min(run_time + 8, 58):  # Locust takes a few seconds to start
        time.sleep(left + 0.5)


def verify_reconnect(database_url: str, plan: Plan, clients: int, operations: int) -> dict[str, Any]:
    """Every queued operation stored exactly once, as sent: an acknowledged op in sync_operations and
    its answer as a revision with the same state."""
    expected: dict[str, Any] = {}
    for client in range(clients):
        for op in queued_operations(plan["run_id"], client, operations, plan["activities"]):
            expected[op["op_id"]] = op["payload"]["state"]
    ids = list(expected)
    with psycopg.connect(libpq(database_url)) as connection:
        acknowledged = connection.execute(
            "SELECT op_id::text, outcome FROM sync_operations WHERE op_id = ANY(%s::uuid[])", (ids,)
        ).fetchall()
        revisions = connection.execute(
            "SELECT op_id::text, state FROM activity_revisions WHERE op_id = ANY(%s::uuid[])", (ids,)
        ).fetchall()
    stored = dict(revisions)
    outcomes: dict[str, int] = {}
    for _, outcome in acknowledged:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    lost = [op_id for op_id in ids if op_id not in stored]
    different = [op_id for op_id, state in stored.items() if state != expected[op_id]]
    return {
        "operations_sent": len(ids),
        "operations_recorded": len(acknowledged),
        "revisions_stored": len(revisions),
        "distinct_revisions": len(stored),
        "recorded_outcomes": outcomes,
        "lost": len(lost),
        "lost_examples": lost[:5],
        "stored_twice": len(revisions) - len(stored),
        "state_differs": len(different),
        "exactly_once": not lost and not different and len(revisions) == len(ids) == len(acknowledged),
    }


def scenario_checks(
    scenario: Scenario,
    raw: dict[str, Any],
    summary: dict[str, Any],
    settings: dict[str, Any],
    limits: dict[str, int],
) -> dict[str, Any]:
    """What each scenario must show, computed from the Locust process's records."""
    records = raw.get("records", [])
    totals = summary["totals"]
    if scenario.name == "login_storm":
        logins = [r for r in records if r["kind"] == "login"]
        statuses = summary["endpoints"].get("POST /api/auth/login", {}).get("statuses", {})
        return {
            "logins_attempted": len(logins),
            "logins_succeeded": sum(1 for r in logins if r["ok"]),
            "login_statuses": statuses,
            "login_latency": results_lib.latency([r["ms"] for r in logins]),
            "ok": len(logins) == settings["logins"] and all(r["ok"] for r in logins),
        }
    if scenario.name == "reconnect_storm":
        clients = [r for r in records if r["kind"] == "reconnect"]
        drained = (
            (max(r["drained"] for r in clients) - min(r["started"] for r in clients)) if clients else None
        )
        outcomes: dict[str, int] = {}
        for r in clients:
            for name, count in r["outcomes"].items():
                outcomes[name] = outcomes.get(name, 0) + count
        return {
            "clients_finished": len(clients),
            "drain_seconds": round(drained, 2) if drained is not None else None,
            "push_attempts": sum(r["attempts"] for r in clients),
            "acknowledged_outcomes": outcomes,
            "unacknowledged": sum(r["unacknowledged"] for r in clients),
            "target_drain_seconds": 60,
        }
    if scenario.name == "class_run":
        runs = [r for r in records if r["kind"] == "run"]
        statuses: dict[str, int] = {}
        for r in runs:
            key = r["status"] or f"http {r['http']}"
            statuses[key] = statuses.get(key, 0) + 1
        per_round = {
            str(n): results_lib.latency([r["ms"] for r in runs if r["round"] == n])
            for n in range(settings["rounds"])
        }
        return {
            "runs": len(runs),
            "run_statuses": statuses,
            "latency": results_lib.latency([r["ms"] for r in runs]),
            "latency_success_runs": results_lib.latency([r["ms"] for r in runs if r["status"] == "success"]),
            "latency_per_round": per_round,
            "ok": len(runs) == settings["class_size"] * settings["rounds"],
        }
    if scenario.name == "steady":
        saves = summary["endpoints"].get("POST /api/activity/state/{lesson_id}/{activity_id}", {})
        runs = [r for r in records if r["kind"] == "run"]
        run_statuses: dict[str, int] = {}
        for r in runs:
            run_statuses[str(r["status"])] = run_statuses.get(str(r["status"]), 0) + 1
        return {
            "error_rate": totals["error_rate"],
            "target_error_rate": 0.001,
            "save_p95_ms": saves.get("p95_ms"),
            "target_save_p95_ms": 100,
            "meets_targets": totals["error_rate"] < 0.001 and (saves.get("p95_ms") or 0) < 100,
            "python_runs": len(runs),
            "run_statuses": run_statuses,
            "rejected_operations": sum(len(r["results"]) for r in records if r["kind"] == "rejected"),
        }
    return {"limits": limits, **results_lib.limit_verdicts(records, limits)}


HAMMER_CLASSES = {"save": "SaveHammer", "run": "RunHammer", "lessons": "LessonsHammer", "mark": "MarkHammer"}


def user_classes(scenario: Scenario, plan: Plan) -> list[str]:
    """The Locust classes to play; for rate_limits only those with people in them."""
    if scenario.name != "rate_limits":
        return list(scenario.user_classes)
    counts = {HAMMER_CLASSES[k]: v for k, v in plan["settings"]["hammers"].items()}
    counts["Bystander"] = plan["settings"]["bystanders"]
    return [name for name in scenario.user_classes if counts.get(name, 0) > 0]


def run_locust(
    scenario: Scenario, host: str, work: Path, plan: Plan, users: int, spawn_rate: float, run_time: int
) -> tuple[dict[str, Any], subprocess.Popen[bytes], Path]:
    plan_path, output = work / "plan.json", work / "locust-output.json"
    write_plan(plan, plan_path)
    env = {
        **os.environ,
        PLAN_ENV: str(plan_path),
        OUTPUT_ENV: str(output),
        "PYTHONPATH": str(REPO),
    }
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "-u", str(users), "-r", str(spawn_rate), "-t", f"{run_time}s", "--stop-timeout", "30",
        "--host", host, "--loglevel", "WARNING", "--exit-code-on-error", "0", *user_classes(scenario, plan),
    ]  # fmt: skip
    log_path = work / "locust.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    return {"command": command}, process, log_path


def play(args: argparse.Namespace, scenario: Scenario, workers: int, work: Path) -> dict[str, Any]:
    """One scenario against one server configuration; returns the results (also written to disk)."""
    settings, users, spawn_rate, run_time = scenario_settings(args, scenario)
    limits_spec = {"production": PRODUCTION_LIMITS, "off": LIMITS_OFF}.get(
        args.rate_limits or "", args.rate_limits or scenario.rate_limits
    )
    sandbox = scenario.sandbox if args.sandbox is None else args.sandbox
    database_url = args.database_url or fresh_database(
        args.admin_database_url, f"post16_load_{scenario.name}"
    )
    pupils, teachers, admins = people_counts(scenario, users, settings)
    school = seed_school(database_url, pupils, teachers, admins, sessions=scenario.seeded_sessions)
    plan: Plan = {
        "scenario": scenario.name,
        "run_id": uuid.uuid4().hex,
        "password": school.password,
        "pupils": school.pupils,
        "teachers": school.teachers,
        "admins": school.admins,
        "classes": school.classes,
        "activities": lesson_activities(),
        "settings": settings,
    }
    server_env = {
        "POST16_DATABASE_URL": database_url,
        "POST16_DATA_DIR": str(work / "data"),
        "POST16_LESSONS_DIR": str(REPO / "lessons"),
        "POST16_COOKIE_SECURE": "false",  # plain http on localhost
        "POST16_LOG_LEVEL": "WARNING",
        "POST16_LOG_JSON": "false",
        "POST16_LESSONS_RELOAD_SECONDS": "0",
        "POST16_RATE_LIMITS": limits_spec,
        "POST16_SANDBOX_ENABLED": "true" if sandbox else "false",
        "POST16_TRUSTED_PROXIES": "127.0.0.1/32",
        **dict(item.split("=", 1) for item in args.server_env),
    }
    server = None
    if args.server_url:
        host = args.server_url
    else:
        (work / "data").mkdir(parents=True, exist_ok=True)
        server = ServerProcess(server_env, workers=workers, log_path=work / "server.log").start()
        host = server.url
    profiler = None
    try:
        if scenario.name == "rate_limits":
            wait_for_fresh_window(run_time)
        load_before = os.getloadavg()
        started_at = datetime.now(UTC)
        meta, locust, locust_log = run_locust(scenario, host, work, plan, users, spawn_rate, run_time)
        before = CpuSnapshot.take(server.pid if server else None, None)
        if args.profile and server is not None:
            profiler = start_profiler(server.pid, args.profile, run_time)
        locust_ticks = wait_with_cpu(locust)
        after = CpuSnapshot.take(server.pid if server else None, None)
        after.groups["locust"] = before.groups["locust"] + locust_ticks
        load_after = os.getloadavg()
        output = work / "locust-output.json"
        if not output.exists():
            raise SystemExit(f"Locust wrote no output; its log:\n{locust_log.read_text()[-4000:]}")
        raw = json.loads(output.read_text())
        log_text = locust_log.read_text(errors="replace") if locust_log.exists() else ""
        if "Traceback (most recent call last)" in log_text:
            # A simulated user that crashed sends no requests, so it counts no errors: refuse the run.
            first = log_text[log_text.index("Traceback (most recent call last)") :][:3000]
            raise SystemExit(f"a simulated user crashed, so the numbers would be wrong:\n{first}")
    finally:
        if profiler is not None:
            profiler.wait(timeout=120)
        if server is not None:
            server.stop()
    summary = results_lib.summarise(raw)
    limits = parse_limits(limits_spec)
    checks = scenario_checks(scenario, raw, summary, settings, limits)
    if scenario.name == "reconnect_storm":
        checks["database"] = verify_reconnect(database_url, plan, users, args.operations)
        checks["ok"] = (
            checks["database"]["exactly_once"]
            and checks["clients_finished"] == users
            and checks["unacknowledged"] == 0
        )
    return {
        "scenario": scenario.name,
        "workers": workers,
        "started_at": started_at.isoformat(timespec="seconds"),
        "parameters": {
            "users": users,
            "spawn_rate": round(spawn_rate, 3),
            "run_time_s": run_time,
            "rate_limits": limits_spec,
            "sandbox": sandbox,
            "people": {"pupils": pupils, "teachers": teachers, "admins": admins},
            "locust_user_classes": list(scenario.user_classes),
            "locust_command": " ".join(meta["command"][2:]),
            **settings,
        },
        "machine": {
            "cores": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
        },
        "git": git_state(),
        **summary,
        "checks": checks,
        "cpu": cpu_split(before, after) if server is not None else None,
        "error_samples": raw.get("error_samples", []),
    }


def wait_with_cpu(process: subprocess.Popen[bytes]) -> int:
    """Wait for the Locust process and return the CPU ticks it used, from the kernel's accounting of
    the reaped child (its /proc entry is gone once it has exited)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return int((usage.ru_utime + usage.ru_stime) * os.sysconf("SC_CLK_TCK"))


def start_profiler(pid: int, output: Path, duration: int) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).with_name("py-spy")
    fmt = "raw" if output.suffix == ".txt" else "flamegraph"
    command = [str(py_spy), "record", "--pid", str(pid), "--subprocesses", "--duration", str(duration)]
    command += ["--rate", "100", "--format", fmt, "--output", str(output), "--nonblocking"]
    return subprocess.Popen(command)  # noqa: S603 - py-spy from our own venv


def print_results(result: dict[str, Any]) -> None:
    totals = result["totals"]
    load = result["machine"]["load_average_before"]
    print(
        f"\n{result['scenario']} with {result['workers']} worker(s): {totals['requests']} requests in "
        f"{result['elapsed_s']} s = {totals['throughput_rps']} req/s; errors {totals['errors']} "
        f"({totals['error_rate'] * 100:.3f} %), 429s {totals['rate_limited']}; load average before {load}"
    )
    width = max((len(name) for name in result["endpoints"]), default=10)
    columns = ["requests", "req/s", "p50", "p95", "p99", "err", "429"]
    print(f"{'endpoint':{width}}  " + "  ".join(f"{c:>8}" for c in columns))
    for name, row in result["endpoints"].items():
        print(
            f"{name:{width}}  {row['requests']:>8}  {row['throughput_rps']:>8.1f}  {row['p50_ms']:>8.1f}  "
            f"{row['p95_ms']:>8.1f}  {row['p99_ms']:>8.1f}  {row['errors']:>8}  {row['rate_limited']:>8}"
        )
    if result["cpu"]:
        busy = result["cpu"]["cores_busy"]
        print("cores busy: " + ", ".join(f"{name} {value:.2f}" for name, value in busy.items()))
    print("checks: " + json.dumps(result["checks"], indent=1)[:3000])
    for sample in result["error_samples"][:5]:
        print(f"error sample: {sample}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    scenario = SCENARIOS[args.scenario]
    worker_counts = [int(w) for w in args.workers.split(",")]
    if args.server_url and (len(worker_counts) > 1 or not args.database_url):
        raise SystemExit("--server-url needs --database-url and a single --workers value")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    exit_code = 0
    for workers in worker_counts:
        folder = Path(tempfile.mkdtemp(prefix=f"post16-load-{scenario.name}-"))
        try:
            result = play(args, scenario, workers, folder)
        finally:
            if args.keep:
                print(f"work folder kept: {folder}")
            else:
                shutil.rmtree(folder, ignore_errors=True)
        name = f"{scenario.name}-w{workers}.json"
        path = args.results_dir / name
        baseline = (
            json.loads(args.baseline.read_text())
            if args.baseline
            else results_lib.committed_baseline(REPO, f"performance/results/{name}")
        )
        rows = results_lib.compare(result, baseline, args.max_throughput_drop, args.max_p95_rise)
        result["compared_with"] = (baseline or {}).get("git", {}).get("commit")
        path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print_results(result)
        print(f"\nagainst the committed {name}:\n{results_lib.format_comparison(rows)}")
        print(f"results: {path}")
        if result["checks"].get("ok") is False:
            print("SCENARIO CHECK FAILED")
            exit_code = 2
        if args.fail_on_regression and any(row.regression for row in rows) and exit_code == 0:
            exit_code = 3
        runs.append(result)
    if len(runs) > 1:
        first = runs[0]
        for other in runs[1:]:
            ratio = other["totals"]["throughput_rps"] / max(first["totals"]["throughput_rps"], 1e-9)
            line = (
                f"scaling: {other['workers']} workers / {first['workers']} worker(s): throughput x{ratio:.2f}"
            )
            if scenario.name == "reconnect_storm":
                drains = first["checks"].get("drain_seconds"), other["checks"].get("drain_seconds")
                line += f"; drain {drains[0]} s -> {drains[1]} s"
            print(line)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
