"""`SandboxRunner`: the asyncio face of the sandbox that the server calls.

A run: validate the request; wait for a fair-share slot (or raise `SandboxBusy`); pick the least loaded
healthy engine; take a warm container; send the job through its attached stdin; read the result line;
remove the container in the background. Docker trouble never escapes as an exception: it becomes a
`RunResult` with status `unavailable` and a message saying why.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import logging
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import msgspec

from sandbox._engine import Engine, Exchange, WarmContainer
from sandbox._errors import SandboxInputError
from sandbox._limits import SandboxLimits, engines_from_env
from sandbox._marking import (
    CodeTestSpec,
    build_test_jobs,
    check_job,
    failed_check,
    judge_check,
    max_result_bytes,
)
from sandbox._metrics import CONTAINER_CPU, EXCHANGE, POOL_WAIT, QUEUE_DEPTH, QUEUE_WAIT, RUN_DURATION, RUNS
from sandbox._pool import EnginePool
from sandbox._scheduler import FairScheduler
from shared.lessons import PROBE_SHIM_SOURCE
from shared.wire.run import CheckResult, RunRequest, RunResult, RunStatus

log = logging.getLogger("sandbox")

# Time for the bootstrap to start the program and report, beyond the program's own time limit.
HOST_GRACE_SECONDS = 2.0
# Per test of a check, beyond its own time limit: a fresh interpreter, the shim, clearing up.
CHECK_OVERHEAD_PER_TEST_SECONDS = 0.5
_BOOTSTRAP_STATUSES = frozenset({"success", "error", "timeout", "memory", "output_limit"})


class EngineInfo(msgspec.Struct, kw_only=True):
    url: str
    reachable: bool
    image_present: bool
    pool_ready: int
    active_runs: int
    problem: str = ""


class EngineStatus(msgspec.Struct, kw_only=True):
    """Health of the sandbox for readiness checks: usable when at least one engine is reachable and
    has the image."""

    reachable: bool
    image_present: bool
    pool_size: int
    pool_ready: int
    running: int
    queued: int
    engines: list[EngineInfo]
    message: str = ""

    @property
    def usable(self) -> bool:
        return self.reachable and self.image_present


class _BootstrapResult(msgspec.Struct):
    status: str
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    duration_ms: float = 0.0
    message: str = ""


class _ReportedCpu(msgspec.Struct):
    cpu_seconds: float = 0.0


_REPORTED_CPU = msgspec.json.Decoder(_ReportedCpu)


def _observe_container_cpu(line: bytes) -> None:
    """The container's own CPU account of a run, for the metrics only (a bad value is ignored)."""
    try:
        reported = _REPORTED_CPU.decode(line).cpu_seconds
    except msgspec.DecodeError:
        return
    if 0 <= reported < 3600:
        CONTAINER_CPU.observe(reported)


class _Job(msgspec.Struct):
    code: str
    stdin: str
    files: list[dict[str, str]]
    timeout: float
    output_limit: int


class SandboxRunner:
    """Runs untrusted Python in throwaway containers on one or more Docker engines.

    `engines`: Docker URLs (default: `POST16_SANDBOX_ENGINES`, else `DOCKER_HOST`, else the local
    socket). Call `await start()` once, `await close()` at shutdown."""

    def __init__(self, limits: SandboxLimits | None = None, engines: Sequence[str] | None = None) -> None:
        self.limits = limits if limits is not None else SandboxLimits.from_env()
        self.engine_urls = list(engines) if engines else engines_from_env()
        self.instance_id = uuid.uuid4().hex
        per_engine_threads = self.limits.concurrency + self.limits.pool_size + 8
        self._executor = ThreadPoolExecutor(
            max_workers=per_engine_threads * len(self.engine_urls), thread_name_prefix="sandbox"
        )
        self._pools: list[EnginePool] = []
        self._scheduler = FairScheduler(
            capacity=self.limits.concurrency * len(self.engine_urls),
            max_runs_per_owner=self.limits.max_runs_per_owner,
            queue_size=self.limits.queue_size,
            max_queued_per_owner=self.limits.max_queued_per_owner,
            on_queue_change=QUEUE_DEPTH.inc,
        )
        self._round_robin = itertools.count()
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect to the engines, remove leftovers and start filling the pools. Never raises because
        Docker is down: runs then answer `unavailable` until it comes back."""
        if self._started:
            return
        self._started = True
        self._pools = [
            EnginePool(
                Engine(url, self.limits, self.instance_id),
                pool_size=self.limits.pool_size,
                concurrency=self.limits.concurrency,
                executor=self._executor,
            )
            for url in self.engine_urls
        ]
        await asyncio.gather(*(pool.start() for pool in self._pools))
        for pool in self._pools:
            if not pool.healthy:
                log.warning("sandbox engine not usable yet: %s", pool.problem)

    async def close(self) -> None:
        """Remove this runner's containers (warm ones and any still running) and stop."""
        pools, self._pools = self._pools, []
        await asyncio.gather(*(pool.close() for pool in pools), return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._started = False

    async def __aenter__(self) -> SandboxRunner:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def wait_until_idle(self, wait_seconds: float = 60.0) -> bool:
        """Wait until no run is in flight, used containers are removed and the pools are full again."""
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if all(pool.is_idle() for pool in self._pools) and self._scheduler.running == 0:
                return True
            await asyncio.sleep(0.02)
        return False

    @property
    def capacity(self) -> int:
        """Runs that may execute at once (`concurrency` per engine)."""
        return self._scheduler.capacity

    def status(self) -> EngineStatus:
        """The last known health of every engine (no Docker call; the pools keep it current)."""
        infos = [
            EngineInfo(
                url=pool.engine.url,
                reachable=pool.reachable,
                image_present=pool.image_present,
                pool_ready=pool.ready_count,
                active_runs=pool.active_runs,
                problem=pool.problem,
            )
            for pool in self._pools
        ]
        problems = [info.problem for info in infos if info.problem]
        if not self._pools:
            problems = ["the sandbox runner is not started"]
        return EngineStatus(
            reachable=any(info.reachable for info in infos),
            image_present=any(info.reachable and info.image_present for info in infos),
            pool_size=self.limits.pool_size * len(infos),
            pool_ready=sum(info.pool_ready for info in infos),
            running=self._scheduler.running,
            queued=self._scheduler.queued,
            engines=infos,
            message="; ".join(problems),
        )

    # -- runs --------------------------------------------------------------------------------------

    async def run(self, request: RunRequest, *, owner: str) -> RunResult:
        """Run `request` in a fresh container. Raises `SandboxBusy` when the queue is full and
        `SandboxInputError` for a request over the caps; everything else is a `RunResult`."""
        try:
            request = msgspec.convert(msgspec.to_builtins(request), RunRequest)
        except (msgspec.ValidationError, ValueError) as error:
            raise SandboxInputError(str(error)) from error
        job = _Job(
            code=request.code,
            stdin=request.stdin,
            files=[{"name": file.name, "content": file.content} for file in request.files],
            timeout=self.limits.timeout_seconds,
            output_limit=self.limits.output_limit_bytes,
        )
        # Result line: base64 of both capped streams plus a little JSON.
        max_line = (job.output_limit * 2) * 4 // 3 + 64 * 1024
        line, failure = await self._run_job(job, job.timeout, max_line, owner)
        if line is None:
            return failure
        return _run_result(line, job.output_limit)

    async def check(
        self, code: str, tests: Sequence[CodeTestSpec], *, owner: str, max_score: float = 1.0
    ) -> CheckResult:
        """Mark `code` against a code activity's tests in one container, each test in a fresh process;
        score = passed/total scaled to `max_score`. Only the tests' inputs and probe expressions go into
        the container; expected values stay here, where the judging happens. Raises `SandboxBusy` like
        `run` and `SandboxInputError` for tests that cannot be marked."""
        jobs = build_test_jobs(code, tests)
        if not jobs:
            return CheckResult(
                score=0.0, max_score=max_score, tests=[], run_status="success", message="no tests"
            )
        per_test = self.limits.timeout_seconds
        budget = self.limits.check_timeout_seconds - HOST_GRACE_SECONDS
        if (per_test + CHECK_OVERHEAD_PER_TEST_SECONDS) * len(jobs) > budget:
            per_test = max(budget / len(jobs) - CHECK_OVERHEAD_PER_TEST_SECONDS, 0.2)
        job = check_job(code, jobs, per_test, PROBE_SHIM_SOURCE)
        timeout = (per_test + CHECK_OVERHEAD_PER_TEST_SECONDS) * len(jobs) + 1.0
        line, failure = await self._run_job(job, timeout, max_result_bytes(len(jobs)), owner)
        if line is None:
            result = failed_check(jobs, failure, max_score)
        else:
            result = judge_check(jobs, line, per_test, max_score)
        return result

    async def _run_job(
        self, job: _Job | dict[str, object], time_limit: float, max_line: int, owner: str
    ) -> tuple[bytes | None, RunResult]:
        """Run one job in a fresh container: (its result line, _) or (None, why there is none)."""
        if not self._started:
            return None, _unavailable("the sandbox runner is not started")
        if not any(pool.healthy for pool in self._pools):
            failure = _unavailable(self.status().message or "no Docker engine is available")
            RUNS.labels(status=failure.status).inc()
            return None, failure
        queued_at = time.monotonic()
        async with self._scheduler.slot(owner):
            started = time.monotonic()
            QUEUE_WAIT.observe(started - queued_at)
            line, failure = await self._execute(job, time_limit, max_line)
            elapsed = time.monotonic() - started
        self._scheduler.record_run_seconds(elapsed)
        RUNS.labels(status=failure.status if line is None else "success").inc()
        RUN_DURATION.observe(elapsed)
        return line, failure

    async def _execute(
        self, job: _Job | dict[str, object], time_limit: float, max_line: int
    ) -> tuple[bytes | None, RunResult]:
        try:
            payload = msgspec.json.encode(job)
        except (msgspec.EncodeError, UnicodeEncodeError) as error:
            raise SandboxInputError(
                f"the program or its input holds characters that cannot be sent: {error}"
            ) from error
        payload = str(len(payload)).encode("ascii") + b"\n" + payload
        loop = asyncio.get_running_loop()
        for _attempt in range(2):
            pool = self._choose_pool()
            if pool is None:
                break
            pool.run_started()
            try:
                waiting_since = time.monotonic()
                warm = await pool.take(self.limits.pool_wait_seconds)
                POOL_WAIT.observe(time.monotonic() - waiting_since)
                if warm is None:
                    continue
                try:
                    exchange = await loop.run_in_executor(
                        self._executor,
                        pool.engine.exchange,
                        warm,
                        payload,
                        time_limit + HOST_GRACE_SECONDS,
                        max_line,
                    )
                except BaseException:
                    pool.discard(warm)
                    raise
                if exchange.outcome == "unsent":
                    # A stale warm container (e.g. the engine restarted): drop the pool, re-check, retry.
                    pool.discard(warm)
                    pool.mark_broken(f"lost contact with sandbox containers on {pool.engine.url}")
                    continue
                EXCHANGE.observe(exchange.seconds)
                if exchange.outcome == "line":
                    _observe_container_cpu(exchange.line)
                    pool.retire(warm)
                    return exchange.line, _unavailable("")
                failure = await self._no_line(pool, warm, exchange, time_limit, max_line)
                pool.discard(warm)
                return None, failure
            finally:
                pool.run_finished()
        return None, _unavailable(self.status().message or "no sandbox container became available")

    def _choose_pool(self) -> EnginePool | None:
        healthy = [pool for pool in self._pools if pool.healthy or pool.ready_count]
        if not healthy:
            return None
        offset = next(self._round_robin)
        ordered = healthy[offset % len(healthy) :] + healthy[: offset % len(healthy)]
        return min(ordered, key=lambda pool: (pool.active_runs / pool.concurrency, -pool.ready_count))

    async def _no_line(
        self, pool: EnginePool, warm: WarmContainer, exchange: Exchange, time_limit: float, max_line: int
    ) -> RunResult:
        """Why a container gave no result line: time, output, memory, or the engine going away."""
        duration_ms = round(exchange.seconds * 1000, 3)
        if exchange.outcome == "timeout":
            return RunResult(
                status="timeout",
                duration_ms=duration_ms,
                message=f"stopped after {time_limit:g} s (the time limit)",
            )
        if exchange.outcome == "overflow":
            return RunResult(
                status="output_limit",
                duration_ms=duration_ms,
                stdout_truncated=True,
                message=f"stopped after sending more than {max_line} bytes (the output limit)",
            )
        # The container ended without a result: its PID 1 died (OOM) or the engine went away.
        loop = asyncio.get_running_loop()
        oom = await loop.run_in_executor(self._executor, pool.engine.was_oom_killed, warm.container_id)
        if oom:
            return RunResult(
                status="memory",
                duration_ms=duration_ms,
                message="stopped: the program used more memory than allowed",
            )
        reachable = await pool.recheck()
        if not reachable:
            return _unavailable(pool.problem)
        detail = exchange.stderr.decode("utf-8", "replace").strip()[-500:]
        return RunResult(
            status="error",
            duration_ms=duration_ms,
            message="the sandbox stopped unexpectedly" + (f": {detail}" if detail else ""),
        )


def _run_result(line: bytes, limit: int) -> RunResult:
    """The bootstrap's result line of a run, read strictly."""
    try:
        reported = msgspec.json.decode(line, type=_BootstrapResult)
        stdout, stdout_cut = _decode_output(reported.stdout, limit)
        stderr, stderr_cut = _decode_output(reported.stderr, limit)
    except (msgspec.DecodeError, ValueError, binascii.Error):
        return RunResult(status="error", message="the sandbox sent back an unreadable result")
    if reported.status not in _BOOTSTRAP_STATUSES:
        return RunResult(status="error", message="the sandbox sent back an unknown status")
    status: RunStatus = reported.status  # type: ignore[assignment]
    return RunResult(
        status=status,
        exit_code=reported.exit_code,
        stdout=stdout,
        stderr=stderr,
        duration_ms=round(reported.duration_ms, 3),
        stdout_truncated=reported.stdout_truncated or stdout_cut,
        stderr_truncated=reported.stderr_truncated or stderr_cut,
        message=reported.message[:1000],
    )


def _decode_output(encoded: str, limit: int) -> tuple[str, bool]:
    raw = base64.b64decode(encoded, validate=True)
    cut = len(raw) > limit
    return raw[:limit].decode("utf-8", "replace"), cut


def _unavailable(message: str) -> RunResult:
    return RunResult(status="unavailable", message=message or "the sandbox is unavailable")


__all__ = ["EngineInfo", "EngineStatus", "SandboxRunner"]
