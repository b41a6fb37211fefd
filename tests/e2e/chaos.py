"""The fault-injection run for sync: many simulated laptops, real server processes on PostgreSQL, a
fault proxy in between, and a storm of faults; then a quiet sync and the checker.

    .venv/bin/python tests/e2e/chaos.py --profile quick|long [--seed N] [--keep]

The seed fixes every laptop's answers, clocks and habits and the fault schedule (kinds, order, timing,
which laptop is killed, the proxy's per-request dice); thread timing still varies, so a replay is the
same storm, not the same interleaving. The last line printed is the summary
`chaos: clients=N operations=N faults=N lost=N duplicated=N wrong=N seed=N`; the exit status is 1 when
anything was lost, duplicated or wrong. See docs/reliability.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tests/: `support`
sys.path.insert(2, str(Path(__file__).resolve().parents[2]))

from chaos_checker import CheckResult, Laptop, check
from chaos_cluster import PASSWORD, REPO, ChaosDatabase, ChaosServer
from chaos_proxy import FAULT_MODES, FaultProxy

__all__ = ["PROFILES", "ChaosRun", "Profile", "main", "run"]

CLIENT_SCRIPT = Path(__file__).resolve().parent / "chaos_client.py"
CLOCK_OFFSETS = [0.0, 3 * 3600.0, -5 * 3600.0, 45.0, 26 * 3600.0, -90.0, 0.0, -2 * 3600.0, 0.0, 20.0]
PROCESS_FAULTS = ("server_kill", "db_kill", "client_kill", "session_expire")


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    clients: int
    #: laptops that share their pupil with another laptop (pairs)
    shared_laptops: int
    operations_per_client: int
    think: tuple[float, float]
    sync_every: tuple[int, int]
    offline_chance: float
    offline_seconds: tuple[float, float]
    replay_chance: float
    invalid_chance: float
    workers: int
    #: seconds between scheduled faults
    fault_gap: tuple[float, float]
    #: extra random faults after every kind has had its turn
    extra_faults: int
    pg_restart: bool
    server_rate_storm: bool
    client_timeout: float = 4.0
    #: laptops are switched on over this many seconds (a whole class logging in at the same instant
    #: is a load test of argon2, not of sync)
    start_spread: float = 0.0
    deadline: float = 3600.0
    #: after a code answer, the chance the laptop asks for the server's check of it (a `code.check`)
    check_chance: float = 0.0
    #: teachers' laptops marking their class during the storm (they log in during it, too)
    teachers: int = 0
    #: pupils' laptops never used before, switched on during the storm: they log in through the faults
    late_laptops: int = 0


PROFILES = {
    "quick": Profile(
        name="quick",
        clients=6,
        shared_laptops=4,
        operations_per_client=50,
        think=(0.3, 1.3),
        sync_every=(1, 6),
        offline_chance=0.06,
        offline_seconds=(2.0, 6.0),
        replay_chance=0.25,
        invalid_chance=0.02,
        workers=1,
        fault_gap=(1.5, 3.0),
        extra_faults=0,
        pg_restart=False,
        server_rate_storm=False,
        deadline=600.0,
        check_chance=0.3,
        teachers=1,
        late_laptops=1,
    ),
    "long": Profile(
        name="long",
        clients=50,
        shared_laptops=20,
        operations_per_client=400,
        think=(0.3, 2.2),
        sync_every=(1, 12),
        offline_chance=0.02,
        offline_seconds=(5.0, 30.0),
        replay_chance=0.1,
        invalid_chance=0.005,
        workers=2,
        fault_gap=(4.0, 10.0),
        extra_faults=60,
        pg_restart=True,
        server_rate_storm=True,
        client_timeout=15.0,
        start_spread=20.0,
        deadline=4 * 3600.0,
        check_chance=0.1,
        teachers=3,
        late_laptops=5,
    ),
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class LaptopProcess:
    """One `chaos_client.py` process: started, SIGKILLed, started again from its files."""

    def __init__(self, index: int, plan: dict[str, object], data_dir: Path) -> None:
        self.index = index
        self.plan = plan
        self.data_dir = data_dir
        self.plan_path = data_dir / "plan.json"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.plan_path.write_text(json.dumps(plan))
        self.process: subprocess.Popen[str] | None = None
        self.events: Counter[str] = Counter()
        self.offline_token: str | None = None
        self.sync_started = threading.Event()
        self.changed = threading.Condition()
        self.commands: list[str] = []
        self.kills = 0
        self.lock = threading.Lock()

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        with (self.data_dir / "client.log").open("a") as errors:
            self.process = subprocess.Popen(
                [sys.executable, str(CLIENT_SCRIPT), str(self.plan_path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                cwd=REPO,
                env=env,
                start_new_session=True,
            )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        for command in self.commands:  # a restarted laptop learns what it missed
            self._send(command)

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            word, _, rest = line.strip().partition(" ")
            with self.changed:
                if process is not self.process:
                    return
                self.events[word] += 1
                if word == "offline":
                    self.offline_token = rest
                elif word == "online":
                    self.offline_token = None
                elif word == "sync-start":
                    self.sync_started.set()
                elif word == "violation":
                    log(f"laptop {self.index}: violation {rest}")
                self.changed.notify_all()

    def _send(self, command: str) -> None:
        process = self.process
        if process is None or process.stdin is None:
            return
        with contextlib.suppress(OSError, ValueError):
            process.stdin.write(command + "\n")
            process.stdin.flush()

    def command(self, command: str) -> None:
        self.commands.append(command)
        self._send(command)

    def wait_for(self, event: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while self.events[event] == 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.process is not None and self.process.poll() is not None):
                    return self.events[event] > 0
                self.changed.wait(min(remaining, 1.0))
        return True

    def kill(self) -> None:
        process = self.process
        if process is None:
            return
        with self.changed:
            self.process = None
            self.offline_token = None
            for event in ("ready", "generated", "drained", "done"):
                self.events[event] = 0
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self.kills += 1

    def finish(self, timeout: float) -> None:
        process = self.process
        if process is None:
            return
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@dataclasses.dataclass
class RunResult:
    clients: int
    operations: int
    faults: int
    seed: int
    check: CheckResult
    fault_counts: Counter[str]
    seconds: float

    @property
    def summary(self) -> str:
        return (
            f"chaos: clients={self.clients} operations={self.operations} faults={self.faults} "
            f"lost={len(self.check.lost)} duplicated={len(self.check.duplicated)} "
            f"wrong={len(self.check.wrong)} seed={self.seed}"
        )


class ChaosRun:
    def __init__(self, profile: Profile, seed: int, database: ChaosDatabase, work_dir: Path) -> None:
        self.profile = profile
        self.seed = seed
        self.database = database
        self.work_dir = work_dir
        self.rng = random.Random(f"{seed}:schedule")
        self.faults: Counter[str] = Counter()
        self.stop_faults = threading.Event()
        self.calm = threading.Event()
        # The sandbox is on: checks are marked in real containers; a check claimed by a server that was
        # then killed is taken over after 20 s instead of the default 5 minutes.
        self.server = ChaosServer(
            database.url,
            work_dir / "server",
            workers=profile.workers,
            POST16_SANDBOX_ENABLED="true",
            POST16_CHECK_STALE_SECONDS="20",
        )
        self.proxy: FaultProxy | None = None
        self.laptops: list[LaptopProcess] = []
        self.user_ids: dict[str, int] = {}
        self.server_lock = threading.Lock()

    # -- set-up -------------------------------------------------------------------------------------

    def _activities(self) -> list[list[object]]:
        from shared.lessons import CodeActivity, TextActivity, load_manifest

        found: list[list[object]] = []
        for lesson in load_manifest(REPO / "lessons").lessons:
            for activity in lesson.activities:
                if isinstance(activity, CodeActivity) and activity.tests:
                    found.append([lesson.id, activity.id, "code", 0, activity.max_score])
                elif isinstance(activity, TextActivity):
                    found.append([lesson.id, activity.id, "text", activity.max_length, activity.max_score])
        return found

    def _plans(self) -> list[tuple[str, dict[str, object]]]:
        profile = self.profile
        activities = self._activities()
        owners: list[str] = []
        pupil = 0
        for index in range(profile.clients):
            if index < profile.shared_laptops and index % 2 == 1:
                owners.append(owners[-1])  # the second laptop of the same pupil
            else:
                owners.append(f"chaos-pupil-{pupil}")
                pupil += 1
        subsets: dict[str, list[list[object]]] = {}
        plans = []
        for index, username in enumerate(owners):
            rng = random.Random(f"{self.seed}:laptop:{index}")
            subset = subsets.setdefault(username, rng.sample(activities, 5))
            offset = CLOCK_OFFSETS[index % len(CLOCK_OFFSETS)]
            plans.append(
                (
                    username,
                    {
                        "index": index,
                        "username": username,
                        "password": PASSWORD,
                        "seed": self.seed,
                        "operations": profile.operations_per_client,
                        "activities": subset,
                        "clock_offset": offset + rng.uniform(-1.0, 1.0),
                        "think": list(profile.think),
                        "sync_every": list(profile.sync_every),
                        "offline_chance": profile.offline_chance,
                        "offline_seconds": list(profile.offline_seconds),
                        "replay_chance": profile.replay_chance,
                        "invalid_chance": profile.invalid_chance,
                        "timeout": profile.client_timeout,
                        "role": "pupil",
                        "check_chance": profile.check_chance,
                        "late": index >= profile.clients - profile.late_laptops,
                    },
                )
            )
        # Teachers mark the pupils' activities; `pupils` (ids and activities) is filled in once the
        # accounts exist. Each teacher's clock is right: a teacher's marks are ordered by the time typed.
        for teacher in range(profile.teachers):
            rng = random.Random(f"{self.seed}:teacher:{teacher}")
            plans.append(
                (
                    f"chaos-teacher-{teacher}",
                    {
                        "index": len(plans),
                        "username": f"chaos-teacher-{teacher}",
                        "password": PASSWORD,
                        "seed": self.seed,
                        "operations": profile.operations_per_client // 2,
                        "activities": [],
                        "clock_offset": rng.uniform(-1.0, 1.0),
                        "think": list(profile.think),
                        "sync_every": list(profile.sync_every),
                        "offline_chance": profile.offline_chance * 2,
                        "offline_seconds": list(profile.offline_seconds),
                        "replay_chance": 0.0,
                        "invalid_chance": 0.0,
                        "timeout": profile.client_timeout,
                        "role": "teacher",
                        "late": True,
                        "subsets": {name: subsets[name] for name in subsets},
                    },
                )
            )
        return plans

    # -- faults ------------------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless told to stop; False when stopped."""
        return not self.stop_faults.wait(seconds)

    def _restart_server(self, **extra_env: str) -> None:
        for attempt in range(5):
            try:
                self.server.start(**extra_env)
                return
            except RuntimeError:
                self.server.stop()
                if attempt == 4:
                    raise
                time.sleep(1.0)

    def fault_weather(self, mode: str) -> None:
        assert self.proxy is not None
        probability = {"blackhole": 0.3, "status_429": 0.9, "delay": 0.6, "slice": 0.8}.get(mode, 0.5)
        duration = self.rng.uniform(2.0, 6.0)
        before = self.proxy.counts[mode]
        started = time.monotonic()
        self.proxy.set_weather(mode, probability)
        # At least a couple of requests must meet the fault, however quiet the laptops are just now.
        while not self.stop_faults.is_set() and time.monotonic() - started < 30:
            if time.monotonic() - started >= duration and self.proxy.counts[mode] - before >= 2:
                break
            time.sleep(0.05)
        self.proxy.set_weather(None)

    def fault_server_kill(self) -> None:
        """SIGKILL the server while a push is on its way, then start it again on the same port."""
        assert self.proxy is not None
        deadline = time.monotonic() + 15
        while self.proxy.pushes_in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        with self.server_lock:
            in_flight = self.proxy.pushes_in_flight
            self.server.kill()
            log(f"server SIGKILLed with {in_flight} pushes in flight")
            time.sleep(self.rng.uniform(0.5, 3.0))
            self._restart_server(**self.server.extra_env)

    def fault_db_kill(self) -> None:
        killed = self.database.kill_connections()
        log(f"terminated {killed} database connections")

    def fault_pg_restart(self) -> None:
        with self.server_lock:
            log("restarting the PostgreSQL cluster")
            ChaosDatabase.restart_cluster()

    def fault_client_kill(self) -> None:
        """SIGKILL a laptop just after it starts a sync, and start it again from its files."""
        live = [laptop for laptop in self.laptops if laptop.process is not None]
        laptop = self.rng.choice(live)
        laptop.sync_started.clear()
        laptop.sync_started.wait(20)
        time.sleep(self.rng.uniform(0.0, 0.25))
        laptop.kill()
        log(f"laptop {laptop.index} SIGKILLed mid-sync")
        time.sleep(self.rng.uniform(0.3, 2.0))
        laptop.start()

    def fault_session_expire(self) -> None:
        """End the session of a laptop that is offline; it must keep its queue and deliver it after
        logging in again."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            offline = [laptop for laptop in self.laptops if laptop.offline_token]
            if offline:
                laptop = self.rng.choice(offline)
                token = laptop.offline_token
                if token and self.database.expire_session(token):
                    log(f"laptop {laptop.index}: session expired while offline")
                    return
            time.sleep(0.1)
        laptop = self.rng.choice(self.laptops)
        with self.database.connect() as connection:
            connection.execute(
                "UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE user_id = %s",
                (self.user_ids[str(laptop.plan["username"])],),
            )
        log(f"laptop {laptop.index}: no laptop went offline in time; its sessions expired while online")

    def fault_server_rate_storm(self) -> None:
        """The server itself answers 429: restarted with a sync limit of 2 pushes a minute per pupil."""
        with self.server_lock:
            self.server.stop()
            self._restart_server(POST16_RATE_LIMITS="default=2")
        log("server limits pushes to 2 a minute")
        self._sleep(self.rng.uniform(40, 70))
        with self.server_lock:
            self.server.stop()
            self._restart_server()
        log("server limits back to normal")

    def schedule(self) -> list[str]:
        kinds = [*FAULT_MODES, *PROCESS_FAULTS, "client_kill"]
        if self.profile.pg_restart:
            kinds.append("pg_restart")
        if self.profile.server_rate_storm:
            kinds.append("server_rate_storm")
        self.rng.shuffle(kinds)
        # Expiry needs laptops that are still typing (and so still going offline): keep it early.
        kinds.remove("session_expire")
        kinds.insert(self.rng.randint(0, 2), "session_expire")
        extra = [*FAULT_MODES, *PROCESS_FAULTS, "session_expire"]
        kinds += [self.rng.choice(extra) for _ in range(self.profile.extra_faults)]
        return kinds

    def run_schedule(self, kinds: list[str], done: threading.Event) -> None:
        try:
            for kind in kinds:
                if not self._sleep(self.rng.uniform(*self.profile.fault_gap)):
                    break
                action: Callable[[], None]
                if kind in FAULT_MODES:
                    action = lambda kind=kind: self.fault_weather(kind)  # noqa: E731
                else:
                    action = getattr(self, f"fault_{kind}")
                try:
                    action()
                except Exception as error:  # a fault that could not be injected is reported, not fatal
                    log(f"fault {kind} could not be injected: {error!r}")
                    continue
                if kind not in FAULT_MODES:  # the proxy counts each request it hurt itself
                    self.faults[kind] += 1
        finally:
            done.set()

    # -- the run ------------------------------------------------------------------------------------

    def execute(self) -> RunResult:
        profile = self.profile
        started = time.monotonic()
        plans = self._plans()
        pupils = sorted({username for username, plan in plans if plan["role"] == "pupil"})
        self.user_ids = self.database.add_users(pupils)
        for username, plan in plans:
            if plan["role"] == "teacher":
                subsets = plan.pop("subsets")
                assert isinstance(subsets, dict)
                self.user_ids[username] = self.database.add_teacher(
                    username, [self.user_ids[pupil] for pupil in pupils]
                )
                plan["pupils"] = [[self.user_ids[pupil], subsets[pupil]] for pupil in pupils]
        self._restart_server()
        self.proxy = FaultProxy(self.server.port, self.seed).start()
        proxy_url = f"http://127.0.0.1:{self.proxy.port}"
        log(f"server {self.server.url}, proxy {proxy_url}, {len(plans)} laptops, seed {self.seed}")
        for index, (username, plan) in enumerate(plans):
            plan["server_url"] = proxy_url
            plan["data_dir"] = str(self.work_dir / f"laptop-{index:03d}")
            laptop = LaptopProcess(index, plan, Path(str(plan["data_dir"])))
            self.laptops.append(laptop)
            if plan["late"]:
                continue  # switched on during the storm, never used before: it logs in through the faults
            self._remember_login(Path(str(plan["data_dir"])), proxy_url, username)
            laptop.start()
            time.sleep(profile.start_spread / len(plans))
        early = [laptop for laptop in self.laptops if not laptop.plan["late"]]
        for laptop in early:
            if not laptop.wait_for("ready", 300):
                log(f"laptop {laptop.index} did not log in within 300 s")
        log(
            f"{len(early)} laptops are logged in; "
            f"{len(self.laptops) - len(early)} will start during the storm"
        )
        schedule = self.schedule()
        log(f"fault schedule: {', '.join(schedule)}")
        schedule_done = threading.Event()
        scheduler = threading.Thread(target=self.run_schedule, args=(schedule, schedule_done), daemon=True)
        scheduler.start()
        self._start_late_laptops()
        deadline = started + profile.deadline
        try:
            # The storm lasts while the laptops type and until every fault has had its turn.
            while time.monotonic() < deadline:
                typing = [laptop for laptop in self.laptops if laptop.events["generated"] == 0]
                if not typing and schedule_done.is_set():
                    break
                time.sleep(1.0)
            self.stop_faults.set()
            scheduler.join(300)
            self._quiet()
            log("quiet: every laptop empties its outbox")
            for laptop in self.laptops:
                laptop.command("finish")
            for laptop in self.laptops:
                if not laptop.wait_for("drained", max(60.0, deadline - time.monotonic())):
                    log(f"laptop {laptop.index} did not empty its outbox")
            self._wait_for_checks(max(60.0, deadline - time.monotonic()))
            for laptop in self.laptops:
                laptop.command("pull")
            for laptop in self.laptops:
                laptop.wait_for("done", 300)
                laptop.finish(60)
        finally:
            self.stop_faults.set()
            for laptop in self.laptops:
                laptop.finish(5)
            self.proxy.stop()
            self.server.stop()
        faults = Counter(self.faults)
        faults.update({f"proxy:{mode}": count for mode, count in self.proxy.counts.items()})
        laptops = []
        for laptop in self.laptops:
            report_path = laptop.data_dir / "report.json"
            if report_path.exists():
                store_path = Path(json.loads(report_path.read_text())["store"])
            else:
                store_path = next(laptop.data_dir.glob("users/*/*.sqlite3"))
            username = str(laptop.plan["username"])
            laptops.append(
                Laptop(laptop.index, username, self.user_ids[username], laptop.data_dir, store_path)
            )
        with self.database.connect() as connection:
            result = check(laptops, connection)
        faults["replayed_pushes"] = result.replayed
        faults["two_laptops_one_pupil"] = profile.shared_laptops // 2
        offsets = [abs(float(str(plan["clock_offset"]))) for _, plan in plans]
        faults["clock_hours_wrong"] = sum(1 for offset in offsets if offset > 3600)
        return RunResult(
            clients=len(self.laptops),
            operations=result.operations,
            faults=sum(faults.values()),
            seed=self.seed,
            check=result,
            fault_counts=faults,
            seconds=time.monotonic() - started,
        )

    def _start_late_laptops(self) -> None:
        """Switch the late laptops on one by one while the first faults strike."""
        for laptop in [laptop for laptop in self.laptops if laptop.plan["late"]]:
            self._sleep(self.rng.uniform(*self.profile.fault_gap))
            log(f"laptop {laptop.index} ({laptop.plan['role']}) switched on: logging in during the storm")
            laptop.start()

    def _wait_for_checks(self, timeout: float) -> None:
        """Every queued check is worked through before the last pull (the mark comes back by pull)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.database.connect() as connection:
                (waiting,) = connection.execute(
                    "SELECT count(*) FROM code_checks WHERE status IN ('queued', 'running')"
                ).fetchone()
            if not waiting or time.monotonic() > deadline:
                log(f"checks still waiting: {waiting}")
                return
            time.sleep(0.5)

    def _remember_login(self, data_dir: Path, proxy_url: str, username: str) -> None:
        """Each laptop starts as on a normal school morning: logged in yesterday, its token stored.

        (Logging a whole class in at the same instant measures argon2 on two cores, not sync; logins
        still happen in the run, after every session expiry and for laptops whose token was lost.)"""
        from desktop.core.credentials import TokenVault

        response = httpx.post(
            f"{self.server.url}/api/auth/login",
            json={"username": username, "password": PASSWORD, "client": "desktop"},
            headers={"X-Post16-Protocol": "1"},
            timeout=120,
        )
        response.raise_for_status()
        vault = TokenVault(data_dir / "credentials", use_keyring=False)
        vault.set(proxy_url, username, str(response.json()["token"]))

    def _quiet(self) -> None:
        assert self.proxy is not None
        self.proxy.set_weather(None)
        with self.server_lock:
            process = self.server.process
            if process is None or process.poll() is not None or self.server.extra_env:
                self.server.stop()
                self._restart_server()


def run(
    profile: Profile,
    seed: int,
    *,
    database: ChaosDatabase | None = None,
    work_dir: Path | None = None,
    keep: bool = False,
) -> RunResult:
    owned_dir = work_dir is None
    work_dir = work_dir or Path(tempfile.mkdtemp(prefix=f"post16-chaos-{seed}-"))
    owned_database = database is None
    database = database or ChaosDatabase.create()
    try:
        return ChaosRun(profile, seed, database, work_dir).execute()
    finally:
        if owned_database and not keep:
            database.drop()
        if owned_dir and not keep:
            shutil.rmtree(work_dir, ignore_errors=True)
        elif keep:
            log(f"kept {work_dir} and database {database.name}")


def report(result: RunResult) -> None:
    for kind, count in sorted(result.fault_counts.items()):
        print(f"  fault {kind}: {count}")
    print(f"  rejected as expected (retired activity): {result.check.rejected_as_expected}")
    print(f"  checks asked for: {result.check.checks}; teachers' marks: {result.check.marks}")
    for title, problems in (
        ("lost", result.check.lost),
        ("duplicated", result.check.duplicated),
        ("wrong", result.check.wrong),
    ):
        for problem in problems[:25]:
            print(f"  {title}: {problem}")
        if len(problems) > 25:
            print(f"  {title}: … and {len(problems) - 25} more")
    print(f"  wall time: {result.seconds:.0f} s")
    print(result.summary, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="long")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work folder and database")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    print(f"chaos: profile {args.profile}, seed {seed}", flush=True)
    result = run(PROFILES[args.profile], seed, keep=args.keep)
    report(result)
    return 0 if result.check.ok else 1


if __name__ == "__main__":
    sys.exit(main())
