"""Limits have safe defaults and come from POST16_SANDBOX_* variables; bad values name the variable."""

import pytest

from sandbox import SandboxLimits, engines_from_env


def test_defaults_are_the_documented_safe_ones() -> None:
    limits = SandboxLimits.from_env({})
    assert limits.memory_mib == 128
    assert limits.pids == 64
    assert limits.work_mib == 16
    assert limits.timeout_seconds == 5.0
    assert limits.output_limit_bytes == 64 * 1024
    assert 0.5 <= limits.cpus <= 1.0


def test_environment_overrides_defaults() -> None:
    limits = SandboxLimits.from_env(
        {"POST16_SANDBOX_MEMORY_MIB": "256", "POST16_SANDBOX_TIMEOUT_SECONDS": "2.5", "OTHER": "x"}
    )
    assert limits.memory_mib == 256
    assert limits.timeout_seconds == 2.5


@pytest.mark.parametrize(
    ("key", "value"),
    [("POST16_SANDBOX_MEMORY_MIB", "lots"), ("POST16_SANDBOX_PIDS", "0"), ("POST16_SANDBOX_CPUS", "-1")],
)
def test_bad_values_name_the_variable(key: str, value: str) -> None:
    field = key.removeprefix("POST16_SANDBOX_").lower()
    with pytest.raises(ValueError, match=field):
        SandboxLimits.from_env({key: value})


def test_engines_come_from_the_list_then_docker_host_then_the_local_socket() -> None:
    listed = {"POST16_SANDBOX_ENGINES": "unix:///a.sock, tcp://10.0.0.1:2376", "DOCKER_HOST": "unix:///b"}
    assert engines_from_env(listed) == ["unix:///a.sock", "tcp://10.0.0.1:2376"]
    assert engines_from_env({"DOCKER_HOST": "unix:///b"}) == ["unix:///b"]
    assert engines_from_env({}) == ["unix:///var/run/docker.sock"]


def test_an_engine_that_is_not_a_url_is_refused() -> None:
    with pytest.raises(ValueError, match="POST16_SANDBOX_ENGINES"):
        engines_from_env({"POST16_SANDBOX_ENGINES": "/var/run/docker.sock"})
