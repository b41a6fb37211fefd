"""Where a single save's CPU goes: the server process versus PostgreSQL, per request.

    .venv/bin/python bench/server_cpu_split.py [--clients 8] [--duration 8] [--profile FILE] [--push 100]

One server worker on a fresh benchmark database (as bench/server_bench.py builds it), loaded by wrk;
the CPU time of the server process and of every `postgres` process is read from /proc before and
after, and divided by the requests served (also for the benchmark database's backends alone, which
other people's work on the machine does not inflate). CPU time is steadier than wall time on a shared machine. With `--profile FILE`, py-spy samples the
server during the measured run and writes a flame graph (FILE.svg) or, for FILE.txt, collapsed stacks.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import server_bench

DATABASE = "post16_bench"


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_pids(database: str | None = None) -> list[int]:
    """Every PostgreSQL process, or with `database` only the backends connected to it (their titles
    read `postgres: [CLUSTER: ]USER DATABASE HOST(PORT) STATE`): other people's databases on a shared machine are
    then left out, and so are the shared WAL writer and checkpointer."""
    pattern = f"^postgres: (.+: )?[^ ]+ {database} " if database else "postgres"
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False).stdout
    return [int(pid) for pid in found.split()]


def start_profiler(pid: int, output: Path, duration: int) -> subprocess.Popen[bytes]:
    """py-spy on the server process (one worker: `serve` runs uvicorn in-process) for the run."""
    py_spy = Path(sys.executable).with_name("py-spy")
    fmt = "raw" if output.suffix == ".txt" else "flamegraph"
    command = [str(py_spy), "record", "--pid", str(pid), "--duration", str(duration), "--rate", "200"]
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
        "--profile", type=Path, help="py-spy output: .svg flame graph or .txt collapsed stacks"
    )
    args = parser.parse_args()
    url = server_bench.fresh_database(server_bench.DEFAULT_ADMIN_URL, DATABASE)
    tokens = server_bench.seed_pupils(url)
    common = server_bench.WRK_COMMON % {
        "tokens": server_bench.lua_table(tokens),
        "activities": server_bench.lua_table(server_bench.activities()),
    }
    script = common + (server_bench.WRK_PUSH % {"batch": args.push} if args.push else server_bench.WRK_SAVE)
    unit = "operation" if args.push else "save"
    data_dir = Path(tempfile.mkdtemp(prefix="post16-cpu-"))
    if args.bare:  # one uvicorn worker runs in the process started
        bare, port = server_bench.start_bare_endpoint(url, 1, data_dir)
        pid, stop = bare.pid, lambda: server_bench.stop_bare_endpoint(bare)
    else:
        server = server_bench.start_server(url, 1, data_dir)
        pid, port, stop = server.pid, server.port, server.stop
    try:
        server_bench.wrk(port, script, args.clients, 2)  # warm-up
        spy = start_profiler(pid, args.profile, args.duration) if args.profile else None
        backends = postgres_pids(DATABASE)
        server_before, postgres_before = cpu_seconds([pid]), cpu_seconds(postgres_pids())
        backends_before = cpu_seconds(backends)
        result = server_bench.wrk(port, script, args.clients, args.duration)
        server_after, postgres_after = cpu_seconds([pid]), cpu_seconds(postgres_pids())
        backends_after = cpu_seconds(backends)
        if spy is not None:
            spy.wait(timeout=60)
    finally:
        stop()
    done = result["requests"] * (args.push or 1)
    print(
        f"{done / result['duration_s']:.0f} {unit}s/s with {args.clients} clients; "
        f"server CPU {1000 * (server_after - server_before) / done:.3f} ms/{unit}; "
        f"PostgreSQL CPU {1000 * (postgres_after - postgres_before) / done:.3f} ms/{unit} "
        f"(the benchmark database's backends alone: {1000 * (backends_after - backends_before) / done:.3f})"
    )


if __name__ == "__main__":
    main()
