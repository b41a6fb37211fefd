"""The API's side of the runner services (`post16-sandbox serve`): runs and checks sent over httpx.

Spread: each runner's `/capacity` is polled in the background; a request goes to the runner with the
most free slots (less its queue and what this process sent it since its last report).

Failures, and what the caller sees:

- The request never started (connection refused or timed out, the runner answered `busy`, had no
  usable Docker engine (`no_engine`) or refused our secret): tried on the next runner with the same
  request id. All busy: `SandboxBusy`; none able to run it: `unavailable` saying why.
- The runner died, or stopped answering, after the request was sent: a `unavailable` result (the
  desktop and the check worker retry those), never a second attempt elsewhere — the program may have
  run, so a check is never executed twice for one request. Nothing waits past `timeout_seconds`.
- A check sent again under the same request id (the check worker uses the check's own id, and sends it
  again when the process that first sent it died): with `ask_first`, every runner is asked for that id's
  result first (`GET /check/{id}`, waiting while it still runs), and only if none had it is it sent.

Connections are not kept alive between requests: every request opens its own, so a refused
connection always means "never started", never a stale pooled socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
import msgspec
from prometheus_client import Counter

from sandbox import (
    CheckResult,
    CodeTestSpec,
    EngineInfo,
    EngineStatus,
    RunRequest,
    RunResult,
    SandboxBusy,
    SandboxInputError,
)
from shared.lessons.model import CodeTest
from shared.wire.runner import RunnerCapacity, RunnerCheck, RunnerRefusal, RunnerRun

log = logging.getLogger("post16.runners")
R = TypeVar("R", RunResult, CheckResult)

# Runs and checks as this API process saw them, per runner: the dashboard's "runs by result" chart and
# Grafana read it (the runs themselves are counted by each runner: tlac_runner_results_total).
RUNNER_CALLS = Counter(
    "tlac_runner_calls",
    "Runs and checks sent to runner services, by runner and result (a run status, busy, refused or "
    "unreachable).",
    ["runner", "result"],
)
CONNECT_TIMEOUT_SECONDS = 2.0
POLL_SECONDS = 2.0
POLL_TIMEOUT_SECONDS = 2.0


@dataclass
class RunnerNode:
    """What this process knows about one runner."""

    url: str
    up: bool = False
    report: RunnerCapacity | None = None
    problem: str = "not polled yet"
    sent_since_report: int = 0
    in_flight: int = 0
    checked_at: float = field(default=0.0)

    def score(self) -> int:
        if self.report is None:
            return -self.in_flight
        return self.report.free_slots - self.report.queued - self.sent_since_report

    def down(self, problem: str) -> None:
        if self.up:
            log.warning("runner %s is down: %s", self.url, problem)
        self.up = False
        self.problem = problem


class RemoteRunners:
    """Sends runs and checks to runner services; the same face as the in-process `SandboxRunner`
    (`start`, `close`, `run`, `check`, `status`), so the API and the check worker use either."""

    def __init__(
        self,
        urls: Sequence[str],
        secret: str,
        *,
        timeout_seconds: float = 90.0,
        connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS,
        poll_seconds: float = POLL_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not urls:
            raise ValueError("at least one runner URL is needed")
        self.nodes = [RunnerNode(url.rstrip("/")) for url in urls]
        self.timeout_seconds = timeout_seconds
        self.poll_seconds = poll_seconds
        self._client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {secret}"},
            timeout=httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
            transport=transport,
        )
        self._round_robin = itertools.count()
        self._poller: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.poll()
        self._poller = asyncio.create_task(self._poll_loop(), name="runner-capacity")

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        await self._client.aclose()

    async def poll(self) -> None:
        """Ask every runner for its capacity (in parallel)."""
        await asyncio.gather(*(self._poll_one(node) for node in self.nodes))

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            await self.poll()

    async def _poll_one(self, node: RunnerNode) -> None:
        try:
            response = await self._client.get(f"{node.url}/capacity", timeout=POLL_TIMEOUT_SECONDS)
            if response.status_code != 200:
                node.down(f"runner {node.url} answered {response.status_code} to /capacity: {_why(response)}")
                return
            report = msgspec.json.decode(response.content, type=RunnerCapacity)
        except (httpx.HTTPError, msgspec.DecodeError) as error:
            node.down(f"runner {node.url} is not reachable: {_short(error)}")
            return
        if not node.up:
            log.info("runner %s is up (%s)", node.url, report.runner_id)
        node.up, node.report, node.sent_since_report = True, report, 0
        node.problem = "" if report.usable else report.message or f"runner {node.url} has no usable engine"
        node.checked_at = time.monotonic()

    def status(self) -> EngineStatus:
        """Every runner as one `EngineInfo` (url = the runner's), from the last reports."""
        infos = [
            EngineInfo(
                url=node.url,
                reachable=node.up,
                image_present=node.up and node.report is not None and node.report.usable,
                pool_ready=node.report.pool_ready if node.up and node.report else 0,
                active_runs=node.report.running if node.up and node.report else 0,
                problem=node.problem,
            )
            for node in self.nodes
        ]
        reports = [node.report for node in self.nodes if node.up and node.report is not None]
        problems = [info.problem for info in infos if info.problem]
        return EngineStatus(
            reachable=any(info.reachable for info in infos),
            image_present=any(info.image_present for info in infos),
            pool_size=sum(report.pool_size for report in reports),
            pool_ready=sum(report.pool_ready for report in reports),
            running=sum(report.running for report in reports),
            queued=sum(report.queued for report in reports),
            engines=infos,
            message="; ".join(problems),
        )

    def nodes_summary(self) -> list[dict[str, object]]:
        """Per runner, for the admin console: up, usable, slots, queue, warm containers, problem."""
        summary: list[dict[str, object]] = []
        for node in self.nodes:
            report = node.report if node.up else None
            summary.append(
                {
                    "url": node.url,
                    "runner_id": report.runner_id if report else "",
                    "up": node.up,
                    "usable": bool(report and report.usable),
                    "capacity": report.capacity if report else 0,
                    "running": report.running if report else 0,
                    "free_slots": report.free_slots if report else 0,
                    "queued": report.queued if report else 0,
                    "pool_ready": report.pool_ready if report else 0,
                    "pool_size": report.pool_size if report else 0,
                    "problem": node.problem,
                }
            )
        return summary

    # -- runs --------------------------------------------------------------------------------------

    async def run(self, request: RunRequest, *, owner: str) -> RunResult:
        body = RunnerRun(request_id=uuid.uuid4().hex, owner=owner, request=request)
        return await self._send("/run", msgspec.json.encode(body), RunResult, _unavailable_run)

    async def check(
        self,
        code: str,
        tests: Sequence[CodeTestSpec],
        *,
        owner: str,
        max_score: float = 1.0,
        request_id: str | None = None,
        ask_first: bool = False,
    ) -> CheckResult:
        """Mark `code` on a runner. `request_id` (default: a new one) names the request to the runners;
        with `ask_first`, a runner that already ran (or is running) that request answers with its result
        and nothing runs again."""
        if request_id is not None and ask_first:
            found = await self._find_check(request_id)
            if found is not None:
                return found
        wire_tests = [
            CodeTest(
                name=test.name,
                stdin=test.stdin,
                expected_stdout=test.expected_stdout,
                assert_code=test.assert_code,
                hidden=bool(getattr(test, "hidden", False)),
            )
            for test in tests
        ]
        body = RunnerCheck(
            request_id=request_id or uuid.uuid4().hex,
            owner=owner,
            code=code,
            tests=wire_tests,
            max_score=max_score,
        )

        def unavailable(message: str) -> CheckResult:
            return CheckResult(
                score=0.0, max_score=max_score, tests=[], run_status="unavailable", message=message
            )

        return await self._send("/check", msgspec.json.encode(body), CheckResult, unavailable)

    async def _find_check(self, request_id: str) -> CheckResult | None:
        """The result of check `request_id` from whichever runner had it (None when none did, or it
        could not run there: then it is sent again)."""

        async def ask(node: RunnerNode) -> CheckResult | None:
            try:
                response = await self._client.get(f"{node.url}/check/{request_id}")
                if response.status_code != 200:
                    return None
                result = msgspec.json.decode(response.content, type=CheckResult)
            except (httpx.HTTPError, msgspec.DecodeError):
                return None  # down or gone: what it ran died with it
            if result.run_status == "unavailable":
                return None
            RUNNER_CALLS.labels(runner=node.url, result="found").inc()
            log.info("check %s was already marked by runner %s", request_id, node.url)
            return result

        answers = await asyncio.gather(*(ask(node) for node in self.nodes))
        return next((answer for answer in answers if answer is not None), None)

    def _candidates(self) -> list[RunnerNode]:
        """Usable runners, most free capacity first (ties in turn); then the ones last seen down (they may
        be back); last, runners that answer but reported no usable Docker engine."""
        offset = next(self._round_robin) % len(self.nodes)
        turned = self.nodes[offset:] + self.nodes[:offset]
        usable = [node for node in turned if node.up and (node.report is None or node.report.usable)]
        usable.sort(key=lambda node: -node.score())
        down = [node for node in turned if not node.up]
        unusable = [node for node in turned if node.up and node not in usable]
        return usable + down + unusable

    async def _send(
        self,
        path: str,
        content: bytes,
        result_type: type[R],
        unavailable: Callable[[str], R],
    ) -> R:
        busy: list[int] = []
        problems: list[str] = []
        for node in self._candidates():
            node.in_flight += 1
            node.sent_since_report += 1
            try:
                response = await self._client.post(
                    f"{node.url}{path}", content=content, headers={"Content-Type": "application/json"}
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                node.down(f"runner {node.url} is not reachable: {_short(error)}")
                problems.append(node.problem)
                RUNNER_CALLS.labels(runner=node.url, result="unreachable").inc()
                continue  # never started: the next runner may take it
            except httpx.TimeoutException:
                log.warning("runner %s did not answer %s within %s s", node.url, path, self.timeout_seconds)
                RUNNER_CALLS.labels(runner=node.url, result="unavailable").inc()
                return unavailable(
                    f"the Python runner did not answer within {self.timeout_seconds:g} s; try again"
                )
            except httpx.HTTPError as error:
                node.down(f"runner {node.url} stopped during a run: {_short(error)}")
                log.warning("runner %s failed during %s: %s", node.url, path, _short(error))
                RUNNER_CALLS.labels(runner=node.url, result="unavailable").inc()
                return unavailable("the Python runner stopped while running your program; try again")
            finally:
                node.in_flight -= 1
            if response.status_code == 200:
                try:
                    result = msgspec.json.decode(response.content, type=result_type)
                except msgspec.DecodeError as error:
                    log.error("runner %s sent an unreadable %s result: %s", node.url, path, error)
                    RUNNER_CALLS.labels(runner=node.url, result="unavailable").inc()
                    return unavailable("the Python runner sent back an unreadable result")
                status = result.status if isinstance(result, RunResult) else result.run_status
                RUNNER_CALLS.labels(runner=node.url, result=status).inc()
                return result
            refusal = _refusal(response)
            if response.status_code == 503 and refusal.code == "busy":
                RUNNER_CALLS.labels(runner=node.url, result="busy").inc()
                busy.append(refusal.retry_after_seconds or 1)
                continue  # nothing ran there
            if response.status_code == 503 and refusal.code == "no_engine":
                RUNNER_CALLS.labels(runner=node.url, result="no_engine").inc()
                node.problem = f"runner {node.url}: {refusal.message}"
                if node.report is not None:
                    node.report = msgspec.structs.replace(node.report, usable=False, free_slots=0)
                problems.append(node.problem)
                continue  # nothing ran there
            if response.status_code == 400:
                RUNNER_CALLS.labels(runner=node.url, result="bad_request").inc()
                raise SandboxInputError(refusal.message)
            RUNNER_CALLS.labels(runner=node.url, result="refused").inc()
            if response.status_code == 401:
                node.down(f"runner {node.url} refused this server's secret (POST16_RUNNER_SECRET differs)")
                log.error("%s", node.problem)
                problems.append(node.problem)
                continue  # refused before anything ran
            code = response.status_code
            log.error("runner %s answered %s to %s: %s", node.url, code, path, refusal.message)
            return unavailable(f"the Python runner failed: {refusal.message}")
        if busy:
            raise SandboxBusy(min(busy), "every Python runner is busy")
        return unavailable("no Python runner is reachable" + (f": {problems[-1]}" if problems else ""))


def _unavailable_run(message: str) -> RunResult:
    return RunResult(status="unavailable", message=message)


def _refusal(response: httpx.Response) -> RunnerRefusal:
    try:
        return msgspec.json.decode(response.content, type=RunnerRefusal)
    except msgspec.DecodeError:
        return RunnerRefusal(code="internal", message=f"HTTP {response.status_code}")


def _why(response: httpx.Response) -> str:
    return _refusal(response).message


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


__all__ = ["RUNNER_CALLS", "RemoteRunners", "RunnerNode"]
