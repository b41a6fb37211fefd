"""The desktop outbox against a real server process on PostgreSQL whose per-minute save limit is small:
operations the server leaves for later (`rate_limited`) stay queued in their place, the sync loop waits
for the server's Retry-After, and once the budget has room everything arrives once, in the order typed."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from desktop.core.client import ApiClient
from desktop.core.engine import SyncEngine, SyncLoop
from desktop.core.store import Store

pytestmark = [pytest.mark.postgres]

LESSON = "variables-and-types"
CODE = "seconds-to-minutes"
PASSWORD = "correct horse battery"


@pytest.fixture
def server_overrides() -> dict[str, str]:
    return {"POST16_RATE_LIMITS": "activity_save=3"}


@pytest.fixture
def engine(classroom, tmp_path: Path):  # type: ignore[no-untyped-def]
    store = Store.open(tmp_path / "laptop" / "pupil.sqlite3")
    client = ApiClient(classroom.url)
    client.login("pupil", PASSWORD)
    yield SyncEngine(store, client)
    client.close()
    store.close()


def new_minute(pg_url: str) -> None:
    """The budget's window runs out (without waiting a minute for it)."""
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as db:
        db.execute("DELETE FROM rate_limit_windows")


def queued_codes(store: Store) -> list[str]:
    return [op.payload["state"]["code"] for op in store.outbox.next_batch(500)]


def test_answers_over_the_save_limit_stay_queued_in_order_and_arrive_later(engine, classroom, pg_url):
    store = engine.store
    for n in range(7):
        store.outbox.save_answer(LESSON, CODE, {"code": f"v{n}"})

    report = engine.push_outbox()
    assert report.pushed == 3
    assert report.deferred == 4
    assert 1 <= report.retry_after <= 60
    assert queued_codes(store) == ["v3", "v4", "v5", "v6"]
    assert store.outbox.rejected_operations() == []

    new_minute(pg_url)
    assert engine.push_outbox().pushed == 3
    assert queued_codes(store) == ["v6"]
    new_minute(pg_url)
    assert engine.push_outbox().pushed == 1
    assert store.outbox.pending_count() == 0

    revisions = classroom.get("pupil", f"/api/activity/revisions/{LESSON}/{CODE}").json()["revisions"]
    assert [r["state"]["code"] for r in revisions] == [f"v{n}" for n in range(7)]


def test_sync_loop_waits_for_the_servers_retry_after_before_sending_the_rest(engine):
    for n in range(5):
        engine.store.outbox.save_answer(LESSON, CODE, {"code": f"v{n}"})
    loop = SyncLoop(engine, interval=30.0)
    delay = loop.run_once()
    assert delay is not None
    assert 1 <= delay <= 60
    status = loop.last_status
    assert status is not None
    assert status.pending == 2
    assert status.retry_in == delay
    assert "limit" in status.message
