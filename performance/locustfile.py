"""Locust behaviour for Post16 Lessons: pupils, teachers and admins (the steady day, 70/20/10), and the
one-shot crowds of the stress scenarios (login storm, reconnect storm, a class pressing Run, rate-limit
hammers).

Run it through performance/run.py, which seeds the database, starts the server and passes the plan
(`POST16_LOAD_PLAN`). Every request sends the protocol header and is named by its route template, so the
per-endpoint numbers group well. Numbers are gathered here (every response time, every status) and
written to `POST16_LOAD_OUTPUT` when Locust quits; the runner turns them into the results file.
"""

# Simulated people choose with `random`: no secret depends on it.
# ruff: noqa: S311

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, between, constant, constant_throughput, events, task
from locust.env import Environment

from performance.plan import PLAN_ENV, Activity, Person, answer_state, queued_operations, read_plan
from shared.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION

PLAN = read_plan(Path(os.environ[PLAN_ENV]))
SETTINGS: dict[str, Any] = PLAN["settings"]
OUTPUT = Path(os.environ.get("POST16_LOAD_OUTPUT", "locust-output.json"))
SESSION_COOKIE = "tlac_session"
ERROR_SAMPLES = 30

PROGRAMS = {
    "success": "squares = [n * n for n in range(2000)]\nprint(sum(squares), max(squares))\n",
    "error": "values = [1, 2, 3]\nprint(values[10])\n",
    "timeout": "while True:\n    pass\n",
}


class Recorder:
    """Every request's time and status per endpoint; 429s apart from errors; a few error bodies."""

    def __init__(self) -> None:
        self.times_ms: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter[str]] = defaultdict(Counter)
        self.errors: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        self.missing_retry_after: Counter[str] = Counter()
        self.error_samples: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []
        self.first_start: float | None = None
        self.last_end: float | None = None

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        response: Any = None,
        exception: BaseException | None = None,
        start_time: float | None = None,
        **_: Any,
    ) -> None:
        status = int(getattr(response, "status_code", 0) or 0)
        endpoint = f"{request_type} {name}"
        self.times_ms[endpoint].append(round(response_time, 2))
        self.statuses[endpoint][str(status)] += 1
        if start_time is not None:
            self.first_start = start_time if self.first_start is None else min(self.first_start, start_time)
            end = start_time + response_time / 1000
            self.last_end = end if self.last_end is None else max(self.last_end, end)
        if status == 429:
            self.rate_limited[endpoint] += 1
            if not (response.headers.get("retry-after") or "").isdigit():
                self.missing_retry_after[endpoint] += 1
        elif exception is not None or status == 0 or status >= 400:
            self.errors[endpoint] += 1
            if len(self.error_samples) < ERROR_SAMPLES:
                body = ""
                try:
                    body = (response.text or "")[:400] if response is not None else ""
                except Exception as problem:  # a broken body is itself the sample
                    body = f"<unreadable body: {problem}>"
                self.error_samples.append(
                    {"endpoint": endpoint, "status": status, "exception": repr(exception), "body": body}
                )

    def dump(self, path: Path) -> None:
        endpoints = {
            endpoint: {
                "times_ms": times,
                "statuses": dict(self.statuses[endpoint]),
                "errors": self.errors[endpoint],
                "rate_limited": self.rate_limited[endpoint],
                "missing_retry_after": self.missing_retry_after[endpoint],
            }
            for endpoint, times in self.times_ms.items()
        }
        path.write_text(
            json.dumps(
                {
                    "first_start": self.first_start,
                    "last_end": self.last_end,
                    "endpoints": endpoints,
                    "error_samples": self.error_samples,
                    "records": self.records,
                }
            ),
            encoding="utf-8",
        )


RECORDER = Recorder()
events.request.add_listener(RECORDER.on_request)


@events.quitting.add_listener
def _write_output(environment: Environment, **_: Any) -> None:
    RECORDER.dump(OUTPUT)


class Finish:
    """Stops the run early once every simulated client of a one-shot scenario has done its part."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.done = 0

    def one_done(self, environment: Environment) -> None:
        self.done += 1
        if self.done == self.expected and environment.runner is not None:
            # From a fresh greenlet: quitting kills every user's greenlet, this one included.
            gevent.spawn_later(0.5, environment.runner.quit)


IDENTITIES = {role: itertools.count() for role in ("pupils", "teachers", "admins")}


class Post16User(FastHttpUser):
    """What every simulated person does the same way: the protocol header, logging in, naming requests."""

    abstract = True
    network_timeout = 120.0
    connection_timeout = 30.0
    role = "pupils"  # which of the plan's people this class takes its identities from

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        # One counter per role across every class, so two kinds of simulated pupil never share a login.
        self.index = next(IDENTITIES[self.role])
        people: list[Person] = PLAN[self.role]  # type: ignore[literal-required]
        self.person = people[self.index % len(people)] if people else None
        self.auth_headers: dict[str, str] = {}
        self.forwarded_for: str | None = None

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION), "User-Agent": "post16-load/1", **self.auth_headers}
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        return {**headers, **(extra or {})}

    def call(
        self,
        method: str,
        path: str,
        name: str,
        body: Any = None,
        expect: tuple[int, ...] = (200,),
        extra_headers: dict[str, str] | None = None,
    ) -> Any | None:
        """One request; a status outside `expect` (429 aside) is a failure. The body as JSON, or None."""
        with self.client.request(
            method, path, name=name, json=body, headers=self.headers(extra_headers), catch_response=True
        ) as response:
            if response.status_code in expect:
                response.success()
                try:
                    return response.json() if response.content else {}
                except ValueError:
                    response.failure(f"{name}: the answer is not JSON")
                    return None
            response.failure(f"{name}: HTTP {response.status_code}")
            return None

    def login(self, client: str = "desktop") -> dict[str, Any] | None:
        """The real login endpoint (argon2 and all)."""
        assert self.person is not None
        body = {"username": self.person["username"], "password": PLAN["password"], "client": client}
        with self.client.request(
            "POST",
            "/api/auth/login",
            name="/api/auth/login",
            json=body,
            headers=self.headers(),
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"login: HTTP {response.status_code}")
                return None
            answer: dict[str, Any] = response.json()
            if client == "desktop":
                self.auth_headers = {"Authorization": f"Bearer {answer['token']}"}
            else:
                # Two cookies since the trusted-device one: the client may hand them over as a list.
                set_cookie = response.headers.get("set-cookie") or ""
                if isinstance(set_cookie, list):
                    set_cookie = "; ".join(set_cookie)
                cookie = re.search(rf"{SESSION_COOKIE}=([^;]+)", set_cookie)
                if cookie is None:
                    response.failure("web login: no session cookie")
                    return None
                self.client.cookiejar.clear()
                self.auth_headers = {
                    "Cookie": f"{SESSION_COOKIE}={cookie.group(1)}",
                    "X-CSRF-Token": answer["csrf_token"],
                }
            return answer

    def use_session_or_login(self, client: str = "desktop") -> None:
        assert self.person is not None
        if self.person["token"]:
            self.auth_headers = {"Authorization": f"Bearer {self.person['token']}"}
        else:
            self.login(client)

    def record(self, **fields: Any) -> None:
        RECORDER.records.append(fields)


def activity_path(activity: Activity) -> str:
    return f"{activity['lesson_id']}/{activity['activity_id']}"


SAVE_NAME = "/api/activity/state/{lesson_id}/{activity_id}"


# --- the steady day ------------------------------------------------------------------------------
class PupilUser(Post16User):
    """A pupil in a lesson: reads it, answers activities (saved at once and synced in small batches),
    pulls marks, now and then runs some Python."""

    weight = 70
    wait_time = between(SETTINGS.get("wait_min", 0.5), SETTINGS.get("wait_max", 2.5))

    def on_start(self) -> None:
        self.use_session_or_login()
        self.lessons = self.call("GET", "/api/lessons", "/api/lessons") or {}
        self.lesson = random.choice(PLAN["activities"])["lesson_id"]
        self.answered: list[Activity] = []
        self.cursor: str | None = None
        self.seed = self.index * 100_000

    def activity(self) -> Activity:
        choices = [a for a in PLAN["activities"] if a["lesson_id"] == self.lesson]
        return random.choice(choices)

    @task(40)
    def save_answer(self) -> None:
        activity = self.activity()
        self.seed += 1
        body = {"state": answer_state(activity, self.seed)}
        if self.call("POST", f"/api/activity/state/{activity_path(activity)}", SAVE_NAME, body) is not None:
            self.answered.append(activity)

    @task(10)
    def read_lesson(self) -> None:
        if random.random() < 0.2:
            self.lesson = random.choice(PLAN["activities"])["lesson_id"]
        self.call("GET", f"/api/lessons/{self.lesson}", "/api/lessons/{lesson_id}")

    @task(5)
    def list_lessons(self) -> None:
        self.call("GET", "/api/lessons", "/api/lessons")

    @task(15)
    def push_batch(self) -> None:
        operations = []
        for _ in range(random.randint(1, 5)):
            activity = self.activity()
            self.seed += 1
            operations.append(
                {
                    "op_id": f"{random.getrandbits(128):032x}",
                    "kind": "activity.save",
                    "lesson_id": activity["lesson_id"],
                    "activity_id": activity["activity_id"],
                    "payload": {"state": answer_state(activity, self.seed)},
                    "client_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
            )
        body = {"protocol": PROTOCOL_VERSION, "device_id": f"laptop-{self.index}", "operations": operations}
        answer = self.call("POST", "/api/sync/push", "/api/sync/push", body)
        if answer is not None and any(r["outcome"] == "rejected" for r in answer["results"]):
            self.record(kind="rejected", results=[r for r in answer["results"] if r["outcome"] == "rejected"])

    @task(15)
    def pull(self) -> None:
        query = f"?cursor={self.cursor}" if self.cursor else ""
        answer = self.call("GET", f"/api/sync/pull{query}", "/api/sync/pull?cursor=")
        if answer:
            self.cursor = answer["next_cursor"]

    @task(5)
    def my_marks(self) -> None:
        self.call("GET", "/api/marks", "/api/marks")

    @task(9)
    def read_answer(self) -> None:
        if self.answered:
            activity = random.choice(self.answered)
            self.call("GET", f"/api/activity/state/{activity_path(activity)}", SAVE_NAME)

    @task(1)
    def run_python(self) -> None:
        started = time.monotonic()
        answer = self.call("POST", "/api/python/run", "/api/python/run", {"code": PROGRAMS["success"]})
        if answer is not None:
            self.record(kind="run", status=answer.get("status"), ms=1000 * (time.monotonic() - started))


class TeacherUser(Post16User):
    """A teacher: the class's progress grid, a pupil's answer and its history, marking it."""

    weight = 20
    role = "teachers"
    wait_time = between(SETTINGS.get("wait_min", 0.5), SETTINGS.get("wait_max", 2.5))

    def on_start(self) -> None:
        self.use_session_or_login()
        classes = self.call("GET", "/api/teacher/classes", "/api/teacher/classes") or []
        self.class_ids = [c["id"] for c in classes]
        self.cells: list[dict[str, Any]] = []
        self.cursor: str | None = None
        self.max_scores = {activity_path(a): a["max_score"] for a in PLAN["activities"]}

    @task(4)
    def progress(self) -> None:
        if self.class_ids:
            class_id = random.choice(self.class_ids)
            answer = self.call(
                "GET", f"/api/teacher/classes/{class_id}/progress", "/api/teacher/classes/{class_id}/progress"
            )
            if answer:
                self.cells = answer["cells"]

    @task(4)
    def open_answer(self) -> None:
        if self.cells:
            cell = random.choice(self.cells)
            path = f"{cell['lesson_id']}/{cell['activity_id']}?pupil_id={cell['pupil_id']}"
            self.call("GET", f"/api/activity/state/{path}", SAVE_NAME + "?pupil_id=")

    @task(1)
    def revisions(self) -> None:
        if self.cells:
            cell = random.choice(self.cells)
            path = f"{cell['lesson_id']}/{cell['activity_id']}?pupil_id={cell['pupil_id']}"
            self.call(
                "GET", f"/api/activity/revisions/{path}", "/api/activity/revisions/{lesson_id}/{activity_id}"
            )

    @task(3)
    def mark(self) -> None:
        if self.cells:
            cell = random.choice(self.cells)
            top = self.max_scores.get(f"{cell['lesson_id']}/{cell['activity_id']}", 1.0)
            body = {"score": random.randint(0, int(top)), "max_score": top, "feedback": "Well reasoned."}
            self.call(
                "POST",
                f"/api/marks/{cell['pupil_id']}/{cell['lesson_id']}/{cell['activity_id']}",
                "/api/marks/{pupil_id}/{lesson_id}/{activity_id}",
                body,
            )

    @task(2)
    def pull(self) -> None:
        query = f"?cursor={self.cursor}" if self.cursor else ""
        answer = self.call("GET", f"/api/sync/pull{query}", "/api/sync/pull?cursor=")
        if answer:
            self.cursor = answer["next_cursor"]


class AdminUser(Post16User):
    """An admin in the web console (cookie + CSRF token): people, the audit log, metrics, sessions."""

    weight = 10
    role = "admins"
    wait_time = between(SETTINGS.get("wait_min", 0.5), SETTINGS.get("wait_max", 2.5))

    def on_start(self) -> None:
        self.login("web")

    @task(3)
    def list_users(self) -> None:
        query = random.choice(["?limit=50", "?role=pupil&limit=50", "?q=pupil1&limit=50"])
        self.call("GET", f"/api/admin/users{query}", "/api/admin/users")

    @task(3)
    def page_audit(self) -> None:
        answer = self.call("GET", "/api/admin/audit?limit=50", "/api/admin/audit")
        for _ in range(2):
            if not answer or not answer.get("has_more"):
                break
            answer = self.call(
                "GET", f"/api/admin/audit?limit=50&cursor={answer['next_cursor']}", "/api/admin/audit?cursor="
            )

    @task(2)
    def metrics(self) -> None:
        self.call("GET", "/api/admin/metrics", "/api/admin/metrics")

    @task(2)
    def sessions(self) -> None:
        self.call("GET", "/api/admin/sessions", "/api/admin/sessions")

    @task(1)
    def rename_pupil(self) -> None:
        pupil = random.choice(PLAN["pupils"])
        body = {"display_name": f"Pupil {pupil['user_id']} ({random.randint(1, 9)})"}
        self.call("PATCH", f"/api/admin/users/{pupil['user_id']}", "/api/admin/users/{user_id}", body)


# --- login storm ---------------------------------------------------------------------------------
LOGINS = Finish(int(SETTINGS.get("logins", 0)))


class LoginStormUser(Post16User):
    """One laptop behind the school's proxy logging in once, with its own address."""

    wait_time = constant(3600)

    def on_start(self) -> None:
        self.forwarded_for = f"10.{16 + self.index // 62500}.{self.index // 250 % 250}.{self.index % 250 + 1}"

    @task
    def log_in_once(self) -> None:
        started = time.monotonic()
        answer = self.login("desktop")
        self.record(kind="login", ok=answer is not None, ms=1000 * (time.monotonic() - started))
        LOGINS.one_done(self.environment)


# --- reconnect storm -----------------------------------------------------------------------------
RECONNECTS = Finish(int(SETTINGS.get("clients", 0)))


class ReconnectUser(Post16User):
    """A laptop back on the Wi-Fi with its queued operations: push until every one is acknowledged
    (retrying transient failures with back-off, as the desktop sync engine does), then pull once."""

    wait_time = constant(3600)

    @task
    def drain_outbox(self) -> None:
        self.use_session_or_login()
        pending = {
            op["op_id"]: op
            for op in queued_operations(
                PLAN["run_id"], self.index, int(SETTINGS["operations"]), PLAN["activities"]
            )
        }
        outcomes: Counter[str] = Counter()
        started, attempts, delay = time.time(), 0, 1.0
        while pending and attempts < int(SETTINGS.get("max_attempts", 8)):
            attempts += 1
            body = {"protocol": PROTOCOL_VERSION, "device_id": f"laptop-{self.index}",
                    "operations": list(pending.values())}  # fmt: skip
            answer = self.call("POST", "/api/sync/push", "/api/sync/push", body)
            if answer is None:
                gevent.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 16)
                continue
            for result in answer["results"]:
                outcomes[result["outcome"]] += 1
                if result["outcome"] != "rate_limited":  # over activity_save's budget: sent again
                    pending.pop(result["op_id"], None)
        drained = time.time()
        self.call("GET", "/api/sync/pull", "/api/sync/pull?cursor=")
        self.record(
            kind="reconnect",
            client=self.index,
            started=started,
            drained=drained,
            attempts=attempts,
            unacknowledged=len(pending),
            outcomes=dict(outcomes),
        )
        RECONNECTS.one_done(self.environment)


# --- a class pressing Run ------------------------------------------------------------------------
RUNNERS = Finish(int(SETTINGS.get("class_size", 0)))


class ClassRunUser(Post16User):
    """One pupil of a class that presses Run together, `rounds` times, `round_seconds` apart. Most
    programs work; a few fail; one pupil writes an endless loop (the sandbox's timeout ends it)."""

    first_round_at: float | None = None

    def wait_time(self) -> float:
        if self.rounds_done >= int(SETTINGS.get("rounds", 3)):
            return 3600.0
        assert ClassRunUser.first_round_at is not None
        elapsed = time.time() - ClassRunUser.first_round_at
        period = float(SETTINGS.get("round_seconds", 20))
        return max(0.0, period - elapsed % period)

    def on_start(self) -> None:
        self.use_session_or_login()
        if ClassRunUser.first_round_at is None:
            ClassRunUser.first_round_at = time.time()
        self.rounds_done = 0
        kinds = ["timeout"] if self.index == 0 else ["error"] if self.index % 10 == 1 else ["success"]
        self.program = PROGRAMS[kinds[0]]

    @task
    def press_run(self) -> None:
        started = time.monotonic()
        with self.client.request(
            "POST", "/api/python/run", name="/api/python/run", json={"code": self.program},
            headers=self.headers(), catch_response=True,
        ) as response:  # fmt: skip
            status = response.json().get("status") if response.status_code == 200 else None
            if response.status_code == 200:
                response.success()
            self.record(
                kind="run",
                http=response.status_code,
                status=status,
                round=self.rounds_done,
                ms=1000 * (time.monotonic() - started),
            )
        self.rounds_done += 1
        if self.rounds_done == int(SETTINGS.get("rounds", 3)):
            RUNNERS.one_done(self.environment)


# --- rate limits ---------------------------------------------------------------------------------
class LimitProbe(Post16User):
    """Sends one kind of request at a steady pace and records each answer's status and timing, so the
    runner can count, per person and per one-minute window, what was accepted and what refused."""

    abstract = True
    limit_name = ""

    def on_start(self) -> None:
        self.use_session_or_login()
        self.sequence = 0

    def probe(self, method: str, path: str, name: str, body: Any = None) -> None:
        assert self.person is not None
        self.sequence += 1
        sent = time.time()
        with self.client.request(
            method, path, name=name, json=body, headers=self.headers(), catch_response=True
        ) as response:
            received = time.time()
            if response.status_code == 429:
                response.failure("rate limited")  # counted apart from errors by the recorder
            elif response.status_code == 200:
                response.success()
            self.record(
                kind="limit",
                limit=self.limit_name,
                role=type(self).__name__,
                user=self.person["username"],
                sequence=self.sequence,
                sent=sent,
                received=received,
                http=response.status_code,
                retry_after=response.headers.get("retry-after") if response.status_code == 429 else None,
            )


def _hammer_rate() -> float:
    return float(SETTINGS.get("hammer_rate", 10))


def _fixed(kind: str) -> int:
    return int(SETTINGS.get("hammers", {}).get(kind, 0))


class SaveHammer(LimitProbe):
    fixed_count = _fixed("save")
    limit_name = "activity_save"
    wait_time = constant_throughput(_hammer_rate())

    @task
    def save(self) -> None:
        activity = PLAN["activities"][self.sequence % len(PLAN["activities"])]
        body = {"state": answer_state(activity, self.sequence)}
        self.probe("POST", f"/api/activity/state/{activity_path(activity)}", SAVE_NAME, body)


class RunHammer(LimitProbe):
    fixed_count = _fixed("run")
    limit_name = "python_run"
    wait_time = constant_throughput(_hammer_rate())

    @task
    def run_program(self) -> None:
        self.probe("POST", "/api/python/run", "/api/python/run", {"code": "print(6 * 7)"})


class LessonsHammer(LimitProbe):
    fixed_count = _fixed("lessons")
    limit_name = "default"
    wait_time = constant_throughput(_hammer_rate())

    @task
    def lessons(self) -> None:
        self.probe("GET", "/api/lessons", "/api/lessons")


class MarkHammer(LimitProbe):
    fixed_count = _fixed("mark")
    limit_name = "mark_activity"
    role = "teachers"
    wait_time = constant_throughput(_hammer_rate())

    @task
    def mark(self) -> None:
        assert self.person is not None
        pupils = PLAN["classes"].get(self.person["username"]) or [PLAN["pupils"][0]["user_id"]]
        activity = PLAN["activities"][self.sequence % len(PLAN["activities"])]
        body = {"score": 0, "max_score": activity["max_score"]}
        pupil = pupils[self.sequence % len(pupils)]
        name = "/api/marks/{pupil_id}/{lesson_id}/{activity_id}"
        self.probe("POST", f"/api/marks/{pupil}/{activity_path(activity)}", name, body)


class Bystander(LimitProbe):
    """A pupil saving at an ordinary pace beside the hammers: never refused."""

    fixed_count = int(SETTINGS.get("bystanders", 0))
    limit_name = "activity_save"
    wait_time = constant(2)

    @task
    def save(self) -> None:
        activity = PLAN["activities"][self.sequence % len(PLAN["activities"])]
        body = {"state": answer_state(activity, self.sequence)}
        self.probe("POST", f"/api/activity/state/{activity_path(activity)}", SAVE_NAME, body)
