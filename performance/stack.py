"""The system under load: a fresh PostgreSQL database seeded in bulk, a real `post16-server serve`
process, and the CPU accounting that says who spent the machine's two cores.

People, classes and (where a scenario is not about logging in) desktop sessions are written straight
into the database: logging in 500 times before every run would only benchmark argon2. Scenarios that
are about logging in use the real endpoint.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from performance.plan import Activity, Person
from server.lib.security import hash_password
from shared.lessons import ChoiceActivity, load_manifest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # `support`: the server and database helpers the suite uses too

from support.databases import DEFAULT_ADMIN_URL, fresh_database, libpq  # noqa: E402
from support.servers import ServerProcess  # noqa: E402

LESSONS_DIR = REPO / "lessons"
DESKTOP_SESSION_SECONDS = 14 * 86400


# The kinds the load suite writes answers for (plan.answer_state): nearly every activity of the unit;
# the puzzle kinds (Parsons, gaps, predict, trace) are a handful and stored the same way.
ANSWERED_KINDS = frozenset({"code", "choice", "text"})


def lesson_activities() -> list[Activity]:
    """Every activity of the lessons in lessons/ whose kind the suite answers, with what a valid answer
    to it needs."""
    found: list[Activity] = []
    for lesson in load_manifest(LESSONS_DIR).lessons:
        for activity in lesson.activities:
            if activity.kind not in ANSWERED_KINDS:
                continue
            is_choice = isinstance(activity, ChoiceActivity)
            found.append(
                {
                    "lesson_id": lesson.id,
                    "activity_id": activity.id,
                    "kind": activity.kind,
                    "options": len(activity.options) if is_choice else 0,
                    "multiple": bool(activity.multiple) if is_choice else False,
                    "max_score": float(activity.max_score),
                }
            )
    return found


@dataclass
class School:
    """Who exists in the seeded database."""

    password: str
    pupils: list[Person] = field(default_factory=list)
    teachers: list[Person] = field(default_factory=list)
    admins: list[Person] = field(default_factory=list)
    classes: dict[str, list[int]] = field(default_factory=dict)


def seed_school(
    url: str, pupils: int, teachers: int, admins: int, *, sessions: bool, class_size: int = 30
) -> School:
    """Users (one password, hashed once), one class of `class_size` per teacher (classes overlap when
    there are more teachers than pupils / class_size), and with `sessions` a desktop session for each
    pupil and teacher, so a scenario that is not about logging in starts logged in."""
    school = School(password=secrets.token_urlsafe(12))
    password_hash = hash_password(school.password)
    with psycopg.connect(libpq(url)) as connection:
        for role, count, people in (
            ("pupil", pupils, school.pupils),
            ("teacher", teachers, school.teachers),
            ("admin", admins, school.admins),
        ):
            names = [f"{role}{n}" for n in range(count)]
            rows = connection.execute(
                "INSERT INTO users (username, display_name, role, password_hash, disabled, created_at,"
                " password_changed_at) SELECT name, initcap(name), %s, %s, false, now(), now()"
                " FROM unnest(%s::text[]) WITH ORDINALITY AS t(name, n) ORDER BY n RETURNING id, username",
                (role, password_hash, names),
            ).fetchall()
            ids = {username: user_id for user_id, username in rows}
            for name in names:
                token = secrets.token_urlsafe(32) if sessions and role != "admin" else None
                people.append({"username": name, "user_id": ids[name], "token": token})
        tokens = [(p["user_id"], p["token"]) for p in school.pupils + school.teachers if p["token"]]
        if tokens:
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO user_sessions (token_hash, user_id, client, csrf_token, created_at,"
                    " last_seen_at, idle_timeout, expires_at) VALUES (%s, %s, 'desktop', %s, now(), now(),"
                    " %s, now() + make_interval(secs => %s))",
                    [
                        (
                            hashlib.sha256(token.encode()).hexdigest(),
                            user_id,
                            secrets.token_urlsafe(32),
                            DESKTOP_SESSION_SECONDS,
                            DESKTOP_SESSION_SECONDS,
                        )
                        for user_id, token in tokens
                    ],
                )
        for number, teacher in enumerate(school.teachers):
            class_id = connection.execute(
                "INSERT INTO school_classes (name, teacher_id, created_at) VALUES (%s, %s, now())"
                " RETURNING id",
                (f"Class {number + 1}", teacher["user_id"]),
            ).fetchone()[0]  # type: ignore[index]
            members = sorted(
                {school.pupils[(number * class_size + n) % pupils]["user_id"] for n in range(class_size)}
                if pupils
                else set()
            )
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO enrolments (class_id, pupil_id, enrolled_at) VALUES (%s, %s, now())",
                    [(class_id, pupil_id) for pupil_id in members],
                )
            school.classes[teacher["username"]] = members
    return school


# --- CPU accounting -------------------------------------------------------------------------------
DOCKER_COMMANDS = (
    "dockerd",
    "containerd",
    "containerd-shim",
    "containerd-shim-runc-v2",
    "runc",
    "docker-proxy",
)


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    parent: int
    command: str
    cpu_ticks: int  # own user + system, plus that of children it has reaped


def processes() -> dict[int, ProcessInfo]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        command = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        found[int(entry.name)] = ProcessInfo(int(entry.name), int(fields[1]), command, ticks)
    return found


def descendants(root: int, table: dict[int, ProcessInfo]) -> set[int]:
    members, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [info.pid for info in table.values() if info.parent == parent and info.pid not in members]
        members.update(children)
        frontier.extend(children)
    return members & set(table)


def machine_busy_ticks() -> int:
    """Busy CPU of the whole machine (everything but idle and iowait) since boot, in clock ticks."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(values) - values[3] - values[4]


@dataclass
class CpuSnapshot:
    """CPU ticks per group at one moment: server (its process tree), PostgreSQL, the load generator
    (Locust), the Docker engine, and the whole machine."""

    at: float
    groups: dict[str, int]
    machine: int

    @classmethod
    def take(cls, server_pid: int | None, locust_pid: int | None) -> CpuSnapshot:
        table = processes()
        server = descendants(server_pid, table) if server_pid else set()
        locust = descendants(locust_pid, table) if locust_pid else set()
        groups = {
            "server": sum(table[p].cpu_ticks for p in server),
            "postgres": sum(i.cpu_ticks for i in table.values() if i.command == "postgres"),
            "locust": sum(table[p].cpu_ticks for p in locust),
            "docker": sum(i.cpu_ticks for i in table.values() if i.command.startswith(DOCKER_COMMANDS)),
        }
        return cls(time.monotonic(), groups, machine_busy_ticks())


def cpu_split(before: CpuSnapshot, after: CpuSnapshot, cores: int | None = None) -> dict[str, object]:
    """Cores kept busy by each group over the interval; `other` is the rest of the machine's busy time
    (sandbox containers, which Docker reaps out of our sight, and anything else running here)."""
    tick = os.sysconf("SC_CLK_TCK")
    wall = max(after.at - before.at, 1e-9)
    used = {name: max(after.groups[name] - before.groups[name], 0) / tick for name in after.groups}
    machine = max(after.machine - before.machine, 0) / tick
    used["other"] = max(machine - sum(used.values()), 0.0)
    return {
        "wall_s": round(wall, 2),
        "cores": cores or os.cpu_count() or 1,
        "machine_cores_busy": round(machine / wall, 3),
        "cores_busy": {name: round(seconds / wall, 3) for name, seconds in used.items()},
        "cpu_seconds": {name: round(seconds, 2) for name, seconds in used.items()},
    }


__all__ = [
    "DEFAULT_ADMIN_URL",
    "REPO",
    "CpuSnapshot",
    "School",
    "ServerProcess",
    "cpu_split",
    "fresh_database",
    "lesson_activities",
    "libpq",
    "seed_school",
]
