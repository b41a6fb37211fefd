"""Helpers shared by the sandbox integration tests."""

from __future__ import annotations

import os

import docker
import pytest

from sandbox import RunRequest, RunResult, SandboxLimits, SandboxRunner
from sandbox._engine import LABEL, LABEL_INSTANCE

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ENGINE = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
# A short time limit keeps the hostile-program tests fast; everything else is the shipped default.
TEST_LIMITS = SandboxLimits(timeout_seconds=2.0, pool_size=2, concurrency=2, check_timeout_seconds=20.0)


def service_missing(what: str) -> None:
    """Fail under CI (a skipped test there is a failure), skip elsewhere."""
    if IN_CI:
        pytest.fail(f"{what}; `make test` should have provided it", pytrace=False)
    pytest.skip(f"{what} (run `scripts/provision.sh docker` then `scripts/provision.sh sandbox`)")


def own_containers(api: docker.APIClient, runner: SandboxRunner) -> list[dict[str, object]]:
    containers: list[dict[str, object]] = api.containers(
        all=True, filters={"label": f"{LABEL_INSTANCE}={runner.instance_id}"}
    )
    return containers


def all_sandbox_containers(api: docker.APIClient) -> list[dict[str, object]]:
    containers: list[dict[str, object]] = api.containers(all=True, filters={"label": LABEL})
    return containers


async def run_code(runner: SandboxRunner, code: str, stdin: str = "", owner: str = "pupil") -> RunResult:
    return await runner.run(RunRequest(code=code, stdin=stdin), owner=owner)


async def assert_contained(runner: SandboxRunner, api: docker.APIClient, before: set[str]) -> None:
    """After a (hostile) run: the container it used is gone, nothing is left stopped or stray, and the
    next run works."""
    assert await runner.wait_until_idle(30), "the runner did not settle"
    containers = own_containers(api, runner)
    ids = {str(entry["Id"]) for entry in containers}
    assert all(entry["State"] == "running" for entry in containers), containers
    assert len(ids) == runner.status().pool_ready, "only warm containers may remain"
    assert len(before - ids) >= 1, "the used container was not removed"
    follow_up = await run_code(runner, "print('still fine')")
    assert follow_up.status == "success", follow_up
    assert follow_up.stdout == "still fine\n"


async def container_ids(runner: SandboxRunner, api: docker.APIClient) -> set[str]:
    await runner.wait_until_idle(30)
    return {str(entry["Id"]) for entry in own_containers(api, runner)}
