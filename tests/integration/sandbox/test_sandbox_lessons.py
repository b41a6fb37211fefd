"""The real lessons, marked in the real sandbox: model answers get full marks, known wrong answers lose
some. (tests/unit/shared checks the same, and that every starter loses marks, with a local python3 and
the same judge; this proves the sandbox's marking agrees with shared.lessons.marking, both ways.)

Starters are not re-run here: every check costs a container (about 0.1 s of the engine's CPU) and the
unit grew to 100+ activities, so the sandbox proves each model answer and each wrong answer, and the
starters' "no marks for untouched code" stays with the local run of the same judge."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
import pytest_asyncio
from sandbox_helpers import ENGINE, TEST_LIMITS

from sandbox import SandboxRunner
from shared.lessons import CodeActivity, PredictActivity, TraceActivity, load_manifest
from shared.lessons.outputs import trace_rows
from shared.lessons.puzzles import traced_source
from shared.wire.run import RunRequest

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

LESSONS_DIR = Path(__file__).resolve().parents[3] / "lessons"


def code_activities() -> list[tuple[str, CodeActivity]]:
    lessons = load_manifest(LESSONS_DIR)
    return [
        (f"{lesson.id}/{activity.id}", activity)
        for lesson in lessons.lessons
        for activity in lesson.activities
        if isinstance(activity, CodeActivity) and activity.tests
    ]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def marking_runner(docker_api: object) -> AsyncIterator[SandboxRunner]:
    # The production time limits (5 s a test, 30 s a check), not the tests' tight 2 s: 100+ checks queue
    # through 4 slots on a shared machine, and a trusted model answer must not fail for want of CPU.
    limits = msgspec.structs.replace(
        TEST_LIMITS,
        timeout_seconds=5.0,
        check_timeout_seconds=30.0,
        pool_size=4,
        concurrency=4,
        max_runs_per_owner=4,
        queue_size=500,
        max_queued_per_owner=50,
    )
    runner = SandboxRunner(limits, engines=[ENGINE])
    await runner.start()
    yield runner
    await runner.close()


async def test_every_model_answer_scores_full_marks_in_the_sandbox(marking_runner: SandboxRunner) -> None:
    activities = code_activities()
    assert activities, "no auto-marked code activities found"
    results = await asyncio.gather(
        *(
            marking_runner.check(
                activity.model_answer or "", activity.tests, owner=name, max_score=activity.max_score
            )
            for name, activity in activities
        )
    )
    failures = {
        name: [(outcome.name, outcome.message) for outcome in result.tests if not outcome.passed]
        for (name, _), result in zip(activities, results, strict=True)
        if result.score != result.max_score
    }
    assert failures == {}


async def test_known_wrong_answers_lose_marks_in_the_sandbox(marking_runner: SandboxRunner) -> None:
    attempts = [
        (name, answer, activity) for name, activity in code_activities() for answer in activity.wrong_answers
    ]
    assert attempts, "no known wrong answers found"
    results = await asyncio.gather(
        *(
            marking_runner.check(answer, activity.tests, owner=name, max_score=activity.max_score)
            for name, answer, activity in attempts
        )
    )
    full_marks = [
        (name, answer)
        for (name, answer, _), result in zip(attempts, results, strict=True)
        if result.score == result.max_score
    ]
    assert full_marks == []
    assert all(result.run_status == "success" for result in results)


async def test_every_recorded_prediction_is_what_the_snippet_prints_in_the_sandbox(
    marking_runner: SandboxRunner,
) -> None:
    """Predict-the-output answers are marked against lessons/outputs.json, recorded by
    `post16-lessons record-outputs` with a local python3: the sandbox must print exactly the same."""
    snippets = [
        (f"{lesson.id}/{activity.id}", activity)
        for lesson in load_manifest(LESSONS_DIR).lessons
        for activity in lesson.activities
        if isinstance(activity, PredictActivity)
    ]
    assert snippets, "no predict-the-output activities found"
    results = await asyncio.gather(
        *(
            marking_runner.run(RunRequest(code=activity.code, stdin=activity.stdin), owner=name)
            for name, activity in snippets
        )
    )
    printed = {
        name: (result.status, result.stdout) for (name, _), result in zip(snippets, results, strict=True)
    }
    assert printed == {name: ("success", activity.expected_output) for name, activity in snippets}


async def test_every_recorded_trace_table_is_what_the_sandbox_run_gives(
    marking_runner: SandboxRunner,
) -> None:
    """Trace tables are made by `post16-lessons record-outputs` running the traced program with a local
    python3: the same traced program in the sandbox must give the same table."""
    traces = [
        (f"{lesson.id}/{activity.id}", activity)
        for lesson in load_manifest(LESSONS_DIR).lessons
        for activity in lesson.activities
        if isinstance(activity, TraceActivity)
    ]
    assert traces, "no trace-table activities found"
    results = await asyncio.gather(
        *(
            marking_runner.run(RunRequest(code=traced_source(activity), stdin=activity.stdin), owner=name)
            for name, activity in traces
        )
    )
    tables = {name: trace_rows(result.stdout) for (name, _), result in zip(traces, results, strict=True)}
    assert tables == {name: activity.rows for name, activity in traces}
