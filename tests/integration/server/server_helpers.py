"""Helpers for the server integration tests: logging in, building sync operations, talking to the
database behind the server's back (to age a session without waiting an hour).

Imported by name (`from server_helpers import ...`), never `from conftest import ...`: with several
conftest.py files in the suite, `conftest` means whichever one pytest imported last.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg

PASSWORD = "correct horse battery"  # tests/conftest.py UserFactory.PASSWORD
METRICS_TOKEN = "test-metrics-token"  # tests/conftest.py server_env

LESSON = "variables-and-types"
CODE = "seconds-to-minutes"
CHOICE = "division-result-type"
TEXT = "why-casting"
OTHER_LESSON = "selection"
OTHER_CODE = "grade-boundaries"


def login_response(client: Any, username: str, password: str = PASSWORD, client_kind: str = "desktop") -> Any:
    return client.post(
        "/api/auth/login", json={"username": username, "password": password, "client": client_kind}
    )


def login(client: Any, username: str, password: str = PASSWORD, client_kind: str = "desktop") -> str:
    """The bearer token (desktop) or the CSRF token (web; the cookie lands in the client's jar)."""
    response = login_response(client, username, password, client_kind)
    assert response.status_code == 200, response.text
    body = response.json()
    return str(body["token"] if client_kind == "desktop" else body["csrf_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def now_iso(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).isoformat()


def save_op(
    state: dict[str, Any],
    *,
    lesson: str = LESSON,
    activity: str = CODE,
    client_time: str | None = None,
    op_id: uuid.UUID | str | None = None,
) -> dict[str, Any]:
    return {
        "op_id": str(op_id or uuid.uuid4()),
        "kind": "activity.save",
        "lesson_id": lesson,
        "activity_id": activity,
        "payload": {"state": state},
        "client_time": client_time or now_iso(),
    }


def mark_op(
    pupil_id: int,
    score: float,
    max_score: float = 3,
    feedback: str = "",
    *,
    lesson: str = LESSON,
    activity: str = CODE,
    op_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    return {
        "op_id": str(op_id or uuid.uuid4()),
        "kind": "mark.set",
        "lesson_id": lesson,
        "activity_id": activity,
        "pupil_id": pupil_id,
        "payload": {"score": score, "max_score": max_score, "feedback": feedback},
        "client_time": now_iso(),
    }


def push_body(operations: list[dict[str, Any]], device_id: str = "laptop-1", protocol: int = 1) -> dict:
    return {"protocol": protocol, "device_id": device_id, "operations": operations}


def push(client: Any, token: str, operations: list[dict[str, Any]], device_id: str = "laptop-1") -> Any:
    return client.post("/api/sync/push", headers=bearer(token), json=push_body(operations, device_id))


def pull_all(client: Any, token: str, cursor: str | None = None, limit: int = 500) -> tuple[list[dict], str]:
    """Every item after `cursor`, page by page; returns the items and the final cursor."""
    items: list[dict] = []
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = client.get("/api/sync/pull", headers=bearer(token), params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return items, str(cursor)


def pull_until(
    client: Any,
    token: str,
    wanted: int,
    kind: str = "revision",
    cursor: str | None = None,
    limit: int = 500,
    timeout: float = 20.0,
) -> tuple[list[dict], str]:
    """Pull (from `cursor`, page by page) until `wanted` items of `kind` have arrived, or time is up.

    The feed serves an event only once every older transaction in the PostgreSQL cluster has ended
    (so that a late commit is never skipped), so on a busy server a change can trail by a moment."""
    items: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        page, cursor = pull_all(client, token, cursor, limit)
        items.extend(page)
        if sum(item["type"] == kind for item in items) >= wanted or time.monotonic() > deadline:
            return items, cursor
        time.sleep(0.1)


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextlib.contextmanager
def database(pg_url: str) -> Iterator[psycopg.Connection]:
    """A direct connection to the test database (autocommit)."""
    with psycopg.connect(libpq(pg_url), autocommit=True) as connection:
        yield connection


def sql(pg_url: str, statement: str, *params: Any) -> list[tuple]:
    with database(pg_url) as connection:
        cursor = connection.execute(statement, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


@contextlib.contextmanager
def app_client(settings: Any) -> Iterator[Any]:
    """Like the suite's `client` fixture, for settings a test made itself (`make_settings(...)`)."""
    from litestar.testing import TestClient

    from server.app import create_app

    with TestClient(app=create_app(settings), base_url="http://testserver.local") as test_client:
        yield test_client


def session_cookie(value: str) -> dict[str, str]:
    """A `tlac_session` cookie sent by hand (the client's own jar should be empty)."""
    return {"Cookie": f"tlac_session={value}"}
