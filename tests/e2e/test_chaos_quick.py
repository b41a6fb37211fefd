"""The quick chaos profile inside `make test`: a few laptops, a few hundred answers, every fault kind at
least once, and not one answer lost, duplicated or wrong (tests/e2e/chaos.py has the long profile)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos import PROFILES, RunResult, report, run
from chaos_checker import CheckResult, Laptop, check
from chaos_cluster import ChaosDatabase
from chaos_proxy import FAULT_MODES

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]

SEED = int(os.environ.get("POST16_CHAOS_SEED", "20250301"))
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="module")
def chaos_database() -> Iterator[ChaosDatabase]:
    import psycopg

    try:
        database = ChaosDatabase.create()
    except psycopg.OperationalError as error:
        message = f"PostgreSQL is not reachable ({error.__class__.__name__})"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    yield database
    database.drop()


@pytest.fixture(scope="module")
def chaos_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="post16-chaos-quick-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def quick_run(chaos_database: ChaosDatabase, chaos_dir: Path) -> RunResult:
    result = run(PROFILES["quick"], SEED, database=chaos_database, work_dir=chaos_dir)
    report(result)
    return result


def _laptops(result: RunResult, work_dir: Path, database: ChaosDatabase) -> list[Laptop]:
    with database.connect() as connection:
        users = dict(connection.execute("SELECT username, id FROM users").fetchall())
    laptops = []
    for folder in sorted(work_dir.glob("laptop-*")):
        import json

        plan = json.loads((folder / "plan.json").read_text())
        store = Path(json.loads((folder / "report.json").read_text())["store"])
        laptops.append(Laptop(plan["index"], plan["username"], users[plan["username"]], folder, store))
    assert len(laptops) == result.clients
    return laptops


def test_no_answer_is_lost_duplicated_or_wrong_through_the_storm(quick_run: RunResult) -> None:
    assert quick_run.operations >= 250
    assert quick_run.check.lost == []
    assert quick_run.check.duplicated == []
    assert quick_run.check.wrong == []


def test_every_kind_of_fault_struck_at_least_once(quick_run: RunResult) -> None:
    counts = quick_run.fault_counts
    missing = [mode for mode in FAULT_MODES if counts[f"proxy:{mode}"] == 0]
    missing += [
        kind
        for kind in (
            "server_kill",
            "db_kill",
            "client_kill",
            "session_expire",
            "replayed_pushes",
            "two_laptops_one_pupil",
            "clock_hours_wrong",
        )
        if counts[kind] == 0
    ]
    assert missing == []


def test_checks_and_teachers_marks_went_through_the_storm_too(quick_run: RunResult) -> None:
    """Pupils asked for the server's check of code they saved (some offline), and a teacher who logged
    in during the storm marked offline and online; the checker found every one accounted for."""
    assert quick_run.check.checks >= 10
    assert quick_run.check.marks >= 10
    assert quick_run.clients == PROFILES["quick"].clients + PROFILES["quick"].teachers


def test_refused_answers_were_kept_as_rejected_not_lost(quick_run: RunResult) -> None:
    assert quick_run.check.rejected_as_expected >= 1


def checked_after_tampering(
    quick_run: RunResult, database: ChaosDatabase, work_dir: Path, *statements: str
) -> CheckResult:
    """The checker's verdict with `statements` applied inside a transaction that is then rolled back."""
    laptops = _laptops(quick_run, work_dir, database)
    with database.connect() as connection:
        connection.execute("BEGIN")
        try:
            for statement in statements:
                connection.execute(statement)
            return check(laptops, connection)
        finally:
            connection.execute("ROLLBACK")


def test_checker_notices_a_lost_and_a_duplicated_answer(
    quick_run: RunResult, chaos_database: ChaosDatabase, chaos_dir: Path
) -> None:
    """The checker is not vacuous: remove one revision and copy another, and it says so."""
    tampered = checked_after_tampering(
        quick_run,
        chaos_database,
        chaos_dir,
        "DELETE FROM activity_revisions WHERE id = (SELECT min(id) FROM activity_revisions)",
        """INSERT INTO activity_revisions (pupil_id, lesson_id, activity_id, revision, state,
             client_time, client_time_raw, received_at, op_id, device_id)
           SELECT pupil_id, lesson_id, activity_id, 100000, state, client_time, client_time_raw,
             received_at, gen_random_uuid(), device_id
           FROM activity_revisions WHERE id = (SELECT max(id) FROM activity_revisions)""",
    )
    assert len(tampered.lost) == 1
    assert len(tampered.duplicated) == 2  # an op id nobody saved, and the same answer twice
    assert tampered.wrong  # revision numbers no longer run 1..n


def test_checker_notices_a_lost_check_and_a_wrong_mark(
    quick_run: RunResult, chaos_database: ChaosDatabase, chaos_dir: Path
) -> None:
    """Drop one recorded check and change one teacher's mark: the checker names both."""
    tampered = checked_after_tampering(
        quick_run,
        chaos_database,
        chaos_dir,
        "DELETE FROM code_checks WHERE id = (SELECT min(id) FROM code_checks)",
        """UPDATE marks SET score = score + 100
           WHERE (pupil_id, lesson_id, activity_id) = (
               SELECT pupil_id, lesson_id, activity_id FROM marks WHERE source = 'teacher' LIMIT 1)""",
    )
    assert [problem for problem in tampered.lost if "never recorded the check" in problem]
    assert [problem for problem in tampered.wrong if "stored with another score" in problem]
