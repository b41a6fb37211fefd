"""One simulated desktop laptop for the chaos run, in its own process so it can be SIGKILLed mid-sync and
started again from its SQLite file.

It uses the real desktop core and nothing else: `SessionManager` (login, resume from the stored token,
log in again after the session expired), the per-user `Store` (answers and outbox in SQLite, WAL,
synchronous=FULL) and the `SyncLoop`'s own `run_once` with its back-off. It types answers, each with a
unique token, goes offline now and then, syncs every few saves, and replays pushes it already had
answered straight to the server. After some code answers it asks for the server's check of exactly that
code (a `code.check` operation, as the app queues after an offline Check).

A teacher's laptop (`role: teacher`) types marks instead: offline and online, for its class's pupils,
queued as `mark.set` operations, journalled the same way (`mark-intent`, `marked`).

The journal (`journal.jsonl`, written before and after every save) is the ground truth the checker
compares with the server: an `intent` line before `save_answer`, a `saved` line (op id, state, client
time) once it returned — the moment the app would say "saved". An intent with no `saved` line (killed in
between) is settled on restart by looking for its token in the outbox.

Protocol with the runner: events on stdout, one per line (`ready`, `sync-start`, `offline <sha256 of
the session token>`, `generated`, `drained`, `done`, `violation <text>`); commands on stdin (`finish`:
stop typing and empty the outbox; `pull`: pull once more, write `report.json` and exit).

Run: `python tests/e2e/chaos_client.py PLAN.json`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import sys
import threading
import time
import traceback
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from desktop.core.credentials import TokenVault
from desktop.core.engine import Backoff, SyncLoop
from desktop.core.errors import SessionExpiredError, SyncError
from desktop.core.session import Session, SessionManager
from desktop.core.settings import Settings
from shared.wire.sync import Operation

RETIRED_ACTIVITY = "retired-activity"
WORDS = ["loop", "list", "tuple", "string", "integer", "float", "boolean", "function", "recursion"]


def emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Journal:
    """Append-only JSON lines; `write` goes straight to the OS (it survives SIGKILL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: list[dict[str, Any]] = []
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    try:
                        self.entries.append(json.loads(line))
                    except json.JSONDecodeError:
                        break  # a torn last line: the write never finished
        self._file = path.open("a", encoding="utf-8", buffering=1)

    def write(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()


def answer_state(plan: dict[str, Any], n: int, activity: list[Any]) -> tuple[str, dict[str, Any]]:
    """Operation n's content, the same on every run with the same seed."""
    rng = random.Random(f"{plan['seed']}:{plan['index']}:op:{n}")
    token = f"c{plan['index']}n{n}"
    kind, max_length = activity[2], activity[3]
    if kind == "code":
        return token, {"code": f"# {token}\nanswer = {rng.randint(0, 10_000)}\nprint(answer)\n"}
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30)))
    return token, {"text": f"[{token}] {words}"[: max_length or 800]}


class LaptopSimulation:
    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.data_dir = Path(plan["data_dir"])
        self.journal = Journal(self.data_dir / "journal.jsonl")
        starts = sum(1 for entry in self.journal.entries if entry.get("e") == "start")
        self.journal.write({"e": "start", "at": time.time()})
        self.rng = random.Random(f"{plan['seed']}:{plan['index']}:behaviour:{starts}")
        settings = Settings(data_dir=self.data_dir, timeout_seconds=plan["timeout"])
        self.manager = SessionManager(
            settings, vault=TokenVault(self.data_dir / "credentials", use_keyring=False), remember=False
        )
        self.finish = threading.Event()
        self.pull = threading.Event()
        self.session: Session = self._connect()
        self.loop = SyncLoop(
            self.session.engine, interval=0.0, backoff=Backoff(base=0.2, cap=4.0, rng=self.rng.uniform)
        )
        self.next_sync_at = 0.0
        self.relogin_at: float | None = None
        self.violations: list[str] = []

    # -- plumbing -----------------------------------------------------------------------------------

    def violation(self, text: str) -> None:
        self.violations.append(text)
        self.journal.write({"e": "violation", "text": text})
        emit(f"violation {text}")

    def _connect(self) -> Session:
        """Resume with the stored token (works offline), else log in; retry through the faults."""
        url, username = self.plan["server_url"], self.plan["username"]
        backoff = Backoff(base=0.5, cap=10.0, rng=random.Random(f"{self.plan['seed']}:login").uniform)
        while True:
            try:
                session = self.manager.resume(url, username)
                if session is not None:
                    return session
                return self.manager.login(url, username, self.plan["password"])
            except SyncError:
                time.sleep(backoff.next_delay())

    def token_sha256(self) -> str:
        return hashlib.sha256((self.session.client.token or "").encode()).hexdigest()

    def listen(self) -> None:
        for line in sys.stdin:
            command = line.strip()
            if command == "finish":
                self.finish.set()
            elif command == "pull":
                self.finish.set()
                self.pull.set()

    # -- saving ---------------------------------------------------------------------------------

    def settle_journal(self) -> None:
        """Intents without a `saved` line: killed during the save. In the outbox means saved (nothing
        syncs between a save and its journal line: the sync runs on this same thread)."""
        queued = self.session.store.outbox.next_batch(1_000_000)
        self._settle_checks_and_marks(queued)
        saved = {entry["n"] for entry in self.journal.entries if entry.get("e") in ("saved", "unsaved")}
        open_intents = [e for e in self.journal.entries if e.get("e") == "intent" and e["n"] not in saved]
        if not open_intents:
            return
        for intent in open_intents:
            found = [op for op in queued if intent["token"] in json.dumps(op.payload)]
            if found:
                op = found[0]
                self.journal.write(self._saved_entry(intent["n"], op, intent["invalid"]))
            else:
                self.journal.write({"e": "unsaved", "n": intent["n"]})

    def _settle_checks_and_marks(self, queued: list[Operation]) -> None:
        entries = self.journal.entries
        for intent_kind, done_kind, op_kind in (
            ("check-intent", "checked", "code.check"),
            ("mark-intent", "marked", "mark.set"),
        ):
            done = {e["n"] for e in entries if e.get("e") in (done_kind, f"un{done_kind}")}
            for intent in [e for e in entries if e.get("e") == intent_kind and e["n"] not in done]:
                if op_kind == "code.check":
                    saved = next(e for e in entries if e.get("e") == "saved" and e["n"] == intent["n"])
                    found = [op for op in queued if op.kind == op_kind and op.payload == saved["state"]]
                else:
                    found = [
                        op
                        for op in queued
                        if op.kind == op_kind and op.payload.get("feedback") == intent["feedback"]
                    ]
                if not found:
                    self.journal.write({"e": f"un{done_kind}", "n": intent["n"]})
                    continue
                op = found[0]
                entry: dict[str, Any] = {
                    "e": done_kind,
                    "n": intent["n"],
                    "op_id": str(op.op_id),
                    "lesson": op.lesson_id,
                    "activity": op.activity_id,
                }
                if op_kind == "code.check":
                    entry["code"] = op.payload["code"]
                else:
                    entry.update(
                        pupil_id=op.pupil_id,
                        score=op.payload["score"],
                        max_score=op.payload["max_score"],
                        feedback=op.payload["feedback"],
                        client_time=op.client_time.isoformat(),
                    )
                self.journal.write(entry)

    def _saved_entry(self, n: int, op: Operation, invalid: bool) -> dict[str, Any]:
        return {
            "e": "saved",
            "n": n,
            "op_id": str(op.op_id),
            "lesson": op.lesson_id,
            "activity": op.activity_id,
            "state": op.payload["state"],
            "client_time": op.client_time.isoformat(),
            "invalid": invalid,
        }

    def save(self, n: int) -> None:
        plan = self.plan
        rng = random.Random(f"{plan['seed']}:{plan['index']}:pick:{n}")
        activity = rng.choice(plan["activities"])
        token, state = answer_state(plan, n, activity)
        lesson_id, activity_id = activity[0], activity[1]
        invalid = rng.random() < plan["invalid_chance"]
        if invalid:
            activity_id = RETIRED_ACTIVITY
        self.journal.write({"e": "intent", "n": n, "token": token, "invalid": invalid})
        moment = datetime.now(UTC) + timedelta(seconds=plan["clock_offset"])
        op_id = self.session.store.outbox.save_answer(lesson_id, activity_id, state, now=moment)
        op = Operation(
            op_id=op_id,
            kind="activity.save",
            lesson_id=lesson_id,
            activity_id=activity_id,
            payload={"state": state},
            client_time=moment,
        )
        self.journal.write(self._saved_entry(n, op, invalid))
        if activity[2] == "code" and not invalid and rng.random() < plan.get("check_chance", 0.0):
            self.check(n, lesson_id, activity_id, state["code"])

    def check(self, n: int, lesson_id: str, activity_id: str, code: str) -> None:
        """Ask for the server's check of the code just saved (queued after the save that holds it)."""
        self.journal.write({"e": "check-intent", "n": n})
        op_id = self.session.store.outbox.queue_check(lesson_id, activity_id, code)
        self.journal.write(
            {
                "e": "checked",
                "n": n,
                "op_id": str(op_id),
                "lesson": lesson_id,
                "activity": activity_id,
                "code": code,
            }
        )

    def mark(self, n: int) -> None:
        """A teacher's mark for one of the class's pupils, on one of that pupil's activities."""
        plan = self.plan
        rng = random.Random(f"{plan['seed']}:{plan['index']}:mark:{n}")
        pupil_id, activities = rng.choice(plan["pupils"])
        activity = rng.choice(activities)
        max_score = float(activity[4])
        score = round(rng.uniform(0, max_score) * 2) / 2
        feedback = f"m{plan['index']}n{n}"
        self.journal.write({"e": "mark-intent", "n": n, "feedback": feedback})
        moment = datetime.now(UTC) + timedelta(seconds=plan["clock_offset"])
        op_id = self.session.store.outbox.queue_mark(
            pupil_id,
            activity[0],
            activity[1],
            score=score,
            max_score=max_score,
            feedback=feedback,
            now=moment,
        )
        self.journal.write(
            {
                "e": "marked",
                "n": n,
                "op_id": str(op_id),
                "pupil_id": pupil_id,
                "lesson": activity[0],
                "activity": activity[1],
                "score": score,
                "max_score": max_score,
                "feedback": feedback,
                "client_time": moment.isoformat(),
            }
        )

    # -- syncing --------------------------------------------------------------------------------

    def sync(self) -> bool:
        """One `SyncLoop.run_once`; True when it went through."""
        now = time.monotonic()
        if self.relogin_at is not None:
            if now < self.relogin_at:
                return False
            try:
                self.manager.relogin(self.session, self.plan["password"])
            except SyncError:
                self.relogin_at = now + self.rng.uniform(0.3, 1.5)
                return False
            self.relogin_at = None
            self.journal.write({"e": "relogin"})
            self.loop.resume()
        if now < self.next_sync_at:
            return False
        emit("sync-start")
        try:
            delay = self.loop.run_once()
        except Exception as error:  # the engine must turn every failure into a state
            self.violation(f"sync raised {error.__class__.__name__}: {error}")
            traceback.print_exc(file=sys.stderr)
            self.next_sync_at = time.monotonic() + 1.0
            return False
        status = self.loop.last_status
        state = status.state if status else "?"
        if delay is None:
            if state == "session_expired":
                self.journal.write({"e": "session_expired"})
                self.relogin_at = time.monotonic() + self.rng.uniform(0.3, 1.5)
            else:
                self.violation(f"sync stopped: {state} {status.message if status else ''}")
                self.loop.resume()
            return False
        if status is not None and status.retry_in is not None:
            self.next_sync_at = time.monotonic() + delay
            return False
        self.next_sync_at = 0.0
        return True

    def replay_answered(self) -> None:
        """Push again operations the server already answered (a replayed request): every one must come
        back `duplicate` with its original revision (or `rejected` again), and change nothing here."""
        saved = [e for e in self.journal.entries if e.get("e") == "saved"]
        queued = {str(p.op_id) for p in self.session.store.outbox.pending_operations(1_000_000)}
        receipts = {str(r.op_id): r for r in self.session.store.outbox.receipts(1_000_000)}
        rejected = {str(r.op_id) for r in self.session.store.outbox.rejected_operations()}
        answered = [
            e
            for e in saved
            if e["op_id"] not in queued and (e["op_id"] in receipts or e["op_id"] in rejected)
        ]
        if not answered:
            return
        chosen = self.rng.sample(answered, min(len(answered), self.rng.randint(1, 12)))
        chosen += chosen[: self.rng.randint(0, 2)]  # and the same operation twice in one batch
        operations = [
            Operation(
                op_id=uuid.UUID(e["op_id"]),
                kind="activity.save",
                lesson_id=e["lesson"],
                activity_id=e["activity"],
                payload={"state": e["state"]},
                client_time=datetime.fromisoformat(e["client_time"]),
            )
            for e in chosen
        ]
        pending_before = self.session.store.outbox.pending_count()
        try:
            response = self.session.client.push(self.session.store.device_id, operations)
        except SyncError:
            return  # the network ate the replay: fine, it was only a replay
        self.journal.write({"e": "replayed", "count": len(operations)})
        emit(f"replayed {len(operations)}")
        if [str(r.op_id) for r in response.results] != [e["op_id"] for e in chosen]:
            self.violation("replay: answers not in the order of the operations")
            return
        for entry, result in zip(chosen, response.results, strict=True):
            op_id = entry["op_id"]
            if op_id in rejected:
                if result.outcome != "rejected":
                    self.violation(f"replay of rejected {op_id} answered {result.outcome}")
            elif result.outcome != "duplicate":
                self.violation(f"replay of {op_id} answered {result.outcome}, not duplicate")
            elif result.revision != receipts[op_id].revision:
                self.violation(
                    f"replay of {op_id} answered revision {result.revision}, "
                    f"first answer was {receipts[op_id].revision}"
                )
        summary = self.session.store.outbox.acknowledge(response.results)
        if (
            summary.unknown != len(response.results)
            or self.session.store.outbox.pending_count() != pending_before
        ):
            self.violation("a replayed acknowledgement changed the outbox")

    # -- the run ----------------------------------------------------------------------------------

    def run(self) -> int:
        threading.Thread(target=self.listen, daemon=True).start()
        self.settle_journal()
        emit("ready")
        plan = self.plan
        intent = "mark-intent" if plan.get("role") == "teacher" else "intent"
        written = {e["n"] for e in self.journal.entries if e.get("e") == intent}
        n = max(written, default=-1) + 1
        offline_until = 0.0
        saves_since_sync = 0
        sync_after = self.rng.randint(*plan["sync_every"])
        while n < plan["operations"] and not self.finish.is_set():
            time.sleep(self.rng.uniform(*plan["think"]))
            if plan.get("role") == "teacher":
                self.mark(n)
            else:
                self.save(n)
            n += 1
            saves_since_sync += 1
            now = time.monotonic()
            if offline_until and now >= offline_until:
                offline_until = 0.0
                emit("online")
            elif not offline_until and self.rng.random() < plan["offline_chance"]:
                offline_until = now + self.rng.uniform(*plan["offline_seconds"])
                emit(f"offline {self.token_sha256()}")
            if offline_until or saves_since_sync < sync_after:
                continue
            if self.sync():
                saves_since_sync = 0
                sync_after = self.rng.randint(*plan["sync_every"])
                if self.rng.random() < plan["replay_chance"] and plan.get("role") != "teacher":
                    self.replay_answered()
        if offline_until:
            emit("online")  # done typing: from now on it syncs
        if n >= plan["operations"]:
            emit("generated")
        while not self.finish.wait(self.rng.uniform(0.5, 2.0)):
            if self.sync() and self.rng.random() < plan["replay_chance"] and plan.get("role") != "teacher":
                self.replay_answered()
        # Quiet: deliver everything.
        while self.session.store.outbox.pending_count() or not self.sync():
            time.sleep(0.05)
        emit("drained")
        self.pull.wait()
        while True:
            try:
                self.session.engine.push_outbox()
                self.session.engine.pull_changes()
                break
            except SessionExpiredError:
                with contextlib.suppress(SyncError):
                    self.manager.relogin(self.session, plan["password"])
            except SyncError:
                time.sleep(0.3)
        report = {
            "device_id": self.session.store.device_id,
            "user_id": self.session.user.id,
            "store": str(self.session.store.path),
            "violations": self.violations,
        }
        (self.data_dir / "report.json").write_text(json.dumps(report))
        self.session.close()
        emit("done")
        return 0


def main(argv: list[str]) -> int:
    plan = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    return LaptopSimulation(plan).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
