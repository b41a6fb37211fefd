"""`post16-sandbox serve`: the runner as a service of its own, the only process that talks to Docker.

The API (which faces every laptop) holds no Docker socket: it sends runs and checks here over an
internal network (shared/wire/runner.py). This process owns the warm pool, the fair-share queue and the
marking, exactly as the in-process `SandboxRunner` does; expected values of a check are judged here and
never enter a container.

Endpoints (JSON, msgspec):

    GET  /health      liveness, no secret needed: {"status": "ok"}
    GET  /capacity    RunnerCapacity: free slots, queue depth, warm containers
    POST /run         RunnerRun   -> RunResult
    POST /check       RunnerCheck -> CheckResult
    GET  /check/{id}  the result of a check this runner had under that request id (waiting for it if it
                      is still running), 404 if it never had it: the API asks before it resends a check
                      whose first sender died, so the check does not run a second time elsewhere
    GET  /metrics     Prometheus text: tlac_runner_* and the pool's tlac_sandbox_*

Every endpoint but /health needs `Authorization: Bearer <POST16_RUNNER_SECRET>` (compared in constant
time); the service refuses to start without a strong secret. A request id seen again is answered with the
first run's result, so a resent request never runs twice. One process per host: the pool and the queue
live in it (run it with one worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import re
import socket
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, JSONBody
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sandbox._errors import SandboxBusy, SandboxInputError
from sandbox._limits import SandboxLimits, engines_from_env
from sandbox._runner import SandboxRunner
from shared.wire.run import RUN_STATUSES, CheckResult, RunResult
from shared.wire.runner import (
    REQUEST_ID_PATTERN,
    RUNNER_MAX_BODY_BYTES,
    RefusalCode,
    RunnerCapacity,
    RunnerCheck,
    RunnerRefusal,
    RunnerRun,
    runner_secret_problem,
)

log = logging.getLogger("sandbox.service")
T = TypeVar("T")

SECRET_VARIABLE = "POST16_RUNNER_SECRET"  # noqa: S105 (a variable name, not a secret)
# Results kept for repeated request ids: a repeat comes within the API's timeout (90 s by default), or,
# for a queued check whose API process died, after the API's POST16_CHECK_STALE_SECONDS (300 by
# default); each result may hold two capped output streams (128 KiB), so keep few (at most ~64 MiB).
RECENT_REQUESTS = 512
RECENT_SECONDS = 600.0
_PUBLIC = "public"

REQUESTS = Counter(
    "tlac_runner_requests", "Requests to the runner service by endpoint and outcome.", ["endpoint", "outcome"]
)
RESULTS = Counter(
    "tlac_runner_results", "Runs and checks finished by this runner, by status.", ["kind", "status"]
)
REQUEST_DURATION = Histogram(
    "tlac_runner_request_duration_seconds",
    "Time from a run or check arriving to its answer, queueing included.",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0),
)
for _kind in ("run", "check"):
    for _status in RUN_STATUSES:
        RESULTS.labels(kind=_kind, status=_status)


class RunnerConfigError(ValueError):
    """The runner cannot start: the message names the variable."""


def secret_from_env(environ: dict[str, str] | None = None) -> str:
    """`POST16_RUNNER_SECRET`, or the file named by `POST16_RUNNER_SECRET_FILE` (a Docker secret).
    Raises `RunnerConfigError` when it is missing, unreadable, short or a default."""
    env = dict(os.environ) if environ is None else environ
    path = env.get(f"{SECRET_VARIABLE}_FILE")
    name = f"{SECRET_VARIABLE}_FILE" if path else SECRET_VARIABLE
    if path:
        try:
            secret = Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise RunnerConfigError(f"{name}: cannot read {path} ({error.strerror})") from error
    else:
        secret = env.get(SECRET_VARIABLE, "").strip()
    problem = runner_secret_problem(secret)
    if problem is not None:
        raise RunnerConfigError(
            f"{name}: the runner secret {problem}; generate one: openssl rand -hex 32 > secrets/runner_secret"
        )
    return secret


class RunnerUnusable(Exception):
    """No engine of this runner is usable: refused before anything runs, so the API may try another."""


class _Once:
    """Remembers recent request ids: a request seen again waits for, and answers with, the first one's
    result instead of running the program a second time. A refused request (busy, bad input), and one
    whose result says it could not run (`unavailable`), is forgotten, so sending it again later runs it.
    Entries go after `keep_seconds` or when more than `keep` are held, oldest first."""

    def __init__(self, keep: int = RECENT_REQUESTS, keep_seconds: float = RECENT_SECONDS) -> None:
        self.keep = keep
        self.keep_seconds = keep_seconds
        self._tasks: OrderedDict[str, tuple[asyncio.Future[Any], float]] = OrderedDict()

    async def run(
        self, key: str, make: Callable[[], Awaitable[T]], ran: Callable[[T], bool] = lambda _result: True
    ) -> tuple[T, bool]:
        """(result, whether it was a repeat); a result for which `ran` is false is not remembered."""
        self._forget_old()
        held = self._tasks.get(key)
        repeat = held is not None
        task: asyncio.Future[Any]
        if held is None:
            task = asyncio.ensure_future(make())
            task.add_done_callback(lambda done: self._settled(key, done, ran))
            self._tasks[key] = (task, time.monotonic())
            while len(self._tasks) > self.keep:
                self._tasks.popitem(last=False)
        else:
            task = held[0]
        # Shielded: a caller that went away does not stop a run that has started.
        result: T = await asyncio.shield(task)
        return result, repeat

    async def result(self, key: str) -> Any | None:
        """The result held for `key` (waiting for it while it runs), or None if there is none."""
        self._forget_old()
        held = self._tasks.get(key)
        if held is None:
            return None
        with contextlib.suppress(Exception):
            return await asyncio.shield(held[0])
        return None  # it failed (busy, bad input): it never ran

    def _forget_old(self) -> None:
        horizon = time.monotonic() - self.keep_seconds
        while self._tasks:
            _key, (task, created) = next(iter(self._tasks.items()))
            if created > horizon or not task.done():
                return
            self._tasks.popitem(last=False)

    def _settled(self, key: str, task: asyncio.Future[Any], ran: Callable[[Any], bool]) -> None:
        failed = task.cancelled() or task.exception() is not None or not ran(task.result())
        held = self._tasks.get(key)
        if failed and held is not None and held[0] is task:
            del self._tasks[key]


class _CapacityCollector(Collector):
    """Capacity gauges read from the runner at scrape time."""

    def __init__(self, service: RunnerService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        capacity = self.service.capacity()
        for name, help_text, value in (
            ("tlac_runner_up", "1 when an engine is reachable with the sandbox image.", int(capacity.usable)),
            ("tlac_runner_capacity_slots", "Runs this runner may execute at once.", capacity.capacity),
            ("tlac_runner_running", "Runs executing now.", capacity.running),
            ("tlac_runner_free_slots", "Running slots not in use.", capacity.free_slots),
            ("tlac_runner_queue_depth", "Runs waiting for a slot.", capacity.queued),
            ("tlac_runner_queue_size", "Most runs that may wait.", capacity.queue_size),
            ("tlac_runner_pool_ready", "Warm containers waiting for a run.", capacity.pool_ready),
        ):
            family = GaugeMetricFamily(name, help_text, labels=["runner"])
            family.add_metric([capacity.runner_id], value)
            yield family


class RunnerService:
    """The runner behind the HTTP endpoints: one `SandboxRunner`, the request-id memory, the secret."""

    def __init__(self, runner: SandboxRunner, secret: str, runner_id: str | None = None) -> None:
        problem = runner_secret_problem(secret)
        if problem is not None:
            raise RunnerConfigError(f"{SECRET_VARIABLE}: the runner secret {problem}")
        self.runner = runner
        self.runner_id = runner_id or f"{socket.gethostname()}-{runner.instance_id[:8]}"
        self._authorization = f"Bearer {secret}".encode()
        self._once = _Once()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_CapacityCollector(self))

    def authorized(self, header: str | None) -> bool:
        return hmac.compare_digest((header or "").encode("utf-8", "replace"), self._authorization)

    def capacity(self) -> RunnerCapacity:
        status = self.runner.status()
        usable = status.usable
        capacity = self.runner.capacity
        return RunnerCapacity(
            runner_id=self.runner_id,
            usable=usable,
            capacity=capacity,
            running=status.running,
            free_slots=max(capacity - status.running, 0) if usable else 0,
            queued=status.queued,
            queue_size=self.runner.limits.queue_size,
            pool_size=status.pool_size,
            pool_ready=status.pool_ready,
            engines=len(status.engines),
            message=status.message,
        )

    def _require_engine(self) -> None:
        status = self.runner.status()
        if not status.usable:
            raise RunnerUnusable(status.message or "no Docker engine is usable")

    async def run(self, body: RunnerRun) -> RunResult:
        self._require_engine()
        with REQUEST_DURATION.labels(kind="run").time():
            result, repeat = await self._once.run(
                f"run:{body.request_id}",
                lambda: self.runner.run(body.request, owner=body.owner),
                lambda result: result.status != "unavailable",
            )
        if not repeat:
            RESULTS.labels(kind="run", status=result.status).inc()
        REQUESTS.labels(endpoint="run", outcome="repeat" if repeat else "ok").inc()
        return result

    async def check(self, body: RunnerCheck) -> CheckResult:
        self._require_engine()
        with REQUEST_DURATION.labels(kind="check").time():
            result, repeat = await self._once.run(
                f"check:{body.request_id}",
                lambda: self.runner.check(body.code, body.tests, owner=body.owner, max_score=body.max_score),
                lambda result: result.run_status != "unavailable",
            )
        if not repeat:
            RESULTS.labels(kind="check", status=result.run_status).inc()
            failed = "; ".join(f"{test.name}: {test.message}" for test in result.tests if not test.passed)
            log.info(
                "check %s for %s: %s, score %g%s",
                body.request_id,
                body.owner,
                result.run_status,
                result.score,
                f" (failed: {failed})" if failed else "",
            )
        REQUESTS.labels(endpoint="check", outcome="repeat" if repeat else "ok").inc()
        return result

    async def check_result(self, request_id: str) -> CheckResult | None:
        """The result of a check this runner had under `request_id` (None if it never had one)."""
        result: CheckResult | None = await self._once.result(f"check:{request_id}")
        if result is not None:
            REQUESTS.labels(endpoint="check", outcome="found").inc()
        return result

    def metrics(self) -> bytes:
        return generate_latest(REGISTRY) + generate_latest(self.registry)


# -- HTTP ------------------------------------------------------------------------------------------


def _service(state: State) -> RunnerService:
    service: RunnerService = state.service
    return service


def _require_secret(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    if handler.opt.get(_PUBLIC):
        return
    if not _service(connection.app.state).authorized(connection.headers.get("authorization")):
        raise NotAuthorizedException("a valid runner secret is needed (Authorization: Bearer ...)")


@get("/health", opt={_PUBLIC: True}, sync_to_thread=False)
def health() -> dict[str, str]:
    """Liveness: the process answers. Capacity (and whether Docker is usable) is at /capacity."""
    return {"status": "ok"}


@get("/capacity", sync_to_thread=False)
def capacity(state: State) -> RunnerCapacity:
    REQUESTS.labels(endpoint="capacity", outcome="ok").inc()
    return _service(state).capacity()


@post("/run", status_code=200)
async def run(data: JSONBody[RunnerRun], state: State) -> RunResult:
    return await _service(state).run(data)


@post("/check", status_code=200)
async def check(data: JSONBody[RunnerCheck], state: State) -> CheckResult:
    return await _service(state).check(data)


@get("/check/{request_id:str}")
async def check_result(request_id: FromPath[str], state: State) -> CheckResult:
    if not re.fullmatch(REQUEST_ID_PATTERN, request_id):
        raise ValidationException("request_id: not a request id")
    result = await _service(state).check_result(request_id)
    if result is None:
        raise NotFoundException(f"no check {request_id} here")
    return result


@get("/metrics", sync_to_thread=False)
def metrics(state: State) -> Response[bytes]:
    return Response(_service(state).metrics(), media_type="text/plain; version=0.0.4; charset=utf-8")


def _refusal(
    request: Request[Any, Any, Any],
    status: int,
    code: RefusalCode,
    message: str,
    retry_after: int | None = None,
) -> Response[RunnerRefusal]:
    endpoint = request.url.path.strip("/") or "root"
    REQUESTS.labels(
        endpoint=endpoint if endpoint in {"run", "check", "capacity", "metrics"} else "other", outcome=code
    ).inc()
    level = logging.ERROR if status >= 500 else logging.WARNING
    client = request.client.host if request.client else "?"
    log.log(level, "refused %s %s from %s: %s %s", request.method, request.url.path, client, status, message)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return Response(
        RunnerRefusal(code=code, message=message, retry_after_seconds=retry_after),
        status_code=status,
        headers=headers,
        media_type=MediaType.JSON,
    )


def _busy_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[RunnerRefusal]:
    assert isinstance(exc, SandboxBusy)
    return _refusal(request, 503, "busy", str(exc), exc.retry_after_seconds)


def _unusable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[RunnerRefusal]:
    return _refusal(request, 503, "no_engine", str(exc), 5)


def _input_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[RunnerRefusal]:
    return _refusal(request, 400, "bad_request", str(exc))


def _http_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[RunnerRefusal]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    message = str(exc.detail)
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        first = exc.extra[0]
        if isinstance(first, dict):
            key = first.get("key")
            detail = str(first.get("message") or message)
            message = f"{key}: {detail}" if key else detail
    code: RefusalCode = {401: "unauthorized", 404: "not_found"}.get(status, "bad_request")  # type: ignore[assignment]
    if status >= 500:
        code = "internal"
    return _refusal(request, status, code, message)


def _internal_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[RunnerRefusal]:
    log.error("runner failed on %s", request.url.path, exc_info=exc)
    return _refusal(request, 500, "internal", "the runner failed; see its log")


def create_runner_app(
    secret: str,
    *,
    limits: SandboxLimits | None = None,
    engines: Sequence[str] | None = None,
    runner_id: str | None = None,
) -> Litestar:
    """The runner's ASGI app. Raises `RunnerConfigError` for a weak secret, before anything starts."""
    sandbox_runner = SandboxRunner(limits if limits is not None else SandboxLimits.from_env(), engines)
    service = RunnerService(sandbox_runner, secret, runner_id)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        await sandbox_runner.start()
        log.info("runner %s serving on engines %s", service.runner_id, ", ".join(sandbox_runner.engine_urls))
        try:
            yield
        finally:
            await sandbox_runner.close()

    return Litestar(
        route_handlers=[health, capacity, run, check, check_result, metrics],
        guards=[_require_secret],
        state=State({"service": service}),
        lifespan=[lifespan],
        exception_handlers={
            SandboxBusy: _busy_handler,
            RunnerUnusable: _unusable_handler,
            SandboxInputError: _input_handler,
            HTTPException: _http_handler,
            Exception: _internal_handler,
        },
        request_max_body_size=RUNNER_MAX_BODY_BYTES,
        openapi_config=None,
        debug=False,
    )


def create_runner_app_from_env() -> Litestar:
    """Factory for `uvicorn --factory`: the secret, limits and engines from the environment."""
    return create_runner_app(secret_from_env(), limits=SandboxLimits.from_env(), engines=engines_from_env())


__all__ = [
    "RunnerConfigError",
    "RunnerService",
    "create_runner_app",
    "create_runner_app_from_env",
    "secret_from_env",
]
