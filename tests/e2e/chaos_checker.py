"""After the storm and a final quiet sync: did every answer arrive exactly once, and is every current
answer the one the conflict rule picks?

Ground truth is each laptop's journal (every answer the app said was saved, with its op id, state and
client time). It is compared with the server's `activity_revisions`, `activity_states` and
`sync_operations`, and with each laptop's SQLite store (outbox, receipts, rejected, answers).

- lost        a saved answer with no revision on the server
- duplicated  a revision on the server that no saved answer accounts for, or one answer stored twice
- wrong       anything else that breaks a promise: an answer not acknowledged (or acknowledged with
              another revision), a revision whose content or times differ from what was saved, a
              current answer the conflict rule would not pick, revisions not numbered 1..n, an outbox
              not empty, a laptop showing another answer than the server's current one, a refused
              answer not kept as rejected, and anything a laptop itself saw go wrong (`violation`)

Checks and marks, from the same journals:
- every `code.check` a laptop queued was recorded once, for the revision that holds exactly that code,
  and marked in the sandbox (`done`); the current automatic mark is the one of the latest version
  checked; a check nobody asked for is `duplicated`, one never recorded is `lost`;
- every teacher's mark was recorded once (lost / duplicated otherwise), and the current mark is the
  teacher's latest, unless an automatic mark of a later version came first (the rule: latest client
  time wins; an automatic mark never replaces a teacher's);
- every pupil's laptop shows the server's current mark for each of its activities (it came by pull).
"""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["CheckResult", "Laptop", "check", "clamp_client_time"]

EARLIEST_CLIENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
TOKEN = re.compile(r"c\d+n\d+")


@dataclasses.dataclass(frozen=True)
class Laptop:
    index: int
    username: str
    user_id: int
    data_dir: Path
    store_path: Path


@dataclasses.dataclass
class CheckResult:
    operations: int = 0
    #: `code.check` operations and teachers' marks the laptops queued
    checks: int = 0
    marks: int = 0
    rejected_as_expected: int = 0
    #: pushes a laptop sent again on purpose, with operations the server had already answered
    replayed: int = 0
    lost: list[str] = dataclasses.field(default_factory=list)
    duplicated: list[str] = dataclasses.field(default_factory=list)
    wrong: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.wrong)


def clamp_client_time(raw: datetime, received_at: datetime, skew_seconds: int) -> datetime:
    """The server's documented clamp, restated independently."""
    if raw > received_at + timedelta(seconds=skew_seconds):
        return received_at
    return max(raw, EARLIEST_CLIENT_TIME)


def _journal(laptop: Laptop) -> list[dict[str, Any]]:
    entries = []
    for line in (laptop.data_dir / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return entries


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def check(laptops: list[Laptop], connection: Any, skew_seconds: int = 300) -> CheckResult:
    """`connection`: a psycopg connection to the run's database."""
    result = CheckResult()
    revisions_by_op: dict[str, dict[str, Any]] = {}
    revisions_by_activity: dict[tuple[int, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in connection.execute(
        """SELECT op_id, pupil_id, lesson_id, activity_id, revision, state, client_time, client_time_raw,
                  received_at FROM activity_revisions"""
    ).fetchall():
        revision = {
            "op_id": str(row[0]),
            "pupil_id": row[1],
            "lesson": row[2],
            "activity": row[3],
            "revision": row[4],
            "state": row[5] if isinstance(row[5], dict) else json.loads(row[5]),
            "client_time": _aware(row[6]),
            "client_time_raw": row[7],
            "received_at": _aware(row[8]),
        }
        if revision["op_id"] in revisions_by_op:
            result.duplicated.append(f"op {revision['op_id']} has two revisions")
        revisions_by_op[revision["op_id"]] = revision
        revisions_by_activity[(row[1], row[2], row[3])].append(revision)
    states = {
        (row[0], row[1], row[2]): {
            "op_id": str(row[3]),
            "revision": row[4],
            "state": row[5] if isinstance(row[5], dict) else json.loads(row[5]),
            "revision_count": row[6],
        }
        for row in connection.execute(
            """SELECT pupil_id, lesson_id, activity_id, op_id, revision, state, revision_count
               FROM activity_states"""
        ).fetchall()
    }
    operations = {
        str(row[0]): (row[1], row[2])
        for row in connection.execute("SELECT op_id, user_id, outcome FROM sync_operations").fetchall()
    }

    expected_ops: set[str] = set()
    tokens_seen: dict[str, str] = {}
    for laptop in laptops:
        entries = _journal(laptop)
        saved = {e["n"]: e for e in entries if e.get("e") == "saved"}
        result.replayed += sum(1 for e in entries if e.get("e") == "replayed")
        for entry in entries:
            if entry.get("e") == "violation":
                result.wrong.append(f"laptop {laptop.index}: {entry['text']}")
        store = sqlite3.connect(f"file:{laptop.store_path}?mode=ro", uri=True)
        try:
            outbox = store.execute("SELECT op_id FROM outbox").fetchall()
            receipts = {
                row[0]: (row[1], row[2])
                for row in store.execute("SELECT op_id, outcome, revision FROM receipts").fetchall()
            }
            rejected = {row[0]: row[1] for row in store.execute("SELECT op_id, code FROM rejected")}
            answers = {
                (row[0], row[1]): json.loads(row[2])
                for row in store.execute("SELECT lesson_id, activity_id, state FROM answers").fetchall()
            }
        finally:
            store.close()
        if outbox:
            result.wrong.append(f"laptop {laptop.index}: {len(outbox)} operations still in the outbox")
        for n, entry in sorted(saved.items()):
            result.operations += 1
            op_id = entry["op_id"]
            where = f"laptop {laptop.index} op {n} ({op_id})"
            expected_ops.add(op_id)
            if entry["invalid"]:
                if op_id in revisions_by_op:
                    result.wrong.append(f"{where}: an answer to a retired activity was stored")
                if rejected.get(op_id) != "not_found":
                    result.wrong.append(
                        f"{where}: a refused answer was not kept as rejected ({rejected.get(op_id)})"
                    )
                if operations.get(op_id, (None, None))[1] != "rejected":
                    result.wrong.append(f"{where}: the server did not record the refusal")
                result.rejected_as_expected += 1
                continue
            revision = revisions_by_op.get(op_id)
            if revision is None:
                result.lost.append(f"{where}: no revision on the server")
                continue
            token = TOKEN.search(json.dumps(entry["state"]))
            if token:
                tokens_seen[token.group(0)] = op_id
            if (revision["pupil_id"], revision["lesson"], revision["activity"]) != (
                laptop.user_id,
                entry["lesson"],
                entry["activity"],
            ):
                result.wrong.append(f"{where}: stored for another pupil or activity")
            if revision["state"] != entry["state"]:
                result.wrong.append(f"{where}: stored content differs from what was saved")
            raw = datetime.fromisoformat(entry["client_time"])
            if (
                revision["client_time_raw"] is None
                or datetime.fromisoformat(revision["client_time_raw"]) != raw
            ):
                result.wrong.append(f"{where}: the raw client time was not kept")
            if revision["client_time"] != clamp_client_time(raw, revision["received_at"], skew_seconds):
                result.wrong.append(f"{where}: client time not clamped as documented")
            receipt = receipts.get(op_id)
            if receipt is None:
                result.wrong.append(f"{where}: never acknowledged to the laptop")
            elif receipt[0] not in ("applied", "duplicate") or receipt[1] != revision["revision"]:
                result.wrong.append(
                    f"{where}: acknowledged as {receipt} but stored as revision {revision['revision']}"
                )
            if op_id in rejected:
                result.wrong.append(f"{where}: stored on the server yet rejected on the laptop")
        # The laptop shows the server's current answer for every activity it touched.
        for (lesson_id, activity_id), state in answers.items():
            current = states.get((laptop.user_id, lesson_id, activity_id))
            if current is None:
                continue  # only ever answered for a retired activity
            if current["state"] != state:
                result.wrong.append(
                    f"laptop {laptop.index}: shows another answer for {lesson_id}/{activity_id} than the "
                    f"server's current one (revision {current['revision']})"
                )

    for op_id, revision in revisions_by_op.items():
        if op_id not in expected_ops:
            result.duplicated.append(
                f"revision {revision['revision']} of {revision['activity']}: op {op_id} was never saved"
            )
    tokens: dict[str, int] = defaultdict(int)
    for revision in revisions_by_op.values():
        match = TOKEN.search(json.dumps(revision["state"]))
        if match:
            tokens[match.group(0)] += 1
    result.duplicated.extend(
        f"answer {token} stored {count} times" for token, count in tokens.items() if count > 1
    )

    # The conflict rule, activity by activity.
    for key, revisions in revisions_by_activity.items():
        numbers = sorted(r["revision"] for r in revisions)
        if numbers != list(range(1, len(revisions) + 1)):
            result.wrong.append(f"{key}: revisions numbered {numbers[:10]}…, not 1..{len(revisions)}")
        winner = max(revisions, key=lambda r: (r["client_time"], uuid.UUID(r["op_id"]).hex))
        current = states.get(key)
        if current is None:
            result.wrong.append(f"{key}: revisions but no current answer")
            continue
        if current["op_id"] != winner["op_id"] or current["revision"] != winner["revision"]:
            result.wrong.append(
                f"{key}: current answer is revision {current['revision']}, "
                f"the rule picks {winner['revision']}"
            )
        elif current["state"] != winner["state"]:
            result.wrong.append(f"{key}: current answer's content differs from revision {winner['revision']}")
        if current["revision_count"] != len(revisions):
            result.wrong.append(
                f"{key}: revision_count {current['revision_count']} for {len(revisions)} revisions"
            )
    for key in states:
        if key not in revisions_by_activity:
            result.wrong.append(f"{key}: a current answer with no revision behind it")
    _check_checks_and_marks(laptops, connection, revisions_by_activity, result)
    return result


def _check_checks_and_marks(
    laptops: list[Laptop],
    connection: Any,
    revisions_by_activity: dict[tuple[int, str, str], list[dict[str, Any]]],
    result: CheckResult,
) -> None:
    checks = {
        str(row[0]): {
            "pupil_id": row[1],
            "lesson": row[2],
            "activity": row[3],
            "revision": row[4],
            "status": row[5],
            "score": row[6],
        }
        for row in connection.execute(
            "SELECT op_id, pupil_id, lesson_id, activity_id, revision, status, score FROM code_checks"
        ).fetchall()
    }
    marks = {
        (row[0], row[1], row[2]): {
            "score": row[3],
            "source": row[4],
            "op_id": str(row[5]) if row[5] else None,
            "revision": row[6],
            "client_time": _aware(row[7]),
        }
        for row in connection.execute(
            "SELECT pupil_id, lesson_id, activity_id, score, source, op_id, revision, client_time FROM marks"
        ).fetchall()
    }
    mark_ops = Counter(
        str(row[0])
        for row in connection.execute(
            "SELECT op_id FROM sync_operations WHERE kind = 'mark.set' AND outcome = 'applied'"
        ).fetchall()
    )
    revision_by_number = {
        (key, revision["revision"]): revision
        for key, revisions in revisions_by_activity.items()
        for revision in revisions
    }
    asked: set[str] = set()
    done_by_activity: dict[tuple[int, str, str], list[dict[str, Any]]] = defaultdict(list)
    teacher_marks: dict[tuple[int, str, str], list[dict[str, Any]]] = defaultdict(list)
    for laptop in laptops:
        for entry in _journal(laptop):
            if entry.get("e") == "checked":
                result.checks += 1
                asked.add(entry["op_id"])
                where = f"laptop {laptop.index} check {entry['n']} ({entry['op_id']})"
                found = checks.get(entry["op_id"])
                if found is None:
                    result.lost.append(f"{where}: the server never recorded the check")
                    continue
                key = (laptop.user_id, entry["lesson"], entry["activity"])
                if (found["pupil_id"], found["lesson"], found["activity"]) != key:
                    result.wrong.append(f"{where}: recorded for another pupil or activity")
                    continue
                revision = revision_by_number.get((key, found["revision"]))
                if revision is None or revision["state"].get("code") != entry["code"]:
                    result.wrong.append(
                        f"{where}: recorded for version {found['revision']}, which holds other code"
                    )
                if found["status"] != "done":
                    result.wrong.append(f"{where}: ended {found['status']}, not marked")
                elif revision is not None:
                    done_by_activity[key].append({**found, "client_time": revision["client_time"]})
            elif entry.get("e") == "marked":
                result.marks += 1
                where = f"laptop {laptop.index} mark {entry['n']} ({entry['op_id']})"
                count = mark_ops.get(entry["op_id"], 0)
                if count == 0:
                    result.lost.append(f"{where}: the server never recorded the mark")
                elif count > 1:
                    result.duplicated.append(f"{where}: recorded {count} times")
                teacher_marks[(entry["pupil_id"], entry["lesson"], entry["activity"])].append(entry)
    for op_id in checks.keys() - asked:
        result.duplicated.append(f"check {op_id} was never asked for")

    for key in done_by_activity.keys() | teacher_marks.keys():
        mark = marks.get(key)
        if mark is None:
            result.lost.append(f"{key}: checked or marked, but no mark on the server")
            continue
        latest_teacher = max(
            teacher_marks.get(key, []), key=lambda m: datetime.fromisoformat(m["client_time"]), default=None
        )
        done = done_by_activity.get(key, [])
        if mark["source"] == "teacher":
            if latest_teacher is None or mark["op_id"] != latest_teacher["op_id"]:
                result.wrong.append(f"{key}: the current teacher's mark is not the teacher's latest")
            elif mark["score"] != latest_teacher["score"]:
                result.wrong.append(f"{key}: the teacher's mark was stored with another score")
            continue
        if latest_teacher is not None and mark["client_time"] <= _aware(
            datetime.fromisoformat(latest_teacher["client_time"])
        ):
            result.wrong.append(f"{key}: an automatic mark stands over a later teacher's mark")
        if not done:
            result.wrong.append(f"{key}: an automatic mark without a finished check")
            continue
        latest_time = max(check["client_time"] for check in done)
        candidates = [check for check in done if check["client_time"] == latest_time]
        if not any(mark["revision"] == c["revision"] and mark["score"] == c["score"] for c in candidates):
            result.wrong.append(
                f"{key}: the automatic mark is of version {mark['revision']}, the latest checked is "
                f"{[c['revision'] for c in candidates]}"
            )

    # Each pupil's laptop shows the server's current mark (it arrived by pull).
    for laptop in laptops:
        store = sqlite3.connect(f"file:{laptop.store_path}?mode=ro", uri=True)
        try:
            local = {
                (row[0], row[1]): json.loads(row[2])
                for row in store.execute(
                    "SELECT lesson_id, activity_id, mark FROM marks WHERE pupil_id = ?", (laptop.user_id,)
                ).fetchall()
            }
        finally:
            store.close()
        for (pupil_id, lesson_id, activity_id), mark in marks.items():
            if pupil_id != laptop.user_id:
                continue
            shown = local.get((lesson_id, activity_id))
            if shown is None or shown["score"] != mark["score"] or shown.get("revision") != mark["revision"]:
                result.wrong.append(
                    f"laptop {laptop.index}: shows mark {shown and (shown['score'], shown.get('revision'))} "
                    f"for {lesson_id}/{activity_id}, the server's is {(mark['score'], mark['revision'])}"
                )
