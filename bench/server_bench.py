"""Server throughput against PostgreSQL on this machine: single saves, sync pushes, and the database's
own ceiling for the same upsert (pgbench), printed as numbers and ratios.

    .venv/bin/python bench/server_bench.py [--workers 1] [--duration 10]

Beside the project's single saves it measures bench/bare_endpoint.py, the least a save endpoint can do
on the same stack (one token lookup and one upsert, same route, same worker count), and prints the ratio.

Load comes from wrk (C, Lua-scripted) so the load generator costs little of the 2 cores. Rate limits
are turned off (POST16_RATE_LIMITS=...=0); each wrk request uses the next of 200 pupils' sessions and
the next activity, so clients are different pupils spread over activities.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(1, str(REPO / "tests"))  # `support`: the server and database helpers the suite uses too

from support.databases import DEFAULT_ADMIN_URL, fresh_database, libpq  # noqa: E402
from support.servers import ServerProcess, free_port  # noqa: E402

from server.lib.security import hash_password  # noqa: E402
from shared.lessons import load_manifest  # noqa: E402

PUPILS = 200

WRK_COMMON = r"""
local tokens = {%(tokens)s}
local activities = {%(activities)s}
local counter = 0
local thread_seed = 0
function setup(thread)
  thread_seed = thread_seed + 1
  thread:set("seed", thread_seed)
end
function init(args)
  math.randomseed(os.time() * 1000 + seed)
  counter = seed * 7919
end
local function uuid()
  local template = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
  return (string.gsub(template, "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%%x", v)
  end))
end
function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_s": %%.3f, "errors": %%d, "p50_ms": %%.2f, "p95_ms": %%.2f, "p99_ms": %%.2f}\n',
    summary.requests, summary.duration / 1e6, errors,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""

WRK_SAVE = r"""
function request()
  counter = counter + 1
  local token = tokens[(counter % #tokens) + 1]
  local activity = activities[(counter % #activities) + 1]
  local body = '{"state": ' .. activity[3] .. ', "client_time": "2026-11-27T10:00:00Z", "op_id": "' .. uuid() .. '"}'
  return wrk.format("POST", "/api/activity/state/" .. activity[1] .. "/" .. activity[2],
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
"""

WRK_PUSH = r"""
local batch = %(batch)d
function request()
  counter = counter + 1
  local token = tokens[(counter %% #tokens) + 1]
  local parts = {}
  for i = 1, batch do
    local activity = activities[((counter * batch + i) %% #activities) + 1]
    parts[i] = '{"op_id": "' .. uuid() .. '", "kind": "activity.save", "lesson_id": "' .. activity[1]
      .. '", "activity_id": "' .. activity[2] .. '", "payload": {"state": ' .. activity[3]
      .. '}, "client_time": "2026-11-27T10:00:0' .. (i %% 10) .. 'Z"}'
  end
  local body = '{"protocol": 1, "device_id": "bench", "operations": [' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/api/sync/push",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
"""

PGBENCH_UPSERT = """
\\set pupil random(1, {pupils})
\\set activity random(1, {activities})
INSERT INTO activity_states (pupil_id, lesson_id, activity_id, state, revision, revision_count, client_time,
  op_id, received_at)
VALUES (:pupil, 'bench', 'a' || :activity, '{{"text": "answer"}}', 1, 1, now(), gen_random_uuid(), now())
ON CONFLICT (pupil_id, lesson_id, activity_id) DO UPDATE SET state = excluded.state,
  revision_count = activity_states.revision_count + 1, client_time = excluded.client_time,
  op_id = excluded.op_id, received_at = excluded.received_at;
"""


def seed_pupils(url: str) -> list[str]:
    """200 pupils with a desktop session each (inserted directly: logging in 200 times would only
    benchmark argon2)."""
    password_hash = hash_password(secrets.token_urlsafe(12))
    tokens = [secrets.token_urlsafe(32) for _ in range(PUPILS)]
    with psycopg.connect(libpq(url)) as connection:
        for index, token in enumerate(tokens):
            user_id = connection.execute(
                "INSERT INTO users (username, display_name, role, password_hash, disabled, created_at,"
                " password_changed_at) VALUES (%s, %s, 'pupil', %s, false, now(), now()) RETURNING id",
                (f"bench{index}", f"Bench {index}", password_hash),
            ).fetchone()[0]  # type: ignore[index]
            connection.execute(
                "INSERT INTO user_sessions (token_hash, user_id, client, csrf_token, created_at, last_seen_at,"
                " idle_timeout, expires_at) VALUES (%s, %s, 'desktop', 'x', now(), now(), 86400,"
                " now() + interval '1 day')",
                (hashlib.sha256(token.encode()).hexdigest(), user_id),
            )
    return tokens


def activities() -> list[tuple[str, str, str]]:
    """Every code, written and multiple-choice activity with an answer of its kind (the other kinds'
    answers are shaped by each activity; these three are most of the unit and what the load suite writes)."""
    answers = {
        "code": {"code": "print('hello')"},
        "text": {"text": "An answer."},
        "choice": {"selected": [0]},
    }
    return [
        (lesson.id, activity.id, json.dumps(answers[activity.kind]))
        for lesson in load_manifest(REPO / "lessons").lessons
        for activity in lesson.activities
        if activity.kind in answers
    ]


def lua_table(rows: list[tuple[str, ...]] | list[str]) -> str:
    def quote(text: str) -> str:
        return "[==[" + text + "]==]"

    return ", ".join(
        quote(row) if isinstance(row, str) else "{" + ", ".join(quote(cell) for cell in row) + "}"
        for row in rows
    )


# Rate limits counted as in production but never reached (`--rate-limits` of bench/server_cpu_split.py).
COUNTED_NEVER_REFUSED = "activity_save=1000000,python_run=1000000,mark_activity=1000000,default=1000000"


def server_settings(url: str, data_dir: Path, *, rate_limits: bool = False) -> dict[str, str]:
    """The POST16_* settings the benchmarks serve the project with: rate limits off (or, with
    `rate_limits`, counted but too high to refuse anything), no sandbox."""
    return {
        "POST16_DATABASE_URL": url,
        "POST16_DATA_DIR": str(data_dir),
        "POST16_RATE_LIMITS": COUNTED_NEVER_REFUSED
        if rate_limits
        else "activity_save=0,python_run=0,mark_activity=0,default=0",
        "POST16_LOG_LEVEL": "WARNING",
        "POST16_SANDBOX_ENABLED": "false",
        "POST16_LESSONS_RELOAD_SECONDS": "0",
        "POST16_DB_POOL_SIZE": "20",
        # 2 workers x (20 + 10) stays under PostgreSQL's default max_connections of 100.
        "POST16_DB_MAX_OVERFLOW": "10",
    }


def start_server(url: str, workers: int, data_dir: Path, *, rate_limits: bool = False) -> ServerProcess:
    """The server as the suite starts it (support.servers), with the limits off for measuring."""
    env = server_settings(url, data_dir, rate_limits=rate_limits)
    # A loaded machine (other people's suites on the 2 cores) can take over a minute to start two workers.
    return ServerProcess(env, workers=workers, log_path=data_dir / "server.log").start(timeout=240)


def start_bare_endpoint(url: str, workers: int, data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """bench/bare_endpoint.py under uvicorn with the same worker count: one token lookup, one upsert."""
    port = free_port()
    log = (data_dir / "bare.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare_endpoint:app",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env={**os.environ, "POST16_DATABASE_URL": url},
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(300):
            if process.poll() is not None:
                raise SystemExit(f"the bare endpoint did not start; see {data_dir / 'bare.log'}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/activity/state/x/y", timeout=1):
                    pass
            except urllib.error.HTTPError:
                return process, port  # it answers (405 for a GET): up
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"the bare endpoint did not answer; see {data_dir / 'bare.log'}")
    except BaseException:
        stop_bare_endpoint(process)  # never leave it running behind a failed start
        raise


def stop_bare_endpoint(process: subprocess.Popen[bytes]) -> None:
    """Stop its whole process group (uvicorn and its workers); SIGKILL what outlives 20 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wrk(port: int, script: str, connections: int, duration: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            handle.name,
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(handle.name)
    match = re.search(r"RESULT (\{.*\})", output)
    if not match:
        raise SystemExit("wrk printed no result:\n" + output)
    result: dict[str, float] = json.loads(match.group(1))
    result["rate"] = result["requests"] / result["duration_s"]
    return result


def pgbench(url: str, connections: int, duration: int, n_activities: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(PGBENCH_UPSERT.format(pupils=PUPILS, activities=n_activities))
    binary = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    output = subprocess.run(
        [binary, "-n", "-c", str(connections), "-j", "2", "-T", str(duration), "-f", handle.name, libpq(url)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(handle.name)
    match = re.search(r"tps = ([\d.]+)", output)
    if not match:
        raise SystemExit("pgbench printed no tps:\n" + output)
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()

    url = fresh_database(DEFAULT_ADMIN_URL, "post16_bench")
    tokens = seed_pupils(url)
    targets = activities()
    common = WRK_COMMON % {"tokens": lua_table(tokens), "activities": lua_table(targets)}
    data_dir = Path(tempfile.mkdtemp(prefix="post16-bench-"))
    server = start_server(url, args.workers, data_dir)
    port = server.port
    print(
        f"server: {args.workers} worker(s), PostgreSQL, {PUPILS} pupils, {len(targets)} activities, "
        f"{args.duration} s per run, 2 cores shared by server, PostgreSQL and wrk"
    )
    try:
        wrk(port, common + WRK_SAVE, 20, 3)  # warm-up
        results = {}
        bare_results: dict[int, dict[str, float]] = {}
        for clients in (50, 200):
            result = wrk(port, common + WRK_SAVE, clients, args.duration)
            results[clients] = result
            print(
                f"single saves, {clients:>3} clients: {result['rate']:8.0f} saves/s   p50 {result['p50_ms']:6.1f} ms"
                f"   p95 {result['p95_ms']:6.1f} ms   p99 {result['p99_ms']:6.1f} ms   errors {int(result['errors'])}"
            )
        bare, bare_port = start_bare_endpoint(url, args.workers, data_dir)
        try:
            wrk(bare_port, common + WRK_SAVE, 20, 3)  # warm-up
            for clients in (50, 200):
                result = wrk(bare_port, common + WRK_SAVE, clients, args.duration)
                bare_results[clients] = result
                print(
                    f"bare endpoint, {clients:>3} clients: {result['rate']:8.0f} saves/s   "
                    f"p50 {result['p50_ms']:6.1f} ms   p95 {result['p95_ms']:6.1f} ms   "
                    f"errors {int(result['errors'])}"
                )
        finally:
            stop_bare_endpoint(bare)
        push = wrk(port, common + WRK_PUSH % {"batch": args.batch}, 8, args.duration)
        ops = push["rate"] * args.batch
        print(
            f"sync push, batches of {args.batch}, 8 clients: {ops:8.0f} operations/s   "
            f"p50 {push['p50_ms']:6.1f} ms/batch   p95 {push['p95_ms']:6.1f} ms/batch   errors {int(push['errors'])}"
        )
    finally:
        server.stop()
    ceiling = pgbench(url, 50, args.duration, len(targets))
    print(f"pgbench, same upsert, 50 clients: {ceiling:8.0f} upserts/s")
    print(f"ratio single saves at 50 clients / pgbench ceiling: {results[50]['rate'] / ceiling:.3f}")
    for clients in (50, 200):
        ratio = results[clients]["rate"] / bare_results[clients]["rate"]
        print(f"ratio single saves / bare endpoint at {clients} clients: {ratio:.3f}   (target >= 0.8)")
    print(
        f"ratio 200 clients / 50 clients: {results[200]['rate'] / results[50]['rate']:.3f}   (target >= 0.9)"
    )
    print(f"ratio sync-push operations / pgbench ceiling: {ops / ceiling:.3f}")


if __name__ == "__main__":
    main()
