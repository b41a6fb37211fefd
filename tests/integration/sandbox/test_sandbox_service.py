"""`post16-sandbox serve` as a real process: it refuses to start without a strong secret, refuses
requests without it, and runs and marks code in real containers."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.runners import REPO, RunnerProcess, free_port, runner_env, serve_command

pytestmark = [pytest.mark.docker]

CLAMP = "def clamp(value, low, high):\n    return max(low, min(value, high))\n"
CLAMP_TESTS = [
    {"name": "inside", "assert_code": "assert clamp(5, 0, 10) == 5"},
    {"name": "above", "assert_code": "assert clamp(12, 0, 10) == 10"},
    {"name": "below", "assert_code": "assert clamp(-3, 0, 10) == 0"},
    {"name": "hidden edge", "assert_code": "assert clamp(10, 0, 10) == 10", "hidden": True},
]


@pytest.fixture(scope="module")
def runner(docker_api: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunnerProcess]:
    process = RunnerProcess(tmp_path_factory.mktemp("runner")).start()
    yield process
    process.stop()


def request_id() -> str:
    return uuid.uuid4().hex


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "POST16_RUNNER_SECRET: the runner secret is empty"),
        ("a" * 40, "is a default or too simple"),
    ],
)
def test_the_runner_refuses_to_start_without_a_strong_secret(secret: str | None, message: str) -> None:
    done = subprocess.run(
        serve_command(free_port()),
        env=runner_env(secret),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 2
    assert message in done.stderr
    if secret:
        assert secret not in done.stderr  # the secret itself never reaches a log


def test_every_endpoint_but_health_refuses_a_missing_or_wrong_secret(runner: RunnerProcess) -> None:
    assert httpx.get(f"{runner.url}/health", timeout=5).json() == {"status": "ok"}
    body = {"request_id": request_id(), "owner": "p1", "request": {"code": "print(1)"}}
    wrong = {"Authorization": "Bearer " + "x" * len(runner.secret)}
    for headers in ({}, wrong, {"Authorization": runner.secret}):
        for method, path, payload in (
            ("POST", "/run", body),
            ("POST", "/check", {**body, "code": "", "tests": []}),
            ("GET", "/capacity", None),
            ("GET", "/metrics", None),
        ):
            response = httpx.request(method, f"{runner.url}{path}", json=payload, headers=headers, timeout=5)
            assert response.status_code == 401, (path, headers, response.text)
            assert response.json()["code"] == "unauthorized"
    assert runner.metric("tlac_runner_results_total", kind="run", status="success") == 0


def test_the_runner_runs_a_program_in_a_container(runner: RunnerProcess) -> None:
    body = {
        "request_id": request_id(),
        "owner": "p1",
        "request": {"code": "print(input() * 2)", "stdin": "ab\n"},
    }
    response = httpx.post(f"{runner.url}/run", json=body, headers=runner.headers, timeout=30)
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["stdout"]) == ("success", "abab\n")


def test_the_runner_marks_a_check_and_hides_hidden_tests(runner: RunnerProcess) -> None:
    wrong = "def clamp(value, low, high):\n    return value\n"
    scores = []
    for code in (CLAMP, wrong):
        body = {"request_id": request_id(), "owner": "p1", "code": code, "tests": CLAMP_TESTS, "max_score": 4}
        response = httpx.post(f"{runner.url}/check", json=body, headers=runner.headers, timeout=30)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["run_status"] == "success"
        scores.append(result["score"])
        hidden = result["tests"][3]
        assert hidden["passed"] or hidden["message"] == "this hidden test did not pass"
    assert scores == [4.0, 2.0]


def test_a_repeated_request_id_answers_the_first_result_without_running_again(runner: RunnerProcess) -> None:
    body = {
        "request_id": request_id(),
        "owner": "p2",
        "request": {"code": "import os\nprint(os.urandom(8).hex())"},
    }
    before = runner.metric("tlac_runner_results_total", kind="run", status="success")
    first = httpx.post(f"{runner.url}/run", json=body, headers=runner.headers, timeout=30).json()
    again = httpx.post(f"{runner.url}/run", json=body, headers=runner.headers, timeout=30).json()
    assert first["stdout"] == again["stdout"] != ""
    assert runner.metric("tlac_runner_results_total", kind="run", status="success") == before + 1
    assert runner.metric("tlac_runner_requests_total", endpoint="run", outcome="repeat") >= 1


def test_bad_requests_are_refused_naming_the_field(runner: RunnerProcess) -> None:
    for body, field in (
        (
            {
                "request_id": request_id(),
                "owner": "p1",
                "request": {"code": "x", "files": [{"name": "../etc"}]},
            },
            "request.files[0]",
        ),
        ({"request_id": "no", "owner": "p1", "request": {"code": "x"}}, "request_id"),
        ({"request_id": request_id(), "owner": "p1", "request": {"code": "x"}, "extra": 1}, "extra"),
    ):
        response = httpx.post(f"{runner.url}/run", json=body, headers=runner.headers, timeout=10)
        assert response.status_code == 400, response.text
        assert field in response.json()["message"]
    check = {
        "request_id": request_id(),
        "owner": "p1",
        "code": "x",
        "tests": [{"name": "t", "assert_code": "assert ("}],
    }
    response = httpx.post(f"{runner.url}/check", json=check, headers=runner.headers, timeout=10)
    assert response.status_code == 400, response.text
    garbage = httpx.post(f"{runner.url}/run", content=b"{not json", headers=runner.headers, timeout=10)
    assert garbage.status_code == 400


def test_capacity_and_metrics_describe_the_runner(runner: RunnerProcess) -> None:
    report = runner.capacity()
    assert report["usable"] is True
    assert (report["capacity"], report["free_slots"], report["queued"]) == (2, 2, 0)
    text = httpx.get(f"{runner.url}/metrics", headers=runner.headers, timeout=5).text
    for name in (
        "tlac_runner_up",
        "tlac_runner_free_slots",
        "tlac_runner_queue_depth",
        "tlac_runner_results_total",
    ):
        assert f"\n{name}" in text, name
    assert runner.metric("tlac_runner_up", runner=report["runner_id"]) == 1


def test_log_names_refusals_but_never_the_secret(runner: RunnerProcess, tmp_path: Path) -> None:
    httpx.get(f"{runner.url}/capacity", headers={"Authorization": "Bearer guess"}, timeout=5)
    log = runner.log_path.read_text()
    assert "refused GET /capacity" in log
    assert runner.secret not in log
