"""The API's runner client (server.domain.python.remote) against scripted runners (httpx.MockTransport):
which runner gets a run, what is retried elsewhere (only what never started) and what the caller sees.
The same client against real runner processes: tests/integration/server/test_server_runners.py."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import msgspec
import pytest

from sandbox import RunRequest, SandboxBusy, SandboxInputError
from server.domain.python.remote import RemoteRunners
from shared.lessons.model import CodeTest
from shared.wire.runner import RunnerCapacity, RunnerCheck, RunnerRun

SECRET = "unit-test-runner-secret-0123456789abcdef"
A, B = "http://runner-a:8700", "http://runner-b:8700"
Behaviour = Callable[[httpx.Request], httpx.Response]


def capacity(free: int, queued: int = 0) -> httpx.Response:
    report = RunnerCapacity(
        runner_id="r",
        usable=True,
        capacity=4,
        running=4 - free,
        free_slots=free,
        queued=queued,
        queue_size=32,
        pool_size=4,
        pool_ready=4,
        engines=1,
    )
    return httpx.Response(200, content=msgspec.json.encode(report))


def success(request: httpx.Request) -> httpx.Response:
    body = msgspec.json.decode(request.content)
    if request.url.path == "/check":
        check = msgspec.convert(body, RunnerCheck)
        result = {
            "score": check.max_score,
            "max_score": check.max_score,
            "tests": [],
            "run_status": "success",
        }
        return httpx.Response(200, json=result)
    run = msgspec.convert(body, RunnerRun)
    return httpx.Response(200, json={"status": "success", "stdout": run.request.code})


class Runners:
    """Scripted runners: capacity per host and what /run and /check do; records every request."""

    def __init__(
        self,
        free: dict[str, int],
        behaviour: dict[str, Behaviour],
        known: dict[str, dict[str, dict[str, object]]] | None = None,
    ) -> None:
        self.free = free
        self.behaviour = behaviour
        self.known = known or {}  # host -> request id -> the check result it holds
        self.calls: list[tuple[str, str, str]] = []  # (host, path, request id)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host = f"http://{request.url.host}:{request.url.port}"
        assert request.headers["authorization"] == f"Bearer {SECRET}"
        if request.url.path == "/capacity":
            if self.free.get(host) is None:
                raise httpx.ConnectError("connection refused", request=request)
            return capacity(self.free[host])
        if request.method == "GET" and request.url.path.startswith("/check/"):
            request_id = request.url.path.rpartition("/")[2]
            self.calls.append((host, "GET /check", request_id))
            if self.free.get(host) is None:
                raise httpx.ConnectError("connection refused", request=request)
            held = self.known.get(host, {}).get(request_id)
            if held is None:
                return httpx.Response(404, json={"code": "not_found", "message": "no such check here"})
            return httpx.Response(200, json=held)
        request_id = msgspec.json.decode(request.content)["request_id"]
        self.calls.append((host, request.url.path, request_id))
        return self.behaviour.get(host, success)(request)


async def started(runners: Runners, *urls: str) -> RemoteRunners:
    remote = RemoteRunners(
        list(urls) or [A, B], SECRET, poll_seconds=3600, transport=httpx.MockTransport(runners)
    )
    await remote.start()
    return remote


def refuse_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def die_mid_run(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)


def busy(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"code": "busy", "message": "queue full", "retry_after_seconds": 7})


async def test_a_run_goes_to_the_runner_with_the_most_free_slots() -> None:
    runners = Runners({A: 1, B: 3}, {})
    remote = await started(runners)
    try:
        result = await remote.run(RunRequest(code="print(1)"), owner="ada")
        assert result.status == "success"
        assert [host for host, _, _ in runners.calls] == [B]
    finally:
        await remote.close()


async def test_a_burst_is_spread_over_both_runners_before_the_next_report() -> None:
    runners = Runners({A: 2, B: 2}, {})
    remote = await started(runners)
    try:
        for pupil in range(4):
            await remote.run(RunRequest(code="print(1)"), owner=f"pupil-{pupil}")
        hosts = [host for host, _, _ in runners.calls]
        assert sorted(hosts) == [A, A, B, B]
    finally:
        await remote.close()


async def test_a_refused_connection_is_retried_on_the_other_runner_with_the_same_request_id() -> None:
    runners = Runners({A: 4, B: 1}, {A: refuse_connection})
    remote = await started(runners)
    try:
        result = await remote.run(RunRequest(code="print('once')"), owner="ada")
        assert (result.status, result.stdout) == ("success", "print('once')")
        assert [(host, path) for host, path, _ in runners.calls] == [(A, "/run"), (B, "/run")]
        assert runners.calls[0][2] == runners.calls[1][2]
        assert not remote.status().engines[0].reachable
    finally:
        await remote.close()


async def test_a_runner_dying_mid_check_answers_unavailable_and_nothing_runs_elsewhere() -> None:
    runners = Runners({A: 4, B: 1}, {A: die_mid_run})
    remote = await started(runners)
    try:
        tests = [CodeTest(name="t", assert_code="assert f() == 1", hidden=True)]
        result = await remote.check("def f(): return 1", tests, owner="ada", max_score=3)
        assert (result.run_status, result.score, result.max_score) == ("unavailable", 0.0, 3)
        assert "try again" in result.message
        assert [host for host, _, _ in runners.calls] == [A]
    finally:
        await remote.close()


async def test_a_busy_runner_passes_the_run_on_and_all_busy_says_busy() -> None:
    runners = Runners({A: 4, B: 1}, {A: busy})
    remote = await started(runners)
    try:
        assert (await remote.run(RunRequest(code="x"), owner="ada")).status == "success"
        runners.behaviour[B] = busy
        with pytest.raises(SandboxBusy) as refused:
            await remote.run(RunRequest(code="x"), owner="ada")
        assert refused.value.retry_after_seconds == 7
    finally:
        await remote.close()


async def test_a_bad_request_is_the_callers_error_and_is_not_retried() -> None:
    def bad(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"code": "bad_request", "message": "request.files[0]: bad name"})

    runners = Runners({A: 4, B: 1}, {A: bad})
    remote = await started(runners)
    try:
        with pytest.raises(SandboxInputError, match=r"request\.files\[0\]"):
            await remote.run(RunRequest(code="x"), owner="ada")
        assert len(runners.calls) == 1
    finally:
        await remote.close()


async def test_a_runner_failing_is_unavailable_and_not_retried() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"code": "internal", "message": "the runner failed; see its log"})

    runners = Runners({A: 4, B: 1}, {A: broken})
    remote = await started(runners)
    try:
        result = await remote.run(RunRequest(code="x"), owner="ada")
        assert (result.status, result.message) == (
            "unavailable",
            "the Python runner failed: the runner failed; see its log",
        )
        assert len(runners.calls) == 1
    finally:
        await remote.close()


async def test_no_runner_reachable_is_unavailable_naming_why() -> None:
    runners = Runners({}, {A: refuse_connection, B: refuse_connection})
    remote = await started(runners)
    try:
        status = remote.status()
        assert (status.reachable, status.usable) == (False, False)
        result = await remote.run(RunRequest(code="x"), owner="ada")
        assert result.status == "unavailable"
        assert "no Python runner is reachable" in result.message
    finally:
        await remote.close()


async def test_a_read_timeout_is_unavailable_not_a_hang() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    runners = Runners({A: 4}, {A: slow})
    remote = await started(runners, A)
    try:
        result = await remote.run(RunRequest(code="x"), owner="ada")
        assert result.status == "unavailable"
        assert "did not answer within 90 s" in result.message
    finally:
        await remote.close()


async def test_a_runner_without_a_usable_engine_passes_the_run_on_and_alone_is_unavailable() -> None:
    def no_engine(request: httpx.Request) -> httpx.Response:
        message = "Docker engine unix:///var/run/docker.sock is not reachable"
        return httpx.Response(503, json={"code": "no_engine", "message": message, "retry_after_seconds": 5})

    runners = Runners({A: 4, B: 1}, {A: no_engine})
    remote = await started(runners)
    try:
        assert (await remote.run(RunRequest(code="x"), owner="ada")).status == "success"
        assert [host for host, _, _ in runners.calls] == [A, B]
        assert [host for host, _, _ in runners.calls[2:]] == []
        await remote.run(RunRequest(code="x"), owner="ada")
        assert runners.calls[2][0] == B  # A is now known to have no engine: asked last
        runners.behaviour[B] = no_engine
        result = await remote.run(RunRequest(code="x"), owner="ada")
        assert result.status == "unavailable"
        assert "is not reachable" in result.message
    finally:
        await remote.close()


CHECK_ID = "0123456789abcdef0123456789abcdef"
TESTS = [CodeTest(name="t", assert_code="assert f() == 1", hidden=True)]


async def test_a_check_sent_again_is_answered_by_the_runner_that_ran_it_and_runs_nowhere_else() -> None:
    marked = {"score": 3.0, "max_score": 3.0, "tests": [], "run_status": "success"}
    runners = Runners({A: 4, B: 1}, {}, known={B: {CHECK_ID: marked}})
    remote = await started(runners)
    try:
        result = await remote.check(
            "def f(): return 1", TESTS, owner="ada", max_score=3, request_id=CHECK_ID, ask_first=True
        )
        assert (result.run_status, result.score) == ("success", 3.0)
        assert sorted(runners.calls) == [(A, "GET /check", CHECK_ID), (B, "GET /check", CHECK_ID)]
    finally:
        await remote.close()


async def test_a_check_no_runner_has_a_result_for_is_sent_once_under_its_own_request_id() -> None:
    could_not_run = {"score": 0.0, "max_score": 3.0, "tests": [], "run_status": "unavailable"}
    runners = Runners({A: 4, B: 1}, {}, known={B: {CHECK_ID: could_not_run}})
    remote = await started(runners)
    try:
        result = await remote.check(
            "def f(): return 1", TESTS, owner="ada", max_score=3, request_id=CHECK_ID, ask_first=True
        )
        assert result.run_status == "success"
        posts = [(host, request_id) for host, path, request_id in runners.calls if path == "/check"]
        assert posts == [(A, CHECK_ID)]
    finally:
        await remote.close()
