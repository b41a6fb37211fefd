"""The PostgreSQL fast path (one statement per batch) stores exactly what the generic path stores.

The fast path folds a batch per activity in SQL (server.domain.sync.pg_saves); the generic path applies
it round by round with ordinary statements. Both run here on PostgreSQL against the same seeded random
batches — repeated activities, tied client times, replays, duplicates inside a batch, refused answers —
and every answer, current state and revision must come out the same.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from server_helpers import CHOICE, CODE, LESSON, TEXT, sql

from server.config import load_settings
from server.db.direct import DirectDatabase
from server.db.engine import make_async_engine, make_sessionmaker
from server.domain.lessons.services import LessonLibrary
from server.domain.sync.answers import SaveRequest, apply_saves
from server.domain.sync.pg_saves import BatchSave, save_batch
from server.lib.metrics import SAVES_PER_STATEMENT

ACTIVITIES = [CODE, CHOICE, TEXT]
BASE_TIME = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def answer_for(activity: str, value: int) -> dict[str, Any]:
    if activity == CODE:
        return {"code": f"print({value})"}
    if activity == CHOICE:
        return {"selected": [value % 2]}
    return {"text": f"answer {value}"}


def random_batches(seed: int, count: int) -> list[list[SaveRequest]]:
    chooser = random.Random(seed)
    sent: list[SaveRequest] = []
    batches = []
    for _ in range(count):
        batch: list[SaveRequest] = []
        for _ in range(chooser.randint(1, 25)):
            roll = chooser.random()
            if sent and roll < 0.1:  # a replay of an earlier operation
                batch.append(chooser.choice(sent))
                continue
            if batch and roll < 0.15:  # the same operation twice in one batch
                batch.append(chooser.choice(batch))
                continue
            activity = chooser.choice(ACTIVITIES)
            state: Any = answer_for(activity, chooser.randint(0, 999))
            if roll > 0.95:
                state = {"code": 5} if activity == CODE else ["not", "an", "object"]  # refused
            # Few distinct times, so ties (broken by operation id) are common; some absurdly old (the
            # server clamps them to 2000-01-01, where they tie again).
            client_time = BASE_TIME + timedelta(minutes=chooser.randint(0, 5))
            if roll > 0.9:
                client_time = datetime(1990, 1, 1, tzinfo=UTC) + timedelta(days=chooser.randint(0, 9))
            save = SaveRequest(
                op_id=uuid.UUID(int=chooser.getrandbits(128), version=4),
                lesson_id=LESSON,
                activity_id=activity,
                state=state,
                client_time=client_time,
                device_id="laptop-7",
            )
            batch.append(save)
            sent.append(save)
        batches.append(batch)
    return batches


async def apply_all(
    database_url: str, data_dir: Any, pupil_id: int, batches, fast: bool
) -> list[list[tuple]]:  # type: ignore[no-untyped-def]
    settings = load_settings({"POST16_DATABASE_URL": database_url, "POST16_DATA_DIR": str(data_dir)})
    library = LessonLibrary(settings.lessons_dir)
    library.reload(force=True)
    engine = make_async_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    direct = DirectDatabase(settings) if fast else None
    if direct is not None:
        await direct.open()
    answers = []
    try:
        for batch in batches:
            async with sessionmaker() as db:
                outcome = await apply_saves(db, library, settings, pupil_id, batch, direct)
            answers.append([(r.op_id, r.outcome, r.revision, r.code) for r in outcome.results])
    finally:
        if direct is not None:
            await direct.close()
        await engine.dispose()
    return answers


def stored(database_url: str) -> tuple[list[tuple], list[tuple]]:
    states = sql(
        database_url,
        "SELECT activity_id, state, revision, revision_count, op_id, client_time FROM activity_states"
        " ORDER BY activity_id",
    )
    revisions = sql(
        database_url,
        "SELECT activity_id, revision, op_id, state, client_time, client_time_raw, device_id"
        " FROM activity_revisions ORDER BY activity_id, revision",
    )
    return states, revisions


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_and_generic_paths_store_the_same_answers(make_pg_url, users, tmp_path, seed):
    fast_url, generic_url = make_pg_url(), make_pg_url()
    for url in (fast_url, generic_url):
        sql(
            url,
            "INSERT INTO users (id, username, display_name, role, password_hash, disabled, created_at,"
            " password_changed_at) VALUES (4242, 'pupil4242', 'P', 'pupil', 'x', false, now(), now())",
        )
    batches = random_batches(seed, 25)
    fast = asyncio.run(apply_all(fast_url, tmp_path / "fast", 4242, batches, fast=True))
    generic = asyncio.run(apply_all(generic_url, tmp_path / "generic", 4242, batches, fast=False))
    assert fast == generic
    assert stored(fast_url) == stored(generic_url)
    states, revisions = stored(fast_url)
    assert len(states) == 3
    assert sum(state[3] for state in states) == len(revisions)  # every accepted version kept


def stored_by_pupil(database_url: str) -> tuple[list[tuple], list[tuple]]:
    states = sql(
        database_url,
        "SELECT pupil_id, activity_id, state, revision, revision_count, op_id, client_time, received_at"
        " FROM activity_states ORDER BY pupil_id, activity_id",
    )
    revisions = sql(
        database_url,
        "SELECT pupil_id, activity_id, revision, op_id, state, client_time, client_time_raw, device_id"
        " FROM activity_revisions ORDER BY pupil_id, activity_id, revision",
    )
    return states, revisions


def statements_sent() -> tuple[float, float]:
    """(statements, saves) counted so far by tlac_sync_saves_per_statement in this process."""
    values = {sample.name: sample.value for sample in SAVES_PER_STATEMENT.collect()[0].samples}
    return values["tlac_sync_saves_per_statement_count"], values["tlac_sync_saves_per_statement_sum"]


async def apply_together(
    database_url: str, data_dir: Any, batches: dict[int, list[list[SaveRequest]]]
) -> dict[int, list[list[tuple]]]:
    """Every pupil's batches at once on one worker's connections (each pupil's in order), as a class's
    requests arrive together: the fast path carries them in shared statements."""
    settings = load_settings({"POST16_DATABASE_URL": database_url, "POST16_DATA_DIR": str(data_dir)})
    library = LessonLibrary(settings.lessons_dir)
    library.reload(force=True)
    engine = make_async_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    direct = DirectDatabase(settings)
    await direct.open()

    async def one_pupil(pupil_id: int) -> list[list[tuple]]:
        answers = []
        for batch in batches[pupil_id]:
            async with sessionmaker() as db:
                outcome = await apply_saves(db, library, settings, pupil_id, batch, direct)
            answers.append([(r.op_id, r.outcome, r.revision, r.code) for r in outcome.results])
        return answers

    try:
        pupils = sorted(batches)
        return dict(zip(pupils, await asyncio.gather(*(one_pupil(p) for p in pupils)), strict=True))
    finally:
        await direct.close()
        await engine.dispose()


def test_many_pupils_saving_at_once_store_what_each_would_store_alone(make_pg_url, users, tmp_path):
    """Group commit: requests in flight together share one statement, and each pupil's answers,
    revisions and current states are exactly what the generic path stores for that pupil alone."""
    together_url, alone_url = make_pg_url(), make_pg_url()
    pupils = list(range(5001, 5013))
    for url in (together_url, alone_url):
        for pupil in pupils:
            sql(
                url,
                "INSERT INTO users (id, username, display_name, role, password_hash, disabled, created_at,"
                " password_changed_at) VALUES (%s, %s, 'P', 'pupil', 'x', false, now(), now())",
                pupil,
                f"pupil{pupil}",
            )
    batches = {pupil: random_batches(pupil, 6) for pupil in pupils}
    before = statements_sent()
    together = asyncio.run(apply_together(together_url, tmp_path / "together", batches))
    after = statements_sent()
    alone = {
        pupil: asyncio.run(
            apply_all(alone_url, tmp_path / f"alone{pupil}", pupil, batches[pupil], fast=False)
        )
        for pupil in pupils
    }
    assert together == alone
    together_states, together_revisions = stored_by_pupil(together_url)
    alone_states, alone_revisions = stored_by_pupil(alone_url)
    assert together_revisions == alone_revisions
    # Receive times differ between the two runs; everything else about the current answers is equal.
    assert [row[:7] for row in together_states] == [row[:7] for row in alone_states]
    statements, saves = after[0] - before[0], after[1] - before[1]
    requests = sum(len(batch_list) for batch_list in batches.values())
    assert saves > 0
    assert statements < requests  # some statements carried several pupils' saves


def test_a_save_that_fails_fails_alone_when_sent_with_others(make_pg_url, users, tmp_path):
    """Three requests queued for one statement, the middle one for a pupil who does not exist: the
    statement is split, the two good requests are stored and answered, only the bad one fails."""
    url = make_pg_url()
    sql(
        url,
        "INSERT INTO users (id, username, display_name, role, password_hash, disabled, created_at,"
        " password_changed_at) VALUES (4242, 'pupil4242', 'P', 'pupil', 'x', false, now(), now())",
    )

    def save(pupil_id: int, activity: str) -> BatchSave:
        return BatchSave(
            op_id=uuid.uuid4(),
            pupil_id=pupil_id,
            device_id="laptop-7",
            lesson_id=LESSON,
            activity_id=activity,
            state=answer_for(activity, 1),
            client_time=BASE_TIME,
            client_time_raw=None,
            received_at=BASE_TIME,
        )

    good, bad, other = save(4242, CODE), save(999_999, CODE), save(4242, TEXT)

    async def send_together() -> list[Any]:
        settings = load_settings({"POST16_DATABASE_URL": url, "POST16_DATA_DIR": str(tmp_path)})
        direct = DirectDatabase(settings)
        await direct.open()
        try:
            before = statements_sent()
            answers = await asyncio.gather(
                save_batch(direct, [good]),
                save_batch(direct, [bad]),
                save_batch(direct, [other]),
                return_exceptions=True,
            )
            return [*answers, statements_sent()[0] - before[0]]
        finally:
            await direct.close()

    first, failed, third, statements = asyncio.run(send_together())
    assert isinstance(failed, psycopg.errors.ForeignKeyViolation)
    assert set(first) == {good.op_id}
    assert set(third) == {other.op_id}
    assert statements == 2  # the shared statement failed (not counted), then each good request alone
    stored_ops = sql(url, "SELECT op_id FROM activity_revisions ORDER BY revision, activity_id")
    assert {row[0] for row in stored_ops} == {good.op_id, other.op_id}
    assert sql(url, "SELECT count(*) FROM sync_operations") == [(0,)]  # claimed by their revisions
