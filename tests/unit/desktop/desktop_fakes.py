"""A fake Post16 server behind `httpx.MockTransport`, faithful to the wire contract, for desktop.core.

It keeps just enough state to check the client's invariants: operations applied at most once, the
conflict rule (latest client time, ties by op id), every accepted version kept as a revision, an event
log read by cursor, and switches for every failure the engine must survive.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from shared.lessons.model import (
    ActivityBlock,
    ChoiceActivity,
    CodeActivity,
    Lesson,
    TextActivity,
    TextBlock,
)
from shared.protocol import PROTOCOL_HEADER

USERS = {
    "pupil": {"id": 3, "username": "pupil", "display_name": "Pat Pupil", "role": "pupil"},
    "pupil2": {"id": 4, "username": "pupil2", "display_name": "Sam Second", "role": "pupil"},
    "teacher": {"id": 2, "username": "teacher", "display_name": "Ms Teacher", "role": "teacher"},
}
PASSWORD = "correct-horse"


def build_lesson(lesson_id: str = "variables", version: str = "v1") -> Lesson:
    return Lesson(
        id=lesson_id,
        title=f"Lesson {lesson_id}",
        summary="What a variable is",
        order=1,
        estimated_minutes=30,
        version=version,
        source_file=f"{lesson_id}.md",
        blocks=[
            TextBlock(markdown="# Variables\n\n```python\nx = 1\n```"),
            ActivityBlock(activity_id="code-1"),
            ActivityBlock(activity_id="choice-1"),
            ActivityBlock(activity_id="text-1"),
        ],
        activities=[
            CodeActivity(id="code-1", title="Print", prompt="Print 3", starter="print()"),
            ChoiceActivity(id="choice-1", title="Pick", prompt="Which?", options=["a", "b"]),
            TextActivity(id="text-1", title="Explain", prompt="Why?"),
        ],
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclasses.dataclass
class FakeServer:
    lessons: dict[str, Lesson] = dataclasses.field(default_factory=lambda: {"variables": build_lesson()})
    sessions: dict[str, str] = dataclasses.field(default_factory=dict)  # token -> username
    applied: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # op_id -> result
    revisions: dict[tuple[int, str, str], list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    marks: dict[tuple[int, str, str], dict[str, Any]] = dataclasses.field(default_factory=dict)
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    requests: list[httpx.Request] = dataclasses.field(default_factory=list)
    offline: bool = False
    #: Statuses (or exceptions) to answer the next requests with, one per request.
    failures: list[int | Exception] = dataclasses.field(default_factory=list)
    retry_after: str = "2"
    reject_activities: set[str] = dataclasses.field(default_factory=set)
    #: Refuse a whole push (422) when it contains an operation for one of these activities.
    poison_activities: set[str] = dataclasses.field(default_factory=set)
    drop_results: bool = False
    push_sizes: list[int] = dataclasses.field(default_factory=list)
    replay_results: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    # -- helpers for tests -----------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def current(self, pupil_id: int, lesson_id: str, activity_id: str) -> dict[str, Any] | None:
        for revision in self.revisions.get((pupil_id, lesson_id, activity_id), []):
            if revision["current"]:
                return revision
        return None

    def all_revisions(self, pupil_id: int) -> list[dict[str, Any]]:
        return [r for key, items in self.revisions.items() if key[0] == pupil_id for r in items]

    def add_event(self, item: dict[str, Any]) -> None:
        self.events.append({**item, "cursor": str(len(self.events) + 1)})

    def set_mark(self, pupil_id: int, lesson_id: str, activity_id: str, score: float, feedback: str) -> None:
        mark = {
            "pupil_id": pupil_id,
            "lesson_id": lesson_id,
            "activity_id": activity_id,
            "score": score,
            "max_score": 1.0,
            "feedback": feedback,
            "source": "teacher",
            "marker": "teacher",
            "marked_at": now_iso(),
        }
        self.marks[(pupil_id, lesson_id, activity_id)] = mark
        self.add_event({"type": "mark", "mark": mark})

    # -- the HTTP side ----------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.offline:
            raise httpx.ConnectError("connection refused", request=request)
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            if failure == 429:
                return _error(429, "rate_limited", "slow down", headers={"Retry-After": self.retry_after})
            if failure == 426:
                return _error(426, "protocol_outdated", "update")
            if failure == 401:
                return _error(401, "unauthenticated", "session expired")
            if failure == 299:  # garbage body with a 200
                return httpx.Response(200, content=b"<html>proxy login</html>")
            return _error(failure, "internal_error", "boom")
        assert request.headers.get(PROTOCOL_HEADER) == "1"
        path = request.url.path
        if path == "/api/auth/login":
            body = json.loads(request.content)
            user = USERS.get(body["username"])
            if user is None or body["password"] != PASSWORD:
                return _error(401, "unauthenticated", "Wrong username or password.")
            token = uuid.uuid4().hex
            self.sessions[token] = body["username"]
            return _json({"user": user, "expires_at": now_iso(), "token": token})
        user = self._user(request)
        if user is None:
            return _error(401, "unauthenticated", "Your session has ended.")
        if path == "/api/auth/me":
            return _json({"user": user, "session_expires_at": now_iso()})
        if path == "/api/auth/logout":
            self.sessions = {t: u for t, u in self.sessions.items() if u != user["username"]}
            return httpx.Response(204)
        if path == "/api/lessons":
            return _json(
                {
                    "version": "m1",
                    "lessons": [
                        {
                            "id": lesson.id,
                            "title": lesson.title,
                            "summary": lesson.summary,
                            "version": lesson.version,
                            "activities": [
                                {"id": a.id, "kind": a.kind, "title": a.title, "max_score": a.max_score}
                                for a in lesson.activities
                            ],
                        }
                        for lesson in self.lessons.values()
                    ],
                }
            )
        if path.startswith("/api/lessons/"):
            lesson = self.lessons.get(path.rsplit("/", 1)[1])
            if lesson is None:
                return _error(404, "not_found", "no such lesson")
            return httpx.Response(200, content=msgspec.json.encode(lesson.for_pupil()))
        if path == "/api/sync/push":
            return self._push(request, user)
        if path == "/api/sync/pull":
            cursor = int(request.url.params.get("cursor") or 0)
            limit = int(request.url.params.get("limit") or 500)
            visible = [
                (index, e) for index, e in enumerate(self.events) if index >= cursor and _visible(e, user)
            ][:limit]
            next_cursor = visible[-1][0] + 1 if visible else max(cursor, len(self.events))
            has_more = any(_visible(e, user) for e in self.events[next_cursor:])
            return _json(
                {
                    "items": [e for _, e in visible],
                    "next_cursor": str(next_cursor),
                    "has_more": has_more,
                    "server_time": now_iso(),
                }
            )
        return _error(404, "not_found", f"no route {path}")

    def _user(self, request: httpx.Request) -> dict[str, Any] | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        username = self.sessions.get(token)
        return None if username is None else USERS[username]

    def _push(self, request: httpx.Request, user: dict[str, Any]) -> httpx.Response:
        body = json.loads(request.content)
        operations = body["operations"]
        self.push_sizes.append(len(operations))
        if len(operations) > 500:
            return _error(413, "payload_too_large", "too many")
        if any(op["activity_id"] in self.poison_activities for op in operations):
            return _error(422, "validation_error", "Bad operation", field="operations")
        results = list(self.replay_results)
        for op in operations:
            op_id = op["op_id"]
            if op_id in self.applied:
                results.append({**self.applied[op_id], "outcome": "duplicate"})
                continue
            if op["activity_id"] in self.reject_activities:
                result = {
                    "op_id": op_id,
                    "outcome": "rejected",
                    "reason": "That activity no longer exists.",
                    "code": "not_found",
                }
            elif op["kind"] == "mark.set":
                self.set_mark(
                    op["pupil_id"],
                    op["lesson_id"],
                    op["activity_id"],
                    op["payload"]["score"],
                    op["payload"]["feedback"],
                )
                result = {"op_id": op_id, "outcome": "applied", "received_at": now_iso()}
            else:
                result = self._apply_save(user, op)
            self.applied[op_id] = result
            results.append(result)
        if self.drop_results:
            results = []
        return _json({"results": results, "server_time": now_iso()})

    def _apply_save(self, user: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
        key = (user["id"], op["lesson_id"], op["activity_id"])
        history = self.revisions.setdefault(key, [])
        revision = {
            "revision": len(history) + 1,
            "state": op["payload"]["state"],
            "client_time": op["client_time"],
            "received_at": now_iso(),
            "op_id": op["op_id"],
            "device_id": "d",
            "current": False,
        }
        history.append(revision)
        winner = max(history, key=lambda r: (datetime.fromisoformat(r["client_time"]), r["op_id"]))
        for item in history:
            item["current"] = item is winner
        self.add_event(
            {
                "type": "revision",
                "pupil_id": user["id"],
                "lesson_id": op["lesson_id"],
                "activity_id": op["activity_id"],
                **winner,
                "current": True,
            }
        )
        return {
            "op_id": op["op_id"],
            "outcome": "applied",
            "revision": revision["revision"],
            "received_at": revision["received_at"],
        }


def _visible(event: dict[str, Any], user: dict[str, Any]) -> bool:
    if user["role"] == "teacher":
        return True
    if event["type"] == "revision":
        return event["pupil_id"] == user["id"]
    if event["type"] == "mark":
        return event["mark"]["pupil_id"] == user["id"]
    return True


def _json(data: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=data)


def _error(
    status: int, code: str, detail: str, *, field: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if field:
        body["field"] = field
    return httpx.Response(status, json=body, headers=headers)
