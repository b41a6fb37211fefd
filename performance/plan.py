"""What the runner hands the Locust process: who the simulated people are, the lessons' activities, and
the queued operations of the reconnect storm.

Standard library only: the Locust process imports this module after gevent has patched it, and the
runner imports it to verify in the database what the Locust process sent.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

PLAN_ENV = "POST16_LOAD_PLAN"
OUTPUT_ENV = "POST16_LOAD_OUTPUT"
RECONNECT_NAMESPACE = uuid.UUID("5f1c2d6e-8a43-4a8e-9a57-0d6c4b1e7a10")


class Person(TypedDict):
    username: str
    user_id: int
    token: str | None  # a seeded desktop session, or None when the simulated user logs in for real


class Activity(TypedDict):
    lesson_id: str
    activity_id: str
    kind: str  # code | choice | text
    options: int  # number of options (choice), else 0
    multiple: bool
    max_score: float


class Plan(TypedDict):
    scenario: str
    run_id: str
    password: str
    pupils: list[Person]
    teachers: list[Person]
    admins: list[Person]
    # teacher username -> ids of the pupils in the classes they teach
    classes: dict[str, list[int]]
    activities: list[Activity]
    settings: dict[str, Any]


def write_plan(plan: Plan, path: Path) -> None:
    path.write_text(json.dumps(plan), encoding="utf-8")


def read_plan(path: Path) -> Plan:
    plan: Plan = json.loads(path.read_text(encoding="utf-8"))
    return plan


def answer_state(activity: Activity, seed: int) -> dict[str, Any]:
    """A valid answer for the activity's kind (the server refuses a state of the wrong shape)."""
    if activity["kind"] == "code":
        return {"code": f"total = 0\nfor n in range({seed % 50 + 1}):\n    total += n\nprint(total)\n"}
    if activity["kind"] == "choice":
        return {"selected": [seed % max(activity["options"], 1)]}
    return {"text": f"Answer number {seed}: a variable names a value held in memory."}


def queued_operations(
    run_id: str, client: int, count: int, activities: list[Activity]
) -> list[dict[str, Any]]:
    """The `count` operations one laptop queued while offline during the last hour. Ids and answers are
    the same every time they are built: the Locust process pushes them, and the runner checks that the
    database holds each of them exactly once."""
    start = datetime.now(UTC) - timedelta(hours=1)
    operations = []
    for n in range(count):
        activity = activities[(client * 7 + n) % len(activities)]
        operations.append(
            {
                "op_id": str(uuid.uuid5(RECONNECT_NAMESPACE, f"{run_id}:{client}:{n}")),
                "kind": "activity.save",
                "lesson_id": activity["lesson_id"],
                "activity_id": activity["activity_id"],
                "payload": {"state": answer_state(activity, client * 1000 + n)},
                "client_time": (start + timedelta(seconds=n)).isoformat(),
            }
        )
    return operations


__all__ = [
    "OUTPUT_ENV",
    "PLAN_ENV",
    "Activity",
    "Person",
    "Plan",
    "answer_state",
    "queued_operations",
    "read_plan",
    "write_plan",
]
