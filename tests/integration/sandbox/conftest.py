"""Fixtures for the sandbox against a real Docker engine (started by `make test` / scripts/provision.sh).

Without a reachable engine or the sandbox image these tests fail under CI=true and skip elsewhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import docker
import docker.errors
import pytest
import pytest_asyncio
from sandbox_helpers import ENGINE, TEST_LIMITS, own_containers, service_missing

from sandbox import SandboxRunner


@pytest.fixture(scope="session")
def docker_api() -> Iterator[docker.APIClient]:
    api = docker.APIClient(base_url=ENGINE, version="1.41", timeout=30)
    try:
        api.ping()
    except Exception as error:
        api.close()
        service_missing(f"the Docker engine at {ENGINE} is not reachable ({error.__class__.__name__})")
    try:
        api.inspect_image(TEST_LIMITS.image)
    except docker.errors.ImageNotFound:
        api.close()
        service_missing(f"the sandbox image {TEST_LIMITS.image} is missing")
    yield api
    api.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runner(docker_api: docker.APIClient) -> AsyncIterator[SandboxRunner]:
    """One warm runner per test module (limits: TEST_LIMITS)."""
    sandbox_runner = SandboxRunner(TEST_LIMITS, engines=[ENGINE])
    await sandbox_runner.start()
    assert sandbox_runner.status().usable, sandbox_runner.status().message
    await sandbox_runner.wait_until_idle(60)
    yield sandbox_runner
    await sandbox_runner.close()
    assert own_containers(docker_api, sandbox_runner) == [], "close() left containers behind"
