"""Where a single save's CPU goes: the server process versus PostgreSQL, per request.

    .venv/bin/python bench/server_cpu_split.py [--clients 8] [--duration 8] [--profile FILE] [--push 100]
        [--bare] [--asgi-server uvicorn|granian]

One server worker on a fresh benchmark database (as bench/server_bench.py builds it), loaded by wrk;
the CPU time of the server process and of every `postgres` process is read from /proc before and
after, and divided by the requests served (also for the benchmark database's backends alone, which
other people's work on the machine does not inflate). CPU time is steadier than wall time on a shared machine. With `--profile FILE`, py-spy samples the
server during the measured run and writes a flame graph (FILE.svg) or, for FILE.txt, collapsed stacks.
With `--asgi-server granian` the project or the bare endpoint is served by granian (one worker) instead
of uvicorn, to compare the two servers' fixed cost per request (issue 18); production serves with uvicorn.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import server_bench

DATABASE = "post16_bench"
#: Settings from the caller's environment that must not reach the server under measurement.
NOT_INHERITED = ("PROMETHEUS_MULTIPROC_DIR",)


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def process_group(pid: int) -> list[int]:
    """Every process in `pid`'s process group: the server and its workers (granian runs its one worker
    in a child process; uvicorn with one worker runs in-process)."""
    found = subprocess.run(["pgrep", "-g", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(member) for member in found.split()]


def postgres_pids(database: str | None = None) -> list[int]:
    """Every PostgreSQL process, or with `database` only the backends connected to it (their titles
    read `postgres: [CLUSTER: ]USER DATABASE HOST(PORT) STATE`): other people's databases on a shared machine are
    then left out, and so are the shared WAL writer and checkpointer."""
    pattern = f"^postgres: (.+: )?[^ ]+ {database} " if database else "postgres"
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False).stdout
    return [int(pid) for pid in found.split()]


def start_granian(
    target: str, env: dict[str, str], data_dir: Path, *, factory: bool
) -> tuple[subprocess.Popen[bytes], int]:
    """`target` under granian's ASGI interface with one worker, waiting until it answers HTTP.

    Served as `serve` serves with uvicorn: HTTP/1.1, uvloop, warnings only, no access log. Forwarded
    headers are not trusted by granian: it has no option that reads them (only the opt-in
    `granian.utils.proxies` wrapper, not used here), and GRANIAN_* settings from the caller's environment
    are dropped so none can change that; the app sees the TCP peer and applies POST16_TRUSTED_PROXIES
    itself, as under uvicorn's `proxy_headers=False`."""
    port = server_bench.free_port()
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in NOT_INHERITED and not key.startswith("GRANIAN_")
    }
    command = [str(Path(sys.executable).with_name("granian")), "--interface", "asgi"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--http", "1"]
    command += ["--loop", "uvloop", "--log-level", "warning", "--no-access-log"]
    if factory:
        command.append("--factory")
    log_path = data_dir / "granian.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, target],
            env={**inherited, **env},
            cwd=server_bench.REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # A loaded machine can take over a minute to import and build the app.
        for _ in range(2400):
            if process.poll() is not None:
                raise SystemExit(f"granian exited early; see {log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1):
                    return process, port
            except urllib.error.HTTPError:
                return process, port  # it answers (the bare endpoint has no health route): up
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"granian did not answer; see {log_path}")
    except BaseException:
        server_bench.stop_bare_endpoint(process)  # stops any process group; never leave one running
        raise


def start_profiler(pid: int, output: Path, duration: int) -> subprocess.Popen[bytes]:
    """py-spy on the server process and its children (granian's worker is one) for the run."""
    py_spy = Path(sys.executable).with_name("py-spy")
    fmt = "raw" if output.suffix == ".txt" else "flamegraph"
    command = [str(py_spy), "record", "--pid", str(pid), "--subprocesses", "--duration", str(duration)]
    command += ["--rate", "200"]
    return subprocess.Popen([*command, "--format", fmt, "--output", str(output)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--push", type=int, metavar="BATCH", help="measure sync pushes of BATCH operations")
    parser.add_argument(
        "--bare", action="store_true", help="measure bench/bare_endpoint.py (the yardstick) instead"
    )
    parser.add_argument(
        "--database",
        default=DATABASE,
        help="benchmark database, dropped and re-created (two people's runs on a shared machine need two)",
    )
    parser.add_argument(
        "--asgi-server",
        choices=("uvicorn", "granian"),
        default="uvicorn",
        help="the ASGI server, one worker (production serves with uvicorn)",
    )
    parser.add_argument(
        "--rate-limits",
        action="store_true",
        help="count every request against the rate limits as production does (limits too high to refuse)",
    )
    parser.add_argument(
        "--profile", type=Path, help="py-spy output: .svg flame graph or .txt collapsed stacks"
    )
    args = parser.parse_args()
    url = server_bench.fresh_database(server_bench.DEFAULT_ADMIN_URL, args.database)
    tokens = server_bench.seed_pupils(url)
    common = server_bench.WRK_COMMON % {
        "tokens": server_bench.lua_table(tokens),
        "activities": server_bench.lua_table(server_bench.activities()),
    }
    script = common + (server_bench.WRK_PUSH % {"batch": args.push} if args.push else server_bench.WRK_SAVE)
    unit = "operation" if args.push else "save"
    data_dir = Path(tempfile.mkdtemp(prefix="post16-cpu-"))
    if args.asgi_server == "granian":
        if args.bare:
            env, target = {"POST16_DATABASE_URL": url}, "bench.bare_endpoint:app"
        else:
            env = server_bench.server_settings(url, data_dir, rate_limits=args.rate_limits)
            target = "server.app:create_app_from_env"
        granian, port = start_granian(target, env, data_dir, factory=not args.bare)
        pid, stop = granian.pid, lambda: server_bench.stop_bare_endpoint(granian)
    elif args.bare:  # one uvicorn worker runs in the process started
        bare, port = server_bench.start_bare_endpoint(url, 1, data_dir)
        pid, stop = bare.pid, lambda: server_bench.stop_bare_endpoint(bare)
    else:
        server = server_bench.start_server(url, 1, data_dir, rate_limits=args.rate_limits)
        pid, port, stop = server.pid, server.port, server.stop
    try:
        server_bench.wrk(port, script, args.clients, 2)  # warm-up
        spy = start_profiler(pid, args.profile, args.duration) if args.profile else None
        backends, server_pids = postgres_pids(args.database), process_group(pid)
        server_before, postgres_before = cpu_seconds(server_pids), cpu_seconds(postgres_pids())
        backends_before = cpu_seconds(backends)
        result = server_bench.wrk(port, script, args.clients, args.duration)
        server_after, postgres_after = cpu_seconds(server_pids), cpu_seconds(postgres_pids())
        backends_after = cpu_seconds(backends)
        if spy is not None:
            spy.wait(timeout=60)
    finally:
        stop()
    done = result["requests"] * (args.push or 1)
    print(
        f"{'bare endpoint' if args.bare else 'project'} under {args.asgi_server}: "
        f"{done / result['duration_s']:.0f} {unit}s/s with {args.clients} clients "
        f"({result['errors']:.0f} errors, p95 {result['p95_ms']:.0f} ms); "
        f"server CPU {1000 * (server_after - server_before) / done:.3f} ms/{unit}; "
        f"PostgreSQL CPU {1000 * (postgres_after - postgres_before) / done:.3f} ms/{unit} "
        f"(the benchmark database's backends alone: {1000 * (backends_after - backends_before) / done:.3f})"
    )


if __name__ == "__main__":
    main()
