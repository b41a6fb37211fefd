"""`docker compose config` accepts the production stack alone, with monitoring and scaled out (API
replicas behind Caddy, runners on other hosts), in a copy of the repository's deployment files with the
secrets and .env an installer would create; only the runner holds the Docker socket."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ops_helpers import REPO

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _compose() -> tuple[list[str], int]:
    """The compose command and its major version: the Docker CLI plugin, else a docker-compose binary
    (Debian's docker-compose package is v1)."""
    candidates = [["docker", "compose"], ["docker-compose"]]
    for command in candidates:
        if not shutil.which(command[0]):
            continue
        result = subprocess.run([*command, "version"], capture_output=True, text=True, check=False)
        match = re.search(r"version v?(\d+)\.", result.stdout)
        if result.returncode == 0 and match:
            return command, int(match.group(1))
    message = "no Docker Compose (plugin or docker-compose); scripts/provision.sh installs docker-compose"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    """What an installer has: the compose files, deploy/, a .env and the secret files."""
    for name in (
        "compose.yml",
        "compose.monitoring.yml",
        "compose.scale.yml",
        "compose.runner.yml",
        ".env.example",
    ):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(REPO / "deploy", tmp_path / "deploy")
    (tmp_path / ".env").write_text(
        (REPO / ".env.example").read_text(encoding="utf-8")
        + "\nPOST16_METRICS_TOKEN=0123456789abcdef0123456789abcdef\n"
        + "POST16_RUNNER_BIND=10.0.0.21\n"
        + "POST16_RUNNER_URLS=http://10.0.0.21:8700,http://10.0.0.22:8700\n",
        encoding="utf-8",
    )
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    for name, value in (
        ("db_password", "a-long-random-database-password"),
        ("metrics_token", "0123456789abcdef0123456789abcdef"),
        ("grafana_admin_password", "a-long-random-grafana-password"),
        ("runner_secret", "3f9c1a7e5b2d4c6e8a0b1c3d5e7f9a1b"),
    ):
        (secrets / name).write_text(value + "\n", encoding="utf-8")
    return tmp_path


def _config(deployment: Path, *files: str) -> dict[str, object]:
    command, major = _compose()
    if major < 2:
        # Compose v1 predates the top-level `name:` key (v2 reads it); the rest of the files must pass.
        for name in files:
            path = deployment / name
            path.write_text(
                re.sub(r"(?m)^name: .*\n", "", path.read_text(encoding="utf-8")), encoding="utf-8"
            )
    arguments = [item for name in files for item in ("-f", name)]
    result = subprocess.run(
        [*command, *arguments, "config"],
        cwd=deployment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COMPOSE_PROJECT_NAME": "post16"},
    )
    assert result.returncode == 0, result.stderr
    loaded = yaml.safe_load(result.stdout)
    assert isinstance(loaded, dict)
    return loaded


def _mounts(service: dict[str, Any]) -> list[str]:
    """Every volume's source and target, whichever syntax compose printed."""
    found = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            found += [str(volume.get("source", "")), str(volume.get("target", ""))]
        else:
            found += str(volume).split(":")[:2]
    return found


def _networks(service: dict[str, Any]) -> set[str]:
    networks = service.get("networks", [])
    return set(networks) if not isinstance(networks, dict) else set(networks.keys())


def test_compose_accepts_the_production_stack(deployment):
    config = _config(deployment, "compose.yml")
    assert set(config["services"]) == {"db", "api", "runner", "caddy"}  # type: ignore[call-overload]


def test_only_the_runner_holds_the_docker_socket_and_it_publishes_nothing(deployment):
    config = _config(deployment, "compose.yml")
    services: dict[str, Any] = config["services"]  # type: ignore[assignment]
    for name, service in services.items():
        holds_socket = any("docker.sock" in mount for mount in _mounts(service))
        assert holds_socket == (name == "runner"), f"{name}: Docker socket mounted = {holds_socket}"
    runner = services["runner"]
    assert not runner.get("ports"), "the runner must not publish a port"
    assert _networks(runner) == {"runner"}
    assert config["networks"]["runner"].get("internal") is True  # type: ignore[index]
    assert "runner" in _networks(services["api"])
    assert "runner" not in _networks(services["caddy"])
    api_env = services["api"]["environment"]
    assert api_env["POST16_RUNNER_URLS"] == "http://runner:8700"
    assert api_env["POST16_RUNNER_SECRET_FILE"] == "/run/secrets/runner_secret"
    for name in ("api", "runner"):
        sources = [s.get("source", s) if isinstance(s, dict) else s for s in services[name]["secrets"]]
        assert "runner_secret" in sources, name


def test_scale_out_file_runs_api_replicas_behind_caddy_and_remote_runners(deployment):
    config = _config(deployment, "compose.yml", "compose.scale.yml")
    services: dict[str, Any] = config["services"]  # type: ignore[assignment]
    assert services["api"]["deploy"]["replicas"] == 3
    assert "healthcheck" in services["api"]
    # The runners are on other hosts: no local runner, and no Docker socket anywhere on the API host.
    assert "local-runner" in services["runner"].get("profiles", [])
    for name, service in services.items():
        if name != "runner":
            assert not any("docker.sock" in mount for mount in _mounts(service)), name
    urls = services["api"]["environment"]["POST16_RUNNER_URLS"].split(",")
    assert len(urls) == 2, urls
    assert any("Caddyfile.scale" in mount for mount in _mounts(services["caddy"]))


def test_runner_host_file_publishes_the_runner_on_one_private_address(deployment):
    config = _config(deployment, "compose.runner.yml")
    services: dict[str, Any] = config["services"]  # type: ignore[assignment]
    assert set(services) == {"runner"}
    (port,) = services["runner"]["ports"]
    host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
    assert host_ip == "10.0.0.21"  # POST16_RUNNER_BIND from .env: never every interface


def test_an_empty_runner_secret_stops_the_runner_and_the_api(tmp_path):
    import subprocess as sp
    import sys

    secret = tmp_path / "runner_secret"
    secret.write_text("\n", encoding="utf-8")
    env = {**os.environ, "POST16_RUNNER_SECRET_FILE": str(secret)}
    env.pop("POST16_RUNNER_SECRET", None)
    runner = sp.run(
        [sys.executable, "-m", "sandbox.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )
    assert runner.returncode == 2
    assert "POST16_RUNNER_SECRET_FILE: the runner secret is empty" in runner.stderr
    from server.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="POST16_RUNNER_SECRET_FILE: the runner secret is empty"):
        load_settings({**env, "POST16_RUNNER_URLS": "http://runner:8700"})


def test_compose_accepts_the_stack_with_monitoring(deployment):
    config = _config(deployment, "compose.yml", "compose.monitoring.yml")
    services = config["services"]
    assert set(services) == {"db", "api", "runner", "caddy", "prometheus", "grafana"}  # type: ignore[call-overload]
    prometheus = services["prometheus"]  # type: ignore[index]
    assert "backend" in prometheus["networks"]  # it must reach api:8000 on the internal network
    assert any(
        str(secret.get("source", secret)) == "metrics_token"
        if isinstance(secret, dict)
        else secret == "metrics_token"
        for secret in prometheus["secrets"]
    )
    for service in ("prometheus", "grafana"):
        for port in services[service]["ports"]:  # type: ignore[index]
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", f"{service} must not listen beyond the host's loopback"
