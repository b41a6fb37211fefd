"""The API with its code running in runner services (`POST16_RUNNER_URLS`), each a real
`post16-sandbox serve` process on its own Docker engine; the API process has no Docker at all.

A runner killed mid-run ends that request with `unavailable` (not a hang, not a 500) and the next one
runs on the other runner; a runner that refuses connections is skipped; no request runs twice."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import bearer, login, now_iso, pull_until, push, save_op
from support.runners import RUNNER_SECRET, RunnerProcess, runners_on_two_engines

pytestmark = [pytest.mark.docker, pytest.mark.postgres]

LESSON, ACTIVITY = "functions", "clamp"
MODEL = "def clamp(value, low, high):\n    return max(low, min(value, high))\n"
SLOW = "import time\ntime.sleep(4)\nprint('too late')"


def runs_done(runner: RunnerProcess) -> float:
    return runner.metric("tlac_runner_requests_total", endpoint="run", outcome="ok")


@pytest.fixture
def runners(sandbox_image: str, tmp_path: Path) -> Iterator[list[RunnerProcess]]:
    """Two runner processes, one per Docker engine (the second from scripts/provision.sh docker2)."""
    with runners_on_two_engines(tmp_path / "runners") as started:
        yield started


@pytest.fixture
def api(make_server: Any, pg_url: str, users: Any, runners: list[RunnerProcess]) -> tuple[str, str]:
    """A real server process sending code to both runners; DOCKER_HOST points nowhere."""
    users.add("ada", "pupil")
    users.add("head", "admin")
    server = make_server(
        pg_url,
        POST16_SANDBOX_ENABLED="true",
        POST16_RUNNER_URLS=",".join(runner.url for runner in runners),
        POST16_RUNNER_SECRET=RUNNER_SECRET,
        POST16_RATE_LIMITS="python_run=1000",
        DOCKER_HOST="unix:///nonexistent/docker.sock",
        POST16_SANDBOX_ENGINES="unix:///nonexistent/docker.sock",
    )
    with httpx.Client(base_url=server.url, timeout=30) as client:
        token = login(client, "ada")
    return server.url, token


def test_runs_checks_and_queued_checks_go_through_both_runners_and_the_dashboard_shows_each(
    api: tuple[str, str], runners: list[RunnerProcess]
) -> None:
    url, token = api
    with httpx.Client(base_url=url, timeout=30, headers=bearer(token)) as client:
        assert client.get("/api/ready").json()["checks"]["sandbox"] == "ok"
        outputs = [client.post("/api/python/run", json={"code": f"print({i} * 7)"}).json() for i in range(4)]
        assert [(body["status"], body["stdout"]) for body in outputs] == [
            ("success", f"{i * 7}\n") for i in range(4)
        ]
        assert all(runs_done(runner) >= 1 for runner in runners), "both runners should have served"
        checked = client.post(f"/api/python/check/{LESSON}/{ACTIVITY}", json={"code": MODEL})
        assert checked.status_code == 200, checked.text
        assert (checked.json()["run_status"], checked.json()["score"]) == (
            "success",
            checked.json()["max_score"],
        )
        check = {
            "op_id": str(uuid.uuid4()),
            "kind": "code.check",
            "lesson_id": LESSON,
            "activity_id": ACTIVITY,
            "payload": {"code": MODEL},
            "client_time": now_iso(),
        }
        pushed = push(client, token, [save_op({"code": MODEL}, lesson=LESSON, activity=ACTIVITY), check])
        assert [r["outcome"] for r in pushed.json()["results"]] == ["applied", "applied"]
        items, _ = pull_until(client, token, 2, kind="mark", timeout=60)
        marks = [item["mark"] for item in items if item["type"] == "mark"]
        assert any(mark.get("revision") == 1 and mark["score"] == mark["max_score"] for mark in marks), marks
    with httpx.Client(base_url=url, timeout=30) as admin:
        admin.headers.update(bearer(login(admin, "head")))
        sandbox = admin.get("/api/admin/metrics").json()["sandbox"]
        assert sandbox["status"] == "ok"
        assert [(node["url"], node["up"], node["usable"]) for node in sandbox["runners"]] == [
            (runner.url, True, True) for runner in runners
        ]
        counted = admin.get("/api/admin/metrics/counters").json()["sandbox_runs"]
        assert counted.get("success", 0) >= 6, counted  # 4 runs, 1 check, 1 queued check


def test_a_runner_killed_mid_run_answers_unavailable_and_the_next_run_uses_the_other(
    api: tuple[str, str], runners: list[RunnerProcess]
) -> None:
    url, token = api
    answer: dict[str, Any] = {}

    def press_run() -> None:
        started = time.monotonic()
        with httpx.Client(base_url=url, timeout=60, headers=bearer(token)) as client:
            response = client.post("/api/python/run", json={"code": SLOW})
        answer.update(
            status_code=response.status_code, body=response.json(), seconds=time.monotonic() - started
        )

    before = [runs_done(runner) for runner in runners]
    thread = threading.Thread(target=press_run)
    thread.start()
    deadline = time.monotonic() + 20
    busy = None
    while busy is None and time.monotonic() < deadline:
        busy = next((runner for runner in runners if runner.capacity()["running"] >= 1), None)
    assert busy is not None, "the run never started on a runner"
    survivor = runners[1 - runners.index(busy)]
    busy.kill()
    thread.join(30)
    assert not thread.is_alive(), "the request hung after its runner died"
    assert answer["status_code"] == 200, answer
    assert answer["body"]["status"] == "unavailable", answer
    assert "try again" in answer["body"]["message"]
    assert answer["seconds"] < 10
    # Not retried elsewhere: the program may have run, so it must not run a second time.
    assert runs_done(survivor) == before[runners.index(survivor)]
    with httpx.Client(base_url=url, timeout=30, headers=bearer(token)) as client:
        follow_up = client.post("/api/python/run", json={"code": "print('still here')"}).json()
    assert (follow_up["status"], follow_up["stdout"]) == ("success", "still here\n")
    assert runs_done(survivor) == before[runners.index(survivor)] + 1


async def test_a_runner_refusing_connections_is_skipped_and_the_run_happens_once(
    sandbox_image: str, tmp_path: Path
) -> None:
    from sandbox import RunRequest
    from server.domain.python.remote import RemoteRunners

    roomy = RunnerProcess(tmp_path, POST16_SANDBOX_CONCURRENCY="4", POST16_SANDBOX_POOL_SIZE="1")
    small = RunnerProcess(tmp_path, POST16_SANDBOX_CONCURRENCY="1", POST16_SANDBOX_POOL_SIZE="1")
    remote = RemoteRunners([roomy.url, small.url], RUNNER_SECRET, poll_seconds=3600)
    try:
        roomy.launch()
        small.launch()
        roomy.wait_ready()
        small.wait_ready()
        await remote.start()
        assert [info.reachable for info in remote.status().engines] == [True, True]
        roomy.kill()  # still reported up with the most free slots: it is tried first
        result = await remote.run(RunRequest(code="print('once')"), owner="ada")
        assert (result.status, result.stdout) == ("success", "once\n")
        assert runs_done(small) == 1
        assert "not reachable" in remote.status().engines[0].problem
    finally:
        await remote.close()
        roomy.stop()
        small.stop()
