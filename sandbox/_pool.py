"""A warm pool per engine: containers created and started ahead of time, refilled in the background.

Each container serves exactly one run and is then removed (in the background, off the caller's path).
The pool also tracks the engine's health: when Docker is down or the image is missing, takers are told
at once (the runner answers `unavailable`) and the pool keeps re-checking with back-off.

Bursts: creating, starting and removing a container costs the Docker engine about 0.1 CPU seconds,
more than the interpreters of a whole 4-test check (docs/performance.md, "Runner service: a class
burst"). When a class presses Check together, that churn would compete for the same cores as the checks
themselves. So, while runs are in flight, the pool only creates what the running slots need next
(`low_water`: a container for every slot, or a caller already waiting) and leaves containers that
finished cleanly (their PID 1 wrote the result and killed every other process, so nothing of the
pupil's runs on; it then idles, so that the engine tears the container down at its removal and not
during the burst) for removal once the engine has been idle for `IDLE_GRACE_SECONDS`. A pool sized
for a class (`POST16_SANDBOX_POOL_SIZE`, e.g. 32) then serves the whole burst from warm containers, and
the churn happens in the quiet after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

from sandbox._engine import Engine, WarmContainer
from sandbox._metrics import CONTAINER_REMOVE, CONTAINER_START, POOL_READY

log = logging.getLogger("sandbox.pool")
T = TypeVar("T")

MAX_PARALLEL_CREATES = 3
# Maintenance (refilling above the low-water mark, removing finished containers) waits until no run has
# been in flight on this engine for this long, so it does not compete with a burst for the CPU.
IDLE_GRACE_SECONDS = 0.25
# Finished containers left for later removal, at most: beyond this they are removed at once.
MAX_DEFERRED_REMOVALS = 64
RECHECK_MIN_SECONDS = 0.5
RECHECK_MAX_SECONDS = 5.0


class EnginePool:
    def __init__(self, engine: Engine, *, pool_size: int, concurrency: int, executor: Executor) -> None:
        self.engine = engine
        self.pool_size = pool_size
        self.concurrency = concurrency
        self.active_runs = 0
        self.reachable = False
        self.image_present = False
        self.problem = "not started"
        self._executor = executor
        self._ready: deque[WarmContainer] = deque()
        self._takers: deque[asyncio.Future[WarmContainer | None]] = deque()
        self._creating = 0
        self._background: set[asyncio.Future[Any]] = set()
        self._wake = asyncio.Event()
        self._refill_task: asyncio.Task[None] | None = None
        self._closed = False
        self._retry_at = 0.0
        self._create_backoff = RECHECK_MIN_SECONDS
        self._finished: list[WarmContainer] = []
        self._busy_until = 0.0

    @property
    def healthy(self) -> bool:
        return self.reachable and self.image_present and not self._closed

    @property
    def ready_count(self) -> int:
        return len(self._ready)

    @property
    def busy_removing(self) -> int:
        return len(self._background) + len(self._finished)

    @property
    def low_water(self) -> int:
        """Warm containers kept ready even during a burst: one for each running slot."""
        return min(self.pool_size, self.concurrency)

    def run_started(self) -> None:
        self.active_runs += 1

    def run_finished(self) -> None:
        self.active_runs -= 1
        self._busy_until = time.monotonic() + IDLE_GRACE_SECONDS
        self._wake.set()

    def _quiet(self) -> bool:
        """No run in flight, and none for `IDLE_GRACE_SECONDS`: time for maintenance."""
        return self.active_runs == 0 and time.monotonic() >= self._busy_until

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def start(self) -> None:
        await self.recheck()
        if self.reachable:
            try:
                removed = await self._call(self.engine.remove_leftovers)
                if removed:
                    log.info("removed %d leftover sandbox containers on %s", removed, self.engine.url)
            except Exception as error:
                log.warning("could not list leftover sandbox containers on %s: %s", self.engine.url, error)
        self._refill_task = asyncio.create_task(self._refill_loop(), name=f"sandbox-refill {self.engine.url}")

    async def recheck(self) -> bool:
        reachable, image_present, problem = await self._call(self.engine.check)
        was_healthy = self.healthy
        self.reachable, self.image_present, self.problem = reachable, image_present, problem
        if not self.healthy:
            if was_healthy:
                log.warning("sandbox engine unhealthy: %s", problem)
            self._fail_takers()
        self._wake.set()
        return self.healthy

    def mark_broken(self, problem: str) -> None:
        """A run found the engine (or its pool) broken: drop the warm containers and re-check."""
        self.reachable = False
        self.problem = problem
        while self._ready:
            self.discard(self._ready.popleft(), counted=True)
        self._fail_takers()
        self._wake.set()

    async def take(self, wait_seconds: float) -> WarmContainer | None:
        """A warm container, or None when the engine is unhealthy or none came within `wait_seconds`."""
        if self._ready:
            warm = self._ready.popleft()
            POOL_READY.dec()
            self._wake.set()
            return warm
        if not self.healthy:
            return None
        waiter: asyncio.Future[WarmContainer | None] = asyncio.get_running_loop().create_future()
        self._takers.append(waiter)
        self._wake.set()
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), wait_seconds)
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                return waiter.result()
            waiter.cancel()
            return None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                granted = waiter.result()
                if granted is not None:
                    self.discard(granted)
            waiter.cancel()
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._takers.remove(waiter)

    def discard(self, warm: WarmContainer, *, counted: bool = False) -> None:
        """Remove a used (or unusable) container in the background, now."""
        if counted:
            POOL_READY.dec()
        self._track(asyncio.ensure_future(self._call(self._timed_discard, warm)))

    def retire(self, warm: WarmContainer) -> None:
        """A container whose run ended cleanly (its PID 1 wrote the result and killed the pupil's
        processes; it idles until removed): removed when the engine is quiet, so removal does not
        compete with the runs of a burst."""
        self._finished.append(warm)
        if len(self._finished) > MAX_DEFERRED_REMOVALS:
            self.discard(self._finished.pop(0))
        self._wake.set()

    def _remove_finished(self) -> None:
        while self._finished:
            self.discard(self._finished.pop())

    def _timed_discard(self, warm: WarmContainer) -> None:
        with CONTAINER_REMOVE.time():
            self.engine.discard(warm)

    def _track(self, future: asyncio.Future[Any]) -> None:
        self._background.add(future)
        future.add_done_callback(self._background_done)

    def _background_done(self, future: asyncio.Future[Any]) -> None:
        self._background.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.warning("sandbox cleanup failed on %s: %s", self.engine.url, future.exception())
        self._wake.set()

    def _fail_takers(self) -> None:
        while self._takers:
            waiter = self._takers.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _wanted(self) -> int:
        """Containers to start now: up to the pool size when quiet; during runs, only what waiting
        callers and the low-water mark need."""
        waiting = sum(1 for waiter in self._takers if not waiter.done())
        target = self.pool_size if self._quiet() else self.low_water
        return max(target, 0) + waiting - len(self._ready) - self._creating

    async def _refill_loop(self) -> None:
        backoff = RECHECK_MIN_SECONDS
        while not self._closed:
            if not self.healthy:
                try:
                    healthy = await self.recheck()
                except Exception as error:
                    healthy = False
                    self.problem = str(error)
                if not healthy:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), backoff)
                    self._wake.clear()
                    backoff = min(backoff * 2, RECHECK_MAX_SECONDS)
                    continue
                backoff = RECHECK_MIN_SECONDS
            pause = self._retry_at - time.monotonic()
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), pause)
                self._wake.clear()
                continue
            if self._quiet():
                self._remove_finished()
            while self._wanted() > 0 and self._creating < MAX_PARALLEL_CREATES and self.healthy:
                self._creating += 1
                self._track(asyncio.ensure_future(self._create_one()))
            maintenance_due = self._busy_until - time.monotonic()
            if self.active_runs == 0 and maintenance_due > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), maintenance_due)
            else:
                await self._wake.wait()
            self._wake.clear()

    async def _create_one(self) -> None:
        try:
            started = time.monotonic()
            warm = await self._call(self.engine.create_warm)
            CONTAINER_START.observe(time.monotonic() - started)
        except Exception as error:
            self._creating -= 1
            log.warning("could not start a sandbox container on %s: %s", self.engine.url, error)
            self.problem = f"could not start a sandbox container on {self.engine.url}: {error}"
            self._retry_at = time.monotonic() + self._create_backoff
            self._create_backoff = min(self._create_backoff * 2, RECHECK_MAX_SECONDS)
            self._fail_takers()
            self._wake.set()
            return
        self._creating -= 1
        self._create_backoff = RECHECK_MIN_SECONDS
        if self._closed:
            await self._call(self.engine.discard, warm)
            return
        while self._takers:
            waiter = self._takers.popleft()
            if not waiter.done():
                waiter.set_result(warm)
                return
        self._ready.append(warm)
        POOL_READY.inc()

    def is_idle(self) -> bool:
        return (
            not self._background
            and not self._finished
            and self._creating == 0
            and self.active_runs == 0
            and (len(self._ready) >= self.pool_size or not self.healthy)
        )

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._fail_takers()
        if self._refill_task is not None:
            self._refill_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refill_task
        while self._ready:
            self.discard(self._ready.popleft(), counted=True)
        self._remove_finished()
        deadline = time.monotonic() + 30
        while self._background and time.monotonic() < deadline:
            await asyncio.wait(set(self._background), timeout=max(deadline - time.monotonic(), 0.01))
        with contextlib.suppress(Exception):
            await self._call(self.engine.remove_own)
        await self._call(self.engine.close)


__all__ = ["EnginePool"]
