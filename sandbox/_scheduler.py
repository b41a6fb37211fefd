"""Who runs next: a bounded queue in front of the engines, served round-robin by owner.

A class pressing Run together is served in turn: each owner (a pupil) may hold at most
`max_runs_per_owner` running slots, and when a slot frees, the next owner in the ring gets it rather
than whoever queued first. A full queue refuses at once with a retry-after estimate.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sandbox._errors import SandboxBusy


class FairScheduler:
    """Admission control for runs; `slot(owner)` is held for the whole run."""

    def __init__(
        self,
        capacity: int,
        *,
        max_runs_per_owner: int,
        queue_size: int,
        max_queued_per_owner: int,
        on_queue_change: Callable[[int], None] | None = None,
    ) -> None:
        self.capacity = capacity
        self.max_runs_per_owner = max_runs_per_owner
        self.queue_size = queue_size
        self.max_queued_per_owner = max_queued_per_owner
        self._running: Counter[str] = Counter()
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self._ring: deque[str] = deque()
        self._average_run_seconds = 0.5
        self._on_queue_change = on_queue_change or (lambda _delta: None)

    @property
    def running(self) -> int:
        return sum(self._running.values())

    @property
    def queued(self) -> int:
        return sum(len(waiters) for waiters in self._waiting.values())

    def running_for(self, owner: str) -> int:
        return self._running[owner]

    def retry_after_seconds(self) -> int:
        """A guess at how long until a new caller would get a slot: the queue ahead, served at
        `capacity` runs at a time, at the recent average run time."""
        rounds = (self.queued + 1) / max(self.capacity, 1)
        return max(1, math.ceil(rounds * self._average_run_seconds))

    def record_run_seconds(self, seconds: float) -> None:
        self._average_run_seconds = 0.8 * self._average_run_seconds + 0.2 * seconds

    @asynccontextmanager
    async def slot(self, owner: str) -> AsyncIterator[None]:
        await self.acquire(owner)
        try:
            yield
        finally:
            self.release(owner)

    async def acquire(self, owner: str) -> None:
        if self._can_start(owner) and not self._waiting.get(owner):
            self._running[owner] += 1
            return
        if self.queued >= self.queue_size:
            raise SandboxBusy(self.retry_after_seconds(), "the sandbox queue is full")
        waiters = self._waiting.get(owner)
        if waiters is not None and len(waiters) >= self.max_queued_per_owner:
            raise SandboxBusy(
                self.retry_after_seconds(), "you already have runs waiting; wait for them first"
            )
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if waiters is None:
            waiters = self._waiting[owner] = deque()
            self._ring.append(owner)
        waiters.append(granted)
        self._on_queue_change(1)
        try:
            await granted
        except BaseException:
            if granted.done() and not granted.cancelled():
                # Granted and cancelled in the same breath: give the slot back.
                self.release(owner)
            else:
                self._forget(owner, granted)
            raise

    def release(self, owner: str) -> None:
        self._running[owner] -= 1
        if self._running[owner] <= 0:
            del self._running[owner]
        self._dispatch()

    def _can_start(self, owner: str) -> bool:
        return self.running < self.capacity and self._running[owner] < self.max_runs_per_owner

    def _dispatch(self) -> None:
        """Grant free slots to waiting owners in ring order, skipping owners at their cap."""
        checked = 0
        while self._ring and self.running < self.capacity and checked < len(self._ring):
            owner = self._ring[0]
            self._ring.rotate(-1)
            if self._running[owner] >= self.max_runs_per_owner:
                checked += 1
                continue
            waiters = self._waiting[owner]
            granted = waiters.popleft()
            if not waiters:
                del self._waiting[owner]
                self._ring.remove(owner)
            self._running[owner] += 1
            self._on_queue_change(-1)
            granted.set_result(None)
            checked = 0

    def _forget(self, owner: str, waiter: asyncio.Future[None]) -> None:
        waiters = self._waiting.get(owner)
        if waiters is None:
            return
        try:
            waiters.remove(waiter)
        except ValueError:
            return
        self._on_queue_change(-1)
        if not waiters:
            del self._waiting[owner]
            self._ring.remove(owner)


__all__ = ["FairScheduler"]
