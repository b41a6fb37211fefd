"""Several engines, leftovers, fair share and the busy queue, against real Docker engines."""

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import msgspec
import pytest
from sandbox_helpers import (
    ENGINE,
    TEST_LIMITS,
    all_sandbox_containers,
    own_containers,
    run_code,
    service_missing,
)
from support.runners import ENGINE2, start_second_engine

from sandbox import SandboxBusy, SandboxRunner
from sandbox._engine import LABEL, LABEL_HOST, LABEL_INSTANCE, LABEL_PID, Engine

pytestmark = [pytest.mark.docker]

REPO = Path(__file__).resolve().parents[3]
# The root file system's overlay options name the engine's data root.
SHOW_DATA_ROOT = "print(open('/proc/self/mounts').readline())"


@pytest.fixture(scope="session")
def second_engine(docker_api: docker.APIClient) -> Iterator[docker.APIClient]:
    """A second dockerd with its own socket and data root (scripts/provision.sh docker2)."""
    problem = start_second_engine()
    if problem is not None:
        service_missing(f"a second Docker engine could not be started: {problem}")
    api = docker.APIClient(base_url=ENGINE2, version="1.41", timeout=30)
    yield api
    api.close()


@pytest.mark.slow
async def test_runs_are_spread_across_two_engines(
    docker_api: docker.APIClient, second_engine: docker.APIClient
) -> None:
    limits = msgspec.structs.replace(TEST_LIMITS, pool_size=1, concurrency=2, max_runs_per_owner=1)
    async with SandboxRunner(limits, engines=[ENGINE, ENGINE2]) as runner:
        assert runner.status().usable
        assert all(info.reachable and info.image_present for info in runner.status().engines)
        code = "import os, time\ntime.sleep(0.3)\n" + SHOW_DATA_ROOT
        results = await asyncio.gather(*(run_code(runner, code, owner=f"pupil-{i}") for i in range(8)))
        assert all(result.status == "success" for result in results), results
        info = docker_api.info()["DockerRootDir"], second_engine.info()["DockerRootDir"]
        used = {root for root in info if any(root in result.stdout for result in results)}
        assert used == set(info), [result.stdout for result in results]
        await runner.wait_until_idle(30)
    for api in (docker_api, second_engine):
        assert api.containers(all=True, filters={"label": f"{LABEL_INSTANCE}={runner.instance_id}"}) == []


async def test_an_unreachable_engine_is_skipped_while_another_serves(
    docker_api: docker.APIClient, tmp_path: Path
) -> None:
    dead = f"unix://{tmp_path / 'gone.sock'}"
    limits = msgspec.structs.replace(TEST_LIMITS, pool_size=1)
    async with SandboxRunner(limits, engines=[dead, ENGINE]) as runner:
        status = runner.status()
        assert status.usable
        assert [info.reachable for info in status.engines] == [False, True]
        results = [await run_code(runner, "print('ok')") for _ in range(3)]
        assert [result.status for result in results] == ["success"] * 3


async def test_leftover_containers_from_a_dead_runner_are_removed_at_start(
    docker_api: docker.APIClient,
) -> None:
    labels = {
        LABEL: "1",
        LABEL_INSTANCE: "dead-runner",
        LABEL_HOST: socket.gethostname(),
        LABEL_PID: "999999",
    }
    stopped = docker_api.create_container(TEST_LIMITS.image, command=["true"], labels=labels)["Id"]
    running = docker_api.create_container(
        TEST_LIMITS.image,
        command=["sleep", "600"],
        labels=labels,
        host_config=docker_api.create_host_config(network_mode="none"),
    )["Id"]
    docker_api.start(running)
    limits = msgspec.structs.replace(TEST_LIMITS, pool_size=1)
    async with SandboxRunner(limits, engines=[ENGINE]) as runner:
        remaining = {entry["Id"] for entry in all_sandbox_containers(docker_api)}
        assert stopped not in remaining
        assert running not in remaining
        await runner.wait_until_idle(30)
        assert len(own_containers(docker_api, runner)) == 1
    assert own_containers(docker_api, runner) == []


async def test_a_class_pressing_run_together_is_served_in_turn(docker_api: docker.APIClient) -> None:
    limits = msgspec.structs.replace(
        TEST_LIMITS, pool_size=2, concurrency=1, max_runs_per_owner=1, queue_size=10, max_queued_per_owner=5
    )
    finished: list[str] = []
    async with SandboxRunner(limits, engines=[ENGINE]) as runner:
        await runner.wait_until_idle(30)

        async def press_run(owner: str) -> None:
            result = await run_code(runner, "import time\ntime.sleep(0.1)\nprint('done')", owner=owner)
            assert result.status == "success", result
            finished.append(owner)

        tasks = [asyncio.create_task(press_run("alice"))]
        await asyncio.sleep(0.02)
        tasks += [asyncio.create_task(press_run("alice")) for _ in range(2)]
        await asyncio.sleep(0.02)
        tasks += [asyncio.create_task(press_run(owner)) for owner in ("bob", "carol")]
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    assert finished == ["alice", "alice", "bob", "carol", "alice"]


async def test_a_full_queue_says_busy_with_a_retry_time_and_recovers(docker_api: docker.APIClient) -> None:
    limits = msgspec.structs.replace(
        TEST_LIMITS, pool_size=1, concurrency=1, max_runs_per_owner=1, queue_size=2, max_queued_per_owner=2
    )
    async with SandboxRunner(limits, engines=[ENGINE]) as runner:
        await runner.wait_until_idle(30)
        slow = "import time\ntime.sleep(0.5)\nprint('done')"
        running = [asyncio.create_task(run_code(runner, slow, owner=f"pupil-{i}")) for i in range(3)]
        await asyncio.sleep(0.05)
        assert runner.status().queued == 2
        with pytest.raises(SandboxBusy) as busy:
            await run_code(runner, slow, owner="latecomer")
        assert busy.value.retry_after_seconds >= 1
        assert "try again in" in str(busy.value)
        results = await asyncio.wait_for(asyncio.gather(*running), 60)
        assert [result.status for result in results] == ["success"] * 3
        assert (await run_code(runner, "print('my turn')", owner="latecomer")).stdout == "my turn\n"


def test_a_warm_container_whose_runner_vanished_exits_by_itself(docker_api: docker.APIClient) -> None:
    engine = Engine(ENGINE, TEST_LIMITS, instance_id="vanishing-runner")
    try:
        warm = engine.create_warm()
        warm.stream.close()  # what the kernel does to our socket when the server process dies
        outcome = docker_api.wait(warm.container_id, timeout=20)
        assert outcome["StatusCode"] == 0
        engine.remove(warm.container_id)
    finally:
        engine.remove_own()
        engine.close()


def stop_second_engine() -> None:
    pid = int(Path(os.environ.get("POST16_DOCKER2_EXEC", "/var/run/post16-docker2") + ".pid").read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError("the second dockerd did not stop")


@pytest.mark.slow
async def test_an_engine_going_down_gives_unavailable_and_its_return_is_noticed(
    second_engine: docker.APIClient,
) -> None:
    limits = msgspec.structs.replace(TEST_LIMITS, pool_size=1, concurrency=1)
    async with SandboxRunner(limits, engines=[ENGINE2]) as runner:
        assert (await run_code(runner, "print('up')")).status == "success"
        await runner.wait_until_idle(30)
        await asyncio.to_thread(stop_second_engine)
        down = await run_code(runner, "print('anyone there?')")
        assert down.status == "unavailable", down
        assert ENGINE2 in down.message
        assert not runner.status().usable
        restarted = await asyncio.to_thread(
            subprocess.run,
            [str(REPO / "scripts" / "provision.sh"), "docker2"],
            capture_output=True,
            timeout=120,
        )
        assert restarted.returncode == 0, restarted.stderr
        for _ in range(150):  # the pool re-checks the engine with back-off
            if runner.status().usable:
                break
            await asyncio.sleep(0.2)
        back = await run_code(runner, "print('back')")
        assert back.status == "success", back
