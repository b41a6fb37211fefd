"""Fair share: per-owner caps, round-robin between owners, and a bounded queue that says when to retry."""

import asyncio

import pytest

from sandbox import SandboxBusy
from sandbox._scheduler import FairScheduler


def scheduler(
    capacity: int = 2, per_owner: int = 1, queue: int = 10, per_owner_queue: int = 10
) -> FairScheduler:
    return FairScheduler(
        capacity, max_runs_per_owner=per_owner, queue_size=queue, max_queued_per_owner=per_owner_queue
    )


async def test_free_slots_are_granted_at_once() -> None:
    fair = scheduler(capacity=2, per_owner=2)
    await fair.acquire("a")
    await fair.acquire("b")
    assert fair.running == 2
    assert fair.queued == 0


async def test_one_owner_cannot_hold_more_than_its_share() -> None:
    fair = scheduler(capacity=4, per_owner=1)
    await fair.acquire("greedy")
    second = asyncio.create_task(fair.acquire("greedy"))
    await asyncio.sleep(0)
    assert not second.done()
    await fair.acquire("other")  # another pupil still gets a free slot
    assert fair.running_for("greedy") == 1
    fair.release("greedy")
    await asyncio.wait_for(second, 1)
    assert fair.running_for("greedy") == 1


async def test_waiting_owners_are_served_round_robin_not_first_come() -> None:
    fair = scheduler(capacity=1, per_owner=1)
    await fair.acquire("holder")
    order: list[str] = []

    async def run(owner: str) -> None:
        async with fair.slot(owner):
            order.append(owner)
            await asyncio.sleep(0)

    # Alice queues three runs before Bob and Carol queue one each.
    tasks = [asyncio.create_task(run(owner)) for owner in ["alice", "alice", "alice", "bob", "carol"]]
    await asyncio.sleep(0)
    fair.release("holder")
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
    assert order == ["alice", "bob", "carol", "alice", "alice"]


async def test_full_queue_refuses_with_a_retry_estimate() -> None:
    fair = scheduler(capacity=1, per_owner=1, queue=2)
    await fair.acquire("a")
    waiting = [asyncio.create_task(fair.acquire(owner)) for owner in ("b", "c")]
    await asyncio.sleep(0)
    with pytest.raises(SandboxBusy) as busy:
        await fair.acquire("d")
    assert busy.value.retry_after_seconds >= 1
    assert "retry" in str(busy.value) or "try again" in str(busy.value)
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    assert fair.queued == 0


async def test_one_owner_cannot_fill_the_queue() -> None:
    fair = scheduler(capacity=1, per_owner=1, queue=10, per_owner_queue=2)
    await fair.acquire("a")
    waiting = [asyncio.create_task(fair.acquire("a")) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(SandboxBusy):
        await fair.acquire("a")
    other = asyncio.create_task(fair.acquire("b"))  # someone else may still queue
    await asyncio.sleep(0)
    assert fair.queued == 3
    for task in [*waiting, other]:
        task.cancel()
    await asyncio.gather(*waiting, other, return_exceptions=True)


async def test_a_cancelled_waiter_leaves_the_queue_and_holds_nothing() -> None:
    depth: list[int] = []
    fair = FairScheduler(
        1, max_runs_per_owner=1, queue_size=5, max_queued_per_owner=5, on_queue_change=depth.append
    )
    await fair.acquire("a")
    waiter = asyncio.create_task(fair.acquire("b"))
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    fair.release("a")
    assert fair.running == 0
    assert fair.queued == 0
    assert sum(depth) == 0


async def test_retry_estimate_grows_with_the_queue() -> None:
    fair = scheduler(capacity=1, per_owner=1, queue=100)
    fair.record_run_seconds(2.0)
    empty = fair.retry_after_seconds()
    await fair.acquire("x")
    waiting = [asyncio.create_task(fair.acquire(f"o{i}")) for i in range(20)]
    await asyncio.sleep(0)
    assert fair.retry_after_seconds() > empty
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
