"""A class burst against a real Docker engine: the warm pool serves it without container churn competing
for the cores (sandbox/_pool.py), and tidies up in the quiet after it."""

import asyncio

import docker
import msgspec
import pytest
from sandbox_helpers import ENGINE, TEST_LIMITS, own_containers, run_code

from sandbox import SandboxRunner

pytestmark = [pytest.mark.docker]

POOL = 6
SLOTS = 2
# Long enough that the runs overlap, short enough to keep the test quick.
PROGRAM = "import time\ntime.sleep(0.4)\nprint('done')"


async def test_a_burst_is_served_from_the_pool_and_churn_waits_for_the_quiet(
    docker_api: docker.APIClient,
) -> None:
    limits = msgspec.structs.replace(TEST_LIMITS, pool_size=POOL, concurrency=SLOTS, max_runs_per_owner=1)
    async with SandboxRunner(limits, engines=[ENGINE]) as runner:
        assert await runner.wait_until_idle(60), "the warm pool did not fill"
        warm_before = {str(entry["Id"]) for entry in own_containers(docker_api, runner)}
        assert len(warm_before) == POOL

        seen_during_burst: set[str] = set()
        stopped_during_burst = 0
        burst = asyncio.gather(*(run_code(runner, PROGRAM, owner=f"pupil-{n}") for n in range(POOL)))
        while not burst.done():
            containers = await asyncio.to_thread(own_containers, docker_api, runner)
            seen_during_burst |= {str(entry["Id"]) for entry in containers}
            stopped_during_burst = max(
                stopped_during_burst, sum(1 for entry in containers if entry["State"] != "running")
            )
            await asyncio.sleep(0.05)
        results = await burst

        assert [result.status for result in results] == ["success"] * POOL, results
        created_during_burst = seen_during_burst - warm_before
        # Six runs through two slots: the pool of six serves them all; it only tops up to the two the
        # running slots need once it runs low, instead of replacing every container it hands out.
        assert len(created_during_burst) <= SLOTS, created_during_burst
        # Finished containers wait (stopped: nothing of the pupil's runs on) to be removed after it.
        assert stopped_during_burst >= 1

        assert await runner.wait_until_idle(60), "the pool did not settle after the burst"
        after = own_containers(docker_api, runner)
        assert all(entry["State"] == "running" for entry in after), after
        assert len(after) == POOL, "refilled to the pool size, with every finished container removed"
        assert not warm_before & {str(entry["Id"]) for entry in after}, "a used container was kept"
