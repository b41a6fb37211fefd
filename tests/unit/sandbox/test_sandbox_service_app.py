"""The runner service's HTTP face in-process, with no Docker engine behind it: the secret, refusals
naming the field, and a run refused (503 `no_engine`, nothing ran) while no engine is usable. The real
process against real Docker: tests/integration/sandbox/test_sandbox_service.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from sandbox import SandboxLimits
from sandbox._service import RunnerConfigError, create_runner_app

SECRET = "unit-test-runner-secret-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {SECRET}"}
RUN = {"request_id": "abcdefgh12", "owner": "ada", "request": {"code": "print(1)"}}


@pytest.fixture
def client() -> Iterator[TestClient[Any]]:
    app = create_runner_app(SECRET, limits=SandboxLimits(pool_size=0), engines=["unix:///nonexistent.sock"])
    with TestClient(app) as test_client:
        yield test_client


def test_a_weak_secret_stops_the_app_before_anything_starts() -> None:
    for secret in ("", "short", "secret" * 8):
        with pytest.raises(RunnerConfigError, match="POST16_RUNNER_SECRET: the runner secret"):
            create_runner_app(secret, engines=["unix:///nonexistent.sock"])


def test_without_the_secret_even_a_broken_body_is_refused_as_unauthorized(client: TestClient[Any]) -> None:
    response = client.post("/run", content=b"{not json")
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/health").json() == {"status": "ok"}


def test_with_no_usable_engine_a_run_is_refused_before_it_starts(client: TestClient[Any]) -> None:
    response = client.post("/run", json=RUN, headers=AUTH)
    assert response.status_code == 503
    assert response.json()["code"] == "no_engine"
    assert "not reachable" in response.json()["message"]
    assert response.headers["retry-after"] == "5"
    report = client.get("/capacity", headers=AUTH).json()
    assert (report["usable"], report["free_slots"]) == (False, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**RUN, "owner": ""}, "owner"),
        ({**RUN, "request": {"code": "x" * 70_000}}, "request.code"),
        (
            {"request_id": "abcdefgh12", "owner": "a", "code": "", "tests": [{"name": "t", "bogus": 1}]},
            "tests[0]",
        ),
    ],
)
def test_a_bad_body_is_refused_naming_the_field(
    client: TestClient[Any], body: dict[str, Any], field: str
) -> None:
    path = "/check" if "tests" in body else "/run"
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    assert field in response.json()["message"]


async def test_a_request_id_runs_once_a_refused_one_runs_again_and_old_ones_are_forgotten() -> None:
    import asyncio

    from sandbox import SandboxBusy
    from sandbox._service import _Once

    calls: list[str] = []
    release = asyncio.Event()

    async def slow_run() -> str:
        calls.append("run")
        await release.wait()
        return f"result {len(calls)}"

    once = _Once(keep=2, keep_seconds=3600)
    first = asyncio.ensure_future(once.run("run:a", slow_run))
    second = asyncio.ensure_future(once.run("run:a", slow_run))
    await asyncio.sleep(0)
    release.set()
    assert await first == ("result 1", False)
    assert await second == ("result 1", True)
    assert calls == ["run"]

    async def busy() -> str:
        calls.append("busy")
        raise SandboxBusy(3)

    with pytest.raises(SandboxBusy):
        await once.run("run:b", busy)
    with pytest.raises(SandboxBusy):
        await once.run("run:b", busy)
    assert calls == ["run", "busy", "busy"]

    expiring = _Once(keep=2, keep_seconds=0)
    assert await expiring.run("run:c", slow_run) == ("result 4", False)
    assert await expiring.run("run:c", slow_run) == ("result 5", False)  # expired: a new run


async def test_a_result_that_could_not_run_is_forgotten_and_a_held_one_can_be_asked_for() -> None:
    import asyncio

    from sandbox._service import _Once

    calls: list[str] = []
    release = asyncio.Event()

    async def unavailable() -> str:
        calls.append("unavailable")
        return "unavailable"

    async def slow_run() -> str:
        calls.append("run")
        await release.wait()
        return "marked"

    once = _Once(keep=8, keep_seconds=3600)
    ran = lambda result: result != "unavailable"  # noqa: E731
    assert await once.run("check:a", unavailable, ran) == ("unavailable", False)
    assert await once.run("check:a", unavailable, ran) == ("unavailable", False)  # ran again
    assert await once.result("check:a") is None
    running = asyncio.ensure_future(once.run("check:b", slow_run, ran))
    await asyncio.sleep(0)
    asked = asyncio.ensure_future(once.result("check:b"))  # waits for the run, does not start one
    await asyncio.sleep(0)
    release.set()
    assert await asked == "marked"
    assert await running == ("marked", False)
    assert await once.result("check:never") is None
    assert calls == ["unavailable", "unavailable", "run"]


def test_asking_for_a_check_the_runner_never_had_is_not_found(client: TestClient[Any]) -> None:
    assert client.get("/check/abcdefgh12").status_code == 401
    response = client.get("/check/abcdefgh12", headers=AUTH)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert client.get("/check/no!", headers=AUTH).status_code == 400
